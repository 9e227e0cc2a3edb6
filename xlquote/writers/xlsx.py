"""Writing workbooks with openpyxl by the rules of ``sheets.py``: text stays text, fonts
render Japanese, A4 as set there; and files that appear whole (``atomic_path``) and the same
bytes for the same content (``save_atomic``).

The workbooks users open and edit (quote, invoicing, plan comparison) are written through these
helpers, so that a customer named ``=HYPERLINK(...)`` is stored as a text cell (never a
formula), and a crash never leaves a half-written file behind.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import os
import re
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from openpyxl.cell.cell import Cell
from openpyxl.styles import Font
from openpyxl.utils.indexed_list import IndexedList
from openpyxl.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from .sheets import (  # noqa: F401  (the rules, importable with their openpyxl adapter)
    BLANK,
    CELL_MAX_CHARS,
    DATE_FORMAT,
    FORMULA_PREFIXES,
    JAPANESE_FONT,
    TEXT,
    YEN_FORMAT,
    PageSetup,
    a4,
    cell_kind,
    fit_cell_text,
)


def set_text(cell: Cell, text: Any) -> Cell:
    """Store user text as a text cell, even when it starts like a formula."""
    value = "" if text is None else fit_cell_text(str(text))
    cell.value = value
    cell.data_type = "s"  # openpyxl would otherwise treat a leading "=" as a formula
    return cell


def set_value(cell: Cell, value: Any, number_format: str | None = None) -> Cell:
    """A value stored by its kind (``sheets.cell_kind``): text through ``set_text``, numbers,
    booleans and dates as themselves, a blank as empty; ``number_format`` (on a blank too: it
    formats what the user types there)."""
    kind = cell_kind(value)
    if kind is TEXT:
        return set_text(cell, value)
    cell.value = None if kind is BLANK else value
    if number_format:
        cell.number_format = number_format
    return cell


def set_formula(cell: Cell, formula: str, number_format: str | None = None) -> Cell:
    """A formula written by xlquote's own code (never from user text)."""
    if not formula.startswith("="):
        raise ValueError(f"not a formula: {formula!r}")
    cell.value = formula
    if number_format:
        cell.number_format = number_format
    return cell


def _japanese(font: Font) -> Font:
    renamed = copy.copy(font)
    renamed.name = JAPANESE_FONT
    return renamed


def use_japanese_font(ws: Worksheet) -> None:
    """Name the Japanese font explicitly, in the workbook's default font and in every font a
    cell of ``ws`` uses: LibreOffice and Excel then render CJK text with it instead of falling
    back to a font without Japanese glyphs. Works on font ids, so a sheet of thousands of rows
    costs milliseconds (assigning ``cell.font`` per cell re-hashes every style)."""
    wb = ws.parent
    fonts = wb._fonts
    if fonts[0].name != JAPANESE_FONT:  # the default font: cells without a font of their own
        wb._fonts = fonts = IndexedList([_japanese(fonts[0]), *fonts[1:]])
    renamed: dict[int, int] = {}
    for row in ws.iter_rows():
        for cell in row:
            if not cell.has_style:
                continue
            font_id = cell._style.fontId
            if fonts[font_id].name == JAPANESE_FONT:
                continue
            if font_id not in renamed:
                renamed[font_id] = fonts.add(_japanese(fonts[font_id]))
            cell._style.fontId = renamed[font_id]


def setup_page(ws: Worksheet, setup: PageSetup) -> None:
    """Print ``ws`` as ``setup`` says."""
    ws.page_setup.paperSize = setup.paper
    ws.page_setup.orientation = "landscape" if setup.landscape else "portrait"
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth = setup.fit_width
    ws.page_setup.fitToHeight = setup.fit_height
    ws.print_options.horizontalCentered = setup.centred
    m = setup.margins
    margins = ws.page_margins
    margins.left, margins.right, margins.top, margins.bottom = m.left, m.right, m.top, m.bottom
    margins.header, margins.footer = m.header, m.footer


def setup_a4(ws: Worksheet, landscape: bool = False) -> None:
    setup_page(ws, a4(landscape))


@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """A temporary path in the target's folder, renamed over the target only if the block
    succeeds; on failure the temporary file is removed and the target is untouched."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.stem}-", suffix=target.suffix,
                                dir=target.parent)
    os.close(fd)
    temp = Path(name)
    os.chmod(temp, 0o644)  # mkstemp makes files private; workbooks are shared documents
    try:
        yield temp
        try:
            os.replace(temp, target)
        except OSError as exc:  # named by the file the user asked for, not the temporary one
            exc.filename, exc.filename2 = str(target), None
            raise
    finally:
        if temp.exists():
            temp.unlink()


def write_atomically(target: str | Path, data: bytes) -> Path:
    """``data`` as the file ``target``, which appears whole or not at all (``atomic_path``)."""
    with atomic_path(target) as temp:
        temp.write_bytes(data)
    return Path(target)


REPRODUCIBLE_STAMP = dt.datetime(2000, 1, 1)
_CORE_DATES = re.compile(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)")


def make_reproducible(path: Path, stamp: dt.datetime = REPRODUCIBLE_STAMP) -> None:
    """Rewrite a saved workbook so that the same content gives the same bytes: zip entry times
    and the document's created/modified dates become ``stamp`` (openpyxl writes "now")."""
    iso = stamp.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    with zipfile.ZipFile(path) as source:
        entries = [(info, source.read(info)) for info in source.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for info, data in entries:
            if info.filename == "docProps/core.xml":
                data = _CORE_DATES.sub(rb"\g<1>" + iso + rb"\g<2>", data)
            entry = zipfile.ZipInfo(info.filename, date_time=stamp.timetuple()[:6])
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = info.external_attr
            target.writestr(entry, data)


def save_atomic(wb: Workbook, target: str | Path,
                stamp: dt.datetime = REPRODUCIBLE_STAMP) -> Path:
    """Save reproducibly (same content → same bytes) and atomically (temp file + rename)."""
    with atomic_path(target) as temp:
        wb.save(temp)
        make_reproducible(temp, stamp)
    return Path(target)
