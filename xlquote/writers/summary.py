"""The month's summary (請求一覧): one row per invoice, totals, and the flags to look at.

``summary_table`` is the single definition of the rows: the summary workbook and the invoicing
workbook's ``Invoices`` sheet (written by the button) show the same table.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xlsxwriter import Workbook
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from ..engine.codes import PLAN_LABELS_JA
from ..engine.dates import Month
from ..engine.invoice import FLAG_LABELS_JA, Flag
from ..engine.service import ResponseRow
from .fast_xlsx import (
    close_xlsxwriter,
    collector_paused,
    setup_a4_xlsxwriter,
    write_xlsxwriter_row,
    xlsxwriter_workbook,
)
from .sheets import DATE_FORMAT, YEN_FORMAT
from .xlsx import atomic_path

SUMMARY_HEADER = ("請求番号", "契約ID", "請求先", "プラン", "小計", "消費税", "合計", "請求日",
                  "支払期日", "要確認", "請求書ファイル", "PDF", "状態")
FLAG_HEADER = ("請求番号", "契約ID", "インシデント", "内容", "詳細", "要対応")
RESPONSE_SHEET = "対応状況"
RESPONSE_HEADER = ("契約ID", "請求先", "プラン", "受付", "応答目標あり", "期限内", "期限超過",
                   "応答日未記録", "未応答で期限超過")
RESPONSE_WIDTHS = (9, 30, 14, 8, 12, 8, 9, 12, 15)
MONEY_COLUMNS = {"小計", "消費税", "合計"}
DATE_COLUMNS = {"請求日", "支払期日"}


@dataclass(frozen=True)
class DocumentFigures:
    """What a document bills, as every listing of documents shows it (the summary, the run's
    report, the register's drafts)."""

    contract_id: str
    customer: str
    plan: str
    subtotal: int
    tax: int
    total: int
    issue_date: dt.date
    due_date: dt.date | None
    flags: tuple[Flag, ...]

    def flag_codes(self) -> list[str]:
        return sorted({flag.code for flag in self.flags})


@dataclass(frozen=True)
class SummaryItem(DocumentFigures):
    """One document's row: what the run knows of it without drawing it again. ``number`` is
    the 請求番号, or what an unnumbered document is (下書き, 明細); ``status`` its state in the
    register (発行済み, 修正済み → …, 取消, …)."""

    number: str
    xlsx_name: str
    pdf_name: str = ""
    status: str = ""
    counted: bool = True  # in the totals: an invoice in force (not a draft, void or corrected)


def summary_table(items: Sequence[SummaryItem], attention: frozenset[str]
                  ) -> list[list[Any]]:
    """Rows under SUMMARY_HEADER. ``attention``: flag codes marked as needing action."""
    rows = []
    for item in items:
        marks = [FLAG_LABELS_JA.get(code, code) for code in item.flag_codes()
                 if code in attention]
        rows.append([item.number, item.contract_id, item.customer,
                     PLAN_LABELS_JA.get(item.plan, item.plan), item.subtotal, item.tax,
                     item.total, item.issue_date, item.due_date, " / ".join(marks),
                     item.xlsx_name, item.pdf_name, item.status])
    return rows


def totals_row(items: Sequence[SummaryItem]) -> list[Any]:
    """The totals of the invoices in force."""
    counted = [i for i in items if i.counted]
    return ["合計", f"{len(counted)}件", "", "", sum(i.subtotal for i in counted),
            sum(i.tax for i in counted), sum(i.total for i in counted), "", "", "", "", "", ""]


def flag_table(items: Sequence[SummaryItem], attention: frozenset[str]) -> list[list[Any]]:
    return [[item.number, item.contract_id, flag.incident_id,
             FLAG_LABELS_JA.get(flag.code, flag.code), flag.message,
             "要対応" if flag.code in attention else ""]
            for item in items for flag in item.flags]


def number_format_for(title: str) -> str | None:
    if title in MONEY_COLUMNS:
        return YEN_FORMAT
    if title in DATE_COLUMNS:
        return DATE_FORMAT
    return None


SUMMARY_WIDTHS = (16, 9, 30, 14, 12, 11, 13, 11, 11, 28, 34, 34, 26)
FLAG_WIDTHS = (16, 9, 12, 30, 60, 8)
HEADER_STYLE = {"bold": True, "bg_color": "#DDE4EE"}
TITLE_STYLE = {"bold": True, "font_size": 14}
TABLE_TOP = 2  # 0-based row of 請求一覧's header: the title, a blank row, then the table


def _formats(wb: Workbook, header: Sequence[str], extra: dict[str, Any] | None = None
             ) -> list[Format | None]:
    """One XlsxWriter format per column (None where the default will do); ``extra`` adds to
    every column's style (bold for the totals row). The fonts come from the workbook's default."""
    formats: list[Format | None] = []
    for title in header:
        style = dict(extra or {})
        number_format = number_format_for(title)
        if number_format:
            style["num_format"] = number_format
        formats.append(wb.add_format(style) if style else None)
    return formats


def _write_table(wb: Workbook, ws: Worksheet, top: int, header: Sequence[str], widths: Sequence[int],
                 rows: Sequence[Sequence[Any]]) -> int:
    """Header at row ``top``, then ``rows``; returns the next free row."""
    for col, width in enumerate(widths):
        ws.set_column(col, col, width)
    write_xlsxwriter_row(ws, top, header, [wb.add_format(HEADER_STYLE)] * len(header))
    formats = _formats(wb, header)
    for row, values in enumerate(rows, start=top + 1):
        write_xlsxwriter_row(ws, row, values, formats)
    return top + 1 + len(rows)


def response_table(rows: Sequence[ResponseRow]) -> list[list[Any]]:
    """Rows under RESPONSE_HEADER: per contract, first replies to the month's incidents."""
    return [[r.contract.contract_id, r.contract.customer, PLAN_LABELS_JA[r.contract.plan],
             r.received, r.with_target, r.met, r.missed, r.not_recorded, r.overdue]
            for r in rows]


def write_summary_workbook(month: Month, items: Sequence[SummaryItem],
                           attention: frozenset[str], path: str | Path,
                           responses: Sequence[ResponseRow] | None = None) -> Path:
    """The summary, written by XlsxWriter: a month has as many rows as contracts, and its typed
    writers are about twice as fast as openpyxl's write-only mode. Atomic (a temp file renamed
    into place) and reproducible (same content, same bytes)."""
    with atomic_path(path) as temp, collector_paused(), xlsxwriter_workbook(temp) as wb:
        ws = wb.add_worksheet("請求一覧")
        ws.write_string(0, 0, f"請求一覧 {month.year}年{month.month}月", wb.add_format(TITLE_STYLE))
        end = _write_table(wb, ws, TABLE_TOP, SUMMARY_HEADER, SUMMARY_WIDTHS,
                           summary_table(items, attention))
        write_xlsxwriter_row(ws, end, totals_row(items),
                             _formats(wb, SUMMARY_HEADER, {"bold": True}))
        ws.freeze_panes(TABLE_TOP + 1, 0)
        setup_a4_xlsxwriter(ws, landscape=True)

        flags = wb.add_worksheet("要確認")
        _write_table(wb, flags, 0, FLAG_HEADER, FLAG_WIDTHS, flag_table(items, attention))
        setup_a4_xlsxwriter(flags, landscape=True)
        if responses is not None:  # first replies against the response targets (RULES 2.8)
            sheet = wb.add_worksheet(RESPONSE_SHEET)
            _write_table(wb, sheet, 0, RESPONSE_HEADER, RESPONSE_WIDTHS, response_table(responses))
            setup_a4_xlsxwriter(sheet, landscape=True)
        close_xlsxwriter(wb)
    return Path(path)
