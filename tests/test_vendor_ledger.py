"""The paid-support ledger draws whole runs of incidents from a pack at once; it must give
exactly what replaying the incidents one by one gives (the reference below is that replay)."""

from __future__ import annotations

import dataclasses
import datetime as dt

from helpers import contract, incident, pricebook_with
from hypothesis import given, settings
from hypothesis import strategies as st

from xlquote import bill_month
from xlquote.engine.billing.context import ContractMonth
from xlquote.engine.billing.vendor import (
    _Ledger,
    _open_packs,
    _PackState,
    _shortfall_line,
    pack_expiry,
    pack_ledger,
)
from xlquote.engine.fees import units_for_minutes


def replay_one_by_one(ctx: ContractMonth, balances: dict[int, tuple] | None = None) -> _Ledger:
    """Every incident in close-date order, drawn from the valid packs oldest expiry first;
    ``balances`` gets, after each incident, the valid packs' units left (total, packs holding
    them, the first five soonest expiry first), counted over every pack."""
    rules = ctx.book.require_vendor()
    t = ctx.incidents
    ledger = _Ledger(
        packs=[_PackState(p.purchased, pack_expiry(p.purchased, rules), p.units, False)
               for p in sorted(ctx.packs, key=lambda p: p.purchased)],
        units=units_for_minutes(t.measures.minutes, rules))
    for i, (closed, need) in enumerate(zip(t.closed.tolist(), ledger.units.tolist(),
                                           strict=True)):
        now = bool(ctx.in_month[i])
        for pack in sorted(ledger.packs, key=lambda p: (p.expires, p.purchased)):
            if not need:
                break
            if not pack.purchased <= closed <= pack.expires or pack.left <= 0:
                continue
            take = min(need, pack.left)
            if now:
                pack.used_this_month += take
            else:
                pack.used_before += take
            need -= take
        if need:
            if rules.auto_topup:
                _open_packs(ledger.packs, rules, closed, need, now)
            if now:  # the ledger keeps the billed month's shortfalls only
                if rules.auto_topup:
                    ledger.topped_up.add(i)
                _shortfall_line(ctx, rules, ledger, i, closed, need)
        if balances is not None:
            holding = sorted((p for p in ledger.packs if p.purchased <= closed <= p.expires and p.left > 0),
                             key=lambda p: (p.expires, p.purchased))
            balances[i] = (sum(p.left for p in holding), len(holding),
                           [(p.purchased, p.expires, p.left) for p in holding[:5]])
    return ledger


def state(ledger: _Ledger) -> tuple:
    return ([dataclasses.astuple(p) for p in ledger.packs], sorted(ledger.topped_up),
            [(line.kind, line.quantity, line.amount, line.incident_id) for line in ledger.lines],
            [(f.code, f.incident_id) for f in ledger.flags])


DAYS = st.integers(min_value=0, max_value=600)  # from 2025-06-01 to 2027-01-22


def day(offset: int) -> str:
    return (dt.date(2025, 6, 1) + dt.timedelta(days=offset)).isoformat()


@settings(max_examples=300, deadline=None)
@given(closes=st.lists(st.tuples(DAYS, st.integers(min_value=0, max_value=400)), max_size=40),
       packs=st.lists(st.tuples(DAYS, st.sampled_from([10, 20, 30])), max_size=8),
       auto_topup=st.booleans(), month=st.sampled_from(["2026-03", "2026-10", "2027-01"]))
def test_ledger_matches_the_one_by_one_replay(closes, packs, auto_topup, month) -> None:
    book = pricebook_with("vendor_support", **{"paid_support.auto_topup": auto_topup})
    incidents = [incident(f"x{n}", day(closed), "V1", opened=day(closed), channel="phone",
                          minutes=minutes) for n, (closed, minutes) in enumerate(closes)]
    records = [{"contract_id": "V1", "purchased": day(bought), "units": units}
               for bought, units in packs]
    c = contract("V1", plan="vendor_support", licences=40, start_date="2025-06-01")
    run = bill_month([c], incidents, month, records, {"vendor_support": book},
                     today=dt.date(2027, 12, 31))
    for ctx in run.contexts:
        assert state(pack_ledger(ctx)) == state(replay_one_by_one(ctx))
        # asking for the balance after every incident (the units_used notices) draws the same
        every = set(range(len(ctx.incidents)))
        tracked = pack_ledger(ctx, every)
        assert state(tracked) == state(pack_ledger(ctx))
        assert set(tracked.left_after) == every
        # … and each balance is the one counted over every pack
        balances: dict[int, tuple] = {}
        replay_one_by_one(ctx, balances)
        assert {i: (b.total, b.count, b.packs) for i, b in tracked.left_after.items()} == balances


def test_a_run_of_incidents_fills_a_pack_exactly_then_tops_up() -> None:
    """10 units in a pack: incidents of 4 + 6 units use it up whole, the next opens a pack."""
    incidents = [incident("a", "2026-10-02", "V1", channel="phone", minutes=100),  # 4 units
                 incident("b", "2026-10-03", "V1", channel="phone", minutes=180),  # 6 units
                 incident("c", "2026-10-04", "V1", channel="phone", minutes=25)]  # 1 unit
    c = contract("V1", plan="vendor_support", licences=40, start_date="2026-04-01")
    run = bill_month([c], incidents, "2026-10",
                     [{"contract_id": "V1", "purchased": "2026-04-01", "units": 10}],
                     today=dt.date(2026, 11, 1))
    ledger = pack_ledger(run.contexts[0])
    first, topped = ledger.packs
    assert (first.used_this_month, first.left) == (10, 0)
    assert (topped.purchased, topped.used_this_month, topped.auto_topup) == (
        dt.date(2026, 10, 4), 1, True)
    assert ledger.topped_up == {2}


def test_invoices_with_more_lines_than_one_bills_are_refused_each_by_name(monkeypatch) -> None:
    """Each incident that runs past the packs adds a top-up line: a month that makes more
    lines on an invoice than one bills is refused, naming every such contract."""
    import pytest

    from xlquote.engine.billing import run as billing_run
    from xlquote.engine.errors import InputError

    monkeypatch.setattr(billing_run, "MAX_INVOICE_LINES", 3)
    billed: list[ContractMonth] = []
    holding: list[list[str]] = []  # as each contract is billed: those billed before that hold work
    contract_part = billing_run.contract_part

    def part(ctx: ContractMonth):
        holding.append([c.contract.contract_id for c in billed if c.memo])
        billed.append(ctx)
        return contract_part(ctx)

    monkeypatch.setattr(billing_run, "contract_part", part)
    contracts = [contract(cid, plan="vendor_support", licences=40, start_date="2026-04-01",
                          row=row) for row, cid in ((2, "V1"), (3, "V2"), (4, "V3"))]
    incidents = [incident(f"{cid}-{n}", f"2026-10-{n + 2:02d}", cid, channel="phone",
                          minutes=300)  # 10 units: more than the pack left, a top-up each
                 for cid, count in (("V1", 4), ("V2", 3), ("V3", 5)) for n in range(count)]
    with pytest.raises(InputError) as refused:
        bill_month(contracts, incidents, "2026-10", today=dt.date(2026, 11, 1))
    problems = refused.value.problems
    assert [(p.sheet, p.row, p.value) for p in problems] == [
        ("Contracts", 2, "V1"), ("Contracts", 4, "V3")]
    assert "4 行 (うちユニット不足の行 4 行)" in problems[0].reason
    assert "1 通の請求書に載せられる 3 行" in problems[1].reason
    # a refused contract's lines (tens of thousands, at worst) are let go at once; V2's ledger
    # stays for its invoice
    assert holding == [[], [], ["V2"]]
    run = bill_month(contracts[1:2], incidents[4:7], "2026-10", today=dt.date(2026, 11, 1))
    assert len(run.contexts) == 1  # three lines: billed
