"""Shared test helpers: price books with one setting changed, and compact record builders."""

from __future__ import annotations

import copy
import tomllib
from typing import Any

from xlquote.engine.pricebook import PRICEBOOK_DIR, PriceBook, parse_pricebook
from xlquote.engine.settings import Settings, settings_from_values


def raw_pricebook(name: str) -> dict[str, Any]:
    return tomllib.loads((PRICEBOOK_DIR / f"{name}.toml").read_text(encoding="utf-8"))


def pricebook_with(name: str, **changes: Any) -> PriceBook:
    """The shipped price book ``name`` with dotted-key settings changed, e.g.
    ``pricebook_with("aki_sie", **{"tax.rounding": "ceil"})``."""
    data = copy.deepcopy(raw_pricebook(name))
    for dotted, value in changes.items():
        node = data
        *parents, last = dotted.split(".")
        for part in parents:
            node = node[part]
        node[last] = value
    return parse_pricebook(data, f"{name}.toml", name)


def contract(contract_id: str = "C1", **fields: Any) -> dict[str, Any]:
    base = {"contract_id": contract_id, "customer": f"{contract_id} 株式会社",
            "plan": "annual", "support_range": "normal", "start_date": "2026-04-01"}
    return base | fields


def incident(incident_id: str, closed: str = "2026-10-15", contract_id: str = "C1",
             **fields: Any) -> dict[str, Any]:
    base = {"incident_id": incident_id, "contract_id": contract_id,
            "opened": fields.pop("opened", closed), "closed": closed, "channel": "email"}
    return base | fields


def demo_settings() -> Settings:
    """The demo's issuer settings (xlquote.app.sample), as the Settings sheet gives them."""
    from xlquote.app.sample import sample_settings

    return settings_from_values({key: (value, row) for row, (key, value)
                                 in enumerate(sample_settings().items(), start=2)})


def demo_invoices(month: str = "2026-10") -> list[Any]:
    """The demo month's invoices, numbered INV-YYYYMM-0000, … in contract order."""
    from xlquote import bill_month
    from xlquote.app.sample import sample_contracts, sample_incidents, sample_packs
    from xlquote.engine.billing import build_invoice

    run = bill_month(sample_contracts(), sample_incidents(), month, sample_packs())
    invoices = [build_invoice(ctx) for ctx in run.contexts]
    for i, invoice in enumerate(invoices):
        invoice.number = f"INV-{month.replace('-', '')}-{i:04d}"
    return invoices


def cell_error(text: object, field: str, shown: str, phrase: str) -> bool:
    """An Excel function's error cell about one argument, as the user reads it:
    ``#VALUE! <field> <value as shown>: <reason holding phrase>``."""
    return (isinstance(text, str) and text.startswith(f"#VALUE! {field} {shown}: ")
            and phrase in text)


def read_records(data: Any) -> dict[str, Any]:
    """A month's read records as plain values (NaN as None), to compare two reads."""
    import numpy as np

    table = data.incidents
    columns = {k: v for k, v in vars(table).items() if k != "measures"}
    columns.update({f"measures.{k}": v for k, v in vars(table.measures).items()})
    return {"contracts": data.contracts, "packs": data.packs, "settings": data.settings,
            **{k: [None if isinstance(x, float) and x != x else x for x in np.asarray(v).tolist()]
               for k, v in columns.items()}}

