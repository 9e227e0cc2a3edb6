"""The cell-by-cell reader: a sheet's XML parsed cell by cell, keeping only the columns asked for.

Sparse by construction: a stray cell at XFD1048576 costs one cell, not a grid of 17 billion.
Every cell is taken exactly as it is stored: numbers, text (shared or inline), booleans, dates
(a number whose style has a date format, or an ISO date cell), error values (``#N/A``),
formulas with their computed value — and, where a cell holds no value a column can take, an
``UnusableCell`` naming what it is (an error value, NaN, a formula that was never calculated,
content that cannot be decoded), so that the records parser names it instead of reading a
blank. Cells beyond Excel's grid, a cell stored twice and rows out of order are problems of
their own, with the cell's address.

The package has passed ``guard.check_workbook_file`` (sizes, CRCs, no DTD), so parts are read
with ``zipfile`` (which stops at each part's declared size and checks its CRC) and lxml with
entities, DTDs and network access off and libxml2's size limits on.
"""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np
from lxml import etree

from ..engine.columns import UnusableCell, midnight_as_date
from ..engine.errors import ROW_FIELD, ListedProblems, Problem
from ..engine.messages import ElapsedTime
from .package import (
    EXCEL_MAX_COLUMNS,
    EXCEL_MAX_ROWS,
    MAIN_NS,
    PACKAGE_REL_NS,
    REL_NS,
    WORKBOOK,
    WORKBOOK_RELATIONSHIPS,
    XML_PARSER_OPTIONS,
    column_letters,
    column_number,
    workbook_part,
)
from .sheet_table import check_text

ROW, CELL = f"{MAIN_NS}row", f"{MAIN_NS}c"
VALUE, FORMULA, INLINE = f"{MAIN_NS}v", f"{MAIN_NS}f", f"{MAIN_NS}is"
TEXT, PHONETIC = f"{MAIN_NS}t", f"{MAIN_NS}rPh"
SHEET_DATA, EXTENSIONS = f"{MAIN_NS}sheetData", f"{MAIN_NS}extLst"
# What a cell and an inline string may hold (ECMA-376 18.3.1.4, 18.4.12).
IN_CELL = frozenset({VALUE, FORMULA, INLINE, EXTENSIONS})
RUN, RUN_PROPERTIES, PHONETIC_PROPERTIES = f"{MAIN_NS}r", f"{MAIN_NS}rPr", f"{MAIN_NS}phoneticPr"
IN_INLINE_TEXT = frozenset({TEXT, PHONETIC, RUN, PHONETIC_PROPERTIES})
# A string item's elements by letter, and the orders the standard allows them in: the item
# (a text or runs, then guides, then the guides' properties), a run (its properties, its
# text), a guide (its text); a text and the guides' properties hold no element.
STRING_PARTS = {TEXT: "t", RUN: "r", PHONETIC: "p", PHONETIC_PROPERTIES: "q", RUN_PROPERTIES: "R"}
ITEM_ORDER = re.compile("(?:t|r*)p*q?")
STRING_ORDERS = {RUN: re.compile("R?t"), PHONETIC: re.compile("t"), TEXT: re.compile(""),
                 PHONETIC_PROPERTIES: re.compile("")}
STRING_ITEM = f"{MAIN_NS}si"
XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"
REFERENCE_LETTERS = re.compile(r"[A-Z]{1,3}")
ESCAPED = re.compile(r"_x(00[0-9A-Fa-f]{2})_")  # a character escaped in a string (ECMA-376 22.9.2.19)
# xsd:double as Excel writes it (no spaces, no '_'); NaN and infinities stand for themselves,
# spelt as fastexcel reads them too (refused as not finite, not as text).
NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
                    r"|[+-]?(?:INF(?:INITY)?|NAN)", re.IGNORECASE)
# Number formats read as dates or times, as calamine (under fastexcel) reads them, so that both
# paths read a cell alike: the built-in ones of ECMA-376 18.8.30 it knows (not the East Asian
# 27–36 and 50–58: a number there is a number on both paths, and a date column takes it as
# Excel's date serial), and custom codes with a date or time token outside quotes, escapes and
# [colour]/[$-411] sections; [h]/[m]/[s] are elapsed times (durations). A format's id is
# matched as written, as calamine matches it ("014" is not 14).
BUILTIN_DATE_FORMATS = frozenset(map(str, (*range(14, 23), 45, 47)))
BUILTIN_DURATION_FORMATS = frozenset({"46"})
EXCEL_EPOCH = dt.datetime(1899, 12, 30)
EXCEL_EPOCH_1904 = dt.datetime(1904, 1, 1)
LAST_SERIAL = 2_958_466  # 9999-12-31 is day 2,958,465
MAX_FORMAT_CODE = 255  # characters in a number format's code, as Excel allows


def error_value(text: str) -> UnusableCell:
    return UnusableCell(text, "エラー値は使えません")


def not_finite(number: float) -> UnusableCell:
    shown = "NaN" if number != number else ("-INF" if number < 0 else "INF")
    return UnusableCell(shown, "セルに入る数値ではありません (NaN・無限大)")


# What the clerk does about a cell a program other than Excel stored wrongly.
RESAVE = "Excel で開いて保存し直してください"
DAMAGED = f"ブックが壊れています。{RESAVE}"
UNCALCULATED = f"計算しないプログラムで保存されたブックです。{RESAVE}"
NOT_AN_EXCEL_DATE = "Excel で表せる日付 (1900〜9999 年) ではありません"
# Reasons a whole column of cells may share (made once, not once a cell).
NO_VALUE_SAVED = f"計算結果が保存されていない数式です ({UNCALCULATED})"
NEVER_CALCULATED = f"一度も計算されていない数式です ({UNCALCULATED})"
NOT_A_NUMBER_CELL = f"数値のセルに数値でないものが入っています ({DAMAGED})"
# Cell types no program writes without their value (a shared string's index, TRUE/FALSE, an
# error's code, a date): such a cell is damaged, never blank. An untyped or number cell
# without one is a blank cell with a style.
VALUE_REQUIRED = frozenset({"s", "b", "e", "d"})
NOT_EXCEL = "Excel 以外のプログラムが書いたものです。元のブックを使うか、書いたプログラムを確かめてください"


@dataclass(frozen=True)
class SheetRef:
    name: str
    part: str


@dataclass
class Workbook:
    """What every sheet's cells need from the package: sheets, shared strings, date styles."""

    archive: zipfile.ZipFile
    sheets: list[SheetRef]
    date1904: bool
    calculate_on_load: bool  # saved by a program that leaves the calculation to Excel
    _strings: list[str | UnusableCell] | None = None
    _styles: tuple[frozenset[int], frozenset[int]] | None = None
    parts: dict[str, str] = field(default_factory=dict)  # relationship type → part

    @property
    def strings(self) -> list[str | UnusableCell]:
        if self._strings is None:
            part = self.parts.get("sharedStrings")
            self._strings = [] if part is None else _shared_strings(self.archive, part)
        return self._strings

    @property
    def styles(self) -> tuple[frozenset[int], frozenset[int]]:
        """The cell style indexes whose number format is a date (and those that are a
        duration)."""
        if self._styles is None:
            part = self.parts.get("styles")
            self._styles = (frozenset(), frozenset()) if part is None else \
                _date_styles(self.archive, part)
        return self._styles


def open_workbook(path: Path) -> Workbook:
    archive = zipfile.ZipFile(path)
    try:
        book = _parse(archive, WORKBOOK)
        rels = _parse(archive, WORKBOOK_RELATIONSHIPS)
    except BaseException:
        archive.close()
        raise
    targets: dict[str, str] = {}
    parts: dict[str, str] = {}
    for rel in rels.iter(f"{PACKAGE_REL_NS}Relationship"):
        target = workbook_part(rel.get("Target") or "")
        targets[rel.get("Id") or ""] = target
        kind = (rel.get("Type") or "").rsplit("/", 1)[-1]
        if kind in ("sharedStrings", "styles") and target in archive.NameToInfo:
            parts[kind] = target
    sheets = [SheetRef(s.get("name") or "", targets.get(s.get(f"{REL_NS}id") or "", ""))
              for s in book.iter(f"{MAIN_NS}sheet")]
    properties = book.find(f"{MAIN_NS}workbookPr")
    calculation = book.find(f"{MAIN_NS}calcPr")
    return Workbook(archive, sheets,
                    properties is not None and _true(properties.get("date1904")),
                    calculation is not None and _true(calculation.get("fullCalcOnLoad")),
                    parts=parts)


def _true(flag: str | None) -> bool:
    return flag in ("1", "true")


def _parse(archive: zipfile.ZipFile, part: str) -> Any:
    with archive.open(part) as stream:
        return etree.parse(stream, etree.XMLParser(**XML_PARSER_OPTIONS)).getroot()


def _events(stream: IO[bytes], tags: Sequence[str]) -> Iterator[Any]:
    """End events of ``tags`` (rows, string items), each dropped from the tree once read, with
    the elements that can repeat beside them in a worksheet (columns, merged cells, rules, …),
    so that memory stays bounded by one row whatever the part holds. The parser reports only
    these elements: the cells of a row are read from the row. Whatever else has ended is
    dropped after each block the parser is fed (a million children of one element would
    otherwise stay until it ends); what has ended in sheetData, not a row, is reported first
    (``_pruned``)."""
    wanted = set(tags)
    parser = etree.XMLPullParser(events=("start", "end"), tag=(*tags, *_REPEATED, *_ROOTS),
                                 **XML_PARSER_OPTIONS)
    root = None
    while True:
        block = stream.read(PARSE_BLOCK)
        if block:
            parser.feed(block)
        else:
            parser.close()
        for event, element in parser.read_events():
            if root is None:
                root = element.getroottree().getroot()
            if event == "start":
                continue
            if element.tag in wanted:
                _check_children(element)
                yield element
            element.clear()
            parent = element.getparent()
            if parent is not None:  # this element and the siblings before it: done with
                while len(parent) and parent[0] is not element:
                    del parent[0]
                if len(parent):
                    del parent[0]
        if not block:
            return
        if root is not None:
            yield from _pruned(root, wanted)


def _pruned(root: Any, wanted: set[str]) -> Iterator[Any]:
    """Drop every element that has ended (all but the last child of each element still open),
    but within an element being read (a row, a string item): those in sheetData, never rows
    (each row is dropped as it is read), are yielded first. An element being read that already
    holds more than MAX_CHILDREN (Excel's columns, twice over) is damaged or crafted."""
    node = root
    while len(node):
        if node.tag in wanted:
            _check_children(node)
            return
        if len(node) > 1:
            if node.tag == SHEET_DATA:
                yield from node[:-1]
            del node[:-1]
        node = node[-1]


def _check_children(element: Any) -> None:
    if len(element) > MAX_CHILDREN:
        raise ValueError(f"{_shown_tag(element.tag)} の中に {MAX_CHILDREN:,} 個を超える要素があり"
                         f"ます (Excel の行は {EXCEL_MAX_COLUMNS:,} 列まで)")


PARSE_BLOCK = 1 << 16  # bytes fed to the parser at a time (libxml2 parses far bigger ones slower)
MAX_CHILDREN = 2 * EXCEL_MAX_COLUMNS
_ROOTS = (f"{MAIN_NS}worksheet", f"{MAIN_NS}sst")  # its start: the tree to drop elements from


# Elements a worksheet may hold many of besides rows (ECMA-376 18.3.1): dropped as they end.
_REPEATED = tuple(f"{MAIN_NS}{name}" for name in (
    "col", "mergeCell", "hyperlink", "conditionalFormatting", "cfRule", "dataValidation",
    "protectedRange", "brk", "cellWatch", "ignoredError", "customSheetView", "selection",
    "scenario", "control", "oleObject", "tablePart", "ext"))


def _shared_strings(archive: zipfile.ZipFile, part: str) -> list[str | UnusableCell]:
    with archive.open(part) as stream:
        # An item is a child of the root: an <si> met deeper (in a run's properties) is not
        # one, as calamine counts them.
        return [_text(item) for item in _events(stream, (STRING_ITEM,))
                if (parent := item.getparent()) is not None and parent.getparent() is None]


def _text(element: Any) -> str | UnusableCell:
    """A string item's or inline string's text, its escapes decoded: its text, or the texts of
    its runs; phonetic guides (rPh) are not part of it. An item whose elements stand otherwise
    than the standard orders them (ECMA-376 18.4.7, _in_order) is damaged: readers join such
    texts differently (calamine takes the first of two texts, reads a run inside a guide)."""
    first = element[0] if len(element) == 1 else None
    if first is not None and first.tag == TEXT and not len(first):  # the usual <is><t>…</t></is>
        return _run_text(first)
    texts = [child for child in element if child.tag == TEXT]
    for run in (child for child in element if child.tag == RUN):
        texts += [child for child in run if child.tag == TEXT]
    joined = "".join(_run_text(t) for t in texts)
    if not _in_order(element):
        return UnusableCell(joined, f"文字列の中の要素の並びが正しくありません ({DAMAGED})")
    return joined


def _run_text(text: Any) -> str:
    """One text element's text as fastexcel reads it: without the spaces, tabs and line breaks
    at its ends unless it says xml:space="preserve" (as Excel writes a text that keeps them),
    then its escapes decoded."""
    found = text.text or ""
    if text.get(XML_SPACE) != "preserve":
        found = found.strip(" \t\r\n")
    return _unescaped(found)


def _in_order(element: Any) -> bool:
    """Whether a string item's elements stand as the standard orders them (STRING_ORDERS)."""
    if not ITEM_ORDER.fullmatch(_letters(element)):
        return False
    for child in element:
        order = STRING_ORDERS.get(child.tag)
        if order is not None and not order.fullmatch(_letters(child)):
            return False
        if any(len(text) for text in child if text.tag == TEXT):  # an element in a run's text
            return False
    return True


def _letters(element: Any) -> str:
    return "".join(STRING_PARTS.get(child.tag, "?") for child in element)


def _unescaped(text: str) -> str:
    """A text run's ``_x00HH_`` escapes decoded, as fastexcel reads them: the character of that
    code (a carriage return is stored as ``_x000D_``, ``_x005F_`` escapes the underscore
    itself). Excel writes no other: a character above U+00FF is written as itself."""
    return ESCAPED.sub(_escaped_character, text) if "_x" in text else text


def _escaped_character(found: re.Match[str]) -> str:
    return chr(int(found.group(1), 16))


def _date_styles(archive: zipfile.ZipFile, part: str) -> tuple[frozenset[int], frozenset[int]]:
    root = _parse(archive, part)
    custom = {number_format.get("numFmtId") or "": number_format.get("formatCode") or ""
              for number_format in root.iter(f"{MAIN_NS}numFmt")}
    longest = max(custom.values(), key=len, default="")
    if len(longest) > MAX_FORMAT_CODE:
        raise ValueError(f"{len(longest):,} 文字の表示形式があります (Excel の表示形式は "
                         f"{MAX_FORMAT_CODE} 文字まで)")
    kinds: dict[str, str | None] = {}  # each format decided once, however many styles use it
    dates, durations = set(), set()
    cell_formats = root.find(f"{MAIN_NS}cellXfs")
    for index, xf in enumerate([] if cell_formats is None else cell_formats.iter(f"{MAIN_NS}xf")):
        format_id = xf.get("numFmtId") or "0"
        if format_id not in kinds:
            kinds[format_id] = _format_kind(format_id, custom.get(format_id))
        kind = kinds[format_id]
        if kind == "date":
            dates.add(index)
        elif kind == "duration":
            durations.add(index)
    return frozenset(dates), frozenset(durations)


def _format_kind(format_id: str, code: str | None) -> str | None:
    """'date', 'duration' or None (a plain number), as calamine (under fastexcel) decides it,
    so that both read paths see the same cell as a date."""
    if code is None:
        if format_id in BUILTIN_DATE_FORMATS:
            return "date"
        return "duration" if format_id in BUILTIN_DURATION_FORMATS else None
    escaped = quoted = am_pm = elapsed = False
    brackets, previous = 0, " "
    for char in code:  # the first section only, outside quotes, escapes and [..]
        if escaped:
            escaped = False
        elif char in "_\\":
            escaped = True
        elif quoted:
            quoted = char != '"'
        elif char == '"':
            quoted = True
        elif char == ";":
            return None
        elif char == "[":
            brackets += 1
        elif char == "]" and brackets == 1 and elapsed:
            return "duration"
        elif char == "]":
            brackets = max(brackets - 1, 0)
        elif char in "aA" and not am_pm and not brackets:
            am_pm = True
        elif not brackets and char in ("pmPM/" if am_pm else "dmhysDMHYS"):
            return "date"
        elif not (elapsed and char.lower() == previous.lower()):
            elapsed = previous == "[" and char in "mhsMHS"
        previous = char
    return None


@dataclass
class SheetCells:
    """A sheet's kept cells, column by column: ``columns[c][i]`` is the value of column c
    (None: blank) in sheet row ``row_numbers[i]``; rows without a kept value are left out."""

    columns: dict[int, list[Any]]
    row_numbers: list[int]
    problems: list[Problem]

    def grid(self, columns: Sequence[int]) -> np.ndarray:
        """The kept rows as a 2-D object array of ``columns`` (one pointer per cell)."""
        grid = np.full((len(self.row_numbers), len(columns)), None, dtype=object)
        for j, column in enumerate(columns):
            if column in self.columns:
                grid[:, j] = self.columns[column]
        return grid


# Which columns to keep, decided from the header: given the first row holding a value (column
# number → value), the column numbers to keep from there on. None keeps all.
ColumnChoice = Callable[[dict[int, Any]], set[int]] | None


def read_sheet_cells(book: Workbook, sheet: SheetRef, choose: ColumnChoice = None
                     ) -> tuple[dict[int, Any], int, SheetCells] | None:
    """The sheet's header row (its cells, its row number) and the kept cells of the rows below
    it; None when the sheet holds no value at all."""
    reader = _SheetReader(book, sheet.name, choose)
    with book.archive.open(sheet.part) as stream:
        for element in _events(stream, (ROW,)):
            if element.tag == ROW:
                reader.row(element)
            else:
                reader.stray(element)
    reader.end()
    problems = reader.problems + reader.found.counted()
    if reader.header is None:
        return None if not problems else ({}, 0, SheetCells({}, [], problems))
    return reader.header, reader.header_row, SheetCells(reader.values, reader.numbers, problems)


class _SheetReader:
    def __init__(self, book: Workbook, sheet: str, choose: ColumnChoice) -> None:
        self.book, self.sheet, self.choose = book, sheet, choose
        self.strings = book.strings
        self.dates, self.durations = book.styles
        self.epoch = EXCEL_EPOCH_1904 if book.date1904 else EXCEL_EPOCH
        self.previous_row = 0
        self.header: dict[int, Any] | None = None
        self.header_row = 0
        self.keep: set[int] | None = None  # columns kept below the header (None: all)
        self.row_has_value = False
        self.row_damaged = False  # a cell of this row is out of place: the row is not kept
        self.rows_disordered = False
        self.sheet_data: Any = None  # the sheetData element, once a row is met in it
        self.columns: dict[str, int] = {}  # column letters → number, as met
        self.found = ListedProblems(sheet)
        self.problems = self.found.listed
        self.values: dict[int, list[Any]] = {}  # kept column → its values, row by row
        self.numbers: list[int] = []
        self.text = 0  # UTF-8 bytes of the kept rows' text (TEXT_BUDGET)

    def problem(self, row: int, column: int | None, value: Any, reason: str) -> None:
        where = ROW_FIELD if column is None else column_letters(column) if \
            column <= EXCEL_MAX_COLUMNS else f"{column:,}"
        if self.found.has_room():
            self.problems.append(Problem(row, where, value, reason, self.sheet))

    def row(self, element: Any) -> None:
        number = self._row_number(element)
        if number is None:
            return
        if not self._in_sheet_data(element, number):
            return
        cells: dict[int, Any] = {}
        column = 0
        self.row_has_value = self.row_damaged = False
        keep = self.keep if self.header is not None else None
        known, digits = self.columns, str(number)
        in_grid = number <= EXCEL_MAX_ROWS
        for cell in element:
            if cell.tag != CELL:
                if cell.tag != EXTENSIONS:
                    self.problem(number, None, _shown_tag(cell.tag),
                                 f"行の中に読めない要素があります。{DAMAGED}")
                    self.row_damaged = True
                continue
            reference = cell.get("r")
            # The usual cell, in short: its address is known letters and this row's number,
            # to the right of the one before.
            found = known.get(reference[:-len(digits)]) if reference is not None \
                and reference.endswith(digits) else None
            if found is None or found <= column or not in_grid:
                column = self._cell(cell, number, column, cells)
                continue
            column = found
            if keep is not None and found not in keep:
                continue  # a column not read: whatever it holds does not matter
            value = self._value(cell)
            if value is not None:
                self.row_has_value = True
                cells[found] = value
        if number > EXCEL_MAX_ROWS and self.row_has_value:
            self.problem(number, None, None, f"Excel の最後の行 ({EXCEL_MAX_ROWS:,}行目) より下の行"
                         f"で、Excel では見えません。{NOT_EXCEL}")
            return
        if cells and not self.row_damaged:  # a damaged row's other cells would mislead
            self._keep_row(number, cells)

    def _in_sheet_data(self, element: Any, number: int) -> bool:
        """Whether the row stands in sheetData (where every reader looks for rows), among
        rows only; otherwise each stray element is a problem."""
        parent = element.getparent()
        if parent is None or parent.tag != SHEET_DATA:
            self.problem(number, None, None, f"行がシートのデータ (sheetData) の外にあります。{DAMAGED}")
            return False
        if self.sheet_data is not None and parent is not self.sheet_data:
            self.problem(number, None, None, f"シートのデータ (sheetData) が 2 つあります。{DAMAGED}")
            self.sheet_data = parent
            return False
        self.sheet_data = parent
        before = []  # the rows before this one are gone: what stands before it is stray
        for sibling in parent:
            if sibling is element:
                break
            before.append(sibling)
        return self._only_rows(number, before, "この行の前")

    def _only_rows(self, number: int, elements: Sequence[Any], where: str) -> bool:
        stray = [e.tag for e in elements if e.tag != ROW]
        for tag in stray:
            self.problem(number, None, _shown_tag(tag),
                         f"{where}に、行でない要素があります。{DAMAGED}")
        return not stray

    def stray(self, element: Any) -> None:
        """An element in sheetData, not a row, after the last row read so far."""
        if self.sheet_data is None:  # for ``end``; a second sheetData is named by its rows
            self.sheet_data = element.getparent()
        if self.previous_row:
            self._only_rows(self.previous_row, [element], "この行の後")
        else:
            self._only_rows(1, [element], "最初の行の前")

    def end(self) -> None:
        """After the last row: what sheetData holds after it."""
        if self.sheet_data is not None:
            self._only_rows(self.previous_row, list(self.sheet_data), "最後の行の後")

    def _column(self, letters: str) -> int:
        """The column number of ``letters`` (A → 1), remembered; 0 when they name none."""
        number = column_number(letters) if REFERENCE_LETTERS.fullmatch(letters) else 0
        if 0 < number <= EXCEL_MAX_COLUMNS:  # remembered for the short way in ``row``
            self.columns[letters] = number
        return number

    def _row_number(self, element: Any) -> int | None:
        given = element.get("r")
        if given is None:
            number = self.previous_row + 1
        elif given.isdigit() and 0 < len(given) <= 9 and int(given) > 0:
            number = int(given)
        else:
            self.problem(self.previous_row + 1, None, given, f"行番号 {given!r} が正しくありません。"
                         f"{DAMAGED}")
            return None
        if number <= self.previous_row:
            if not self.rows_disordered:  # once: every later row may be out of place too
                self.problem(number, None, None, (
                    f"{number:,}行目が 2 回あります。" if number == self.previous_row else
                    f"{self.previous_row:,}行目の後に {number:,}行目があり、行の順番が乱れているか、"
                    f"同じ行が 2 回あります。") + DAMAGED)
            self.rows_disordered = True
            return None
        self.previous_row = number
        return number

    def _cell(self, cell: Any, row: int, previous: int, cells: dict[int, Any]) -> int:
        """Read one cell into ``cells``; returns its column number."""
        reference = cell.get("r")
        if reference is None:
            column = previous + 1
        else:
            letters = reference.rstrip("0123456789")
            column = self._column(letters)
            digits = reference[len(letters):]
            if not column or not digits.isascii() or not digits.isdigit() or len(digits) > 7:
                self.problem(row, None, reference, f"セル番地 {reference!r} が正しくありません。"
                             f"{DAMAGED}")
                self.row_damaged = True
                return previous
            if int(digits) != row:
                self.problem(row, column, reference, f"セル {reference} が {row}行目に入っています。"
                             f"{DAMAGED}")
                self.row_damaged = True
                return previous
        if column <= previous:
            self.problem(row, column, reference, f"セルの順番が乱れているか、同じセルが 2 回あります。"
                         f"{DAMAGED}")
            self.row_damaged = True
            return previous
        if (self.keep is not None and column not in self.keep and column <= EXCEL_MAX_COLUMNS
                and row <= EXCEL_MAX_ROWS):
            return column  # a column not read: whatever it holds does not matter
        value = self._value(cell)
        if value is None:
            return column
        self.row_has_value = True
        if column > EXCEL_MAX_COLUMNS:
            self.problem(row, column, _shown(value), f"Excel の最後の列 (XFD) より右のセルで、"
                         f"Excel では見えません。{NOT_EXCEL}")
            return column
        if self.keep is None or self.header is None or column in self.keep:
            cells[column] = value
        return column

    def _value(self, cell: Any) -> Any:
        """The cell's value as the records parser takes it; None when it holds none."""
        kind = cell.get("t") or "n"
        formula = value = inline = None
        for child in cell:  # one pass over the (one or two) children
            tag = child.tag
            if tag == VALUE:
                value = child
            elif tag == FORMULA:
                formula = child
            elif tag == INLINE:
                inline = child
            elif tag not in IN_CELL:
                return UnusableCell(_shown_tag(tag), f"セルの中に読めない要素があります ({DAMAGED})")
        mismatched = value if kind == "inlineStr" else inline  # content its type does not take
        if mismatched is not None:
            shown = str(_text(inline)) if mismatched is inline else (value.text or "")
            return UnusableCell(shown, f"セルの種類 ({kind}) と中身が合いません ({DAMAGED})")
        stray = None if inline is None else next(
            (child.tag for child in inline if child.tag not in IN_INLINE_TEXT), None)
        if stray is not None:
            return UnusableCell(_shown_tag(stray), f"セルの文字列の中に読めない要素があります ({DAMAGED})")
        text = None if value is None else value.text
        if kind == "inlineStr":
            return None if inline is None else _text(inline) or None
        if formula is not None:
            if text is None or (text == "" and kind != "str"):
                return UnusableCell(f"={formula.text or ''}", NO_VALUE_SAVED)
            if self.book.calculate_on_load:
                return UnusableCell(f"={formula.text or ''}", NEVER_CALCULATED)
        if text is None or (text == "" and kind != "str"):
            if kind in VALUE_REQUIRED:
                return UnusableCell("", f"セルの種類 ({kind}) の値がありません ({DAMAGED})")
            return None
        if kind == "s":
            if text.isdigit() and int(text) < len(self.strings):
                return self.strings[int(text)] or None
            return UnusableCell(text, f"ブックにない共有文字列を指しています ({DAMAGED})")
        if kind == "str":
            return text or None
        if kind == "b":
            if text in ("0", "1"):
                return text == "1"
            return UnusableCell(text, f"TRUE/FALSE のセルに別のものが入っています ({DAMAGED})")
        if kind == "e":
            return error_value(text)
        if kind == "d":
            try:
                return midnight_as_date(dt.datetime.fromisoformat(text))
            except ValueError:
                return UnusableCell(text, f"日付のセルに日付でないものが入っています ({DAMAGED})")
        if kind != "n" or not (text.isdigit() or NUMBER.fullmatch(text)):
            return UnusableCell(text, NOT_A_NUMBER_CELL)
        number = float(text)
        if number != number or number in (float("inf"), float("-inf")):
            return not_finite(number)
        given = cell.get("s")
        style = int(given) if given and given.isdigit() else 0
        if style in self.dates:
            return self._date(number, text)
        if style in self.durations:
            return ElapsedTime(days=number)
        return number

    def _date(self, serial: float, text: str) -> Any:
        """A date-formatted number as Excel shows it (1900 system: day 60 is the 29 February
        1900 that never was; days before it are one later)."""
        if not 0 <= serial < LAST_SERIAL:
            return UnusableCell(text, f"日付の書式ですが、{NOT_AN_EXCEL_DATE}")
        days = serial + 1 if (serial < 60 and self.epoch is EXCEL_EPOCH) else serial
        moment = self.epoch + dt.timedelta(milliseconds=round(days * 86_400_000))
        return midnight_as_date(moment)

    def _keep_row(self, number: int, cells: dict[int, Any]) -> None:
        if self.header is None:
            self.header, self.header_row = cells, number
            self.keep = None if self.choose is None else self.choose(cells)
            return
        self.text += sum(len(value.encode()) for value in cells.values() if type(value) is str)
        check_text(self.sheet, self.text)
        for column in cells.keys() - self.values.keys():  # a column met for the first time
            self.values[column] = [None] * len(self.numbers)
        for column, values in self.values.items():
            values.append(cells.get(column))
        self.numbers.append(number)


def _shown_tag(tag: Any) -> str:
    """An element's name as a person can read it: <row>, <x> (urn:x)."""
    if not isinstance(tag, str):  # a comment or processing instruction lxml kept
        return "<?>"
    namespace, _, name = tag[1:].rpartition("}") if tag.startswith("{") else ("", "", tag)
    return f"<{name}>" if namespace in ("", MAIN_NS[1:-1]) else f"<{name}> ({namespace})"


def _shown(value: Any) -> Any:
    return str(value) if isinstance(value, UnusableCell) else value


__all__ = ["NOT_AN_EXCEL_DATE", "SheetCells", "SheetRef", "Workbook", "error_value", "not_finite",
           "open_workbook", "read_sheet_cells"]
