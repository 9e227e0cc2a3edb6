"""Price book B (Aki SIE): annual and monthly contracts (RULES 2). Incident charges come
precomputed from ``pricing``; this module turns them into lines and statement entries."""

from __future__ import annotations

from ..codes import PLAN_LABELS_JA, SUPPORT_RANGES, normalize_text
from ..dates import MONTHS_PER_YEAR
from ..invoice import Flag, Line, StatementEntry
from ..levels import SOURCE_LABELS_JA
from ..money import yen
from .context import ContractMonth, ContractPart, channel_labels, measures_texts
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
            part.lines.append(ctx.line(
                "annual_base_fee",
                f"年額基本料金 ({range_ja}) {ctx.period_text(MONTHS_PER_YEAR)}",
                1, fee, fee, working=f"{range_ja}: {yen(fee)}/年, 契約年の初月に請求"))
    if c.plan == "monthly":
        maximum = int(c.max_incidents or 1)
        counted = ctx.counted_incidents()
        fees = monthly_fee_due(rules, range_index, maximum, counted, index, count, True)
        base, overage = int(fees[0]), int(fees[1])
        if ctx.starts_contract_month():
            part.lines.append(ctx.line(
                "monthly_fee", f"月額基本料金 ({range_ja}・月{maximum}件まで) {ctx.period_text(1)}",
                1, base, base,
                working=f"{counted}件利用 (フェザーを除く) / 月{maximum}件"))
        if counted > maximum:
            billed = (f"上限超過分 {yen(overage)} を請求します" if overage else
                      f"超過分は請求していません (料金表の overage_policy = "
                      f"{rules.overage_policy})")
            part.flags.append(Flag("over_monthly_max",
                                   f"当月の利用 {counted}件が契約の月{maximum}件を超えました。"
                                   f"{billed}"))
            if overage:
                part.lines.append(ctx.line(
                    "overage", f"上限超過 ({counted}件利用 / 月{maximum}件)", 1, overage,
                    overage, working=f"月{counted}件の料金との差額 ({rules.overage_policy})"))
    return part


def incident_items(ctx: ContractMonth) -> tuple[list[Line], list[StatementEntry], list[Flag]]:
    """Lines, statement entries and flags of the incidents closed in the month."""
    t, ch, rules, rows = ctx.incidents, ctx.charges, ctx.book.require_support(), ctx.billed
    plan_ja = PLAN_LABELS_JA[ctx.contract.plan]
    reply_max = rules.reply_max_level[ctx.contract.plan]
    lines: list[Line] = []
    statement: list[StatementEntry] = []
    flags: list[Flag] = []
    facts = zip(rows.tolist(), t.incident_id[rows].tolist(), t.opened[rows].tolist(),
                t.closed[rows].tolist(), channel_labels(t.measures.channel[rows]),
                measures_texts(t.measures, rows), t.description[rows].tolist(),
                t.urgent[rows].tolist(), strict=True)
    charges = zip(*(column[rows].tolist() for column in (
        ch.level, ch.level_source, ch.full_fee, ch.charged, ch.rejected, ch.reply_beyond,
        ch.limit_state, ch.limit, ch.limit_level, ch.absorbed, ch.limited_fee, ch.absorbed_fee,
        ch.visits, ch.onsite_fee, ch.chart)), strict=True)
    for (i, incident_id, opened, closed, channel, measures, description, urgent), (
            level, source_code, full_fee, charged, rejection, reply_beyond, state, limit_yen,
            limit_level, absorbed, limited_fee, absorbed_fee, visits, onsite_fee,
            chart) in zip(facts, charges, strict=True):
        source = SOURCE_LABELS_JA[source_code]
        level_ja = level_label(level)
        if rejection:
            flags.append(Flag("rejected", rejection, incident_id))
            statement.append(StatementEntry(
                incident_id, opened, closed, channel, measures, level, source, 0, full_fee,
                billed=False, flags=("rejected",), description=description, note=rejection))
            continue

        codes: list[str] = []
        if urgent:
            codes.append("urgent")
            flags.append(Flag("urgent", "お急ぎの依頼です。通常よりレベルが上がるときは "
                                        "level_override にレベルを記録してください (自動では上げません)",
                              incident_id))
        if reply_beyond:
            codes.append("reply_beyond_limit")
            flags.append(Flag("reply_beyond_limit",
                              f"この契約のリプライで対応できるのは{level_label(reply_max)}までですが、"
                              f"このインシデントは{level_ja}です。お客様に DM またはメールへの"
                              "切り替えをご案内ください", incident_id))
        note = ""
        if state == CONTINUED:
            note = f"リミット {limit_label(limit_yen, limit_level)} 到達、継続のご判断により全額"
        elif state in (PENDING, STOPPED):
            limit = limit_label(limit_yen, limit_level)
            code = "limit_pending" if state == PENDING else "limit_applied"
            note = f"リミット {limit} 適用" + (" (ご判断待ち)" if state == PENDING else "")
            codes.append(code)
            reached = f"{level_ja}の料金 {yen(full_fee)} がリミット {limit} に達しました。"
            flags.append(Flag(code, reached + (
                "継続か中止かをお客様に確認し、Incidents シートの limit_decision に記録してください "
                f"(記録までは {yen(limited_fee)} で計算)" if state == PENDING else
                f"お客様のご判断 (中止) により {yen(limited_fee)} を請求します"), incident_id))

        if absorbed or charged:
            title = f"インシデント {incident_id} {level_ja} ({channel})"
            working = f"{level_ja} ← {source}; {plan_ja} {yen(full_fee)}"
            if absorbed:
                service = _service_name(rules.absorption_services, t.absorbed_into[i])
                note = f"{service}に吸収 ({yen(limited_fee)} → 0)"
                lines.append(ctx.line("incident", f"{title} → {service}に吸収", 1, 0, 0,
                                      incident_id, working=f"{working}; {note}"))
                lines.append(ctx.line("absorbed_service",
                                      f"{service} (インシデント {incident_id} より)", 1,
                                      absorbed_fee, absorbed_fee, incident_id,
                                      working="サポート範囲を超えたサービスとして請求"))
            else:
                lines.append(ctx.line("incident", title, 1, charged, charged, incident_id,
                                      working=working + (f"; {note}" if note else "")))
        if onsite_fee:
            lines.append(ctx.line("onsite", f"出張サポート (インシデント {incident_id}) {visits}回",
                                  visits, onsite_fee // visits, onsite_fee, incident_id,
                                  working="出張はオプション (別料金): onsite_fee × 回数"))
        elif visits:
            codes.append("onsite_quote")
            flags.append(Flag("onsite_quote", f"出張 {visits}回: 料金表に出張料金 (onsite_fee) "
                                              "がありません。出張オプションの料金をお見積りのうえ"
                                              "別途ご請求ください (出張は別料金)", incident_id))
        statement.append(StatementEntry(
            incident_id, opened, closed, channel, measures, level, source, charged, full_fee,
            flags=tuple(codes), description=description, note=note))
        if chart:
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
    return ctx.line("chart", f"カルテ作成 ({member}) {level_label(rules.chart_level)} — {how}", 1,
                fee, fee, str(ctx.incidents.incident_id[i]),
                working=f"初回の個人利用; karte_payment={c.karte_payment}")
