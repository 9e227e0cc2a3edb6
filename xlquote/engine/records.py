"""Records: the Contracts, Incidents and Packs tables, as typed, validated columns.

The field lists below are the single definition of each table: the workbook sheet headers, the
UDF table arguments and the batch reader all use them. Parsing collects every bad cell with its
sheet, row and column before raising one ``InputError``.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Iterable, Mapping, Sequence, Sized
from dataclasses import dataclass, fields
from difflib import get_close_matches
from typing import Any

import numpy as np

from .codes import (
    CHANNELS,
    CONSULTING,
    KARTE_PAYMENT,
    LIMIT_DECISIONS,
    PLANS,
    PRICEBOOKS,
    SUPPORT_RANGES,
    Vocabulary,
    is_blank,
    normalize_text,
)
from .columns import (
    FIELD_MAXIMUM,
    MAXIMUM,
    RowChecks,
    UnusableCell,
    blank_mask,
    flag_control_characters,
    flag_unusable,
    to_bools,
    to_codes,
    to_dates,
    to_ints,
    to_levels,
    to_limits,
    to_numbers,
    to_text,
)
from .errors import ROW_FIELD, InputError, Problem
from .levels import IncidentMeasures
from .messages import (
    DUPLICATE_HEADER,
    LICENCES_REQUIRED,
    PRINTED_ID_CHARS,
    PRINTED_NAME_CHARS,
    REQUIRED,
    at_least,
    callcenter_licences,
    cut_short,
    monthly_max_incidents,
    too_long_to_print,
)


@dataclass(frozen=True)
class Field:
    """One column of a record table."""

    name: str
    kind: str  # text | code | count | yen | date | bool | level | limit
    required: bool = False
    vocabulary: Vocabulary | None = None
    help: str = ""
    unique: bool = False  # no two rows may share a value (blanks aside)
    # The largest value a number field takes: far beyond any real incident or contract, and
    # small enough that no value makes the billing do work in proportion to it.
    maximum: float | None = None
    # The longest text a text field takes, where it is printed on every page of a document
    # (None: a cell's 32,767 characters).
    max_chars: int | None = None


MAX_YEN = 10_000_000_000  # ¥10 billion: one incident's or contract's amount
# What a column of each kind takes, for the message naming a cell that holds something else.
EXPECTED = {"text": "文字で入力してください", "count": "整数で入力してください",
            "minutes": "対応時間 (分) を数値で入力してください", "yen": "金額 (円) を整数で入力してください",
            "date": "日付を 2026-10-14 の形で入力してください",
            "bool": "TRUE か FALSE で入力してください",
            "level": "レベルを feather（フェザー）か 1〜10 で入力してください",
            "limit": "金額 (円) かレベル (feather, L1〜L10) で入力してください"}


def expected(f: Field) -> str:
    """What the column takes and what to type, for a cell that holds something else."""
    if f.vocabulary is not None:
        return f"次のどれかを入力してください: {f.vocabulary.choices()}"
    return EXPECTED[f.kind]


def _code(name: str, vocabulary: Vocabulary, required: bool, help: str) -> Field:
    return Field(name, "code", required, vocabulary, help)


CONTRACT_FIELDS: tuple[Field, ...] = (
    Field("contract_id", "text", True, help="契約ID (unique)", max_chars=PRINTED_ID_CHARS),
    Field("customer", "text", True, help="請求先 (顧客名)", max_chars=PRINTED_NAME_CHARS),
    _code("pricebook", PRICEBOOKS, False, "aki_sie or vendor_support; blank: from the plan"),
    _code("plan", PLANS, True, "annual 年額 / monthly 月額 / vendor_support / callcenter"),
    _code("support_range", SUPPORT_RANGES, False, "normal 通常 / technical / advanced / "
          "mission_critical; blank: normal"),
    Field("max_incidents", "count", help="monthly plans: maximum incidents per month",
          maximum=FIELD_MAXIMUM["max_incidents"]),
    Field("licences", "count", help="vendor_support / callcenter: licences (契約数)",
          maximum=FIELD_MAXIMUM["licences"]),
    Field("start_date", "date", True, help="contract start"),
    Field("end_date", "date", help="contract end (blank: open)"),
    Field("fee_limit", "limit", help="default incident fee limit: yen, or a level (feather, L3 …); "
          "blank: none"),
    Field("members_allowed", "text", help="'all' or comma-separated member names"),
    Field("approver", "text", help="who must approve members' personal use"),
    Field("sole_proprietor_shared_env", "bool", help="TRUE: no chart needed for the owner"),
    _code("karte_payment", KARTE_PAYMENT, False, "consume (one incident) or pay (annual L3 fee)"),
)

INCIDENT_FIELDS: tuple[Field, ...] = (
    Field("incident_id", "text", True, help="インシデントID (unique)", unique=True,
          max_chars=PRINTED_ID_CHARS),
    Field("contract_id", "text", True, help="契約ID"),
    Field("opened", "date", True, help="opened on"),
    Field("closed", "date", help="closed on (blank: still open, not billed)"),
    _code("channel", CHANNELS, True, "email / dm / reply / phone / skype_call / skype_chat / onsite"),
    Field("round_trips", "count", help="e-mail / DM / reply round trips (往復)",
          maximum=FIELD_MAXIMUM["round_trips"]),
    Field("minutes", "minutes", help="call or chat minutes (total over sessions)",
          maximum=FIELD_MAXIMUM["minutes"]),
    Field("sessions", "count", help="number of call/chat sessions (blank: 1)",
          maximum=FIELD_MAXIMUM["sessions"]),
    Field("days_open", "count", help="days open (blank: closed − opened)",
          maximum=FIELD_MAXIMUM["days_open"]),
    Field("onsite_visits", "count", help="on-site visits (出張)",
          maximum=FIELD_MAXIMUM["onsite_visits"]),
    Field("investigation", "bool", help="troubleshooting that needed investigation (調査)"),
    _code("consulting", CONSULTING, False, "specific / comprehensive / blank"),
    Field("level_override", "level", help="level set by staff (feather, 1..10); wins"),
    Field("member", "text", help="member who asked (personal use)"),
    Field("personal", "bool", help="TRUE: a member's personal use"),
    Field("approved_by", "text", help="who approved the personal use"),
    Field("fee_limit", "limit", help="this incident's fee limit: yen, or a level (feather or 0, "
          "L3 …)"),
    _code("limit_decision", LIMIT_DECISIONS, False, "stop 中止 / continue 継続 / blank: pending"),
    Field("absorbed_into", "text", help="system_building / tutoring when absorbed"),
    Field("absorbed_fee", "yen", help="fee of the service the incident was absorbed into",
          maximum=MAX_YEN),
    Field("urgent", "bool", help="お急ぎ"),
    Field("description", "text", help="free text"),
    Field("first_response", "date", help="first reply to the customer (blank: not yet); "
          "checked against the channel's response target"),
    Field("response_agreed", "date", help="phone: the call-back date agreed with the customer "
          "(it replaces the response target)"),
)

PACK_FIELDS: tuple[Field, ...] = (
    Field("contract_id", "text", True, help="契約ID (vendor_support)"),
    Field("purchased", "date", True, help="purchase date; valid for one year"),
    Field("units", "count", True, help="units bought (a pack is 10)",
          maximum=FIELD_MAXIMUM["units"]),
)

SHEETS: dict[str, tuple[Field, ...]] = {
    "Contracts": CONTRACT_FIELDS,
    "Incidents": INCIDENT_FIELDS,
    "Packs": PACK_FIELDS,
}


def field_names(fields: Sequence[Field]) -> list[str]:
    return [f.name for f in fields]


@dataclass(frozen=True)
class Contract:
    contract_id: str
    customer: str
    pricebook: str
    plan: str
    support_range: str
    max_incidents: int | None
    licences: int | None
    start_date: dt.date
    end_date: dt.date | None
    fee_limit: int | None
    members_allowed: tuple[str, ...] | None  # None: nobody; ("all",): everybody
    approver: str
    sole_proprietor_shared_env: bool
    karte_payment: str
    row: int | None = None
    fee_limit_level: int | None = None  # a limit given as a level (0 = feather), else None

    def active_in(self, first: dt.date, last: dt.date) -> bool:
        return self.start_date <= last and (self.end_date is None or self.end_date >= first)

    def covers(self, day: dt.date) -> bool:
        return self.start_date <= day and (self.end_date is None or day <= self.end_date)

    def member_allowed(self, member: str) -> bool:
        if not self.members_allowed:
            return False
        if "all" in self.members_allowed:
            return True
        return normalize_text(member) in self._allowed_names

    @functools.cached_property
    def _allowed_names(self) -> frozenset[str]:
        """The members allowed, normalized once: a contract may list thousands, and each
        personal-use incident asks."""
        return frozenset(normalize_text(m) for m in self.members_allowed or ())

    def allowed_members_text(self, shown: int = 5) -> str:
        """The members allowed, for a message: the first ``shown`` and how many more."""
        names = self.members_allowed or ()
        if not names:
            return "なし"
        more = f" ほか {len(names) - shown:,} 人" if len(names) > shown else ""
        return "、".join(names[:shown]) + more


@dataclass(frozen=True)
class Pack:
    contract_id: str
    purchased: dt.date
    units: int
    row: int | None = None


class ContractPositions(dict[str, int]):
    """Contract id → position in a list of contracts; -1 for an id the list lacks."""

    def __init__(self, contracts: Iterable[Contract]) -> None:
        super().__init__((c.contract_id, i) for i, c in enumerate(contracts))

    def __missing__(self, key: str) -> int:
        return -1

    def of(self, contract_ids: np.ndarray) -> np.ndarray:
        """Each id's position (int64; -1: unknown). A plain ``map`` of ``__getitem__`` over a
        million incidents is the fastest lookup Python has."""
        return np.fromiter(map(self.__getitem__, contract_ids), np.int64, len(contract_ids))


@dataclass
class IncidentTable:
    """Incidents as columns (one entry per incident); ``row`` is the sheet row number.

    A table made by ``take`` or ``slice`` copies nothing at first: each column is picked from
    its source when first read. Grouping a million incidents by contract then copies only the
    columns pricing reads (not the ids and descriptions, a million scattered strings each),
    and a contract's slice costs nothing until its biller reads a column."""

    incident_id: np.ndarray  # object (str)
    contract_id: np.ndarray  # object (str)
    opened: np.ndarray  # datetime64[D]
    closed: np.ndarray  # datetime64[D], NaT = still open
    measures: IncidentMeasures  # support_range column is filled from the contract when billed
    member: np.ndarray
    personal: np.ndarray
    approved_by: np.ndarray
    fee_limit: np.ndarray  # int64 yen, -1 = none (or a level limit)
    limit_level: np.ndarray  # int64 level of a limit given as a level (0 = feather), -1 = none
    limit_decision: np.ndarray  # int64 positions in LIMIT_DECISIONS
    absorbed_into: np.ndarray  # object (str)
    absorbed_fee: np.ndarray  # int64
    urgent: np.ndarray
    description: np.ndarray
    first_response: np.ndarray  # datetime64[D], NaT = not recorded
    response_agreed: np.ndarray  # datetime64[D], NaT = none
    row: np.ndarray  # int64

    def __len__(self) -> int:
        return self.__dict__["_length"] if "_length" in self.__dict__ else len(self.row)

    def __getattr__(self, name: str) -> Any:
        """A column not picked yet, picked now (called only for attributes not set)."""
        deferred = self.__dict__.get("_deferred")
        if not deferred or name not in deferred:
            raise AttributeError(name)
        source, positions = deferred.pop(name)
        value = _pick(source, positions)
        setattr(self, name, value)
        return value

    def measure(self, name: str) -> np.ndarray:
        """One column of ``measures``. Where the measures are not picked yet, that column alone
        is picked: pricing a month reads two of the ten (picking them all copied ~80 MB for a
        million incidents)."""
        if "measures" in self.__dict__:
            return getattr(self.measures, name)
        picked = self.__dict__.setdefault("_measures_picked", {})
        if name not in picked:
            source, positions = self.__dict__["_deferred"]["measures"]
            picked[name] = _pick(getattr(source, name), positions)
        return picked[name]

    def slice(self, start: int, stop: int) -> IncidentTable:
        """Rows start..stop (their columns are views when picked)."""
        return self.take(slice(start, stop))  # type: ignore[arg-type]

    def take(self, index: np.ndarray) -> IncidentTable:
        """The incidents at positions ``index`` (integers, a slice or a mask), in that order.
        Positions that run side by side, rising, are a slice: their columns are views."""
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self))
            index = range(start, stop) if step == 1 else np.arange(start, stop, step)
        else:
            index = _side_by_side(np.flatnonzero(index) if np.asarray(index).dtype == bool
                                  else index)
        table = object.__new__(IncidentTable)
        pending = self.__dict__.get("_deferred", {})
        deferred = {}
        for name in INCIDENT_TABLE_COLUMNS:
            if name in self.__dict__:  # picked or assigned here
                deferred[name] = (self.__dict__[name], index)
            else:  # not picked here either: pick from the same source, positions composed
                source, positions = pending[name]
                deferred[name] = (source, _compose(positions, index))
        table._deferred = deferred
        table._length = len(index)
        return table


# Which rows of a source column a deferred column picks: a range is a contiguous run (picked
# as a view), an array any positions (picked as a copy).
Positions = range | np.ndarray


def _side_by_side(index: np.ndarray) -> Positions:
    """``index`` as a range where its positions run side by side, rising (the month's
    incidents of a sheet of one month: a million rows' columns are not copied)."""
    index = np.asarray(index)
    if len(index) < 2 or index[0] < 0 or int(index[-1]) - int(index[0]) + 1 != len(index):
        return index
    return range(int(index[0]), int(index[-1]) + 1) if (np.diff(index) == 1).all() else index


def _compose(positions: Positions, index: Positions) -> Positions:
    """The source positions of rows ``index`` of a table that picks ``positions``."""
    if isinstance(index, range):
        return positions[index.start:index.stop]
    if isinstance(positions, range):
        return np.arange(positions.start, positions.stop)[index]
    return positions[index]


def _pick(source: Any, positions: Positions) -> Any:
    if isinstance(positions, range):
        positions = slice(positions.start, positions.stop)  # type: ignore[assignment]
    if isinstance(source, IncidentMeasures):
        return IncidentMeasures(**{k: v[positions] for k, v in vars(source).items()})
    return source[positions]


INCIDENT_TABLE_COLUMNS = tuple(f.name for f in fields(IncidentTable))


# How alike (difflib's ratio) a header must be to a missing column's name to be taken for it
# misspelt: minute/minutes 0.92, fee_limt/fee_limit 0.94; memo/member 0.6.
NEAR_MISS = 0.8


def misspelt_headers(header: Sequence[Any], fields: Sequence[Field], sheet: str,
                     header_row: int) -> list[Problem]:
    """The headers naming no field but close to the name of a field whose column is missing
    (minute for minutes). A column xlquote does not read is ignored; this one is the missing
    column misspelt, and read as absent, every value in it would count as blank and change the
    bill without a word."""
    known = {f.name for f in fields}
    # A header past 1.5× the longest name is no near miss of it (difflib's ratio is at most
    # 2·short/(short + long)): a long one is not compared, a cell may hold 32,767 characters.
    longest = max(map(len, known)) * (2 / NEAR_MISS - 1)
    names = {normalize_text(name): name for name in header
             if isinstance(name, str) and len(name) <= 2 * longest}
    missing = [f.name for f in fields if f.name not in names]
    problems = []
    for key, name in names.items():
        meant = ([] if key in known or len(key) > longest
                 else get_close_matches(key, missing, n=1, cutoff=NEAR_MISS))
        if meant:
            problems.append(Problem(header_row, name, name, (
                f"読まない列の見出しですが、{meant[0]} の列がありません。{meant[0]} のつもりなら"
                f"見出しを {meant[0]} に直してください (このままでは {meant[0]} がすべて空欄として"
                "扱われます)"), sheet))
    return problems


def unusable_header(column: str, cell: UnusableCell, sheet: str, header_row: int) -> Problem:
    """A header cell that is an error value (#REF! after a column was deleted under a
    formula), named: it may be any field's, and read as no name its column is left out."""
    return Problem(header_row, column, cell.shown, f"見出しを読めません ({cell.reason})。列の名前 "
                   "(minutes など) を入力してください", sheet)


def duplicated_headers(header: Iterable[Any], sheet: str, header_row: int) -> list[Problem]:
    """Each header naming a column an earlier one names too (case, width and spaces folded):
    which column holds the values cannot be told."""
    seen: set[str] = set()
    problems = []
    for name in header:
        if is_blank(name):
            continue
        key = normalize_text(name)
        if key in seen:
            problems.append(Problem(header_row, str(name), name, DUPLICATE_HEADER, sheet))
        seen.add(key)
    return problems


def _header_index(header: Sequence[Any], fields: Sequence[Field], sheet: str,
                  header_row: int) -> tuple[dict[str, int], list[Problem]]:
    """Map each field to its column position; missing required columns are problems."""
    positions = {normalize_text(name): i for i, name in enumerate(header) if not is_blank(name)}
    problems = duplicated_headers(header, sheet, header_row)
    for f in fields:
        if f.required and f.name not in positions:
            problems.append(Problem(header_row, f.name, None, f"必須の列がありません。見出し行に "
                                    f"{f.name} の列を追加してください", sheet))
    return positions, problems


@dataclass(frozen=True)
class ColumnBlock:
    """Data rows handed over column by column, as a typed reader produces them (float64 with
    NaN for blanks, datetime64 with NaT, bool, or object), instead of as a grid of cells."""

    columns: tuple[np.ndarray, ...]
    blanks: tuple[np.ndarray, ...]  # per column: True where the cell is empty
    length: int
    # Per column: the reader has checked that it holds only text the parser would keep as it
    # is (blanks as '', nothing to strip, no control character), so the per-cell pass is
    # skipped. Empty: no column is known to be plain.
    plain_text: tuple[bool, ...] = ()
    # Per column: the reader has checked that no two of its cells hold the same value, so a
    # unique field of plain text needs no look for duplicates. Empty: none is known.
    distinct: tuple[bool, ...] = ()
    # Per column: the reader has checked that it holds no unusable cell (error value, NaN, …)
    # and no text longer than a cell holds, so that look is skipped. Empty: none is known.
    only_values: tuple[bool, ...] = ()

    def __len__(self) -> int:
        return self.length

    def holds_only_values(self, position: int) -> bool:
        return position < len(self.only_values) and self.only_values[position]

    def is_plain_text(self, position: int) -> bool:
        return position < len(self.plain_text) and self.plain_text[position]

    def is_distinct(self, position: int) -> bool:
        return position < len(self.distinct) and self.distinct[position]


def as_grid(rows: Sequence[Sequence[Any]] | np.ndarray) -> np.ndarray:
    """Data rows as a 2-D object array (short rows padded with blanks). A reader that already
    hands over a 2-D array (calamine) costs nothing here."""
    if isinstance(rows, np.ndarray) and rows.ndim == 2:
        return rows
    width = max((len(r) for r in rows), default=0)
    grid = np.full((len(rows), width), None, dtype=object)
    for i, row in enumerate(rows):
        grid[i, : len(row)] = list(row)
    return grid


def as_columns(rows: Rows) -> tuple[list[np.ndarray], list[np.ndarray | None], int]:
    """The data rows' columns, their blank masks when the reader knows them, and the number
    of rows, whatever shape the reader gave."""
    if isinstance(rows, ColumnBlock):
        return list(rows.columns), list(rows.blanks), len(rows)
    grid = as_grid(rows)
    return [grid[:, j] for j in range(grid.shape[1])], [None] * grid.shape[1], len(grid)


Rows = Sequence[Sequence[Any]] | np.ndarray | ColumnBlock

# Column dtypes each field kind converts without a per-cell look; any other column (say dates
# in a minutes column) goes through the general per-cell path as Python values.
TYPED_KINDS = {"count": "f", "minutes": "f", "yen": "f", "level": "f", "limit": "f", "date": "M",
               "bool": "b"}


def read_columns(fields: Sequence[Field], header: Sequence[Any], rows: Rows, sheet: str,
                 first_row: int = 2, row_numbers: Sequence[int] | None = None
                 ) -> tuple[dict[str, np.ndarray], RowChecks]:
    """Typed columns of a table given as a header and data rows (cells, or a reader's typed
    ``ColumnBlock``: the same conversions apply, mostly without a per-cell look). Rows are numbered from
    ``first_row`` (the sheet row of the first data row), or by ``row_numbers`` when the reader
    skipped blank rows (``first_row`` - 1 is then still the header's row). Problems are
    collected, not raised."""
    columns, blanks, n = as_columns(rows)
    if row_numbers is None:
        numbers = np.arange(first_row, first_row + n, dtype=np.int64)
    else:
        numbers = np.asarray(row_numbers, dtype=np.int64)
    positions, header_problems = _header_index(header, fields, sheet, first_row - 1)
    row_numbers = numbers
    checks = RowChecks((n,), sheet=sheet, row_numbers=row_numbers, messages=False)
    checks.problems.extend(header_problems)
    out: dict[str, np.ndarray] = {"row": row_numbers}
    for f in fields:
        flagged = None  # cells already named as unusable, if any
        field_checks = checks
        position = positions.get(f.name)
        if (f.kind == "text" and position is not None and isinstance(rows, ColumnBlock)
                and rows.is_plain_text(position)):
            raw, blank = columns[position], blanks[position]
            out[f.name] = raw  # the reader checked: to_text would give it back unchanged
        elif position is not None and position < len(columns):
            raw, blank = columns[position], blanks[position]
            if raw.dtype.kind != "O" and raw.dtype.kind != TYPED_KINDS.get(f.kind):
                raw = raw.astype(object)
            if blank is None:
                blank = blank_mask(raw)
            if raw.dtype.kind == "O":
                raw = raw.copy()
                raw[blank] = None  # readers give empty cells as '' (Excel) or None
                unusable = None if isinstance(rows, ColumnBlock) and rows.holds_only_values(
                    position) else flag_unusable(raw, f.name, checks, expected(f))
                if unusable is not None:  # named once; the conversion sees a blank
                    raw[unusable] = None
                    blank = blank | unusable
                    flagged = unusable
        else:
            raw = np.full(n, None, dtype=object)
            blank = np.ones(n, dtype=bool)
            if f.required:  # the header's problem names the missing column, not every row
                field_checks = RowChecks((n,), messages=False)
        if f.kind == "limit":
            out[f.name], out[f"{f.name}_level"] = to_limits(raw, f.name, field_checks)
        elif f.name not in out:
            out[f.name] = _convert(f, raw, blank, field_checks)
        if f.max_chars is not None:
            _flag_longer(out[f.name], f.name, f.max_chars, field_checks)
        if f.unique and not (position is not None and isinstance(rows, ColumnBlock)
                             and rows.is_plain_text(position) and rows.is_distinct(position)):
            _flag_duplicates(out[f.name], f.name, checks)
        if f.required and f.kind not in ("date", "code"):  # those report blanks themselves
            missing = (out[f.name] == "") if f.kind == "text" else blank
            if flagged is not None:
                missing = missing & ~flagged
            if missing.any():  # a plain text column's blank is '', shown as a blank
                shown = np.where(raw == "", None, raw) if raw.dtype.kind == "O" else raw
                field_checks.flag(missing, f.name, shown, REQUIRED)
    return out, checks


def _convert(f: Field, raw: np.ndarray, blank: np.ndarray, checks: RowChecks) -> np.ndarray:
    if f.kind == "text":
        text = to_text(raw)
        flag_control_characters(text, f.name, checks)
        return text
    if f.kind == "code":
        vocabulary: Vocabulary = f.vocabulary  # type: ignore[assignment]
        if f.required or vocabulary.blank is not None:
            return to_codes(raw, vocabulary, f.name, checks)
        return np.where(blank, -1, to_codes(np.where(blank, vocabulary.codes[0], raw), vocabulary,
                                            f.name, checks))
    maximum = MAXIMUM if f.maximum is None else f.maximum
    if f.kind == "count":
        values = to_ints(raw, f.name, checks, default=0, maximum=maximum)
        return np.where(blank, -1, values)
    if f.kind == "minutes":
        return to_numbers(raw, f.name, checks, default=0, integer=False, maximum=maximum)
    if f.kind == "yen":
        return np.where(blank, -1, to_ints(raw, f.name, checks, default=0, maximum=maximum))
    if f.kind == "date":
        return to_dates(raw, f.name, checks, required=f.required)
    if f.kind == "bool":
        return to_bools(raw, f.name, checks)
    if f.kind == "level":
        return to_levels(raw, f.name, checks)
    raise ValueError(f"unknown field kind {f.kind}")


def _flag_longer(text: np.ndarray, field: str, most: int, checks: RowChecks) -> None:
    longer = np.fromiter(map(len, text.tolist()), np.int64, len(text)) > most
    if longer.any():
        shown = text.copy()
        shown[longer] = [cut_short(t) for t in text[longer].tolist()]
        checks.flag(longer, field, shown, too_long_to_print(most))


def _rows_from_records(records: Iterable[Mapping[str, Any]], fields: Sequence[Field]
                       ) -> tuple[list[str], list[list[Any]]]:
    header = field_names(fields)
    return header, [[record.get(name) for name in header] for record in records]


def _date_or_none(value: np.datetime64) -> dt.date | None:
    return None if np.isnat(value) else value.astype("datetime64[D]").item()


# The most contracts a workbook lists (ended ones included), and the most packs. Billing
# holds ~10 KB a contract (a crafted sheet of 100,000 short contracts took ~1 GB), and a pack
# is a line and a balance on its invoice (300,000 packs on one contract, from a 3 MB workbook:
# 31 s and 1.15 GB; 50,000: 6 s and 330 MB), so a longer sheet is refused before it is
# parsed. 10,000 contracts make the 1M-incident month of bench/.
MAX_CONTRACTS = 50_000
MAX_PACKS = 50_000


def record_limit(table: str) -> tuple[int, str] | None:
    """The most records ``table`` may hold, and what they are called; None where it holds any
    number. (Looked up when called: the limits are the module's as they stand.)"""
    return {"Contracts": (MAX_CONTRACTS, "契約"), "Packs": (MAX_PACKS, "パック")}.get(table)


def refuse_beyond(rows: Sized, table: str, sheet: str, first_row: int,
                  row_numbers: Sequence[int] | np.ndarray | None) -> None:
    """InputError naming the first row beyond the records ``table`` may hold
    (``record_limit``)."""
    limit = record_limit(table)
    if limit is None or len(rows) <= limit[0]:
        return
    most, what = limit
    first_beyond = int(row_numbers[most]) if row_numbers is not None else first_row + most
    raise InputError([Problem(first_beyond, ROW_FIELD, None, (
        f"{what}が {len(rows):,} 件あり、1 冊のブックに載せられる {most:,} 件を超えています"
        " (この行から先)。契約を、その対応記録とパックとともに複数のブックに分けてください"),
        sheet)])


def parse_contracts(header: Sequence[Any], rows: Rows, sheet: str = "Contracts",
                    first_row: int = 2, row_numbers: Sequence[int] | None = None
                    ) -> list[Contract]:
    """Contracts from sheet rows; raises InputError naming every bad cell."""
    refuse_beyond(rows, "Contracts", sheet, first_row, row_numbers)
    cols, checks = read_columns(CONTRACT_FIELDS, header, rows, sheet, first_row, row_numbers)
    contracts = []
    seen: dict[str, int] = {}
    for i in range(len(rows)):
        plan = PLANS.codes[cols["plan"][i]]
        book_code = cols["pricebook"][i]
        pricebook = PRICEBOOKS.codes[book_code] if book_code >= 0 else \
            ("aki_sie" if plan in ("annual", "monthly") else "vendor_support")
        contract = Contract(
            contract_id=cols["contract_id"][i],
            customer=cols["customer"][i],
            pricebook=pricebook,
            plan=plan,
            support_range=SUPPORT_RANGES.codes[cols["support_range"][i]],
            max_incidents=None if cols["max_incidents"][i] < 0 else int(cols["max_incidents"][i]),
            licences=None if cols["licences"][i] < 0 else int(cols["licences"][i]),
            start_date=_date_or_none(cols["start_date"][i]) or dt.date.min,
            end_date=_date_or_none(cols["end_date"][i]),
            fee_limit=None if cols["fee_limit"][i] < 0 else int(cols["fee_limit"][i]),
            fee_limit_level=(None if cols["fee_limit_level"][i] < 0
                             else int(cols["fee_limit_level"][i])),
            members_allowed=_members(cols["members_allowed"][i]),
            approver=cols["approver"][i],
            sole_proprietor_shared_env=bool(cols["sole_proprietor_shared_env"][i]),
            karte_payment=KARTE_PAYMENT.codes[cols["karte_payment"][i]],
            row=int(cols["row"][i]),
        )
        if checks.message[i] is None:
            _check_contract(contract, i, checks)
        if contract.contract_id in seen:
            checks.add(i, "contract_id", contract.contract_id,
                       duplicate(seen[contract.contract_id]))
        seen.setdefault(contract.contract_id, contract.row or 0)
        contracts.append(contract)
    checks.raise_if_any()
    return contracts


def _members(text: str) -> tuple[str, ...] | None:
    names = tuple(n.strip() for n in text.replace("、", ",").split(",") if n.strip())
    if not names:
        return None
    return ("all",) if any(normalize_text(n) in ("all", "全員") for n in names) else names


def _check_contract(c: Contract, i: int, checks: RowChecks) -> None:
    from .pricebook import get_pricebook

    book = get_pricebook(c.pricebook)
    if c.plan not in book.plans:
        checks.add(i, "plan", c.plan, f"料金表 {c.pricebook} にないプランです。この料金表の"
                                      f"プラン: {', '.join(book.plans)} (pricebook 列も確かめて"
                                      "ください)")
        return
    if c.end_date is not None and c.end_date < c.start_date:
        checks.add(i, "end_date", c.end_date, f"契約の開始日 (start_date {c.start_date}) より前"
                                              "です")
    if c.plan == "monthly":
        rules = book.require_support()
        offered = int(rules.monthly_max_incidents[SUPPORT_RANGES.codes.index(c.support_range)])
        if c.max_incidents is None or not 1 <= c.max_incidents <= offered:
            checks.add(i, "max_incidents", c.max_incidents,
                       monthly_max_incidents(c.support_range, offered))
    if c.plan in ("vendor_support", "callcenter") and (c.licences is None or c.licences < 1):
        checks.add(i, "licences", c.licences, LICENCES_REQUIRED)
    if c.plan == "callcenter" and c.licences is not None:
        top = int(book.require_vendor().callcenter_upper_bounds[-1])
        if c.licences > top:
            checks.add(i, "licences", c.licences, callcenter_licences(top))


def parse_packs(header: Sequence[Any], rows: Rows, sheet: str = "Packs", first_row: int = 2,
                row_numbers: Sequence[int] | None = None) -> list[Pack]:
    refuse_beyond(rows, "Packs", sheet, first_row, row_numbers)
    cols, checks = read_columns(PACK_FIELDS, header, rows, sheet, first_row, row_numbers)
    packs = []
    for i in range(len(rows)):
        units = int(cols["units"][i])
        if units == 0:
            checks.add(i, "units", units, at_least(1))
        packs.append(Pack(cols["contract_id"][i], _date_or_none(cols["purchased"][i])
                          or dt.date.min, units, int(cols["row"][i])))
    checks.raise_if_any()
    return packs


def parse_incidents(header: Sequence[Any], rows: Rows, sheet: str = "Incidents",
                    first_row: int = 2, row_numbers: Sequence[int] | None = None
                    ) -> IncidentTable:
    """Incidents from sheet rows as columns; raises InputError naming every bad cell."""
    cols, checks = read_columns(INCIDENT_FIELDS, header, rows, sheet, first_row, row_numbers)
    opened, closed = cols["opened"], cols["closed"]
    derived_days = (closed - opened).astype(np.int64)
    days_blank = cols["days_open"] < 0
    has_both = ~np.isnat(opened) & ~np.isnat(closed)
    backwards = has_both & (closed < opened)
    if backwards.any():
        checks.flag(backwards, "closed", closed.astype(object), "受付日 (opened) より前です。"
                    "日付を確かめてください")
    days_open = np.where(days_blank, np.where(has_both & ~backwards, derived_days, 0),
                         cols["days_open"])
    absorbed = cols["absorbed_into"]
    absorbed_fee = cols["absorbed_fee"]
    checks.flag((absorbed != "") & (absorbed_fee < 0), "absorbed_fee", None,
                "absorbed_into を書いたインシデントには、吸収先のサービスの料金 (円) が必要です")
    checks.raise_if_any()
    n = len(rows)
    measures = IncidentMeasures(
        channel=cols["channel"],
        round_trips=np.maximum(cols["round_trips"], 0),
        minutes=cols["minutes"],
        sessions=np.where(cols["sessions"] < 0, 1, cols["sessions"]),
        days_open=days_open,
        onsite_visits=np.maximum(cols["onsite_visits"], 0),
        investigation=cols["investigation"],
        consulting=cols["consulting"],
        support_range=np.zeros(n, dtype=np.int64),
        level_override=cols["level_override"],
    )
    zero_sessions = cols["sessions"] == 0
    if zero_sessions.any():
        checks.flag(zero_sessions, "sessions", cols["sessions"], at_least(1))
        checks.raise_if_any()
    return IncidentTable(
        incident_id=cols["incident_id"], contract_id=cols["contract_id"], opened=opened,
        closed=closed, measures=measures, member=cols["member"], personal=cols["personal"],
        approved_by=cols["approved_by"], fee_limit=cols["fee_limit"],
        limit_level=cols["fee_limit_level"], limit_decision=cols["limit_decision"],
        absorbed_into=absorbed, absorbed_fee=np.maximum(absorbed_fee, 0), urgent=cols["urgent"],
        description=cols["description"], first_response=cols["first_response"],
        response_agreed=cols["response_agreed"], row=cols["row"],
    )


def duplicate(first_row: int) -> str:
    return f"{first_row}行目と重複しています。どちらかを直してください (同じ値は使えません)"


def _flag_duplicates(values: np.ndarray, field: str, checks: RowChecks) -> None:
    """Every repeat of a value of a unique column (blanks aside), naming the first row."""
    if len(set(values.tolist())) == len(values):
        return  # the usual case, found with one set; the loop below names the duplicates
    first: dict[str, int] = {}  # each value's first row, by its position
    repeated = np.fromiter((value != "" and first.setdefault(value, i) != i
                            for i, value in enumerate(values.tolist())), bool, len(values))
    checks.flag(repeated, field, values,
                lambda value: duplicate(int(checks.row_numbers[first[value]])))


# Each record table's parser, by the sheet's name
RECORD_PARSERS: dict[str, Callable[..., Any]] = {
    "Contracts": parse_contracts, "Incidents": parse_incidents, "Packs": parse_packs}


def contracts_from_records(records: Iterable[Mapping[str, Any] | Contract]) -> list[Contract]:
    """Contracts from dicts keyed by field name (or Contract objects, passed through)."""
    records = list(records)
    if all(isinstance(r, Contract) for r in records):
        return list(records)  # type: ignore[arg-type]
    header, rows = _rows_from_records(records, CONTRACT_FIELDS)  # type: ignore[arg-type]
    return parse_contracts(header, rows)


def incidents_from_records(records: Iterable[Mapping[str, Any]] | IncidentTable) -> IncidentTable:
    if isinstance(records, IncidentTable):
        return records
    header, rows = _rows_from_records(records, INCIDENT_FIELDS)
    return parse_incidents(header, rows)


def packs_from_records(records: Iterable[Mapping[str, Any] | Pack] | None) -> list[Pack]:
    records = list(records or [])
    if all(isinstance(r, Pack) for r in records):
        return list(records)  # type: ignore[arg-type]
    header, rows = _rows_from_records(records, PACK_FIELDS)  # type: ignore[arg-type]
    return parse_packs(header, rows)
