"""Billing calendar: months, contract years and Japanese business days (RULES 1.2, 2.7).

Public holidays come from the maintained ``holidays`` package (内閣府の「国民の祝日」), never a
hand-written list.
"""

from __future__ import annotations

import calendar as _calendar
import datetime as dt
import functools
import re

import holidays

from .closed_days import ClosedDays
from .columns import width_folded
from .pricebook import CalendarRule

NO_CLOSED_DAYS = ClosedDays()
MONTHS_PER_YEAR = 12  # a contract year, and the period of every yearly (年額) fee
# The most days in a row closed days may leave without a business day (with the weekends and
# holidays around them): every issue, due and response date is then found within a few
# steps. Chained entries that close a whole season would send each search through it.
MAX_DAYS_WITHOUT_BUSINESS = 62
# The years of the months xlquote bills, reports and compares: far from the calendar's ends,
# so that a contract year, a due date or a comparison's window stays inside it (a month in
# 9999 ran off the calendar).
BILLED_YEARS = range(2000, 3000)


@functools.cache
def _japanese_holidays(year: int) -> frozenset[dt.date]:
    return frozenset(holidays.country_holidays("JP", years=year))


def is_business_day(day: dt.date, closed: ClosedDays = NO_CLOSED_DAYS) -> bool:
    """Weekdays that are neither Japanese public holidays (incl. substitute holidays) nor the
    company's own ``closed`` days (年末年始 …)."""
    return (day.weekday() < 5 and day not in _japanese_holidays(day.year)
            and (not closed or day not in closed))


def next_business_day(day: dt.date, closed: ClosedDays = NO_CLOSED_DAYS) -> dt.date:
    """``day`` itself when it is a business day, else the next one."""
    while not is_business_day(day, closed):
        day += dt.timedelta(days=1)
    return day


def previous_business_day(day: dt.date, closed: ClosedDays = NO_CLOSED_DAYS) -> dt.date:
    while not is_business_day(day, closed):
        day -= dt.timedelta(days=1)
    return day


def closed_days_problem(closed: ClosedDays) -> str | None:
    """Why ``closed`` cannot be used, if it leaves more than MAX_DAYS_WITHOUT_BUSINESS days in a
    row without a business day: its yearly entries are checked over 28 years (every way the
    weekdays fall on the calendar's days, leap years included) and in the years around its
    dated entries, each run walked once from its first closed day."""
    years = set(range(2027, 2027 + 28)) | {
        year for first, last in closed.dated
        for year in range(max(first.year - 1, 1), min(last.year + 1, 9999) + 1)}
    starts = {first for first, _ in closed.dated}
    for year in years:
        for (month, day), _ in closed.yearly:
            if month != 2 or day != 29 or _calendar.isleap(year):
                starts.add(dt.date(year, month, day))
    walked_to = dt.date.min
    for start in sorted(starts):
        if start <= walked_to:
            continue
        day, run = start, 0
        while not is_business_day(day, closed) and day < dt.date.max:
            run += 1
            if run > MAX_DAYS_WITHOUT_BUSINESS:
                return (f"休業日と土日祝で、{start} から {MAX_DAYS_WITHOUT_BUSINESS} 日を超えて"
                        "営業日がありません。請求日・支払期日・対応期限を決められないので、休業日を"
                        "減らしてください")
            day += dt.timedelta(days=1)
        walked_to = day
    return None


def business_days_after(day: dt.date, count: int, closed: ClosedDays = NO_CLOSED_DAYS
                        ) -> dt.date:
    """The ``count``-th business day after ``day`` (``day`` itself not counted): received on a
    Friday with a target of 2 → the following Tuesday, holidays and closed days skipped."""
    for _ in range(count):
        day = next_business_day(day + dt.timedelta(days=1), closed)
    return day


@functools.total_ordering
class Month:
    """A calendar month, e.g. ``Month.parse("2026-10")``."""

    __slots__ = ("month", "year")

    def __init__(self, year: int, month: int) -> None:
        if not 1 <= month <= 12 or not 1900 <= year <= 9999:
            raise ValueError("そのような月はありません (月は 1〜12、年は 1900〜9999)")
        self.year, self.month = year, month

    @classmethod
    def parse(cls, value: object) -> Month:
        """From 'YYYY-MM', 'YYYY/MM' (full-width too), a date/datetime, or a Month: a month to bill, report or
        compare, within BILLED_YEARS. The ValueError does not repeat the value: its caller
        shows it beside the reason."""
        if isinstance(value, Month):
            return value
        if isinstance(value, dt.date):
            year, number = value.year, value.month
        elif isinstance(value, int | float):  # 2026.10 typed into a General cell is 2026.1
            raise ValueError("数値は月として読めません。2026-10 (YYYY-MM) の形の文字列か、その月の"
                             "日付で入力してください")
        else:  # full-width as typed with the IME on: ２０２６－１０
            match = re.fullmatch(r"\s*(\d{4})\s*[-/年.]\s*(\d{1,2})\s*月?\s*",
                                 width_folded(str(value)) or "")
            if not match:
                raise ValueError("月として読めません。2026-10 (YYYY-MM) の形で入力してください")
            year, number = int(match[1]), int(match[2])
        if not 1 <= number <= 12:
            raise ValueError("そのような月はありません (月は 1〜12)")
        if year not in BILLED_YEARS:
            raise ValueError(f"{BILLED_YEARS.start}年1月〜{BILLED_YEARS.stop - 1}年12月の月を"
                             "入力してください")
        return cls(year, number)

    @property
    def first_day(self) -> dt.date:
        return dt.date(self.year, self.month, 1)

    @property
    def last_day(self) -> dt.date:
        return dt.date(self.year, self.month, _calendar.monthrange(self.year, self.month)[1])

    def index(self) -> int:
        """Months since year 0, so that differences are month counts."""
        return self.year * 12 + self.month - 1

    def plus(self, months: int) -> Month:
        total = self.index() + months
        return Month(total // 12, total % 12 + 1)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Month) and self.index() == other.index()

    def __lt__(self, other: Month) -> bool:
        return self.index() < other.index()

    def __hash__(self) -> int:
        return self.index()

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    def __repr__(self) -> str:
        return f"Month({self})"


@functools.lru_cache(maxsize=65536)  # pure; a month's batch asks for the same few dates often
def add_months(day: dt.date, months: int) -> dt.date:
    """Same day ``months`` later, clamped to the month's end (1/31 + 1 month → 2/28)."""
    target = Month(day.year, day.month).plus(months)
    return dt.date(target.year, target.month, min(day.day, target.last_day.day))


def months_between(start: dt.date, month: Month) -> int:
    """Whole months from the month of ``start`` to ``month`` (0 in the starting month)."""
    return month.index() - Month(start.year, start.month).index()


def issue_date(month: Month, rule: CalendarRule | None = None) -> dt.date:
    """First business day of the month after the billed month (月末締め翌月請求)."""
    closed = rule.closed_days if rule is not None else NO_CLOSED_DAYS
    return next_business_day(month.plus(1).first_day, closed)


def due_date(issued: dt.date, rule: CalendarRule) -> dt.date:
    """Issue date + N months, moved to a business day as the price book says."""
    due = add_months(issued, rule.due_months_after_issue)
    if rule.due_date_adjust == "previous_business_day":
        return previous_business_day(due, rule.closed_days)
    if rule.due_date_adjust == "next_business_day":
        return next_business_day(due, rule.closed_days)
    return due
