"""The invoice workbook (SpreadsheetML written directly): text stays text, the Japanese font
everywhere, the "nothing this month" rows, same content → same bytes, nothing half-written by a
write that fails part-way, and text longer than a cell can hold cut with a visible marker. The
layout itself is held to the golden workbooks (test_invoice_golden.py); every kind read back by
openpyxl, calamine and LibreOffice in test_workbook_readback.py."""

from __future__ import annotations

import dataclasses
import zipfile
from typing import Any

import openpyxl
import pytest
from helpers import demo_invoices, demo_settings

from xlquote.engine.invoice import Invoice
from xlquote.engine.settings import Settings
from xlquote.writers import invoice_workbook as workbook_writer
from xlquote.writers.xlsx import CELL_MAX_CHARS, JAPANESE_FONT

MONTH = "2026-10"
HOSTILE = ('=HYPERLINK("http://x")', "+1", "@SUM(A1)", "-2", "http://example.com", "0123")


@pytest.fixture(scope="module")
def settings() -> Settings:
    return demo_settings()


@pytest.fixture(scope="module")
def invoices() -> list[Invoice]:
    found = demo_invoices(MONTH)
    assert {inv.contract.plan for inv in found} >= {"vendor_support"}  # a units sheet is tested
    assert any(inv.statement for inv in found) and any(inv.lines for inv in found)
    return found


def hostile_invoice(invoice: Invoice) -> Invoice:
    """Customer, line descriptions and incident descriptions that look like formulas/URLs."""
    contract = dataclasses.replace(invoice.contract, customer=HOSTILE[0])
    lines = [dataclasses.replace(line, description=HOSTILE[i % len(HOSTILE)])
             for i, line in enumerate(invoice.lines)]
    statement = [dataclasses.replace(entry, description=HOSTILE[i % len(HOSTILE)],
                                     measures=HOSTILE[(i + 1) % len(HOSTILE)])
                 for i, entry in enumerate(invoice.statement)]
    return dataclasses.replace(invoice, contract=contract, lines=lines, statement=statement)


def test_every_sample_invoice_uses_the_japanese_font_only(invoices, settings, tmp_path):
    for invoice in invoices:
        path = workbook_writer.write_invoice_workbook(invoice, settings, tmp_path / "i.xlsx")
        wb = openpyxl.load_workbook(path)
        assert {font.name for font in wb._fonts} == {JAPANESE_FONT}, invoice.number
        assert wb.sheetnames[:2] == ["請求書", "明細"]
        assert ("ユニット残高" in wb.sheetnames) == (invoice.contract.plan == "vendor_support")


@pytest.mark.parametrize("plan", ["vendor_support", "monthly"])
def test_an_empty_month(invoices, settings, tmp_path, plan):
    """No lines, incidents, taxes or packs: the sheets' "nothing this month" rows."""
    invoice = dataclasses.replace(next(inv for inv in invoices if inv.contract.plan == plan),
                                  lines=[], statement=[], taxes=[], packs=[], flags=[])
    wb = openpyxl.load_workbook(workbook_writer.write_invoice_workbook(
        invoice, settings, tmp_path / "empty.xlsx"))
    assert wb["請求書"]["B15"].value == "当月のご請求はありません (ご利用明細をご確認ください)"
    assert wb["明細"]["A5"].value == "当月に完了したインシデントはありません"
    if plan == "vendor_support":
        assert wb["ユニット残高"]["A5"].value == "有効なパックはありません"


@pytest.mark.parametrize("plan", ["vendor_support", "monthly"])
def test_hostile_text_stays_text(invoices, settings, tmp_path, plan):
    invoice = hostile_invoice(next(inv for inv in invoices if inv.statement and inv.lines and (
        inv.contract.plan == "vendor_support") == (plan == "vendor_support")))
    wb = openpyxl.load_workbook(workbook_writer.write_invoice_workbook(
        invoice, settings, tmp_path / "hostile.xlsx"))
    invoice_sheet, statement = wb["請求書"], wb["明細"]
    assert invoice_sheet["A3"].value == f"{HOSTILE[0]} 御中"
    assert invoice_sheet["B15"].value == HOSTILE[0] and invoice_sheet["B15"].data_type == "s"
    descriptions = [row[-1] for row in statement.iter_rows(min_row=5, values_only=True)]
    assert descriptions[:len(HOSTILE)] == list(HOSTILE[:len(descriptions)])
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f" and cell.hyperlink is None, (ws.title, cell.coordinate)


def test_same_content_same_bytes(invoices, settings, tmp_path):
    invoice = next(inv for inv in invoices if inv.contract.plan == "vendor_support")
    first = workbook_writer.write_invoice_workbook(invoice, settings, tmp_path / "1.xlsx")
    second = workbook_writer.write_invoice_workbook(invoice, settings, tmp_path / "2.xlsx")
    assert first.read_bytes() == second.read_bytes()


def test_failed_write_leaves_no_file(invoices, settings, tmp_path, monkeypatch):
    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(workbook_writer, "write_table_sheet", broken)
    target = tmp_path / "out" / "invoice.xlsx"
    with pytest.raises(RuntimeError):
        workbook_writer.write_invoice_workbook(invoices[0], settings, target)
    assert not target.parent.exists() or list(target.parent.iterdir()) == []


def test_a_disk_error_part_way_leaves_the_old_file_and_nothing_else(invoices, settings,
                                                                    tmp_path, monkeypatch):
    """An OSError while the zip is being written (the disk full after a few parts): the file
    already there keeps its bytes, and no temporary file is left beside it."""
    target = workbook_writer.write_invoice_workbook(invoices[0], settings, tmp_path / "i.xlsx")
    before = target.read_bytes()
    real_open = zipfile.ZipFile.open
    written: list[str] = []

    def disk_full(self: zipfile.ZipFile, info: Any, mode: str = "r", *args: Any,
                  **kwargs: Any) -> Any:
        if mode == "w":
            if len(written) == 3:
                raise OSError(28, "No space left on device")
            written.append(info.filename)
        return real_open(self, info, mode, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "open", disk_full)
    with pytest.raises(OSError, match="No space left"):
        workbook_writer.write_invoice_workbook(invoices[1], settings, target)
    assert len(written) == 3  # it failed part-way, not before it began
    assert list(tmp_path.iterdir()) == [target] and target.read_bytes() == before


def test_text_longer_than_a_cell_is_cut_with_a_marker(invoices, settings, tmp_path):
    """Excel holds 32,767 characters in a cell; longer text is cut visibly, not silently."""
    invoice = next(inv for inv in invoices if inv.statement)
    long_text = "長" * 40_000
    statement = [dataclasses.replace(invoice.statement[0], description=long_text),
                 *invoice.statement[1:]]
    wb = openpyxl.load_workbook(workbook_writer.write_invoice_workbook(
        dataclasses.replace(invoice, statement=statement), settings, tmp_path / "long.xlsx"))
    cell = wb["明細"].cell(5, wb["明細"].max_column).value
    assert len(cell) <= CELL_MAX_CHARS and cell.startswith("長" * 1000)
    assert cell.endswith("…（以下 7,273 文字省略）")
