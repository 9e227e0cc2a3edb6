"""The invoice workbook (XlsxWriter) is the first, openpyxl one (reference_invoice_workbook.py),
cell for cell: every invoice of the sample month, a correction and hostile text are written by
both writers and read back with openpyxl."""

from __future__ import annotations

import dataclasses
import importlib
import shutil
import subprocess
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from xlquote import bill_month
from xlquote.app.invoice_run import numbered_invoice
from xlquote.app.sample import sample_contracts, sample_incidents, sample_packs, sample_settings
from xlquote.engine.invoice import Correction, Invoice
from xlquote.readers.sheet_table import SheetTable
from xlquote.readers.workbook import Settings, parse_settings
from xlquote.writers import invoice_workbook as xlsxwriter_writer
from xlquote.writers.xlsx import JAPANESE_FONT

MONTH = "2026-10"
openpyxl_writer = importlib.import_module("reference_invoice_workbook")  # tests/, the first writer
HOSTILE = ('=HYPERLINK("http://x")', "+1", "@SUM(A1)", "-2", "http://example.com", "0123")


def settings_of(values: dict[str, str]) -> Settings:
    rows = [[key, value] for key, value in values.items()]
    return parse_settings(SheetTable(["key", "value"], rows, list(range(2, 2 + len(rows))), 1))


@pytest.fixture(scope="module")
def settings() -> Settings:
    return settings_of(sample_settings())


@pytest.fixture(scope="module")
def invoices() -> list[Invoice]:
    run = bill_month(sample_contracts(), sample_incidents(), MONTH, sample_packs())
    found = [numbered_invoice(ctx, f"INV-202610-{i:04d}") for i, ctx in enumerate(run.contexts)]
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


def with_correction(invoice: Invoice) -> Invoice:
    return dataclasses.replace(invoice, correction=Correction(
        "INV-202609-0007", invoice.subtotal + 1000, invoice.tax + 100, invoice.total + 1100))


# -- reading a workbook back: everything a reader of the invoice sees -------------------------

def _side(side: Any) -> tuple[Any, Any]:
    if side is None or side.style is None:
        return (None, None)
    return (side.style, side.color.rgb[-6:] if side.color is not None else None)


def _cell(cell: Any) -> dict[str, Any]:
    font, alignment = cell.font, cell.alignment
    return {
        "value": None if cell.value == "" else cell.value,  # "" and blank look the same
        "type": cell.data_type if cell.value not in (None, "") else None,
        "format": cell.number_format,
        "bold": bool(font.b),
        "size": float(font.sz or 11),  # openpyxl's Font() without a size shows the default, 11
        "font": font.name,
        "fill": (cell.fill.fill_type, cell.fill.fgColor.rgb[-6:] if cell.fill.fill_type else None),
        "border": tuple(_side(getattr(cell.border, s)) for s in ("left", "right", "top", "bottom")),
        "align": (alignment.horizontal, alignment.vertical, bool(alignment.wrap_text)),
    }


def _merged_tail(ws: Any, cell: Any) -> bool:
    """A merged cell other than the range's first: only its borders are drawn."""
    return any(cell.coordinate in r and (cell.row, cell.column) != (r.min_row, r.min_col)
               for r in ws.merged_cells.ranges)


def read_back(path: Path) -> dict[str, Any]:
    wb = openpyxl.load_workbook(path)
    sheets: dict[str, Any] = {}
    for ws in wb.worksheets:
        cells = {}
        for row in ws.iter_rows():
            for cell in row:
                seen = _cell(cell)
                if _merged_tail(ws, cell):
                    seen = {"border": seen["border"]}
                # Cells with nothing to show are absent in one writer, styled blanks in the other.
                if seen.get("value") is None and all(_is_plain(k, v) for k, v in seen.items()):
                    continue
                cells[cell.coordinate] = seen
        ps = ws.page_setup
        sheets[ws.title] = {
            "cells": cells,
            "merged": sorted(str(r) for r in ws.merged_cells.ranges),
            # XlsxWriter stores equal neighbours as one <col min max>: widths by column number
            "widths": {col: d.width for d in ws.column_dimensions.values() if d.customWidth
                       for col in range(d.min, d.max + 1)},
            "heights": {k: d.height for k, d in ws.row_dimensions.items() if d.height},
            "page": (ps.paperSize, ps.orientation, ws.sheet_properties.pageSetUpPr.fitToPage,
                     1 if ps.fitToWidth is None else ps.fitToWidth,  # absent: the default, 1
                     ps.fitToHeight, ws.print_options.horizontalCentered),
            "margins": {k: getattr(ws.page_margins, k)
                        for k in ("left", "right", "top", "bottom", "header", "footer")},
            "print_area": ws.print_area,
            "print_titles": ws.print_title_rows,
        }
    props = wb.properties
    return {"sheets": sheets, "props": (props.creator, props.title, props.created),
            "fonts": {font.name for font in wb._fonts}}


PLAIN = {"value": None, "type": None, "format": "General", "bold": False, "size": 11.0,
         "font": JAPANESE_FONT, "fill": (None, None), "align": (None, None, False),
         "border": ((None, None),) * 4}


def _is_plain(key: str, value: Any) -> bool:
    return PLAIN[key] == value


def write_both(invoice: Invoice, settings: Settings, folder: Path, name: str) -> tuple[Path, Path]:
    old = openpyxl_writer.write_invoice_workbook(invoice, settings, folder / f"{name}_openpyxl.xlsx")
    new = xlsxwriter_writer.write_invoice_workbook(invoice, settings, folder / f"{name}_new.xlsx")
    return old, new


def assert_same_workbook(old: Path, new: Path) -> None:
    expected, actual = read_back(old), read_back(new)
    assert list(actual["sheets"]) == list(expected["sheets"])
    for title, sheet in expected["sheets"].items():
        for key, value in sheet.items():
            if key == "cells":
                assert actual["sheets"][title]["cells"].keys() == value.keys(), title
                for ref, cell in value.items():
                    assert actual["sheets"][title]["cells"][ref] == cell, (title, ref)
            else:
                assert actual["sheets"][title][key] == value, (title, key)
    assert actual["props"] == expected["props"]
    assert actual["fonts"] == {JAPANESE_FONT}


def test_every_sample_invoice_is_the_same_workbook(invoices, settings, tmp_path):
    for invoice in invoices:
        old, new = write_both(invoice, settings, tmp_path, invoice.number)
        assert_same_workbook(old, new)


def test_a_correction_is_the_same_workbook(invoices, settings, tmp_path):
    invoice = with_correction(invoices[0])
    old, new = write_both(invoice, settings, tmp_path, "correction")
    assert_same_workbook(old, new)
    ws = openpyxl.load_workbook(new)["請求書"]
    assert ws["A1"].value == "請求書 (修正インボイス)"
    assert ws["A2"].value.startswith("請求番号 INV-202609-0007") and "A2:F2" in ws.merged_cells


@pytest.mark.parametrize("plan", ["vendor_support", "monthly"])
def test_an_empty_month_is_the_same_workbook(invoices, settings, tmp_path, plan):
    """No lines, incidents, taxes or packs: the sheets' "nothing this month" rows."""
    invoice = dataclasses.replace(next(inv for inv in invoices if inv.contract.plan == plan),
                                  lines=[], statement=[], taxes=[], packs=[], flags=[])
    old, new = write_both(invoice, settings, tmp_path, "empty")
    assert_same_workbook(old, new)
    wb = openpyxl.load_workbook(new)
    assert wb["明細"]["A5"].value == "当月に完了したインシデントはありません"
    if plan == "vendor_support":
        assert wb["ユニット残高"]["A5"].value == "有効なパックはありません"


@pytest.mark.parametrize("plan", ["vendor_support", "monthly"])
def test_hostile_text_stays_text(invoices, settings, tmp_path, plan):
    invoice = hostile_invoice(next(inv for inv in invoices if inv.statement and inv.lines and (
        inv.contract.plan == "vendor_support") == (plan == "vendor_support")))
    old, new = write_both(invoice, settings, tmp_path, "hostile")
    assert_same_workbook(old, new)
    wb = openpyxl.load_workbook(new)
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
    first = xlsxwriter_writer.write_invoice_workbook(invoice, settings, tmp_path / "1.xlsx")
    second = xlsxwriter_writer.write_invoice_workbook(invoice, settings, tmp_path / "2.xlsx")
    assert first.read_bytes() == second.read_bytes()


def test_failed_write_leaves_no_file(invoices, settings, tmp_path, monkeypatch):
    def broken(*args: Any) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(xlsxwriter_writer, "write_statement_sheet", broken)
    target = tmp_path / "out" / "invoice.xlsx"
    with pytest.raises(RuntimeError):
        xlsxwriter_writer.write_invoice_workbook(invoices[0], settings, target)
    assert list(target.parent.iterdir()) == []


# -- the printed invoice: LibreOffice renders both files alike --------------------------------

@pytest.mark.skipif(not shutil.which("soffice") or not shutil.which("pdftotext"),
                    reason="needs LibreOffice and poppler-utils")
def test_pdf_text_and_fonts_match(invoices, settings, tmp_path):
    from xlquote.writers.pdf import convert_to_pdf

    invoice = next(inv for inv in invoices if inv.contract.plan == "vendor_support")
    old, new = write_both(invoice, settings, tmp_path, "pdf")
    pdfs = convert_to_pdf([old, new], tmp_path / "pdf")

    def text(pdf: Path) -> str:
        return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True,
                              capture_output=True, text=True).stdout

    def fonts(pdf: Path) -> set[str]:
        lines = subprocess.run(["pdffonts", str(pdf)], check=True, capture_output=True,
                               text=True).stdout.splitlines()[2:]
        return {line.split()[0].split("+")[-1] for line in lines}

    assert invoice.contract.customer in text(pdfs[1])
    assert text(pdfs[1]) == text(pdfs[0])
    assert fonts(pdfs[1]) == fonts(pdfs[0]) == {"IPAexGothic"}
