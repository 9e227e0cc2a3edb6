"""Price book A: paid support in units and packs (SPEC 1.1) and the call centre (SPEC 1.2)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from ..calendar import add_months, months_between
from ..fees import units_for_minutes
from ..invoice import Flag, Invoice, Line, PackBalance, StatementEntry
from ..money import yen
from ..pricebook import VendorRules
from .context import ContractMonth, as_date, channel_label, measures_text


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


def pack_expiry(purchased: dt.date, rules: VendorRules) -> dt.date:
    """Valid for one year from purchase: bought 2026-04-01 → last day 2027-03-31."""
    return add_months(purchased, rules.pack_valid_months) - dt.timedelta(days=1)


def _contract_year_line(ctx: ContractMonth, rules: VendorRules) -> Line | None:
    c = ctx.contract
    if not ctx.active() or months_between(c.start_date, ctx.month) % 12:
        return None
    licences = int(c.licences or 0)
    fee = rules.annual_fixed_fee + rules.annual_fee_per_licence * licences
    year_start = add_months(c.start_date, months_between(c.start_date, ctx.month))
    return Line("vendor_annual_fee",
                f"有料サポート年額基本料金 {year_start:%Y/%m}〜{add_months(year_start, 12):%Y/%m} "
                f"({licences:,}ライセンス)", 1, fee, fee,
                working=f"{yen(rules.annual_fixed_fee)} + {yen(rules.annual_fee_per_licence)} × "
                        f"{licences:,}")


def bill_paid_support(ctx: ContractMonth) -> Invoice:
    """Annual fee each contract year; units drawn oldest-expiry-first from unexpired packs;
    a shortfall opens a new pack (auto top-up) or is billed per unit; statement of units."""
    rules = ctx.book.require_vendor()
    invoice = ctx.new_invoice()
    month_start = ctx.month.first_day
    line = _contract_year_line(ctx, rules)
    if line:
        invoice.lines.append(line)

    packs = [_PackState(p.purchased, pack_expiry(p.purchased, rules), p.units, False)
             for p in sorted(ctx.packs, key=lambda p: p.purchased)]
    for p in ctx.packs:
        if rules.bill_recorded_packs and month_start <= p.purchased <= ctx.month.last_day:
            count = p.units // rules.pack_units
            expires = pack_expiry(p.purchased, rules)
            invoice.lines.append(Line(
                "pack", f"インシデントパック {rules.pack_units}ユニット × {count}口 "
                        f"({p.purchased:%Y/%m/%d} 購入, 有効期限 {expires:%Y/%m/%d})",
                count, rules.pack_price, count * rules.pack_price))

    t = ctx.incidents
    units = units_for_minutes(t.measures.minutes, rules)
    for i in range(len(t)):
        closed = as_date(t.closed[i])
        now = closed >= month_start
        need = int(units[i])
        for pack in sorted((p for p in packs if p.valid_on(closed) and p.left > 0),
                           key=lambda p: (p.expires, p.purchased)):
            take = min(need, pack.left)
            if now:
                pack.used_this_month += take
            else:
                pack.used_before += take
            need -= take
            if not need:
                break
        topped_up = bool(need) and _cover_shortfall(ctx, rules, packs, invoice, i, closed, need,
                                                    now)
        if now:
            flags = ("units_topped_up",) if topped_up else ()
            invoice.statement.append(StatementEntry(
                incident_id=str(t.incident_id[i]), opened=as_date(t.opened[i]), closed=closed,
                channel=channel_label(int(t.measures.channel[i])), measures=measures_text(t, i),
                level=0, level_source="", fee=0, full_fee=0, units=int(units[i]), flags=flags,
                description=str(t.description[i])))

    invoice.packs = [
        PackBalance(p.purchased, p.expires, p.units, p.used_before, p.used_this_month,
                    p.auto_topup)
        for p in packs
        if p.expires >= month_start and p.purchased <= ctx.month.last_day
    ]
    return invoice.close(ctx.book.tax)


def _cover_shortfall(ctx: ContractMonth, rules: VendorRules, packs: list[_PackState],
                     invoice: Invoice, i: int, closed: dt.date, short: int, now: bool) -> bool:
    """Auto top-up: new packs bought on the incident's close date cover the shortfall and are
    invoiced in that month. Without it, the missing units are billed at the unit price.
    Returns whether packs were added."""
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
            packs.append(pack)
            short -= take
        if now:
            invoice.lines.append(Line(
                "pack_topup", f"インシデントパック自動追加 {rules.pack_units}ユニット × {count}口 "
                              f"({closed:%Y/%m/%d}, インシデント {incident_id})",
                count, rules.pack_price, count * rules.pack_price, incident_id,
                working="残ユニット不足のため新しいパックを購入 (auto_topup)"))
            invoice.flags.append(Flag("units_topped_up", f"{count} pack(s) added", incident_id))
        return True
    if now:
        invoice.lines.append(Line(
            "unit_shortfall", f"ユニット不足分 (インシデント {incident_id})", short,
            rules.unit_price, short * rules.unit_price, incident_id,
            working="auto_topup = false: 不足ユニットを単価で請求"))
        invoice.flags.append(Flag("units_short", f"{short} unit(s) beyond the packs", incident_id))
    return False


def bill_callcenter(ctx: ContractMonth) -> Invoice:
    """Initial fee in the contract's first month, the tier's monthly fee every month."""
    rules = ctx.book.require_vendor()
    invoice = ctx.new_invoice()
    licences = int(ctx.contract.licences or 0)
    tier = int(np.searchsorted(rules.callcenter_upper_bounds, licences, side="left"))
    bound = int(rules.callcenter_upper_bounds[tier])
    if ctx.active():
        if months_between(ctx.contract.start_date, ctx.month) == 0:
            fee = int(rules.callcenter_initial_fees[tier])
            invoice.lines.append(Line("callcenter_initial",
                                      f"コールセンター初期費用 ({bound:,}ライセンスまで)",
                                      1, fee, fee, working=f"{licences:,}ライセンス"))
        fee = int(rules.callcenter_monthly_fees[tier])
        invoice.lines.append(Line("callcenter_monthly",
                                  f"コールセンター月額費用 ({bound:,}ライセンスまで) {ctx.month}",
                                  1, fee, fee, working=f"{licences:,}ライセンス"))
    t = ctx.incidents
    for i in np.flatnonzero(ctx.in_month):
        invoice.statement.append(StatementEntry(
            incident_id=str(t.incident_id[i]), opened=as_date(t.opened[i]),
            closed=as_date(t.closed[i]), channel=channel_label(int(t.measures.channel[i])),
            measures=measures_text(t, int(i)), level=0, level_source="", fee=0, full_fee=0,
            description=str(t.description[i]), note="月額費用に含む"))
    return invoice.close(ctx.book.tax)
