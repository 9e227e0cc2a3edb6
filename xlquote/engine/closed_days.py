"""The company's own closed days (休業日, e.g. 年末年始), from the Settings sheet.

Business days are weekdays that are neither Japanese public holidays nor closed days; invoice
issue and due dates and response due dates all count them (RULES 2.7, 2.8).

Written as entries separated by commas (or 、 ; and line breaks), each one of
- ``12/29-1/3`` (or ``12/29〜1/3``): every year, a range that may wrap over the year's end;
- ``8/13``: every year, one day;
- ``2026-08-14`` or ``2026-08-13〜2026-08-16``: those dates only.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import unicodedata
from dataclasses import dataclass

# A company closes for days, not seasons: each entry spans at most a month and a Settings
# cell lists at most 200 of them, so that every date's lookup stays cheap and no run of
# closed days can hide the business days every due date needs (dates.py checks the runs).
MAX_CLOSED_ENTRIES = 200
MAX_CLOSED_RANGE_DAYS = 31
ENTRY_SEPARATORS = re.compile(r"[,、;\n]+")
RANGE_SEPARATORS = re.compile(r"\s*[〜~～]\s*")
MONTH_DAY = re.compile(r"(\d{1,2})\s*[/月]\s*(\d{1,2})\s*日?")
FULL_DATE = re.compile(r"(\d{4})\s*[-/年.]\s*(\d{1,2})\s*[-/月.]\s*(\d{1,2})\s*日?")
MonthDay = tuple[int, int]


@dataclass(frozen=True)
class ClosedDays:
    """Yearly ranges of (month, day) pairs and ranges of dates, both ends included."""

    yearly: tuple[tuple[MonthDay, MonthDay], ...] = ()
    dated: tuple[tuple[dt.date, dt.date], ...] = ()
    text: str = ""
    # Every (month, day) of the yearly ranges, and every date of the dated ones: one lookup
    # per date asked, however many entries. (Cached on the instance, not fields: the register
    # records the fields.)
    @functools.cached_property
    def _month_days(self) -> frozenset[MonthDay]:
        return frozenset((day.month, day.day) for first, last in self.yearly
                         for span in _in_leap_year(first, last) for day in _days(*span))

    @functools.cached_property
    def _dates(self) -> frozenset[dt.date]:
        return frozenset(day for first, last in self.dated for day in _days(first, last))

    def __contains__(self, day: object) -> bool:
        if not isinstance(day, dt.date):
            return False
        return (day.month, day.day) in self._month_days or day in self._dates

    def __bool__(self) -> bool:
        return bool(self.yearly or self.dated)

    @classmethod
    def parse(cls, text: object) -> ClosedDays:
        """Raises ValueError naming the entry that is not understood."""
        raw = unicodedata.normalize("NFKC", "" if text is None else str(text)).strip()
        yearly: list[tuple[MonthDay, MonthDay]] = []
        dated: list[tuple[dt.date, dt.date]] = []
        entries = [e for e in (e.strip() for e in ENTRY_SEPARATORS.split(raw)) if e]
        if len(entries) > MAX_CLOSED_ENTRIES:
            raise ValueError(f"休業日が {len(entries):,} 件あります。書けるのは {MAX_CLOSED_ENTRIES} "
                             "件までです (過ぎた年の日付は消してください)")
        for entry in entries:
            parts = RANGE_SEPARATORS.split(entry)
            if len(parts) == 1 and re.fullmatch(r"\d{1,2}/\d{1,2}\s*-\s*\d{1,2}/\d{1,2}", entry):
                parts = re.split(r"\s*-\s*", entry)
            if len(parts) > 2:
                raise ValueError(f"休業日 {entry!r} に範囲の区切り (〜) が 2 つ以上あります")
            ends = [_parse_end(part, entry) for part in parts]
            first, last = ends[0], ends[-1]
            if isinstance(first, dt.date) != isinstance(last, dt.date):
                raise ValueError(f"休業日 {entry!r} は日付 (2026-08-14) と毎年の日 (8/13) が混ざって"
                                 "います。どちらかにそろえてください")
            if isinstance(first, dt.date):
                if last < first:  # type: ignore[operator]
                    raise ValueError(f"休業日 {entry!r} は終わりが始まりより前です")
                spans = [(first, last)]
            else:
                spans = _in_leap_year(first, last)  # type: ignore[arg-type]
            days = sum((end - start).days + 1 for start, end in spans)  # type: ignore[operator]
            if days > MAX_CLOSED_RANGE_DAYS:
                raise ValueError(f"休業日 {entry!r} は {days} 日続きます。1 つの期間は "
                                 f"{MAX_CLOSED_RANGE_DAYS} 日までです")
            (dated if isinstance(first, dt.date) else yearly).append((first, last))  # type: ignore[arg-type]
        return cls(tuple(yearly), tuple(dated), raw)


def _in_leap_year(first: MonthDay, last: MonthDay) -> list[tuple[dt.date, dt.date]]:
    """A yearly range as spans of dates of a leap year (so that 2/29 is one): two when it
    wraps over the year's end."""
    start, end = dt.date(2024, *first), dt.date(2024, *last)
    if start <= end:
        return [(start, end)]
    return [(start, dt.date(2024, 12, 31)), (dt.date(2024, 1, 1), end)]


def _days(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=k) for k in range((last - first).days + 1)]


def _parse_end(part: str, entry: str) -> dt.date | MonthDay:
    full = FULL_DATE.fullmatch(part)
    try:
        if full:
            return dt.date(int(full[1]), int(full[2]), int(full[3]))
        month_day = MONTH_DAY.fullmatch(part)
        if month_day:
            month, day = int(month_day[1]), int(month_day[2])
            dt.date(2024, month, day)  # a leap year: 2/29 is a valid yearly day
            return month, day
    except ValueError:
        raise ValueError(f"休業日 {entry!r} にない日付があります") from None
    raise ValueError(f"休業日 {entry!r} が読めません。12/29-1/3, 8/13, 2026-08-14 のように"
                     "書いてください")
