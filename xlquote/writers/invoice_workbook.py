"""An invoice document as a workbook: the first sheet on A4 (請求書, or ご利用明細書 for a
statement), the incident statement, and for paid support the units used and left per pack; and
the one-sheet notice that cancels an issued invoice. Written as SpreadsheetML directly
(``spreadsheetml.py``), by the rules of ``sheets.py``.

What the sheets say comes from ``invoice_layout.py`` (one document model, also drawn as PDF by
``invoice_pdf.py``); this module only puts it on sheets. Amounts are the engine's integers
written as values (the tax is rounded once per rate by the engine; a formula here would restate
that rule). Every text is a shared string, so a customer named ``=HYPERLINK(...)`` stays text.
A draft is marked on every sheet: its title, a red banner, a red tab and a printed header
「下書き（未発行）」.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..engine.invoice import Cancellation, Invoice
from ..engine.settings import Settings
from .invoice_layout import (
    CANCELLATION_SHEET,
    COUNT,
    DATE,
    STATEMENT_SHEET,
    UNITS_SHEET,
    YEN,
    CancellationDocument,
    Field,
    FirstPage,
    InvoiceDocument,
    Table,
    cancellation_document,
    invoice_document,
    row_heights,
)
from .sheets import DATE_FORMAT, MAX_ROW_HEIGHT, YEN_FORMAT, a4
from .spreadsheetml import Border, Sheet, Style, Workbook
from .xlsx import write_atomically

NUMBER_FORMATS = {YEN: YEN_FORMAT, DATE: DATE_FORMAT, COUNT: "#,##0"}  # other kinds: General
DRAFT_COLOR = "C00000"
DRAFT_HEADER = '&C&"-,Bold"&16&KC00000下書き（未発行）'
INVOICE_WIDTHS = [5, 46, 7, 14, 15, 7]  # the first page's columns A–F

# The invoice's styles: grey thin box, medium black underline, the shaded header, the
# statement's boxed top-aligned wrapped cells.
BOX = Border("thin", "808080")
UNDERLINE = Border("medium", "000000", ("bottom",))
HEADER = Style(bold=True, fill="DDE4EE", border=BOX, horizontal="center", vertical="center",
               wrap=True)
LABEL_FONT_SIZE = 10.5  # the size of a label set in bold without a size


def _box(number_format: str | None) -> Style:
    """A boxed, top-aligned, wrapped cell with ``number_format``."""
    return Style(number_format=number_format, border=BOX, vertical="top", wrap=True)


@functools.cache
def _row_col(ref: str) -> tuple[int, int]:
    """"C8" → (7, 2): the first page's few dozen fixed cell names, 0-based."""
    letters, digits = re.fullmatch(r"([A-Z])(\d+)", ref).groups()  # type: ignore[union-attr]
    return int(digits) - 1, ord(letters) - 65


def _put(ws: Sheet, ref: str, value: Any, number_format: str | None = None, *,
         bold: bool = False, size: float | None = None, merge_to: str | None = None,
         align: str | None = None, border: Border | None = None, color: str | None = None
         ) -> None:
    """One labelled cell: value, format, font, alignment, border, and a merge to ``merge_to``."""
    style = Style(
        number_format=number_format if number_format and not isinstance(value, str) else None,
        bold=bold, size=(size or LABEL_FONT_SIZE) if bold or size else 11, color=color,
        border=border, horizontal=align, vertical="center" if align else None,
        wrap=bool(align))
    index = ws.style(style)
    row, col = _row_col(ref)
    if merge_to:
        last_row, last_col = _row_col(merge_to)
        ws.merge(row, col, last_row, last_col, index)
    ws.put(row, col, value, index)


def _fit_row_heights(ws: Sheet, first_row: int, rows: Sequence[Sequence[Any]],
                     widths: Sequence[float]) -> None:
    """Give rows of wrapped text (from 0-based ``first_row``, in columns ``widths`` wide) the
    lines they need, as far as a row can grow."""
    for index, height in row_heights(rows, widths):
        ws.set_height(first_row + index, min(height, MAX_ROW_HEIGHT))


def _header_row(ws: Sheet, row: int, titles: list[str]) -> None:
    ws.put_rows(row, [titles], [ws.style(HEADER)] * len(titles))


def _number_format(field: Field) -> str | None:
    return NUMBER_FORMATS.get(field.kind)


def _mark_draft(ws: Sheet) -> None:
    """Every sheet of a draft says so: a red tab and a printed header."""
    ws.tab_color = DRAFT_COLOR
    ws.header = DRAFT_HEADER


def _put_lines(ws: Sheet, first_row: int, texts: tuple[str, ...], *,
               color: str | None = None) -> None:
    """Centred lines under the title (a draft's warning, a correction's reference), one
    merged, wrapped cell per line (1-based ``first_row``)."""
    for offset, text in enumerate(texts):
        row = first_row + offset
        if color:
            _put(ws, f"A{row}", text, bold=True, size=11, color=color, merge_to=f"F{row}",
                 align="center")
        else:
            _put(ws, f"A{row}", text, merge_to=f"F{row}", align="center")
        _fit_row_heights(ws, row - 1, [[text]], [sum(INVOICE_WIDTHS)])


def _put_header_block(ws: Sheet, title: str, addressee: str, contract: str,
                      meta: tuple[Field, ...]) -> None:
    """Title (row 1), addressee and contract (rows 3–4, left), meta fields (from row 3,
    right): the same on the invoice and the cancellation notice."""
    ws.set_widths(INVOICE_WIDTHS)
    _put(ws, "A1", title, bold=True, size=20, merge_to="F1", align="center")
    ws.set_height(0, 34)
    _put(ws, "A3", addressee, bold=True, size=14, merge_to="B3", border=UNDERLINE)
    _put(ws, "A4", contract, merge_to="B4")
    for row, field in enumerate(meta, start=3):
        _put(ws, f"D{row}", field.label, bold=True)
        _put(ws, f"E{row}", field.value, _number_format(field), merge_to=f"F{row}",
             align="right")


def _put_issuer(ws: Sheet, issuer: tuple[tuple[str, bool], ...], row: int = 8) -> int:
    for text, bold in issuer:
        _put(ws, f"C{row}", text, bold=bold, merge_to=f"F{row}")
        row += 1
    return row


def write_first_sheet(ws: Sheet, page: FirstPage, draft: bool) -> None:
    """請求書 (or ご利用明細書): header, issuer, amount due, the lines with tax per rate and the
    total, bank, notes."""
    _put_header_block(ws, page.title, page.addressee, page.contract_line, page.meta)
    if page.banner:
        _put_lines(ws, 2, page.banner, color=DRAFT_COLOR if draft else None)
    _put_issuer(ws, page.issuer)
    _put(ws, "A7", page.intro, merge_to="B7")
    if page.amount_due is not None:
        _put(ws, "A9", page.amount_due.label, bold=True, merge_to="B9")
        _put(ws, "A10", page.amount_due.value, YEN_FORMAT, bold=True, size=18,
             merge_to="B10", align="left", border=UNDERLINE)
        ws.set_height(9, 30)

    row = 14  # 1-based: the fee table's header row
    if page.lines is not None:
        table = page.lines
        _header_row(ws, row - 1, [column.title for column in table.columns])
        _put_table_rows(ws, row, table)
        row += len(table.rows)
        if not table.rows:
            row += 1
            _put(ws, f"B{row}", table.empty_text)
        row += 2
    else:
        row = 12
    for field in page.taxes:
        _put(ws, f"D{row}", field.label, border=BOX)
        _put(ws, f"E{row}", field.value, YEN_FORMAT, border=BOX)
        row += 1
    if page.total is not None:
        _put(ws, f"D{row}", page.total.label, bold=True, border=BOX)
        _put(ws, f"E{row}", page.total.value, YEN_FORMAT, bold=True, border=BOX)
        row += 2
    if page.bank:
        heading, *details = page.bank
        _put(ws, f"A{row}", heading, bold=True, merge_to=f"B{row}")
        for offset, text in enumerate(details, start=1):
            _put(ws, f"A{row + offset}", text, merge_to=f"F{row + offset}")
        row += len(page.bank) + 1
    if page.notes:
        _put(ws, f"A{row}", "備考", bold=True, merge_to=f"B{row}")
        for note in page.notes:
            row += 1
            _put(ws, f"A{row}", note, merge_to=f"F{row}")
    ws.page_setup(a4())
    ws.set_print_area(0, 0, row - 1, 5)


def _put_table_rows(ws: Sheet, first_row: int, table: Table) -> None:
    """The table's rows from ``first_row`` (0-based), boxed and wrapped, each as tall as its
    longest text needs."""
    styles = [ws.style(_box(NUMBER_FORMATS.get(column.kind))) for column in table.columns]
    ws.put_rows(first_row, table.rows, styles)
    _fit_row_heights(ws, first_row, table.rows, [column.width for column in table.columns])


def write_table_sheet(ws: Sheet, table: Table, landscape: bool) -> None:
    """A titled table (明細, ユニット残高) whose header repeats on every printed page."""
    _put(ws, "A1", table.title, bold=True, size=13)
    _put(ws, "A2", table.subtitle)
    ws.set_widths([column.width for column in table.columns])
    _header_row(ws, 3, [column.title for column in table.columns])
    _put_table_rows(ws, 4, table)  # 0-based: the rows under the header
    if not table.rows:
        _put(ws, "A5", table.empty_text)
    ws.repeat_rows(3)
    ws.page_setup(a4(landscape))


def write_cancellation_sheet(ws: Sheet, doc: CancellationDocument) -> None:
    _put_header_block(ws, doc.heading, doc.addressee, doc.contract_line, doc.meta)
    row = _put_issuer(ws, doc.issuer) + 1
    _put(ws, "A6", doc.intro, merge_to="F6")
    for field in doc.cancelled:
        _put(ws, f"A{row}", field.label, bold=True, merge_to=f"B{row}", border=BOX)
        _put(ws, f"C{row}", field.value, _number_format(field), merge_to=f"F{row}",
             align="left", border=BOX)
        if field.kind == "text":
            _fit_row_heights(ws, row - 1, [[str(field.value)]], [sum(INVOICE_WIDTHS[2:])])
        row += 1
    row += 1
    for text in doc.closing:
        _put(ws, f"A{row}", text, merge_to=f"F{row}")
        row += 1
    ws.page_setup(a4())
    ws.set_print_area(0, 0, row - 1, 5)


def invoice_workbook_bytes(invoice: Invoice, settings: Settings) -> bytes:
    """The invoice workbook's file for any kind of invoice document (``Invoice.kind``),
    reproducibly (same content, same bytes: created and modified are REPRODUCIBLE_STAMP, as
    for every workbook we write). Raises OutputError for a document that cannot be drawn
    truthfully (``invoice_document``)."""
    return invoice_document_workbook_bytes(invoice_document(invoice, settings))


def invoice_document_workbook_bytes(doc: InvoiceDocument) -> bytes:
    """The workbook's file of an invoice document as laid out (``invoice_document``)."""
    return invoice_workbook(doc).to_bytes()


def write_invoice_workbook(invoice: Invoice, settings: Settings, path: str | Path) -> Path:
    """``invoice_workbook_bytes`` written atomically (temp file renamed into place)."""
    return write_atomically(path, invoice_workbook_bytes(invoice, settings))


def invoice_workbook(doc: InvoiceDocument) -> Workbook:
    """The workbook of an invoice document, ready to save."""
    wb = Workbook(author=doc.author, title=doc.title)
    sheets = [wb.add_sheet(doc.first_page.sheet), wb.add_sheet(STATEMENT_SHEET)]
    write_first_sheet(sheets[0], doc.first_page, doc.draft)
    write_table_sheet(sheets[1], doc.statement, landscape=True)
    if doc.units is not None:
        sheets.append(wb.add_sheet(UNITS_SHEET))
        write_table_sheet(sheets[-1], doc.units, landscape=False)
    if doc.draft:
        for ws in sheets:
            _mark_draft(ws)
    return wb


def cancellation_workbook_bytes(cancellation: Cancellation, settings: Settings) -> bytes:
    """The one-sheet notice that an issued invoice is cancelled (請求書取消のお知らせ),
    reproducibly."""
    return cancellation_document_workbook_bytes(cancellation_document(cancellation, settings))


def cancellation_document_workbook_bytes(doc: CancellationDocument) -> bytes:
    """The workbook's file of a cancellation notice as laid out (``cancellation_document``)."""
    wb = Workbook(author=doc.author, title=doc.title)
    write_cancellation_sheet(wb.add_sheet(CANCELLATION_SHEET), doc)
    return wb.to_bytes()


def write_cancellation_workbook(cancellation: Cancellation, settings: Settings,
                                path: str | Path) -> Path:
    """``cancellation_workbook_bytes`` written atomically."""
    return write_atomically(path, cancellation_workbook_bytes(cancellation, settings))
