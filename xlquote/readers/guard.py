"""Refuse hostile or broken workbook files before any reader opens them.

Every part of the package is inflated once, in bounded memory: never past its declared size,
and refused when it holds more or less than it declares or its CRC does not match (the Rust
readers would inflate a forged part whole and not look at its CRC). XML parts are refused when
they declare a DTD or entities anywhere (not only in their first bytes), or use an encoding
other than the UTF-8 and UTF-16 that Office files use. Besides: not a workbook at all, an old
.xls, too many or too large parts, zip bombs (extreme compression ratios), parts stored twice
(names compared without case, as OPC compares them).

While the sheets xlquote reads are inflated, they are surveyed for what the typed reader must
not be given: cells placed beyond Excel's grid or far to the right (calamine, under fastexcel,
builds a dense grid as wide and tall as the farthest cell), cells or rows placed implicitly,
namespace prefixes, and formulas (whose computed value must be checked cell by cell). A sheet
with any of these is read by the cell-by-cell reader, which is sparse and names each cell.
Their cells are counted on the way: sheets of more than ``Limits.max_sheet_cells`` together are
refused, and no more than ``max_cell_by_cell`` are read cell by cell (``check_cell_by_cell``),
so that no file's shape costs more than a minute and 1 GiB. A sheet the typed reader reads may
be deferred: it is then surveyed in the typed reader's own pass over it, beside the layout
check (``SurveyAlong``), and by a pass of its own (``check_deferred``) only where that pass
cannot settle it.

Shared strings are measured as they are inflated (the byte span of each item, an upper bound of
its text), and the shared-string cells of the sheets xlquote reads counted during the survey:
a workbook whose sheets would expand shared text past SHARED_TEXT_BUDGET (one long string
referenced by many cells, which every reader materialises once per cell) is refused, whichever
reader would read it.
Every refusal is an ``InputError`` naming the file.
"""

from __future__ import annotations

import codecs
import contextlib
import queue
import re
import struct
import threading
import zipfile
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from lxml import etree

from ..deflate import zlib
from ..engine.codes import normalize_text
from ..engine.errors import FILE_FIELD, SHEET_FIELD, InputError, Problem
from ..engine.messages import AS_RECORD_FILES, FILE_NOT_FOUND, file_too_large
from .arrow_search import arrow_view
from .package import (
    EXCEL_MAX_COLUMNS,
    EXCEL_MAX_ROWS,
    MAIN_NS,
    PACKAGE_REL_NS,
    REL_NS,
    WORKBOOK,
    WORKBOOK_RELATIONSHIPS,
    XML_PARSER_OPTIONS,
    column_number,
    workbook_part,
)
from .string_items import SharedItems

OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls and encrypted .xlsx
XML_PART = re.compile(r"\.(xml|rels|vml)$", re.IGNORECASE)
DECLARATIONS = ("DOCTYPE", "ENTITY", "ELEMENT", "ATTLIST", "NOTATION")
DECLARATION = "<!(?:" + "|".join(DECLARATIONS) + ")"  # searched in C: a part of '!' costs nothing
DECLARATION_BYTES = re.compile(DECLARATION.encode())
DECLARATION_TEXT = re.compile(DECLARATION)
ENCODING = re.compile(rb"""^<\?xml[^>]*?\sencoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
LOCAL_HEADER = struct.Struct("<4s22xHH")
DIMENSION = re.compile(rb'<(?:\w+:)?dimension\s+ref="([A-Z]{1,7})?(\d+)?(?::([A-Z]{1,7})(\d+))?"')
INFLATE_INPUT = 2**20  # compressed bytes inflated per step
INFLATE_OUTPUT = 4 * 2**20  # inflated bytes handed on per step
OVERLAP = 256  # bytes of the previous block searched again with the next
# Row numbers beyond Excel's last row (1,048,577 and up), for the survey.
BEYOND_LAST_ROW = (r"(?:[2-9]\d{6}|1[1-9]\d{5}|10[5-9]\d{4}|1049\d{3}|1048[6-9]\d{2}"
                   r"|10485[89]\d|104857[7-9]|\d{8})")
# What sends a sheet to the cell-by-cell reader, in RE2 syntax (Arrow runs it without the GIL),
# one pattern per leading character so that each search skips quickly to its candidates:
# a cell whose first attribute is not r="…" (placed implicitly, quoted otherwise), a cell in
# a column of two letters or more or in a row beyond the grid, a row whose first attribute is
# not r, a formula; a namespace prefix on a cell, row or formula. Searched within <sheetData>
# only, where cells are. (calamine places a cell by its own address, so that is the one that
# must stay within the grid.)
PREFIXED = r":(?:c|row|f)[\s>/]"  # a namespace prefix: searched only where a ':' is
SURVEY = (r"<(?:c(?:[>/\t\r\n]| [^r]| r(?:[^=]|=[^\"]|=\"(?:[A-Za-z]{2}|[A-Za-z]?"
          + BEYOND_LAST_ROW + r")))|f[\s/>]|row(?:[>/\t\r\n]| [^r]))",
          PREFIXED)
SURVEY_BATCH = 4  # blocks searched by one call
# The most text the shared strings may expand to across the sheets xlquote reads. The typed
# reader holds each cell's text (several times over while converting), so this keeps a hostile
# file within the 1 GiB promise; a month of 1M incidents saved with shared strings (by
# LibreOffice) measures ~100 MB.
SHARED_TEXT_BUDGET = 256 * 2**20
# A block whose shared-string cells could expand past this (their count × the longest string)
# has each cell's string looked up; lighter blocks are charged that bound.
SHARED_EXACT_ABOVE = SHARED_TEXT_BUDGET // 1024
SHARED_STRINGS_TYPE = "/sharedStrings"  # a workbook relationship's type ends with it
STYLES_TYPE = "/styles"
# The parts every reader parses first, whole: checked (``_parse_whole``) before any reads them.
WHOLE_PARTS = ("[Content_Types].xml", WORKBOOK, WORKBOOK_RELATIONSHIPS)
TAG_NAME_END = re.compile(rb"[\s>/]")
ITEM_MARKUP = len("<si><t></t></si>")  # the least an item holds besides its text
PRESERVED_ITEM = b'<si><t xml:space="preserve">'  # how most programs begin an item
PRESERVED_MARKUP = len(' xml:space="preserve"')  # then the least markup is this much more
ITEM_START = re.compile(rb"<(?:[\w.-]+:)?si[\s>/]")  # a shared string item, prefixed or not
PLAIN_SHARED_CELL = ' t="s"><v>'  # as every spreadsheet program writes it
SHARED_CELL = re.compile(rb"""(?<![\w:.-])t\s*=\s*["']s["']""")  # a cell of type s
# A shared-string cell's index: t="s", the start tag's other attributes, then its <v>. Cells
# written otherwise (a formula first, an escaped index, …) are charged the longest string.
SHARED_INDEX = re.compile(SHARED_CELL.pattern + rb"""(?:\s+[\w:.-]+\s*=\s*(?:"[^"]*"|'[^']*'))*"""
                          rb"""\s*>\s*<(?:[\w.-]+:)?v>\s*\+?(\d{1,9})\s*</""")
CELL_TAG = r"<c[ \t\r\n>/]"  # a cell's start tag (its name, then what may end it)
SURVEY_THREADS = 2  # batches searched at once (the regex search is the survey's bulk)


@dataclass(frozen=True)
class Limits:
    max_file_bytes: int = 512 * 2**20
    max_parts: int = 10_000
    max_uncompressed_bytes: int = 4 * 2**30
    max_ratio: int = 200  # xlsx XML compresses ~10–30×; bombs reach thousands
    ratio_applies_above: int = 16 * 2**20
    # A sheet xlquote reads, inflated: bounds the time any read path takes (a million-incident
    # month measures 441 MB; its sheet could hold three times as much and still be read).
    max_sheet_bytes: int = 1536 * 2**20
    # The most cells the sheets xlquote reads may hold (a month of a million incidents holds
    # ~7.3 million), and the most those read cell by cell may (where not plain), together: ~2 µs
    # and ~60 bytes a cell typed, up to ~10 µs and ~200 bytes a cell one by one (a formula
    # never calculated in each), so that any file is read within a minute and 1 GiB.
    max_sheet_cells: int = 12_000_000
    max_cell_by_cell: int = 2_500_000
    # Shared strings, items and inflated bytes: every reader loads them all, whichever cells
    # point at them (a month of 1M incidents saved by Excel holds ~1M items in ~100 MB).
    max_shared_strings: int = 2_000_000
    max_shared_strings_bytes: int = 256 * 2**20
    # The parts every reader parses whole into a tree (WHOLE_PARTS, and the styles), each
    # parsed up to five times, two trees at once: past these they are refused before any
    # parse. Nodes are elements and attributes, ~500 bytes each over all the parses (2.4
    # million attributes in 16 MB took 1.24 GB; 590,000 in the workbook and as many in its
    # relationships, 800 MB). Excel holds at most 64,000 cell formats (~7 MB, ~500,000 nodes
    # of styles); a workbook of 10,000 sheets lists them in ~1.3 MB (~50,000 nodes).
    max_whole_part_bytes: int = 16 * 2**20
    max_whole_part_nodes: int = 200_000
    max_styles_nodes: int = 600_000


@dataclass
class CheckedWorkbook:
    """What the check found out on the way: the part of each sheet asked for (by the name
    asked), and which of them the typed reader may be given. Sheets whose check was deferred
    (``check_workbook_file(defer=…)``) are checked by ``check_deferred`` before being read."""

    path: Path
    sheet_parts: dict[str, str] = field(default_factory=dict)
    plain_sheets: set[str] = field(default_factory=set)  # parts the survey found plain
    deferred: set[str] = field(default_factory=set)  # parts not checked yet
    shared_strings: SharedStringSizes | None = None  # None: the workbook has none
    shared_text: int = 0  # bytes of shared text the surveyed sheets expand to (an upper bound)
    cells: dict[str, int] = field(default_factory=dict)  # part → the cells the survey counted
    limits: Limits = field(default_factory=Limits)
    cell_by_cell: int = 0  # cells of the sheets begun cell by cell (two threads read sheets)
    _counting: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def check_deferred(self, sheets: Sequence[str]) -> CheckedWorkbook:
        """Check (and survey) the deferred parts of ``sheets``; raises as the check does."""
        names = [name for name in sheets if self.sheet_parts.get(name) in self.deferred]
        if names:
            with (refused_if_damaged(self.path), zipfile.ZipFile(self.path) as archive,
                  self.path.open("rb") as raw):
                for name in names:
                    part = self.sheet_parts[name]
                    self.survey(raw, archive.getinfo(part), name)
                    self.deferred.discard(part)
        return self

    def survey_along(self, sheet: str) -> SurveyAlong | None:
        """The survey of the deferred ``sheet`` made along the typed reader's layout check, or
        None where the sheet is not deferred or cannot be the typed reader's anyway (shared
        strings not written plainly: ``check_deferred`` then surveys it)."""
        part = self.sheet_parts.get(sheet)
        if part is None or part not in self.deferred or not (
                self.shared_strings is None or self.shared_strings.plain):
            return None
        return SurveyAlong(self, part)

    def check_cell_by_cell(self, sheet: str) -> None:
        """Refuse to read ``sheet`` cell by cell where it would take the cells of the sheets
        read that way past max_cell_by_cell."""
        cells, most = self.cells.get(self.sheet_parts.get(sheet, ""), 0), self.limits.max_cell_by_cell
        with self._counting:
            self.cell_by_cell += cells
            total = self.cell_by_cell
        if total > most:
            counted = f"{cells:,} 個" if total == cells else (
                f"このシート {cells:,} 個、1 セルずつ読むシートの合計 {total:,} 個")
            raise InputError([Problem(None, SHEET_FIELD, sheet, (
                f"セルが多すぎて 1 つずつは読めません ({counted}。上限 {most:,} 個)。"
                "数式を含むシートや、Excel 以外のプログラムが書いたシートは 1 セルずつ読みます。"
                f"数式を値にして Excel で保存し直すか、{AS_RECORD_FILES}"), sheet)])

    def survey(self, raw: Any, info: zipfile.ZipInfo, sheet: str) -> None:
        """Survey one sheet's part (``_survey_plain``); refused when the sheets surveyed so far
        hold more than max_sheet_cells cells, or their shared text passes SHARED_TEXT_BUDGET."""
        plain, shared_text, cells = _survey_plain(self.path, raw, info, self.shared_strings)
        self.cells[info.filename] = cells
        total, most = sum(self.cells.values()), self.limits.max_sheet_cells
        if total > most:
            counted = f"{cells:,} 個" if total == cells else (
                f"読むシートの合計 {total:,} 個")
            raise _refuse(self.path, f"シート {sheet} のセルが多すぎます ({counted}。上限 "
                                     f"{most:,} 個)。{NOT_TRUSTED}。本当にこれだけの記録なら、"
                                     f"{AS_RECORD_FILES}")
        if plain and (self.shared_strings is None or self.shared_strings.plain):
            self.plain_sheets.add(info.filename)
        self.shared_text += shared_text
        if self.shared_text > SHARED_TEXT_BUDGET:
            raise _refuse(self.path, f"シート {sheet} までの共有文字列を展開すると "
                                     f"{self.shared_text:,} バイトになります (上限 "
                                     f"{SHARED_TEXT_BUDGET:,} バイト。共有文字列爆弾の疑い)。"
                                     f"{NOT_TRUSTED}。本当にこれだけの文字がある記録なら、"
                                     f"{AS_RECORD_FILES}")


class SurveyAlong:
    """The survey of one deferred sheet made in the typed reader's single pass over its part,
    beside the layout check (``sheet_layout.plain_layout``), instead of in a pass of its own
    before it. The part's verified blocks are scanned for declarations and measured for shared
    text as they are handed to the check, and each run of sheetData the check finds plain is
    charged its cells. The layout check's conditions are the survey's (a cell or row placed
    implicitly or beyond the grid, a namespace prefix) made exact, but for formulas, which it
    lets through and which are looked for here: it finds plain only sheets the typed reader
    reads as the cell-by-cell reader does. (The survey's patterns also match inside text: a
    description holding ":c " sent its sheet cell by cell; here it is read typed, to the same
    records.) Where a limit would be passed, a formula is met or the layout is not plain, the
    sheet is not settled, and ``check_deferred`` surveys the part as before, so that every
    refusal reads as on the other read paths. The counts here bound the survey's from above
    (cells cut where blocks meet, and a last block cut at sheetData's end, are counted), so that
    nothing settled here would be refused there. Refusals met on the way (a DTD, a forged size
    or CRC, a damaged archive) are the survey's own, raised in the same order."""

    def __init__(self, checked: CheckedWorkbook, part: str) -> None:
        self.checked, self.part = checked, part
        self.cells = 0  # counted in the runs of sheetData charged
        self.shared_text = 0  # measured over the pieces of the blocks handed on
        self.within = True  # no limit passed, no formula met
        self.whole = False  # every block of the part handed on, its size and CRC checked

    def blocks(self) -> Iterator[bytes]:
        """The part's blocks (``_verified_blocks``), each scanned for declarations and measured
        for shared text before it is handed on; they stop early (the sheet is then not settled)
        once the shared text would pass the budget, or where the part is not UTF-8."""
        path, strings = self.checked.path, self.checked.shared_strings
        scan, pieces = _DeclarationScan(path, self.part), _SheetDataPieces()
        for block in part_blocks(path, self.part):
            scan.feed(block)
            if scan.decoder is not None:
                return  # UTF-16: never the typed reader's
            if strings is not None and strings.longest:
                self.shared_text += sum(_shared_text(piece, arrow_view(piece), strings)
                                        for piece in pieces.add(block))
                if self.checked.shared_text + self.shared_text > SHARED_TEXT_BUDGET:
                    self.within = False
                    return
            yield block
        self.whole = True

    def charge(self, cells: int, formulas: bool) -> bool:
        """Charge a run of sheetData the layout check found plain, holding ``cells`` cells;
        False where it holds ``formulas`` or the cells of the sheets read would pass
        max_sheet_cells."""
        self.cells += cells
        checked = self.checked
        self.within = self.within and not formulas and (
            sum(checked.cells.values()) + self.cells <= checked.limits.max_sheet_cells)
        return self.within

    def settle(self) -> bool:
        """Once the layout check found the whole part plain: record the survey as ``survey``
        does (True), or leave the part to ``check_deferred`` (False)."""
        if not (self.whole and self.within):
            return False
        checked = self.checked
        checked.cells[self.part] = self.cells
        checked.shared_text += self.shared_text
        checked.plain_sheets.add(self.part)
        checked.deferred.discard(self.part)
        return True


class _SheetDataPieces:
    """A part's blocks cut as the survey cuts them (``_survey_plain``): from '<sheetData' on,
    each block, after the bytes where it meets the one before."""

    def __init__(self) -> None:
        self.started, self.tail = False, b""

    def add(self, piece: bytes) -> list[bytes]:
        """The pieces ``piece`` (the next block) adds: where it meets the one before, then it."""
        if not self.started:  # the cells begin at <sheetData>
            at = piece.find(b"<sheetData")
            self.started, piece = at >= 0, piece[max(at, 0):] if at >= 0 else b""
        if not piece:
            return []
        met, self.tail = self.tail + piece[:OVERLAP], piece[-OVERLAP:]
        return [met, piece]


@dataclass(frozen=True)
class SharedStringSizes:
    """Upper bounds of the shared strings' text in UTF-8 bytes: ``bounds[i]`` of item i,
    ``longest`` of any item."""

    longest: int
    bounds: np.ndarray | None  # None: no item may be told apart; every one costs ``longest``
    plain: bool = True  # every item written plainly (string_items): calamine reads it alike
    items: int = 0  # the items found

    def charge(self, indices: np.ndarray) -> int:
        if self.bounds is None:
            return len(indices) * self.longest
        known = indices[indices < len(self.bounds)]  # the others: a missing string, refused
        return int(self.bounds[known].sum(dtype=np.int64))


def _refuse(path: Path, reason: str) -> InputError:
    return InputError([Problem(None, FILE_FIELD, path.name, reason)])


# What the clerk can do about a file refused for how it is made (not for what it says).
RESAVE = "Excel で開いて .xlsx か .xlsm で保存し直してください"
NOT_TRUSTED = "壊れているか、細工されたファイルです。元のブックを使うか、送り主に確かめてください"


def damaged_archive(exc: BaseException) -> str:
    return f"ブックのファイルが壊れています ({exc})。{RESAVE}"


@contextlib.contextmanager
def refused_if_damaged(path: Path) -> Iterator[None]:
    """What a damaged archive raises while a part is read (a bad header, truncated or corrupt
    deflate data) refused as one, naming the file."""
    try:
        yield
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, zlib.error) as exc:
        raise _refuse(path, damaged_archive(exc)) from None


def check_workbook_file(path: str | Path, limits: Limits = Limits(),
                        sheets: Sequence[str] = (), defer: Sequence[str] = ()
                        ) -> CheckedWorkbook:
    """Raise InputError when ``path`` is not a workbook we can safely read. ``sheets``: the
    sheets the caller will read (matched by folded name; two sheets that fold to the same name
    are refused), surveyed for the typed reader. The parts of the ``defer`` sheets are left for
    ``CheckedWorkbook.check_deferred`` (so that a big sheet is checked on another thread while
    the others are read); nothing may read them before."""
    path = Path(path)
    if not path.is_file():
        raise _refuse(path, FILE_NOT_FOUND)
    size = path.stat().st_size
    if size > limits.max_file_bytes:
        raise _refuse(path, file_too_large(size, limits.max_file_bytes))
    with path.open("rb") as handle:
        head = handle.read(8)
    if head == OLE2_MAGIC:
        raise _refuse(path, "古い形式 (.xls、Excel 97-2003) か、パスワードで保護されたブックです。"
                            "パスワードを外して .xlsx か .xlsm で保存し直してください")
    if not zipfile.is_zipfile(path):
        raise _refuse(path, "Excel のブック (.xlsx / .xlsm) ではありません。ファイルを確かめて"
                            "ください")
    with refused_if_damaged(path), zipfile.ZipFile(path) as archive, path.open("rb") as raw:
        return _check_archive(path, archive, raw, limits, sheets, defer)


def _check_archive(path: Path, archive: zipfile.ZipFile, raw: Any, limits: Limits,
                   sheets: Sequence[str], defer: Sequence[str]) -> CheckedWorkbook:
    infos = archive.infolist()
    if len(infos) > limits.max_parts:
        raise _refuse(path, f"ブックの中の部品が多すぎます ({len(infos):,} 個。上限は "
                            f"{limits.max_parts:,} 個)")
    names = [info.filename for info in infos]
    # Part names are compared without case (OPC): a reader may take either of two that differ
    # only in case.
    by_folded: dict[str, list[str]] = {}
    for name in names:
        by_folded.setdefault(name.lower(), []).append(name)
    twice = sorted(found for found in by_folded.values() if len(found) > 1)
    if twice:
        first, *others = twice[0]
        said = f"部品 {first} が 2 回入っています" if first in others else (
            f"部品 {first} と {others[0]} は名前の大文字・小文字だけが違う同じ部品です")
        raise _refuse(path, f"{said} (どちらを読むかで内容が変わります)。{NOT_TRUSTED}")
    if "[Content_Types].xml" not in names or WORKBOOK not in names:
        raise _refuse(path, "Excel のブックではありません (xl/workbook.xml がありません)")
    total = sum(info.file_size for info in infos)
    if total > limits.max_uncompressed_bytes:
        raise _refuse(path, f"展開すると {total:,} バイトになります (上限 "
                            f"{limits.max_uncompressed_bytes:,} バイト。zip 爆弾の疑い)。"
                            f"{NOT_TRUSTED}")
    for info in infos:
        if (info.file_size > limits.ratio_applies_above
                and info.file_size > limits.max_ratio * max(info.compress_size, 1)):
            raise _refuse(path, f"部品 {info.filename} が {info.compress_size:,} バイトから "
                                f"{info.file_size:,} バイトに展開されます (zip 爆弾の疑い)。"
                                f"{NOT_TRUSTED}")
        if info.flag_bits & 0x1:
            raise _refuse(path, f"部品 {info.filename} が暗号化されています。{RESAVE}")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise _refuse(path, f"部品 {info.filename} の圧縮方式 ({info.compress_type}) は"
                                f"ブックでは使われないものです。{RESAVE}")
    checked = CheckedWorkbook(path, limits=limits)
    trees = {name: _parse_whole(path, name, _whole_part(path, raw, archive.getinfo(name), limits,
                                                        limits.max_whole_part_nodes))
             for name in WHOLE_PARTS if name in archive.NameToInfo}
    relationships = list(trees[WORKBOOK_RELATIONSHIPS].iter(f"{PACKAGE_REL_NS}Relationship")
                         ) if WORKBOOK_RELATIONSHIPS in trees else []
    styles = _related_parts(archive, relationships, STYLES_TYPE, "xl/styles.xml")
    for name in styles:
        _whole_part(path, raw, archive.getinfo(name), limits, limits.max_styles_nodes)
    opening = (*WHOLE_PARTS, *styles)
    measured: list[str] = []
    if sheets:
        checked.sheet_parts = _sheet_parts(archive, trees[WORKBOOK], relationships, sheets)
        for name, part in checked.sheet_parts.items():
            size = archive.getinfo(part).file_size
            if size > limits.max_sheet_bytes:
                raise _refuse(path, f"シート {name} が大きすぎます (展開すると {size:,} バイト。上限 "
                                    f"{limits.max_sheet_bytes:,} バイト)。{NOT_TRUSTED}。本当に"
                                    f"これだけの記録なら、{AS_RECORD_FILES}")
        measured = _related_parts(archive, relationships, SHARED_STRINGS_TYPE,
                                  "xl/sharedstrings.xml")
        for info in map(archive.getinfo, measured):
            if info.file_size > limits.max_shared_strings_bytes:
                raise _refuse(path, f"共有文字列 ({info.filename}) が大きすぎます (展開すると "
                                    f"{info.file_size:,} バイト。上限 "
                                    f"{limits.max_shared_strings_bytes:,} バイト)。{NOT_TRUSTED}")
        checked.shared_strings = _merged([_measure_shared_strings(
            path, info.filename, _verified_blocks(path, raw, info))
            for info in map(archive.getinfo, measured)])
        items = 0 if checked.shared_strings is None else checked.shared_strings.items
        if items > limits.max_shared_strings:
            raise _refuse(path, f"共有文字列が多すぎます ({items:,} 個。上限 "
                                f"{limits.max_shared_strings:,} 個)。{NOT_TRUSTED}。本当にこれだけの"
                                f"記録なら、{AS_RECORD_FILES}")
    surveyed = {part: name for name, part in checked.sheet_parts.items()}
    checked.deferred = {checked.sheet_parts[name] for name in defer if name in checked.sheet_parts}
    for info in infos:
        if info.filename in opening or info.filename in checked.deferred or \
                info.filename in measured:
            continue
        if info.filename in surveyed:
            checked.survey(raw, info, surveyed[info.filename])
        elif XML_PART.search(info.filename):
            _check_xml_part(path, info.filename, _verified_blocks(path, raw, info))
        else:
            for _ in _verified_blocks(path, raw, info):
                pass
    return checked


def _whole_part(path: Path, raw: Any, info: zipfile.ZipInfo, limits: Limits,
                most_nodes: int) -> bytes:
    """A part a reader parses whole, inflated and checked as any XML part, within the limits
    of such a part (its size is known before it is inflated: no part holds more than it
    declares)."""
    part = info.filename
    if info.file_size > limits.max_whole_part_bytes:
        raise _refuse(path, f"部品 {part} が大きすぎます (展開すると {info.file_size:,} バイト。"
                            f"上限 {limits.max_whole_part_bytes:,} バイト)。{NOT_TRUSTED}")
    data = b"".join(_verified_blocks(path, raw, info))
    _DeclarationScan(path, part).feed(data)
    # start and empty tags, and attributes (each has its '='): at most as many as these
    nodes = data.count(b"<") - data.count(b"</") + data.count(b"=")
    if nodes > most_nodes:
        raise _refuse(path, f"部品 {part} の要素と属性が多すぎます ({nodes:,} 個。上限 "
                            f"{most_nodes:,} 個)。{NOT_TRUSTED}")
    return data


def _parse_whole(path: Path, part: str, data: bytes) -> Any:
    """One of the parts every reader parses first, parsed as the cell-by-cell reader does (no
    entity, DTD or network; nothing nested past libxml2's bound, whose tree would cost
    gigabytes: ElementTree has none), before any reader parses it: its root."""
    try:
        root = etree.fromstring(data, etree.XMLParser(**XML_PARSER_OPTIONS))
    except etree.XMLSyntaxError as exc:
        raise _refuse(path, f"部品 {part} の XML が壊れています ({exc})。{RESAVE}") from None
    if root.getroottree().docinfo.doctype:
        raise _refuse(path, dtd_declared(part))
    return root


def dtd_declared(part: str) -> str:
    return (f"部品 {part} に DTD か XML エンティティの宣言があります。ブックには不要なもので、"
            f"読み込むと危険です (エンティティ展開攻撃の疑い)。{NOT_TRUSTED}")


def _verified_blocks(path: Path, raw: Any, info: zipfile.ZipInfo) -> Iterator[bytes]:
    """The part's bytes, inflated block by block and never past its declared size; raises when
    the data runs longer or shorter than declared or the CRC does not match."""
    raw.seek(info.header_offset)
    signature, name_length, extra_length = LOCAL_HEADER.unpack(raw.read(LOCAL_HEADER.size))
    if signature != b"PK\x03\x04":
        raise _refuse(path, f"部品 {info.filename} のヘッダーが壊れています。{RESAVE}")
    raw.seek(info.header_offset + LOCAL_HEADER.size + name_length + extra_length)
    left_in, left_out, crc = info.compress_size, info.file_size, 0
    inflater = zlib.decompressobj(-15) if info.compress_type == zipfile.ZIP_DEFLATED else None
    pending = b""
    while left_in or pending:
        if not pending:
            chunk = raw.read(min(left_in, INFLATE_INPUT))
            if not chunk:
                raise _refuse(path, f"部品 {info.filename} が途中で切れています。{RESAVE}")
            left_in -= len(chunk)
        else:
            chunk, pending = pending, b""
        if inflater is None:
            block = chunk
        else:
            # One byte more than the part may still hold: enough to see that it holds more.
            block = inflater.decompress(chunk, min(INFLATE_OUTPUT, left_out + 1))
            pending = inflater.unconsumed_tail
        if len(block) > left_out:
            raise _refuse(path, f"部品 {info.filename} に申告 ({info.file_size:,} バイト) より多い"
                                f"データが入っています (zip 爆弾の疑い)。{NOT_TRUSTED}")
        left_out -= len(block)
        crc = zlib.crc32(block, crc)
        if block:
            yield block
        if inflater is not None and inflater.eof:
            break
    if left_out or (inflater is not None and not inflater.eof) or crc != info.CRC:
        raise _refuse(path, f"部品 {info.filename} の大きさかチェックサムが合いません。"
                            f"{NOT_TRUSTED}")


def part_blocks(path: Path, part: str) -> Iterator[bytes]:
    """A part of a checked workbook, inflated block by block (as ``_verified_blocks``); a
    damaged archive is refused as ``check_deferred`` refuses it."""
    with refused_if_damaged(path), zipfile.ZipFile(path) as archive, path.open("rb") as raw:
        yield from _verified_blocks(path, raw, archive.getinfo(part))


def _check_xml_part(path: Path, part: str, blocks: Iterator[bytes]) -> None:
    scan = _DeclarationScan(path, part)
    for block in blocks:
        scan.feed(block)


def _related_parts(archive: zipfile.ZipFile, relationships: list[Any], kind: str,
                   usual_name: str) -> list[str]:
    """The parts of ``kind`` (a relationship type's end) a reader may take: the one the
    workbook's ``relationships`` name, and the part by its usual name (whatever the case),
    where a reader looks."""
    named = {workbook_part(rel.get("Target") or "") for rel in relationships
             if (rel.get("Type") or "").endswith(kind)}
    named |= {name for name in archive.NameToInfo if name.lower() == usual_name}
    return sorted(name for name in named if name in archive.NameToInfo)


def _measure_shared_strings(path: Path, part: str, blocks: Iterator[bytes]) -> SharedStringSizes:
    """Check one shared strings part as any XML part, measuring its items on the way: each
    item's byte span, from its start tag to the next one's (an upper bound of its text).
    Where items may be counted otherwise by a reader (an item in another namespace, by a
    prefix or a namespace declared among the items), an item is bounded by the longest of it
    and all later ones; where a comment, CDATA or processing instruction could hide or fake an
    item's start, every item by the longest possible, the whole part."""
    scan = _DeclarationScan(path, part)
    items = SharedItems()
    starts: list[np.ndarray] = []
    markups: list[np.ndarray] = []  # the least markup each item holds
    offset, tail, told_apart, shifted = 0, b"", True, False
    for block in blocks:
        text = scan.feed(block)
        data = text if isinstance(text, bytes) else text.encode()
        items.feed(block)  # as calamine reads it: in UTF-8 (in UTF-16, not plain)
        searched = tail + data if tail else data  # from a tag the block before left unfinished
        base = offset - len(tail)  # where ``searched`` starts in the part
        instruction = searched.find(b"<?")
        if 0 <= base + instruction <= len(codecs.BOM_UTF8):  # the XML declaration: allowed
            instruction = searched.find(b"<?", instruction + 2)
        told_apart = told_apart and instruction < 0 and b"<!" not in searched
        found = _item_starts(searched)
        if starts:  # an item starting in ``tail`` may have been found with the block before
            found = found[found + base > starts[-1][-1]]
        if len(found):
            starts.append(found + base)
            markups.append(ITEM_MARKUP + PRESERVED_MARKUP * _starting(searched, found,
                                                                      PRESERVED_ITEM))
        shifted = shifted or b":si" in searched or (
            bool(starts) and searched.find(b"xmlns", max(int(starts[0][0]) - base, 0)) >= 0)
        offset += len(data)
        # A tag whose name the block cut short: searched again with the next one.
        at = searched.rfind(b"<")
        tail = searched[at:] if at >= 0 and not TAG_NAME_END.search(searched, at) else b""
        if len(tail) > 4096:  # no item's start tag has a name this long
            told_apart, tail = False, b""
    every = np.concatenate(starts) if starts else np.zeros(0, np.int64)
    plain, found = items.finish(), len(every)
    if not found:
        return SharedStringSizes(0, None, plain)
    if not told_apart:
        return SharedStringSizes(offset, None, plain, found)
    spans = np.maximum(np.diff(np.append(every, offset)) - np.concatenate(markups), 0)
    return SharedStringSizes(int(spans.max()), np.maximum.accumulate(spans[::-1])[::-1].copy()
                             if shifted else spans, plain, found)


def _item_starts(data: bytes) -> np.ndarray:
    """Where shared string items start in ``data``: '<si' then a space, '>' or '/' found
    with numpy (the usual, unprefixed case), or with the regex where a prefix may be."""
    if b":si" in data:
        return np.fromiter((m.start() for m in ITEM_START.finditer(data)), np.int64)
    chars = np.frombuffer(data, np.uint8)
    opening = np.flatnonzero(chars[:-3] == ord("<"))
    ends = chars[opening + 3]
    item = ((chars[opening + 1] == ord("s")) & (chars[opening + 2] == ord("i"))
            & ((ends == ord(">")) | (ends == ord("/")) | (ends == ord(" ")) | (ends == ord("\t"))
               | (ends == ord("\r")) | (ends == ord("\n"))))
    return opening[item].astype(np.int64)


def _starting(data: bytes, at: np.ndarray, prefix: bytes) -> np.ndarray:
    """Whether ``data`` holds ``prefix`` at each of ``at``."""
    chars = np.frombuffer(data, np.uint8)
    starting = at + len(prefix) <= len(chars)
    for shift, char in enumerate(prefix):
        starting &= chars[np.minimum(at + shift, len(chars) - 1)] == char
    return starting


def _merged(sizes: list[SharedStringSizes]) -> SharedStringSizes | None:
    """One measure for several shared strings parts (a reader takes one of them): the larger
    bound of each item."""
    if len(sizes) <= 1:
        return sizes[0] if sizes else None
    longest = max(size.longest for size in sizes)
    plain, items = all(size.plain for size in sizes), max(size.items for size in sizes)
    if any(size.bounds is None for size in sizes):
        return SharedStringSizes(longest, None, plain, items)
    width = max(len(size.bounds) for size in sizes)  # type: ignore[arg-type]
    bounds = np.zeros(width, np.int64)
    for size in sizes:
        padded = np.zeros(width, np.int64)
        padded[:len(size.bounds)] = size.bounds  # type: ignore[arg-type]
        bounds = np.maximum(bounds, padded)
    return SharedStringSizes(longest, bounds, plain, items)


class _DeclarationScan:
    """No DTD or entity declaration anywhere in an XML part: '<!' followed by one of
    DECLARATIONS. UTF-16 parts are decoded as they come; other encodings than UTF-8 and UTF-16
    are refused."""

    def __init__(self, path: Path, part: str) -> None:
        self.path, self.part = path, part
        self.decoder: Any = None
        self.started = False
        self.tail: bytes | str = b""

    def feed(self, block: bytes) -> bytes | str:
        """Scan one block; returns its text (bytes for UTF-8, str where decoded)."""
        if not self.started:
            self.started = True
            self.decoder = _decoder_for(self.path, self.part, block)
            if self.decoder is not None:
                self.tail = ""
            elif self.part.startswith("xl/worksheets/"):
                _check_dimension(self.path, self.part, block)
        text = block if self.decoder is None else self.decoder.decode(block)
        self._search(self.tail + text[:16])  # type: ignore[operator]  # across the boundary
        self._search(text)
        self.tail = text[-16:]
        return text

    def _search(self, text: bytes | str) -> None:
        found = (DECLARATION_TEXT.search(text) if isinstance(text, str)
                 else DECLARATION_BYTES.search(text))
        if found:
            raise _refuse(self.path, dtd_declared(self.part))


def _decoder_for(path: Path, part: str, head: bytes) -> Any:
    """None for UTF-8 (checked as bytes); an incremental decoder for UTF-16; refused otherwise."""
    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        raise _refuse(path, f"部品 {part} が UTF-32 で書かれています (ブックは UTF-8 か UTF-16)。"
                            f"{RESAVE}")
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return codecs.getincrementaldecoder("utf-16")()
    if head[:2] in (b"<\0", b"\0<"):
        return codecs.getincrementaldecoder("utf-16-le" if head[:1] == b"<" else "utf-16-be")()
    declared = ENCODING.match(head.removeprefix(codecs.BOM_UTF8))
    if declared and declared.group(1).lower().replace(b"_", b"-") not in (b"utf-8", b"utf8"):
        raise _refuse(path, f"部品 {part} の文字コード {declared.group(1).decode()} はブックでは"
                            f"使われないものです (UTF-8 か UTF-16)。{RESAVE}")
    return None


def _check_dimension(path: Path, part: str, head: bytes) -> None:
    match = DIMENSION.search(head[:4096])
    if not match or not match.group(3):
        return
    columns, rows = column_number(match.group(3).decode()), int(match.group(4))
    if columns > EXCEL_MAX_COLUMNS or rows > EXCEL_MAX_ROWS:
        raise _refuse(path, f"{part} が {rows:,} 行 × {columns:,} 列あると申告しています (Excel は "
                            f"{EXCEL_MAX_ROWS:,} 行 × {EXCEL_MAX_COLUMNS:,} 列まで)。{NOT_TRUSTED}")


def _survey_plain(path: Path, raw: Any, info: zipfile.ZipInfo,
                  strings: SharedStringSizes | None = None) -> tuple[bool, int]:
    """Verify one sheet part (as ``_verified_blocks``) and check its XML for DTDs, while
    surveying it for what the typed reader must not be given and measuring the shared text
    its cells expand to. The part is inflated on one thread, its batches of blocks searched on
    SURVEY_THREADS others and its declarations scanned on this one (all release the GIL).
    Returns whether the sheet is plain (the typed reader may read it), the bytes of shared
    text its cells reference (an upper bound; 0 without ``strings``) and its cells."""
    blocks: queue.Queue[bytes | BaseException | None] = queue.Queue(maxsize=SURVEY_BATCH)
    stop = threading.Event()

    def inflate() -> None:
        try:
            for block in _verified_blocks(path, raw, info):
                if stop.is_set():
                    return
                blocks.put(block)
            blocks.put(None)
        except BaseException as exc:  # handed to the surveying thread, raised there
            blocks.put(exc)

    worker = threading.Thread(target=inflate, name="xlquote-inflate", daemon=True)
    worker.start()
    scan = _DeclarationScan(path, info.filename)
    plain, batch, pieces, shared_text, cells = True, [], _SheetDataPieces(), 0, 0
    searches: list[Future[tuple[bool, int, int]]] = []
    searching = ThreadPoolExecutor(SURVEY_THREADS, thread_name_prefix="xlquote-survey")

    def searched(search: Future[tuple[bool, int, int]]) -> None:
        nonlocal plain, shared_text, cells
        found, text, counted = search.result()
        plain, shared_text, cells = plain and not found, shared_text + text, cells + counted

    try:
        while (block := blocks.get()) is not None:
            if isinstance(block, BaseException):
                raise block
            text = scan.feed(block)
            plain = plain and scan.decoder is None
            piece = text if isinstance(text, bytes) else text.encode()  # UTF-16: measured only
            added = pieces.add(piece)
            if added:
                batch += added
                if len(batch) > 2 * SURVEY_BATCH:  # keep the last block: it may end the cells
                    searches.append(searching.submit(_survey_batch, batch[:-2], plain, strings))
                    batch = batch[-2:]
                    while len(searches) > SURVEY_THREADS:  # bounded: a few batches in flight
                        searched(searches.pop(0))
        if batch:  # the cells end at </sheetData>
            end = batch[-1].find(b"</sheetData>")
            batch[-1] = batch[-1][:end] if end >= 0 else batch[-1]
            searches.append(searching.submit(_survey_batch, batch, plain, strings))
        while searches:
            searched(searches.pop(0))
        plain = plain and pieces.started
    finally:
        stop.set()
        for search in searches:
            search.cancel()
        searching.shutdown(wait=True)
        while worker.is_alive():  # let a blocked inflating thread see the stop
            with contextlib.suppress(queue.Empty):
                blocks.get(timeout=0.05)
        worker.join()
    return plain, shared_text, cells


def _survey_batch(pieces: list[bytes], search: bool, strings: SharedStringSizes | None
                  ) -> tuple[bool, int, int]:
    """Whether ``pieces`` hold what the typed reader must not be given (searched while
    ``search``), the bytes of shared text their cells reference (an upper bound: a piece
    where meeting pieces overlap is counted in both) and their cells (``pieces`` alternate:
    where two blocks meet, then a block; a cell's tag cut where they meet is not counted)."""
    import pyarrow.compute as pc

    suspicious, shared_text = False, 0
    cells = sum(int(pc.sum(pc.count_substring_regex(arrow_view(block), CELL_TAG)).as_py() or 0)
                for block in pieces[1::2])
    for piece in pieces:
        searched = arrow_view(piece)
        if search and not suspicious:
            suspicious = any(pc.any(pc.match_substring_regex(searched, pattern)).as_py()
                             for pattern in SURVEY
                             # memchr: no namespace prefix here
                             if pattern is not PREFIXED or b":" in piece)
        if strings is not None and strings.longest:
            shared_text += _shared_text(piece, searched, strings)
    return suspicious, shared_text, cells


def _shared_text(piece: bytes, searched: Any, strings: SharedStringSizes) -> int:
    """An upper bound of the shared text the cells of ``piece`` reference. Every cell of type s
    holds an attribute value "s": their number times the longest string bounds it. Where that
    passes SHARED_EXACT_ABOVE, the cells written as every spreadsheet program writes them
    (t="s" last, then the index) are charged their own string; where the others could still
    pass it, any cell whose index can be read; the rest, the longest string."""
    import pyarrow.compute as pc

    cells = pc.sum(pc.count_substring(searched, '"s"')).as_py() or 0
    if b"'s'" in piece:
        cells += pc.sum(pc.count_substring(searched, "'s'")).as_py() or 0
    if cells * strings.longest <= SHARED_EXACT_ABOVE:
        return cells * strings.longest
    indices = _plain_shared_indices(searched)
    if (cells - len(indices)) * strings.longest > SHARED_EXACT_ABOVE:
        found = SHARED_INDEX.findall(piece)
        cells = len(SHARED_CELL.findall(piece))
        indices = np.array(found, dtype=np.int64) if found else np.zeros(0, np.int64)
    return strings.charge(indices) + max(cells - len(indices), 0) * strings.longest


def _plain_shared_indices(searched: Any) -> np.ndarray:
    """The indices of the cells written ' t="s"><v>N</v>', in Arrow (no GIL, no copy of the
    piece but the few bytes after each)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    after = pc.list_flatten(pc.split_pattern(searched, PLAIN_SHARED_CELL)).slice(1)
    found = pc.extract_regex(pc.binary_slice(after, 0, 16), r"^(?P<i>\d{1,9})</v>")
    index = found.field("i").filter(found.is_valid())
    return np.asarray(pc.cast(pc.cast(index, pa.large_string()), pa.int64()))


def _sheet_parts(archive: zipfile.ZipFile, workbook: Any, relationships: list[Any],
                 wanted: Sequence[str]) -> dict[str, str]:
    """Wanted sheet name → its part (``workbook``: the workbook part's root). A sheet is found
    by its exact name, else by its folded name (case, width); two sheets folding to a wanted
    name are refused, naming both."""
    targets = {r.get("Id"): r.get("Target") for r in relationships}
    sheets = [(s.get("name") or "", s.get(f"{REL_NS}id")) for s in workbook.iter(f"{MAIN_NS}sheet")]
    found = match_sheet_names([name for name, _ in sheets], wanted)
    parts = {}
    ids = dict(sheets)
    for want, actual in found.items():
        target = targets.get(ids[actual])
        if target is not None and workbook_part(target) in archive.NameToInfo:
            parts[want] = workbook_part(target)
    return parts


def match_sheet_names(available: Sequence[str], wanted: Sequence[str]) -> dict[str, str]:
    """Wanted sheet name → the workbook's sheet of that name: the one whose name folds (case,
    width, spaces) to the wanted name. Two such sheets are refused: which one is meant cannot
    be told."""
    found, problems = {}, []
    for name in wanted:
        candidates = [sheet for sheet in available if normalize_text(sheet) == normalize_text(name)]
        if len(candidates) > 1:
            problems.append(Problem(None, SHEET_FIELD, ", ".join(candidates),
                                    f"{name} と読めるシートが {len(candidates)} つあります "
                                    f"({', '.join(candidates)})。1 つを残して名前を変えてください",
                                    name))
        elif candidates:
            found[name] = candidates[0]
    if problems:
        raise InputError(problems)
    return found


__all__ = ["EXCEL_MAX_COLUMNS", "EXCEL_MAX_ROWS", "CheckedWorkbook", "Limits",
           "check_workbook_file", "match_sheet_names"]
