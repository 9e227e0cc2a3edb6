"""The SpreadsheetML table writer (``table_xlsx``): what it writes reads back the same in
openpyxl, calamine (fastexcel) and LibreOffice, styles included; bad values are refused."""

from __future__ import annotations

import datetime as dt
import math
import shutil
import zipfile
from pathlib import Path

import fastexcel
import openpyxl
import pytest
import xlsxwriter

from tests.test_typed_reader import saved_by_libreoffice
from xlquote.fast_xlsx import close_xlsxwriter, write_xlsxwriter_row, xlsxwriter_workbook
from xlquote.table_xlsx import CellStyle, TableWorkbook, column_letter, excel_width, xml_text
from xlquote.xlsx import DATE_FORMAT, JAPANESE_FONT, YEN_FORMAT

# Text a writer must neither reinterpret nor damage: formulas, markup, whitespace at the ends,
# characters XML cannot carry, OOXML's own escape written literally, CJK and beyond the BMP.
AWKWARD_TEXT = ['=HYPERLINK("http://evil.example")', "+1", "-5", "@SUM(A1)", "a & b < c > d",
                "\"quoted\" 'single'", "  padded  ", "tab\there", "line\nbreak", "bell\x07",
                "_x0041_ literal", "株式会社テスト", "絵文字 🙂", "123", "2026-10-01"]
MONEY = CellStyle(number_format=YEN_FORMAT)
BOLD_BIG = CellStyle(bold=True, size=14)
FILLED = CellStyle(bold=True, fill="DDE4EE")


def sample_rows() -> list[list[object]]:
    return [
        [text, 12_345, -3.25, True, dt.date(2026, 10, 31), dt.datetime(2026, 11, 2, 6, 0)]
        for text in AWKWARD_TEXT
    ] + [[None, 0, 0.0, False, dt.date(1900, 3, 1), dt.datetime(2026, 1, 1)],
         ["", 9_000_000_000_000, 1e-7, False, dt.date(9999, 12, 31), dt.datetime(2026, 1, 1)]]


def written(tmp_path: Path) -> Path:
    wb = TableWorkbook()
    ws = wb.add_sheet("表 one", widths=(20, 12), frozen_rows=1, landscape=True)
    ws.write_row(0, ["title", None, "", None, None, None], [BOLD_BIG, FILLED, FILLED, None, None,
                                                            None])
    ws.write_rows(2, sample_rows(), [None, MONEY, None, None, None, CellStyle(bold=True)])
    wb.add_sheet("empty")
    return wb.save(tmp_path / "table.xlsx")


def expected(value: object) -> object:
    """A value as openpyxl reads it back: dates as datetimes, empty text as no value, and a
    control character as OOXML's escape for it (openpyxl does not decode it; Excel and calamine
    do)."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return dt.datetime.combine(value, dt.time())
    if isinstance(value, str):
        return value.replace("\x07", "_x0007_") or None
    return value


def cells(path: Path, sheet: str) -> list[list[tuple[object, str]]]:
    """Every cell's value and openpyxl's data type."""
    ws = openpyxl.load_workbook(path)[sheet]
    return [[(cell.value, cell.data_type) for cell in row] for row in ws.iter_rows()]


def test_values_read_back_in_openpyxl(tmp_path):
    wb = openpyxl.load_workbook(written(tmp_path))
    assert wb.sheetnames == ["表 one", "empty"]
    ws = wb["表 one"]
    rows = [list(row) for row in ws.iter_rows(min_row=3, values_only=True)]
    assert rows == [[expected(v) for v in row] for row in sample_rows()]
    assert ws["A1"].value == "title" and ws["A2"].value is None
    for row in ws.iter_rows(min_row=3, max_col=1):
        assert row[0].data_type in ("s", "n") and row[0].data_type != "f"
    assert ws["D3"].data_type == "b"
    assert wb["empty"].max_row == 1 and wb["empty"]["A1"].value is None


def test_the_same_cells_as_xlsxwriter_writes(tmp_path):
    reference = xlsxwriter_workbook(tmp_path / "reference.xlsx")
    sheet = reference.add_worksheet("s")
    ours = TableWorkbook()
    mine = ours.add_sheet("s")
    for row, values in enumerate(sample_rows()):
        write_xlsxwriter_row(sheet, row, values, [None] * len(values))
    mine.write_rows(0, sample_rows(), [None] * 6)
    close_xlsxwriter(reference)
    assert cells(ours.save(tmp_path / "ours.xlsx"), "s") == cells(tmp_path / "reference.xlsx", "s")


def test_values_read_back_in_calamine(tmp_path):
    sheet = fastexcel.read_excel(str(written(tmp_path))).load_sheet(
        "表 one", header_row=None, skip_rows=2)
    table = sheet.to_arrow().to_pylist()
    assert [row["__UNNAMED__0"] for row in table] == [*AWKWARD_TEXT, None, None]
    assert [row["__UNNAMED__1"] for row in table][-1] == 9_000_000_000_000


@pytest.mark.skipif(not shutil.which("soffice"), reason="needs LibreOffice (installed by .ci/run)")
def test_libreoffice_reads_the_same_workbook(tmp_path):
    original = written(tmp_path)
    saved = openpyxl.load_workbook(saved_by_libreoffice(original, tmp_path))
    ours = openpyxl.load_workbook(original)
    assert saved.sheetnames == ours.sheetnames
    as_saved = {True: "=TRUE()", False: "=FALSE()"}  # LibreOffice saves booleans as formulas
    assert ([list(r) for r in saved["表 one"].iter_rows(values_only=True)]
            == [[as_saved.get(v, v) if type(v) is bool else v for v in r]
                for r in ours["表 one"].iter_rows(values_only=True)])
    ws = saved["表 one"]
    money = ws["B3"].number_format  # LibreOffice spells the yen format its own way
    assert "¥" in money and "#,##0" in money
    assert ws["A1"].font.b and ws["A1"].font.sz == 14
    assert ws["B1"].fill.fgColor.rgb[-6:] == "DDE4EE"  # (headless, it keeps no frozen panes)


def test_styles(tmp_path):
    wb = openpyxl.load_workbook(written(tmp_path))
    ws = wb["表 one"]
    assert ws["A1"].font.b and ws["A1"].font.sz == 14 and ws["A1"].fill.fill_type is None
    for ref in ("B1", "C1"):  # styled blanks are written, with their style
        assert ws[ref].font.b and ws[ref].fill.fill_type == "solid"
        assert ws[ref].fill.fgColor.rgb[-6:] == "DDE4EE"
    assert ws["B3"].number_format == YEN_FORMAT and not ws["B3"].font.b
    assert ws["E3"].number_format == DATE_FORMAT and ws["E3"].is_date  # dates show as dates
    assert ws["F3"].number_format == DATE_FORMAT and ws["F3"].font.b  # ... keeping the style
    assert ws["A3"].number_format == "General"
    assert wb._fonts[0].name == JAPANESE_FONT and not wb._fonts[0].b
    assert all(font.name == JAPANESE_FONT and font.scheme is None for font in wb._fonts)
    setup = ws.page_setup
    assert (int(setup.paperSize), setup.orientation, setup.fitToHeight) == (9, "landscape", 0)
    assert wb["empty"].page_setup.orientation == "portrait"
    assert ws.freeze_panes == "A2" and wb["empty"].freeze_panes is None
    assert ws.sheet_view.tabSelected and not wb["empty"].sheet_view.tabSelected  # opens on 1st


def test_column_widths_as_xlsxwriter_stores_them(tmp_path):
    widths = (0.5, 1, 8.43, 9, 16, 30, 60)
    book = xlsxwriter.Workbook(str(tmp_path / "reference.xlsx"))
    sheet = book.add_worksheet()
    for col, width in enumerate(widths):
        sheet.set_column(col, col, width)
    book.close()
    reference = openpyxl.load_workbook(tmp_path / "reference.xlsx").active
    stored = {d.min: d.width for d in reference.column_dimensions.values()}
    assert [stored[col] for col in range(1, len(widths) + 1)] == [excel_width(w) for w in widths]

    ours = TableWorkbook()
    ours.add_sheet("s", widths)
    ws = openpyxl.load_workbook(ours.save(tmp_path / "ours.xlsx")).active
    assert [ws.column_dimensions[column_letter(c)].width for c in range(len(widths))] == [
        excel_width(w) for w in widths]


def test_column_letters():
    assert [column_letter(i) for i in (0, 25, 26, 51, 52, 701, 702, 16_383)] == [
        "A", "Z", "AA", "AZ", "BA", "ZZ", "AAA", "XFD"]


def test_xml_text_escapes_what_xml_cannot_carry():
    assert xml_text("a&b<c>") == "a&amp;b&lt;c&gt;"
    assert xml_text("bell\x07") == "bell_x0007_"
    assert xml_text("_x0041_ and _xZZZZ_") == "_x005F_x0041_ and _xZZZZ_"
    assert xml_text("tab\tline\n") == "tab\tline\n"


def test_a_lone_surrogate_is_replaced_not_fatal(tmp_path):
    wb = TableWorkbook()
    wb.add_sheet("s").write_row(0, ["bad \udc80 text"], [None])
    ws = openpyxl.load_workbook(wb.save(tmp_path / "s.xlsx")).active
    assert ws["A1"].value == "bad ? text"


def test_shared_strings_are_shared(tmp_path):
    wb = TableWorkbook()
    wb.add_sheet("s").write_rows(0, [["same", "other"]] * 50, [None, None])
    with zipfile.ZipFile(wb.save(tmp_path / "s.xlsx")) as archive:
        strings = archive.read("xl/sharedStrings.xml").decode()
    assert 'count="100" uniqueCount="2"' in strings


@pytest.mark.parametrize(("value", "message"), [
    (math.nan, "cell A1 cannot hold nan"), (math.inf, "cannot hold inf"),
    (object(), "cannot hold <object"), (b"bytes", "cannot hold b'bytes'")])
def test_values_a_cell_cannot_hold(value, message):
    with pytest.raises(ValueError, match=f"sheet s: {message}" if "A1" in message else message):
        TableWorkbook().add_sheet("s").write_row(0, [value], [None])


def test_rows_must_come_in_order_and_fit_their_styles():
    ws = TableWorkbook().add_sheet("s")
    ws.write_row(3, ["x"], [None])
    with pytest.raises(ValueError, match="sheet s: row 4 written out of order"):
        ws.write_row(3, ["y"], [None])
    with pytest.raises(ValueError, match="row 2 written out of order"):
        ws.write_rows(1, [["y"]], [None])
    with pytest.raises(ValueError, match="row 5 has 2 values for 1 styles"):
        ws.write_rows(4, [["a", "b"]], [None])


@pytest.mark.parametrize("name", ["", "x" * 32, "a/b", "a[1]", "what?", "'quoted"])
def test_bad_sheet_names(name):
    with pytest.raises(ValueError, match="not a valid sheet name"):
        TableWorkbook().add_sheet(name)


def test_duplicate_sheet_and_bad_style():
    wb = TableWorkbook()
    wb.add_sheet("Sheet")
    with pytest.raises(ValueError, match="exists already"):
        wb.add_sheet("sheet")
    with pytest.raises(ValueError, match="RRGGBB"):
        CellStyle(fill="red")
    with pytest.raises(ValueError, match="font size"):
        CellStyle(size=0)
    with pytest.raises(ValueError, match="at least one sheet"):
        TableWorkbook().save("never-written.xlsx")
