"""Contract comparison: hand-checked plan costs, replay, monotonicity, break-even, CLI.

Fees used in the hand checks (price books): annual base normal 25,000 / technical 40,000 /
mission critical 240,000 (3-year minimum); annual incident fees L1 1,000, L3 4,000, L6 20,000;
monthly normal tiers 5,000/15,000/25,000/30,000/35,000 (6-month unit, 12-month minimum),
monthly L6 8,000; paid support 50,000 + 500 × licences a year, packs of 10 units for 30,000.
"""

from __future__ import annotations

import json
import math
import re

import numpy as np
import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xlquote.app.sample import sample_contracts, sample_incidents
from xlquote.app.workbooks import compare as compare_workbook
from xlquote.app.workbooks import snapshot
from xlquote.cli import main
from xlquote.engine.compare import (
    ProfileError,
    UsageProfile,
    break_even,
    compare_log,
    compare_profile,
    cost_curves,
    evaluate_plans,
    monthly_counts,
    parse_profile,
    plan_cost,
)
from xlquote.engine.compare.profile import DEFAULT_MINUTES_PER_INCIDENT, EXAMPLE_PROFILE, load_profile
from xlquote.engine.errors import InputError
from xlquote.engine.records import CONTRACT_FIELDS, INCIDENT_FIELDS, field_names

ALL_PLANS = (["annual"] * 4 + ["monthly"] * 18 + ["vendor_support", "callcenter"])
ALL_RANGES = (["normal", "technical", "advanced", "mission_critical"]
              + ["normal"] * 5 + ["technical"] * 5 + ["advanced"] * 5 + ["mission_critical"] * 3
              + ["normal", "normal"])
ALL_MAX = [None] * 4 + [1, 2, 3, 4, 5] * 3 + [1, 2, 3] + [None, None]


def usage(**levels: float) -> list[float]:
    """11 rates feather..10 from keywords f=…, l1=…, l10=…"""
    out = [0.0] * 11
    for key, value in levels.items():
        out[0 if key == "f" else int(key[1:])] = value
    return out


def row(comparison, plan, support_range="", max_incidents=None):
    return next(r for r in comparison.rows if (r.option.plan, r.option.support_range,
                                                r.option.max_incidents)
                == (plan, support_range, max_incidents))


# --- hand-checkable cases -------------------------------------------------------------------

# Without mission critical (3-year minimum) every plan can be contracted for 12 months.
TWELVE_MONTH_RANGES = ("normal", "technical", "advanced")


def test_light_use_annual_normal_is_cheapest():
    profile = UsageProfile(np.asarray(usage(f=2, l1=1)), months=12,
                           support_ranges=TWELVE_MONTH_RANGES)
    result = compare_profile(profile)
    cheapest = result.cheapest
    assert (cheapest.option.plan, cheapest.option.support_range) == ("annual", "normal")
    assert cheapest.cost == 25_000 + 12 * 1_000
    assert cheapest.cost_with_tax == 37_000 + 3_700
    assert result.rows[1].option.support_range == "technical"  # 40,000 + 12,000
    assert cheapest.to_next == 52_000 - 37_000
    assert [r.rank for r in result.rows] == list(range(1, len(result.rows) + 1))
    assert all(a.cost <= b.cost for a, b in zip(result.rows, result.rows[1:], strict=False))
    # without licences, price book A plans are listed as not offered
    assert {e["plan"] for e in result.excluded} == {"vendor_support", "callcenter"}


def test_heavy_level_6_use_monthly_wins():
    profile = UsageProfile(np.asarray(usage(l6=3)), months=12, support_ranges=TWELVE_MONTH_RANGES)
    result = compare_profile(profile)
    assert result.cheapest.option.plan == "monthly"
    assert result.cheapest.cost == 12 * 25_000 + 36 * 8_000  # tier of 3 used + L6 fees
    assert row(result, "annual", "normal").cost == 25_000 + 36 * 20_000
    # max 1 and max 3 cost the same: the month is billed at the tier actually used
    assert row(result, "monthly", "normal", 1).cost == row(result, "monthly", "normal", 3).cost


def test_minimum_terms_and_contract_units():
    zero = [0] * 11
    costs = plan_cost(["monthly", "annual", "monthly", "annual", "monthly", "callcenter"],
                      ["normal", "normal", "mission_critical", "mission_critical", "normal",
                       "normal"],
                      [2, None, 1, None, 1, None], zero, [4, 4, 4, 4, 13, 13], licences=100)
    assert costs.tolist() == [
        12 * 15_000,  # 4 months on a monthly plan still pay the 12-month minimum
        25_000,  # one contract year
        36 * 60_000,  # mission critical monthly: 3-year minimum
        3 * 240_000,  # mission critical annual: 3-year minimum
        18 * 5_000,  # 13 months round up to the 6-month contract unit
        300_000 + 24 * 1_000_000,  # call centre: 1-year terms, initial fee once
    ]
    profile = UsageProfile(np.zeros(11), months=4, support_ranges=("normal",))
    result = compare_profile(profile, with_break_even=False)
    assert result.months == 12 and row(result, "monthly", "normal", 1).term_months == 12


def test_a_comparison_ranks_every_plan_over_the_same_horizon():
    """Mission critical needs 3 years (004_de71e10344ea06c0.txt:220, 238): a 12-month comparison
    that includes it ranks every plan over 36 months, usage included — never a 36-month total
    beside 12-month ones. Units: 6 and 3 months, 1 year (004_…:223, 238; 000_…:170)."""
    profile = UsageProfile(np.asarray(usage(l1=1)), months=12, licences=40)
    result = compare_profile(profile, with_break_even=False)
    assert result.months == 36 and {r.term_months for r in result.rows} == {36}
    assert row(result, "annual", "normal").cost == 3 * 25_000 + 36 * 1_000
    assert row(result, "annual", "mission_critical").cost == 3 * 240_000 + 36 * 1_000
    assert any(note.startswith("比較期間は 36 か月 (12 か月の指定から") for note in result.notes)
    # 13 months of normal and technical plans: whole years (annual) and 6-month units → 24
    profile = UsageProfile(np.zeros(11), months=13, support_ranges=("normal", "technical"))
    assert compare_profile(profile, with_break_even=False).months == 24


def test_usage_only_within_the_horizon():
    # one level-1 incident a month over 4 months: incident fees for 4 months only
    assert plan_cost("annual", "normal", None, usage(l1=1), 4) == 25_000 + 4 * 1_000


def test_paid_support_packs_bought_as_needed_and_expire():
    # 1 level-5 incident (120 min = 4 units) a month: 48 units → 5 packs; 40 licences
    assert plan_cost("vendor_support", usage=usage(l5=1), months=12, licences=40) == \
        50_000 + 500 * 40 + 5 * 30_000
    counts = np.zeros((24, 11), dtype=np.int64)
    counts[[0, 12], 2] = 1  # 1 unit in month 0 and month 12: the first pack has expired
    costs, _ = evaluate_plans("vendor_support", months=24, licences=1, counts=counts)
    assert costs.usage.sum() == 2 * 30_000
    counts = np.zeros((24, 11), dtype=np.int64)
    counts[[0, 11], 2] = 1  # month 11 is still within the pack's 12 months
    costs, _ = evaluate_plans("vendor_support", months=24, licences=1, counts=counts)
    assert costs.usage.sum() == 30_000
    assert costs.fixed.sum() == 2 * 50_500  # two contract years


def test_charts_for_members():
    # annual: each chart is a level-3 incident at the annual fee
    assert plan_cost("annual", "normal", None, usage(), 12, members=2) == 25_000 + 2 * 4_000
    # monthly, consume: the chart uses one of the month's incidents (month 0 goes to tier 2)
    consumed = plan_cost("monthly", "normal", 1, usage(l1=1), 12, members=1)
    assert consumed == 12 * 5_000 + 10_000
    paid = plan_cost("monthly", "normal", 1, usage(l1=1), 12, members=1, karte_payment="pay")
    assert paid == 12 * 5_000 + 4_000


def test_fractional_rates_spread_over_the_months():
    counts = monthly_counts(np.asarray(usage(f=2, l4=0.25, l7=1.5)), 12)
    assert counts.shape == (12, 11)
    assert counts[:, 0].tolist() == [2] * 12
    assert counts[:, 4].sum() == 3 and counts[:, 4].max() == 1
    assert counts[:, 7].sum() == 18 and set(counts[:, 7]) == {1, 2}


# --- replay ---------------------------------------------------------------------------------

def test_replay_of_the_sample_month_spec_example_1():
    # C001, October 2026 (RULES 5.1): feather e-mail, 25-min call, 100-min chat. Mission
    # critical's 3-year minimum makes every plan's term 36 months, October repeating monthly.
    result = compare_log(sample_contracts(), sample_incidents(), months=1, contract_id="C001")
    assert result.months == 36
    # normal range: call 25 min > 15 → level 2 (2,000), chat 100 min > 60 → level 4 (6,000)
    assert row(result, "annual", "normal").cost == 3 * 25_000 + 36 * (2_000 + 6_000)
    assert result.cheapest.option == row(result, "annual", "normal").option
    # technical (factor 1.5): still level 2 and level 4
    assert row(result, "annual", "technical").cost == 3 * 40_000 + 36 * 8_000
    # the contract's own plan: every month as October was invoiced (22,000)
    own = row(result, "monthly", "technical", 2)
    assert own.cost == 36 * 22_000
    assert own.cost_with_tax == 36 * 24_200
    assert own.fixed == 36 * 20_000 and own.usage == 36 * 2_000


def test_replay_levels_depend_on_the_range():
    contract = {"contract_id": "K1", "customer": "K社", "plan": "annual",
                "start_date": "2026-01-01"}
    call = {"incident_id": "i1", "contract_id": "K1", "opened": "2026-03-02",
            "closed": "2026-03-02", "channel": "phone", "minutes": 50}
    result = compare_log([contract], [call], months=1)
    # 50 minutes: normal > 45 → level 4 (6,000); technical 50/1.5 = 33.3 > 30 → level 3 (4,000);
    # advanced 25 > 15 → level 2; mission critical 16.7 > 15 → level 2 (2,000) — over the
    # common 36 months, the one month's call repeating
    assert row(result, "annual", "normal").usage == 36 * 6_000
    assert row(result, "annual", "technical").usage == 36 * 4_000
    assert row(result, "annual", "advanced").usage == 36 * 2_000
    assert row(result, "annual", "mission_critical").usage == 36 * 2_000


def _log_from_counts(counts: np.ndarray, start_year: int = 2026) -> list[dict]:
    """Incidents closing on the first of each month, with the level set by staff and the
    profile's default minutes (split into sessions of at most 6 hours)."""
    out = []
    for month, level in zip(*np.nonzero(counts), strict=True):
        for k in range(int(counts[month, level])):
            minutes = DEFAULT_MINUTES_PER_INCIDENT[level]
            day = f"{start_year + month // 12}-{month % 12 + 1:02d}-01"
            out.append({"incident_id": f"m{month}l{level}k{k}", "contract_id": "X",
                        "opened": day, "closed": day, "channel": "phone", "minutes": minutes,
                        "sessions": math.ceil(minutes / 360), "level_override": int(level)})
    return out


@settings(max_examples=6, deadline=None)
@given(st.lists(st.lists(st.integers(0, 3), min_size=11, max_size=11), min_size=1, max_size=14))
def test_vectorised_engine_matches_the_billing_engine(per_month):
    """The profile computation (vectorised) and a replay through bill_month agree to the yen,
    tax included, on every plan."""
    counts = np.asarray(per_month, dtype=np.int64)
    counts[-1, 1] += 1  # the replay window ends with the last month that has an incident
    months = len(counts)
    profile = UsageProfile(counts.mean(axis=0), months=months, licences=40, per_month=counts)
    expected = compare_profile(profile, with_break_even=False)
    contract = {"contract_id": "X", "customer": "X社", "plan": "annual",
                "start_date": "2026-01-01", "licences": 40}
    replayed = compare_log([contract], _log_from_counts(counts), months=months)
    assert {(r.label, r.cost, r.cost_with_tax, r.fixed) for r in replayed.rows} == \
        {(r.label, r.cost, r.cost_with_tax, r.fixed) for r in expected.rows}


# --- monotonicity and break-even ------------------------------------------------------------

rates = st.lists(st.floats(0, 4, allow_nan=False), min_size=11, max_size=11)


@settings(max_examples=40, deadline=None)
@given(rates, rates, st.integers(1, 30), st.integers(0, 3), st.integers(0, 2))
def test_more_usage_never_costs_less(base, extra, months, members, more_members):
    low = np.asarray(base)
    high = low + np.asarray(extra)
    args = dict(months=months, licences=120)
    cheap = plan_cost(ALL_PLANS, ALL_RANGES, ALL_MAX, low, members=members, **args)
    dear = plan_cost(ALL_PLANS, ALL_RANGES, ALL_MAX, high, members=members + more_members, **args)
    assert (dear >= cheap).all(), np.flatnonzero(dear < cheap)


def test_break_even_is_consistent_with_the_curves():
    mix = np.asarray(usage(f=1, l1=0.5, l2=0.5, l3=0.5, l4=0.5, l5=0.5, l6=1, l7=0.25))
    (normal,) = break_even(mix, 12, ("normal",))
    assert normal.at is not None and normal.annual_cheaper_below is not None
    grid = np.array([normal.annual_cheaper_below, normal.at])
    _options, costs = cost_curves(mix, grid, 12, "normal")
    annual, best_monthly = costs[:, 0], costs[:, 1:].min(axis=1)
    assert annual[0] < best_monthly[0]  # just before: annual strictly cheaper
    assert best_monthly[1] <= annual[1]  # at: monthly no more expensive
    assert normal.monthly_cost == best_monthly[1] and normal.annual_cost == annual[1]
    # brute force over the same grid: nothing cheaper-or-equal earlier
    grid = np.arange(0, normal.at - 1e-3, 1 / 12)
    _options, costs = cost_curves(mix, grid, 12, "normal")
    assert (costs[:, 1:].min(axis=1) > costs[:, 0]).all()
    assert normal.crossings[0] == normal.at


def test_break_even_light_mix_never_crosses():
    (normal,) = break_even(np.asarray(usage(l1=1)), 12, ("normal",))
    assert normal.at is None and normal.crossings == []
    assert normal.describe() == "通常: 月 30 件まで、年額契約のほうが安いままです"
    assert break_even(np.zeros(11), 12) == []


# --- plan_cost: broadcasting and errors -----------------------------------------------------

def test_plan_cost_broadcasts_plans_against_a_usage_block():
    block = np.array([usage(l1=1), usage(l1=2)])
    costs = plan_cost(np.array([["annual"], ["annual"]]), "normal", None, block[:, None, :]
                      .repeat(1, axis=1)[:, 0, :], 12)
    assert costs.tolist() == [[37_000, 49_000], [37_000, 49_000]]
    column = np.asarray(usage(l1=1), dtype=object).reshape(11, 1)  # an 11-cell column
    assert plan_cost(["annual", "monthly"], "normal", [None, 1], column).tolist() == \
        [37_000, 60_000]


def test_plan_cost_masks_bad_rows_with_messages():
    values, messages = plan_cost(
        ["annual", "weekly", "monthly", "monthly", "callcenter", "annual"],
        ["normal", "normal", "normal", "mission_critical", "normal", "normal"],
        [None, None, None, 4, None, None], usage(l1=1), [12, 12, 12, 12, 12, 0], licences=0,
        errors="mask")
    assert values.tolist() == [37_000, 0, 0, 0, 0, 0]
    assert messages[0] is None
    assert messages[1].startswith("plan 'weekly': 不明な契約プラン")
    assert messages[2].startswith("max_incidents 空欄: 月額契約には月の上限件数")
    assert messages[3].startswith("max_incidents 4: ") and "1〜3 件" in messages[3]
    assert messages[4].startswith("licences 0: ") and "ライセンス数" in messages[4]
    assert messages[5] == "months 0: 1 以上にしてください"
    _values, messages = plan_cost("annual", usage=usage(l2=-1), errors="mask")
    assert messages.item() == "usage -1: (レベル2 の件数) 0 以上にしてください"


def test_plan_cost_raises_naming_every_problem():
    from xlquote.engine.errors import InputError

    with pytest.raises(InputError) as info:
        plan_cost(["annual", "monthly"], ["normal", "nowhere"], [None, 1], usage())
    assert [p.field for p in info.value.problems] == ["support_range"]
    with pytest.raises(InputError, match="11 個の数値") as info:
        plan_cost("annual", usage=[1, 2, 3])
    assert [(p.field, p.value) for p in info.value.problems] == [("usage", "3")]


# --- profiles -------------------------------------------------------------------------------

@pytest.mark.parametrize(("data", "key", "reason"), [
    ({"incidents_per_month": {"4": "x"}}, "incidents_per_month.4", "0 以上の数値"),
    ({"incidents_per_month": {"11": 1}}, "incidents_per_month.11", "不明なレベル"),
    ({"incidents_per_month": {"feather": -1}}, "incidents_per_month.feather", "0 以上"),
    ({}, "incidents_per_month", "ありません"),
    ({"incidents_per_month": {}, "months": 0}, "months", "1〜120"),
    ({"incidents_per_month": {}, "licence": 3}, "licence", "不明な項目"),
    ({"incidents_per_month": {}, "support_ranges": ["normal", "x"]}, "support_ranges[1]",
     "不明なサポート範囲"),
    ({"per_month": [{"1": 0.5}]}, "per_month[0].1", "整数"),
    ({"incidents_per_month": {}, "karte_payment": "later"}, "karte_payment", "consume（消費）"),
    # no figure may make the comparison's work or arrays grow with it (1e15 overflowed them)
    ({"incidents_per_month": {"4": 1e15}}, "incidents_per_month.4", "0〜10,000"),
    ({"per_month": [{"4": 10_001}]}, "per_month[0].4", "0〜10,000"),
    ({"incidents_per_month": {"4": 1}, "minutes_per_incident": {"4": 1e300}},
     "minutes_per_incident.4", "0〜100,000"),
    ({"incidents_per_month": {}, "licences": 10**8}, "licences", "0〜10000000"),
])
def test_profile_errors_name_the_key(data, key, reason):
    with pytest.raises(ProfileError) as info:
        parse_profile(data, "p.toml")
    assert info.value.key == key
    assert reason in info.value.reason
    assert str(info.value).startswith(f"利用見込み p.toml の {key}: ")


def test_example_profile_and_per_month_lists():
    profile = load_profile(EXAMPLE_PROFILE)
    assert profile.licences == 40 and profile.rates[4] == 0.5
    assert profile.minutes_per_incident[4] == 50 and profile.minutes_per_incident[5] == 120
    listed = parse_profile({"months": 3, "per_month": [{"feather": 2}, {"4": 1, "1": 2}]})
    assert listed.counts().tolist() == [[2] + [0] * 10, [0, 2, 0, 0, 1] + [0] * 6,
                                        [2] + [0] * 10]


# --- CLI ------------------------------------------------------------------------------------

def test_cli_profile_json_and_outputs(tmp_path, capsys):
    out_xlsx, out_json = tmp_path / "t.xlsx", tmp_path / "t.json"
    assert main(["compare", "--profile", str(EXAMPLE_PROFILE), "--months", "4", "--json",
                 "--out", str(out_xlsx)]) == 0
    printed = json.loads(capsys.readouterr().out)
    # 4 months asked; mission critical's 3-year minimum sets the common horizon
    assert printed["months"] == 36 and printed["source"] == "profile"
    costs = [p["cost"] for p in printed["plans"]]
    assert costs == sorted(costs) and len(costs) == 24
    assert {p["term_months"] for p in printed["plans"]} == {36}
    sheet = openpyxl.load_workbook(out_xlsx)["比較"]
    assert sheet["G4"].value == costs[0]  # first data row under the header at row 3
    assert main(["compare", "--profile", str(EXAMPLE_PROFILE), "--out", str(out_json)]) == 0
    assert json.loads(out_json.read_text(encoding="utf-8"))["plans"][0]["rank"] == 1
    assert "年額契約 通常" in capsys.readouterr().out


# Words of the code a manager's table must not show: notes, headers and reasons are Japanese.
ENGLISH = re.compile(r"\b(?:note|plan|term|cost|next|horizon|months?|replay|incidents?|annual|"
                     r"monthly|offered|cheaper|usage|break-even|tax-inclusive)\b", re.IGNORECASE)


def test_what_a_manager_reads_is_japanese(tmp_path, capsys):
    """The terminal table and the workbook's notes (its plan, support_range and max_incidents
    columns hold PLAN_COST's argument values on purpose: they are left out here)."""
    log = tmp_path / "log.xlsx"
    _write_log(log, sample_contracts(), sample_incidents())
    shown = []
    for source in (["--profile", str(EXAMPLE_PROFILE)], ["--log", str(log), "--contract", "C001"]):
        out = tmp_path / "比較.xlsx"
        assert main(["compare", *source, "--out", str(out)]) == 0
        shown.append(capsys.readouterr().out)
        sheet = openpyxl.load_workbook(out)["比較"]
        shown += [str(c.value) for row in sheet.iter_rows(min_col=2, max_col=2) for c in row
                  if c.value is not None and c.row > 3]
    found = [(text, ENGLISH.search(text).group()) for text in shown if ENGLISH.search(text)]
    assert found == []
    assert "注: " in shown[0] and "損益分岐 " in shown[0]
    assert any(text.startswith("対象外: ") or "\n対象外: " in text for text in shown)


def test_cli_bad_inputs_exit_2(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text('[incidents_per_month]\n4 = "many"\n', encoding="utf-8")
    assert main(["compare", "--profile", str(bad)]) == 2
    assert "bad.toml の incidents_per_month.4: 0 以上の数値" in capsys.readouterr().err
    assert main(["compare", "--profile", str(EXAMPLE_PROFILE), "--months", "0"]) == 2
    assert "months: 0 — 比べる期間は 1〜120 か月" in capsys.readouterr().err
    target = tmp_path / "t.csv"
    assert main(["compare", "--profile", str(EXAMPLE_PROFILE), "--out", str(target)]) == 2
    assert not target.exists()
    assert main(["compare", "--profile", str(tmp_path / "none.toml")]) == 2
    assert "ファイルが見つかりません" in capsys.readouterr().err


def _write_log(path, contracts, incidents):
    wb = openpyxl.Workbook()
    for title, fields, records in (("Contracts", CONTRACT_FIELDS, contracts),
                                   ("Incidents", INCIDENT_FIELDS, incidents)):
        ws = wb.create_sheet(title)
        names = field_names(fields)
        ws.append(names)
        for record in records:
            ws.append([record.get(name) for name in names])
    del wb["Sheet"]
    wb.save(path)


def test_cli_log_replay(tmp_path, capsys):
    log = tmp_path / "log.xlsx"
    _write_log(log, sample_contracts(), sample_incidents())
    assert main(["compare", "--log", str(log), "--months", "1", "--contract", "C001",
                 "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["source"] == "replay"
    # October repeated over the common 36 months: 3 × 25,000 + 36 × (2,000 + 6,000)
    assert (printed["plans"][0]["plan"], printed["plans"][0]["cost"]) == ("annual", 363_000)
    assert main(["compare", "--log", str(log)]) == 2  # several customers: which one?
    assert "--customer か --contract で" in capsys.readouterr().err
    # 0 months was taken as "not given" (12); licences below 0 were replayed as given
    for flag, value, reason in (("--months", "0", "比べる期間は 1〜120 か月"),
                                ("--licences", "-1", "ライセンス数は 0〜10,000,000")):
        assert main(["compare", "--log", str(log), "--contract", "C001", flag, value]) == 2
        assert f"{flag[2:]}: {value} — {reason}" in capsys.readouterr().err
    broken = tmp_path / "broken.xlsx"
    _write_log(broken, sample_contracts()[:1],
               [{"incident_id": "x", "contract_id": "C001", "opened": "2026-10-01",
                 "closed": "2026-10-01", "channel": "fax"}])
    assert main(["compare", "--log", str(broken)]) == 2
    assert "シート Incidents 2行目 列 channel: 'fax' — 不明なチャネル" in capsys.readouterr().err


# --- workbook -------------------------------------------------------------------------------

def test_compare_workbook_shows_engine_values_a_live_formula_and_a_chart(tmp_path):
    path = compare_workbook.build(tmp_path / compare_workbook.FILENAME)
    shot = snapshot(path)
    sheet = shot["sheets"][compare_workbook.SHEET]
    assert sheet["charts"] == 1
    assert sheet["print"][1] == "landscape"
    profile = UsageProfile(np.asarray(compare_workbook.DEFAULT_USAGE, dtype=float))
    expected = compare_profile(profile, with_break_even=False)
    top = compare_workbook.TABLE_TOP
    assert sheet["cells"][f"G{top + 1}"][0] == repr(expected.cheapest.cost)
    formula = sheet["cells"][f"M{top + 1}"][0]
    # the live column prices every plan over the common horizon, as the table does
    assert "PLAN_COST(C13,D13,E13,compare_usage,compare_horizon" in formula
    assert sheet["cells"]["C8"][0] == repr("=ROUNDUP(MAX(compare_months,36)/12,0)*12")
    assert expected.months == 36
    assert ("compare_usage", f"'{compare_workbook.SHEET}'!$C$10:$M$10") in shot["names"]
    assert snapshot(compare_workbook.build(tmp_path / "again.xlsx")) == shot  # deterministic


def test_plan_cost_grid_takes_excel_shaped_blocks():
    """What the PLAN_COST UDF passes: 2-D grids, plans as a column."""
    from xlquote.app.excel_cells import masked
    from xlquote.engine.compare import plan_cost_grid

    plans = np.array([["annual"], ["monthly"]], dtype=object)
    ranges = np.array([["normal"], ["normal"]], dtype=object)
    maxima = np.array([[None], [1]], dtype=object)
    row_of_11 = np.array([usage(l1=1)], dtype=object)
    assert masked(plan_cost_grid, plans, ranges, maxima, row_of_11).tolist() == \
        [[37_000], [60_000]]
    per_plan = np.array([usage(l1=1), usage(l1=2)], dtype=object)  # one profile per plan row
    assert masked(plan_cost_grid, plans, ranges, maxima, per_plan, months=4).tolist() == \
        [[29_000], [4 * 15_000 + 8 * 5_000]]  # overage while used, then the base tier
    cells = masked(plan_cost_grid, plans, ranges, np.array([[None], [9]], dtype=object),
                   row_of_11.T)
    assert cells[0, 0] == 37_000 and cells[1, 0].startswith("#VALUE! ")
    assert cells[1, 0].startswith("#VALUE! max_incidents 9: ") and "1〜5 件" in cells[1, 0]


def test_a_replay_bounds_the_incidents_it_bills_and_counts_the_logs_own(monkeypatch):
    """3,000 calls of one month: repeated to 36 months on 22 plans, 2.4 million incidents
    billed 36 times (1.6 million took 25 s and 1.65 GB in one batch); the note counted the
    repeats."""
    from xlquote.engine.compare import replay

    contract = {"contract_id": "K1", "customer": "K社", "plan": "annual",
                "start_date": "2026-01-01"}
    calls = [{"incident_id": f"i{i}", "contract_id": "K1", "opened": "2026-03-02",
              "closed": "2026-03-02", "channel": "phone", "minutes": 10} for i in range(3_000)]
    with pytest.raises(InputError) as refused:
        compare_log([contract], calls, months=1)
    (problem,) = refused.value.problems
    assert problem.field == "--log" and "2,376,000 件" in problem.reason
    assert "再現できるのは 2,000,000 件まで" in problem.reason and "--profile" in problem.reason
    whole = compare_log([contract], calls[:20], months=12)
    assert "に完了した 20 件の対応" in whole.notes[0]  # not the 60 of the repeated window
    # Billed a plan at a time (as a big log is), every plan costs the same.
    monkeypatch.setattr(replay, "REPLAY_BATCH", 1)
    one_by_one = compare_log([contract], calls[:20], months=12)
    assert [(r.label, r.cost, r.cost_with_tax) for r in one_by_one.rows] == \
        [(r.label, r.cost, r.cost_with_tax) for r in whole.rows]


def test_a_profile_names_the_months_it_leaves_out_and_bounds_their_list(tmp_path):
    path = tmp_path / "p.toml"
    first = "[[per_month]]\nlevel_5 = 2\n" * 36
    path.write_text("months = 12\n" + first + "[[per_month]]\nlevel_1 = 40\n" * 12,
                    encoding="utf-8")
    compared = compare_profile(load_profile(path))
    assert "per_month の 48 か月のうち、最初の 36 か月だけを比べています (残りは比べる期間の外です)" \
        in compared.notes
    # the break-even too is of the 36 months compared (all level 5), not of the level 1 after
    path.write_text("months = 36\n" + first, encoding="utf-8")
    assert compared.break_even == compare_profile(load_profile(path)).break_even
    path.write_text("months = 12\n" + "[[per_month]]\nlevel_5 = 1\n" * 121, encoding="utf-8")
    with pytest.raises(ProfileError, match="121 か月分あります。比べられるのは 120 か月まで"):
        load_profile(path)


def test_a_profile_that_cannot_be_read_is_bad_input_not_a_failed_write(tmp_path, capsys):
    assert main(["compare", "--profile", str(tmp_path), "--json"]) == 2
    assert "ファイルではなくフォルダです" in json.loads(capsys.readouterr().out)["message"]
    big = tmp_path / "big.toml"
    big.write_bytes(b"# " + b"x" * (5 * 2**20))
    assert main(["compare", "--profile", str(big)]) == 2
    assert "4 MB を超えています" in capsys.readouterr().err
