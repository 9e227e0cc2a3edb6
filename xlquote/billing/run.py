"""Bill a month: validate the incidents against the contracts, compute every level at once, then
hand each contract to its plan's biller."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ..calendar import Month
from ..codes import SUPPORT_RANGES, normalize_text
from ..columns import RowChecks
from ..errors import InputError, Problem
from ..invoice import Invoice
from ..levels import compute_levels
from ..pricebook import PriceBook, get_pricebook
from ..records import (
    Contract,
    IncidentTable,
    Pack,
    contracts_from_records,
    incidents_from_records,
    packs_from_records,
)
from .context import ContractMonth, as_date
from .support_service import bill_support_service
from .vendor import bill_callcenter, bill_paid_support

# One biller per plan; a new plan kind is a new function here.
BILLERS: dict[str, Callable[[ContractMonth], Invoice]] = {
    "annual": bill_support_service,
    "monthly": bill_support_service,
    "vendor_support": bill_paid_support,
    "callcenter": bill_callcenter,
}


@dataclass
class BillingRun:
    month: Month
    invoices: list[Invoice] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(inv.total for inv in self.invoices)


def _books(contracts: list[Contract], pricebooks: Mapping[str, PriceBook] | None
           ) -> dict[str, PriceBook]:
    books = dict(pricebooks or {})
    for c in contracts:
        if c.pricebook not in books:
            books[c.pricebook] = get_pricebook(c.pricebook)
    return books


def bill_month(contracts: Iterable[Mapping[str, Any] | Contract],
               incidents: Iterable[Mapping[str, Any]] | IncidentTable,
               month: Month | str,
               packs: Iterable[Mapping[str, Any] | Pack] | None = None,
               pricebooks: Mapping[str, PriceBook] | None = None) -> BillingRun:
    """Every contract's invoice for ``month``. Validates first: an incident of an unknown
    contract, or closed this month outside its contract's term, or with a bad measure, raises
    InputError listing every such row; nothing is billed then."""
    month = Month.parse(month)
    contracts = contracts_from_records(contracts)
    table = incidents_from_records(incidents)
    pack_list = packs_from_records(packs)
    books = _books(contracts, pricebooks)
    by_id = {c.contract_id: i for i, c in enumerate(contracts)}

    checks = RowChecks((len(table),), sheet="Incidents", row_numbers=table.row)
    owner = np.array([by_id.get(cid, -1) for cid in table.contract_id], dtype=np.int64)
    checks.flag(owner < 0, "contract_id", table.contract_id,
                "unknown contract (no spot service: every incident needs a contract)")
    last = np.datetime64(month.last_day, "D")
    first = np.datetime64(month.first_day, "D")
    closed_by_end = ~np.isnat(table.closed) & (table.closed <= last)
    in_month = closed_by_end & (table.closed >= first)
    _check_terms(contracts, table, owner, in_month, checks)
    _check_absorption(contracts, books, table, owner, in_month, checks)

    ranges = np.array([SUPPORT_RANGES.codes.index(c.support_range) for c in contracts] or [0])
    measures = replace(table.measures, support_range=ranges[np.maximum(owner, 0)])
    level = np.zeros(len(table), dtype=np.int64)
    source = np.zeros(len(table), dtype=np.int64)
    for name, book in books.items():
        if book.support is None:
            continue
        rows = np.flatnonzero(np.isin(owner, [i for i, c in enumerate(contracts)
                                              if c.pricebook == name]))
        if not len(rows):
            continue
        sub = replace(measures, **{k: v[rows] for k, v in vars(measures).items()})
        sub_checks = RowChecks((len(rows),), sheet="Incidents", row_numbers=table.row[rows])
        level[rows], source[rows] = compute_levels(sub, book.support, sub_checks)
        checks.problems.extend(sub_checks.problems)
    problems = checks.problems + _pack_problems(contracts, books, pack_list, by_id)
    if problems:
        raise InputError(sorted(problems, key=lambda p: (p.sheet or "", p.row or 0)))

    # Group this month's history per contract, each in close-date order.
    relevant = np.flatnonzero(closed_by_end & (owner >= 0))
    order = relevant[np.lexsort((table.row[relevant], table.closed[relevant], owner[relevant]))]
    starts = np.searchsorted(owner[order], np.arange(len(contracts) + 1), side="left")
    packs_by_contract: dict[str, list[Pack]] = {}
    for p in pack_list:
        if p.purchased <= month.last_day:
            packs_by_contract.setdefault(p.contract_id, []).append(p)

    run = BillingRun(month)
    for index, contract in enumerate(contracts):
        rows = order[starts[index]:starts[index + 1]]
        ctx = ContractMonth(contract, books[contract.pricebook], month, table.take(rows),
                            level[rows], source[rows],
                            packs_by_contract.get(contract.contract_id, []))
        invoice = BILLERS[contract.plan](ctx)
        if not invoice.is_empty:
            run.invoices.append(invoice)
    return run


def _pack_problems(contracts: list[Contract], books: Mapping[str, PriceBook], packs: list[Pack],
                   by_id: Mapping[str, int]) -> list[Problem]:
    problems = []
    for p in packs:
        index = by_id.get(p.contract_id)
        if index is None:
            problems.append(Problem(p.row, "contract_id", p.contract_id, "unknown contract", "Packs"))
            continue
        vendor = books[contracts[index].pricebook].vendor
        if vendor is None or contracts[index].plan != "vendor_support":
            problems.append(Problem(p.row, "contract_id", p.contract_id,
                                    "packs belong to vendor_support contracts", "Packs"))
        elif p.units % vendor.pack_units:
            problems.append(Problem(p.row, "units", p.units,
                                    f"packs hold multiples of {vendor.pack_units} units", "Packs"))
    return problems


def _check_terms(contracts: list[Contract], table: IncidentTable, owner: np.ndarray,
                 in_month: np.ndarray, checks: RowChecks) -> None:
    for i in np.flatnonzero(in_month & (owner >= 0)):
        contract = contracts[owner[i]]
        for column, value in (("opened", table.opened[i]), ("closed", table.closed[i])):
            if np.isnat(value):
                continue
            day = as_date(value)
            if not contract.covers(day):
                term = f"{contract.start_date}〜{contract.end_date or ''}"
                state = "not yet started" if day < contract.start_date else "ended"
                checks.add(int(i), column, day.isoformat(),
                           f"contract {contract.contract_id} {state} (term {term})")
                break


def _check_absorption(contracts: list[Contract], books: Mapping[str, PriceBook],
                      table: IncidentTable, owner: np.ndarray, in_month: np.ndarray,
                      checks: RowChecks) -> None:
    for i in np.flatnonzero(in_month & (owner >= 0) & (table.absorbed_into != "")):
        book = books[contracts[owner[i]].pricebook]
        if book.support is None:
            checks.add(int(i), "absorbed_into", table.absorbed_into[i],
                       "absorption applies to support-service contracts only")
            continue
        services = book.support.absorption_services
        known = {normalize_text(k) for k in services} | {normalize_text(v)
                                                          for v in services.values()}
        if normalize_text(table.absorbed_into[i]) not in known:
            checks.add(int(i), "absorbed_into", table.absorbed_into[i],
                       f"unknown service; expected one of {', '.join(services)}")


def monthly_invoice(contract: Mapping[str, Any] | Contract,
                    incidents: Iterable[Mapping[str, Any]] | IncidentTable, month: Month | str,
                    packs: Iterable[Mapping[str, Any] | Pack] | None = None,
                    pricebook: PriceBook | str | None = None) -> Invoice:
    """One contract's invoice for ``month`` (an empty invoice when nothing is due). Incidents
    of other contracts in ``incidents`` are ignored; ``pricebook`` overrides the contract's."""
    (parsed,) = contracts_from_records([contract])
    table = incidents_from_records(incidents)
    mine = np.flatnonzero(table.contract_id == parsed.contract_id)
    books = None
    if pricebook is not None:
        book = get_pricebook(pricebook)
        books = {parsed.pricebook: book}
    run = bill_month([parsed], table.take(mine), month, packs, books)
    if run.invoices:
        return run.invoices[0]
    month = Month.parse(month)
    book = (books or {}).get(parsed.pricebook) or get_pricebook(parsed.pricebook)
    ctx = ContractMonth(parsed, book, month, table.take(mine[:0]), np.zeros(0, np.int64),
                        np.zeros(0, np.int64), [])
    return ctx.new_invoice().close(book.tax)
