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

from ..calendar import Month
from ..codes import PLAN_LABELS_JA
from ..fast_xlsx import collector_paused
from ..invoice import FLAG_LABELS_JA, Flag
from ..records import Contract
from ..table_xlsx import CellStyle, TableSheet, TableWorkbook
from ..xlsx import DATE_FORMAT, YEN_FORMAT, atomic_path

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


SUMMARY_WIDTHS = (16, 9, 30, 14, 12, 11, 13, 11, 11, 28, 34, 34)
FLAG_WIDTHS = (16, 9, 12, 30, 60, 8)
HEADER_STYLE = CellStyle(bold=True, fill="DDE4EE")
TITLE_STYLE = CellStyle(bold=True, size=14)
TABLE_TOP = 2  # 0-based row of 請求一覧's header: the title, a blank row, then the table


def _styles(header: Sequence[str], bold: bool = False) -> list[CellStyle | None]:
    """One style per column (None where the plain style will do)."""
    styles: list[CellStyle | None] = []
    for title in header:
        number_format = number_format_for(title)
        styles.append(CellStyle(bold=bold, number_format=number_format)
                      if bold or number_format else None)
    return styles


def _write_table(sheet: TableSheet, top: int, header: Sequence[str],
                 rows: Sequence[Sequence[Any]]) -> int:
    """Header at row ``top``, then ``rows``; returns the next free row."""
    sheet.write_row(top, header, [HEADER_STYLE] * len(header))
    sheet.write_rows(top + 1, rows, _styles(header))
    return top + 1 + len(rows)


def write_summary_workbook(month: Month, items: Sequence[SummaryItem],
                           attention: frozenset[str], path: str | Path) -> Path:
    """The summary: a month has as many rows as contracts, so it is written straight as
    SpreadsheetML (``table_xlsx``, ~5× XlsxWriter's speed). Atomic (a temp file renamed into
    place) and reproducible (same content, same bytes)."""
    with atomic_path(path) as temp, collector_paused():
        wb = TableWorkbook()
        ws = wb.add_sheet("請求一覧", SUMMARY_WIDTHS, frozen_rows=TABLE_TOP + 1, landscape=True)
        ws.write_row(0, [f"請求一覧 {month.year}年{month.month}月"], [TITLE_STYLE])
        end = _write_table(ws, TABLE_TOP, SUMMARY_HEADER, summary_table(items, attention))
        ws.write_row(end, totals_row(items), _styles(SUMMARY_HEADER, bold=True))
        flags = wb.add_sheet("要確認", FLAG_WIDTHS, landscape=True)
        _write_table(flags, 0, FLAG_HEADER, flag_table(items, attention))
        wb.save(temp)
    return Path(path)
