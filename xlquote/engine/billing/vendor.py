"""Price book A: paid support in units and packs (RULES 1.1) and the call centre (RULES 1.2)."""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
from dataclasses import dataclass, field

import numpy as np

from ..dates import add_months, months_between
from ..fees import units_for_minutes
from ..invoice import Flag, Line, PackBalance, StatementEntry
from ..money import yen
from ..pricebook import VendorRules
from .context import ContractMonth, ContractPart, channel_label, measures_text


@dataclass
class _PackState:
    purchased: dt.date
    expires: dt.date
    units: int
    auto_topup: bool
    used_before: int = 0
    used_this_month: int = 0

    @property
    def left(self) -> int:
        return self.units - self.used_before - self.used_this_month

    def valid_on(self, day: dt.date) -> bool:
        return self.purchased <= day <= self.expires


@dataclass
class _Ledger:
    """The replay of a contract's unit consumption up to the month's end."""

    packs: list[_PackState]
    units: np.ndarray  # per incident
    topped_up: set[int] = field(default_factory=set)  # incident positions that opened packs
    lines: list[Line] = field(default_factory=list)  # this month's top-ups / shortfalls
    flags: list[Flag] = field(default_factory=list)


def pack_expiry(purchased: dt.date, rules: VendorRules) -> dt.date:
    """Valid for one year from purchase: bought 2026-04-01 → last day 2027-03-31."""
    return add_months(purchased, rules.pack_valid_months) - dt.timedelta(days=1)


def _contract_year_start(ctx: ContractMonth) -> dt.date | None:
    elapsed = months_between(ctx.contract.start_date, ctx.month)
    if not ctx.active() or elapsed % 12:
        return None
    return add_months(ctx.contract.start_date, elapsed)


def _ledger(ctx: ContractMonth) -> _Ledger:
    """Units drawn oldest-expiry-first from packs valid on the close date; a shortfall opens
    new packs (auto top-up, invoiced in their month) or is billed per unit."""
    if "ledger" in ctx.memo:
        return ctx.memo["ledger"]  # type: ignore[return-value]
    rules = ctx.book.require_vendor()
    t = ctx.incidents
    ledger = _Ledger(
        packs=[_PackState(p.purchased, pack_expiry(p.purchased, rules), p.units, False)
               for p in sorted(ctx.packs, key=lambda p: p.purchased)],
        units=units_for_minutes(t.measures.minutes, rules))
    # Incidents come in close-date order, so a pack that has expired or run empty never serves
    # again: packs are drawn in FIFO-by-expiry order, and the used-up ones at the front of that
    # order are dropped as the dates move on (an empty one further back is just skipped).
    open_packs = sorted(ledger.packs, key=lambda p: (p.expires, p.purchased))
    # Python lists and bisect: the loop below steps a few times per contract, where numpy's
    # per-call overhead would dominate.
    in_month = ctx.in_month.tolist()
    units = ledger.units.tolist()
    closes: list[dt.date] = t.closed.tolist()
    drawn = [0, *itertools.accumulate(units)]  # units of incidents [0, i)
    drawn_now = [0, *itertools.accumulate(u if now else 0
                                          for u, now in zip(units, in_month, strict=True))]
    i, count = 0, len(units)
    while i < count:
        closed = closes[i]
        while open_packs and (open_packs[0].expires < closed or open_packs[0].left <= 0):
            open_packs.pop(0)
        # The run of incidents the front pack serves whole (until it runs short or expires)
        # draws from it alone: take them at once instead of one by one.
        front = open_packs[0] if open_packs else None
        if front is not None and front.purchased <= closed:
            stop = min(bisect.bisect_right(drawn, drawn[i] + front.left) - 1,
                       bisect.bisect_right(closes, front.expires))
            if stop > i:
                now = drawn_now[stop] - drawn_now[i]
                front.used_this_month += now
                front.used_before += drawn[stop] - drawn[i] - now
                i = stop
                continue
        need, now = units[i], in_month[i]
        for pack in open_packs:
            if not need:
                break
            if pack.purchased > closed or pack.left <= 0:
                continue
            take = min(need, pack.left)
            if now:
                pack.used_this_month += take
            else:
                pack.used_before += take
            need -= take
        if need:
            added = len(ledger.packs)
            _cover_shortfall(ctx, rules, ledger, i, closed, need, now)
            open_packs = sorted(open_packs + ledger.packs[added:],
                                key=lambda p: (p.expires, p.purchased))
        i += 1
    ctx.memo["ledger"] = ledger
    return ledger


def _cover_shortfall(ctx: ContractMonth, rules: VendorRules, ledger: _Ledger, i: int,
                     closed: dt.date, short: int, now: bool) -> None:
    incident_id = str(ctx.incidents.incident_id[i])
    if rules.auto_topup:
        count = -(-short // rules.pack_units)
        for _ in range(count):
            take = min(short, rules.pack_units)
            pack = _PackState(closed, pack_expiry(closed, rules), rules.pack_units, True)
            if now:
                pack.used_this_month = take
            else:
                pack.used_before = take
            ledger.packs.append(pack)
            short -= take
        ledger.topped_up.add(i)
        if now:
            ledger.lines.append(Line(
                "pack_topup", f"インシデントパック自動追加 {rules.pack_units}ユニット × {count}口 "
                              f"({closed:%Y/%m/%d}, インシデント {incident_id})",
                count, rules.pack_price, count * rules.pack_price, incident_id,
                working="残ユニット不足のため新しいパックを購入 (auto_topup)"))
            ledger.flags.append(Flag("units_topped_up", f"{count} pack(s) added", incident_id))
    elif now:
        ledger.lines.append(Line(
            "unit_shortfall", f"ユニット不足分 (インシデント {incident_id})", short,
            rules.unit_price, short * rules.unit_price, incident_id,
            working="auto_topup = false: 不足ユニットを単価で請求"))
        ledger.flags.append(Flag("units_short", f"{short} unit(s) beyond the packs", incident_id))


def paid_support_part(ctx: ContractMonth) -> ContractPart:
    """Annual fee each contract year, packs bought this month, top-ups, pack balances."""
    rules = ctx.book.require_vendor()
    part = ContractPart()
    year_start = _contract_year_start(ctx)
    if year_start is not None:
        licences = int(ctx.contract.licences or 0)
        fee = rules.annual_fixed_fee + rules.annual_fee_per_licence * licences
        part.lines.append(Line(
            "vendor_annual_fee", f"有料サポート年額基本料金 {year_start:%Y/%m}〜"
                                 f"{add_months(year_start, 12):%Y/%m} ({licences:,}ライセンス)",
            1, fee, fee, working=f"{yen(rules.annual_fixed_fee)} + "
                                 f"{yen(rules.annual_fee_per_licence)} × {licences:,}"))
    month_start, month_end = ctx.month.first_day, ctx.month.last_day
    if rules.bill_recorded_packs:
        for p in ctx.packs:
            if month_start <= p.purchased <= month_end:
                count = p.units // rules.pack_units
                part.lines.append(Line(
                    "pack", f"インシデントパック {rules.pack_units}ユニット × {count}口 "
                            f"({p.purchased:%Y/%m/%d} 購入, 有効期限 "
                            f"{pack_expiry(p.purchased, rules):%Y/%m/%d})",
                    count, rules.pack_price, count * rules.pack_price))
    ledger = _ledger(ctx)
    part.lines.extend(ledger.lines)
    part.flags.extend(ledger.flags)
    part.packs = [PackBalance(p.purchased, p.expires, p.units, p.used_before,
                              p.used_this_month, p.auto_topup)
                  for p in ledger.packs if p.expires >= month_start and p.purchased <= month_end]
    return part


def paid_support_items(ctx: ContractMonth) -> tuple[list[Line], list[StatementEntry], list[Flag]]:
    """The statement: units consumed by each incident of the month."""
    ledger = _ledger(ctx)
    return [], _statement(ctx, lambda i: dict(
        units=int(ledger.units[i]),
        flags=("units_topped_up",) if i in ledger.topped_up else ())), []


def callcenter_part(ctx: ContractMonth) -> ContractPart:
    """Initial fee in the contract's first month, the tier's monthly fee every month."""
    rules = ctx.book.require_vendor()
    part = ContractPart()
    if not ctx.active():
        return part
    licences = int(ctx.contract.licences or 0)
    tier = int(np.searchsorted(rules.callcenter_upper_bounds, licences, side="left"))
    bound = int(rules.callcenter_upper_bounds[tier])
    if months_between(ctx.contract.start_date, ctx.month) == 0:
        fee = int(rules.callcenter_initial_fees[tier])
        part.lines.append(Line("callcenter_initial",
                               f"コールセンター初期費用 ({bound:,}ライセンスまで)", 1, fee, fee,
                               working=f"{licences:,}ライセンス"))
    fee = int(rules.callcenter_monthly_fees[tier])
    part.lines.append(Line("callcenter_monthly",
                           f"コールセンター月額費用 ({bound:,}ライセンスまで) {ctx.month}", 1, fee,
                           fee, working=f"{licences:,}ライセンス"))
    return part


def callcenter_items(ctx: ContractMonth) -> tuple[list[Line], list[StatementEntry], list[Flag]]:
    return [], _statement(ctx, lambda i: dict(note="月額費用に含む")), []


def _statement(ctx: ContractMonth, extra) -> list[StatementEntry]:
    t = ctx.incidents
    opened, closed = t.opened.tolist(), t.closed.tolist()
    return [StatementEntry(
        incident_id=str(t.incident_id[i]), opened=opened[i], closed=closed[i],
        channel=channel_label(int(t.measures.channel[i])), measures=measures_text(t, i),
        level=0, level_source="", fee=0, full_fee=0, description=str(t.description[i]),
        **extra(i)) for i in np.flatnonzero(ctx.in_month).tolist()]
