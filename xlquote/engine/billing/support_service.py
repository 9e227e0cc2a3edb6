"""Price book B (Aki SIE): annual and monthly contracts (RULES 2). Incident charges come
precomputed from ``pricing``; this module turns them into lines and statement entries."""

from __future__ import annotations

import numpy as np

from ..codes import PLAN_LABELS_JA, SUPPORT_RANGES, normalize_text
from ..dates import MONTHS_PER_YEAR
from ..invoice import Flag, Line, StatementEntry
from ..levels import SOURCE_LABELS_JA
from ..money import yen
from .context import ContractMonth, ContractPart, channel_label, measures_text
from .pricing import CONTINUED, PENDING, STOPPED
from .schedule import annual_base_fee_due, monthly_fee_due


def level_label(level: int) -> str:
    return "フェザー" if level == 0 else f"レベル{level}"


def limit_label(yen_limit: int, level_limit: int) -> str:
    """A fee limit as the invoice and the notices say it: ¥20,000 or レベル3 / フェザー."""
    return level_label(level_limit) if level_limit >= 0 else yen(yen_limit)


def contract_part(ctx: ContractMonth) -> ContractPart:
    """Annual base fee in the first month of each contract year; the monthly fee in every
    contract month, and the overage when more incidents were counted than the plan allows."""
    c, rules = ctx.contract, ctx.book.require_support()
    part = ContractPart()
    if not ctx.active():
        return part
    range_index = SUPPORT_RANGES.codes.index(c.support_range)
    range_ja = rules.range_names_ja[range_index]
    index, count = ctx.month_index, ctx.month_count
    if c.plan == "annual":
        fee = int(annual_base_fee_due(rules, range_index, index, count))
        if fee:
            part.lines.append(Line(
                "annual_base_fee",
                f"年額基本料金 ({range_ja}) {ctx.period_text(MONTHS_PER_YEAR)}",
                1, fee, fee, working=f"{range_ja}: {yen(fee)}/年, 契約年の初月に請求"))
    if c.plan == "monthly":
        maximum = int(c.max_incidents or 1)
        counted = ctx.counted_incidents()
        fees = monthly_fee_due(rules, range_index, maximum, counted, index, count, True)
        base, overage = int(fees[0]), int(fees[1])
        if ctx.starts_contract_month():
            part.lines.append(Line(
                "monthly_fee", f"月額基本料金 ({range_ja}・月{maximum}件まで) {ctx.period_text(1)}",
                1, base, base,
                working=f"{counted}件利用 (フェザーを除く) / 月{maximum}件"))
        if counted > maximum:
            part.flags.append(Flag("over_monthly_max",
                                   f"{counted} incidents counted, plan allows {maximum}"))
            if overage:
                part.lines.append(Line(
                    "overage", f"上限超過 ({counted}件利用 / 月{maximum}件)", 1, overage,
                    overage, working=f"月{counted}件の料金との差額 ({rules.overage_policy})"))
    return part


def incident_items(ctx: ContractMonth) -> tuple[list[Line], list[StatementEntry], list[Flag]]:
    """Lines, statement entries and flags of the incidents closed in the month."""
    t, ch, rules = ctx.incidents, ctx.charges, ctx.book.require_support()
    plan_ja = PLAN_LABELS_JA[ctx.contract.plan]
    opened, closed = t.opened.tolist(), t.closed.tolist()
    lines: list[Line] = []
    statement: list[StatementEntry] = []
    flags: list[Flag] = []
    for i in np.flatnonzero(ch.in_month).tolist():
        incident_id = str(t.incident_id[i])
        level, full_fee, charged = int(ch.level[i]), int(ch.full_fee[i]), int(ch.charged[i])
        source = SOURCE_LABELS_JA[int(ch.level_source[i])]
        channel = channel_label(int(t.measures.channel[i]))
        entry = dict(incident_id=incident_id, opened=opened[i], closed=closed[i],
                     channel=channel, measures=measures_text(t, i), level=level,
                     level_source=source, full_fee=full_fee, description=str(t.description[i]))
        rejection = ch.rejected[i]
        if rejection:
            flags.append(Flag("rejected", rejection, incident_id))
            statement.append(StatementEntry(fee=0, billed=False, flags=("rejected",),
                                            note=rejection, **entry))
            continue

        codes: list[str] = []
        if t.urgent[i]:
            codes.append("urgent")
            flags.append(Flag("urgent", "urgent request (お急ぎ)", incident_id))
        if ch.reply_beyond[i]:
            allowed = rules.reply_max_level[ctx.contract.plan]
            codes.append("reply_beyond_limit")
            flags.append(Flag("reply_beyond_limit",
                              f"a public reply may settle level ≤ {allowed} under this plan; "
                              f"this incident is {level_label(level)}: move to DM or e-mail",
                              incident_id))
        note = ""
        state = int(ch.limit_state[i])
        limit = limit_label(int(ch.limit[i]), int(ch.limit_level[i]))
        if state == CONTINUED:
            note = f"リミット {limit} 到達、継続のご判断により全額"
        elif state in (PENDING, STOPPED):
            code = "limit_pending" if state == PENDING else "limit_applied"
            note = f"リミット {limit} 適用" + (" (ご判断待ち)" if state == PENDING else "")
            codes.append(code)
            flags.append(Flag(code, f"{level_label(level)}, fee {yen(full_fee)} reached the "
                                    f"limit {limit}" + ("; decision pending"
                                                        if state == PENDING else ""),
                              incident_id))

        title = f"インシデント {incident_id} {level_label(level)} ({channel})"
        working = f"{level_label(level)} ← {source}; {plan_ja} {yen(full_fee)}"
        if ch.absorbed[i]:
            service = _service_name(rules.absorption_services, t.absorbed_into[i])
            before = int(ch.limited_fee[i])
            note = f"{service}に吸収 ({yen(before)} → 0)"
            lines.append(Line("incident", f"{title} → {service}に吸収", 1, 0, 0, incident_id,
                              working=f"{working}; {note}"))
            fee = int(ch.absorbed_fee[i])
            lines.append(Line("absorbed_service", f"{service} (インシデント {incident_id} より)",
                              1, fee, fee, incident_id,
                              working="サポート範囲を超えたサービスとして請求"))
        elif charged:
            lines.append(Line("incident", title, 1, charged, charged, incident_id,
                              working=working + (f"; {note}" if note else "")))
        visits, onsite_fee = int(ch.visits[i]), int(ch.onsite_fee[i])
        if onsite_fee:
            lines.append(Line("onsite", f"出張サポート (インシデント {incident_id}) {visits}回",
                              visits, onsite_fee // visits, onsite_fee, incident_id,
                              working="出張はオプション (別料金): onsite_fee × 回数"))
        elif visits:
            codes.append("onsite_quote")
            flags.append(Flag("onsite_quote", f"{visits} on-site visit(s): the price book has no "
                                              "on-site fee, quote the option (出張は別料金)",
                              incident_id))
        statement.append(StatementEntry(fee=charged, flags=tuple(codes), note=note, **entry))
        if ch.chart[i]:
            lines.append(_chart_line(ctx, i))
    return lines, statement, flags


def _service_name(services: dict[str, str], code: str) -> str:
    key = normalize_text(code)
    for service_code, name in services.items():
        if key in (normalize_text(service_code), normalize_text(name)):
            return name
    return code  # bill_month validates services first; kept readable if a caller did not


def _chart_line(ctx: ContractMonth, i: int) -> Line:
    """The chart (カルテ作成): a level-3 incident on a member's first personal use; under a
    monthly contract it consumes one incident, or with karte_payment "pay" costs the
    annual-contract fee and consumes none (the fee is computed in ``pricing``)."""
    rules, c = ctx.book.require_support(), ctx.contract
    fee = int(ctx.charges.chart_fee[i])
    fee_plan = rules.chart_pay_fee_plan if c.plan == "monthly" else c.plan
    consumes = c.plan == "monthly" and c.karte_payment != "pay"
    how = "月額インシデント1件消費" if consumes else f"{PLAN_LABELS_JA[fee_plan]}料金"
    member = ctx.incidents.member[i]
    return Line("chart", f"カルテ作成 ({member}) {level_label(rules.chart_level)} — {how}", 1,
                fee, fee, str(ctx.incidents.incident_id[i]),
                working=f"初回の個人利用; karte_payment={c.karte_payment}")
