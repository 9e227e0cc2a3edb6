"""What an invoice workbook says, whichever library writes it: sheet names, labels, the notes,
the statement's columns and values, and how tall a wrapped row must be. The writer
(``invoice_workbook.py``) only puts these on sheets."""

from __future__ import annotations

import unicodedata
from typing import Any

from ..engine.invoice import FLAG_LABELS_JA, Invoice, StatementEntry
from .xlsx import DATE_FORMAT, YEN_FORMAT

INVOICE_SHEET = "請求書"
STATEMENT_SHEET = "明細"
UNITS_SHEET = "ユニット残高"
PRICEBOOK_LABELS_JA = {"aki_sie": "サポートサービス", "vendor_support": "有料サポート"}
LINE_HEIGHT = 15  # points per line of wrapped text


def month_label(invoice: Invoice) -> str:
    return f"{invoice.month.year}年{invoice.month.month}月"


def period_text(invoice: Invoice) -> str:
    return f"{invoice.month.first_day:%Y/%m/%d}〜{invoice.month.last_day:%Y/%m/%d}"


def display_width(text: str) -> int:
    """Width in Excel character units: full-width (East Asian wide) characters count 2."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def row_height(texts: list[tuple[str, float]]) -> float | None:
    """The height a row of wrapped text needs, from each (text, column width); None when one
    line is enough. Neither Excel nor LibreOffice grows a row a program wrote, so it is set."""
    lines = max((-(-display_width(text) // max(int(width) - 1, 1)) for text, width in texts
                 if text), default=1)
    return LINE_HEIGHT * lines if lines > 1 else None


def notes_for(invoice: Invoice) -> list[str]:
    """One note per flagged incident, in Japanese, for the customer and the clerk."""
    notes = []
    for flag in invoice.flags:
        where = f"インシデント {flag.incident_id}: " if flag.incident_id else ""
        notes.append(f"・{where}{FLAG_LABELS_JA.get(flag.code, flag.code)}")
    if any(entry.units for entry in invoice.statement) or invoice.packs:
        notes.append("・ユニットの使用と残高はシート「ユニット残高」をご覧ください")
    return list(dict.fromkeys(notes))


def statement_columns(invoice: Invoice) -> list[tuple[str, float]]:
    columns = [("インシデントID", 13), ("受付日", 11), ("完了日", 11), ("窓口", 13),
               ("対応内容", 20)]
    if invoice.pricebook == "aki_sie":
        columns += [("レベル", 9), ("判定", 16), ("料金", 11)]
    elif invoice.contract.plan == "vendor_support":
        columns += [("ユニット", 9)]
    return [*columns, ("備考", 30), ("内容", 30)]


def statement_values(invoice: Invoice, entry: StatementEntry) -> list[tuple[Any, str | None]]:
    values: list[tuple[Any, str | None]] = [
        (entry.incident_id, None), (entry.opened, DATE_FORMAT), (entry.closed, DATE_FORMAT),
        (entry.channel, None), (entry.measures, None)]
    if invoice.pricebook == "aki_sie":
        level = "フェザー" if entry.level == 0 else f"レベル{entry.level}"
        values += [(level, None), (entry.level_source, None),
                   (entry.fee if entry.billed else "対象外", YEN_FORMAT)]
    elif invoice.contract.plan == "vendor_support":
        values += [(entry.units, "#,##0")]
    remarks = [FLAG_LABELS_JA.get(code, code) for code in entry.flags]
    if entry.note and entry.billed:
        remarks.append(entry.note)
    values += [("; ".join(remarks), None), (entry.description, None)]
    return values


