"""Workbooks a run writes by the thousand (the invoices), written fast with XlsxWriter with the
guarantees of ``xlsx.py``: text stays text, the
Japanese font everywhere, same content → same bytes, A4. openpyxl stays the writer for the
workbooks users open and edit (quote, invoicing, plan comparison)."""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import xlsxwriter
from xlsxwriter.exceptions import FileCreateError
from xlsxwriter.format import Format as XlsxWriterFormat
from xlsxwriter.worksheet import Worksheet as XlsxWriterSheet

from .xlsx import (
    A4_PAPER,
    A4_SIDE_MARGIN,
    DATE_FORMAT,
    JAPANESE_FONT,
    REPRODUCIBLE_STAMP,
    fit_cell_text,
)


def xlsxwriter_workbook(path: str | Path, stamp: dt.datetime = REPRODUCIBLE_STAMP,
                        **properties: str) -> xlsxwriter.Workbook:
    """An XlsxWriter workbook with xlquote's guarantees built in:

    - user text stays text: ``write()`` never turns a string into a formula, URL or number
      (and ``write_xlsxwriter_cell`` calls ``write_string`` anyway);
    - every format names the Japanese font: the default format does and ``add_format`` starts
      from it. Scheme "none": a font tied to the theme's scheme is drawn by Excel with the
      theme's font (Calibri), whatever name it carries;
    - dates written without a format still show as dates (DATE_FORMAT);
    - the same content gives the same bytes: created/modified are ``stamp``, and in memory mode
      XlsxWriter dates every zip entry 1980-01-01, so no second recompressing pass is needed;
    - in memory, not ``constant_memory``: the latter leaves its temporary files behind when
      writing fails half-way. A 10,000-contract month costs ~30 MB.
    """
    wb = xlsxwriter.Workbook(str(path), {
        "in_memory": True,
        "strings_to_formulas": False,
        "strings_to_urls": False,
        "strings_to_numbers": False,
        "default_date_format": DATE_FORMAT,
        "default_format_properties": {"font_name": JAPANESE_FONT, "font_size": 11,
                                      "font_scheme": "none"},
    })
    # Document properties (author, title, ...) in one call: set_properties replaces them all.
    # XlsxWriter writes ``created`` as both created and modified.
    wb.set_properties({**properties, "created": stamp})
    return wb


def write_xlsxwriter_cell(ws: XlsxWriterSheet, row: int, col: int, value: Any,
                          cell_format: XlsxWriterFormat | None) -> None:
    """One cell by its type: text through ``write_string`` (stored as text whatever it starts
    with: "=", "http", "123"), dates as dates, numbers as numbers. ``None`` and empty text are
    blank cells, written only when they have a format (no cell costs nothing). Text longer than
    a cell holds ends with a visible marker (``fit_cell_text``)."""
    if isinstance(value, str) and value:
        ws.write_string(row, col, fit_cell_text(value), cell_format)
    elif value is None or isinstance(value, str):
        if cell_format is not None:  # a styled empty cell, not an empty string
            ws.write_blank(row, col, None, cell_format)
    elif isinstance(value, bool):  # before numbers: a bool is an int
        ws.write_boolean(row, col, value, cell_format)
    elif isinstance(value, dt.date):
        ws.write_datetime(row, col, value, cell_format)
    else:
        ws.write_number(row, col, value, cell_format)


def write_xlsxwriter_row(ws: XlsxWriterSheet, row: int, values: Sequence[Any],
                         formats: Sequence[XlsxWriterFormat | None]) -> None:
    """One row of cells (``write_xlsxwriter_cell``), each with its column's format."""
    for col, (value, cell_format) in enumerate(zip(values, formats, strict=True)):
        write_xlsxwriter_cell(ws, row, col, value, cell_format)


def setup_a4_xlsxwriter(ws: XlsxWriterSheet, landscape: bool = False) -> None:
    """``setup_a4`` for an XlsxWriter sheet: A4, one page wide, centred, side margins 0.5"."""
    ws.set_paper(A4_PAPER)
    if landscape:
        ws.set_landscape()
    else:
        ws.set_portrait()
    ws.fit_to_pages(1, 0)
    ws.center_horizontally()
    ws.set_margins(left=A4_SIDE_MARGIN, right=A4_SIDE_MARGIN)


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
