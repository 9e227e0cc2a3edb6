"""Contract months and contract terms (RULES 2.1, 1.2 — 契約単位, 最低契約期間).

A contract runs in contract months from its start date: contract month k starts on the same day
k months later (``add_months``: 1/31 → 2/28 → 3/31), so exactly one contract month starts in
each calendar month from the start on. A month's fee is on the invoice of the calendar month in
which its contract month starts, and only for contract months that start before the contract
ends; a contract year's fee likewise (years start at k = 0, 12, 24, …).

A term of n months from ``start`` ends on the day before the same day n months later, or, when
that month has no such day, on its last day (民法143条: 1/31 + 1 month ends 2/28 or 2/29 — the
day before the clamped 2/28 is accepted too). A contract with an end date must run at least the
minimum term and a whole number of contract units; an open-ended one (no end date) always passes.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np

from .codes import PLAN_LABELS_JA, SUPPORT_RANGES
from .dates import MONTHS_PER_YEAR, Month, add_months, months_between
from .pricebook import PriceBook

OPEN_ENDED = np.iinfo(np.int64).max  # the contract-month count of a contract with no end


def term_end(start: dt.date, months: int) -> dt.date:
    """Last day of a term of ``months`` months from ``start`` (民法143条)."""
    target = Month(start.year, start.month).plus(months)
    if start.day > target.last_day.day:  # no such day in the last month: its last day
        return target.last_day
    return dt.date(target.year, target.month, start.day) - dt.timedelta(days=1)


def contract_months(start: dt.date, end: dt.date | None) -> int:
    """How many contract months the contract bills: those that start before it ends
    (OPEN_ENDED without an end date)."""
    if end is None:
        return OPEN_ENDED
    if end < start:
        return 0
    months = max(0, months_between(start, Month(end.year, end.month)) - 1)
    while term_end(start, months) < end:
        months += 1
    return months


def is_whole_months(start: dt.date, end: dt.date, months: int) -> bool:
    """Does the term end exactly after ``months`` months (either reading of a clamped end)?"""
    return end in (term_end(start, months), add_months(start, months) - dt.timedelta(days=1))


def month_index(start: dt.date, month: Month) -> int:
    """The contract month that starts in calendar ``month`` (negative before the start)."""
    return months_between(start, month)


def starts_contract_month(index: Any, count: Any) -> Any:
    """Whether contract month ``index`` is billed: 0 ≤ index < count. Scalars or columns."""
    return (np.asarray(index) >= 0) & (np.asarray(index) < count)


def starts_contract_year(index: Any, count: Any) -> Any:
    """Whether a contract year (and its yearly fee) starts with contract month ``index``."""
    return starts_contract_month(index, count) & (np.asarray(index) % MONTHS_PER_YEAR == 0)


def rounded_term(months: Any, unit: Any, minimum: Any) -> Any:
    """A wished term in months as contracted: at least the minimum, in whole contract units."""
    wanted = np.maximum(months, minimum)
    return -(-wanted // unit) * unit


def plan_terms(book: PriceBook, plan: str, support_range: str = "normal") -> tuple[int, int]:
    """(contract unit, minimum term) in months of a plan and range."""
    terms = book.plan_terms(plan)
    index = SUPPORT_RANGES.codes.index(support_range or "normal")
    return int(terms.contract_unit_months[index]), int(terms.minimum_term_months[index])


def term_problems(start: dt.date, end: dt.date | None, plan: str, support_range: str,
                  book: PriceBook) -> list[tuple[str, str]]:
    """(code, message) for each term rule the contract breaks: ``term_minimum`` (shorter than
    the minimum term) or ``term_unit`` (not a whole number of contract units)."""
    if end is None or end < start:
        return []
    unit, minimum = plan_terms(book, plan, support_range)
    months = contract_months(start, end)
    term = f"契約期間 {start:%Y/%m/%d}〜{end:%Y/%m/%d}"
    if end < add_months(start, minimum) - dt.timedelta(days=1):
        return [("term_minimum", f"{term} が{_plan_ja(book, plan, support_range)}の最低契約期間 "
                                 f"({minimum}か月) に足りません。終了日 (end_date) を "
                                 f"{term_end(start, minimum):%Y/%m/%d} 以降にしてください")]
    if not is_whole_months(start, end, months) or months % unit:
        whole = rounded_term(months, unit, minimum)
        return [("term_unit", f"{term} が契約単位 ({unit}か月) の倍数になっていません。"
                              f"{whole}か月の契約なら終了日 (end_date) は "
                              f"{term_end(start, whole):%Y/%m/%d} です")]
    return []


def _plan_ja(book: PriceBook, plan: str, support_range: str) -> str:
    """月額契約 (技術的) — the range only where the price book has support ranges."""
    if book.support is None:
        return PLAN_LABELS_JA[plan]
    range_ja = book.support.range_names_ja[SUPPORT_RANGES.codes.index(support_range or "normal")]
    return f"{PLAN_LABELS_JA[plan]} ({range_ja})"
