"""RULES 2.7: issue date = first business day of the next month; due = +1 month, back to a
business day. Business days skip weekends and Japanese public holidays."""

from __future__ import annotations

import datetime as dt

import pytest
from helpers import pricebook_with

from xlquote.engine.dates import Month, add_months, due_date, is_business_day, issue_date
from xlquote.engine.money import consumption_tax, round_ratio
from xlquote.engine.pricebook import get_pricebook

RULE = get_pricebook("aki_sie").calendar


@pytest.mark.parametrize(("month", "issued", "due"), [
    ("2026-10", "2026-11-02", "2026-12-02"),   # Nov 1 is a Sunday
    ("2026-12", "2027-01-04", "2027-02-04"),   # Jan 1 holiday, 2–3 weekend
    ("2027-04", "2027-05-06", "2027-06-04"),   # Golden Week; Jun 6 is a Sunday → Fri 4th
    ("2026-08", "2026-09-01", "2026-10-01"),   # plain case: both business days
])
def test_issue_and_due_dates(month: str, issued: str, due: str) -> None:
    got = issue_date(Month.parse(month))
    assert got.isoformat() == issued
    assert due_date(got, RULE).isoformat() == due


def test_public_holidays_come_from_the_library() -> None:
    assert not is_business_day(dt.date(2026, 9, 21))  # 敬老の日
    assert not is_business_day(dt.date(2026, 9, 22))  # 国民の休日 (between two holidays)
    assert not is_business_day(dt.date(2026, 11, 23))  # 勤労感謝の日
    assert is_business_day(dt.date(2026, 11, 24))


def test_due_date_adjust_setting_is_honoured() -> None:
    book = pricebook_with("aki_sie", **{"calendar.due_date_adjust": "next_business_day"})
    issued = issue_date(Month.parse("2027-04"))  # due would be Sunday 2027-06-06
    assert due_date(issued, book.calendar) == dt.date(2027, 6, 7)


def test_month_arithmetic() -> None:
    assert add_months(dt.date(2026, 1, 31), 1) == dt.date(2026, 2, 28)
    assert Month.parse("2026/3").plus(-3) == Month(2025, 12)
    assert str(Month.parse("2026年10月")) == "2026-10"
    assert str(Month.parse("２０２６－１０")) == str(Month.parse("２０２６年１０月")) == "2026-10"
    with pytest.raises(ValueError, match="月として読めません"):
        Month.parse("October")
    # the bounds a month to bill has, not those of any month (years 1900–9999)
    with pytest.raises(ValueError, match=r"そのような月はありません \(月は 1〜12\)$"):
        Month.parse("2026-13")
    with pytest.raises(ValueError, match="2000年1月〜2999年12月の月を入力してください"):
        Month.parse("1999-12")


@pytest.mark.parametrize(("subtotal", "floor", "half_up", "ceil"), [
    (22000, 2200, 2200, 2200), (12345, 1234, 1235, 1235), (12344, 1234, 1234, 1235),
    (5, 0, 1, 1), (4, 0, 0, 1), (0, 0, 0, 0), (-12345, -1235, -1235, -1234),
])
def test_tax_rounding_one_yen_cases(subtotal: int, floor: int, half_up: int, ceil: int) -> None:
    assert consumption_tax(subtotal, 10, "floor") == floor
    assert consumption_tax(subtotal, 10, "half_up") == half_up
    assert consumption_tax(subtotal, 10, "ceil") == ceil


def test_round_ratio_rejects_unknown_mode() -> None:
    with pytest.raises(ValueError, match="unknown rounding"):
        round_ratio(1, 3, "bankers")


def test_due_months_setting_is_honoured() -> None:
    book = pricebook_with("aki_sie", **{"calendar.due_months_after_issue": 2})
    # 2027-01-02 is a Saturday and 01-01 a holiday: back to Thursday 2026-12-31
    assert due_date(dt.date(2026, 11, 2), book.calendar) == dt.date(2026, 12, 31)
    assert due_date(dt.date(2026, 11, 2), RULE) == dt.date(2026, 12, 2)
