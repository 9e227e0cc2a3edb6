"""Whether a sheet's XML is laid out plainly enough that fastexcel reads it as lxml does: the
condition, besides the guard's survey, on which the typed reader's result is used.

calamine (under fastexcel) reads a sheet's tags one after another without parsing it as XML:
it places every cell by its own address (a row or cell stored twice is read as its last
copy; rows out of order can lose cells), does not check that the XML is well formed, ignores
namespaces and nesting, and reads no character reference in a value. The cell-by-cell reader
parses the XML (lxml) and refuses or reads otherwise. So the typed result is used only when:
  - '<' and '>' alternate (no '>' in text or in an attribute's value, as every spreadsheet
    program escapes it), so that each tag is known exactly: start, end or empty;
  - there is one sheetData, holding only rows, each holding only cells, each row's first
    attribute r="N" and each cell's r="XN" with X a letter A–Z and N its row's number; rows
    rise, and cells rise within their row (nothing stored twice, nothing out of order);
  - no comment, CDATA or processing instruction (but the XML declaration), no namespace
    declared on sheetData or within it;
  - as an XML parser requires: one root element with only whitespace around it, every element
    closed, rows and cells closed as they were opened, no character XML forbids;
  - the contents of cells as calamine reads them (READ_OTHERWISE): end tags of rows, cells,
    values and texts and start tags of values and inline texts bare, no reference in a value,
    TRUE/FALSE as 0 or 1, inline text only in a cell of type inlineStr and a value only in
    another, nothing inside a text or a value, no text after a text, a cell without a type
    holding a number (calamine reads text there as text; the other reader refuses it);
  - inline strings holding runs or phonetic guides written plainly (string_items.py).
Anything else sends the sheet to the cell-by-cell reader, which names what it finds. The part
is read block by block with numpy and Arrow's regex engine (RE2), which release the GIL: the
check runs beside fastexcel's read of the same sheet, which does too, and tells how far it has
found the sheet plain (fastexcel reads a band of rows only once the check has passed it). A
full XML parser (expat: 2.7 s for a million rows, holding the GIL) would not fit beside the
read, so inside sheetData the attributes of rows, cells, formulas and texts are checked by
pattern (ATTRIBUTES_MISWRITTEN: written name="value" apart from each other, each one the
standard names, none given twice), and only what stands outside sheetData (a few hundred bytes
in a sheet Excel wrote) is parsed, by expat as it comes: an attribute given twice or a prefix
not declared there, which calamine ignores, sends the sheet cell by cell too.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from xml.parsers import expat

import numpy as np

from .arrow_search import any_match
from .string_items import FORBIDDEN_REFERENCE, inline_strings_plain

MAX_DIGITS = 7  # a row number within Excel's grid
MAX_ROW = 1_048_576
BYTE_ORDER_MARK = b"\xef\xbb\xbf"
MAX_CARRY = 2**20  # a tag or text this long without a '<' is not a plain sheet's
# sheetData's bytes searched for READ_OTHERWISE by one call: Arrow compiles the pattern and
# builds its automaton anew for each call (~4 ms), so blocks are gathered first.
SEARCH_BYTES = 8 * 2**20
LESS_THAN, GREATER_THAN, SLASH = ord("<"), ord(">"), ord("/")


def _word(text: bytes) -> int:
    return int.from_bytes(text, "little")


ROW_ATTRIBUTE = _word(b' r="')  # what follows '<row' and '<c' in a plain sheet
SHEET_DATA, SHEET_DATA_END = _word(b"<sheetDa"), _word(b"</sheetD")
ROW_NAME, CELL_NAME = b"row", b"c"
# The elements the cell-by-cell reader reads, by their level under sheetData: rows; cells;
# a cell's value, formula and inline text; an inline text's text and runs.
NESTING = ((ROW_NAME,), (CELL_NAME,), (b"v", b"f", b"is"), (b"t", b"r", b"rPh", b"phoneticPr"))
ROW_OR_CELL_INITIAL = np.zeros(256, bool)
ROW_OR_CELL_INITIAL[[ord("r"), ord("c")]] = True
XML_WHITESPACE = np.zeros(256, bool)
XML_WHITESPACE[[9, 10, 13]] = True
PADDING = 32  # zero bytes after a block: the words and windows read at its last tags
# What may end a tag's name: whitespace, '>' or '/'.
NAME_END = np.zeros(256, bool)
NAME_END[[ord(c) for c in " \t\r\n>/"]] = True
UNREADABLE = np.zeros(256, bool)  # after '<': a comment, CDATA, a processing instruction
UNREADABLE[[ord("!"), ord("?")]] = True
PLACES = 10 ** np.arange(MAX_DIGITS - 1, -1, -1, dtype=np.int64)  # 10⁶ … 1
# What calamine, reading tags loosely, reads otherwise than an XML parser, inside sheetData
# (searched with RE2): an end tag of a row, cell, value or text with more than its name, or a
# <v> or <is> tag with anything; a reference in a value (calamine reads none); a TRUE/FALSE
# cell holding other than 0 or 1; a cell of a type that needs a value (a shared string,
# TRUE/FALSE, an error, a date) without one, which calamine reads as blank and the other reader
# refuses (cells.VALUE_REQUIRED); inline text in a cell not of type inlineStr, or a value in
# one that is; a shared string's index written but in plain digits (calamine reads any other
# as the first string); text in the value of a cell without a type, not a number
# (NOT_A_NUMBER); an element inside a text or a value, a text right after a text (calamine
# reads the first alone); a namespace declared. A block is cut before a cell, so that a
# pattern may span one.
TYPE = r"""\st\s*=\s*["']"""  # a cell's type attribute, up to its value
NOT_INLINE = ("(?:[^i]|i[^n]|in[^l]|inl[^i]|inli[^n]|inlin[^e]|inline[^S]|inlineS[^t]"
              "|inlineSt[^r]|inlineStr[^\"'])")  # a type value other than inlineStr
UNTIL_IS = r"(?:[^<]|<[^/i]|</[^c]|<i[^s])*<is"  # then, before the cell's end, an <is>
UNTIL_VALUE = r"(?:[^<]|<[^/v]|<v[^\s>/]|</[^c])*<v"  # a <v> before the cell's end (not <vertAlign>)
# The rest of a start tag that opens an element (not an empty one, "…/>"): searches past the
# end of an empty cell would run on into the next cell's contents.
OPENS = r"(?:[^>/]|/[^>])*>"
# A cell's start tag without a type: attributes none of which is named t (st="1", x="t=1" and
# the like are other attributes: calamine, like lxml, reads the type only from t).
NOT_TYPE_ATTRIBUTE = r"""\s+(?:[^\s>/=t][^\s>/=]*|t[^\s>/=]+)\s*=\s*(?:"[^"]*"|'[^']*')"""
NO_TYPE = r"<c(?:" + NOT_TYPE_ATTRIBUTE + r")*\s*>"
# What follows <v> in an untyped cell whose value is not a number as both readers spell one
# (Rust's f64 grammar, which calamine parses, and cells.NUMBER): calamine reads it as text, the
# cell-by-cell reader refuses it. RE2 has no negation, so: a number's beginning, then a
# character that cannot follow it (an end, '<', where the beginning is not a whole number).
SIGN, MANTISSA = "[+-]?", r"(?:[0-9]+\.?[0-9]*|\.[0-9]+)"
NAMED_NUMBER_CUT = (  # INF, INFINITY and NAN (any case) cut short or run on
    r"[iI](?:[^nN]|[nN](?:[^fF]|[fF](?:[^iI<]|[iI](?:[^nN]|[nN](?:[^iI]|[iI](?:[^tT]"
    r"|[tT](?:[^yY]|[yY][^<])))))))|[nN](?:[^aA]|[aA](?:[^nN]|[nN][^<]))")
NOT_A_NUMBER = "(?:" + "|".join((
    r"[^+\-0-9.iInN<]", r"[+-][^0-9.iInN]", SIGN + r"[0-9]+[^0-9.eE<]", SIGN + r"\.[^0-9]",
    SIGN + r"(?:[0-9]+\.[0-9]*|\.[0-9]+)[^0-9eE<]",
    SIGN + MANTISSA + r"[eE](?:[^+\-0-9]|[+-][^0-9]|[+-]?[0-9]+[^0-9<])",
    SIGN + "(?:" + NAMED_NUMBER_CUT + ")")) + ")"
# A row's or cell's start tag whose attributes are not written name="value" apart from each
# other, as XML requires (calamine reads such a tag; an XML parser refuses the sheet): after
# attributes written so, a stray character, a name without '=', a value without quotes, or an
# attribute run on from the quote before it; or a row's, cell's, formula's or text's attribute
# named otherwise than ATTRIBUTE_NAMES, or given twice.
ATTRIBUTE = r"""\s+[A-Za-z_:][-\w.:]*\s*=\s*(?:"[^"<]*"|'[^'<]*')"""
# The attributes ECMA-376 gives the elements calamine reads inside sheetData (Excel adds
# x14ac:dyDescent to rows); any other name, or one given twice, sends the sheet cell by cell,
# where lxml judges it (refusing a name given twice, or a prefix not declared).
ATTRIBUTE_NAMES = {
    "row": ("r", "spans", "s", "customFormat", "ht", "hidden", "customHeight", "outlineLevel",
            "collapsed", "thickTop", "thickBot", "ph", "x14ac:dyDescent"),
    "c": ("r", "s", "t", "cm", "vm", "ph"),
    "f": ("t", "ref", "dt2D", "dtr", "del1", "del2", "r1", "r2", "ca", "si", "bx", "aca"),
    "t": ("xml:space",),
}
NAME_CHARACTERS = "".join(chr(c) for c in range(128) if re.fullmatch(r"[-\w.:]", chr(c)))


def other_name(names: Iterable[str]) -> str:
    """A pattern of an attribute's name and '=' when the name is none of ``names`` (RE2 has no
    negation: spelt along the tree of the names' characters)."""
    tree: dict[str, Any] = {}
    for name in names:
        node = tree
        for character in name:
            node = node.setdefault(character, {})
        node[""] = {}

    def beyond(node: dict[str, Any], first: bool) -> str:
        allowed = re.sub(r"[^A-Za-z_:]", "", NAME_CHARACTERS) if first else NAME_CHARACTERS
        others = "".join(c for c in allowed if c not in node)
        rest = r"[-\w.:\x80-\xff]*"
        choices = [f"[{re.escape(others)}]{rest}", rf"[\x80-\xff]{rest}"]
        choices += [re.escape(c) + f"(?:{beyond(child, False)})"
                    for c, child in sorted(node.items()) if c]
        if "" not in node and not first:
            choices.append("")  # the name ends here, short of every name it begins
        return "|".join(choices)

    return f"(?:{beyond(tree, True)})" + r"\s*="


ATTRIBUTES_MISWRITTEN = "|".join((
    r"<(?:c|row)(?:" + ATTRIBUTE + r")*(?:\s+[^\sA-Za-z_:/>]|\s+[A-Za-z_:][-\w.:]*\s*[^=\s\w.:-]"
    r"""|\s+[A-Za-z_:][-\w.:]*\s*=\s*[^\s"']|\s*/[^>])""",
    r"<(?:c|row)(?:" + ATTRIBUTE + r")+[^\s/>]",
    *(rf"<{tag}(?:{ATTRIBUTE})*\s+{other_name(names)}" for tag, names in ATTRIBUTE_NAMES.items()),
    *(rf"<{tag}\s(?:[^>]*\s)?{re.escape(name)}\s*=[^>]*\s{re.escape(name)}\s*="
      for tag, names in ATTRIBUTE_NAMES.items() for name in names)))
READ_OTHERWISE = "|".join((
    r"</(?:row|c|v|is|t)[^>]", r"<(?:v|is)[^>A-Za-z]", r"<v>[^<]*&",
    r"<c\s[^>]*" + TYPE + r"""b["']""" + OPENS + r"""\s*<v>(?:[^01<]|[01][^<])""",
    r"<c\s[^>]*" + TYPE + r"""[sbed]["'](?:[^>]*/>|""" + OPENS + r"\s*(?:</c>|<v></v>))",
    r"<c\s[^>]*" + TYPE + NOT_INLINE + OPENS + UNTIL_IS,
    r"<c\s[^>]*" + r"""\st\s*=\s*(?:""|'')""" + OPENS + UNTIL_IS,
    NO_TYPE + UNTIL_IS, NO_TYPE + UNTIL_VALUE + ">" + NOT_A_NUMBER,
    r"<c\s[^>]*" + TYPE + r"in" + OPENS + UNTIL_VALUE + r"[\s>/]",
    r"<c\s[^>]*" + TYPE + r"""s["']""" + OPENS + r"\s*<v>(?:[^<]*[^0-9<]|[0-9]{10})",
    r"<t(?:\s[^>]*)?>[^<]*<[^/]", r"<v>[^<]*<[^/]", r"(?:</t>|<t(?:\s[^>]*)?/>)\s*<t[\s>/]",
    r"<[^>]*xmlns", FORBIDDEN_REFERENCE, ATTRIBUTES_MISWRITTEN))


def _words(data: bytes, size: int) -> np.ndarray:
    """Every ``size`` bytes of ``data`` read as one little-endian integer, at every offset (a
    view: item i is bytes i … i+size-1)."""
    return np.ndarray((len(data) - size + 1,), dtype=f"<u{size}", buffer=data, strides=(1,))


class _Scan:
    """What is carried from one block to the next."""

    def __init__(self, charge: Callable[[int, bool], bool] | None = None) -> None:
        self.charge = charge
        self.offset = 0  # where the block being read starts in the part
        self.carry = b""  # from the last '<' of the block before: read with the next block
        self.depth = 0  # of the next tag (the root element is at depth 0)
        self.sheet_data = 0  # sheetData start tags met
        self.inside = False  # between sheetData's start and end tags
        self.row = 0  # the number of the last row met (0: none yet)
        self.row_digits = 0  # its digits and closing quote, as read in each cell (8 bytes)
        self.row_mask = 0  # which of those 8 bytes they are
        self.column = 0  # the column letter of the last cell in that row (0: none yet)
        self.roots = 0  # elements met at the top: the root, and any other
        # sheetData's bytes checked but for READ_OTHERWISE: searched once SEARCH_BYTES gather.
        self.unsearched: list[memoryview] = []
        self.unsearched_bytes = 0
        self.unsearched_cells = 0  # the cells they hold
        self.unsearched_formulas = False  # whether they hold a formula
        self.plain_until = 0  # from the part's start, every check passed
        # What stands outside sheetData, parsed as it comes (the rows are checked by pattern).
        self.outside = expat.ParserCreate(namespace_separator=" ")

    def feed(self, block: bytes, last: bool) -> bool:
        """Read one block (``last``: the part's last); False once the layout is not plain."""
        data = self.carry + block
        if last:
            cut = len(data)
        else:  # before the last cell or row (a cell's tags are read together)
            cut = max(data.rfind(b"<c "), data.rfind(b"<row"), 0)
            if len(data) - cut > MAX_CARRY:  # a cell or section longer than any plain one's
                cut = max(data.rfind(b"<"), 0)
        if len(data) - cut > MAX_CARRY:
            return False
        offset = self.offset - len(self.carry)  # where ``data`` starts in the part
        self.carry = data[cut:]
        self.offset += len(block)
        if len(data) - cut < PADDING:  # whole words and windows at the last tags
            data += bytes(PADDING)
        if not self._plain(data, cut, offset):
            return False
        if (last or self.unsearched_bytes >= SEARCH_BYTES) and not self._searched():
            return False
        if not self.unsearched:
            self.plain_until = offset + cut
        return not last or self._parsed(b"", last=True)

    def _searched(self) -> bool:
        """Whether the bytes gathered for READ_OTHERWISE hold none of it (then forgotten)."""
        gathered, cells = b"".join(self.unsearched), self.unsearched_cells
        formulas, self.unsearched_formulas = self.unsearched_formulas, False
        self.unsearched, self.unsearched_bytes, self.unsearched_cells = [], 0, 0
        return not any_match(gathered, READ_OTHERWISE) and (
            self.charge is None or self.charge(cells, formulas))

    def _parsed(self, piece: bytes, last: bool = False) -> bool:
        """Whether what stands outside sheetData is well formed XML so far, ``piece`` added."""
        try:
            self.outside.Parse(piece, last)
        except expat.ExpatError:
            return False
        return True

    def _plain(self, data: bytes, end: int, offset: int) -> bool:
        """Whether data[:end] (from ``offset`` in the part; it begins with '<' or is the part's
        start, and ends before a '<' or at the part's end) is laid out plainly. What follows
        ``end`` is read only as the padding of words and windows."""
        if not end:
            return True
        bytes_ = np.frombuffer(data, np.uint8)
        opened = np.flatnonzero(bytes_[:end] == LESS_THAN)
        closed = np.flatnonzero(bytes_[:end] == GREATER_THAN)
        # '<' and '>' alternate, each tag closed within ``data``: every tag known exactly.
        if len(opened) != len(closed) or not ((opened < closed).all()
                                              and (closed[:-1] < opened[1:]).all()):
            return False
        if not len(opened):
            return self.inside or self._parsed(data[:end])
        if not _characters_allowed(bytes_, end):
            return False
        second = bytes_[opened + 1]
        ending = second == SLASH
        # +1 a start tag, -1 an end tag, 0 an empty element's tag
        change = 1 - 2 * ending.view(np.int8) - (bytes_[closed - 1] == SLASH).view(np.int8)
        unreadable = UNREADABLE[second]
        if offset == 0 and _declared(data):
            unreadable[0], change[0] = False, 0  # the XML declaration
        if unreadable.any():
            return False
        # The depth each tag stands at (the root's 0): an end tag at its element's, as its start.
        depth = np.cumsum(change, dtype=np.int64)
        depth += self.depth - np.maximum(change, 0)
        self.depth = int(depth[-1] + max(int(change[-1]), 0))
        if not self._one_root(data, end, opened, closed, change, depth, offset):
            return False
        was_inside = self.inside
        span = self._inside(data, bytes_, opened, closed, second, change, depth)
        if span is None:
            return False
        first, stop = span
        if not was_inside and not self._parsed(data[:opened[first]] if first < len(opened)
                                               else data[:end]):
            return False
        if stop < len(opened) and not self._parsed(data[opened[stop]:end]):
            return False
        # No row or cell outside sheetData (the cell-by-cell reader would read it).
        for outside in (slice(0, first), slice(stop, len(opened))):
            maybe = opened[outside][ROW_OR_CELL_INITIAL[second[outside]]]
            if (_named(bytes_, maybe, ROW_NAME) | _named(bytes_, maybe, CELL_NAME)).any():
                return False
        if first >= stop:
            return True
        tags = _Tags(bytes_, opened, first, ~ending[first:stop], depth[first:stop] - 2)
        high = opened[stop] if stop < len(opened) else end
        low = int(opened[first])
        if not (tags.nested_plainly()
                and self._in_order(bytes_, opened[tags.rows], opened[tags.cells])
                and (not tags.rich() or inline_strings_plain(data, low, int(high)))):
            return False
        # Searched later, with the blocks after it (sheetData's bytes follow on from block to
        # block: a block is cut before a cell, and the next begins there).
        self.unsearched.append(memoryview(data)[low:int(high)])
        self.unsearched_bytes += int(high) - low
        self.unsearched_cells += len(tags.cells)
        if self.charge is not None and not self.unsearched_formulas:
            self.unsearched_formulas = tags.formulas()
        return True

    def _one_root(self, data: bytes, end: int, opened: np.ndarray, closed: np.ndarray,
                  change: np.ndarray, depth: np.ndarray, offset: int) -> bool:
        """One root element, nothing but whitespace around it (as an XML parser demands)."""
        if depth.min() < 0:
            return False
        for i in np.flatnonzero(depth == 0):
            after = data[closed[i] + 1:opened[i + 1] if i + 1 < len(opened) else end]
            if i == 0 and offset == 0 and _declared(data):
                if after.strip():
                    return False
                continue  # the XML declaration
            if change[i] >= 0:
                self.roots += 1
                before = data[closed[i - 1] + 1 if i else 0:opened[i]]
                if self.roots > 1 or (before.strip() and (i or offset == 0)):
                    return False
            if change[i] <= 0 and after.strip():
                return False
        return True

    def _inside(self, data: bytes, bytes_: np.ndarray, opened: np.ndarray, closed: np.ndarray,
                second: np.ndarray, change: np.ndarray, depth: np.ndarray
                ) -> tuple[int, int] | None:
        """The tags inside sheetData, as indices [first, stop) of ``opened``; None when
        sheetData is not where it belongs (once, in the root) or declares a namespace."""
        # Candidates by the byte after '<' (or '</'): no element inside sheetData begins 's'.
        end_tags = np.flatnonzero(second == SLASH)
        named_s = np.sort(np.concatenate((np.flatnonzero(second == ord("s")),
                                          end_tags[bytes_[opened[end_tags] + 2] == ord("s")])))
        words = _words(bytes_.data, 8)[opened[named_s]]
        starts = named_s[(words == SHEET_DATA) & NAME_END[bytes_[opened[named_s] + 10]]]
        ends = named_s[words == SHEET_DATA_END]
        self.sheet_data += len(starts)
        if self.sheet_data > 1 or len(ends) > 1 or (len(starts) and depth[starts[0]] != 1):
            return None
        if len(ends) and not (self.inside or (len(starts) and starts[0] < ends[0])):
            return None
        if len(starts) and data.find(b"xmlns", opened[starts[0]], closed[starts[0]]) >= 0:
            return None  # a namespace declared on sheetData (within it: READ_OTHERWISE)
        stop = int(ends[0]) if len(ends) else len(opened)
        opens = bool(len(starts)) and change[starts[0]] == 1  # not an empty <sheetData/>
        first = 0 if self.inside else (int(starts[0]) + 1 if opens else len(opened))
        self.inside = (self.inside or opens) and not len(ends)
        return first, min(stop, len(opened))

    def _in_order(self, bytes_: np.ndarray, rows: np.ndarray, cells: np.ndarray) -> bool:
        """Rows rise, each cell addressed to the row holding it, cells rise within a row."""
        fours = _words(bytes_.data, 4)
        if not ((fours[rows + 4] == ROW_ATTRIBUTE).all()
                and (fours[cells + 2] == ROW_ATTRIBUTE).all()):
            return False
        row_numbers, lengths = _numbers(bytes_, rows + 8)
        columns = bytes_[cells + 6]
        if row_numbers is None or not ((columns >= ord("A")) & (columns <= ord("Z"))).all():
            return False
        # A cell's address names the row holding it (the last row before it): its digits and
        # closing quote are the row's. Masks: the bytes of each row's digits and quote.
        eights = _words(bytes_.data, 8)
        masks = np.where(lengths >= MAX_DIGITS, np.uint64(2**64 - 1),
                         (np.uint64(1) << (8 * (lengths + 1)).astype(np.uint64)) - np.uint64(1))
        digits = eights[rows + 8] & masks
        holding = np.searchsorted(rows, cells) - 1  # -1: in the row the block before ended in
        carried = holding < 0
        held_digits = np.where(carried, np.uint64(self.row_digits),
                               digits[np.maximum(holding, 0)] if len(rows) else 0)
        held_masks = np.where(carried, np.uint64(self.row_mask),
                              masks[np.maximum(holding, 0)] if len(rows) else 0)
        if not ((eights[cells + 7] & held_masks) == held_digits).all():
            return False
        same_row = holding[1:] == holding[:-1]
        if not (_rising(self.row, row_numbers)
                and (not len(row_numbers) or row_numbers[-1] <= MAX_ROW)
                and (columns[1:][same_row] > columns[:-1][same_row]).all()
                and (not carried.any() or columns[0] > self.column)):
            return False
        if len(rows):
            self.row, self.row_digits = int(row_numbers[-1]), int(digits[-1])
            self.row_mask, self.column = int(masks[-1]), 0
        if len(cells) and holding[-1] == len(rows) - 1:
            self.column = int(columns[-1])
        return True


class _Tags:
    """The start tags inside sheetData in one block, by where they stand: ``level`` 0 in
    sheetData (rows), 1 in a row (cells), 2 in a cell, 3 in an inline text, deeper. Each group
    holds indices into the block's tags (``opened``), in order."""

    def __init__(self, bytes_: np.ndarray, opened: np.ndarray, first: int, begun: np.ndarray,
                 level: np.ndarray) -> None:
        self.bytes_, self.opened = bytes_, opened
        # One byte a tag (levels past 4 are 4): the groups are found in a fraction of the time.
        begun_at = np.minimum(level, 4, out=np.empty(len(level), np.int8), casting="unsafe")
        begun_at[~begun] = -1
        self.groups = [first + np.flatnonzero(begun_at == g) for g in range(5)]
        self.rows, self.cells = self.groups[0], self.groups[1]
        ended = np.flatnonzero(~begun & (level <= 1))  # the end tags of rows and cells
        self.ended = first + ended, level[ended]

    def nested_plainly(self) -> bool:
        """Every element begun inside sheetData is where the cell-by-cell reader looks for it:
        rows in sheetData, cells in rows, a value, formula or inline text in a cell, text runs
        in inline text; rows and cells nowhere else, and closed as they were opened."""
        bytes_, at = self.bytes_, self.opened
        for group, names in enumerate(NESTING):
            if not _all_named(bytes_, at[self.groups[group]], names):
                return False
        ended, level = self.ended
        if not (_named(bytes_, at[ended[level == 0]] + 1, ROW_NAME).all()
                and _named(bytes_, at[ended[level == 1]] + 1, CELL_NAME).all()):
            return False
        deeper = at[self.groups[4]]
        deeper = deeper[ROW_OR_CELL_INITIAL[bytes_[deeper + 1]]]
        return not (_named(bytes_, deeper, ROW_NAME) | _named(bytes_, deeper, CELL_NAME)).any()

    def formulas(self) -> bool:
        """Whether a cell holds a formula."""
        return bool(_named(self.bytes_, self.opened[self.groups[2]], b"f").any())

    def rich(self) -> bool:
        """Whether an inline text holds more than a text: runs, phonetic guides."""
        at = self.opened[self.groups[3]]
        return not _named(self.bytes_, at, b"t").all()


def _characters_allowed(bytes_: np.ndarray, length: int) -> bool:
    """No character XML forbids among the block's ``length`` bytes: a control character but tab,
    LF and CR; U+FFFE, U+FFFF (EF BF BE/BF); a surrogate half (ED A0–BF)."""
    block = bytes_[:length]
    found = np.flatnonzero((block < 32) | (block >= 0xED))  # ED, EF; EE and F0–FF pass
    values = bytes_[found]
    if not XML_WHITESPACE[values[values < 32]].all():
        return False
    lead = found[values == 0xEF]
    if ((bytes_[lead + 1] == 0xBF) & (bytes_[lead + 2] >= 0xBE)).any():
        return False
    return not (bytes_[found[values == 0xED] + 1] >= 0xA0).any()


def _declared(data: bytes) -> bool:
    """Whether the part's start (``data``) is its XML declaration."""
    return data.startswith(b"<?xml")


def _without_byte_order_mark(blocks: Iterable[bytes]) -> tuple[int, Iterator[bytes]]:
    """The length of a UTF-8 byte-order mark at the part's start (0 or 3), and the part's blocks
    without it."""
    head, rest = b"", iter(blocks)
    for block in rest:
        head += block
        if len(head) >= len(BYTE_ORDER_MARK):
            break
    skipped = len(BYTE_ORDER_MARK) if head.startswith(BYTE_ORDER_MARK) else 0
    return skipped, itertools.chain((head[skipped:],), rest)


def _all_named(bytes_: np.ndarray, opened: np.ndarray, names: tuple[bytes, ...]) -> bool:
    """Whether every tag at ``opened`` is named one of ``names`` (the commonest first)."""
    for name in names:
        opened = opened[~_named(bytes_, opened, name)]
    return not len(opened)


def _named(bytes_: np.ndarray, opened: np.ndarray, name: bytes) -> np.ndarray:
    """Which tags at ``opened`` (start tags: '<' then the name) are named ``name``."""
    found = NAME_END[bytes_[opened + 1 + len(name)]]
    for i, char in enumerate(name):
        found &= bytes_[opened + 1 + i] == char
    return found


def _numbers(bytes_: np.ndarray, starts: np.ndarray) -> tuple[np.ndarray | None, np.ndarray]:
    """The numbers written at ``starts``, each 1 to MAX_DIGITS digits closed by '"' (None when
    one is not), and how many digits each has."""
    window = bytes_[starts[:, None] + np.arange(MAX_DIGITS + 1)].astype(np.int64) - ord("0")
    digit = (window >= 0) & (window <= 9)
    length = np.argmin(digit, axis=1)  # the first byte that is not a digit
    if len(starts) and not ((length >= 1) & (window[np.arange(len(starts)), length]
                                             == ord('"') - ord("0"))).all():
        return None, length
    # Digit j of a number of L digits is worth 10^(L-1-j): PLACES[MAX_DIGITS-L+j].
    digits = np.where(np.arange(MAX_DIGITS) < length[:, None], window[:, :MAX_DIGITS], 0)
    places = PLACES[np.minimum(MAX_DIGITS - length[:, None] + np.arange(MAX_DIGITS),
                               MAX_DIGITS - 1)]
    return (digits * places).sum(axis=1), length


def _rising(before: int, values: np.ndarray) -> bool:
    """Each value greater than the one before it, the first greater than ``before``."""
    return not len(values) or (values[0] > before and bool((np.diff(values) > 0).all()))


def plain_layout(blocks: Iterable[bytes], checked: Callable[[int], None] | None = None,
                 charge: Callable[[int, bool], bool] | None = None) -> bool:
    """Whether the sheet XML in ``blocks`` (UTF-8, as the guard's survey requires of a sheet the
    typed reader reads) is laid out plainly (see the module's docstring). ``checked`` is told,
    block by block, how many bytes from the part's start are laid out plainly so far. ``charge``
    (the guard's survey made along, ``SurveyAlong``) is told, for each run of sheetData found
    plain, the cells it holds and whether it holds a formula, before ``checked`` passes it;
    False from it ends the check, not plain."""
    scan = _Scan(charge)
    skipped, iterator = _without_byte_order_mark(blocks)
    block = next(iterator, None)  # at least b"": an empty part fails the end's test
    while block is not None:
        following = next(iterator, None)
        if not scan.feed(block, following is None):
            return False
        if checked is not None:
            checked(skipped + scan.plain_until)
        block = following
    return scan.sheet_data == 1 and not scan.inside and scan.depth == 0 and scan.roots == 1
