"""The month's summary workbook (請求一覧 + 要確認), written by XlsxWriter: read back with
openpyxl, as a user's spreadsheet program would see it."""

from __future__ import annotations

import datetime as dt
import re
import tempfile
import zipfile
from pathlib import Path

import openpyxl
import pytest

from xlquote.app.invoice_run import ATTENTION_FLAGS
from xlquote.engine.dates import Month
from xlquote.engine.invoice import Flag
from xlquote.engine.records import Contract
from xlquote.writers import summary
from xlquote.writers.summary import (
    FLAG_HEADER,
    SUMMARY_HEADER,
    SummaryItem,
    flag_table,
    summary_table,
    write_summary_workbook,
)
from xlquote.writers.xlsx import DATE_FORMAT, JAPANESE_FONT, YEN_FORMAT

MONTH = Month(2026, 10)
ISSUED, DUE = dt.date(2026, 11, 2), dt.date(2026, 12, 2)
# User text that spreadsheet writers like to reinterpret: formulas, a URL, numbers, a date.
TRICKY_TEXT = ['=HYPERLINK("http://evil.example","クリック")', "+81 3 1234", "-5", "@SUM(A1)",
               "http://example.com/請求", "123", "2026-10-01", "1e5", "<r>株式会社ナギサ</r>",
               "<r><t>x</t></r><r><t>y</t></r>", "<script>alert(1)</script> ]]> & 😀"]


def contract(contract_id: str, customer: str, plan: str = "monthly") -> Contract:
    return Contract(contract_id, customer, "aki_sie", plan, "technical", None, None,
                    dt.date(2024, 4, 1), None, None, None, "", False, "consume")


def item(n: int, customer: str, flags: tuple[Flag, ...] = (), plan: str = "monthly",
         pdf: bool = False) -> SummaryItem:
    subtotal = 10_000 * n + 1
    party = contract(f"C{n:03d}", customer, plan)
    return SummaryItem(party.contract_id, party.customer, party.plan,
                       subtotal, subtotal // 10, subtotal + subtotal // 10, ISSUED, DUE, flags,
                       f"INV-202610-{n:04d}", f"INV-202610-{n:04d}.xlsx",
                       f"INV-202610-{n:04d}.pdf" if pdf else "")


def sample_items() -> list[SummaryItem]:
    pending = Flag("limit_pending", "料金リミット到達", "I-1001")
    urgent = Flag("urgent", "=1+1", "I-1002")  # a flag message quoting user text
    items = [item(1, "株式会社アオバ商事", (pending, urgent), pdf=True),
             item(2, "有限会社ミドリ", plan="annual")]
    items += [item(3 + i, text) for i, text in enumerate(TRICKY_TEXT)]
    return items


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> tuple[list[SummaryItem], Path, openpyxl.Workbook]:
    items = sample_items()
    path = write_summary_workbook(MONTH, items, ATTENTION_FLAGS,
                                  tmp_path_factory.mktemp("out") / "請求一覧_2026-10.xlsx")
    return items, path, openpyxl.load_workbook(path)


def expected(value: object) -> object:
    """A value as read back: dates come back as datetimes, empty text as an empty cell."""
    if isinstance(value, dt.date):
        return dt.datetime.combine(value, dt.time())
    return None if value == "" else value


def column_widths(ws) -> list[float]:
    """Stored widths by column (a writer may store neighbours of one width as one range)."""
    widths: dict[int, float] = {}
    for dimension in ws.column_dimensions.values():
        for col in range(dimension.min, dimension.max + 1):
            widths[col] = dimension.width
    return [widths[col] for col in sorted(widths)]


def test_summary_sheet_rows_and_totals(written):
    items, _, wb = written
    assert wb.sheetnames == ["請求一覧", "要確認"]
    ws = wb["請求一覧"]
    assert ws["A1"].value == "請求一覧 2026年10月"
    assert ws["A1"].font.b and ws["A1"].font.sz == 14
    assert all(cell.value is None for cell in ws[2])
    assert [cell.value for cell in ws[3]] == list(SUMMARY_HEADER)
    rows = [list(row) for row in ws.iter_rows(min_row=4, values_only=True)]
    table = summary_table(items, ATTENTION_FLAGS)
    assert rows[:-1] == [[expected(v) for v in row] for row in table]
    assert rows[0][9] == "料金リミット到達 — ご判断待ち"  # attention only: "urgent" is not listed
    assert rows[0][11] == "INV-202610-0001.pdf"
    subtotal = sum(i.subtotal for i in items)
    assert rows[-1][:7] == ["合計", f"{len(items)}件", None, None, subtotal,
                            sum(i.tax for i in items), sum(i.total for i in items)]
    assert all(cell.font.b for cell in ws[ws.max_row] if cell.value is not None)
    assert not ws["A4"].font.b


def test_money_and_date_cells(written):
    _, _, wb = written
    ws = wb["請求一覧"]
    for row in range(4, ws.max_row + 1):  # the totals row too
        for col in ("E", "F", "G"):
            cell = ws[f"{col}{row}"]
            assert cell.data_type == "n" and cell.number_format == YEN_FORMAT, cell.coordinate
    for row in range(4, ws.max_row):
        for col in ("H", "I"):
            cell = ws[f"{col}{row}"]
            assert cell.is_date and cell.number_format == DATE_FORMAT, cell.coordinate
        assert (ws[f"H{row}"].value, ws[f"I{row}"].value) == (dt.datetime(2026, 11, 2),
                                                              dt.datetime(2026, 12, 2))


def test_flag_sheet(written):
    items, _, wb = written
    ws = wb["要確認"]
    assert [cell.value for cell in ws[1]] == list(FLAG_HEADER)
    rows = [list(row) for row in ws.iter_rows(min_row=2, values_only=True)]
    assert rows == [[expected(v) for v in row] for row in flag_table(items, ATTENTION_FLAGS)]
    assert rows == [["INV-202610-0001", "C001", "I-1001", "料金リミット到達 — ご判断待ち",
                     "料金リミット到達", "要対応"],
                    ["INV-202610-0001", "C001", "I-1002", "お急ぎ対応", "=1+1", None]]
    assert ws["E3"].data_type == "s"


def test_header_style_and_layout(written):
    _, _, wb = written
    for ws, header_row, widths in ((wb["請求一覧"], 3, (16, 9, 30, 14, 12, 11, 13, 11, 11, 28, 34, 34, 26)),
                                   (wb["要確認"], 1, (16, 9, 12, 30, 60, 8))):
        for cell in ws[header_row]:
            assert cell.font.b and cell.fill.fill_type == "solid", cell.coordinate
            assert cell.fill.fgColor.rgb[-6:] == "DDE4EE", cell.coordinate
        # Stored: Excel's displayed width plus the cell padding (0.71 of a digit).
        assert column_widths(ws) == pytest.approx([w + 0.71 for w in widths], abs=0.01)
        setup, margins = ws.page_setup, ws.page_margins
        assert setup.paperSize == int(ws.PAPERSIZE_A4) and setup.orientation == "landscape"
        assert ws.sheet_properties.pageSetUpPr.fitToPage
        assert setup.fitToWidth in (None, 1) and setup.fitToHeight == 0  # absent means 1
        assert ws.print_options.horizontalCentered
        assert (margins.left, margins.right) == (0.5, 0.5)
    assert wb["請求一覧"].freeze_panes == "A4"
    assert wb["要確認"].freeze_panes is None


def test_every_font_is_the_japanese_font(written):
    _, path, wb = written
    assert wb._fonts[0].name == JAPANESE_FONT  # the default: cells without a font of their own
    # No font may be tied to the theme's scheme: Excel would draw it in the theme's font.
    assert all(font.name == JAPANESE_FONT and font.scheme is None for font in wb._fonts)
    for ws in wb:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.font.name == JAPANESE_FONT, (ws.title, cell.coordinate)
    with zipfile.ZipFile(path) as archive:
        assert b"<scheme" not in archive.read("xl/styles.xml")
        texts = [name for name in archive.namelist()  # shared, or inline in the sheets
                 if name.startswith("xl/worksheets/") or name == "xl/sharedStrings.xml"]
        run_fonts = [font for name in texts
                     for font in re.findall(rb'<rFont val="([^"]*)"', archive.read(name))]
    assert run_fonts and set(run_fonts) == {JAPANESE_FONT.encode()}  # text written as runs


def test_user_text_stays_text(written):
    _, path, wb = written
    ws = wb["請求一覧"]
    customers = {row[2].value: row[2] for row in ws.iter_rows(min_row=4, max_row=ws.max_row - 1)}
    for text in TRICKY_TEXT:
        assert customers[text].data_type == "s", text
    for sheet in wb:
        assert not sheet._hyperlinks
        assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        sheets = b"".join(archive.read(n) for n in names if n.startswith("xl/worksheets/sheet"))
    assert b"<f>" not in sheets and b"<hyperlink" not in sheets
    assert not any("externalLink" in n or "drawing" in n for n in names)


def test_same_content_same_bytes(tmp_path):
    items = sample_items()
    first = write_summary_workbook(MONTH, items, ATTENTION_FLAGS, tmp_path / "a" / "s.xlsx")
    second = write_summary_workbook(MONTH, items, ATTENTION_FLAGS, tmp_path / "b" / "s.xlsx")
    assert first.read_bytes() == second.read_bytes()
    with zipfile.ZipFile(first) as archive:
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 31, 0, 0, 0)}
        core = archive.read("docProps/core.xml").decode()
    assert core.count("2000-01-01T00:00:00Z") == 2  # created and modified
    changed = write_summary_workbook(MONTH, items[:-1], ATTENTION_FLAGS, tmp_path / "c.xlsx")
    assert changed.read_bytes() != first.read_bytes()


def test_empty_month(tmp_path):
    wb = openpyxl.load_workbook(write_summary_workbook(MONTH, [], ATTENTION_FLAGS,
                                                       tmp_path / "s.xlsx"))
    rows = list(wb["請求一覧"].iter_rows(min_row=3, values_only=True))
    assert list(rows[0]) == list(SUMMARY_HEADER)
    assert rows[1][:7] == ("合計", "0件", None, None, 0, 0, 0)
    assert wb["要確認"].max_row == 1


def test_failure_while_writing_leaves_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "s.xlsx"
    target.write_bytes(b"the previous summary")

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(summary, "flag_table", broken)  # the first sheet is already written
    with pytest.raises(RuntimeError, match="boom"):
        write_summary_workbook(MONTH, sample_items(), ATTENTION_FLAGS, target)
    assert target.read_bytes() == b"the previous summary"
    assert [p.name for p in tmp_path.iterdir()] == ["s.xlsx"]  # no temporary file left


def test_disk_error_raises_oserror_and_leaves_nothing(tmp_path, monkeypatch):
    def disk_full(self, *args, **kwargs):
        raise OSError(28, "No space left on device")

    rows = tmp_path / "rows"  # where the rows' temporary files go
    rows.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(rows))
    out = tmp_path / "out"
    out.mkdir()
    write_summary_workbook(MONTH, sample_items(), ATTENTION_FLAGS, out / "s.xlsx")
    assert list(rows.iterdir()) == []
    monkeypatch.setattr(zipfile.ZipFile, "write", disk_full)
    monkeypatch.setattr(zipfile.ZipFile, "writestr", disk_full)
    with pytest.raises(OSError, match="No space left"):
        write_summary_workbook(MONTH, sample_items(), ATTENTION_FLAGS, out / "t.xlsx")
    assert [path.name for path in out.iterdir()] == ["s.xlsx"]
    assert list(rows.iterdir()) == []


def test_collector_is_restored(tmp_path, monkeypatch):
    import gc

    assert gc.isenabled()
    write_summary_workbook(MONTH, sample_items(), ATTENTION_FLAGS, tmp_path / "s.xlsx")
    assert gc.isenabled()
    gc.disable()
    try:
        write_summary_workbook(MONTH, sample_items(), ATTENTION_FLAGS, tmp_path / "s.xlsx")
        assert not gc.isenabled()  # a caller's choice is kept
    finally:
        gc.enable()
