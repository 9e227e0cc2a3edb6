"""The invoicing workbook and its 請求書作成 button: the built .xlsm (sheets, tables, drop-downs,
xlwings VBA, the macro button), and the handler driven through xlwings' own Book built from an
Office.js-style JSON payload (XLWINGS_LICENSE_KEY=noncommercial comes from conftest.py)."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import xlwings as xw
from xlwings.server import custom_scripts_call

from udfs import invoicing as handler
from xlquote.app.documents import jst_today
from xlquote.app.workbooks import REPO_WORKBOOKS, builders, differences, snapshot
from xlquote.app.workbooks.invoicing import FILENAME, build, xlwings_template
from xlquote.engine.records import SHEETS, field_names
from xlquote.readers.workbook import SETTINGS_FIELDS
from xlquote.writers.summary import SUMMARY_HEADER

MONTH = "2026-10"
SUMMARY_TOP = 7


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    return build(tmp_path_factory.mktemp("xlsm") / FILENAME)


def test_builder_is_discovered():
    assert builders()[FILENAME].build is build


def test_committed_workbook_is_current(built):
    committed = REPO_WORKBOOKS / FILENAME
    assert committed.is_file(), "run `xlquote workbooks` and commit workbooks/invoicing.xlsm"
    assert differences(snapshot(committed), snapshot(built)) == []


def test_sheets_tables_and_dropdowns(built):
    wb = openpyxl.load_workbook(built, keep_vba=True)
    assert wb.sheetnames == ["Invoices", "Notices", "Contracts", "Incidents", "Packs",
                             "Settings", "xlwings.conf"]
    for name, fields in SHEETS.items():
        ws = wb[name]
        assert [c.value for c in ws[1]] == field_names(fields)
        (table,) = ws.tables.values()
        assert table.ref.startswith("A1:")
    validations = {str(v.sqref): v.formula1 for v in wb["Incidents"].data_validations.dataValidation}
    assert validations["E2:E5000"] == '"email,dm,reply,phone,skype_call,skype_chat,onsite"'
    plan = {str(v.sqref): v.formula1 for v in wb["Contracts"].data_validations.dataValidation}
    assert plan["D2:D5000"] == '"annual,monthly,vendor_support,callcenter"'
    assert [wb["Settings"].cell(r, 1).value for r in range(2, 2 + len(SETTINGS_FIELDS))] == [
        f.key for f in SETTINGS_FIELDS]
    assert wb["Invoices"]["B3"].value == MONTH
    assert wb["Contracts"].max_row == 22  # the bundled sample: 21 contracts
    conf = wb["xlwings.conf"]
    assert conf["A3"].value == "PYTHONPATH" and "udfs" in conf["B3"].value


def test_macro_button_and_vba(built):
    with zipfile.ZipFile(built) as package:
        names = package.namelist()
        assert "xl/vbaProject.bin" in names
        vba = package.read("xl/vbaProject.bin")
        drawing = package.read("xl/drawings/drawing1.xml").decode()
        sheet = package.read("xl/worksheets/sheet1.xml").decode()
        rels = package.read("xl/worksheets/_rels/sheet1.xml.rels").decode()
        types = package.read("[Content_Types].xml").decode()
    with zipfile.ZipFile(xlwings_template()) as template:
        assert vba == template.read("xl/vbaProject.bin")  # xlwings' module and SampleCall
    assert 'macro="[0]!SampleCall"' in drawing and "<a:t>請求書作成</a:t>" in drawing
    assert re.search(r'<drawing r:id="rIdButton1"/>', sheet)
    assert "../drawings/drawing1.xml" in rels
    assert 'PartName="/xl/drawings/drawing1.xml"' in types
    assert "macroEnabled" in types
    # the sheet holding the button is Invoices
    wb = openpyxl.load_workbook(built, keep_vba=True)
    assert wb.worksheets[0].title == "Invoices"


# --- the handler, through xlwings' Office.js Book ---------------------------------------------

def office_js_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, dt.date | dt.datetime):
        return f"{value:%Y-%m-%dT%H:%M:%S}.000Z"
    return value


def payload(workbook: Path, output_folder: Path, edit=None) -> dict[str, Any]:
    """What the xlwings Lite / Server client sends: every sheet's values."""
    wb = openpyxl.load_workbook(workbook, data_only=True, keep_vba=True)
    sheets = []
    for ws in wb.worksheets:
        values = [[office_js_value(v) for v in row] for row in ws.iter_rows(values_only=True)]
        if ws.title == "Settings":
            for row in values:
                if row[0] == "output_folder":
                    row[1] = str(output_folder)
        if edit:
            edit(ws.title, values)
        sheets.append({"name": ws.title, "values": values or [[""]], "pictures": [],
                       "tables": []})
    return {"client": "Office.js", "version": xw.__version__,
            "book": {"name": FILENAME, "active_sheet_index": 0, "selection": "A1"},
            "names": [], "sheets": sheets}


def written(book: xw.Book) -> dict[tuple[int, int], list[list[Any]]]:
    """(row, column) 1-based of each setValues action on the Invoices sheet → its values."""
    return {(a["start_row"] + 1, a["start_column"] + 1): a["values"]
            for a in book.json()["actions"]
            if a["func"] == "setValues" and a["sheet_position"] == 0}


def status(book: xw.Book) -> str:
    return written(book)[(5, 2)][0][0]  # B5


def test_button_writes_summary_and_files(built, tmp_path):
    book = xw.Book(json=payload(built, tmp_path))
    result = handler.run_from_book(book)
    assert result is not None
    actions = written(book)
    table = actions[(7, 1)]  # A7
    assert table[0] == list(SUMMARY_HEADER)
    assert len(table) == 1 + 17 + 2 + 1  # invoices, the draft and the statement, totals
    c001 = next(row for row in table if row[1] == "C001")
    assert c001[0] == "INV-202610-0001"
    issued = max(dt.date(2026, 11, 2), jst_today())  # dated the day it is made, if later
    assert c001[2] == "株式会社アオバ商事" and c001[6] == 24_200 and c001[7] == issued.isoformat()
    assert c001[12] == "発行済み"
    assert next(row for row in table if row[1] == "C004")[0] == "下書き"
    assert table[-1][0] == "合計" and table[-1][6] == 9_864_800
    assert "17 件" in status(book) and "¥9,864,800" in status(book)
    assert "下書き 1 件" in status(book) and "要確認 5 件" in status(book)  # 2 on-site quotes
    assert len(list((tmp_path / MONTH).glob("INV-202610-*.xlsx"))) == 17
    assert len(list((tmp_path / MONTH).glob("INV-202610-*.pdf"))) == 17  # PDFs by default


def test_script_for_xlwings_lite(built, tmp_path):
    book = xw.Book(json=payload(built, tmp_path))
    returned = asyncio.run(custom_scripts_call(handler, "make_invoices",
                                               typehint_to_value={xw.Book: book}))
    table = written(returned)[(7, 1)]
    assert table[-1][6] == 9_864_800


def test_button_reports_bad_rows_in_the_sheet(built, tmp_path):
    def break_rows(sheet: str, values: list[list[Any]]) -> None:
        if sheet == "Incidents":
            values[1][4] = "fax"  # row 2, channel
            values[3][2] = "someday"  # row 4, opened
        if sheet == "Invoices":
            values.extend([["old"] * 3 for _ in range(30)])  # a longer table from before

    book = xw.Book(json=payload(built, tmp_path, break_rows))
    assert handler.run_from_book(book) is None
    assert status(book).startswith("入力エラー 2 件")
    problems = written(book)[(7, 1)]
    assert problems[0][:5] == handler.PROBLEM_HEADER
    assert problems[1][:3] == ["Incidents", 2, "channel"] and problems[1][3] == "fax"
    assert problems[2][:3] == ["Incidents", 4, "opened"]
    assert all(v is None or v == "" for row in problems[3:] for v in row)  # old rows blanked
    assert SUMMARY_TOP + len(problems) - 1 >= 5 + 30  # down to the old table's last row
    assert not (tmp_path / MONTH).exists()


def test_button_month_cell_errors(built, tmp_path):
    def bad_month(sheet: str, values: list[list[Any]]) -> None:
        if sheet == "Invoices":
            values[2][1] = "十月"

    book = xw.Book(json=payload(built, tmp_path, bad_month))
    assert handler.run_from_book(book) is None
    assert status(book).startswith("入力エラー 1 件")
    assert written(book)[(7, 1)][1][2] == "month"


def test_formula_looking_customer_stays_text(built, tmp_path):
    def rename(sheet: str, values: list[list[Any]]) -> None:
        if sheet == "Contracts":
            values[1][1] = '=HYPERLINK("http://example.com","x")'

    book = xw.Book(json=payload(built, tmp_path, rename))
    handler.run_from_book(book)
    c001 = next(r for r in written(book)[(7, 1)] if r[1] == "C001")
    assert c001[2] == '\'=HYPERLINK("http://example.com","x")'  # apostrophe: Excel keeps text


def test_unexpected_error_is_a_message_not_a_traceback(built, tmp_path, monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(handler, "run_invoices", explode)
    book = xw.Book(json=payload(built, tmp_path))
    assert handler.run_from_book(book) is None
    message = status(book)
    assert "予期しないエラー (RuntimeError: boom)" in message and "Traceback" not in message


# --- the お知らせ作成 button (RULES 2.9) -----------------------------------------------------

def notices_written(book: xw.Book) -> dict[tuple[int, int], list[list[Any]]]:
    return {(a["start_row"] + 1, a["start_column"] + 1): a["values"]
            for a in book.json()["actions"]
            if a["func"] == "setValues" and a["sheet_position"] == 1}


def test_notices_button_is_on_the_notices_sheet(built):
    with zipfile.ZipFile(built) as package:
        drawings = [package.read(n).decode() for n in package.namelist()
                    if n.startswith("xl/drawings/drawing")]
    assert sorted(re.search(r"<a:t>(.+?)</a:t>", d)[1] for d in drawings) == ["お知らせ作成",
                                                                              "請求書作成"]
    assert all('macro="[0]!SampleCall"' in d for d in drawings)
    wb = openpyxl.load_workbook(built, keep_vba=True)
    assert wb["Notices"]["B3"].value == MONTH


def test_notices_button_writes_the_notices_once(built, tmp_path):
    book = xw.Book(json=payload(built, tmp_path))
    result = handler.run_notices_from_book(book)
    assert result is not None and result.workbook.parent == tmp_path / "notices"
    table = notices_written(book)[(8, 1)]
    assert table[0][:6] == handler.NOTICE_HEADER
    assert {row[1] for row in table[1:]} == {"ユニット消化のご連絡", "料金リミット到達のお知らせ",
                                             "ユニット有効期限のお知らせ"}
    status = notices_written(book)[(6, 2)][0][0]
    assert status.startswith("2026-10 (2026-10-31 時点): 新しいお知らせ 6 件")
    again = xw.Book(json=payload(built, tmp_path))
    handler.run_notices_from_book(again)
    assert "送付済み 6 件は省略" in notices_written(again)[(6, 2)][0][0]


def test_notices_script_for_xlwings_lite(built, tmp_path):
    book = xw.Book(json=payload(built, tmp_path))
    returned = asyncio.run(custom_scripts_call(handler, "make_notices",
                                               typehint_to_value={xw.Book: book}))
    assert notices_written(returned)[(8, 1)][0][:6] == handler.NOTICE_HEADER


def test_button_refuses_a_month_that_has_not_ended(built, tmp_path):
    def this_month(sheet: str, values: list[list[Any]]) -> None:
        if sheet == "Invoices":
            values[2][1] = f"{jst_today():%Y-%m}"

    book = xw.Book(json=payload(built, tmp_path, this_month))
    assert handler.run_from_book(book) is None
    assert status(book).startswith("入力エラー 1 件")
    problem = written(book)[(7, 1)][1]
    assert problem[2] == "month" and "まだ終わっていません" in problem[4]
    assert not (tmp_path / f"{jst_today():%Y-%m}").exists()


def test_button_names_an_error_value_instead_of_reading_a_blank(built, tmp_path):
    def error_cell(sheet: str, values: list[list[Any]]) -> None:
        if sheet == "Contracts":
            values[4][9] = "#N/A"  # row 5 (C004), fee_limit: ¥20,000 capped, or nothing?

    book = xw.Book(json=payload(built, tmp_path, error_cell))
    assert handler.run_from_book(book) is None
    problems = written(book)[(7, 1)]
    # The value goes back as text: without the apostrophe Excel would store an error value.
    assert problems[1][:4] == ["Contracts", 5, "fee_limit", "'#N/A"]
    assert problems[1][4].startswith("エラー値は使えません")
    assert not (tmp_path / MONTH).exists()


@pytest.mark.parametrize(("typed", "written_as"), [
    ("=HYPERLINK(\"x\")", "'=HYPERLINK(\"x\")"), ("+81 3", "'+81 3"), ("-5", "'-5"),
    ("@mention", "'@mention"), ("#N/A", "'#N/A"), ("001", "'001"), ("1,200", "'1,200"),
    ("2026-10-14", "'2026-10-14"), ("2026年10月", "'2026年10月"),
    ("株式会社アオバ", "株式会社アオバ"), ("C-001", "C-001"), ("", ""), (5, 5), (None, None),
])
def test_text_written_into_a_sheet_stays_as_typed(typed, written_as):
    """What Excel would turn into a formula, an error value, a number or a date when a program
    writes it gets Excel's text mark; other text and real numbers go as they are."""
    assert handler.excel_value(typed) == written_as


# --- corrections from the button ---------------------------------------------------------------

def test_the_correction_cell_sits_under_the_month_with_its_choices(built):
    ws = openpyxl.load_workbook(built, keep_vba=True)["Invoices"]
    assert ws["A4"].value == "修正インボイス" and ws["B4"].value is None
    choices = {str(v.sqref): v.formula1 for v in ws.data_validations.dataValidation}
    assert choices == {"B4": '"発行しない,発行する"'}


def shorter_call(sheet: str, values: list[list[Any]]) -> None:
    """I-1003 (C001) took 10 minutes, not 100: C001's invoice changes."""
    if sheet == "Incidents":
        row = next(r for r in values if r[0] == "I-1003")
        row[6] = 10


def corrections(choice: str):
    def edit(sheet: str, values: list[list[Any]]) -> None:
        shorter_call(sheet, values)
        if sheet == "Invoices":
            values[3][1] = choice
    return edit


def test_a_changed_invoice_is_corrected_from_the_button_once_asked(built, tmp_path):
    assert handler.run_from_book(xw.Book(json=payload(built, tmp_path))) is not None
    original = tmp_path / MONTH / "INV-202610-0001_C001_株式会社アオバ商事.xlsx"
    issued = original.read_bytes()

    refused = xw.Book(json=payload(built, tmp_path, shorter_call))
    assert handler.run_from_book(refused) is None
    assert "INV-202610-0001 (C001, 合計 24,200 → 22,000)" in status(refused)
    assert "Invoices シートの B4 (修正インボイス) を「発行する」" in status(refused)
    assert "--correct" not in status(refused)  # the button has no command line
    assert original.read_bytes() == issued

    asked = xw.Book(json=payload(built, tmp_path, corrections("発行する")))
    result = handler.run_from_book(asked)
    assert result is not None
    table = written(asked)[(7, 1)]
    correction = next(row for row in table if row[1] == "C001" and row[0] != "INV-202610-0001")
    assert correction[0] == "INV-202610-0018" and correction[6] == 22_000
    assert next(row for row in table if row[0] == "INV-202610-0001")[12] != "発行済み"
    assert written(asked)[(4, 2)] == [[""]]  # B4 back to blank: the next change asks again
    assert original.read_bytes() == issued  # the original stays as issued
    assert len(list((tmp_path / MONTH).glob("INV-202610-0018_C001_*.xlsx"))) == 1


def test_a_correction_cell_that_is_not_a_choice_is_named(built, tmp_path):
    book = xw.Book(json=payload(built, tmp_path, corrections("はいはい")))
    assert handler.run_from_book(book) is None
    problem = written(book)[(7, 1)][1]
    assert problem[:4] == ["Invoices", 4, "修正インボイス", "はいはい"]
    assert "「発行する」か「発行しない」" in problem[4]
    assert not (tmp_path / MONTH).exists()


@pytest.mark.parametrize("typed", ["1e3", "2E5", "1e-3", "TRUE", "false"])
def test_text_excel_reads_as_a_number_or_truth_value_keeps_its_mark(typed):
    """Refused minutes '1e3' written back plain would show as 1000 beside 数値として読めません."""
    assert handler.excel_value(typed) == "'" + typed


def test_a_month_cell_holding_a_number_is_refused_not_read_as_january(built, tmp_path):
    """2026.10 typed into a General cell is the number 2026.1: it billed 2026-01."""
    def number_month(sheet: str, values: list[list[Any]]) -> None:
        if sheet == "Invoices":
            values[2][1] = 2026.1

    book = xw.Book(json=payload(built, tmp_path, number_month))
    assert handler.run_from_book(book) is None
    problem = written(book)[(7, 1)][1]
    assert problem[2] == "month" and problem[4].startswith("数値は月として読めません")
    assert not (tmp_path / "2026-01").exists()


def test_a_refused_truth_value_is_listed_as_excel_shows_it(built, tmp_path):
    def true_minutes(sheet: str, values: list[list[Any]]) -> None:
        if sheet == "Incidents":
            values[1][values[0].index("minutes")] = True

    book = xw.Book(json=payload(built, tmp_path, true_minutes))
    assert handler.run_from_book(book) is None
    problem = written(book)[(7, 1)][1]
    assert problem[2:4] == ["minutes", "'TRUE"]  # not Python's True
