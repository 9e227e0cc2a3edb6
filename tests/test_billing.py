"""monthly_invoice / bill_month: RULES 2.1–2.7, 1.1–1.2 and the worked examples of RULES 5."""

from __future__ import annotations

import datetime as dt

import pytest
from helpers import contract, incident, pricebook_with
from hypothesis import given, settings
from hypothesis import strategies as st

import xlquote
from xlquote import bill_month, monthly_invoice


def lines(invoice) -> list[tuple[str, int, int, int]]:
    return [(line.kind, line.quantity, line.unit_price, line.amount) for line in invoice.lines]


# --- RULES 5 worked examples -------------------------------------------------------------

def test_example_1_monthly_technical() -> None:
    c = contract("M1", plan="monthly", support_range="technical", max_incidents=2)
    incidents = [incident("e", "2026-10-02", "M1", channel="email", round_trips=2),
                 incident("p", "2026-10-05", "M1", channel="phone", minutes=25),
                 incident("s", "2026-10-07", "M1", channel="skype_chat", minutes=100)]
    inv = monthly_invoice(c, incidents, "2026-10")
    assert [s.level for s in inv.statement] == [0, 2, 4]
    assert lines(inv) == [("monthly_fee", 1, 20000, 20000), ("incident", 1, 2000, 2000)]
    assert (inv.subtotal, inv.tax, inv.total) == (22000, 2200, 24200)
    assert inv.flags == []
    assert (inv.issue_date, inv.due_date) == (dt.date(2026, 11, 2), dt.date(2026, 12, 2))


def test_example_2_annual_normal_no_base_fee_mid_year() -> None:
    c = contract("A1", plan="annual", start_date="2026-07-01")
    inv = monthly_invoice(c, [incident("x", "2026-10-10", "A1", opened="2026-10-01",
                                       round_trips=30)], "2026-10")
    assert inv.statement[0].level == 6
    assert lines(inv) == [("incident", 1, 20000, 20000)]
    assert (inv.subtotal, inv.tax, inv.total) == (20000, 2000, 22000)


def test_annual_base_fee_in_first_month_of_each_contract_year() -> None:
    c = contract("A1", plan="annual", start_date="2026-07-01", support_range="advanced")
    assert lines(monthly_invoice(c, [], "2026-07")) == [("annual_base_fee", 1, 80000, 80000)]
    assert monthly_invoice(c, [], "2026-08").is_empty
    assert lines(monthly_invoice(c, [], "2027-07")) == [("annual_base_fee", 1, 80000, 80000)]


def vendor_contract() -> dict:
    return contract("V1", plan="vendor_support", licences=40, start_date="2026-04-01")


def test_example_3_vendor_units_and_pack_statement() -> None:
    history = [incident("a", "2026-05-12", "V1", channel="phone", minutes=100)]  # 4 units
    october = [incident("b", "2026-10-06", "V1", channel="phone", minutes=95)]
    inv = monthly_invoice(vendor_contract(), history + october, "2026-10",
                          packs=[{"contract_id": "V1", "purchased": "2026-04-01", "units": 10}])
    assert inv.lines == [] and inv.total == 0
    assert [s.units for s in inv.statement] == [4]
    (pack,) = inv.packs
    assert (pack.used_before, pack.used_this_month, pack.left, pack.expires) == (
        4, 4, 2, dt.date(2027, 3, 31))


def test_example_4_callcenter_first_and_second_month() -> None:
    c = contract("K1", plan="callcenter", licences=5000, start_date="2026-10-01")
    october = monthly_invoice(c, [], "2026-10")
    assert lines(october) == [("callcenter_initial", 1, 1200000, 1200000),
                              ("callcenter_monthly", 1, 4000000, 4000000)]
    assert (october.subtotal, october.tax, october.total) == (5200000, 520000, 5720000)
    november = monthly_invoice(c, [], "2026-11")
    assert (november.subtotal, november.total) == (4000000, 4400000)


def test_example_5_absorption_into_tutoring() -> None:
    c = contract("A1", plan="annual", start_date="2026-04-01")
    # level 8 on an annual contract costs 80,000; a 50,000 limit decided "stop" makes the
    # incident fee 50,000, which the 100,000 of tutoring then absorbs
    x = incident("x", "2026-10-20", "A1", channel="onsite", onsite_visits=2, fee_limit=50000,
                 limit_decision="stop", absorbed_into="家庭教師", absorbed_fee=100000)
    inv = monthly_invoice(c, [x], "2026-10")
    assert lines(inv) == [("incident", 1, 0, 0), ("absorbed_service", 1, 100000, 100000)]
    assert "家庭教師に吸収" in inv.lines[0].description
    assert inv.lines[1].description.startswith("家庭教師")
    assert inv.statement[0].fee == 0 and inv.statement[0].full_fee == 80000
    assert "¥50,000 → 0" in inv.statement[0].note
    assert inv.subtotal == 100000


# --- monthly allowance and overage -----------------------------------------------------

def monthly_normal(maximum: int = 2, **extra) -> dict:
    return contract("M1", plan="monthly", max_incidents=maximum, **extra)


def test_feathers_are_free_and_not_counted() -> None:
    feathers = [incident(f"f{i}", "2026-10-03", "M1", round_trips=1) for i in range(6)]
    inv = monthly_invoice(monthly_normal(1), feathers, "2026-10")
    assert lines(inv) == [("monthly_fee", 1, 5000, 5000)]
    assert inv.flags == []


def test_over_the_maximum_bills_the_matching_tier() -> None:
    used = [incident(f"i{i}", "2026-10-03", "M1", round_trips=3) for i in range(3)]  # level 1
    inv = monthly_invoice(monthly_normal(2), used, "2026-10")
    assert lines(inv) == [("monthly_fee", 1, 15000, 15000), ("overage", 1, 10000, 10000)]
    assert [(f.code, f.message) for f in inv.flags] == [(
        "over_monthly_max", "当月の利用 3件が契約の月2件を超えました。上限超過分 ¥10,000 を請求します")]


def test_overage_policy_setting_is_honoured() -> None:
    book = pricebook_with("aki_sie", **{"monthly_allowance.overage_policy": "flag_only"})
    used = [incident(f"i{i}", "2026-10-03", "M1", round_trips=3) for i in range(3)]
    inv = monthly_invoice(monthly_normal(2), used, "2026-10", pricebook=book)
    assert lines(inv) == [("monthly_fee", 1, 15000, 15000)]
    assert [(f.code, f.message) for f in inv.flags] == [(
        "over_monthly_max", "当月の利用 3件が契約の月2件を超えました。超過分は請求していません "
                            "(料金表の overage_policy = flag_only)")]


def test_feather_counts_setting_is_honoured() -> None:
    book = pricebook_with("aki_sie", **{"monthly_allowance.feather_counts": True})
    feathers = [incident(f"f{i}", "2026-10-03", "M1", round_trips=1) for i in range(2)]
    inv = monthly_invoice(monthly_normal(1), feathers, "2026-10", pricebook=book)
    assert lines(inv) == [("monthly_fee", 1, 5000, 5000), ("overage", 1, 10000, 10000)]


def test_monthly_fee_every_month_of_the_term_only() -> None:
    c = monthly_normal(1, start_date="2026-04-01", end_date="2027-03-31")
    assert lines(monthly_invoice(c, [], "2026-04")) == [("monthly_fee", 1, 5000, 5000)]
    assert lines(monthly_invoice(c, [], "2027-03")) == [("monthly_fee", 1, 5000, 5000)]
    assert monthly_invoice(c, [], "2027-04").is_empty
    assert monthly_invoice(c, [], "2026-03").is_empty


# --- fee limits (RULES 2.4) -------------------------------------------------------------

REACHED = "レベル6の料金 ¥20,000 がリミット ¥10,000 に達しました。"
PENDING_TEXT = (REACHED + "継続か中止かをお客様に確認し、Incidents シートの limit_decision に記録して"
                "ください (記録までは ¥10,000 で計算)")
STOPPED_TEXT = REACHED + "お客様のご判断 (中止) により ¥10,000 を請求します"


@pytest.mark.parametrize(("decision", "charged", "flag", "message"),
                         [("", 10000, "limit_pending", PENDING_TEXT),
                          ("中止", 10000, "limit_applied", STOPPED_TEXT),
                          ("stop", 10000, "limit_applied", STOPPED_TEXT),
                          ("continue", 20000, None, None)])
def test_fee_limit_decisions(decision: str, charged: int, flag: str | None,
                             message: str | None) -> None:
    x = incident("x", "2026-10-05", "A1", channel="phone", minutes=200, fee_limit=10000,
                 limit_decision=decision)  # level 6 annual: 20,000
    inv = monthly_invoice(contract("A1", start_date="2026-07-01"), [x], "2026-10")
    assert inv.subtotal == charged
    assert [(f.code, f.message) for f in inv.flags] == ([(flag, message)] if flag else [])


def test_contract_limit_applies_and_incident_limit_zero_means_feather_only() -> None:
    c = contract("A1", start_date="2026-07-01", fee_limit=5000)
    x = incident("x", "2026-10-05", "A1", channel="phone", minutes=200)
    y = incident("y", "2026-10-06", "A1", channel="phone", minutes=20, fee_limit=0)
    inv = monthly_invoice(c, [x, y], "2026-10")
    assert [s.fee for s in inv.statement] == [5000, 0]
    assert [f.code for f in inv.flags] == ["limit_pending", "limit_pending"]


def test_no_limit_no_cap_and_default_cap_setting() -> None:
    x = incident("x", "2026-10-05", "A1", channel="onsite", onsite_visits=7)  # level 10
    c = contract("A1", start_date="2026-07-01")
    assert monthly_invoice(c, [x], "2026-10").subtotal == 320000
    book = pricebook_with("aki_sie", **{"fee_limit.default_fee_cap": 100000})
    assert monthly_invoice(c, [x], "2026-10", pricebook=book).subtotal == 100000


# --- channels and flags ------------------------------------------------------------------

def test_reply_channel_flag_depends_on_plan() -> None:
    reply = incident("r", "2026-10-05", "M1", channel="reply", round_trips=6)  # level 2
    monthly = monthly_invoice(monthly_normal(2), [reply], "2026-10")
    move = "お客様に DM またはメールへの切り替えをご案内ください"
    assert [(f.code, f.message) for f in monthly.flags] == [(
        "reply_beyond_limit", f"この契約のリプライで対応できるのはレベル1までですが、このインシデントは"
                              f"レベル2です。{move}")]
    level1 = incident("r", "2026-10-05", "M1", channel="reply", level_override=1)
    assert monthly_invoice(monthly_normal(2), [level1], "2026-10").flags == []
    annual = monthly_invoice(contract("M1"), [level1], "2026-10")
    assert [(f.code, f.message) for f in annual.flags] == [(
        "reply_beyond_limit", f"この契約のリプライで対応できるのはフェザーまでですが、このインシデントは"
                              f"レベル1です。{move}")]


def test_reply_max_level_setting_is_honoured() -> None:
    book = pricebook_with("aki_sie", **{"reply_channel.max_level": {"monthly": 1, "annual": 1}})
    level1 = incident("r", "2026-10-05", "M1", channel="reply", level_override=1)
    assert monthly_invoice(contract("M1"), [level1], "2026-10", pricebook=book).flags == []


def test_urgent_is_flagged_but_never_raises_the_level() -> None:
    x = incident("u", "2026-10-05", "A1", channel="phone", minutes=20, urgent=True)
    inv = monthly_invoice(contract("A1"), [x], "2026-10")
    assert inv.statement[0].level == 2
    assert [(f.code, f.message) for f in inv.flags] == [(
        "urgent", "お急ぎの依頼です。通常よりレベルが上がるときは level_override にレベルを記録して"
                  "ください (自動では上げません)")]


def test_override_is_shown_as_such() -> None:
    x = incident("o", "2026-10-05", "A1", channel="phone", minutes=20, level_override=5)
    inv = monthly_invoice(contract("A1"), [x], "2026-10")
    assert (inv.statement[0].level, inv.statement[0].level_source) == (5, "担当者指定")
    assert inv.subtotal == 10000


# --- members' personal use and charts (RULES 2.6) -----------------------------------------

def test_chart_on_first_personal_use_monthly_consume() -> None:
    c = monthly_normal(1, members_allowed="all", approver="社長")
    first = incident("p1", "2026-10-05", "M1", round_trips=3, personal=True, member="佐藤",
                     approved_by="社長")
    inv = monthly_invoice(c, [first], "2026-10")
    # the level-1 incident and the chart: 2 counted on a 1-incident plan → overage
    assert lines(inv) == [("monthly_fee", 1, 5000, 5000), ("overage", 1, 10000, 10000),
                          ("chart", 1, 0, 0)]


def test_chart_paid_at_annual_fee_consumes_nothing() -> None:
    c = monthly_normal(1, members_allowed="佐藤, 鈴木", karte_payment="pay")
    first = incident("p1", "2026-10-05", "M1", round_trips=3, personal=True, member="佐藤")
    inv = monthly_invoice(c, [first], "2026-10")
    assert lines(inv) == [("monthly_fee", 1, 5000, 5000), ("chart", 1, 4000, 4000)]


def test_chart_only_once_per_member_across_months() -> None:
    c = contract("A1", members_allowed="all")
    earlier = incident("p0", "2026-09-05", "A1", round_trips=1, personal=True, member="佐藤")
    now = incident("p1", "2026-10-05", "A1", round_trips=1, personal=True, member="佐藤")
    other = incident("p2", "2026-10-06", "A1", round_trips=1, personal=True, member="鈴木")
    inv = monthly_invoice(c, [earlier, now, other], "2026-10")
    assert [(line.kind, line.amount) for line in inv.lines] == [("chart", 4000)]
    assert "鈴木" in inv.lines[0].description


def test_sole_proprietor_shared_environment_needs_no_chart() -> None:
    c = contract("A1", members_allowed="all", sole_proprietor_shared_env=True)
    x = incident("p1", "2026-10-05", "A1", round_trips=1, personal=True, member="本人")
    assert monthly_invoice(c, [x], "2026-10").is_empty is False
    assert monthly_invoice(c, [x], "2026-10").lines == []


def test_chart_pay_plan_setting_is_honoured() -> None:
    book = pricebook_with("aki_sie", **{"chart.pay_fee_plan": "monthly"})
    c = monthly_normal(1, members_allowed="all", karte_payment="pay")
    x = incident("p1", "2026-10-05", "M1", round_trips=1, personal=True, member="佐藤")
    inv = monthly_invoice(c, [x], "2026-10", pricebook=book)
    assert ("chart", 1, 0, 0) in lines(inv)


@pytest.mark.parametrize(("fields", "reason"), [
    ({"members_allowed": ""}, "利用者「佐藤」はこの契約で個人利用できません (個人利用できる人: なし)。"
                              "Contracts シートの members_allowed をご確認ください"),
    ({"members_allowed": "鈴木, 田中"}, "利用者「佐藤」はこの契約で個人利用できません (個人利用できる人: "
                                     "鈴木、田中)。Contracts シートの members_allowed をご確認ください"),
    ({"members_allowed": "all", "approver": "社長"},
     "個人利用には「社長」の承認が必要です (approved_by: 空欄)。承認を得たら Incidents シートの "
     "approved_by に記入してください"),
    # a long list is named by its first five and a count: each refused incident keeps its note
    ({"members_allowed": ", ".join(f"会員{k}" for k in range(4_000))},
     "利用者「佐藤」はこの契約で個人利用できません (個人利用できる人: 会員0、会員1、会員2、会員3、"
     "会員4 ほか 3,995 人)。Contracts シートの members_allowed をご確認ください"),
])
def test_personal_use_rejected_and_not_billed(fields: dict, reason: str) -> None:
    c = contract("A1", **fields)
    x = incident("p1", "2026-10-05", "A1", channel="phone", minutes=100, personal=True,
                 member="佐藤")
    inv = monthly_invoice(c, [x], "2026-10")
    assert inv.lines == [] and inv.total == 0
    assert inv.statement[0].billed is False
    assert [(f.code, f.message) for f in inv.flags] == [("rejected", reason)]
    assert inv.statement[0].note == reason


# --- price book A --------------------------------------------------------------------------

def test_vendor_first_month_annual_fee_and_recorded_pack() -> None:
    packs = [{"contract_id": "V1", "purchased": "2026-04-01", "units": 10}]
    inv = monthly_invoice(vendor_contract(), [], "2026-04", packs=packs)
    assert lines(inv) == [("vendor_annual_fee", 1, 70000, 70000), ("pack", 1, 30000, 30000)]


def test_vendor_auto_topup_opens_and_invoices_a_pack() -> None:
    packs = [{"contract_id": "V1", "purchased": "2026-04-01", "units": 10}]
    x = incident("b", "2026-10-06", "V1", channel="phone", minutes=300)  # 10 units, 10 left? no:
    history = [incident("a", "2026-05-12", "V1", channel="phone", minutes=180)]  # 6 units
    inv = monthly_invoice(vendor_contract(), [*history, x], "2026-10", packs=packs)
    assert lines(inv) == [("pack_topup", 1, 30000, 30000)]
    old, new = inv.packs
    assert (old.used_this_month, old.left) == (4, 0)
    assert (new.auto_topup, new.used_this_month, new.left, new.expires) == (
        True, 6, 4, dt.date(2027, 10, 5))
    assert [(f.code, f.message, f.incident_id) for f in inv.flags] == [(
        "units_topped_up", "ユニットが 6ユニット不足したため、10ユニットのパックを 1口 自動で追加しました "
                           "(¥30,000 を請求)", "b")]



def test_the_unit_balance_lists_only_the_packs_that_matter_to_the_month() -> None:
    """Packs used up before the month are left off its balance (bought, or opened by a top-up
    and used up as it was bought: that one is not even kept); a pack drawn in the month or with
    units left is listed. An earlier month's shortfall bills nothing now."""
    packs = [{"contract_id": "V1", "purchased": day, "units": units} for day, units in [
        ("2026-04-01", 10), ("2026-05-01", 10), ("2026-06-01", 10), ("2026-09-01", 20),
        ("2026-09-15", 10)]]
    history = [incident("a", "2026-04-10", "V1", channel="phone", minutes=300),  # April's 10
               incident("h1", "2026-07-10", "V1", channel="phone", minutes=600),  # May's, June's
               incident("h2", "2026-08-10", "V1", channel="phone", minutes=900)]  # 30 short
    x = incident("b", "2026-10-06", "V1", channel="phone", minutes=30)  # 1 unit
    inv = monthly_invoice(vendor_contract(), [*history, x], "2026-10", packs=packs)
    assert lines(inv) == [] and inv.flags == []
    assert [(p.purchased, p.used_before, p.used_this_month, p.left) for p in inv.packs] == [
        (dt.date(2026, 9, 1), 0, 1, 19), (dt.date(2026, 9, 15), 0, 0, 10)]
    august = monthly_invoice(vendor_contract(), history, "2026-08", packs=packs)
    assert lines(august) == [("pack_topup", 3, 30000, 90000)]
    assert [(p.purchased, p.used_this_month, p.left) for p in august.packs] == [
        (dt.date(2026, 8, 10), 30, 0)]  # used up as bought, but bought in the month


def test_vendor_expired_pack_is_not_used() -> None:
    packs = [{"contract_id": "V1", "purchased": "2025-09-01", "units": 10}]
    c = contract("V1", plan="vendor_support", licences=40, start_date="2025-09-01")
    x = incident("b", "2026-10-06", "V1", channel="phone", minutes=30)
    inv = monthly_invoice(c, [x], "2026-10", packs=packs)
    assert lines(inv) == [("pack_topup", 1, 30000, 30000)]
    assert [p.purchased for p in inv.packs] == [dt.date(2026, 10, 6)]


def test_vendor_without_auto_topup_bills_units() -> None:
    book = pricebook_with("vendor_support", **{"paid_support.auto_topup": False})
    x = incident("b", "2026-10-06", "V1", channel="phone", minutes=61)
    inv = monthly_invoice(vendor_contract(), [x], "2026-10", pricebook=book)
    assert lines(inv) == [("unit_shortfall", 3, 3000, 9000)]
    assert [(f.code, f.message) for f in inv.flags] == [(
        "units_short", "パックのユニットが 3ユニット不足しました。不足分をユニット単価 ¥3,000 で"
                       "請求します (¥9,000)")]


def test_bill_recorded_packs_setting_is_honoured() -> None:
    book = pricebook_with("vendor_support", **{"paid_support.bill_recorded_packs": False})
    packs = [{"contract_id": "V1", "purchased": "2026-10-01", "units": 10}]
    x = incident("b", "2026-10-06", "V1", channel="phone", minutes=30)
    inv = monthly_invoice(vendor_contract(), [x], "2026-10", packs=packs, pricebook=book)
    assert inv.lines == [] and inv.packs[0].left == 9
    assert lines(monthly_invoice(vendor_contract(), [x], "2026-10", packs=packs)) == [
        ("pack", 1, 30000, 30000)]


# --- tax ------------------------------------------------------------------------------------

def test_tax_rounding_setting_is_honoured() -> None:
    x = incident("x", "2026-10-05", "A1", channel="email", round_trips=3,
                 absorbed_into="tutoring", absorbed_fee=12345)
    c = contract("A1", start_date="2026-07-01")
    assert monthly_invoice(c, [x], "2026-10").tax == 1234
    book = pricebook_with("aki_sie", **{"tax.rounding": "half_up"})
    assert monthly_invoice(c, [x], "2026-10", pricebook=book).tax == 1235
    book = pricebook_with("aki_sie", **{"tax.rate_percent": 8})
    assert monthly_invoice(c, [x], "2026-10", pricebook=book).tax == 987


def test_tax_once_per_invoice_not_per_line() -> None:
    # three lines of 1,005 each: per line 100 × 3 = 300, once per invoice floor(301.5) = 301
    xs = [incident(f"x{i}", "2026-10-05", "A1", absorbed_into="tutoring", absorbed_fee=1005)
          for i in range(3)]
    inv = monthly_invoice(contract("A1", start_date="2026-07-01"), xs, "2026-10")
    assert (inv.subtotal, inv.tax) == (3015, 301)


# --- errors: no spot service ----------------------------------------------------------------

def test_unknown_not_started_and_ended_contracts_are_errors_never_billed() -> None:
    contracts = [contract("A1", start_date="2026-10-10", end_date="2027-10-09"),
                 contract("A2", start_date="2025-10-01", end_date="2026-09-30")]
    incidents = [incident("u", "2026-10-05", "ZZ"), incident("n", "2026-10-05", "A1"),
                 incident("e", "2026-10-05", "A2"), incident("ok", "2026-10-20", "A1")]
    with pytest.raises(xlquote.InputError) as caught:
        bill_month(contracts, incidents, "2026-10")
    got = [(p.row, p.field, p.value, p.reason) for p in caught.value.problems]
    assert got[0][:3] == (2, "contract_id", "ZZ") and "契約一覧 (Contracts) にない" in got[0][3]
    assert got[1][:3] == (3, "opened", "2026-10-05") and "A1 はこの日にはまだ始まって" in got[1][3]
    assert got[2][:3] == (4, "opened", "2026-10-05") and "A2 はこの日には終わって" in got[2][3]
    assert len(got) == 3


def test_unknown_absorption_service_is_an_error() -> None:
    x = incident("x", "2026-10-05", "A1", absorbed_into="catering", absorbed_fee=1000)
    with pytest.raises(xlquote.InputError, match="不明なサービス") as caught:
        monthly_invoice(contract("A1"), [x], "2026-10")
    (problem,) = caught.value.problems
    assert (problem.field, problem.value) == ("absorbed_into", "catering")
    assert "system_building（システム構築）" in problem.reason


def test_incident_table_errors_name_row_and_column() -> None:
    bad = [incident("x", "2026-10-05", "A1", channel="fax"),
           incident("x", "2026-10-05", "A1", round_trips=-1),
           incident("y", "2026-10-01", "A1", opened="2026-10-09")]
    with pytest.raises(xlquote.InputError) as caught:
        monthly_invoice(contract("A1"), bad, "2026-10")
    got = {(p.row, p.field) for p in caught.value.problems}
    assert got == {(2, "channel"), (3, "round_trips"), (3, "incident_id"), (4, "closed")}


# --- full months checked line by line --------------------------------------------------------

def test_full_month_four_contracts_line_by_line() -> None:
    contracts = [
        contract("M1", plan="monthly", support_range="technical", max_incidents=2,
                 members_allowed="all", start_date="2026-04-01"),
        contract("A1", plan="annual", support_range="normal", start_date="2025-10-01"),
        contract("V1", plan="vendor_support", licences=40, start_date="2026-04-01"),
        contract("K1", plan="callcenter", licences=5000, start_date="2026-10-01"),
        contract("Q1", plan="annual", start_date="2026-01-01"),  # quiet: no invoice
    ]
    incidents = [
        incident("m1", "2026-10-02", "M1", channel="email", round_trips=2),          # feather
        incident("m2", "2026-10-05", "M1", channel="phone", minutes=25),             # L2
        incident("m3", "2026-10-07", "M1", channel="skype_chat", minutes=100),       # L4 2,000
        incident("m4", "2026-10-08", "M1", channel="dm", round_trips=4, personal=True,
                 member="佐藤"),                                                     # L1 + chart
        incident("a1", "2026-10-03", "A1", channel="phone", minutes=50),             # L4 6,000
        incident("a2", "2026-10-30", "A1", channel="onsite"),                        # L7 40,000
        incident("a3", "2026-11-01", "A1", channel="onsite"),                        # next month
        incident("v0", "2026-06-01", "V1", channel="phone", minutes=120),            # 4 units
        incident("v1", "2026-10-06", "V1", channel="phone", minutes=95),             # 4 units
        incident("k1", "2026-10-09", "K1", channel="phone", minutes=12),
    ]
    packs = [{"contract_id": "V1", "purchased": "2026-04-01", "units": 10}]
    run = bill_month(contracts, incidents, "2026-10", packs)
    by_id = {inv.contract.contract_id: inv for inv in run.invoices}
    assert sorted(by_id) == ["A1", "K1", "M1", "V1"]

    m = by_id["M1"]  # counted: m2, m3, m4 + chart = 4 on a 2-incident plan → tier 4 35,000
    assert lines(m) == [("monthly_fee", 1, 20000, 20000), ("overage", 1, 15000, 15000),
                        ("incident", 1, 2000, 2000), ("chart", 1, 0, 0)]
    assert (m.subtotal, m.tax, m.total) == (37000, 3700, 40700)

    a = by_id["A1"]  # contract year starts in October: base fee
    assert lines(a) == [("annual_base_fee", 1, 25000, 25000), ("incident", 1, 6000, 6000),
                        ("incident", 1, 40000, 40000)]
    assert (a.subtotal, a.tax, a.total) == (71000, 7100, 78100)
    assert [s.incident_id for s in a.statement] == ["a1", "a2"]

    v = by_id["V1"]
    assert v.lines == [] and v.packs[0].left == 2

    k = by_id["K1"]
    assert k.total == 5720000 and [s.incident_id for s in k.statement] == ["k1"]
    assert run.total == 40700 + 78100 + 0 + 5720000


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["email", "phone", "skype_chat", "onsite"]),
                          st.integers(0, 30), st.integers(0, 300),
                          st.sampled_from(["", "tutoring"]), st.integers(0, 99999)),
                min_size=0, max_size=8),
       st.sampled_from(["annual", "monthly"]),
       st.sampled_from(["floor", "half_up", "ceil"]))
def test_total_is_lines_plus_tax_rounded_once(rows, plan, rounding) -> None:
    book = pricebook_with("aki_sie", **{"tax.rounding": rounding})
    c = contract("C1", plan=plan, max_incidents=2 if plan == "monthly" else None,
                 start_date="2026-10-01")
    incidents = [incident(f"i{n}", "2026-10-10", channel=ch, round_trips=rt, minutes=mins,
                          absorbed_into=absorbed, absorbed_fee=fee if absorbed else None)
                 for n, (ch, rt, mins, absorbed, fee) in enumerate(rows)]
    inv = monthly_invoice(c, incidents, "2026-10", pricebook=book)
    assert inv.subtotal == sum(line.amount for line in inv.lines)
    exact = inv.subtotal * 10 / 100
    expected = {"floor": int(exact // 1), "ceil": -int(-exact // 1),
                "half_up": int(exact + 0.5)}[rounding]
    assert inv.tax == expected
    assert inv.total == inv.subtotal + inv.tax
    assert all(line.amount >= 0 for line in inv.lines)


def test_pack_rows_are_validated() -> None:
    packs = [{"contract_id": "V1", "purchased": "2026-04-01", "units": 15},
             {"contract_id": "A1", "purchased": "2026-04-01", "units": 10},
             {"contract_id": "ZZ", "purchased": "2026-04-01", "units": 10}]
    with pytest.raises(xlquote.InputError) as caught:
        bill_month([vendor_contract(), contract("A1")], [], "2026-10", packs)
    assert [(p.sheet, p.row, p.field) for p in caught.value.problems] == [
        ("Packs", 2, "units"), ("Packs", 3, "contract_id"), ("Packs", 4, "contract_id")]


def test_run_summaries_match_the_built_invoices() -> None:
    contracts = [contract("M1", plan="monthly", max_incidents=1, members_allowed="all"),
                 contract("A1", plan="annual", start_date="2025-10-01", fee_limit=3000),
                 contract("V1", plan="vendor_support", licences=3, start_date="2026-10-01"),
                 contract("K1", plan="callcenter", licences=50, start_date="2026-10-01")]
    incidents = [incident("m1", "2026-10-02", "M1", round_trips=8),
                 incident("m2", "2026-10-03", "M1", channel="phone", minutes=70, urgent=True),
                 incident("m3", "2026-10-04", "M1", round_trips=3, personal=True, member="x"),
                 incident("a1", "2026-10-05", "A1", channel="phone", minutes=200),
                 incident("a2", "2026-10-06", "A1", channel="reply", round_trips=9),
                 incident("v1", "2026-10-07", "V1", channel="phone", minutes=400, sessions=2)]
    run = bill_month(contracts, incidents, "2026-10")
    assert len(run.summaries) == len(run.invoices) == 4
    for summary, invoice in zip(run.summaries, run.invoices, strict=True):
        assert (summary.contract, summary.subtotal, summary.tax, summary.total) == (
            invoice.contract, invoice.subtotal, invoice.tax, invoice.total)
        assert summary.number == invoice.number
        assert summary.flags == tuple(invoice.flag_codes())
        assert summary.incidents == len(invoice.statement)
    assert run.total == sum(inv.total for inv in run.invoices)


def test_a_statement_longer_than_one_invoice_holds_is_refused() -> None:
    """One contract's month of more incidents than a statement lists is refused before any
    document is drawn, naming the contract's row; the cap itself still bills."""
    from xlquote.engine.invoice import MAX_STATEMENT_ENTRIES

    contracts = [contract("C1", row=2), contract("K1", plan="callcenter", licences=5000, row=3)]
    at_cap = [incident(f"I{n}", contract_id="K1") for n in range(MAX_STATEMENT_ENTRIES)]
    run = bill_month(contracts, at_cap, "2026-10")
    assert [len(c.billed) for c in run.contexts] == [MAX_STATEMENT_ENTRIES]
    with pytest.raises(xlquote.InputError) as caught:
        bill_month(contracts, [*at_cap, incident("I-last", contract_id="K1")], "2026-10")
    [problem] = caught.value.problems
    assert (problem.sheet, problem.row, problem.field, problem.value) == (
        "Contracts", 3, "contract_id", "K1")
    assert f"{MAX_STATEMENT_ENTRIES + 1:,} 件" in problem.reason
    assert "2026年10月" in problem.reason
