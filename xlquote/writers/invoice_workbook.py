"""One qualified invoice (適格請求書, RULES 3) as a workbook: the invoice sheet on A4, the incident
statement, and for price book A the units used and left per pack.

Written with XlsxWriter (~3× faster than openpyxl; a month writes ~10,000 of them). What the
sheets say (texts, notes, statement columns, row heights) comes from ``invoice_layout.py``;
this module only puts it on sheets. Amounts are the engine's integers written as values (the
tax is rounded once per rate by the engine; a formula here would restate that rule). Every
string goes through ``write_string``, so a customer named ``=HYPERLINK(...)`` stays text.
tests/reference_invoice_workbook.py is the first, openpyxl version: the tests hold this one to
it cell for cell.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from xlsxwriter import Workbook
from xlsxwriter.format import Format
from xlsxwriter.utility import xl_cell_to_rowcol
from xlsxwriter.worksheet import Worksheet

from ..engine.codes import PLAN_LABELS_JA
from ..engine.invoice import Invoice
from ..engine.settings import Settings
from .fast_xlsx import (
    close_xlsxwriter,
    collector_paused,
    setup_a4_xlsxwriter,
    write_xlsxwriter_cell,
    write_xlsxwriter_row,
    xlsxwriter_workbook,
)
from .invoice_layout import (
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
from .xlsx import DATE_FORMAT, YEN_FORMAT, atomic_path

# The invoice's styles in XlsxWriter's terms (grey thin box, medium black underline,
# the shaded header, the statement's boxed top-aligned wrapped cells).
BOX = {"border": 1, "border_color": "#808080"}
UNDERLINE = {"bottom": 2, "bottom_color": "#000000"}
HEADER = {**BOX, "bold": True, "bg_color": "#DDE4EE", "align": "center", "valign": "vcenter",
          "text_wrap": True}
WRAP = {**BOX, "text_wrap": True, "valign": "top"}
LABEL_FONT_SIZE = 10.5  # the size of a label set in bold without a size
POINTS_PER_PIXEL = 0.75  # XlsxWriter keeps row heights in pixels (96 dpi)
PIXELS_PER_CHARACTER = 7  # XlsxWriter's max digit width (Calibri 11) in pixels


class Styles:
    """XlsxWriter formats made once per workbook and per distinct style."""

    def __init__(self, wb: Workbook) -> None:
        self._wb = wb
        self._formats: dict[tuple[tuple[str, Any], ...], Format] = {}
        self._boxes: dict[str | None, Format] = {}  # by number format: asked for per cell

    def get(self, **properties: Any) -> Format:
        key = tuple(sorted(properties.items()))
        found = self._formats.get(key)
        if found is None:
            found = self._formats[key] = self._wb.add_format(properties)
        return found

    def box(self, number_format: str | None) -> Format:
        """A boxed, top-aligned, wrapped cell with ``number_format``."""
        found = self._boxes.get(number_format)
        if found is None:
            found = self._boxes[number_format] = self.get(
                **WRAP, **({"num_format": number_format} if number_format else {}))
        return found


def _put(ws: Worksheet, styles: Styles, ref: str, value: Any, number_format: str | None = None,
         *, bold: bool = False, size: float | None = None, merge_to: str | None = None,
         align: str | None = None, border: dict[str, Any] | None = None) -> None:
    """One labelled cell: value, format, font, alignment, border, and a merge to ``merge_to``."""
    style: dict[str, Any] = {}
    if number_format and not isinstance(value, str):  # set_value formats only non-text
        style["num_format"] = number_format
    if bold or size:
        style.update(bold=bold, font_size=size or LABEL_FONT_SIZE)
    if align:
        style.update(align=align, valign="vcenter", text_wrap=True)
    if border:
        style.update(border)
    cell_format = styles.get(**style) if style else None
    row, col = xl_cell_to_rowcol(ref)
    if merge_to:
        last_row, last_col = xl_cell_to_rowcol(merge_to)
        ws.merge_range(row, col, last_row, last_col, None, cell_format)  # blank, formatted
    write_xlsxwriter_cell(ws, row, col, value, cell_format)


def _set_widths(ws: Worksheet, widths: list[float]) -> None:
    """Column widths stored exactly as openpyxl stores them (``set_column`` would add 0.71 of
    padding, making every column a little wider than the widths chosen here)."""
    for col, width in enumerate(widths):
        ws.set_column_pixels(col, col, round(width * PIXELS_PER_CHARACTER))


def _fit_row_height(ws: Worksheet, row: int, texts: list[tuple[str, float]]) -> None:
    """Give a row of wrapped text the lines it needs (0-based ``row``)."""
    height = row_height(texts)
    if height is not None:
        _set_height(ws, row, height)


def _set_height(ws: Worksheet, row: int, points: float) -> None:
    """A row height in points, stored as given: ``set_row`` rounds it to whole pixels (34 pt
    would become 33.75)."""
    ws.set_row_pixels(row, points / POINTS_PER_PIXEL)


def _setup_a4(ws: Worksheet, landscape: bool = False) -> None:
    """``xlsx.setup_a4`` including the margins openpyxl leaves at its defaults (top/bottom 1",
    header/footer 0.5"), which differ from XlsxWriter's."""
    setup_a4_xlsxwriter(ws, landscape)
    ws.set_margins(left=0.5, right=0.5, top=1, bottom=1)
    ws.margin_header = ws.margin_footer = 0.5


def _header_row(ws: Worksheet, styles: Styles, row: int, titles: list[str]) -> None:
    write_xlsxwriter_row(ws, row, titles, [styles.get(**HEADER)] * len(titles))


def write_invoice_sheet(ws: Worksheet, styles: Styles, invoice: Invoice,
                        settings: Settings) -> None:
    contract = invoice.contract
    widths = [5, 46, 7, 14, 15, 7]
    _set_widths(ws, widths)
    title = "請求書" if invoice.correction is None else "請求書 (修正インボイス)"
    _put(ws, styles, "A1", title, bold=True, size=20, merge_to="F1", align="center")
    _set_height(ws, 0, 34)
    if invoice.correction is not None:
        c = invoice.correction
        _put(ws, styles, "A2", f"請求番号 {c.original_number} (合計 ¥{c.original_total:,}) を訂正"
             f"します。 差額 ¥{invoice.total - c.original_total:+,}", merge_to="F2", align="center")
    _put(ws, styles, "A3", f"{contract.customer} 御中", bold=True, size=14, merge_to="B3",
         border=UNDERLINE)
    _put(ws, styles, "A4", f"契約ID {contract.contract_id} ({PLAN_LABELS_JA[contract.plan]}"
         f"・{PRICEBOOK_LABELS_JA.get(invoice.pricebook, invoice.pricebook)})", merge_to="B4")
    for row, label, value, number_format in (
        (3, "請求番号", invoice.number, None),
        (4, "請求日", invoice.issue_date, DATE_FORMAT),
        (5, "支払期日", invoice.due_date, DATE_FORMAT),
        (6, "請求期間", period_text(invoice), None),
    ):
        _put(ws, styles, f"D{row}", label, bold=True)
        _put(ws, styles, f"E{row}", value, number_format, merge_to=f"F{row}", align="right")

    issuer_rows = [(settings.issuer_name, True), (settings.issuer_address, False),
                   (settings.issuer_contact, False),
                   (f"登録番号 {settings.registration_number}", False)]
    row = 8
    for text, bold in issuer_rows:
        if text:
            _put(ws, styles, f"C{row}", text, bold=bold, merge_to=f"F{row}")
            row += 1

    _put(ws, styles, "A7", f"{month_label(invoice)}ご利用分を下記のとおりご請求申し上げます。",
         merge_to="B7")
    _put(ws, styles, "A9", "ご請求金額 (税込)", bold=True, merge_to="B9")
    _put(ws, styles, "A10", invoice.total, YEN_FORMAT, bold=True, size=18, merge_to="B10",
         align="left", border=UNDERLINE)
    _set_height(ws, 9, 30)

    row = 14  # 1-based: the fee table's header row
    _header_row(ws, styles, row - 1, ["No.", "品目", "数量", "単価", "金額", "税率"])
    for number, line in enumerate(invoice.lines, start=1):
        row += 1
        values: list[tuple[Any, str | None]] = [
            (number, None), (line.description, None), (line.quantity, "#,##0"),
            (line.unit_price, YEN_FORMAT), (line.amount, YEN_FORMAT), (f"{line.tax_rate}%", None)]
        for col, (value, number_format) in enumerate(values):
            write_xlsxwriter_cell(ws, row - 1, col, value, styles.box(number_format))
        _fit_row_height(ws, row - 1, [(line.description, widths[1])])
    if not invoice.lines:
        row += 1
        _put(ws, styles, f"B{row}", "当月のご請求はありません (ご利用明細をご確認ください)")

    row += 2
    for tax in invoice.taxes:
        _put(ws, styles, f"D{row}", f"{tax.rate_percent}%対象 小計", border=BOX)
        _put(ws, styles, f"E{row}", tax.taxable, YEN_FORMAT, border=BOX)
        _put(ws, styles, f"D{row + 1}", f"消費税 ({tax.rate_percent}%)", border=BOX)
        _put(ws, styles, f"E{row + 1}", tax.tax, YEN_FORMAT, border=BOX)
        row += 2
    if not invoice.taxes:
        _put(ws, styles, f"D{row}", "10%対象 小計", border=BOX)
        _put(ws, styles, f"E{row}", 0, YEN_FORMAT, border=BOX)
        row += 1
    _put(ws, styles, f"D{row}", "合計", bold=True, border=BOX)
    _put(ws, styles, f"E{row}", invoice.total, YEN_FORMAT, bold=True, border=BOX)

    row += 2
    _put(ws, styles, f"A{row}", "お振込先", bold=True, merge_to=f"B{row}")
    _put(ws, styles, f"A{row + 1}", settings.bank_account, merge_to=f"F{row + 1}")
    _put(ws, styles, f"A{row + 2}", f"お支払方法: 銀行振込 ({invoice.due_date:%Y/%m/%d} までにお振"
         "込みください)", merge_to=f"F{row + 2}")
    row += 4
    notes = notes_for(invoice)
    if notes:
        _put(ws, styles, f"A{row}", "備考", bold=True, merge_to=f"B{row}")
        for note in notes:
            row += 1
            _put(ws, styles, f"A{row}", note, merge_to=f"F{row}")
    _setup_a4(ws)
    ws.print_area(0, 0, row - 1, 5)


def write_statement_sheet(ws: Worksheet, styles: Styles, invoice: Invoice) -> None:
    _put(ws, styles, "A1", f"ご利用明細 {month_label(invoice)} — {invoice.contract.customer} 御中",
         bold=True, size=13)
    _put(ws, styles, "A2", f"請求番号 {invoice.number}  請求期間 {period_text(invoice)}")
    columns = statement_columns(invoice)
    _set_widths(ws, [width for _, width in columns])
    _header_row(ws, styles, 3, [title for title, _ in columns])
    row = 4  # 0-based: the first row under the header
    for entry in invoice.statement:
        values = statement_values(invoice, entry)
        for col, (value, number_format) in enumerate(values):
            write_xlsxwriter_cell(ws, row, col, value, styles.box(number_format))
        _fit_row_height(ws, row, [(value, width) for (value, _), (_, width)
                                  in zip(values, columns, strict=True) if isinstance(value, str)])
        row += 1
    if not invoice.statement:
        _put(ws, styles, "A5", "当月に完了したインシデントはありません")
    ws.repeat_rows(3)
    _setup_a4(ws, landscape=True)


def write_units_sheet(ws: Worksheet, styles: Styles, invoice: Invoice) -> None:
    _put(ws, styles, "A1", f"ユニット残高 {month_label(invoice)} — {invoice.contract.customer} 御中",
         bold=True, size=13)
    _put(ws, styles, "A2",
         f"パックごとのユニットの使用と残り ({invoice.month.last_day:%Y/%m/%d} 時点)")
    titles = ["購入日", "有効期限", "ユニット数", "前月までの使用", "当月の使用", "残り", "備考"]
    _set_widths(ws, [12, 12, 10, 14, 11, 9, 22])
    _header_row(ws, styles, 3, titles)
    for row, pack in enumerate(invoice.packs, start=4):
        values: list[tuple[Any, str | None]] = [
            (pack.purchased, DATE_FORMAT), (pack.expires, DATE_FORMAT), (pack.units, "#,##0"),
            (pack.used_before, "#,##0"), (pack.used_this_month, "#,##0"), (pack.left, "#,##0"),
            ("不足のため自動追加" if pack.auto_topup else "", None)]
        for col, (value, number_format) in enumerate(values):
            write_xlsxwriter_cell(ws, row, col, value, styles.box(number_format))
    if not invoice.packs:
        _put(ws, styles, "A5", "有効なパックはありません")
    _setup_a4(ws)


def write_invoice_workbook(invoice: Invoice, settings: Settings, path: str | Path) -> Path:
    """The invoice workbook, atomically (temp file renamed into place) and reproducibly (same
    content, same bytes: created/modified are REPRODUCIBLE_STAMP, as for every workbook we
    write)."""
    with atomic_path(path) as temp, collector_paused():
        wb = xlsxwriter_workbook(temp, author=settings.issuer_name,
                                 title=f"請求書 {invoice.number}")
        styles = Styles(wb)
        write_invoice_sheet(wb.add_worksheet(INVOICE_SHEET), styles, invoice, settings)
        write_statement_sheet(wb.add_worksheet(STATEMENT_SHEET), styles, invoice)
        if invoice.contract.plan == "vendor_support":
            write_units_sheet(wb.add_worksheet(UNITS_SHEET), styles, invoice)
        close_xlsxwriter(wb)
    return Path(path)
