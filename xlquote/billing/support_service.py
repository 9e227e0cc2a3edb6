"""Price book B (Aki SIE): annual and monthly contracts (SPEC 2)."""

from __future__ import annotations

import numpy as np

from ..calendar import add_months, months_between
from ..codes import CHANNELS, LIMIT_DECISIONS, PLAN_LABELS_JA, SUPPORT_RANGES, normalize_text
from ..fees import monthly_fee_for_usage
from ..invoice import Flag, Invoice, Line, StatementEntry
from ..levels import SOURCE_LABELS_JA
from ..money import yen
from .context import ContractMonth, as_date, channel_label, measures_text

REPLY = CHANNELS.codes.index("reply")
STOP, CONTINUE = LIMIT_DECISIONS.codes.index("stop"), LIMIT_DECISIONS.codes.index("continue")


def level_label(level: int) -> str:
    return "フェザー" if level == 0 else f"レベル{level}"


def personal_use_problem(ctx: ContractMonth, i: int) -> str | None:
    """Why a personal-use incident is rejected (SPEC 2.6), or None when it may be billed."""
    t, c = ctx.incidents, ctx.contract
    member = t.member[i]
    if not member:
        return "personal use needs the member's name"
    if not c.member_allowed(member):
        allowed = ", ".join(c.members_allowed or ()) or "nobody"
        return f"member {member!r} may not use this contract personally (allowed: {allowed})"
    if c.approver and normalize_text(t.approved_by[i]) != normalize_text(c.approver):
        return f"personal use needs approval by {c.approver!r}"
    return None


def bill_support_service(ctx: ContractMonth) -> Invoice:
    c, rules, t = ctx.contract, ctx.book.require_support(), ctx.incidents
    invoice = ctx.new_invoice()
    plan = c.plan
    range_index = SUPPORT_RANGES.codes.index(c.support_range)
    range_ja = rules.range_names_ja[range_index]
    fees = rules.incident_fees[plan]
    in_month = ctx.in_month

    if ctx.active() and plan == "annual" and months_between(c.start_date, ctx.month) % 12 == 0:
        year_start = add_months(c.start_date, months_between(c.start_date, ctx.month))
        year_end = add_months(year_start, 12)
        fee = int(rules.annual_base_fee[range_index])
        invoice.lines.append(Line(
            "annual_base_fee", f"年額基本料金 ({range_ja}) {year_start:%Y/%m}〜{year_end:%Y/%m}",
            1, fee, fee, working=f"{range_ja}: {yen(fee)}/年, 契約年の初月に請求"))

    rejected = {i: personal_use_problem(ctx, i) for i in range(len(t)) if t.personal[i]}
    rejected = {i: why for i, why in rejected.items() if why}
    charts = _chart_incidents(ctx, rejected)

    counted = 0
    incident_lines: list[Line] = []
    for i in np.flatnonzero(in_month):
        entry, lines, counts = _bill_incident(ctx, int(i), fees, rejected.get(int(i)), invoice)
        invoice.statement.append(entry)
        incident_lines.extend(lines)
        counted += counts
        if int(i) in charts:
            line, chart_counts = _chart_line(ctx, int(i))
            incident_lines.append(line)
            counted += chart_counts

    if ctx.active() and plan == "monthly":
        maximum = int(c.max_incidents or 1)
        base, overage = monthly_fee_for_usage(
            rules, np.array([range_index]), np.array([maximum]), np.array([counted]))
        invoice.lines.append(Line(
            "monthly_fee", f"月額基本料金 ({range_ja}・月{maximum}件まで) {ctx.month}",
            1, int(base[0]), int(base[0]),
            working=f"{counted}件利用 (フェザーを除く) / 月{maximum}件"))
        if counted > maximum:
            invoice.flags.append(Flag("over_monthly_max",
                                      f"{counted} incidents counted, plan allows {maximum}"))
            if overage[0]:
                invoice.lines.append(Line(
                    "overage", f"上限超過 ({counted}件利用 / 月{maximum}件)", 1, int(overage[0]),
                    int(overage[0]),
                    working=f"月{counted}件の料金との差額 ({rules.overage_policy})"))
    invoice.lines.extend(incident_lines)
    return invoice.close(ctx.book.tax)


def _fee_limit(ctx: ContractMonth, i: int) -> int | None:
    own = int(ctx.incidents.fee_limit[i])
    if own >= 0:
        return own
    if ctx.contract.fee_limit is not None:
        return ctx.contract.fee_limit
    return ctx.book.require_support().default_fee_cap


def _bill_incident(ctx: ContractMonth, i: int, fees: np.ndarray, rejection: str | None,
                   invoice: Invoice) -> tuple[StatementEntry, list[Line], int]:
    t, rules = ctx.incidents, ctx.book.require_support()
    incident_id = str(t.incident_id[i])
    level = int(ctx.level[i])
    source = SOURCE_LABELS_JA[int(ctx.level_source[i])]
    full_fee = int(fees[level])
    flags: list[str] = []
    common = dict(incident_id=incident_id, opened=as_date(t.opened[i]), closed=as_date(t.closed[i]),
                  channel=channel_label(int(t.measures.channel[i])), measures=measures_text(t, i),
                  level=level, level_source=source, full_fee=full_fee,
                  description=str(t.description[i]))
    if rejection:
        invoice.flags.append(Flag("rejected", rejection, incident_id))
        return StatementEntry(fee=0, billed=False, flags=("rejected",), note=rejection,
                              **common), [], 0

    if t.urgent[i]:
        flags.append("urgent")
        invoice.flags.append(Flag("urgent", "urgent request (お急ぎ)", incident_id))
    if int(t.measures.channel[i]) == REPLY and level > rules.reply_max_level[ctx.contract.plan]:
        flags.append("reply_beyond_limit")
        invoice.flags.append(Flag(
            "reply_beyond_limit",
            f"a public reply may settle level ≤ {rules.reply_max_level[ctx.contract.plan]} "
            f"under this plan; this incident is {level_label(level)}: move to DM or e-mail",
            incident_id))

    charged, note = full_fee, ""
    limit = _fee_limit(ctx, i)
    if limit is not None and full_fee > limit:
        decision = int(t.limit_decision[i])
        if decision == CONTINUE:
            note = f"リミット {yen(limit)} 超過、継続のご判断により全額"
        else:
            charged = limit
            note = f"リミット {yen(limit)} 適用" + ("" if decision == STOP else " (ご判断待ち)")
            code = "limit_applied" if decision == STOP else "limit_pending"
            flags.append(code)
            invoice.flags.append(Flag(
                code, f"fee {yen(full_fee)} reached the limit {yen(limit)}"
                + ("" if decision == STOP else "; decision pending"), incident_id))

    plan_ja = PLAN_LABELS_JA[ctx.contract.plan]
    title = f"インシデント {incident_id} {level_label(level)} ({common['channel']})"
    working = f"{level_label(level)} ← {source}; {plan_ja} {yen(full_fee)}"
    lines: list[Line] = []
    service_code = t.absorbed_into[i]
    if service_code:
        service = _service_name(rules.absorption_services, service_code)
        note = f"{service}に吸収 ({yen(charged)} → 0)"
        lines.append(Line("incident", f"{title} → {service}に吸収", 1, 0, 0, incident_id,
                          working=f"{working}; {note}"))
        fee = int(t.absorbed_fee[i])
        lines.append(Line("absorbed_service", f"{service} (インシデント {incident_id} より)", 1,
                          fee, fee, incident_id, working="サポート範囲を超えたサービスとして請求"))
        charged = 0
    elif charged:
        lines.append(Line("incident", title, 1, charged, charged, incident_id,
                          working=f"{working}" + (f"; {note}" if note else "")))
    counts = 1 if (level >= 1 or rules.feather_counts) else 0
    entry = StatementEntry(fee=charged, flags=tuple(flags), note=note, **common)
    return entry, lines, counts


def _service_name(services: dict[str, str], code: str) -> str:
    key = normalize_text(code)
    for service_code, name in services.items():
        if key in (normalize_text(service_code), normalize_text(name)):
            return name
    return code  # validated before billing; kept readable if a caller skipped validation


def _chart_incidents(ctx: ContractMonth, rejected: dict[int, str]) -> set[int]:
    """Positions of incidents that are a member's first accepted personal use (SPEC 2.6)."""
    if ctx.contract.sole_proprietor_shared_env:
        return set()
    t = ctx.incidents
    seen: set[str] = set()
    first: set[int] = set()
    for i in range(len(t)):  # incidents are in close-date order
        if not t.personal[i] or i in rejected:
            continue
        member = normalize_text(t.member[i])
        if member not in seen:
            seen.add(member)
            first.add(i)
    return {i for i in first if ctx.in_month[i]}


def _chart_line(ctx: ContractMonth, i: int) -> tuple[Line, int]:
    """The chart fee: a level-3 incident; under a monthly contract it consumes one incident,
    or with karte_payment "pay" costs the annual-contract fee and consumes none."""
    rules = ctx.book.require_support()
    c = ctx.contract
    paying = c.plan == "annual" or c.karte_payment == "pay"
    fee_plan = rules.chart_pay_fee_plan if (c.plan == "monthly" and paying) else c.plan
    fee = int(rules.incident_fees[fee_plan][rules.chart_level])
    member = ctx.incidents.member[i]
    how = "月額インシデント1件消費" if not paying else f"{PLAN_LABELS_JA[fee_plan]}料金"
    line = Line("chart", f"カルテ作成 ({member}) {level_label(rules.chart_level)} — {how}", 1,
                fee, fee, str(ctx.incidents.incident_id[i]),
                working=f"初回の個人利用; karte_payment={c.karte_payment}")
    return line, 0 if paying else 1
