"""Contract months, minimum terms and contract units (RULES 2.1, 1.2).

Seeds: 004_de71e10344ea06c0.txt:139 (月額: 契約の期間単位は6ヶ月ごと、料金は月額), :216-240 (契約単位 /
最低契約期間 per range), 000_0e7793dec93ec3cc.txt:170 (コールセンター: 1年単位での契約).
"""

from __future__ import annotations

import datetime as dt

import pytest
from helpers import contract, incident, pricebook_with

import xlquote
from xlquote import bill_month, monthly_invoice
from xlquote.engine.terms import contract_months, term_end, term_problems

MONTHS = [f"{y}-{m:02d}" for y in (2026, 2027, 2028) for m in range(1, 13)]


def billed(c: dict, kind: str, months=MONTHS, pricebook=None) -> list[str]:
    """The months whose invoice carries a line of ``kind``."""
    return [m for m in months if any(line.kind == kind for line in monthly_invoice(
        c, [], m, pricebook=pricebook).lines)]


# --- contract months (004_de71e10344ea06c0.txt:139, :153) ---------------------------------

@pytest.mark.parametrize(("start", "end", "first", "last"), [
    ("2026-04-01", "2027-03-31", "2026-04", "2027-03"),   # starts on the 1st
    ("2026-04-15", "2027-04-14", "2026-04", "2027-03"),   # the 15th: 12 fees, not 13
    ("2026-01-31", "2027-01-30", "2026-01", "2026-12"),   # the 31st: 2/28, 3/31, …
    ("2026-08-31", "2027-08-30", "2026-08", "2027-07"),
])
def test_a_year_of_monthly_fees_is_twelve_fees(start, end, first, last) -> None:
    c = contract("M1", plan="monthly", max_incidents=1, start_date=start, end_date=end)
    months = billed(c, "monthly_fee")
    assert len(months) == 12 and (months[0], months[-1]) == (first, last)


def test_issue_example_callcenter_from_the_15th_bills_twelve_months() -> None:
    # 5,000 licences from 2026-04-15 to 2027-04-14: 1,200,000 + 12 × 4,000,000 = 49,200,000
    c = contract("K1", plan="callcenter", licences=5000, start_date="2026-04-15",
                 end_date="2027-04-14")
    total = sum(monthly_invoice(c, [], m).subtotal for m in MONTHS)
    assert total == 49_200_000
    assert monthly_invoice(c, [], "2027-04").is_empty


@pytest.mark.parametrize(("plan", "fields", "kind", "fee"), [
    ("annual", {}, "annual_base_fee", 25_000),
    ("vendor_support", {"licences": 40}, "vendor_annual_fee", 70_000),
])
def test_no_yearly_fee_for_a_year_that_starts_after_the_end(plan, fields, kind, fee) -> None:
    c = contract("A1", plan=plan, start_date="2026-04-15", end_date="2027-04-14", **fields)
    assert billed(c, kind) == ["2026-04"]
    assert monthly_invoice(c, [], "2026-04").lines[0].amount == fee


def test_yearly_fees_for_every_year_that_starts_before_the_end() -> None:
    c = contract("A1", plan="annual", start_date="2026-04-15", end_date="2028-04-14")
    assert billed(c, "annual_base_fee") == ["2026-04", "2027-04"]
    open_ended = contract("A2", plan="annual", start_date="2026-04-15")
    assert billed(open_ended, "annual_base_fee") == ["2026-04", "2027-04", "2028-04"]


def test_leap_day_start_years_and_months() -> None:
    c = contract("A1", plan="annual", start_date="2024-02-29")
    assert [m for m in ("2025-02", "2025-03", "2028-02") if monthly_invoice(c, [], m).lines] == [
        "2025-02", "2028-02"]
    m = contract("M1", plan="monthly", max_incidents=1, start_date="2024-02-29",
                 end_date="2025-02-28")  # 民法143条: no 2/29 in 2025, the term ends 2/28
    assert len(billed(m, "monthly_fee", [f"{y}-{n:02d}" for y in (2024, 2025)
                                          for n in range(1, 13)])) == 12
    assert contract_months(dt.date(2024, 2, 29), dt.date(2025, 2, 27)) == 12
    assert term_end(dt.date(2024, 2, 29), 12) == dt.date(2025, 2, 28)


def test_the_tail_of_the_last_contract_month_has_no_fee_but_its_incidents_bill() -> None:
    c = contract("M1", plan="monthly", max_incidents=1, start_date="2025-04-15",
                 end_date="2026-04-14")
    used = [incident(f"i{n}", "2026-04-10", "M1", round_trips=3) for n in range(2)]  # level 1
    inv = monthly_invoice(c, used, "2026-04")
    assert [line.kind for line in inv.lines] == ["overage"]  # 2 counted on a 1-incident plan
    assert inv.subtotal == 15_000 - 5_000


def test_the_annual_fee_says_which_year_it_covers() -> None:
    start_first = contract("A1", plan="annual", start_date="2026-10-01")
    assert monthly_invoice(start_first, [], "2026-10").lines[0].description.endswith(
        "2026/10〜2027/09")
    mid = contract("A1", plan="annual", start_date="2026-04-15", end_date="2027-04-14")
    assert monthly_invoice(mid, [], "2026-04").lines[0].description.endswith(
        "2026/04/15〜2027/04/14")
    vendor = contract("V1", plan="vendor_support", licences=40, start_date="2026-10-01")
    assert "2026/10〜2027/09" in monthly_invoice(vendor, [], "2026-10").lines[0].description


# --- terms (004_de71e10344ea06c0.txt:216-240, 000_0e7793dec93ec3cc.txt:170) -------------------

@pytest.mark.parametrize(("plan", "fields", "start", "end", "code"), [
    ("monthly", {"max_incidents": 1}, "2026-04-01", "2026-07-31", "term_minimum"),  # 4 months
    ("monthly", {"max_incidents": 1}, "2026-04-01", "2027-03-31", None),   # 1 year
    ("monthly", {"max_incidents": 1}, "2026-04-15", "2027-04-14", None),   # 1 year from the 15th
    ("monthly", {"max_incidents": 1}, "2026-04-01", "2027-06-30", "term_unit"),  # 15 months
    ("monthly", {"max_incidents": 1}, "2026-04-01", "2027-09-30", None),   # 18 = 3 units
    ("monthly", {"max_incidents": 1}, "2026-04-15", "2027-03-31", "term_minimum"),  # just short
    ("annual", {"support_range": "mission_critical"}, "2026-04-01", "2027-03-31",
     "term_minimum"),                                                     # MC: 3 years
    ("monthly", {"support_range": "mission_critical", "max_incidents": 1}, "2026-04-01",
     "2029-06-30", None),                                                 # 39 months, 3-month units
    ("annual", {}, "2026-04-01", "2027-04-30", "term_unit"),              # after a year
    ("callcenter", {"licences": 100}, "2026-04-01", "2026-05-31", "term_minimum"),
    ("callcenter", {"licences": 100}, "2026-01-31", "2027-01-30", None),  # from the 31st
])
def test_minimum_terms_and_contract_units(plan, fields, start, end, code) -> None:
    c = contract("X1", plan=plan, start_date=start, end_date=end, **fields)
    if code is None:
        monthly_invoice(c, [], start[:7])
        return
    with pytest.raises(xlquote.InputError) as caught:
        monthly_invoice(c, [], start[:7])
    (problem,) = caught.value.problems
    assert (problem.sheet, problem.row, problem.field, problem.value) == (
        "Contracts", 2, "end_date", end)
    assert TERM_PHRASES[code] in problem.reason


TERM_PHRASES = {"term_minimum": "の最低契約期間", "term_unit": "の倍数になっていません"}


def test_open_ended_contracts_pass() -> None:
    c = contract("M1", plan="monthly", max_incidents=1, start_date="2026-04-01")
    assert monthly_invoice(c, [], "2026-04").subtotal == 5000


def test_term_policy_flag_bills_and_flags() -> None:
    book = pricebook_with("aki_sie", term_policy="flag")
    c = contract("M1", plan="monthly", max_incidents=1, start_date="2026-04-01",
                 end_date="2026-07-31")
    inv = monthly_invoice(c, [], "2026-05", pricebook=book)
    assert inv.subtotal == 5000
    assert [f.code for f in inv.flags] == ["term_minimum"]
    run = bill_month([c], [], "2026-05", pricebooks={"aki_sie": book})
    assert run.summaries[0].flags == ("term_minimum",)


def test_only_contracts_billed_in_the_month_are_checked() -> None:
    ended = contract("A1", start_date="2025-01-01", end_date="2025-03-31")  # too short, long ago
    assert bill_month([ended], [], "2026-10").summaries == []


def test_term_problems_name_the_end_date_that_would_be_valid() -> None:
    book = xlquote.get_pricebook("aki_sie")
    ((code, message),) = term_problems(dt.date(2026, 4, 15), dt.date(2027, 5, 14), "annual",
                                       "normal", book)
    assert (code, message) == ("term_unit", "契約期間 2026/04/15〜2027/05/14 が契約単位 (12か月) の"
                                            "倍数になっていません。24か月の契約なら終了日 (end_date) は "
                                            "2028/04/14 です")
    ((code, message),) = term_problems(dt.date(2026, 4, 1), dt.date(2027, 3, 31), "monthly",
                                       "mission_critical", book)
    assert (code, message) == ("term_minimum", "契約期間 2026/04/01〜2027/03/31 が月額契約 "
                                               "(ミッションクリティカル)の最低契約期間 (36か月) に"
                                               "足りません。終了日 (end_date) を 2029/03/31 以降に"
                                               "してください")
    vendor = xlquote.get_pricebook("vendor_support")
    ((code, message),) = term_problems(dt.date(2026, 4, 1), dt.date(2026, 5, 31), "callcenter",
                                       "normal", vendor)
    assert message.startswith("契約期間 2026/04/01〜2026/05/31 がコールセンターの最低契約期間 (12か月)")


@pytest.mark.parametrize(("change", "message"), [
    ({"ranges.normal.monthly_minimum_term_months": 15},
     "monthly_minimum_term_months: 最低契約期間 15 か月が契約単位 \\(6 か月\\) の倍数では"),
    ({"ranges.normal.annual_contract_unit_months": 0}, "0 は使えません。1 以上"),
    ({"term_policy": "warn"}, "'warn' は使えません。使えるもの: error, flag"),
    ({"onsite.onsite_fee": -1}, "onsite_fee: .*0 円以上の整数"),
    ({"fee_limit.default_fee_cap": 0}, "default_fee_cap: .*1 円以上の整数"),
])
def test_terms_and_options_in_the_price_book_are_checked(change, message) -> None:
    with pytest.raises(xlquote.PriceBookError, match=message):
        pricebook_with("aki_sie", **change)


def test_price_book_terms_are_the_seed_tables() -> None:
    book = xlquote.get_pricebook("aki_sie")
    assert book.plan_terms("annual").contract_unit_months.tolist() == [12, 12, 12, 12]
    assert book.plan_terms("annual").minimum_term_months.tolist() == [12, 12, 12, 36]
    assert book.plan_terms("monthly").contract_unit_months.tolist() == [6, 6, 6, 3]
    assert book.plan_terms("monthly").minimum_term_months.tolist() == [12, 12, 12, 36]
    vendor = xlquote.get_pricebook("vendor_support")
    assert vendor.plan_terms("callcenter").contract_unit_months.tolist() == [12] * 4
    assert vendor.plan_terms("vendor_support").minimum_term_months.tolist() == [12] * 4
