"""Big tables a run writes (the month's summary, the notices), written fast with XlsxWriter by
the rules of ``sheets.py``: text stays text, the Japanese font everywhere, A4 as set there;
same content → same bytes. openpyxl (``xlsx.py``) stays the writer for the workbooks users
open and edit (quote, invoicing, plan comparison); the invoices, written by the thousand, are
SpreadsheetML written directly (``spreadsheetml.py``)."""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import xlsxwriter
from xlsxwriter.exceptions import FileCreateError
from xlsxwriter.format import Format as XlsxWriterFormat
from xlsxwriter.worksheet import Worksheet as XlsxWriterSheet

from .sheets import (
    BLANK,
    BOOLEAN,
    DATE,
    DATE_FORMAT,
    JAPANESE_FONT,
    NUMBER,
    TEXT,
    PageSetup,
    a4,
    cell_kind,
    fit_cell_text,
)
from .xlsx import REPRODUCIBLE_STAMP


def xlsxwriter_options() -> dict[str, Any]:
    """The XlsxWriter options of xlquote's guarantees (``xlsxwriter_workbook``): text stays
    text, dates show as dates, the Japanese font."""
    return {
        "strings_to_formulas": False,
        "strings_to_urls": False,
        "strings_to_numbers": False,
        "default_date_format": DATE_FORMAT,
        "default_format_properties": {"font_name": JAPANESE_FONT, "font_size": 11,
                                      "font_scheme": "none"},
    }


@contextlib.contextmanager
def xlsxwriter_workbook(path: str | Path, stamp: dt.datetime = REPRODUCIBLE_STAMP,
                        **properties: str) -> Iterator[xlsxwriter.Workbook]:
    """An XlsxWriter workbook with xlquote's guarantees built in, for the ``with`` block (call
    ``close_xlsxwriter`` in it to write the file):

    - user text stays text: ``write()`` never turns a string into a formula, URL or number
      (and ``write_xlsxwriter_cell`` calls ``write_string`` anyway);
    - every format names the Japanese font: the default format does and ``add_format`` starts
      from it. Scheme "none": a font tied to the theme's scheme is drawn by Excel with the
      theme's font (Calibri), whatever name it carries;
    - dates written without a format still show as dates (DATE_FORMAT);
    - the same content gives the same bytes: created/modified are ``stamp``, and XlsxWriter
      dates every zip entry 1980-01-31;
    - bounded memory (``constant_memory``): each row goes to a temporary file as the next one
      is begun, so rows are written top to bottom, text inline. A month's flags or notices may
      be hundreds of thousands of rows, which in memory cost over half a gigabyte. The
      temporary files live in a folder of their own, removed when the block ends, whether
      the file was written or not.
    """
    with tempfile.TemporaryDirectory(prefix="xlquote-xlsx-") as rows:
        wb = xlsxwriter.Workbook(str(path), {"constant_memory": True, "tmpdir": rows,
                                             **xlsxwriter_options()})
        # Document properties (author, title, ...) in one call: set_properties replaces them
        # all. XlsxWriter writes ``created`` as both created and modified.
        wb.set_properties({**properties, "created": stamp})
        yield wb


# The font of a text's runs where XlsxWriter must write it as rich text (below).
_JAPANESE_RUN = XlsxWriterFormat({"font_name": JAPANESE_FONT, "font_size": 11, "font_scheme": "none"})


def write_xlsxwriter_cell(ws: XlsxWriterSheet, row: int, col: int, value: Any,
                          cell_format: XlsxWriterFormat | None) -> None:
    """One cell by its kind (``sheets.cell_kind``): text through ``write_string`` (stored as
    text whatever it starts with: "=", "http", "123"), dates as dates, numbers as numbers. A
    blank is written only when it has a format (no cell costs nothing). Text longer than a cell
    holds ends with a visible marker (``fit_cell_text``)."""
    kind = cell_kind(value)
    if kind is TEXT:
        text = fit_cell_text(value)
        if text.startswith("<r>") and text.endswith("</r>"):
            # XlsxWriter copies such a string into sharedStrings.xml unescaped, as if it were
            # rich-text markup (the text is lost or injected); as rich text of plain runs,
            # each escaped, it reads back as the text itself.
            run = cell_format or _JAPANESE_RUN
            ws.write_rich_string(row, col, run, text[:1], run, text[1:-1], run, text[-1:],
                                 *([cell_format] if cell_format else []))
            return
        ws.write_string(row, col, text, cell_format)
    elif kind is NUMBER:
        ws.write_number(row, col, value, cell_format)
    elif kind is DATE:
        ws.write_datetime(row, col, value, cell_format)
    elif kind is BLANK:
        if cell_format is not None:  # a styled empty cell, not an empty string
            ws.write_blank(row, col, None, cell_format)
    elif kind is BOOLEAN:
        ws.write_boolean(row, col, value, cell_format)


def write_xlsxwriter_row(ws: XlsxWriterSheet, row: int, values: Sequence[Any],
                         formats: Sequence[XlsxWriterFormat | None]) -> None:
    """One row of cells (``write_xlsxwriter_cell``), each with its column's format."""
    for col, (value, cell_format) in enumerate(zip(values, formats, strict=True)):
        write_xlsxwriter_cell(ws, row, col, value, cell_format)


def setup_xlsxwriter_page(ws: XlsxWriterSheet, setup: PageSetup) -> None:
    """Print ``ws`` as ``setup`` says (``xlsx.setup_page`` for an XlsxWriter sheet)."""
    ws.set_paper(setup.paper)
    if setup.landscape:
        ws.set_landscape()
    else:
        ws.set_portrait()
    ws.fit_to_pages(setup.fit_width, setup.fit_height)
    if setup.centred:
        ws.center_horizontally()
    m = setup.margins
    ws.set_margins(left=m.left, right=m.right, top=m.top, bottom=m.bottom)
    ws.margin_header, ws.margin_footer = m.header, m.footer  # set_header's own margin otherwise


def setup_a4_xlsxwriter(ws: XlsxWriterSheet, landscape: bool = False) -> None:
    setup_xlsxwriter_page(ws, a4(landscape))


def close_xlsxwriter(wb: xlsxwriter.Workbook) -> None:
    """Write the file. A failure to write raises the ``OSError`` itself (as openpyxl's save
    does), not XlsxWriter's wrapper, so callers handle disk errors one way."""
    try:
        wb.close()
    except FileCreateError as exc:
        cause = exc.args[0] if exc.args else None
        if isinstance(cause, OSError):
            raise cause from None
        raise


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while writing: XlsxWriter allocates an object per
    cell, which sets off full collections that walk the whole heap — a month's data included —
    for ~15–20% of a write. Nothing written forms cycles that must go at once; the collector is
    restored as it was."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
