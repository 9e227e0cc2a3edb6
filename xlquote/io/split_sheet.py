"""A big sheet read on several threads: its XML cut at row boundaries into small workbooks.

fastexcel parses a sheet on one thread, however many cores there are. So a big sheet's XML is
inflated here (zlib-ng: ~5× faster than the standard zlib), cut before a ``<row `` element
every ~12 MB, and each piece wrapped as a workbook of its own, stored (not compressed): the
original's parts fastexcel reads when it opens a workbook (content types, relationships,
workbook, styles, shared strings) and one sheet holding the original sheet's opening (up to
``<sheetData>``), a copy of the header row renumbered to stand just above the piece's first
row, and the piece's rows. fastexcel reads the pieces on a thread pool (it releases the GIL)
while the next ones are being cut. On two cores a million rows read in ~60 % of the time of
one read, with half its peak memory (``bench/README.md``).

The pieces are used only when together they say what one read of the whole sheet says (same
header, one kind of cell per column, every row where it belongs); otherwise
``read_split_sheet`` returns None and the caller reads the sheet whole. A ``<row `` in the
XML always starts a row element (``<`` cannot stand in text or attribute values), except in
comments or CDATA sections: a sheet holding either is read whole.
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from ..parallel import workers
from .package import WORKBOOK, WORKBOOK_RELATIONSHIPS, workbook_part, workbook_relationships

try:  # the same API as zlib, ~5× faster at inflating; zlib where no wheel is available
    from zlib_ng import zlib_ng as zlib
except ImportError:  # pragma: no cover
    import zlib

SPLIT_FROM_BYTES = 32 * 2**20  # a smaller sheet (~70,000 rows) reads whole about as fast
PIECE_BYTES = 12 * 2**20
SHARED_STRINGS_SHARE = 0.25  # each piece re-reads the shared strings: at most this much extra
INFLATE_BLOCK = 2**20  # compressed bytes inflated per step
MAX_THREADS = 8  # one thread cuts the pieces: beyond this many readers it could not keep up
MAX_OPENING = 2**20  # the sheet's XML before <sheetData>: views, columns, ...

ROW_START = b"<row "
SHEET_DATA = re.compile(rb"<sheetData\s*>")
SHEET_DATA_END = b"</sheetData>"
CLOSING = b"</sheetData></worksheet>"
ROOT_ELEMENT = re.compile(rb"<(?![?!])([\w:.-]+)")
DIMENSION = re.compile(rb"<dimension\b[^>]*/>")
ROW_NUMBER = re.compile(rb"<row\b[^>]*?\sr=\"(\d+)\"")
MAX_BANGS = 100_000  # '!' per inflated block worth checking one by one
LOCAL_HEADER = struct.Struct("<4s22xHH")
LOCAL_HEADER_SIGNATURE = b"PK\x03\x04"
# The stored zip of a piece (APPNOTE 4.3.7, 4.3.12, 4.3.16): local entries, central
# directory, its end. Entries dated 1980-01-01, names flagged UTF-8 when not ASCII.
LOCAL_ENTRY = struct.Struct("<4sHHHHHIIIHH")
CENTRAL_ENTRY = struct.Struct("<4sHHHHHHIIIHHHHHII")
END_OF_DIRECTORY = struct.Struct("<4sHHHHIIH")
CENTRAL_SIGNATURE, END_SIGNATURE = b"PK\x01\x02", b"PK\x05\x06"
STORED_VERSION = 20
UTF8_NAMES = 0x800
ZIP_TIME, ZIP_DATE = 0, (0 << 9) | (1 << 5) | 1  # 1980-01-01 00:00
ZIP64_LIMIT = 0xFFFFFFFF
OPENING_PART_TYPES = ("/styles", "/sharedStrings")


class CannotSplit(Exception):
    """The sheet is not one this module can cut safely; read it whole."""


@dataclass(frozen=True)
class SheetPiece:
    workbook: bytes  # a stored zip: the opening parts and this piece's sheet
    first_row: int  # sheet row number of the piece's first data row
    row_slots: int | None  # rows up to the next piece's first row (None: the last piece)


def read_split_sheet(path: Path, part: str, sheet_name: str, header_row: int
                     ) -> tuple[Any, np.ndarray] | None:
    """The sheet as one Arrow table and each of its rows' sheet row numbers, read in
    pieces on several threads; None when the sheet is small, cannot be cut safely, or its
    pieces do not agree (the caller then reads it whole)."""
    threads = min(workers(), MAX_THREADS)
    if threads < 2:
        return None
    try:
        with zipfile.ZipFile(path) as archive:
            info = archive.getinfo(part)
            if info.file_size < SPLIT_FROM_BYTES:
                return None
            opening_parts = _opening_parts(archive, part)
        shared = sum(len(data) for name, data in opening_parts.items() if "sharedStrings" in name)
        piece_bytes = max(PIECE_BYTES, int(shared / SHARED_STRINGS_SHARE))
        piece_bytes = min(piece_bytes, info.file_size // threads + 1)
        pieces = split_sheet(path, info, opening_parts, header_row, piece_bytes)
        batches = _read_pieces(pieces, sheet_name, threads)
    except (CannotSplit, zipfile.BadZipFile, KeyError, ValueError, OSError, zlib.error):
        return None
    return combine_pieces(batches)


def _read_pieces(pieces: Iterator[SheetPiece], sheet_name: str, threads: int
                 ) -> list[tuple[SheetPiece, Any]]:
    """Each piece (its workbook dropped) with its record batch, in order. Pieces are cut while
    earlier ones are read, at most ``threads`` + 1 waiting, so only a few workbooks are held at
    once; a piece that fails stops the cutting."""
    import fastexcel

    def read(piece: SheetPiece) -> Any:
        try:
            return fastexcel.read_excel(piece.workbook).load_sheet(
                sheet_name, schema_sample_rows=None, dtype_coercion="strict", eager=True)
        except fastexcel.FastExcelError as exc:  # a mixed column, ...: the whole read decides
            raise CannotSplit(str(exc)) from None

    read_so_far: list[tuple[SheetPiece, Future[Any]]] = []
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="xlquote-piece") as pool:
        try:
            for piece in pieces:
                waiting = [future for _, future in read_so_far if not future.done()]
                if len(waiting) > threads:
                    waiting[0].result()
                for _, future in read_so_far[-threads - 2:]:
                    if future.done():
                        future.result()  # raises the failure of a piece read meanwhile
                # the pool's work item holds the workbook until it is read, this list does not
                read_so_far.append((replace(piece, workbook=b""), pool.submit(read, piece)))
                del piece
            return [(piece, future.result()) for piece, future in read_so_far]
        finally:
            for _, future in read_so_far:
                future.cancel()


def split_sheet(path: Path, info: zipfile.ZipInfo, opening_parts: dict[str, bytes],
                header_row: int, piece_bytes: int) -> Iterator[SheetPiece]:
    """The sheet's pieces, cut as its XML is inflated. Raises CannotSplit."""
    blocks = _inflate(path, info)
    buffer = bytearray()
    found = None
    for block in blocks:
        _append(buffer, block)
        if (found := SHEET_DATA.search(buffer)) or len(buffer) > MAX_OPENING:
            break
    if not found or found.start() > MAX_OPENING:
        raise CannotSplit("no <sheetData> near the start")
    opening = DIMENSION.sub(b"", bytes(buffer[:found.end()]))  # a size hint for the whole sheet
    root = ROOT_ELEMENT.search(opening)
    if root is None or root.group(1) != b"worksheet":
        raise CannotSplit("the sheet's root is not <worksheet>")
    del buffer[:found.end()]

    make = partial(_piece, StoredParts(opening_parts), info.filename, opening, header_row)
    header: bytes | None = None
    header_end, first_row, finished = 0, header_row + 1, False
    searched = 0  # the buffer before this holds no </sheetData>
    while not finished:
        block = next(blocks, None)
        if block is not None:
            _append(buffer, block)
        end = buffer.find(SHEET_DATA_END, max(0, searched - len(SHEET_DATA_END)))
        searched = len(buffer)
        finished = block is None or end >= 0
        if finished:
            if end < 0:
                raise CannotSplit("no </sheetData>")
            del buffer[end:]
        if header is None:
            header, header_end = _header_row(buffer, header_row, finished or
                                             len(buffer) > piece_bytes)
            if header is None:
                continue
        while len(buffer) >= piece_bytes:
            lower = (header_end if first_row == header_row + 1 else 0) + 1  # a row in each piece
            cut = buffer.rfind(ROW_START, lower, piece_bytes)
            if cut < 0:  # rows longer than a piece: cut after the next one instead
                cut = buffer.find(ROW_START, max(lower, piece_bytes))
                if cut < 0:
                    break
            next_row = _row_number(buffer, cut)
            if next_row <= first_row:
                raise CannotSplit("rows out of order")
            with memoryview(buffer) as view, view[:cut] as body:
                piece = make(header, body, first_row, next_row - first_row)
            yield piece
            del buffer[:cut]
            searched -= cut
            first_row = next_row
    assert header is not None
    yield make(header, buffer, first_row, None)


def _append(buffer: bytearray, block: bytes) -> None:
    """Add inflated XML, refusing comments and CDATA sections (``<!`` across the seam too).
    The scan looks for the rare ``!`` (memchr-fast), then at the byte before it."""
    at = len(buffer)
    buffer += block
    bangs = 0
    while (at := buffer.find(b"!", at)) >= 0:
        if at and buffer[at - 1] == ord("<"):
            raise CannotSplit("the sheet holds comments or CDATA")
        bangs += 1
        if bangs > MAX_BANGS:  # text full of "!": not worth the scan
            raise CannotSplit("too many '!' to check")
        at += 1


def _header_row(buffer: bytearray, header_row: int, must_be_in: bool
                ) -> tuple[bytes | None, int]:
    """The header row's element and where the rows after it start (None until it is in)."""
    tag = re.compile(rb"<row\b[^>]*?\sr=\"" + str(header_row).encode() + rb"\"[^>]*>")
    found = tag.search(buffer)
    end = buffer.find(b"</row>", found.end()) if found else -1
    if found and found.group(0).endswith(b"/>"):
        raise CannotSplit("an empty header row")
    if end < 0:
        if must_be_in:
            raise CannotSplit("the header row was not found")
        return None, 0
    return bytes(buffer[found.start():end + len(b"</row>")]), end + len(b"</row>")


def _row_number(buffer: bytearray, at: int) -> int:
    found = ROW_NUMBER.match(buffer, at)
    if found is None:
        raise CannotSplit("a row without its row number")
    return int(found.group(1))


def _piece(opening_parts: StoredParts, part: str, opening: bytes, header_row: int,
           header: bytes, body: bytes | bytearray | memoryview, first_row: int,
           row_slots: int | None) -> SheetPiece:
    """One piece as a stored workbook. The first piece holds the sheet's own header row (and
    whatever stands above it); later ones a copy renumbered to just above their first row,
    so that fastexcel's table starts there."""
    above = b"" if first_row == header_row + 1 else _renumbered(header, header_row, first_row - 1)
    return SheetPiece(opening_parts.with_part(part, (opening, above, body, CLOSING)), first_row,
                      row_slots)


class StoredParts:
    """Zip entries stored (not compressed), laid out once; ``with_part`` adds one more and
    gives the whole archive in one join. Written here rather than by ``zipfile``: a piece's
    ~12 MB then costs one copy and zlib-ng's CRC (``zipfile`` copies it three times and takes
    the standard zlib's CRC, ~4× slower: 0.25 s of a million rows' cutting)."""

    def __init__(self, parts: dict[str, bytes]) -> None:
        self._local: list[bytes] = []
        self._central: list[bytes] = []
        for name, data in parts.items():
            local, central = self._entry(name, (data,), self._offset())
            self._local += local
            self._central.append(central)

    def _offset(self) -> int:
        return sum(map(len, self._local))

    @staticmethod
    def _entry(name: str, chunks: Sequence[bytes | bytearray | memoryview], offset: int
               ) -> tuple[list[bytes | bytearray | memoryview], bytes]:
        """A stored entry at ``offset``: its local header and data, its central record."""
        crc, size = 0, 0
        for chunk in chunks:
            crc = zlib.crc32(chunk, crc)
            size += len(chunk)
        encoded = name.encode()
        if offset + LOCAL_ENTRY.size + len(encoded) + size >= ZIP64_LIMIT:
            raise CannotSplit("a piece too big for a plain zip")
        flags = 0 if encoded.isascii() else UTF8_NAMES
        fields = (STORED_VERSION, flags, zipfile.ZIP_STORED, ZIP_TIME, ZIP_DATE, crc, size, size,
                  len(encoded))
        local = LOCAL_ENTRY.pack(LOCAL_HEADER_SIGNATURE, *fields, 0)
        central = CENTRAL_ENTRY.pack(CENTRAL_SIGNATURE, STORED_VERSION, *fields,
                                     0, 0, 0, 0, 0, offset) + encoded
        return [local, encoded, *chunks], central

    def with_part(self, name: str, chunks: Sequence[bytes | bytearray | memoryview]) -> bytes:
        """The archive of these entries and ``name`` holding ``chunks`` joined."""
        offset = self._offset()
        local, central = self._entry(name, chunks, offset)
        directory = b"".join((*self._central, central))
        count = len(self._central) + 1
        end = END_OF_DIRECTORY.pack(END_SIGNATURE, 0, 0, count, count, len(directory),
                                    offset + sum(map(len, local)), 0)
        return b"".join((*self._local, *local, directory, end))


def _renumbered(row: bytes, old: int, new: int) -> bytes:
    """The header row element moved from row ``old`` to row ``new`` (its r and its cells')."""
    return re.sub(rb"(\sr=\"[A-Z]{0,3})" + str(old).encode() + rb"\"",
                  lambda m: m.group(1) + str(new).encode() + b'"', row)


def _inflate(path: Path, info: zipfile.ZipInfo) -> Iterator[bytes]:
    """The zip member's content, block by block, checked against its CRC at the end."""
    if info.flag_bits & 0x1 or info.compress_type not in (zipfile.ZIP_STORED,
                                                          zipfile.ZIP_DEFLATED):
        raise CannotSplit("encrypted or an unusual compression")
    with path.open("rb") as handle:
        handle.seek(info.header_offset)
        header = handle.read(LOCAL_HEADER.size)
        if len(header) < LOCAL_HEADER.size:
            raise CannotSplit("a damaged zip entry")
        signature, name_length, extra_length = LOCAL_HEADER.unpack(header)
        if signature != LOCAL_HEADER_SIGNATURE:
            raise CannotSplit("a damaged zip entry")
        handle.seek(name_length + extra_length, io.SEEK_CUR)
        remaining = info.compress_size
        inflater = zlib.decompressobj(-15) if info.compress_type == zipfile.ZIP_DEFLATED else None
        crc = 0
        while remaining > 0:
            data = handle.read(min(INFLATE_BLOCK, remaining))
            if not data:
                raise CannotSplit("the zip entry is cut short")
            remaining -= len(data)
            block = inflater.decompress(data) if inflater else data
            crc = zlib.crc32(block, crc)
            yield block
        if inflater:
            tail = inflater.flush()
            crc = zlib.crc32(tail, crc)
            yield tail
    if crc != info.CRC:
        raise CannotSplit("the sheet's CRC does not match")


def _opening_parts(archive: zipfile.ZipFile, sheet_part: str) -> dict[str, bytes]:
    """The parts fastexcel reads when it opens a workbook: content types, the package's and
    the workbook's relationships, the workbook, its styles (date formats) and shared strings.
    The other sheets, pictures, macros, ... are left out."""
    from defusedxml.ElementTree import fromstring

    names = ["[Content_Types].xml", "_rels/.rels", WORKBOOK, WORKBOOK_RELATIONSHIPS]
    names += [workbook_part(relation.get("Target") or "")
              for relation in workbook_relationships(archive, fromstring)
              if (relation.get("Type") or "").endswith(OPENING_PART_TYPES)]
    return {name: archive.read(name) for name in names if name != sheet_part}


def combine_pieces(pieces: Sequence[tuple[SheetPiece, Any]]) -> tuple[Any, np.ndarray] | None:
    """One table of the pieces' batches (each column chunked by piece, not concatenated: the
    sheet's cells are not copied a second time), and each row's sheet row number; None
    when they disagree on the header or on a column's kind of cell (a column mixing kinds
    across pieces is a mixed column of the whole sheet), or a piece has rows beyond its
    share."""
    import pyarrow as pa

    first = pieces[0][1]
    names = first.schema.names
    numbers = []
    for piece, batch in pieces:
        if batch.schema.names != names:
            return None
        if piece.row_slots is not None and batch.num_rows > piece.row_slots:
            return None
        numbers.append(np.arange(piece.first_row, piece.first_row + batch.num_rows))
    columns = []
    for index in range(len(names)):
        chunks = [batch.column(index) for _, batch in pieces]
        # a piece whose cells of this column are all blank says nothing of its kind (fastexcel
        # calls such a column text)
        kind = _common_type({chunk.type for chunk in chunks if chunk.null_count < len(chunk)}
                            or {chunks[0].type})
        if kind is None:
            return None
        try:
            columns.append(pa.chunked_array([chunk.cast(kind) for chunk in chunks], kind))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return None
    return pa.Table.from_arrays(columns, names=names), np.concatenate(numbers)


def _common_type(types: set[Any]) -> Any:
    """The type one read of the whole column would give, as ``column_to_numpy`` takes it:
    numbers as float64, dates and times as timestamps; None for kinds that differ."""
    import pyarrow as pa

    kinds = set()
    for kind in types:
        if pa.types.is_null(kind):
            continue
        if pa.types.is_floating(kind) or pa.types.is_integer(kind):
            kinds.add(pa.float64())
        elif pa.types.is_timestamp(kind) or pa.types.is_date(kind):
            kinds.add(pa.timestamp("ms"))
        elif pa.types.is_boolean(kind) or pa.types.is_string(kind) or pa.types.is_large_string(kind):
            kinds.add(kind)
        else:
            return None
    if not kinds:
        return pa.null()
    return kinds.pop() if len(kinds) == 1 else None
