"""Whether a sheet stores its rows and cells in order, each once: the condition on which the
typed reader's result is used.

calamine (under fastexcel) places every cell by its own address, so a row or a cell stored
twice is read as its last copy, and rows out of order can lose cells, without a word. Excel
never writes either; the cell-by-cell reader refuses both, naming the row. This check finds
every row and cell start tag of the sheet's cells with numpy, block by block, and asks that the
rows rise, that each cell sits in the row holding it, and that cells rise within their row. A
tag it cannot read at a glance (a comment, a processing instruction, an attribute before r, a
column of two letters, ...) also counts as not in order: the cell-by-cell reader then reads the
sheet and names what it finds. numpy releases the GIL, so the check runs beside fastexcel's
read of the same sheet, which does too.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

WINDOW = 24  # bytes of a start tag looked at: '<row r="1048576"' and '<c r="A1048576"' fit
MAX_DIGITS = 7  # a row number within Excel's grid
LESS_THAN = ord("<")


def _word(text: bytes) -> int:
    return int.from_bytes(text, "little")


# '<row', then ' r="' (anything else after '<row' is not read here); '<c' and a name's end.
ROW_TAG, CELL_TAG, ROW_ATTRIBUTE = _word(b"<row"), _word(b"<c"), _word(b' r="')
# What may end a tag's name: whitespace, '>' or '/'.
NAME_END = np.zeros(256, bool)
NAME_END[[ord(c) for c in " \t\r\n>/"]] = True
# The byte after '<': a comment, CDATA or processing instruction ('!', '?') makes the sheet
# unreadable here; only a tag beginning 'c' or 'r' can be a cell or a row.
UNREADABLE, CANDIDATE = np.zeros(256, bool), np.zeros(256, bool)
UNREADABLE[[ord("!"), ord("?")]] = True
CANDIDATE[[ord("c"), ord("r")]] = True
PLACES = 10 ** np.arange(MAX_DIGITS - 1, -1, -1, dtype=np.int64)  # 10⁶ … 1


def _words(data: bytes, size: int) -> np.ndarray:
    """Every ``size`` bytes of ``data`` read as one little-endian integer, at every offset (a
    view: item i is bytes i … i+size-1)."""
    return np.ndarray((len(data) - size + 1,), dtype=f"<u{size}", buffer=data, strides=(1,))


class _Scan:
    """The state carried from one block to the next."""

    def __init__(self) -> None:
        self.row = 0  # the number of the last row met (0: none yet)
        self.row_digits = 0  # its digits and closing quote, as read at each cell (8 bytes)
        self.row_mask = 0  # which of those 8 bytes they are
        self.column = 0  # the column letter of the last cell in that row (0: none yet)
        self.carry = b""  # the start of a tag cut by the block's end, read with the next
        self.started = False  # <sheetData> met

    def feed(self, block: bytes, last: bool) -> bool:
        """Read one block (``last``: the part's last); False once something is out of order or
        unreadable."""
        data = self.carry + block
        if not self.started:
            at = data.find(b"<sheetData")
            if at < 0:
                self.carry = data[-16:]
                return True
            self.started, data = True, data[at:]
        if last:
            data += bytes(WINDOW)  # every tag's window whole
        tags = np.flatnonzero(np.frombuffer(data, np.uint8) == LESS_THAN)
        whole = len(tags) if last else int(np.searchsorted(tags, len(data) - WINDOW))
        self.carry = data[tags[whole]:] if whole < len(tags) else b""
        return self._in_order(data, tags[:whole]) if whole else True

    def _in_order(self, data: bytes, tags: np.ndarray) -> bool:
        """Whether the tags at ``tags`` (each with WINDOW bytes after it) are in order."""
        bytes_ = np.frombuffer(data, np.uint8)
        second = bytes_[tags + 1]
        if UNREADABLE[second].any():
            return False
        tags = tags[CANDIDATE[second]]
        fours = _words(data, 4)
        start = fours[tags]
        rows = tags[start == ROW_TAG]
        cells = tags[((start & 0xFFFF) == CELL_TAG) & NAME_END[(start >> 16) & 0xFF]]
        if not ((fours[rows + 4] == ROW_ATTRIBUTE).all()
                and (fours[cells + 2] == ROW_ATTRIBUTE).all()):
            return False
        row_numbers, lengths = _numbers(bytes_, rows + 8)
        columns = bytes_[cells + 6]
        if row_numbers is None or not ((columns >= ord("A")) & (columns <= ord("Z"))).all():
            return False
        # A cell's address must name the row holding it (the last row tag before it): its
        # digits and closing quote are the row's. Masks: the bytes of each row's digits.
        eights = _words(data, 8)
        masks = np.where(lengths >= 7, np.uint64(2**64 - 1),
                         (np.uint64(1) << (8 * (lengths + 1)).astype(np.uint64)) - np.uint64(1))
        digits = eights[rows + 8] & masks
        holding = np.searchsorted(rows, cells) - 1
        carried = holding < 0
        if carried.any() and not self.row:
            return False  # a cell before any row
        held_digits = np.where(carried, np.uint64(self.row_digits),
                               digits[np.maximum(holding, 0)] if len(rows) else 0)
        held_masks = np.where(carried, np.uint64(self.row_mask),
                              masks[np.maximum(holding, 0)] if len(rows) else 0)
        if not ((eights[cells + 7] & held_masks) == held_digits).all():
            return False
        # Rows rise; within a row, columns rise.
        same_row = holding[1:] == holding[:-1]
        if not (_rising(self.row, row_numbers)
                and (columns[1:][same_row] > columns[:-1][same_row]).all()
                and (not carried.any() or columns[0] > self.column)):
            return False
        if len(rows):
            self.row, self.row_digits = int(row_numbers[-1]), int(digits[-1])
            self.row_mask, self.column = int(masks[-1]), 0
        if len(cells) and holding[-1] == len(rows) - 1:
            self.column = int(columns[-1])
        return True


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


def cells_in_order(blocks: Iterable[bytes]) -> bool:
    """Whether the sheet XML in ``blocks`` (UTF-8, as the guard's survey requires of a sheet the
    typed reader reads) stores its rows and cells in order, each once, in a form read here."""
    scan = _Scan()
    iterator = iter(blocks)
    block = next(iterator, None)
    while block is not None:
        following = next(iterator, None)
        if not scan.feed(block, following is None):
            return False
        block = following
    return True
