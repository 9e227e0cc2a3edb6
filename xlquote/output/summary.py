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
from ..xlsx import (
    DATE_FORMAT,
    JAPANESE_FONT,
    YEN_FORMAT,
    save_atomic,
    setup_a4,
    styled_cell,
    use_japanese_default_font,
    write_only_row,
)

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


HEADER_FONT = Font(name=JAPANESE_FONT, bold=True)
HEADER_FILL = PatternFill("solid", fgColor="DDE4EE")


def _append_table(ws: Any, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    ws.append([styled_cell(ws, title, font=HEADER_FONT, fill=HEADER_FILL) for title in header])
    formats = [number_format_for(title) for title in header]
    for row in rows:
        ws.append(write_only_row(ws, row, formats))


def write_summary_workbook(month: Month, items: Sequence[SummaryItem],
                           attention: frozenset[str], path: str | Path) -> Path:
    """The summary as a write-only (streamed) workbook: a month has as many rows as contracts,
    and streaming writes them several times faster than building cells in memory."""
    wb = Workbook(write_only=True)
    use_japanese_default_font(wb)
    ws = wb.create_sheet("請求一覧")
    for letter, width in zip("ABCDEFGHIJKL", (16, 9, 30, 14, 12, 11, 13, 11, 11, 28, 34, 34),
                             strict=True):
        ws.column_dimensions[letter].width = width
    ws.freeze_panes = "A4"
    setup_a4(ws, landscape=True)
    ws.append([styled_cell(ws, f"請求一覧 {month.year}年{month.month}月",
                           font=Font(name=JAPANESE_FONT, bold=True, size=14))])
    ws.append([])
    _append_table(ws, SUMMARY_HEADER, summary_table(items, attention))
    formats = [number_format_for(title) for title in SUMMARY_HEADER]
    ws.append([styled_cell(ws, value, number_format, font=HEADER_FONT)
               for value, number_format in zip(totals_row(items), formats, strict=True)])

    flags = wb.create_sheet("要確認")
    for letter, width in zip("ABCDEF", (16, 9, 12, 30, 60, 8), strict=True):
        flags.column_dimensions[letter].width = width
    setup_a4(flags, landscape=True)
    _append_table(flags, FLAG_HEADER, flag_table(items, attention))
    return save_atomic(wb, path)
