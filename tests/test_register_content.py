"""What the register stores of an issued document — its billed content (compressed JSON), the
contract, the Settings it was issued with, the month's response report — reads back as the
records it was made from and is written again byte for byte (but the contract's sheet row, left
out of new content): a rerun compares content hashes with the ones recorded, so the same
invoice must hash the same whichever version of xlquote recorded it.
``tests/data/register_content.json`` holds such JSON as the register wrote it."""

from __future__ import annotations

import hashlib
import json
import zlib
from pathlib import Path

import pytest

from xlquote.app.documents import (
    billed_content,
    content_hash_with_row,
    decode_contract,
    decode_invoice,
    decode_responses,
    decode_settings,
    encode_contract,
    encode_responses,
    encode_settings,
    legal_hash,
)
from xlquote.engine.invoice import CORRECTION

RECORDED = json.loads((Path(__file__).parent / "data" / "register_content.json")
                      .read_text(encoding="utf-8"))


@pytest.mark.parametrize("text", RECORDED["invoices"], ids=lambda text: json.loads(text)["number"])
def test_recorded_content_reads_back_and_hashes_the_same(text: str) -> None:
    """Written again, the content leaves out the contract's sheet row (sorting the sheet
    changes no invoice) and is otherwise the same, byte for byte; with the row put back it
    hashes as recorded, as a rerun compares it with what a register recorded before."""
    stored = zlib.compress(text.encode("utf-8"))
    invoice = decode_invoice(stored)
    recorded = json.loads(text)
    assert invoice.number == recorded["number"] and recorded["contract"]["row"] is not None
    again = billed_content(invoice)
    written = zlib.decompress(again.content)
    assert json.loads(written) == {**recorded, "contract": {**recorded["contract"], "row": None}}
    assert written == text.encode("utf-8").replace(
        b'"row":%d' % recorded["contract"]["row"], b'"row":null', 1)
    assert again.content_hash == hashlib.sha256(written).hexdigest()
    assert content_hash_with_row(again.content, invoice.contract.row) == hashlib.sha256(
        text.encode("utf-8")).hexdigest()
    assert again.legal_hash == legal_hash(decode_invoice(again.content))


def test_every_kind_of_value_is_in_the_recorded_content() -> None:
    """The fixture covers what an invoice holds: dates, a month, optional and empty fields,
    tuples, packs, flags, a correction."""
    invoices = [decode_invoice(zlib.compress(text.encode())) for text in RECORDED["invoices"]]
    assert any(i.packs for i in invoices) and any(i.flags for i in invoices)
    assert any(e.flags for i in invoices for e in i.statement)
    assert any(i.kind == CORRECTION and i.correction is not None for i in invoices)
    assert any(line.tax_rate is not None for i in invoices for line in i.lines)
    assert any(i.contract.end_date is None for i in invoices)


def test_recorded_records_read_back_and_are_written_the_same() -> None:
    for text in RECORDED["contracts"]:
        assert encode_contract(decode_contract(text)) == text
    settings = decode_settings(RECORDED["settings"])
    assert settings.closed_days  # a nested record with tuples of dates and month-days
    assert encode_settings(settings) == RECORDED["settings"]
    rows = decode_responses(RECORDED["responses"])
    assert rows and encode_responses(rows) == RECORDED["responses"]


def test_fields_added_since_take_their_defaults_and_fields_dropped_are_ignored() -> None:
    data = json.loads(RECORDED["invoices"][0])
    del data["kind"], data["correction"]  # as recorded before invoices had kinds
    data["retired_field"] = 1
    invoice = decode_invoice(zlib.compress(json.dumps(data, ensure_ascii=False).encode()))
    assert (invoice.kind, invoice.correction) == ("invoice", None)
    settings = json.loads(RECORDED["settings"])
    del settings["open_month"]
    assert decode_settings(json.dumps(settings)).open_month == "refuse"
