"""The invoice workbook as first written, with openpyxl: kept in the tests as the reference the
product's XlsxWriter writer (xlquote/output/invoice_workbook.py) must match cell for cell. The
layout (texts, notes, statement columns, row heights) comes from invoice_layout.py, as there.

One qualified invoice (適格請求書, RULES 3) as a workbook: the invoice sheet on A4, the incident
statement, and for price book A the units used and left per pack.

Amounts are the engine's integers written as values (the tax is rounded once per rate by the
engine; a formula here would restate that rule). Every string goes through ``set_value`` /
``set_text``, so a customer named ``=HYPERLINK(...)`` stays text.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, NamedStyle, PatternFill, Side
from openpyxl.worksheet.worksheet import Worksheet

from xlquote.engine.codes import PLAN_LABELS_JA
from xlquote.engine.invoice import Invoice
from xlquote.readers.workbook import Settings
from xlquote.writers.invoice_layout import (
    INVOICE_SHEET,
    PRICEBOOK_LABELS_JA,
    STATEMENT_SHEET,
    UNITS_SHEET,
    month_label,
    notes_for,
    period_text,
    row_height,
    statement_columns,
    statement_values,
)
from xlquote.writers.xlsx import (
    DATE_FORMAT,
    JAPANESE_FONT,
    YEN_FORMAT,
    save_atomic,
    set_value,
    setup_a4,
    use_japanese_font,
)

THIN = Side(style="thin", color="808080")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
UNDERLINE = Border(bottom=Side(style="medium", color="000000"))
HEADER_FILL = PatternFill("solid", fgColor="DDE4EE")
WRAP = Alignment(wrap_text=True, vertical="top")


def _put(ws: Worksheet, ref: str, value: Any, number_format: str | None = None, *,
         bold: bool = False, size: float | None = None, merge_to: str | None = None,
         align: str | None = None, border: Border | None = None) -> None:
    cell = ws[ref]
    set_value(cell, value, number_format)
    if bold or size:
        cell.font = Font(bold=bold, size=size or 10.5)
    if align:
        cell.alignment = Alignment(horizontal=align, vertical="center", wrap_text=True)
    if border:
        cell.border = border
    if merge_to:
        ws.merge_cells(f"{ref}:{merge_to}")


HEADER_STYLE = "xlquote_header"


def _header_row(ws: Worksheet, row: int, titles: list[str]) -> None:
    """Bold, shaded, boxed and centred titles: one named style (assigning font, fill, border
    and alignment to each cell would re-hash every style object each time)."""
    if HEADER_STYLE not in ws.parent.named_styles:
        ws.parent.add_named_style(NamedStyle(
            HEADER_STYLE, font=Font(name=JAPANESE_FONT, bold=True), fill=HEADER_FILL, border=BOX,
            alignment=Alignment(horizontal="center", vertical="center", wrap_text=True)))
    for column, title in enumerate(titles, start=1):
        cell = ws.cell(row, column)
        set_value(cell, title)
        cell.style = HEADER_STYLE


def fit_row_height(ws: Worksheet, row: int, texts: list[tuple[str, float]]) -> None:
    height = row_height(texts)
    if height is not None:
        ws.row_dimensions[row].height = height


def _widths(ws: Worksheet, widths: dict[str, float]) -> None:
    for column, width in widths.items():
        ws.column_dimensions[column].width = width


def write_invoice_sheet(ws: Worksheet, invoice: Invoice, settings: Settings) -> None:
    contract = invoice.contract
    _widths(ws, {"A": 5, "B": 46, "C": 7, "D": 14, "E": 15, "F": 7})
    title = "請求書" if invoice.correction is None else "請求書 (修正インボイス)"
    _put(ws, "A1", title, bold=True, size=20, merge_to="F1", align="center")
    ws.row_dimensions[1].height = 34
    if invoice.correction is not None:
        c = invoice.correction
        _put(ws, "A2", f"請求番号 {c.original_number} (合計 ¥{c.original_total:,}) を訂正します。"
             f" 差額 ¥{invoice.total - c.original_total:+,}", merge_to="F2", align="center")
    _put(ws, "A3", f"{contract.customer} 御中", bold=True, size=14, merge_to="B3",
         border=UNDERLINE)
    _put(ws, "A4", f"契約ID {contract.contract_id} ({PLAN_LABELS_JA[contract.plan]}"
         f"・{PRICEBOOK_LABELS_JA.get(invoice.pricebook, invoice.pricebook)})", merge_to="B4")
    for row, label, value, number_format in (
        (3, "請求番号", invoice.number, None),
        (4, "請求日", invoice.issue_date, DATE_FORMAT),
        (5, "支払期日", invoice.due_date, DATE_FORMAT),
        (6, "請求期間", period_text(invoice), None),
    ):
        _put(ws, f"D{row}", label, bold=True)
        _put(ws, f"E{row}", value, number_format, merge_to=f"F{row}", align="right")

    issuer_rows = [(settings.issuer_name, True), (settings.issuer_address, False),
                   (settings.issuer_contact, False),
                   (f"登録番号 {settings.registration_number}", False)]
    row = 8
    for text, bold in issuer_rows:
        if text:
            # C:F, wider than the label column D: a full address fits on one line
            _put(ws, f"C{row}", text, bold=bold, merge_to=f"F{row}")
            row += 1

    _put(ws, "A7", f"{month_label(invoice)}ご利用分を下記のとおりご請求申し上げます。",
         merge_to="B7")
    _put(ws, "A9", "ご請求金額 (税込)", bold=True, merge_to="B9")
    _put(ws, "A10", invoice.total, YEN_FORMAT, bold=True, size=18, merge_to="B10",
         align="left", border=UNDERLINE)
    ws.row_dimensions[10].height = 30

    row = 14
    _header_row(ws, row, ["No.", "品目", "数量", "単価", "金額", "税率"])
    styles = _box_styles(ws.parent)
    for number, line in enumerate(invoice.lines, start=1):
        row += 1
        values: list[tuple[Any, str | None]] = [
            (number, None), (line.description, None), (line.quantity, "#,##0"),
            (line.unit_price, YEN_FORMAT), (line.amount, YEN_FORMAT), (f"{line.tax_rate}%", None)]
        for column, (value, number_format) in enumerate(values, start=1):
            cell = ws.cell(row, column)
            set_value(cell, value)
            cell.style = styles[number_format]  # boxed, top-aligned; only 品目 is long enough to wrap
        fit_row_height(ws, row, [(line.description, ws.column_dimensions["B"].width)])
    if not invoice.lines:
        row += 1
        _put(ws, f"B{row}", "当月のご請求はありません (ご利用明細をご確認ください)")

    row += 2
    for tax in invoice.taxes:
        _put(ws, f"D{row}", f"{tax.rate_percent}%対象 小計", border=BOX)
        _put(ws, f"E{row}", tax.taxable, YEN_FORMAT, border=BOX)
        _put(ws, f"D{row + 1}", f"消費税 ({tax.rate_percent}%)", border=BOX)
        _put(ws, f"E{row + 1}", tax.tax, YEN_FORMAT, border=BOX)
        row += 2
    if not invoice.taxes:
        _put(ws, f"D{row}", "10%対象 小計", border=BOX)
        _put(ws, f"E{row}", 0, YEN_FORMAT, border=BOX)
        row += 1
    _put(ws, f"D{row}", "合計", bold=True, border=BOX)
    _put(ws, f"E{row}", invoice.total, YEN_FORMAT, bold=True, border=BOX)

    row += 2
    _put(ws, f"A{row}", "お振込先", bold=True, merge_to=f"B{row}")
    _put(ws, f"A{row + 1}", settings.bank_account, merge_to=f"F{row + 1}")
    _put(ws, f"A{row + 2}", f"お支払方法: 銀行振込 ({invoice.due_date:%Y/%m/%d} までにお振込み"
         "ください)", merge_to=f"F{row + 2}")
    row += 4
    notes = notes_for(invoice)
    if notes:
        _put(ws, f"A{row}", "備考", bold=True, merge_to=f"B{row}")
        for note in notes:
            row += 1
            _put(ws, f"A{row}", note, merge_to=f"F{row}")
    setup_a4(ws)
    ws.print_area = f"A1:F{row}"


def _box_styles(wb: Workbook) -> dict[str | None, str]:
    """Named styles for the statement's boxed, wrapped cells, one per number format: a named
    style is looked up once per cell, where setting border/alignment/format re-hashes every
    style object (seconds for a statement of thousands of incidents)."""
    names = {}
    existing = set(wb.named_styles)
    for number_format in (None, DATE_FORMAT, YEN_FORMAT, "#,##0"):
        name = f"xlquote_box_{number_format or 'general'}"
        if name not in existing:
            wb.add_named_style(NamedStyle(name, border=BOX, alignment=WRAP,
                                          number_format=number_format or "General",
                                          font=Font(name=JAPANESE_FONT)))
        names[number_format] = name
    return names


def write_statement_sheet(ws: Worksheet, invoice: Invoice) -> None:
    _put(ws, "A1", f"ご利用明細 {month_label(invoice)} — {invoice.contract.customer} 御中",
         bold=True, size=13)
    _put(ws, "A2", f"請求番号 {invoice.number}  請求期間 {period_text(invoice)}")
    columns = statement_columns(invoice)
    for index, (_, width) in enumerate(columns, start=1):
        ws.column_dimensions[ws.cell(1, index).column_letter].width = width
    _header_row(ws, 4, [title for title, _ in columns])
    styles = _box_styles(ws.parent)
    row = 4
    for entry in invoice.statement:
        row += 1
        values = statement_values(invoice, entry)
        for column, (value, number_format) in enumerate(values, 1):
            cell = ws.cell(row, column)
            set_value(cell, value)
            cell.style = styles[number_format]
        fit_row_height(ws, row, [(value, width) for (value, _), (_, width)
                                 in zip(values, columns, strict=True) if isinstance(value, str)])
    if not invoice.statement:
        _put(ws, "A5", "当月に完了したインシデントはありません")
    ws.print_title_rows = "4:4"
    setup_a4(ws, landscape=True)


def write_units_sheet(ws: Worksheet, invoice: Invoice) -> None:
    _put(ws, "A1", f"ユニット残高 {month_label(invoice)} — {invoice.contract.customer} 御中",
         bold=True, size=13)
    _put(ws, "A2", f"パックごとのユニットの使用と残り ({invoice.month.last_day:%Y/%m/%d} 時点)")
    titles = ["購入日", "有効期限", "ユニット数", "前月までの使用", "当月の使用", "残り", "備考"]
    _widths(ws, dict(zip("ABCDEFG", (12, 12, 10, 14, 11, 9, 22), strict=True)))
    _header_row(ws, 4, titles)
    styles = _box_styles(ws.parent)
    row = 4
    for pack in invoice.packs:
        row += 1
        values: list[tuple[Any, str | None]] = [
            (pack.purchased, DATE_FORMAT), (pack.expires, DATE_FORMAT), (pack.units, "#,##0"),
            (pack.used_before, "#,##0"), (pack.used_this_month, "#,##0"), (pack.left, "#,##0"),
            ("不足のため自動追加" if pack.auto_topup else "", None)]
        for column, (value, number_format) in enumerate(values, start=1):
            cell = ws.cell(row, column)
            set_value(cell, value)
            cell.style = styles[number_format]
    if not invoice.packs:
        _put(ws, "A5", "有効なパックはありません")
    setup_a4(ws)


def invoice_workbook(invoice: Invoice, settings: Settings) -> Workbook:
    wb = Workbook()
    ws = wb.active
    ws.title = INVOICE_SHEET
    write_invoice_sheet(ws, invoice, settings)
    write_statement_sheet(wb.create_sheet(STATEMENT_SHEET), invoice)
    if invoice.contract.plan == "vendor_support":
        write_units_sheet(wb.create_sheet(UNITS_SHEET), invoice)
    for sheet in wb.worksheets:
        use_japanese_font(sheet)
    wb.properties.creator = settings.issuer_name
    wb.properties.title = f"請求書 {invoice.number}"
    wb.properties.created = dt.datetime.combine(invoice.issue_date, dt.time(0))
    return wb


def write_invoice_workbook(invoice: Invoice, settings: Settings, path: str | Path) -> Path:
    return save_atomic(invoice_workbook(invoice, settings), path)
