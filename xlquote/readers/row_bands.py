"""A sheet given to fastexcel in bands of rows, so that calamine never holds all of it at once.

calamine (under fastexcel) holds a sheet as a dense grid of 32-byte cells reaching from its
first cell to its last: a month of a million incidents (24 columns) took 1.2 GB, and one value
at Z1,048,576 under a short table over 1 GB. So the typed reader gives it the sheet in bands,
each at most BAND_BYTES of XML and BAND_ROWS rows from its first row to its last (rows between
bands cost nothing), and joins the typed columns it gets back.

The bands are the sheets of a temporary workbook, stored without compression (calamine then
has nothing to inflate), with what calamine reads besides the sheet: the styles (which numbers
are dates), the shared strings and the date system. The first band begins as the sheet does;
each later one begins with a copy of the header row, renumbered to the row before the band's
first, so that fastexcel finds the same header and its grid begins where the band does.

The bands are cut at row tags found by plain byte search. That is exact for a sheet laid out
plainly (``sheet_layout``), and the typed result is only used for such a sheet; any surprise
here (no sheetData, no header row, a row longer than any plain one) returns None, and the sheet
is read cell by cell.
"""

from __future__ import annotations

import re
import shutil
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from ..engine.errors import InputError
from .cells import open_workbook
from .guard import part_blocks
from .ooxml import (
    OFFICE_RELATIONSHIPS,
    PACKAGE_RELATIONSHIPS,
    SPREADSHEET_MAIN,
    WORKBOOK,
    WORKBOOK_RELATIONSHIPS,
)

BAND_BYTES = 32 * 2**20  # of sheet XML: calamine's grid and texts for it stay near 100 MB
BAND_ROWS = 32_768  # from a band's first row to its last: a grid of at most 27 MB (A–Z)
# The most a band may run past BAND_BYTES to reach the next row: a plain row holds at most 26
# cells of 32,767 characters, each written at most 10 bytes long (&#x10FFFF;) with its markup.
LONGEST_ROW = 26 * (32_767 * 10 + 1024)
HEAD_BYTES = 16 * 2**20  # before sheetData: the sheet's settings and column widths
SHEET_DATA = b"<sheetData>"
SHEET_DATA_START = re.compile(rb"<sheetData\s*>")
SHEET_DATA_END = b"</sheetData>"
ROW_TAG = b"<row "
ROW_NUMBER = re.compile(rb'<row r="(\d{1,7})"')
ROOT_TAG = re.compile(rb"<([A-Za-z_][\w.:-]*)[^>]*>")  # the first element's start tag
CELL_ROW = re.compile(rb'(<c r="[A-Z]{1,3})\d+"')
ROW_START = re.compile(rb'^<row r="\d+"')
# The parts calamine reads besides the sheet (by relationship type), by their banded names.
COMPANIONS = {"styles": "xl/styles.xml", "sharedStrings": "xl/sharedStrings.xml"}
COPY_BYTES = 4 * 2**20


@dataclass(frozen=True)
class Band:
    sheet: str  # its sheet's name in the banded workbook
    header_row: int  # the sheet row its header stands at; its data rows follow it
    end: int  # where its rows end in the sheet's part (bytes from the part's start)


def write_bands(path: Path, part: str, header_row: int, target: Path) -> list[Band] | None:
    """Write the sheet ``part`` of the checked workbook ``path`` (its header on ``header_row``)
    as bands into a new workbook at ``target``; the bands in order, or None when the sheet is
    not cut as a plain sheet is (see the module's docstring) or cannot be written (a full
    disk: the sheet is then read cell by cell)."""
    try:
        return _write_bands(path, part, header_row, target)
    except OSError:
        return None


def _write_bands(path: Path, part: str, header_row: int, target: Path) -> list[Band] | None:
    book = open_workbook(path)  # the parts and date system the cell-by-cell reader reads
    # The styles as the cell-by-cell reader reads them: a number format Excel cannot hold is
    # refused here, before calamine decides every style by it (seconds for a 9 MB format).
    book.styles  # noqa: B018
    with book.archive as source, zipfile.ZipFile(target, "w", zipfile.ZIP_STORED) as banded:
        try:
            bands = _write_sheet_bands(part_blocks(path, part), header_row, banded)
        except InputError:  # a forged size, a damaged archive: the guard's survey, made beside
            return None     # this (``SurveyAlong``), meets it too and refuses the file
        if bands is None:
            return None
        companions = {name: book.parts[kind] for kind, name in COMPANIONS.items()
                      if kind in book.parts}
        for name, found in companions.items():
            with source.open(found) as data, banded.open(name, "w", force_zip64=True) as out:
                shutil.copyfileobj(data, out, COPY_BYTES)
        banded.writestr(WORKBOOK, _workbook([b.sheet for b in bands], book.date1904))
        banded.writestr(WORKBOOK_RELATIONSHIPS,
                        _relationships([b.sheet for b in bands], companions))
        banded.writestr("_rels/.rels", ROOT_RELATIONSHIPS)
        banded.writestr("[Content_Types].xml", CONTENT_TYPES)
    return bands


def _write_sheet_bands(blocks: Iterable[bytes], header_row: int, banded: zipfile.ZipFile
                       ) -> list[Band] | None:
    bands: list[Band] = []

    def write(content: memoryview, band_header: int, header: bytes, end: int) -> None:
        name = f"band{len(bands) + 1}"
        with banded.open(f"xl/worksheets/{name}.xml", "w", force_zip64=True) as out:
            out.write(cutter.opening + header)
            out.write(content)
            out.write(SHEET_DATA_END + cutter.closing)
        bands.append(Band(name, band_header, end))

    cutter = _Cutter(header_row, write)
    for block in blocks:
        cutter.feed(block)
        if cutter.failed:
            return None
        if cutter.ended:
            break
    if not cutter.ended:
        return None
    cutter.finish()
    return bands


class _Cutter:
    """Cuts the sheet's rows into bands as its bytes arrive."""

    def __init__(self, header_row: int,
                 write: Callable[[memoryview, int, bytes, int], None]) -> None:
        self.header_row = header_row
        # a band: its rows, its header's row number, the header to put first, where it ends
        self.write = write
        self.opening = b""  # the root's start tag and <sheetData>, once found
        self.closing = b""  # the root's end tag
        self.header = b""  # the header row's XML, once found
        self.pending = bytearray()  # the sheet's bytes not yet in a band
        self.start = 0  # where pending starts in the part
        self.band_header = header_row  # the current band's header row
        self.header_end = 0  # where the header row ends in the first band
        self.failed = False
        self.ended = False

    @property
    def _first_band(self) -> bool:
        """The band being cut is the first: it holds the header row as the sheet has it (a later
        band's header, the row before its first, is always below it)."""
        return self.band_header == self.header_row

    def feed(self, block: bytes) -> None:
        """Write the bands this block completes."""
        new = max(len(self.pending) - len(SHEET_DATA_END), 0)  # this block's bytes (and a tag
        self.pending += block                                    # begun in the one before)
        if not self.opening:
            if not self._open():
                return
            new = 0
        if not self.header and not self._find_header():
            return
        # A plain sheet has no row after sheetData's end: look only past the last row's end.
        end = self.pending.find(SHEET_DATA_END, max(self.pending.rfind(b"</row>", new), new))
        if end >= 0:
            del self.pending[end:]
            self.ended = True
        while not self.failed:
            cut = self._cut()
            if cut is None:
                break
            self._band(cut)
        if len(self.pending) > BAND_BYTES + LONGEST_ROW:
            self.failed = True

    def finish(self) -> None:
        """Write the last band (none when the sheet has no rows after the last band)."""
        if self.header and (self._first_band or self.pending):
            self._band(len(self.pending))

    def _open(self) -> bool:
        found = SHEET_DATA_START.search(self.pending)
        if found is None:
            self.failed = len(self.pending) > HEAD_BYTES
            return False
        root = ROOT_TAG.search(self.pending, 0, found.start())  # after the XML declaration
        if root is None:
            self.failed = True
            return False
        self.opening = bytes(root.group(0)) + SHEET_DATA
        self.closing = b"</" + root.group(1) + b">"
        del self.pending[:found.end()]
        self.start += found.end()
        return True

    def _find_header(self) -> bool:
        """The header row's XML, kept for the later bands (the first band holds it as is)."""
        start = self.pending.find(b'<row r="%d"' % self.header_row)
        end = self.pending.find(b"</row>", start) if start >= 0 else -1
        if end < 0:
            self.failed = len(self.pending) > HEAD_BYTES
            return False
        self.header = bytes(self.pending[start:end + len(b"</row>")])
        self.header_end = end + len(b"</row>")
        return True

    def _cut(self) -> int | None:
        """Where the current band ends (before a row), if the bytes at hand hold its end."""
        low = self.header_end if self._first_band else 0
        last = self.pending.rfind(ROW_TAG, low)
        tail = ROW_NUMBER.match(self.pending, last) if last > low else None
        if tail is None and last > low and not self.ended \
                and len(self.pending) - last < len(b'<row r="1048576"'):
            last = self.pending.rfind(ROW_TAG, low, last)  # the block ended inside that tag
            tail = ROW_NUMBER.match(self.pending, last) if last > low else None
        if last <= low:
            return None
        if tail is None:
            self.failed = True
            return None
        cut = None
        if len(self.pending) > BAND_BYTES:  # before the last row that begins within the band
            cut = self.pending.rfind(ROW_TAG, low, min(BAND_BYTES, last) + 1)
            cut = cut if cut > low else last
        # Or before the first row too far below the band's header (rows rise in a plain sheet).
        limit = self.band_header + BAND_ROWS
        if int(tail.group(1)) >= limit:  # whichever comes first, that row or the byte cut
            found = self._first_row_from(limit, low, cut or len(self.pending))
            return cut if found is None else found
        return cut

    def _first_row_from(self, limit: int, low: int, high: int) -> int | None:
        """Where the first row numbered ``limit`` or more starts in pending[low:high] (found by
        halving: rows rise), or None if it is the band's first."""
        while high - low > 4096:
            middle = (low + high) // 2
            start = self.pending.find(ROW_TAG, middle, high)
            found = ROW_NUMBER.match(self.pending, start) if start >= 0 else None
            if found is None:
                high = middle
            elif int(found.group(1)) >= limit:
                high = start + 1
            else:
                low = start + 1
        for row in ROW_NUMBER.finditer(self.pending, low, high + len(b'<row r="1048576"')):
            if int(row.group(1)) >= limit:
                return row.start() if row.start() > 0 else None
        return None

    def _band(self, cut: int) -> None:
        header = b"" if self._first_band else _renumbered(
            self.header, self.band_header)
        with memoryview(self.pending) as content:
            self.write(content[:cut], self.band_header, header, self.start + cut)
        del self.pending[:cut]
        self.start += cut
        found = ROW_NUMBER.match(self.pending)
        if found is not None:
            self.band_header = int(found.group(1)) - 1
        elif self.pending:
            self.failed = True


def _renumbered(header: bytes, row: int) -> bytes:
    """The header row's XML moved to ``row``: the row's number and its cells' addresses."""
    moved = ROW_START.sub(b'<row r="%d"' % row, header, count=1)
    return CELL_ROW.sub(rb'\g<1>%d"' % row, moved)


def _workbook(sheets: list[str], date_1904: bool) -> str:
    entries = "".join(f'<sheet name="{name}" sheetId="{i}" r:id="rId{i}"/>'
                      for i, name in enumerate(sheets, 1))
    system = '<workbookPr date1904="1"/>' if date_1904 else ""
    return (f'<workbook xmlns="{SPREADSHEET_MAIN}" xmlns:r="{OFFICE_RELATIONSHIPS}">{system}'
            f"<sheets>{entries}</sheets></workbook>")


def _relationships(sheets: list[str], companions: dict[str, str]) -> str:
    kinds = {name: kind for kind, name in COMPANIONS.items()}
    entries = [(f"worksheets/{sheet}.xml", "worksheet") for sheet in sheets]
    entries += [(name.removeprefix("xl/"), kinds[name]) for name in companions]
    listed = "".join(f'<Relationship Id="rId{i}" Type="{OFFICE_RELATIONSHIPS}/{kind}" '
                     f'Target="{target}"/>'
                     for i, (target, kind) in enumerate(entries, 1))
    return f'<Relationships xmlns="{PACKAGE_RELATIONSHIPS}">{listed}</Relationships>'


ROOT_RELATIONSHIPS = (
    f'<Relationships xmlns="{PACKAGE_RELATIONSHIPS}"><Relationship Id="rId1" '
    f'Type="{OFFICE_RELATIONSHIPS}/officeDocument" Target="{WORKBOOK}"/></Relationships>')
CONTENT_TYPES = (
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Default Extension="rels" '
    'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/></Types>')
