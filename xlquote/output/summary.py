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

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill

from ..calendar import Month
from ..codes import PLAN_LABELS_JA
from ..invoice import FLAG_LABELS_JA, Flag
from ..records import Contract
from ..xlsx import DATE_FORMAT, YEN_FORMAT, save_atomic, set_value, setup_a4, use_japanese_font

SUMMARY_HEADER = ("請求番号", "契約ID", "請求先", "プラン", "小計", "消費税", "合計", "請求日",
                  "支払期日", "要確認", "請求書ファイル", "PDF")
FLAG_HEADER = ("請求番号", "契約ID", "インシデント", "内容", "詳細", "要対応")
MONEY_COLUMNS = {"小計", "消費税", "合計"}
DATE_COLUMNS = {"請求日", "支払期日"}


@dataclass(frozen=True)
class SummaryItem:
    """One invoice's row: what the run knows of it without rebuilding the invoice."""

    number: str
    contract: Contract
    subtotal: int
    tax: int
    total: int
    issue_date: dt.date
    due_date: dt.date
    flags: tuple[Flag, ...]
    xlsx_name: str
    pdf_name: str = ""

    @classmethod
    def of(cls, file: Any, pdf: bool = False) -> SummaryItem:
        """From a job's InvoiceFile (its summary, number, flags and file name)."""
        s = file.summary
        return cls(file.number, s.contract, s.subtotal, s.tax, s.total, s.issue_date,
                   s.due_date, tuple(file.flags), file.xlsx.name,
                   file.xlsx.with_suffix(".pdf").name if pdf else "")

    def flag_codes(self) -> list[str]:
        return sorted({flag.code for flag in self.flags})


def summary_table(items: Sequence[SummaryItem], attention: frozenset[str]
                  ) -> list[list[Any]]:
    """Rows under SUMMARY_HEADER. ``attention``: flag codes marked as needing action."""
    rows = []
    for item in items:
        marks = [FLAG_LABELS_JA.get(code, code) for code in item.flag_codes()
                 if code in attention]
        rows.append([item.number, item.contract.contract_id, item.contract.customer,
                     PLAN_LABELS_JA[item.contract.plan], item.subtotal, item.tax,
                     item.total, item.issue_date, item.due_date, " / ".join(marks),
                     item.xlsx_name, item.pdf_name])
    return rows


def totals_row(items: Sequence[SummaryItem]) -> list[Any]:
    return ["合計", f"{len(items)}件", "", "", sum(i.subtotal for i in items),
            sum(i.tax for i in items), sum(i.total for i in items), "", "", "", "", ""]


def flag_table(items: Sequence[SummaryItem], attention: frozenset[str]) -> list[list[Any]]:
    return [[item.number, item.contract.contract_id, flag.incident_id,
             FLAG_LABELS_JA.get(flag.code, flag.code), flag.message,
             "要対応" if flag.code in attention else ""]
            for item in items for flag in item.flags]


def number_format_for(title: str) -> str | None:
    if title in MONEY_COLUMNS:
        return YEN_FORMAT
    if title in DATE_COLUMNS:
        return DATE_FORMAT
    return None


def _write_table(ws: Any, top: int, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> int:
    for column, title in enumerate(header, start=1):
        cell = ws.cell(top, column)
        set_value(cell, title)
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDE4EE")
    for offset, row in enumerate(rows, start=1):
        for column, value in enumerate(row, start=1):
            set_value(ws.cell(top + offset, column), value, number_format_for(header[column - 1]))
    return top + len(rows)


def write_summary_workbook(month: Month, items: Sequence[SummaryItem],
                           attention: frozenset[str], path: str | Path) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.title = "請求一覧"
    set_value(ws["A1"], f"請求一覧 {month.year}年{month.month}月")
    ws["A1"].font = Font(bold=True, size=14)
    last = _write_table(ws, 3, SUMMARY_HEADER, summary_table(items, attention))
    total = totals_row(items)
    for column, value in enumerate(total, start=1):
        cell = set_value(ws.cell(last + 1, column), value,
                         number_format_for(SUMMARY_HEADER[column - 1]))
        cell.font = Font(bold=True)
    for letter, width in zip("ABCDEFGHIJKL", (16, 9, 30, 14, 12, 11, 13, 11, 11, 28, 34, 34),
                             strict=True):
        ws.column_dimensions[letter].width = width
    ws.freeze_panes = "A4"
    setup_a4(ws, landscape=True)

    flags = wb.create_sheet("要確認")
    _write_table(flags, 1, FLAG_HEADER, flag_table(items, attention))
    for letter, width in zip("ABCDEF", (16, 9, 12, 30, 60, 8), strict=True):
        flags.column_dimensions[letter].width = width
    setup_a4(flags, landscape=True)
    for sheet in wb.worksheets:
        use_japanese_font(sheet)
    return save_atomic(wb, path)
