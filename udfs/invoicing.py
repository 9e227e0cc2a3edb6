"""The 請求書作成 and お知らせ作成 buttons of ``workbooks/invoicing.xlsm`` — thin handlers over the
shared jobs (``xlquote invoice`` and ``xlquote notices``).

Desktop Excel: the button runs the template macro ``SampleCall``, i.e.
``RunPython "import invoicing; invoicing.main()"`` (the module is named after the workbook; the
workbook's ``xlwings.conf`` sheet puts this ``udfs`` folder on PYTHONPATH). xlwings Lite /
Server: the same job is the script ``make_invoices``.

The handler reads the sheets through xlwings, calls ``xlquote.app.run_invoices`` (the same job
as ``xlquote invoice``), writes the summary under the month cell of the ``Invoices`` sheet and a
one-line status. Errors end up in the status cell and the table below it — never a traceback.
Like the command, the button refuses a month that has not ended (Settings 締め前の月), makes PDFs,
and holds invoices waiting on a decision as drafts; B4 (修正インボイス) set to 発行する is its
``--correct``, for one run. Its register is the command's choice: the
PC's ``XLQUOTE_REGISTER``, else Settings 請求番号台帳 (a server the team shares, no password),
else the output folder's own ``register.sqlite3``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from pathlib import Path, PurePath
from typing import Any, TypeVar

import xlwings as xw

from xlquote.app.invoice_run import (
    ATTENTION_FLAGS,
    InvoiceRunResult,
    IssuedInvoicesChanged,
    parse_month,
    run_invoices,
)
from xlquote.app.notices_run import NoticesRunResult, run_notices
from xlquote.app.workbooks.invoicing import (
    CORRECT_CELL,
    CORRECT_ISSUE,
    CORRECT_REFUSE,
    INVOICES_SHEET,
    MONTH_CELL,
    NOTICES_DATE_CELL,
    NOTICES_MONTH_CELL,
    NOTICES_SHEET,
    NOTICES_STATUS_CELL,
    NOTICES_TOP_ROW,
    STATUS_CELL,
    SUMMARY_TOP_ROW,
)
from xlquote.engine.columns import parse_date
from xlquote.engine.errors import InputError, Problem, XlquoteError
from xlquote.engine.messages import NOT_A_DATE
from xlquote.engine.money import yen
from xlquote.engine.notices import NOTICE_LABELS_JA
from xlquote.readers.workbook import (
    REQUIRED_SHEETS,
    SheetTable,
    normalize_cell,
    parse_invoicing_tables,
    table_from_grid,
)
from xlquote.writers.summary import SUMMARY_HEADER, summary_table, totals_row
from xlquote.writers.xlsx import FORMULA_PREFIXES

log = logging.getLogger(__name__)
T = TypeVar("T")
PROBLEM_HEADER = ["シート", "行", "列", "値", "理由"]
SHOWN_PROBLEMS = 500


# Text Excel would not keep as typed when a program writes it into a cell: a formula, an error
# value (#N/A), something it reads as a number or a date ("001", "1,200", "2026-10-14", "1e3")
# or a truth value ("true").
EXCEL_WOULD_CONVERT = re.compile("[#" + re.escape("".join(FORMULA_PREFIXES)) + "]"
                                 r"|[\d\s.,:/%¥$()年月日-]+$"
                                 r"|\s*[\d.,]+[eE][+-]?\d+\s*$"
                                 r"|(?i:\s*(?:true|false)\s*)$")


def cell_text(value: Any) -> str:
    """A refused cell's value as the clerk typed it: TRUE, not Python's True."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    return str(value)


def excel_value(value: Any) -> Any:
    """User text as Excel must store it: text that Excel would turn into a formula, an error
    value, a number or a date gets a leading apostrophe (Excel's mark for "stored as text")."""
    if isinstance(value, str) and value and EXCEL_WOULD_CONVERT.match(value):
        return "'" + value
    return value


def read_tables(book: xw.Book) -> dict[str, SheetTable | None]:
    present = {sheet.name: sheet for sheet in book.sheets}
    tables: dict[str, SheetTable | None] = {}
    for name in REQUIRED_SHEETS:
        sheet = present.get(name)
        if sheet is None:
            tables[name] = None
            continue
        last = sheet.used_range.last_cell
        # Error values (#N/A, …) as their text, so that they are named rather than read blank.
        grid = sheet["A1"].resize(last.row, last.column).options(ndim=2, err_to_str=True).value \
            or []
        tables[name] = table_from_grid([[normalize_cell(v) for v in row] for row in grid])
    return tables


def output_folder(book: xw.Book, setting: str) -> Path:
    """Settings' output folder; a relative one is taken from the workbook's own folder."""
    folder = Path(setting or "invoices").expanduser()
    if folder.is_absolute():
        return folder
    fullname = PurePath(book.fullname or "")
    base = Path(fullname.parent) if fullname.is_absolute() else Path.cwd()
    return base / folder


def write_block(sheet: xw.Sheet, top: int, rows: list[list[Any]], clear_rows: int) -> None:
    """Write ``rows`` from column A of row ``top``; blank the rest of the previous table."""
    width = max(len(SUMMARY_HEADER), len(PROBLEM_HEADER))
    height = max(len(rows), clear_rows)
    if height:
        block = [[excel_value(v) for v in row] + [None] * (width - len(row)) for row in rows]
        block += [[None] * width for _ in range(height - len(rows))]
        sheet[f"A{top}"].value = block


def reported(sheet: xw.Sheet, status_cell: str, top: int, old_rows: int, what: str,
             job: Callable[[], T]) -> T | None:
    """``job()``'s result, or None when it failed: bad input is listed from row ``top`` (sheet,
    row, column, value, reason), any other failure is one line in ``status_cell`` — never a
    traceback. ``what`` names the documents that were not made (請求書, お知らせ)."""
    try:
        return job()
    except InputError as exc:
        sheet[status_cell].value = (f"入力エラー {len(exc.problems)} 件: 下の一覧を直してから"
                                    f"もう一度押してください ({what}は作成していません)")
        rows: list[list[Any]] = [PROBLEM_HEADER] + [
            [p.sheet or "", p.row or "", p.field, cell_text(p.value),
             p.reason] for p in exc.problems[:SHOWN_PROBLEMS]]
        write_block(sheet, top, rows, old_rows)
    except XlquoteError as exc:
        sheet[status_cell].value = f"エラー: {exc}"
    except Exception as exc:  # the clerk gets a message; the details go to the log
        log.exception("%s run failed", what)
        sheet[status_cell].value = (f"予期しないエラー ({type(exc).__name__}: {exc})。"
                                    "管理者に連絡してください")
    return None


def run_from_book(book: xw.Book) -> InvoiceRunResult | None:
    """The button's job on ``book``; returns the result, or None when it reported an error."""
    sheet = book.sheets[INVOICES_SHEET]
    used_rows = sheet.used_range.last_cell.row
    old_rows = max(0, used_rows - SUMMARY_TOP_ROW + 1)
    correct = False

    def job() -> InvoiceRunResult:
        nonlocal correct
        month = parse_month(sheet[MONTH_CELL].value)
        correct = wants_corrections(sheet[CORRECT_CELL].value)
        data = parse_invoicing_tables(read_tables(book))
        folder = output_folder(book, data.settings.output_folder)
        try:
            return run_invoices(data, month, folder, correct=correct)
        except IssuedInvoicesChanged as exc:  # the button has no --correct: name its cell
            raise IssuedInvoicesChanged(exc.changed, HOW_TO_CORRECT) from None

    result = reported(sheet, STATUS_CELL, SUMMARY_TOP_ROW, old_rows, "請求書", job)
    if result is None:
        return None
    if correct:  # once: a later change is refused again until the clerk asks
        sheet[CORRECT_CELL].value = ""
    items = result.summary_items()
    table = [list(SUMMARY_HEADER), *summary_table(items, ATTENTION_FLAGS), totals_row(items)]
    write_block(sheet, SUMMARY_TOP_ROW, table, old_rows)
    sheet[STATUS_CELL].value = status_line(result)
    return result


HOW_TO_CORRECT = (f"{INVOICES_SHEET} シートの {CORRECT_CELL} (修正インボイス) を「{CORRECT_ISSUE}」に"
                  "して、もう一度「請求書作成」を押してください")


def wants_corrections(value: Any) -> bool:
    """B4 (修正インボイス): 発行する / TRUE asks for corrections; blank, 発行しない or FALSE not."""
    if value is None or value is False or value in ("", CORRECT_REFUSE):
        return False
    if value is True or value == CORRECT_ISSUE:
        return True
    if isinstance(value, str) and value.strip() in (CORRECT_ISSUE, CORRECT_REFUSE):
        return value.strip() == CORRECT_ISSUE
    raise InputError([Problem(int(CORRECT_CELL[1:]), "修正インボイス", value,
                              f"「{CORRECT_ISSUE}」か「{CORRECT_REFUSE}」(空欄) を選んでください",
                              INVOICES_SHEET)])


def status_line(result: InvoiceRunResult) -> str:
    """B5: how many invoices, the total, where, and what waits or needs a look."""
    notes = []
    if result.drafts:
        notes.append(f"下書き {len(result.drafts)} 件")
    attention = result.attention_count()
    if attention:
        notes.append(f"要確認 {attention} 件")
    if result.pdf_failures:
        notes.append(f"PDF 未作成 {len(result.pdf_failures)} 件")
    if result.elsewhere:
        notes.append(f"他の出力フォルダで発行 {len(result.elsewhere)} 件")
    if result.register is not None and result.register.created:
        notes.append(f"新しい請求番号台帳を作成: {result.register.display}")
    return (f"{result.month}: {len(result.files)} 件 合計 {yen(result.total)} → {result.folder}"
            + (f" ({', '.join(notes)})" if notes else ""))


NOTICE_HEADER = ["日付", "種類", "契約ID", "お客様", "インシデント", "本文"]
NOTICES_FOLDER = "notices"  # inside the Settings' output folder


def run_notices_from_book(book: xw.Book) -> NoticesRunResult | None:
    """The お知らせ作成 button on ``book``: the notices due, written once into
    ``<output folder>/notices`` and listed below the month cell."""
    sheet = book.sheets[NOTICES_SHEET]
    old_rows = max(0, sheet.used_range.last_cell.row - NOTICES_TOP_ROW + 1)
    def job() -> NoticesRunResult:
        month = parse_month(sheet[NOTICES_MONTH_CELL].value)
        as_of_cell = sheet[NOTICES_DATE_CELL].value
        as_of = None if as_of_cell in (None, "") else parse_date(as_of_cell)
        if as_of_cell not in (None, "") and as_of is None:
            raise InputError([Problem(None, "date", as_of_cell, NOT_A_DATE, NOTICES_SHEET)])
        data = parse_invoicing_tables(read_tables(book))
        folder = output_folder(book, data.settings.output_folder) / NOTICES_FOLDER
        return run_notices(data, month, folder, as_of=as_of)

    result = reported(sheet, NOTICES_STATUS_CELL, NOTICES_TOP_ROW, old_rows, "お知らせ", job)
    if result is None:
        return None
    rows = [NOTICE_HEADER] + [[n.date.isoformat(), NOTICE_LABELS_JA[n.kind], n.contract_id,
                               n.customer, n.incident_id or "", n.text]
                              for n in result.report.notices]
    write_block(sheet, NOTICES_TOP_ROW, rows, old_rows)
    overdue = sum(1 for o in result.report.open_incidents if o.overdue)
    sheet[NOTICES_STATUS_CELL].value = (
        f"{result.report.month} ({result.report.as_of} 時点): 新しいお知らせ "
        f"{len(result.report.notices)} 件 → {result.workbook}"
        + (f" (送付済み {result.already_written} 件は省略)" if result.already_written else "")
        + (f"; 応答期限超過 {overdue} 件" if overdue else ""))
    return result


@xw.script(button="[notices_button]Notices!E3")
def make_notices(book: xw.Book) -> None:
    """お知らせ作成 (xlwings Lite / Server)."""
    run_notices_from_book(book)


@xw.script(button="[xlwings_button]Invoices!H3")
def make_invoices(book: xw.Book) -> None:
    """請求書作成 (xlwings Lite / Server). Lite runs in the browser: the invoice files go to its
    in-browser file system, so the monthly files come from the desktop button or the server
    (``xlquote invoice``); the summary here is the same."""
    run_from_book(book)


def main() -> None:
    """Both buttons of desktop Excel run the template macro SampleCall; a button can only be
    clicked on the sheet that is active, so that sheet says which job: お知らせ作成 on Notices,
    請求書作成 otherwise."""
    book = xw.Book.caller()
    if book.sheets.active.name == NOTICES_SHEET:
        run_notices_from_book(book)
    else:
        run_from_book(book)
