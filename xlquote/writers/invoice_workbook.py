"""An invoice document as a workbook (XlsxWriter): the first sheet on A4 (請求書, or ご利用明細書
for a statement), the incident statement, and for paid support the units used and left per
pack; and the one-sheet notice that cancels an issued invoice.

What the sheets say comes from ``invoice_layout.py`` (one document model, also drawn as PDF by
``invoice_pdf.py``); this module only puts it on sheets. Amounts are the engine's integers
written as values (the tax is rounded once per rate by the engine; a formula here would restate
that rule). Every string goes through ``write_string``, so a customer named ``=HYPERLINK(...)``
stays text. A draft is marked on every sheet: its title, a red banner, a red tab and a printed
header 「下書き（未発行）」.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from xlsxwriter import Workbook
from xlsxwriter.format import Format
from xlsxwriter.utility import xl_cell_to_rowcol
from xlsxwriter.worksheet import Worksheet

from ..engine.invoice import Cancellation, Invoice
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
    CANCELLATION_SHEET,
    COUNT,
    DATE,
    STATEMENT_SHEET,
    UNITS_SHEET,
    YEN,
    CancellationDocument,
    Field,
    FirstPage,
    Table,
    cancellation_document,
    invoice_document,
    row_height,
)
from .sheets import DATE_FORMAT, YEN_FORMAT, a4
from .xlsx import atomic_path

NUMBER_FORMATS = {YEN: YEN_FORMAT, DATE: DATE_FORMAT, COUNT: "#,##0"}  # other kinds: General
DRAFT_COLOR = "#C00000"
DRAFT_HEADER = '&C&"-,Bold"&16&KC00000下書き（未発行）'
INVOICE_WIDTHS = [5, 46, 7, 14, 15, 7]  # the first page's columns A–F

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

    def get(self, **properties: Any) -> Format:
        key = tuple(sorted(properties.items()))
        found = self._formats.get(key)
        if found is None:
            found = self._formats[key] = self._wb.add_format(properties)
        return found

    def box(self, number_format: str | None) -> Format:
        """A boxed, top-aligned, wrapped cell with ``number_format``."""
        return self.get(**WRAP, **({"num_format": number_format} if number_format else {}))


_row_col = functools.cache(xl_cell_to_rowcol)  # the first page's few dozen fixed cell names


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
    row, col = _row_col(ref)
    if merge_to:
        last_row, last_col = _row_col(merge_to)
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


def _header_row(ws: Worksheet, styles: Styles, row: int, titles: list[str]) -> None:
    write_xlsxwriter_row(ws, row, titles, [styles.get(**HEADER)] * len(titles))


def _number_format(field: Field) -> str | None:
    return NUMBER_FORMATS.get(field.kind)


def _mark_draft(ws: Worksheet) -> None:
    """Every sheet of a draft says so: a red tab and a printed header."""
    ws.set_tab_color(DRAFT_COLOR)
    ws.set_header(DRAFT_HEADER, margin=a4().margins.header)


def _put_lines(ws: Worksheet, styles: Styles, first_row: int, texts: tuple[str, ...], *,
               color: str | None = None) -> None:
    """Centred lines under the title (a draft's warning, a correction's reference), one
    merged, wrapped cell per line (1-based ``first_row``)."""
    for offset, text in enumerate(texts):
        row = first_row + offset
        if color:
            cell_format = styles.get(bold=True, font_size=11, font_color=color, align="center",
                                     valign="vcenter", text_wrap=True)
            ws.merge_range(row - 1, 0, row - 1, 5, None, cell_format)
            write_xlsxwriter_cell(ws, row - 1, 0, text, cell_format)
        else:
            _put(ws, styles, f"A{row}", text, merge_to=f"F{row}", align="center")
        _fit_row_height(ws, row - 1, [(text, sum(INVOICE_WIDTHS))])


def _put_header_block(ws: Worksheet, styles: Styles, title: str, addressee: str,
                      contract: str, meta: tuple[Field, ...]) -> None:
    """Title (row 1), addressee and contract (rows 3–4, left), meta fields (from row 3,
    right): the same on the invoice and the cancellation notice."""
    _set_widths(ws, INVOICE_WIDTHS)
    _put(ws, styles, "A1", title, bold=True, size=20, merge_to="F1", align="center")
    _set_height(ws, 0, 34)
    _put(ws, styles, "A3", addressee, bold=True, size=14, merge_to="B3", border=UNDERLINE)
    _put(ws, styles, "A4", contract, merge_to="B4")
    for row, field in enumerate(meta, start=3):
        _put(ws, styles, f"D{row}", field.label, bold=True)
        _put(ws, styles, f"E{row}", field.value, _number_format(field), merge_to=f"F{row}",
             align="right")


def _put_issuer(ws: Worksheet, styles: Styles, issuer: tuple[tuple[str, bool], ...],
                row: int = 8) -> int:
    for text, bold in issuer:
        _put(ws, styles, f"C{row}", text, bold=bold, merge_to=f"F{row}")
        row += 1
    return row


def write_first_sheet(ws: Worksheet, styles: Styles, page: FirstPage, draft: bool) -> None:
    """請求書 (or ご利用明細書): header, issuer, amount due, the lines with tax per rate and the
    total, bank, notes."""
    _put_header_block(ws, styles, page.title, page.addressee, page.contract_line, page.meta)
    if page.banner:
        _put_lines(ws, styles, 2, page.banner, color=DRAFT_COLOR if draft else None)
    _put_issuer(ws, styles, page.issuer)
    _put(ws, styles, "A7", page.intro, merge_to="B7")
    if page.amount_due is not None:
        _put(ws, styles, "A9", page.amount_due.label, bold=True, merge_to="B9")
        _put(ws, styles, "A10", page.amount_due.value, YEN_FORMAT, bold=True, size=18,
             merge_to="B10", align="left", border=UNDERLINE)
        _set_height(ws, 9, 30)

    row = 14  # 1-based: the fee table's header row
    if page.lines is not None:
        table = page.lines
        _header_row(ws, styles, row - 1, [column.title for column in table.columns])
        _put_table_rows(ws, styles, row, table)
        row += len(table.rows)
        if not table.rows:
            row += 1
            _put(ws, styles, f"B{row}", table.empty_text)
        row += 2
    else:
        row = 12
    for field in page.taxes:
        _put(ws, styles, f"D{row}", field.label, border=BOX)
        _put(ws, styles, f"E{row}", field.value, YEN_FORMAT, border=BOX)
        row += 1
    if page.total is not None:
        _put(ws, styles, f"D{row}", page.total.label, bold=True, border=BOX)
        _put(ws, styles, f"E{row}", page.total.value, YEN_FORMAT, bold=True, border=BOX)
        row += 2
    if page.bank:
        heading, *details = page.bank
        _put(ws, styles, f"A{row}", heading, bold=True, merge_to=f"B{row}")
        for offset, text in enumerate(details, start=1):
            _put(ws, styles, f"A{row + offset}", text, merge_to=f"F{row + offset}")
        row += len(page.bank) + 1
    if page.notes:
        _put(ws, styles, f"A{row}", "備考", bold=True, merge_to=f"B{row}")
        for note in page.notes:
            row += 1
            _put(ws, styles, f"A{row}", note, merge_to=f"F{row}")
    setup_a4_xlsxwriter(ws)
    ws.print_area(0, 0, row - 1, 5)


def _put_table_rows(ws: Worksheet, styles: Styles, first_row: int, table: Table) -> None:
    """The table's rows from ``first_row`` (0-based), boxed and wrapped, each as tall as its
    longest text needs."""
    formats = [styles.box(NUMBER_FORMATS.get(column.kind)) for column in table.columns]
    widths = [column.width for column in table.columns]
    for row, values in enumerate(table.rows, start=first_row):
        write_xlsxwriter_row(ws, row, values, formats)
        _fit_row_height(ws, row, [(value, width) for value, width in zip(values, widths, strict=True)
                                  if isinstance(value, str)])


def write_table_sheet(ws: Worksheet, styles: Styles, table: Table, landscape: bool) -> None:
    """A titled table (明細, ユニット残高) whose header repeats on every printed page."""
    _put(ws, styles, "A1", table.title, bold=True, size=13)
    _put(ws, styles, "A2", table.subtitle)
    _set_widths(ws, [column.width for column in table.columns])
    _header_row(ws, styles, 3, [column.title for column in table.columns])
    _put_table_rows(ws, styles, 4, table)  # 0-based: the rows under the header
    if not table.rows:
        _put(ws, styles, "A5", table.empty_text)
    ws.repeat_rows(3)
    setup_a4_xlsxwriter(ws, landscape=landscape)


def write_cancellation_sheet(ws: Worksheet, styles: Styles, doc: CancellationDocument) -> None:
    _put_header_block(ws, styles, doc.heading, doc.addressee, doc.contract_line, doc.meta)
    row = _put_issuer(ws, styles, doc.issuer) + 1
    _put(ws, styles, "A6", doc.intro, merge_to="F6")
    for field in doc.cancelled:
        _put(ws, styles, f"A{row}", field.label, bold=True, merge_to=f"B{row}", border=BOX)
        _put(ws, styles, f"C{row}", field.value, _number_format(field), merge_to=f"F{row}",
             align="left", border=BOX)
        if field.kind == "text":
            _fit_row_height(ws, row - 1, [(str(field.value), sum(INVOICE_WIDTHS[2:]))])
        row += 1
    row += 1
    for text in doc.closing:
        _put(ws, styles, f"A{row}", text, merge_to=f"F{row}")
        row += 1
    setup_a4_xlsxwriter(ws)
    ws.print_area(0, 0, row - 1, 5)


def write_invoice_workbook(invoice: Invoice, settings: Settings, path: str | Path) -> Path:
    """The invoice workbook for any kind of invoice document (``Invoice.kind``), atomically
    (temp file renamed into place) and reproducibly (same content, same bytes: created and
    modified are REPRODUCIBLE_STAMP, as for every workbook we write). Raises OutputError for a
    document that cannot be drawn truthfully (``invoice_document``)."""
    doc = invoice_document(invoice, settings)
    with atomic_path(path) as temp, collector_paused():
        wb = xlsxwriter_workbook(temp, author=doc.author, title=doc.title)
        styles = Styles(wb)
        sheets = [wb.add_worksheet(doc.first_page.sheet), wb.add_worksheet(STATEMENT_SHEET)]
        write_first_sheet(sheets[0], styles, doc.first_page, doc.draft)
        write_table_sheet(sheets[1], styles, doc.statement, landscape=True)
        if doc.units is not None:
            sheets.append(wb.add_worksheet(UNITS_SHEET))
            write_table_sheet(sheets[-1], styles, doc.units, landscape=False)
        if doc.draft:
            for ws in sheets:
                _mark_draft(ws)
        close_xlsxwriter(wb)
    return Path(path)


def write_cancellation_workbook(cancellation: Cancellation, settings: Settings,
                                path: str | Path) -> Path:
    """The one-sheet notice that an issued invoice is cancelled (請求書取消のお知らせ),
    atomically and reproducibly."""
    doc = cancellation_document(cancellation, settings)
    with atomic_path(path) as temp, collector_paused():
        wb = xlsxwriter_workbook(temp, author=doc.author, title=doc.title)
        write_cancellation_sheet(wb.add_worksheet(CANCELLATION_SHEET), Styles(wb), doc)
        close_xlsxwriter(wb)
    return Path(path)
