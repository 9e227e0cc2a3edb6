"""Fee limits as yen or as a level (RULES 2.4), the on-site option (RULES 2.3), and one problem
per bad cell in INCIDENT_FEE.

Seeds: 004_de71e10344ea06c0.txt:177 (上限額に達した時にお知らせし … 中止するか、上限を越えて対応するか),
:179 (インシデントごとのリミット; フェザーインシデントをリミットとすることも可能), :121-125 (出張は
オプションであり、別料金), :265 (出張サポート → レベル7).
"""

from __future__ import annotations

import pytest
from helpers import contract, incident, pricebook_with

import xlquote
from xlquote import monthly_invoice


def flags(inv) -> list[str]:
    return [f.code for f in inv.flags]


# --- a yen limit is reached at the limit, not only above it (004:177) ----------------------

@pytest.mark.parametrize(("limit", "charged", "flagged"), [
    (20000, 20000, True),    # a level-6 annual fee of 20,000 at a 20,000 limit: reached
    (19999, 19999, True),
    (20001, 20000, False),
])
def test_a_fee_at_the_yen_limit_reaches_it(limit, charged, flagged) -> None:
    x = incident("x", "2026-10-05", "A1", channel="phone", minutes=200, fee_limit=limit)
    inv = monthly_invoice(contract("A1", start_date="2026-07-01"), [x], "2026-10")
    assert inv.subtotal == charged
    assert flags(inv) == (["limit_pending"] if flagged else [])


# --- a level limit: above it reaches it; a feather never does (004:179) ---------------------

@pytest.mark.parametrize(("limit", "level_minutes", "charged", "flagged"), [
    ("L3", 50, 4000, True),        # level 4 > L3: held at the annual L3 fee
    ("L3", 35, 4000, False),       # level 3 is not above L3
    ("レベル3", 50, 4000, True),
    ("feather", 20, 0, True),      # level 2 > feather: held at the feather fee (0)
    ("フェザー", 3, 0, False),      # a feather never reaches a limit
    (0, 20, 0, True),              # 0 means feather only
])
def test_a_level_limit(limit, level_minutes, charged, flagged) -> None:
    x = incident("x", "2026-10-05", "A1", channel="phone", minutes=level_minutes,
                 fee_limit=limit)
    inv = monthly_invoice(contract("A1", start_date="2026-07-01"), [x], "2026-10")
    assert inv.subtotal == charged
    assert flags(inv) == (["limit_pending"] if flagged else [])


def test_a_feather_limit_under_a_monthly_plan_stops_the_incident_counting() -> None:
    """Levels 1–3 cost nothing under a monthly plan, so a ¥ limit never fired; a feather limit
    does, and until the customer decides the incident counts as a feather: no overage."""
    c = contract("M1", plan="monthly", max_incidents=1, fee_limit="feather")
    used = [incident(f"i{n}", "2026-10-05", "M1", round_trips=3) for n in range(3)]  # level 1
    inv = monthly_invoice(c, used, "2026-10")
    assert [line.kind for line in inv.lines] == ["monthly_fee"]
    assert flags(inv) == ["limit_pending"] * 3
    decided = [incident(f"i{n}", "2026-10-05", "M1", round_trips=3, limit_decision="continue")
               for n in range(3)]
    inv = monthly_invoice(c, decided, "2026-10")
    assert [line.kind for line in inv.lines] == ["monthly_fee", "overage"]  # counted in full


def test_contract_level_limit_and_the_incidents_own_limit_wins() -> None:
    c = contract("A1", start_date="2026-07-01", fee_limit="L2")
    x = incident("x", "2026-10-05", "A1", channel="phone", minutes=50)  # L4, contract limit L2
    y = incident("y", "2026-10-06", "A1", channel="phone", minutes=50, fee_limit=5000)
    inv = monthly_invoice(c, [x, y], "2026-10")
    assert [s.fee for s in inv.statement] == [2000, 5000]
    assert "リミット レベル2 適用 (ご判断待ち)" in inv.statement[0].note


@pytest.mark.parametrize("bad", [-5, 1.5, "L11", "0.5", "abc"])
def test_bad_limits_are_refused_naming_the_cell(bad) -> None:
    x = incident("x", "2026-10-05", "A1", fee_limit=bad)
    with pytest.raises(xlquote.InputError) as caught:
        monthly_invoice(contract("A1"), [x], "2026-10")
    assert [(p.row, p.field) for p in caught.value.problems] == [(2, "fee_limit")]


# --- the on-site option (004:121-125) --------------------------------------------------------

def test_onsite_without_a_price_is_flagged_for_a_quote() -> None:
    x = incident("x", "2026-10-20", "A1", channel="onsite", onsite_visits=2)  # level 8
    inv = monthly_invoice(contract("A1", start_date="2026-07-01"), [x], "2026-10")
    assert [line.kind for line in inv.lines] == ["incident"]
    assert [(f.code, f.message) for f in inv.flags] == [(
        "onsite_quote", "出張 2回: 料金表に出張料金 (onsite_fee) がありません。出張オプションの料金を"
                        "お見積りのうえ別途ご請求ください (出張は別料金)")]
    assert inv.statement[0].flags == ("onsite_quote",)


def test_onsite_fee_is_its_own_line_per_visit() -> None:
    book = pricebook_with("aki_sie", **{"onsite.onsite_fee": 15000})
    x = incident("x", "2026-10-20", "A1", channel="onsite", onsite_visits=2)
    y = incident("y", "2026-10-21", "A1", channel="onsite")  # an on-site incident is one visit
    run = xlquote.bill_month([contract("A1", start_date="2026-07-01")], [x, y], "2026-10",
                             pricebooks={"aki_sie": book})
    (inv,) = run.invoices
    assert [(line.kind, line.quantity, line.unit_price, line.amount) for line in inv.lines] == [
        ("incident", 1, 80000, 80000), ("onsite", 2, 15000, 30000),
        ("incident", 1, 40000, 40000), ("onsite", 1, 15000, 15000)]
    assert inv.flags == []
    assert run.summaries[0].subtotal == inv.subtotal == 165000


# --- one problem per bad cell ------------------------------------------------------------------

def test_incident_fee_reports_one_problem_per_bad_cell() -> None:
    with pytest.raises(xlquote.InputError) as caught:
        xlquote.incident_fee([0, 99, "x"], "annual")
    assert [(p.row, p.value) for p in caught.value.problems] == [(2, 99), (3, "x")]
    _values, messages = xlquote.incident_fee([None, 4], "annual", errors="mask")
    assert messages.tolist() == ["level 空欄: 必須です。入力してください", None]
