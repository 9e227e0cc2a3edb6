"""One definition of how a value becomes a cell and how a sheet prints (writers/sheets.py),
applied alike by the three workbook writers: openpyxl (the workbooks users open), XlsxWriter
(the summary) and SpreadsheetML written directly (the invoices). Read back with openpyxl, the
same values and the same page setup come out of all three."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import numpy as np
import openpyxl
import pytest
from openpyxl import Workbook

from xlquote.engine.errors import OutputError
from xlquote.writers import spreadsheetml
from xlquote.writers.fast_xlsx import (
    close_xlsxwriter,
    setup_xlsxwriter_page,
    write_xlsxwriter_row,
    xlsxwriter_workbook,
)
from xlquote.writers.sheets import (
    A4_LANDSCAPE,
    A4_PORTRAIT,
    BLANK,
    BOOLEAN,
    DATE,
    NUMBER,
    TEXT,
    cell_kind,
    excel_serial,
)
from xlquote.writers.xlsx import set_value, setup_page

DAY = dt.date(2026, 11, 2)
VALUES = ['=HYPERLINK("http://x")', "+81", "-", "@SUM(A1)", "http://example.com", "0123",
          "請求書", 12, -3.5, True, False, DAY, dt.datetime(2026, 11, 2, 9, 30), None, ""]


@pytest.mark.parametrize(("value", "kind"), [
    ("=1+1", TEXT), ("text", TEXT), ("", BLANK), (None, BLANK), (True, BOOLEAN),
    (np.bool_(True), BOOLEAN), (0, NUMBER), (2.5, NUMBER), (np.int64(7), NUMBER),
    (np.float64(1.5), NUMBER), (Decimal("1.10"), NUMBER), (DAY, DATE),
    (dt.datetime(2026, 1, 1, 12), DATE),
])
def test_each_value_has_one_kind(value, kind):
    assert cell_kind(value) == kind


def test_a_value_no_cell_holds_is_refused():
    with pytest.raises(TypeError, match="cannot hold a list"):
        cell_kind([1, 2])


def _openpyxl_workbook(path: Path, landscape: bool) -> Path:
    wb = Workbook()
    ws = wb.active
    for col, value in enumerate(VALUES, start=1):
        set_value(ws.cell(1, col), value)
    setup_page(ws, A4_LANDSCAPE if landscape else A4_PORTRAIT)
    wb.save(path)
    return path


def _xlsxwriter_workbook(path: Path, landscape: bool) -> Path:
    with xlsxwriter_workbook(path) as wb:
        ws = wb.add_worksheet("Sheet")
        write_xlsxwriter_row(ws, 0, VALUES, [None] * len(VALUES))
        setup_xlsxwriter_page(ws, A4_LANDSCAPE if landscape else A4_PORTRAIT)
        close_xlsxwriter(wb)
    return path


def _spreadsheetml_workbook(path: Path, landscape: bool) -> Path:
    wb = spreadsheetml.Workbook()
    ws = wb.add_sheet("Sheet")
    for col, value in enumerate(VALUES):
        ws.put(0, col, value)
    ws.page_setup(A4_LANDSCAPE if landscape else A4_PORTRAIT)
    return wb.save(path)


def _read_back(path: Path) -> tuple[list[tuple[object, str | None]], tuple[object, ...]]:
    ws = openpyxl.load_workbook(path).active
    cells = [(cell.value, cell.data_type if cell.value is not None else None)
             for cell in (ws.cell(1, col) for col in range(1, len(VALUES) + 1))]
    ps, m = ws.page_setup, ws.page_margins
    setup = (int(ps.paperSize), ps.orientation, ws.sheet_properties.pageSetUpPr.fitToPage,
             int(ps.fitToWidth or 1), int(ps.fitToHeight), ws.print_options.horizontalCentered,
             (m.left, m.right, m.top, m.bottom, m.header, m.footer))
    return cells, setup


@pytest.mark.parametrize("landscape", [False, True])
def test_both_writers_store_values_and_print_alike(tmp_path, landscape):
    by_openpyxl = _read_back(_openpyxl_workbook(tmp_path / "openpyxl.xlsx", landscape))
    by_xlsxwriter = _read_back(_xlsxwriter_workbook(tmp_path / "xlsxwriter.xlsx", landscape))
    direct = _read_back(_spreadsheetml_workbook(tmp_path / "spreadsheetml.xlsx", landscape))
    assert by_openpyxl == by_xlsxwriter == direct
    cells, setup = by_xlsxwriter
    assert [value for value, _ in cells[:7]] == VALUES[:7]  # formula-like text stays text
    assert {kind for _, kind in cells[:7]} == {"s"}
    assert cells[7:11] == [(12, "n"), (-3.5, "n"), (True, "b"), (False, "b")]
    assert cells[11][0] == dt.datetime(2026, 11, 2) and cells[13:] == [(None, None)] * 2
    margins = A4_PORTRAIT.margins
    assert setup == (9, "landscape" if landscape else "portrait", True, 1, 0, True,
                     (margins.left, margins.right, margins.top, margins.bottom,
                      margins.header, margins.footer))


def test_the_direct_writer_stores_other_numbers_as_numbers(tmp_path):
    """numpy and Decimal values are numbers; a time of day is kept; NaN has no cell."""
    wb = spreadsheetml.Workbook()
    ws = wb.add_sheet("Sheet")
    values = [np.int64(7), np.float64(1.5), Decimal("1.10"), np.bool_(True), 2**53 + 1,
              dt.datetime(2026, 11, 2, 9, 30, 15)]
    ws.put_rows(0, [values], [0] * len(values))
    with pytest.raises(ValueError, match="cannot hold"):
        ws.put(1, 0, float("nan"))
    cells = [cell.value for cell in openpyxl.load_workbook(wb.save(tmp_path / "n.xlsx")).active[1]]
    assert cells == [7, 1.5, 1.1, True, 2**53 + 1, dt.datetime(2026, 11, 2, 9, 30, 15)]


def test_dates_are_excel_day_numbers():
    assert excel_serial(DAY) == 46328  # as Excel numbers 2026-11-02
    assert excel_serial(dt.date(1900, 3, 1)) == 61
    assert excel_serial(dt.datetime(2026, 11, 2, 18)) == 46328.75
    # Before it, one less: Excel's day numbers count a 29 February 1900 after them. A date the
    # readers take (from 1900-01-01) is written as they read it: it stopped the run with a
    # traceback after the invoices were numbered.
    assert excel_serial(dt.date(1900, 2, 28)) == 59 and excel_serial(dt.date(1900, 1, 1)) == 1
    with pytest.raises(ValueError, match="before 1900-01-01"):
        excel_serial(dt.date(1899, 12, 31))


def test_the_direct_writer_keeps_to_the_grid_and_sheet_names():
    wb = spreadsheetml.Workbook()
    ws = wb.add_sheet("明細")
    ws.put(1_048_575, 16_383, "the last cell")
    with pytest.raises(OutputError, match="beyond the grid"):
        ws.put(1_048_576, 0, "one row too far")
    with pytest.raises(OutputError, match="row 1048577 is beyond the grid"):
        ws.put_rows(1_048_575, [["the last row"], ["one row too far"]], [0])
    with pytest.raises(OutputError, match="16385 cells is beyond the grid"):
        ws.put_rows(0, [["x"] * 16_385], [0] * 16_385)
    for bad in ("", "x" * 32, "a/b", "a[1]", "'quoted"):
        with pytest.raises(ValueError, match="not a sheet name"):
            wb.add_sheet(bad)
    with pytest.raises(ValueError, match="two sheets"):
        wb.add_sheet("明細")
