"""RULES 1.1, 1.2, 2.1, 2.2: every number of the fee tables, tier edges and bad input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import xlquote
from xlquote.engine.fees import monthly_fee_for_usage
from xlquote.engine.pricebook import get_pricebook

MONTHLY = [0, 0, 0, 0, 2000, 4000, 8000, 20000, 40000, 80000, 160000]
ANNUAL = [0, 1000, 2000, 4000, 6000, 10000, 20000, 40000, 80000, 160000, 320000]


@pytest.mark.parametrize("level", range(11))
def test_incident_fee_table(level: int) -> None:
    assert int(xlquote.incident_fee(level, "monthly")) == MONTHLY[level]
    assert int(xlquote.incident_fee(level, "annual")) == ANNUAL[level]


def test_incident_fee_codes_and_japanese_names() -> None:
    fees = xlquote.incident_fee(["feather", "フェザー", "4", 4.0, "レベル10"],
                                [" Annual", "年額", "月額", "monthly", "年額契約"])
    assert fees.tolist() == [0, 0, 2000, 2000, 320000]
    assert fees.dtype == np.int64


def test_incident_fee_bad_rows() -> None:
    fees, messages = xlquote.incident_fee([11, 3, 2.5, None], ["annual", "spot", "annual",
                                                               "annual"], errors="mask")
    assert fees.tolist() == [0, 0, 0, 0]
    assert messages[0].startswith("level 11: ") and "feather（フェザー）か 1〜10" in messages[0]
    assert messages[1].startswith("plan 'spot': 不明な契約プラン")
    assert "annual（年額）, monthly（月額）" in messages[1]  # the codes that may be typed
    assert messages[2].startswith("level 2.5: ") and "1〜10" in messages[2]
    assert messages[3].startswith("level 空欄: 必須です")


@pytest.mark.parametrize(("support_range", "fee"),
                         [("normal", 25000), ("technical", 40000), ("advanced", 80000),
                          ("mission_critical", 240000), ("ミッションクリティカル", 240000)])
def test_annual_base_fee(support_range: str, fee: int) -> None:
    assert int(xlquote.annual_base_fee(support_range)) == fee


MONTHLY_TABLE = {
    "normal": [5000, 15000, 25000, 30000, 35000],
    "technical": [10000, 20000, 30000, 35000, 40000],
    "advanced": [40000, 50000, 60000, 70000, 80000],
    "mission_critical": [60000, 90000, 120000],
}


@pytest.mark.parametrize("support_range", list(MONTHLY_TABLE))
def test_monthly_base_fee_table(support_range: str) -> None:
    tiers = MONTHLY_TABLE[support_range]
    fees = xlquote.monthly_base_fee(support_range, list(range(1, len(tiers) + 1)))
    assert fees.tolist() == tiers


def test_mission_critical_offers_three_incidents_at_most() -> None:
    fees, messages = xlquote.monthly_base_fee("mission_critical", [3, 4, 0], errors="mask")
    assert fees.tolist() == [120000, 0, 0]
    assert messages[1].startswith("max_incidents 4: ") and "mission_critical" in messages[1]
    assert "1〜3 件" in messages[1]
    assert messages[2] == "max_incidents 0: 1 以上にしてください"


@pytest.mark.parametrize(("support_range", "maximum", "counted", "base", "overage"),
                         [("normal", 2, 2, 15000, 0), ("normal", 2, 3, 15000, 10000),
                          ("normal", 2, 5, 15000, 20000), ("normal", 5, 7, 35000, 10000),
                          ("mission_critical", 3, 4, 120000, 30000),
                          ("mission_critical", 1, 5, 60000, 120000),
                          ("technical", 3, 0, 30000, 0)])
def test_overage_bills_the_tier_used(support_range, maximum, counted, base, overage) -> None:
    rules = get_pricebook("aki_sie").require_support()
    r = ["normal", "technical", "advanced", "mission_critical"].index(support_range)
    b, o = monthly_fee_for_usage(rules, np.array([r]), np.array([maximum]), np.array([counted]))
    assert (int(b[0]), int(o[0])) == (base, overage)
    b, o = monthly_fee_for_usage(rules, r, maximum, counted)  # one contract's single values
    assert (int(b), int(o)) == (base, overage)


@pytest.mark.parametrize(("minutes", "units"),
                         [(0, 0), (1, 1), (30, 1), (31, 2), (60, 2), (61, 3), (95, 4)])
def test_incident_units_per_started_half_hour(minutes: int, units: int) -> None:
    assert int(xlquote.incident_units(minutes)) == units


def test_vendor_annual_fee() -> None:
    assert xlquote.vendor_annual_fee([1, 40, 1000]).tolist() == [50500, 70000, 550000]
    _, messages = xlquote.vendor_annual_fee([0, -3, 1.5], errors="mask")
    assert messages.tolist() == ["licences 0: 1 以上にしてください",
                                 "licences -3: 1 以上にしてください",
                                 "licences 1.5: 小数は使えません。整数で入力してください"]


@pytest.mark.parametrize(("licences", "tier", "initial", "monthly"),
                         [(1, 100, 300000, 1000000), (100, 100, 300000, 1000000),
                          (101, 500, 600000, 2000000), (500, 500, 600000, 2000000),
                          (501, 1000, 900000, 3000000), (1000, 1000, 900000, 3000000),
                          (1001, 5000, 1200000, 4000000), (5000, 5000, 1200000, 4000000),
                          (5001, 10000, 1500000, 5000000), (10000, 10000, 1500000, 5000000),
                          (10001, 50000, 1800000, 6000000), (50000, 50000, 1800000, 6000000)])
def test_callcenter_tiers(licences: int, tier: int, initial: int, monthly: int) -> None:
    assert xlquote.callcenter_tier(licences, ["tier", "initial", "monthly"]).tolist() == [
        tier, initial, monthly]


def test_callcenter_not_offered() -> None:
    values, messages = xlquote.callcenter_tier([50001, 0, -1, 2.5, "x"], errors="mask")
    assert values.tolist() == [0, 0, 0, 0, 0]
    assert messages[0].startswith("licences 50001: ") and "1〜50,000 ライセンス" in messages[0]
    assert messages[1] == "licences 0: 1 以上にしてください"
    assert messages[3].startswith("licences 2.5: 小数は使えません")
    assert messages[4].startswith("licences 'x': 数値として読めません")
    with pytest.raises(xlquote.InputError, match="1〜50,000 ライセンス") as raised:
        xlquote.callcenter_tier(60000)
    assert [(p.field, p.value) for p in raised.value.problems] == [("licences", 60000)]


@given(st.integers(0, 9), st.sampled_from(["annual", "monthly"]))
def test_fee_never_decreases_with_level(level: int, plan: str) -> None:
    assert int(xlquote.incident_fee(level + 1, plan)) >= int(xlquote.incident_fee(level, plan))


@given(st.integers(1, 50000), st.integers(0, 1000))
def test_callcenter_fee_never_decreases_with_licences(licences: int, more: int) -> None:
    lower = xlquote.callcenter_tier(licences, "monthly")
    higher = xlquote.callcenter_tier(min(licences + more, 50000), "monthly")
    assert int(higher) >= int(lower)


def test_incident_fee_still_checks_its_range_argument() -> None:
    fees, messages = xlquote.incident_fee(4, "annual", ["normal", " 技術的 ", "bogus", None],
                                          errors="mask")
    assert fees.tolist() == [6000, 6000, 0, 6000]
    assert messages[:2].tolist() == [None, None] and messages[3] is None
    assert messages[2].startswith("support_range 'bogus': 不明なサポート範囲です")
