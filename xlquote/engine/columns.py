"""Whole-column argument handling: broadcasting, typed conversion, and per-row problems.

Every public function converts its arguments here, so that a bad cell becomes one row's problem
(with the field and the reason) while the other rows still compute.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from .codes import INVISIBLE, LEVELS, Vocabulary, is_blank, is_empty, normalize_text, shows_nothing
from .errors import InputError, ListedProblems, Problem
from .messages import (
    DATE_REQUIRED,
    NOT_A_DATE,
    NOT_A_NUMBER,
    NOT_WHOLE,
    SPACES_ONLY,
    at_least,
    at_most,
    cell_message,
    control_character,
    cut_short,
)

ErrorMode = Literal["raise", "mask"]
TRUE_WORDS = {"true", "yes", "y", "1", "x", "○", "◯", "はい", "有", "あり", "要"}
FALSE_WORDS = {"false", "no", "n", "0", "-", "×", "いいえ", "無", "なし", "不要"}


EXCEL_MAX_TEXT = 32_767  # characters one cell holds (Excel's limit)


@dataclass(frozen=True, slots=True)  # slots: a column may hold a million of them
class UnusableCell:
    """A cell that holds no value a column can take: an Excel error value (#N/A, #VALUE!, …), a
    number that is not finite (NaN, infinity), a formula without a computed value, or content
    the reader could not decode. Readers hand it over in place of a value, so that the column's
    conversion names it instead of reading it as a blank."""

    shown: str  # the cell as the user would see it: '#N/A', 'NaN', '=SUM(G2:G9)'
    reason: str  # what it is, as a sentence: 'エラー値は使えません'

    def __str__(self) -> str:
        return self.shown


def unusable_problem(cell: Any, expected: str) -> tuple[str, str] | None:
    """(the cell as shown, why it is refused) for an unusable cell or text longer than a cell
    holds; None for any other cell. ``expected`` says what the column takes and what to type:
    '対応時間 (分) を数値で入力してください'."""
    if isinstance(cell, UnusableCell):
        return cell.shown, f"{cell.reason}。{expected}"
    if isinstance(cell, str) and len(cell) > EXCEL_MAX_TEXT:
        return cut_short(cell), (f"{len(cell):,} 文字あります。1 つのセルに入るのは "
                                 f"{EXCEL_MAX_TEXT:,} 文字までです。短くしてください")
    return None


def flag_unusable(values: np.ndarray, field: str, checks: RowChecks, expected: str
                  ) -> np.ndarray | None:
    """Flag unusable cells and text longer than a cell holds (``expected``: see
    ``unusable_problem``); returns the mask of flagged cells, or None when there are none (one
    pass over the column's types, nothing more, in the usual case)."""
    if values.dtype.kind != "O":
        return None
    cells = values.ravel().tolist()
    types = set(map(type, cells))
    too_long = str in types and max((len(c) for c in cells if type(c) is str),
                                    default=0) > EXCEL_MAX_TEXT
    if UnusableCell not in types and not too_long:
        return None
    flagged = np.zeros(values.shape, dtype=bool)
    for index, cell in np.ndenumerate(values):
        found = unusable_problem(cell, expected)
        if found is None:
            continue
        checks.add(index, field, *found)
        flagged[index] = True
    if not flagged.any():
        return None
    checks.already_named(flagged, field)
    return flagged


def as_column(value: Any) -> np.ndarray:
    """An array view of a scalar or array-like; object dtype unless it is already numeric/bool."""
    if isinstance(value, np.ndarray):
        return value
    array = np.asarray(value, dtype=object) if not _is_plain_number_list(value) else np.asarray(value)
    return array


def _is_plain_number_list(value: Any) -> bool:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return True
    return (
        isinstance(value, list | tuple)
        and bool(value)
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
    )


def where_true(mask: np.ndarray) -> Iterator[tuple[int, ...]]:
    """Indices where ``mask`` holds, one at a time (a million bad rows make no list of a
    million tuples); works for 0-d (scalar) masks too, unlike np.nonzero."""
    for index in np.argwhere(mask):
        yield tuple(int(i) for i in index)


# Cells a broadcast may make: two of Excel's whole columns. A column against a row makes their
# product (1,048,576 × 16,384 for A:A against 1:1), each cell worked on by every argument.
MAX_BROADCAST_CELLS = 2 * 1_048_576


def broadcast(*values: Any) -> list[np.ndarray]:
    """Broadcast the arguments like numpy; a shape mismatch or a result of more than
    MAX_BROADCAST_CELLS cells is reported as an input problem."""
    arrays = [as_column(v) for v in values]
    try:
        shape = np.broadcast_shapes(*(a.shape for a in arrays))
    except ValueError:
        shapes = ", ".join(dict.fromkeys(map(_shape_text, (a.shape for a in arrays))))
        raise InputError([Problem(None, "arguments", shapes, "引数の範囲の大きさが合いません。"
                                  "範囲の行数・列数をそろえるか、1 つのセルにしてください")]) from None
    cells = int(np.prod(shape, dtype=np.float64))
    if cells > MAX_BROADCAST_CELLS:
        raise InputError([Problem(None, "arguments", _shape_text(shape), (
            f"引数を合わせると {cells:,} セルになります。計算できるのは {MAX_BROADCAST_CELLS:,} "
            "セルまでです。列と行を組み合わせず、同じ行数の列どうしにしてください"))])
    return list(np.broadcast_arrays(*arrays))


def _shape_text(shape: tuple[int, ...]) -> str:
    """An argument's shape as Excel shows a range: 3行×1列, or 1セル."""
    if all(n == 1 for n in shape):
        return "1セル"
    if len(shape) == 2:
        return f"{shape[0]}行×{shape[1]}列"
    return "×".join(map(str, shape))


BAD = "(bad)"  # a bad row's message where messages are not kept (RowChecks(messages=False))


class RowChecks:
    """Collects problems row by row. ``message[i]`` keeps the first problem of row i."""

    def __init__(self, shape: tuple[int, ...], sheet: str | None = None,
                 row_numbers: Sequence[int] | np.ndarray | None = None,
                 messages: bool = True) -> None:
        self.shape = shape
        # False where only the problems are raised (a sheet's records): a bad row's message
        # is then a mark, not a text made for every row of a file wrong on every row.
        self.messages = messages
        self._message: np.ndarray | None = None  # made on first use (see ``message``)
        self._any_message = False  # lets ``bad`` skip comparing every cell while all is well
        self.found = ListedProblems(sheet)
        self.problems = self.found.listed
        self.sheet = sheet
        self.row_numbers = row_numbers
        # field → its cells already named (flat mask): say no more (a mask, not a set of
        # (cell, field) pairs: a column of a million error values made a million of them)
        self._named: dict[str, np.ndarray] = {}

    def already_named(self, mask: np.ndarray, field: str) -> None:
        """The cells of ``mask`` in ``field`` have had their problem named (e.g. an error
        value): the conversion that follows adds nothing more about them."""
        named = np.broadcast_to(mask, self.shape).ravel()
        self._named[field] = named | self._named[field] if field in self._named else named.copy()

    @property
    def message(self) -> np.ndarray:
        """Per row, its first problem as ``"field value: reason"`` (``cell_message``), or None.
        Written only by add().
        Allocated when first needed: usually at the end, once the temporaries of the
        computation are freed, so it does not add to the peak memory of a large call."""
        if self._message is None:
            self._message = np.full(self.shape, None, dtype=object)
        return self._message

    @property
    def bad(self) -> np.ndarray:
        if not self._any_message:
            return np.zeros(self.shape, dtype=bool)
        return self.message != None  # noqa: E711 - elementwise comparison on an object array

    def flag(self, mask: np.ndarray, field: str, values: np.ndarray,
             reason: str | Callable[[Any], str]) -> None:
        """Record ``reason`` (or ``reason(cell)``) for every row where ``mask`` holds.
        Where only the problems are raised, the cells past the listed ones are counted and
        their rows marked bad in whole-column steps: a file wrong on every one of millions of
        rows costs no per-cell work beyond the listed problems."""
        mask = np.broadcast_to(mask, self.shape)
        if not mask.any():
            return
        values = np.broadcast_to(values, self.shape)
        if self.messages or not self.shape:  # each row keeps its own message
            for index in where_true(mask):
                self.add(index, field, values[index], _reason(reason, values[index]))
            return
        named = self._named.get(field)
        cells = np.flatnonzero(mask if named is None else mask.ravel() & ~named)
        listed = cells[:self.found.room()]
        for flat in listed.tolist():
            index = np.unravel_index(flat, self.shape)
            self.add(index, field, values[index], _reason(reason, values[index]))
        if len(cells) > len(listed):
            self.found.count_more(len(cells) - len(listed))
            message = self.message.reshape(-1)  # a view: the array is made contiguous
            rest = cells[len(listed):]
            message[rest[message[rest] == None]] = BAD  # noqa: E711 - elementwise
            self._any_message = True

    def add(self, index: tuple[int, ...] | int, field: str, value: Any, reason: str) -> None:
        if isinstance(value, UnusableCell):  # an error value: what it is says more than what
            reason = value.reason  # the column could not make of it (an Excel function's cell)
        if isinstance(index, int | np.integer):
            index = (int(index),)
        flat = int(np.ravel_multi_index(index, self.shape)) if self.shape else 0
        named = self._named.get(field)
        if named is not None and named[flat]:
            return
        if self.found.has_room():
            row = int(self.row_numbers[flat]) if self.row_numbers is not None else flat + 1
            self.problems.append(Problem(row, field, _plain(value), reason, self.sheet))
        if self.message[index] is None:
            self.message[index] = cell_message(field, value, reason) if self.messages else BAD
            self._any_message = True

    def raise_if_any(self) -> None:
        if self.problems:
            raise InputError([*sorted(self.problems, key=lambda p: (p.row or 0)),
                              *self.found.counted()])

    def finish(self, result: np.ndarray, errors: ErrorMode) -> Any:
        """``errors="raise"``: the result, or InputError listing every problem.
        ``errors="mask"``: (result, messages) where messages[i] is None for a good row."""
        if errors == "mask":
            return result, self.message
        if errors != "raise":
            raise ValueError(f"errors must be 'raise' or 'mask', not {errors!r}")
        self.raise_if_any()
        return result


def _reason(reason: str | Callable[[Any], str], cell: Any) -> str:
    return reason if isinstance(reason, str) else reason(cell)


def _plain(value: Any) -> Any:
    """A problem's value as Python; a blank as None, however its column holds it (NaN in a
    number column, NaT in a date column: the typed reader's blanks); a moment at midnight as
    its date, as both read paths show a date-formatted cell."""
    value = value.item() if isinstance(value, np.generic) else value
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, dt.datetime):
        return midnight_as_date(value)
    return value


def midnight_as_date(moment: dt.datetime) -> dt.date | dt.datetime:
    """A date-formatted cell's moment as Excel shows it: its date when it has no time."""
    return moment.date() if moment.time() == dt.time(0) and moment.tzinfo is None else moment


# Text taken as a number: digits with an optional sign, thousands separators and decimals,
# after width folding (１２０ → 120). Nothing else: no exponent, NaN, infinity, '_' or unit.
NUMBER_TEXT = re.compile(r"[+-]?(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]+)?")
# Text taken as a date: 2026-10-14, 2026/10/14, 2026.10.14 (month and day may be one digit),
# 2026年10月14日, after width folding. Nothing else (no time of day, no other order).
DATE_TEXT = re.compile(r"([0-9]{4})([-/.])([0-9]{1,2})\2([0-9]{1,2})"
                       r"|([0-9]{4})年([0-9]{1,2})月([0-9]{1,2})日")


def width_folded(text: str) -> str | None:
    """``text`` with its full-width forms folded (NFKC: １２０ → 120, ２０２６年 → 2026年), or
    None where NFKC would fold something else: ⑳ → 20 and ² → 2 are not numbers typed in
    another width."""
    folded = unicodedata.normalize("NFKC", text)
    if folded != text and any(
            unicodedata.normalize("NFKC", c) != c for c in text
            if not ("\uff00" <= c <= "\uffef" or c == "\u3000")):
        return None
    return folded


def _number(value: Any) -> float | None:
    """A cell as a float; None when it is not a number. Blanks are handled by the caller."""
    if isinstance(value, bool | np.bool_):
        return None
    if isinstance(value, int | float | np.integer | np.floating):
        return float(value)
    if isinstance(value, str):
        text = (width_folded(value) or "").strip()
        return float(text.replace(",", "")) if NUMBER_TEXT.fullmatch(text) else None
    return None


def _read_number(cell: Any) -> Reading:
    number = _number(cell)
    if number is None or not np.isfinite(number):
        return np.nan, NOT_A_NUMBER
    return number, None


def _once_for_broadcast_scalar(convert: Callable[..., np.ndarray]) -> Callable[..., np.ndarray]:
    """A scalar argument broadcast over a column (e.g. ``support_range="normal"`` against
    100,000 rows) is converted once, not once per row; its problem, if any, marks every row.
    The result is then a read-only broadcast view: no column is allocated for a constant."""

    @functools.wraps(convert)
    def wrapper(values: np.ndarray, *args: Any, **kwargs: Any) -> np.ndarray:
        if values.ndim == 0 or values.size <= 1 or any(values.strides):
            return convert(values, *args, **kwargs)
        checks = next(a for a in args if isinstance(a, RowChecks))
        field = next(a for a in args if isinstance(a, str))
        single = RowChecks(())
        # The one cell as a 0-d array; np.asarray(cell) would unpack a list held in a cell.
        value = convert(values.reshape(-1)[:1].reshape(()),
                        *(single if a is checks else a for a in args), **kwargs)
        if single.problems:
            checks.flag(np.ones(values.shape, dtype=bool), field, values,
                        single.problems[0].reason)
        return np.broadcast_to(value, values.shape)

    return wrapper


def blank_mask(values: np.ndarray) -> np.ndarray:
    """True where a cell is empty: None, '' or NaN — compared in numpy, no per-cell Python.
    (A cell of spaces is text; converters strip it and then treat it as blank.)"""
    if values.dtype.kind == "f":
        return np.isnan(values)
    if values.dtype.kind == "M":
        return np.isnat(values)
    if values.dtype.kind != "O":
        return np.zeros(values.shape, dtype=bool)
    return np.asarray((values == None) | (values == "") | (values != values),  # noqa: E711
                      dtype=bool)


def _cell_types(flat: np.ndarray) -> set[type]:
    return set(map(type, flat))


MAXIMUM = 1e12  # beyond any real count or yen amount here; keeps int64 sums far from overflow
# The largest value of each measure, wherever it is typed (a record's column, an Excel
# function's argument): far beyond any real incident or contract, and small enough that no
# value makes the billing do work in proportion to it.
FIELD_MAXIMUM = {"max_incidents": 10_000, "licences": 10_000_000, "round_trips": 10_000,
                 "minutes": 100_000, "sessions": 10_000, "days_open": 36_600,
                 "onsite_visits": 1_000, "units": 100_000}


def _spaces_only(cell: object) -> bool:
    """A text of spaces in a number, date or yes/no column: typed by mistake, never a blank."""
    return isinstance(cell, str) and not cell.strip()


Reading = tuple[Any, str | None]  # a cell's value, and why it is refused (None: it is not)


def _read_cells(values: np.ndarray, field: str, checks: RowChecks,
                read: Callable[[Any], Reading], empty: Reading, dtype: Any) -> np.ndarray:
    """A typed column (number, yes/no, level, limit, date) read cell by cell by ``read``: an
    empty cell reads as ``empty``, a text of spaces only is reported. Each distinct cell is
    read once however many rows repeat it, and the refused cells are named a reason at a time
    (``RowChecks.flag``): a column of a million bad cells costs no work per cell beyond that.
    A reading's value may be a tuple (the result then has a last axis of its length)."""
    fill = empty[0]

    def read_given(cell: Any) -> Reading:
        if is_empty(cell):
            return empty
        if _spaces_only(cell):
            return fill, SPACES_ONLY
        return read(cell)

    distinct, inverse = _distinct(values.ravel())
    readings = [read_given(cell) for cell in distinct]
    table = np.array([value for value, _ in readings], dtype=dtype).reshape(
        (len(readings), *np.shape(fill)))
    refused = np.fromiter((reason is not None for _, reason in readings), bool, len(readings))
    if refused.any():  # in row order whatever the reasons: the first cells are the ones listed
        checks.flag(refused[inverse].reshape(values.shape), field, values,
                    lambda cell: read_given(cell)[1])
    return table[inverse].reshape(values.shape + np.shape(fill))


def _distinct(flat: np.ndarray) -> tuple[list[Any], np.ndarray]:
    """The distinct cells of a column, and each cell's position among them. Cells are told
    apart by their type too (True is not 1, a date is not a datetime), and a moment with a
    time zone by its wall-clock time too (two equal instants read as their own local dates);
    in a column holding an unhashable cell every cell stands apart."""
    cells = flat.tolist()
    kinds = set(map(type, cells))
    keys: Iterable[Any] = cells  # one type (text, the usual case): the cells themselves
    if any(issubclass(kind, dt.datetime) for kind in kinds):
        keys = ((type(c), c.replace(tzinfo=None), c) if isinstance(c, dt.datetime)
                else (type(c), c) for c in cells)
    elif len(kinds) > 1:
        keys = ((type(c), c) for c in cells)
    seen: dict[Any, int] = {}
    try:
        inverse = np.fromiter((seen.setdefault(key, len(seen)) for key in keys),
                              dtype=np.int64, count=len(cells))
    except TypeError:
        return cells, np.arange(len(cells))
    return (list(seen) if keys is cells else [key[-1] for key in seen]), inverse


@_once_for_broadcast_scalar
def to_numbers(values: np.ndarray, field: str, checks: RowChecks, default: float,
               integer: bool, minimum: float = 0, maximum: float = MAXIMUM) -> np.ndarray:
    """Numbers with blanks → ``default``; non-numbers, non-integers (when ``integer``) and values
    outside ``minimum``..``maximum`` are problems (the row gets ``default``)."""
    if values.dtype.kind in "iuf":
        out = values.astype(np.float64)
    elif _cell_types(values.ravel()) <= {int, float, type(None)}:
        out = values.astype(np.float64)  # None → NaN: the common case, no per-cell work
    else:
        out = _read_cells(values, field, checks, _read_number, (np.nan, None), np.float64)
    # NaN now marks the blanks and the cells just flagged; both get the default. Few whole-column
    # steps on purpose: each one costs ~0.1 ms (and fresh pages) on a 100,000-row range.
    good = ~np.isnan(out)
    out[~good] = default
    if integer:
        fractional = good & (out != np.floor(out))
        if fractional.any():
            checks.flag(fractional, field, values, NOT_WHOLE)
            out[fractional] = default
            good &= ~fractional
    outside = good & ((out < minimum) | (out > maximum))
    if outside.any():
        checks.flag(outside & (out < minimum), field, values, at_least(minimum))
        checks.flag(outside & (out > maximum), field, values, at_most(maximum))
        out[outside] = default
    return out


@_once_for_broadcast_scalar  # a scalar becomes one int64 column, not a float64 one then a copy
def to_ints(values: np.ndarray, field: str, checks: RowChecks, default: int = 0,
            minimum: int = 0, maximum: float = MAXIMUM) -> np.ndarray:
    return to_numbers(values, field, checks, default, True, minimum, maximum).astype(np.int64)


BOOLEAN_EXPECTED = "TRUE か FALSE (はい/いいえ、○/× でも可) で入力してください"
LEVEL_EXPECTED = "レベルは feather（フェザー）か 1〜10 で入力してください"
LIMIT_EXPECTED = ("料金リミットは 1 円以上の金額 (整数) か、レベル (feather, L1〜L10) で入力して"
                  "ください")


@_once_for_broadcast_scalar
def to_bools(values: np.ndarray, field: str, checks: RowChecks) -> np.ndarray:
    if values.dtype.kind == "b":
        return values.astype(bool)
    if values.dtype.kind == "O" and _cell_types(values.ravel()) <= {bool, type(None)}:
        return np.asarray(values == True, dtype=bool)  # noqa: E712 - elementwise on objects
    return _read_cells(values, field, checks, _read_bool, (False, None), bool)


def _read_bool(cell: Any) -> Reading:
    numeric = isinstance(cell, int | float | np.integer | np.floating)
    if isinstance(cell, bool | np.bool_) or (numeric and cell in (0, 1)):
        return bool(cell), None
    # '-' folds to nothing as a code would (hyphens join words): taken as typed
    word = normalize_text(cell) or unicodedata.normalize("NFKC", str(cell)).strip()
    if word in TRUE_WORDS:
        return True, None
    return False, None if word in FALSE_WORDS else BOOLEAN_EXPECTED


@_once_for_broadcast_scalar
def to_codes(values: np.ndarray, vocabulary: Vocabulary, field: str,
             checks: RowChecks) -> np.ndarray:
    positions, unknown = vocabulary.encode(values.ravel())
    positions, unknown = positions.reshape(values.shape), unknown.reshape(values.shape)
    if unknown.any():  # a scan for the unknown cells only when there are some
        checks.flag(unknown, field, values, vocabulary.unknown_message)
        positions[unknown] = 0  # encode's array is ours: no second whole-column copy
    return positions


def check_codes(values: np.ndarray, vocabulary: Vocabulary, field: str,
                checks: RowChecks) -> None:
    """Flag unknown codes without computing every row's position: only the distinct values
    are looked up (for arguments that are validated but do not change the result)."""
    if values.dtype.kind != "O":
        values = values.astype(object)
    try:
        distinct = set(values.ravel().tolist())
    except TypeError:  # an unhashable cell: take the general path
        to_codes(values, vocabulary, field, checks)
        return
    if all(vocabulary.lookup(value) is not None for value in distinct):
        return
    to_codes(values, vocabulary, field, checks)


@_once_for_broadcast_scalar
def to_levels(values: np.ndarray, field: str, checks: RowChecks, blank: int = -1) -> np.ndarray:
    """Support levels: feather/フェザー/0 → 0, 1..10; blank → ``blank`` (-1: no level given)."""
    if values.dtype.kind in "iuf" or (values.dtype.kind == "O"
                                      and _cell_types(values.ravel()) <= {int, float, type(None)}):
        numbers = values.astype(np.float64)
        given = ~np.isnan(numbers)
        valid = given & (numbers == np.floor(numbers)) & (numbers >= 0) & (numbers <= 10)
        checks.flag(given & ~valid, field, values, LEVEL_EXPECTED)
        numbers[~valid] = blank  # our own copy: no second whole-column temporary
        return numbers.astype(np.int64)
    return _read_cells(values, field, checks, functools.partial(_read_level, refused=blank),
                       (blank, None), np.int64)


def _read_level(cell: Any, refused: int) -> Reading:
    number = _number(cell) if not isinstance(cell, str) else None
    if number is not None:
        if 0 <= number <= 10 and number == int(number):  # range first: inf has no int
            return int(number), None
    else:
        found = LEVELS.lookup(cell)
        if found is not None:
            return found, None
    return refused, LEVEL_EXPECTED


LIMIT_LEVEL_PREFIX = ("l", "lv", "level", "レベル")


def to_limits(values: np.ndarray, field: str, checks: RowChecks) -> tuple[np.ndarray, np.ndarray]:
    """Fee limits (RULES 2.4): (yen, level) per cell, -1 where not given. A number is yen
    (> 0; 0 means feather only, as a level); text names a level: feather / フェザー, L3, レベル3,
    level_3 (a plain number is always yen, never a level)."""
    yen = np.full(values.shape, -1, dtype=np.int64)
    level = np.full(values.shape, -1, dtype=np.int64)
    if values.dtype.kind in "iuf" or (values.dtype.kind == "O"
                                      and _cell_types(values.ravel()) <= {int, float, type(None)}):
        numbers = to_numbers(values, field, checks, default=np.nan, integer=True)
        given = ~np.isnan(numbers)
        yen[given & (numbers > 0)] = numbers[given & (numbers > 0)].astype(np.int64)
        level[given & (numbers == 0)] = 0
        return yen, level
    pairs = _read_cells(values, field, checks, _read_limit, ((-1, -1), None), np.int64)
    return pairs[..., 0].copy(), pairs[..., 1].copy()


def _read_limit(cell: Any) -> Reading:
    """A fee limit as (yen, level), -1 for the one it is not."""
    number = _number(cell)
    if number is not None and not isinstance(cell, bool | np.bool_):
        if not 0 <= number <= MAXIMUM or number != int(number):  # NaN, inf: out of range
            return (-1, -1), LIMIT_EXPECTED
        return ((-1, 0), None) if number == 0 else ((int(number), -1), None)
    text = normalize_text(cell)
    for prefix in LIMIT_LEVEL_PREFIX:
        if text.startswith(prefix) and text[len(prefix):].lstrip("_").isdigit():
            text = f"level_{text[len(prefix):].lstrip('_')}"
            break
    found = None if text.isdigit() else LEVELS.lookup(text)
    if found is None:
        return (-1, -1), LIMIT_EXPECTED
    return (-1, found), None


NO_DATE = np.datetime64("NaT", "D")


def to_dates(values: np.ndarray, field: str, checks: RowChecks,
             required: bool) -> np.ndarray:
    """Dates as numpy datetime64[D]; NaT for blank (a problem when ``required``). Accepts date,
    datetime, ISO text (2026-10-01, 2026/10/01) and Excel serial numbers."""
    if values.dtype.kind == "M":  # a typed reader's date column: the time of day is dropped
        out = values.astype("datetime64[D]")
        if required:
            checks.flag(np.isnat(out), field, values, DATE_REQUIRED)
        return out
    kinds = _cell_types(values.ravel()) if values.dtype.kind == "O" else None
    if kinds is not None and kinds <= {type(None)}:  # a column left blank (first_response …)
        out = np.full(values.shape, np.datetime64("NaT"), dtype="datetime64[D]")
        if required:
            checks.flag(np.ones(values.shape, dtype=bool), field, values, DATE_REQUIRED)
        return out
    if kinds is not None and kinds <= {dt.date, dt.datetime, type(None)}:
        # toordinal() per cell is ~15x faster than numpy's own object → datetime64 cast
        ordinals = np.fromiter((-1 if d is None else d.toordinal() for d in values.ravel()),
                               dtype=np.int64, count=values.size).reshape(values.shape)
        out = (ordinals - EPOCH_ORDINAL).astype("datetime64[D]")
        out[ordinals < 0] = np.datetime64("NaT")
        if required:
            checks.flag(np.isnat(out), field, values, DATE_REQUIRED)
        return out
    return _read_cells(values, field, checks, _read_date,
                       (NO_DATE, DATE_REQUIRED if required else None), "datetime64[D]")


def _read_date(cell: Any) -> Reading:
    parsed = parse_date(cell)
    return (NO_DATE, NOT_A_DATE) if parsed is None else (np.datetime64(parsed, "D"), None)


EXCEL_EPOCH = dt.date(1899, 12, 30)
EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()


def parse_date(cell: Any) -> dt.date | None:
    if isinstance(cell, dt.datetime):
        return cell.date()
    if isinstance(cell, dt.date):
        return cell
    if isinstance(cell, np.datetime64):
        return None if np.isnat(cell) else cell.astype("datetime64[D]").item()
    if isinstance(cell, int | float | np.integer | np.floating) and not isinstance(cell, bool):
        if 1 <= cell < 2958466:  # Excel serial day numbers up to 9999-12-31
            return EXCEL_EPOCH + dt.timedelta(days=int(cell))
        return None
    if isinstance(cell, str):
        found = DATE_TEXT.fullmatch((width_folded(cell) or "").strip())
        if found is None:
            return None
        year, month, day = (int(part) for part in found.groups() if part and part.isdigit())
        try:
            return dt.date(year, month, day)
        except ValueError:
            return None
    return None


CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# The spaces a text cell is trimmed of: what str.strip() removes (every character whose
# isspace() is true) but the control characters among them (\x0b, \x0c, \x1c-\x1f), which
# are refused wherever they stand. Spelled out so that a fast reader can check in its own
# regex engine that to_text would change nothing.
WHITESPACE = ("\t\n\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004"
              "\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")


def trimmed(text: str) -> str:
    """``text`` without its leading and trailing spaces (``WHITESPACE``)."""
    return text.strip(WHITESPACE)


_HOLDS_INVISIBLE = re.compile(f"[{INVISIBLE}]")


def flag_control_characters(text: np.ndarray, field: str, checks: RowChecks) -> None:
    """Control characters (other than tab and line breaks) cannot be stored in a workbook."""
    if not CONTROL_CHARACTERS.search("\n".join(text.ravel().tolist())):
        return  # one scan of the whole column; the per-cell search only when something is there
    for index, cell in np.ndenumerate(text):
        found = CONTROL_CHARACTERS.search(cell)
        if found:
            checks.add(index, field, cell, control_character(found.group()))


def to_text(values: np.ndarray) -> np.ndarray:
    """Text cells stripped; blanks (and texts that show nothing: ``codes.INVISIBLE``) become
    ''. Numbers that are whole print without '.0'."""
    out = np.empty(values.shape, dtype=object)
    if values.dtype.kind == "O" and _cell_types(values.ravel()) <= {str, type(None)}:
        out.ravel()[:] = ["" if v is None else v.strip(WHITESPACE) for v in values.ravel()]
        if _HOLDS_INVISIBLE.search("\n".join(out.ravel().tolist())):  # one scan, usually all
            for index, text in np.ndenumerate(out):
                if text and shows_nothing(text):
                    out[index] = ""
        return out
    for index, cell in np.ndenumerate(values):
        if is_blank(cell):
            out[index] = ""
        elif isinstance(cell, float) and cell.is_integer():
            out[index] = str(int(cell))
        else:
            out[index] = trimmed(str(cell))
    return out
