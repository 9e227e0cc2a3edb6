"""An invoice document as PDF, drawn directly with reportlab from the same document model as the
workbook (``invoice_layout.py``): 請求書 (or ご利用明細書) on A4 portrait, the ご利用明細 on
landscape pages with the header repeated, ユニット残高 for paid support; and the one-page notice
that cancels an issued invoice. A draft carries a large light 「下書き」 behind the content of
every page. Atomic (temp file renamed into place) and reproducible (same inputs, same bytes).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..engine.invoice import Cancellation, Invoice
from ..engine.settings import Settings
from .invoice_layout import (
    COUNT,
    DATE,
    DRAFT_MARK,
    NUMBER,
    TEXT,
    YEN,
    CancellationDocument,
    Field,
    FirstPage,
    InvoiceDocument,
    Table,
    cancellation_document,
    invoice_document,
    yen_text,
)
from .pdf_pages import CELL_PAD, MARGIN, Pages, TableColumn, render_pdf, scaled_columns
from .xlsx import write_atomically

DRAFT_RED = (0.75, 0, 0)
STAMP_GREY = (0.88, 0.88, 0.88)
STAMP_ANGLE = 35  # degrees
FOOTER_GREY = (0.4, 0.4, 0.4)
RIGHT_ALIGNED = (YEN, COUNT, NUMBER)
TABLE_SIZE = 8.5  # points: the statement's and units' text
LINES_SIZE = 9.5  # the fee lines on the first page


def shown(value: Any, kind: str) -> str:
    """A value as the workbook's number formats show it (¥1,234 / 2026/11/02 / 1,234)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if kind == YEN:
        return yen_text(value)
    if kind == DATE and isinstance(value, dt.date):
        return f"{value:%Y/%m/%d}"
    if kind == COUNT:
        return f"{value:,}"
    return str(value)


def _columns(pages: Pages, table: Table, rows: list[list[str]], size: float
              ) -> list[TableColumn]:
    """The table's columns across ``total`` points; dates, amounts and counts as wide as their
    widest value, so that none is broken."""
    specs = []
    for i, column in enumerate(table.columns):
        minimum = 0.0
        if column.kind != TEXT:
            minimum = max((pages.text_width(row[i], size) for row in rows), default=0.0)
            minimum += 2 * CELL_PAD + 1
        specs.append((column.title, column.width,
                      "right" if column.kind in RIGHT_ALIGNED else "left", minimum))
    return scaled_columns(specs, pages.width)


def _rows(table: Table) -> list[list[str]]:
    """The table's cells as shown: text as it is (most cells), each other value of a column
    (a date, an amount) formatted once."""
    kinds = [column.kind for column in table.columns]
    shown_values: list[dict[tuple[type, Any], str]] = [{} for _ in kinds]
    rows = []
    for row in table.rows:
        cells = []
        for value, kind, known in zip(row, kinds, shown_values, strict=True):
            if type(value) is str:
                cells.append(value)
                continue
            key = (type(value), value)  # True is not 1
            text = known.get(key)
            if text is None:
                text = known[key] = shown(value, kind)
            cells.append(text)
        rows.append(cells)
    return rows


def _draw_table(pages: Pages, table: Table, size: float,
                continued: Callable[[Pages], None]) -> list[TableColumn]:
    rows = _rows(table)
    columns = _columns(pages, table, rows, size)
    pages.table(columns, rows, size, continued=continued)
    return columns


def _stamp(pages: Pages) -> None:
    """The draft's mark across the page's centre, drawn first so that the content lies over
    it."""
    width, height = pages.size
    turn = math.radians(STAMP_ANGLE)
    pages.text(width / 2 + 40 * math.sin(turn), height / 2 - 40 * math.cos(turn), DRAFT_MARK,
               130, align="center", color=STAMP_GREY, angle=STAMP_ANGLE)


def _footer(pages: Pages, title: str) -> None:
    """Which document and which page, at the foot of every page (pages travel apart)."""
    pages.text(pages.right, MARGIN / 2, f"{title} — {pages.page_number}", 7.5,
               align="right", color=FOOTER_GREY)


def _meta(pages: Pages, fields: tuple[Field, ...], x: float, right: float, top: float) -> float:
    """Label/value pairs on the right; returns the y below them."""
    y = top
    for field in fields:
        y -= 15
        pages.text(x, y, field.label, 9.5, bold=True)
        pages.text(right, y, shown(field.value, field.kind), 9.5, align="right")
        pages.rule(x, right, y - 4, 0.3, (0.7, 0.7, 0.7))
    return y


def _issuer(pages: Pages, issuer: tuple[tuple[str, bool], ...], x: float, width: float,
            top: float) -> float:
    """The issuer's name, address, contact and registration number (``issuer_lines``), each
    whole: a qualified invoice's required items are never cut."""
    pages.y = top
    for text, bold in issuer:
        pages.paragraph(text, 10.5 if bold else 9, x=x, width=width, bold=bold, max_lines=3,
                        whole=True)
    return pages.y


def _heading(pages: Pages, title: str, addressee: str, contract: str, meta: tuple[Field, ...],
             banner: tuple[str, ...] = (), banner_color: tuple[float, float, float] = (0, 0, 0)
             ) -> tuple[float, float, float]:
    """Title, banner lines, addressee and contract on the left, meta on the right. Returns
    (y below the left block, y below the meta, x where the right block starts)."""
    pages.y -= 8
    pages.paragraph(title, 20, bold=True, align="center", max_lines=2)
    pages.y -= 4
    for line in banner:
        pages.paragraph(line, 10, bold=True, align="center", color=banner_color, max_lines=4)
    pages.y -= 10
    top = pages.y
    left_width = pages.width * 0.55
    right_x = pages.left + pages.width * 0.6
    # whole, however long: a qualified invoice names its recipient
    pages.paragraph(addressee, 14, width=left_width, bold=True, max_lines=3, whole=True)
    pages.rule(pages.left, pages.left + left_width, pages.y - 3, 1.2)
    pages.y -= 8
    pages.paragraph(contract, 9.5, width=left_width, max_lines=3)
    left_bottom = pages.y
    return left_bottom, _meta(pages, meta, right_x, pages.right, top), right_x


def _first_page(pages: Pages, page: FirstPage, draft: bool, document_title: str) -> None:
    left_bottom, meta_bottom, right_x = _heading(
        pages, page.title, page.addressee, page.contract_line, page.meta, page.banner,
        DRAFT_RED if draft else (0, 0, 0))
    right_bottom = _issuer(pages, page.issuer, right_x, pages.right - right_x, meta_bottom - 12)
    pages.y = left_bottom - 14
    left_width = pages.width * 0.55
    pages.paragraph(page.intro, 10, width=left_width, max_lines=4)
    if page.amount_due is not None:
        pages.y -= 12
        pages.paragraph(page.amount_due.label, 10.5, width=left_width, bold=True)
        pages.y -= 24
        pages.text(pages.left, pages.y + 5, shown(page.amount_due.value, YEN), 20, bold=True)
        pages.rule(pages.left, pages.left + left_width * 0.7, pages.y, 1.2)
    pages.y = min(pages.y, right_bottom) - 18

    def continued(p: Pages) -> None:
        p.paragraph(f"{document_title}（続き）", 10, bold=True)
        p.y -= 6

    if page.lines is not None:
        columns = _draw_table(pages, page.lines, LINES_SIZE, continued)
        if not page.lines.rows:
            pages.paragraph(page.lines.empty_text, 9.5, x=pages.left + columns[0].width)
        pages.y -= 10
    totals = [*page.taxes, *([page.total] if page.total is not None else [])]
    if totals:
        box = [TableColumn("", 120, "left"), TableColumn("", 110, "right")]
        x = pages.right - sum(column.width for column in box)
        for field in totals:
            values = [field.label, shown(field.value, field.kind)]
            if pages.row(box, values, 10, x=x, bold=field is page.total):
                pages.row(box, values, 10, x=x, bold=field is page.total)
        pages.y -= 14
    if page.bank:
        heading, *details = page.bank
        pages.room(60)
        pages.paragraph(heading, 10.5, bold=True)
        for text in details:  # the account, whole: the customer pays into it
            pages.paragraph(text, 9.5, max_lines=4, whole=True)
        pages.y -= 10
    if page.notes:
        pages.room(40)
        pages.paragraph("備考", 10.5, bold=True)
        for note in page.notes:
            pages.paragraph(note, 9.5, max_lines=8)


def _table_pages(pages: Pages, table: Table, landscape_page: bool) -> None:
    """A titled table on pages of its own; continuation pages repeat title and header."""
    pages.new_page(landscape_page)
    pages.paragraph(table.title, 13, bold=True, max_lines=2, whole=True)  # names the customer
    pages.paragraph(table.subtitle, 9.5, max_lines=2)
    pages.y -= 6

    def continued(p: Pages) -> None:
        p.paragraph(f"{table.title}（続き）", 10, bold=True, max_lines=2, whole=True)
        p.y -= 4

    _draw_table(pages, table, TABLE_SIZE, continued)
    if not table.rows:
        pages.y -= 4
        pages.paragraph(table.empty_text, 9.5)


def invoice_pdf_bytes(invoice: Invoice, settings: Settings) -> bytes:
    return invoice_document_pdf_bytes(invoice_document(invoice, settings))


def invoice_document_pdf_bytes(doc: InvoiceDocument) -> bytes:
    """The PDF of an invoice document as laid out (``invoice_document``)."""

    def draw(pages: Pages) -> None:
        def page_start(p: Pages) -> None:
            if doc.draft:
                _stamp(p)
            _footer(p, doc.title)

        pages.on_new_page = page_start
        pages.new_page(False)
        _first_page(pages, doc.first_page, doc.draft, doc.title)
        _table_pages(pages, doc.statement, landscape_page=True)
        if doc.units is not None:
            _table_pages(pages, doc.units, landscape_page=False)

    return render_pdf(draw, doc.identity, doc.issued, doc.title, doc.author)


def cancellation_pdf_bytes(cancellation: Cancellation, settings: Settings) -> bytes:
    return cancellation_document_pdf_bytes(cancellation_document(cancellation, settings))


def cancellation_document_pdf_bytes(doc: CancellationDocument) -> bytes:
    """The PDF of a cancellation notice as laid out (``cancellation_document``)."""

    def draw(pages: Pages) -> None:
        pages.new_page(False)
        left_bottom, meta_bottom, right_x = _heading(pages, doc.heading, doc.addressee,
                                                     doc.contract_line, doc.meta)
        right_bottom = _issuer(pages, doc.issuer, right_x, pages.right - right_x,
                               meta_bottom - 12)
        pages.y = min(left_bottom, right_bottom) - 20
        pages.paragraph(doc.intro, 10.5, max_lines=4)
        pages.y -= 8
        columns = [TableColumn("項目", 120, "left"), TableColumn("内容", pages.width - 120, "left")]
        rows = [[field.label, shown(field.value, field.kind)] for field in doc.cancelled]
        pages.table(columns, rows, 10)
        pages.y -= 14
        for text in doc.closing:
            pages.paragraph(text, 10, max_lines=4)

    return render_pdf(draw, doc.identity, doc.issued, doc.title, doc.author)


def write_invoice_pdf(invoice: Invoice, settings: Settings, path: str | Path) -> Path:
    """The invoice document of any kind (``Invoice.kind``) as PDF, atomically and
    reproducibly. Raises OutputError for a document that cannot be drawn truthfully or when
    the PDF font cannot be used."""
    return write_atomically(path, invoice_pdf_bytes(invoice, settings))


def write_cancellation_pdf(cancellation: Cancellation, settings: Settings,
                           path: str | Path) -> Path:
    """The notice that an issued invoice is cancelled (請求書取消のお知らせ) as PDF."""
    return write_atomically(path, cancellation_pdf_bytes(cancellation, settings))
