"""Price book A: paid support in units and packs (RULES 1.1) and the call centre (RULES 1.2)."""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
from dataclasses import dataclass, field

import numpy as np

from ..dates import MONTHS_PER_YEAR, add_months
from ..fees import units_for_minutes
from ..invoice import Flag, Line, PackBalance, StatementEntry
from ..money import yen
from ..pricebook import VendorRules
from ..records import Pack
from .context import ContractMonth, ContractPart, channel_labels, measures_texts
from .schedule import callcenter_fees_due, shortfall_cost, vendor_annual_fee_due


@dataclass(slots=True)  # slots: a long history of top-ups makes a pack for each shortfall
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


@dataclass
class _Ledger:
    """The replay of a contract's unit consumption up to the month's end."""

    packs: list[_PackState]
    units: np.ndarray  # per incident
    topped_up: set[int] = field(default_factory=set)  # incident positions that opened packs
    lines: list[Line] = field(default_factory=list)  # this month's top-ups / shortfalls
    flags: list[Flag] = field(default_factory=list)
    left_after: dict[int, UnitsLeft] = field(default_factory=dict)


def pack_expiry(purchased: dt.date, rules: VendorRules) -> dt.date:
    """Valid for one year from purchase: bought 2026-04-01 → last day 2027-03-31."""
    return add_months(purchased, rules.pack_valid_months) - dt.timedelta(days=1)


PackLeft = tuple[dt.date, dt.date, int]  # (purchased, expires, units left)
LISTED_PACKS = 5  # the packs a balance names; a contract may hold thousands


@dataclass(frozen=True)
class UnitsLeft:
    """The valid packs' units left after a draw: the total, how many packs hold them, and the
    first LISTED_PACKS of those packs, soonest expiry first."""

    total: int
    count: int
    packs: list[PackLeft]


@dataclass
class UnitDraws:
    """What ``draw_units`` found: units each draw of the billed month could not take from the
    packs (new packs were opened for them with auto top-up; earlier months' shortfalls are
    not kept: a long history would keep one for each draw), and, for the draws asked for,
    what the valid packs held right after it."""

    shortfalls: dict[int, int] = field(default_factory=dict)  # draw position → units short
    left_after: dict[int, UnitsLeft] = field(default_factory=dict)


def draw_units(packs: list[_PackState], closes: list[dt.date], units: list[int],
               in_month: list[bool], rules: VendorRules,
               snapshots: set[int] | frozenset[int] = frozenset()) -> UnitDraws:
    """Draw each incident's units, in close-date order, oldest-expiry-first from the packs
    valid on its close date (RULES 1.1). A shortfall opens new packs on that date with auto
    top-up (appended to ``packs``), or is left to be billed per unit. The one definition of
    pack consumption: the monthly invoice and the plan comparison both draw through it."""
    draws = UnitDraws()
    # Incidents come in close-date order, so a pack that has expired or run empty never serves
    # again: packs are drawn in FIFO-by-expiry order, and the used-up ones at the front of that
    # order are dropped as the dates move on (an empty one further back is just skipped).
    open_packs = sorted(packs, key=lambda p: (p.expires, p.purchased))
    # A balance asked for counts the units of the open packs (kept as a running sum) less those
    # of packs not bought yet (recorded ones, untouched until bought): not a pass over them all.
    units_open = sum(p.left for p in open_packs)
    holding = sum(1 for p in open_packs if p.left > 0)  # open packs with units left
    later = sorted((p.purchased, p.left) for p in open_packs)
    bought_by = [day for day, _ in later]
    units_bought_after = [*itertools.accumulate((units for _, units in reversed(later)),
                                                initial=0)][::-1]

    def balance(day: dt.date) -> UnitsLeft:
        bought = bisect.bisect_right(bought_by, day)
        listed = []
        for pack in open_packs:  # valid packs come first: bought earlier, they expire earlier
            if pack.purchased > day or len(listed) == LISTED_PACKS:
                break
            if pack.left > 0:
                listed.append((pack.purchased, pack.expires, pack.left))
        return UnitsLeft(units_open - units_bought_after[bought],
                         holding - (len(bought_by) - bought), listed)
    # Python lists and bisect: the loop below steps a few times per contract, where numpy's
    # per-call overhead would dominate.
    drawn = [0, *itertools.accumulate(units)]  # units of incidents [0, i)
    drawn_now = [0, *itertools.accumulate(u if now else 0
                                          for u, now in zip(units, in_month, strict=True))]
    wanted = sorted(snapshots)
    i, count = 0, len(units)
    while i < count:
        closed = closes[i]
        while open_packs and (open_packs[0].expires < closed or open_packs[0].left <= 0):
            gone = open_packs.pop(0)
            units_open -= gone.left  # what an expired pack held is lost
            holding -= gone.left > 0
        # The run of incidents the front pack serves whole (until it runs short or expires)
        # draws from it alone: take them at once instead of one by one.
        front = open_packs[0] if open_packs else None
        if front is not None and front.purchased <= closed:
            stop = min(bisect.bisect_right(drawn, drawn[i] + front.left) - 1,
                       bisect.bisect_right(closes, front.expires))
            if wanted:  # stop right after the next incident whose balance is asked for
                after = bisect.bisect_left(wanted, i)
                if after < len(wanted):
                    stop = min(stop, wanted[after] + 1)
            if stop > i:
                now = drawn_now[stop] - drawn_now[i]
                front.used_this_month += now
                front.used_before += drawn[stop] - drawn[i] - now
                units_open -= drawn[stop] - drawn[i]
                holding -= front.left == 0
                i = stop
                if stop - 1 in snapshots:
                    draws.left_after[stop - 1] = balance(closes[stop - 1])
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
            units_open -= take
            holding -= take > 0 and pack.left == 0
        if need:
            if now:
                draws.shortfalls[i] = need
            if rules.auto_topup:
                added = _open_packs(packs, rules, closed, need, now)
                open_packs = sorted(open_packs + added, key=lambda p: (p.expires, p.purchased))
                units_open += sum(p.left for p in added)
                holding += sum(1 for p in added if p.left > 0)
        if i in snapshots:
            draws.left_after[i] = balance(closed)
        i += 1
    return draws


def _open_packs(packs: list[_PackState], rules: VendorRules, closed: dt.date, short: int,
                now: bool) -> list[_PackState]:
    """New packs bought on ``closed`` for ``short`` units, drawn at once (auto top-up)."""
    count = int(shortfall_cost(rules, short)[0])
    # The packs one shortfall opens are bought together and share their dates: one block of
    # ``count`` packs, so that the work does not grow with the shortfall.
    pack = _PackState(closed, pack_expiry(closed, rules), count * rules.pack_units, True)
    if now:
        pack.used_this_month = short
    else:
        pack.used_before = short
        if not pack.left:  # used up as it was bought, before the month: it never shows again
            return []
    packs.append(pack)
    return [pack]


def recorded_packs(packs: list[Pack], rules: VendorRules) -> list[_PackState]:
    return [_PackState(p.purchased, pack_expiry(p.purchased, rules), p.units, False)
            for p in sorted(packs, key=lambda p: p.purchased)]


def pack_ledger(ctx: ContractMonth, snapshots: set[int] | frozenset[int] = frozenset()) -> _Ledger:
    """Units drawn oldest-expiry-first from packs valid on the close date; a shortfall opens
    new packs (auto top-up, invoiced in their month) or is billed per unit. ``snapshots``: the
    incidents after which the packs' balance is kept (``left_after``: the units_used notices)."""
    if "ledger" in ctx.memo and not snapshots:
        return ctx.memo["ledger"]  # type: ignore[return-value]
    rules = ctx.book.require_vendor()
    t = ctx.incidents
    ledger = _Ledger(packs=recorded_packs(ctx.packs, rules),
                     units=units_for_minutes(t.measures.minutes, rules))
    in_month = ctx.in_month.tolist()
    closes: list[dt.date] = t.closed.tolist()
    draws = draw_units(ledger.packs, closes, ledger.units.tolist(), in_month, rules, snapshots)
    ledger.left_after = draws.left_after
    for i, short in draws.shortfalls.items():
        if rules.auto_topup:
            ledger.topped_up.add(i)
        if in_month[i]:
            _shortfall_line(ctx, rules, ledger, i, closes[i], short)
    if not snapshots:
        ctx.memo["ledger"] = ledger
    return ledger


# The line kinds of an incident that ran past the packs: one line per such incident.
TOPUP_LINE, UNIT_SHORTFALL_LINE = "pack_topup", "unit_shortfall"
SHORTFALL_LINES = (TOPUP_LINE, UNIT_SHORTFALL_LINE)


def _shortfall_line(ctx: ContractMonth, rules: VendorRules, ledger: _Ledger, i: int,
                    closed: dt.date, short: int) -> None:
    incident_id = str(ctx.incidents.incident_id[i])
    count, amount = (int(v) for v in shortfall_cost(rules, short))
    if rules.auto_topup:
        ledger.lines.append(ctx.line(
            TOPUP_LINE, f"インシデントパック自動追加 {rules.pack_units}ユニット × {count}口 "
                          f"({closed:%Y/%m/%d}, インシデント {incident_id})",
            count, rules.pack_price, amount, incident_id,
            working="残ユニット不足のため新しいパックを購入 (auto_topup)"))
        ledger.flags.append(Flag("units_topped_up",
                                 f"ユニットが {short}ユニット不足したため、{rules.pack_units}ユニットの"
                                 f"パックを {count}口 自動で追加しました ({yen(amount)} を請求)",
                                 incident_id))
    else:
        ledger.lines.append(ctx.line(
            UNIT_SHORTFALL_LINE, f"ユニット不足分 (インシデント {incident_id})", short,
            rules.unit_price, amount, incident_id,
            working="auto_topup = false: 不足ユニットを単価で請求"))
        ledger.flags.append(Flag("units_short",
                                 f"パックのユニットが {short}ユニット不足しました。不足分をユニット単価 "
                                 f"{yen(rules.unit_price)} で請求します ({yen(amount)})",
                                 incident_id))


def paid_support_part(ctx: ContractMonth) -> ContractPart:
    """Annual fee each contract year, packs bought this month, top-ups, pack balances."""
    rules = ctx.book.require_vendor()
    part = ContractPart()
    licences = int(ctx.contract.licences or 0)
    fee = int(vendor_annual_fee_due(rules, licences, ctx.month_index, ctx.month_count))
    if fee:
        part.lines.append(ctx.line(
            "vendor_annual_fee", f"有料サポート年額基本料金 {ctx.period_text(MONTHS_PER_YEAR)} "
                                 f"({licences:,}ライセンス)",
            1, fee, fee, working=f"{yen(rules.annual_fixed_fee)} + "
                                 f"{yen(rules.annual_fee_per_licence)} × {licences:,}"))
    month_start, month_end = ctx.month.first_day, ctx.month.last_day
    if rules.bill_recorded_packs:
        for p in ctx.packs:
            if month_start <= p.purchased <= month_end:
                count = p.units // rules.pack_units
                part.lines.append(ctx.line(
                    "pack", f"インシデントパック {rules.pack_units}ユニット × {count}口 "
                            f"({p.purchased:%Y/%m/%d} 購入, 有効期限 "
                            f"{pack_expiry(p.purchased, rules):%Y/%m/%d})",
                    count, rules.pack_price, count * rules.pack_price))
    ledger = pack_ledger(ctx)
    part.lines.extend(ledger.lines)
    part.flags.extend(ledger.flags)
    # The balance lists the packs valid in the month that still matter to it: bought in it,
    # drawn in it, or with units left. A pack used up before the month adds nothing, and a
    # long history of automatic top-ups made a million such rows.
    part.packs = [PackBalance(p.purchased, p.expires, p.units, p.used_before,
                              p.used_this_month, p.auto_topup)
                  for p in ledger.packs if p.expires >= month_start and p.purchased <= month_end
                  and (p.left > 0 or p.used_this_month > 0 or p.purchased >= month_start)]
    return part


def paid_support_items(ctx: ContractMonth) -> tuple[list[Line], list[StatementEntry], list[Flag]]:
    """The statement: units consumed by each incident of the month."""
    ledger = pack_ledger(ctx)
    flags = [("units_topped_up",) if i in ledger.topped_up else () for i in ctx.billed.tolist()]
    return [], _statement(ctx, units=ledger.units[ctx.billed].tolist(), flags=flags), []


def callcenter_part(ctx: ContractMonth) -> ContractPart:
    """Initial fee in the contract's first month, the tier's monthly fee every month."""
    rules = ctx.book.require_vendor()
    part = ContractPart()
    if not ctx.starts_contract_month():
        return part
    licences = int(ctx.contract.licences or 0)
    bound, initial, monthly = (int(v) for v in callcenter_fees_due(
        rules, licences, ctx.month_index, ctx.month_count))
    if initial:
        part.lines.append(ctx.line("callcenter_initial",
                               f"コールセンター初期費用 ({bound:,}ライセンスまで)", 1, initial,
                               initial, working=f"{licences:,}ライセンス"))
    part.lines.append(ctx.line("callcenter_monthly",
                           f"コールセンター月額費用 ({bound:,}ライセンスまで) {ctx.period_text(1)}",
                           1, monthly, monthly, working=f"{licences:,}ライセンス"))
    return part


def callcenter_items(ctx: ContractMonth) -> tuple[list[Line], list[StatementEntry], list[Flag]]:
    return [], _statement(ctx, note="月額費用に含む"), []


def _statement(ctx: ContractMonth, note: str = "", units: list[int] | None = None,
               flags: list[tuple[str, ...]] | None = None) -> list[StatementEntry]:
    """The month's incidents as statement rows (price book A bills no incident by itself)."""
    t, rows = ctx.incidents, ctx.billed
    return [StatementEntry(incident_id, opened, closed, channel, measures, 0, "", 0, 0, used,
                           flags=codes, description=description, note=note)
            for incident_id, opened, closed, channel, measures, description, used, codes in zip(
                t.incident_id[rows].tolist(), t.opened[rows].tolist(), t.closed[rows].tolist(),
                channel_labels(t.measures.channel[rows]), measures_texts(t.measures, rows),
                t.description[rows].tolist(), units or [0] * len(rows),
                flags or [()] * len(rows), strict=True)]
