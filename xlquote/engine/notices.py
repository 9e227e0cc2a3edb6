"""Notices the price books promise customers, in Japanese, ready to send (RULES 2.9), and the
open incidents in the order they are served.

- ``units_used``: after every paid-support response, the units it used and what is left per
  pack with its expiry (000_0e7793dec93ec3cc.txt:99 サポート対応の都度、消化インシデント数をご連絡);
- ``limit_reached``: an incident's fee reached its limit, the customer chooses to stop or to
  continue (004_de71e10344ea06c0.txt:177, 179) — for closed incidents and for open ones whose
  measures so far already reach it;
- ``pack_expiring``: units of a pack that expire within the price book's notice window
  (``expiry_notice_days``, 30), since unused units are lost (000_0e7793dec93ec3cc.txt:97).

Everything is computed by the billing engine itself (``bill_month`` as of a date, the pack
ledger, ``limit_outcome``), so a notice says what the invoice will say.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .billing import bill_month
from .billing.context import ContractMonth
from .billing.pricing import PENDING, limit_outcome
from .billing.run import incident_levels
from .billing.support_service import level_label, limit_label
from .billing.vendor import pack_ledger
from .codes import CHANNELS, LIMIT_DECISIONS
from .columns import RowChecks
from .dates import Month
from .errors import InputError, Problem
from .money import yen
from .pricebook import PriceBook
from .records import (
    Contract,
    ContractPositions,
    IncidentTable,
    Pack,
    contracts_from_records,
    incidents_from_records,
    packs_from_records,
)
from .service import response_due, service_order

NOTICE_KINDS = ("units_used", "limit_reached", "pack_expiring")
NOTICE_LABELS_JA = {"units_used": "ユニット消化のご連絡", "limit_reached": "料金リミット到達のお知らせ",
                    "pack_expiring": "ユニット有効期限のお知らせ"}
PENDING_DECISION = LIMIT_DECISIONS.codes.index("pending")
# The most notices one report holds: each is a letter of ~1 KB, and a month of 20 paid-support
# contracts of 50,000 responses each (a notice after every response) took 5 GB. The 1M-incident
# month of bench/ makes 145,212; a busier one is reported in parts (--date / --since).
MAX_NOTICES = 150_000


@dataclass(frozen=True)
class Notice:
    kind: str  # one of NOTICE_KINDS
    contract_id: str
    customer: str
    incident_id: str | None
    date: dt.date
    text: str
    key: str  # what makes it the same notice on a later run (kind, contract, incident or pack)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "contract_id": self.contract_id, "customer": self.customer,
                "incident_id": self.incident_id, "date": self.date.isoformat(), "text": self.text}


@dataclass(frozen=True)
class OpenIncident:
    incident_id: str
    contract_id: str
    plan: str
    channel: str
    opened: dt.date
    response_due: dt.date | None
    overdue: bool

    def to_dict(self) -> dict[str, Any]:
        return {"incident_id": self.incident_id, "contract_id": self.contract_id,
                "plan": self.plan, "channel": self.channel, "opened": self.opened.isoformat(),
                "response_due": self.response_due.isoformat() if self.response_due else None,
                "overdue": self.overdue}


@dataclass
class NoticeReport:
    month: Month
    as_of: dt.date
    notices: list[Notice] = field(default_factory=list)
    open_incidents: list[OpenIncident] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Exactly the keys scripts rely on: notices and open_incidents."""
        return {"notices": [n.to_dict() for n in self.notices],
                "open_incidents": [o.to_dict() for o in self.open_incidents]}


def notices_due(contracts: Iterable[Mapping[str, Any] | Contract],
                incidents: Iterable[Mapping[str, Any]] | IncidentTable, month: Month | str,
                packs: Iterable[Mapping[str, Any] | Pack] | None = None,
                pricebooks: Mapping[str, PriceBook] | None = None, as_of: dt.date | None = None,
                since: dt.date | None = None,
                on_billed: Callable[[], None] | None = None) -> NoticeReport:
    """The notices of ``month`` as of ``as_of`` (default: the month's last day) — what was
    known that day: incidents opened later are left out, incidents closed later are open.
    ``since``: only notices dated on or after it. Bad input raises InputError as billing does.
    ``on_billed`` is called once the month is billed, before its notices are made (the app
    hands the memory the billing freed back to the system there)."""
    month = Month.parse(month)
    as_of = as_of or month.last_day
    contract_list = contracts_from_records(contracts)
    table = _as_known_on(incidents_from_records(incidents), as_of)
    run = bill_month(contract_list, table, month, packs_from_records(packs), pricebooks)
    if on_billed is not None:
        on_billed()
    first = since or month.first_day
    report = NoticeReport(month, as_of)
    # A notice after every paid-support response: counted before any is written, as each
    # contract may bring 50,000 of them.
    responses: dict[int, set[int]] = {}  # by the context's position
    counted = 0
    for position, ctx in enumerate(run.every_context):
        if ctx.contract.plan == "vendor_support":
            responses[position] = _responses_to_report(ctx, first, as_of)
            counted += len(responses[position])
            if counted > MAX_NOTICES:
                raise InputError([_too_many_notices(ctx.contract, first, as_of)])
    for position, ctx in enumerate(run.every_context):
        c = ctx.contract
        if c.plan == "vendor_support":
            report.notices += _units_used(ctx, responses[position])
            report.notices += _packs_expiring(ctx, as_of, first)
        elif c.plan in ("annual", "monthly"):
            report.notices += _limits_reached(ctx, first, as_of)
        if len(report.notices) > MAX_NOTICES:
            raise InputError([_too_many_notices(c, first, as_of)])
    books = {ctx.contract.pricebook: ctx.book for ctx in run.every_context}
    report.notices += _open_limits_reached(contract_list, table, books, as_of, first,
                                           MAX_NOTICES - len(report.notices))
    report.notices.sort(key=lambda n: (n.date, n.contract_id, NOTICE_KINDS.index(n.kind),
                                       n.incident_id or ""))
    report.open_incidents = _open_incidents(contract_list, table, books, as_of)
    return report


def _as_known_on(t: IncidentTable, as_of: dt.date) -> IncidentTable:
    day = np.datetime64(as_of, "D")
    known = t.take(np.flatnonzero(np.isnat(t.opened) | (t.opened <= day)))
    known.closed = np.where(~np.isnat(known.closed) & (known.closed > day),
                            np.datetime64("NaT", "D"), known.closed)
    return known


def _greeting(c: Contract) -> str:
    return f"{c.customer} 様\n\nいつもお世話になっております。\n"


def _too_many_notices(c: Contract, first: dt.date, as_of: dt.date) -> Problem:
    return Problem(c.row, "contract_id", c.contract_id, (
        f"{first}〜{as_of} のお知らせが、この行の契約までで {MAX_NOTICES:,} 件を超えます。"
        "--date と --since で期間を区切り、何回かに分けて作ってください"), "Contracts")


def _responses_to_report(ctx: ContractMonth, first: dt.date, as_of: dt.date) -> set[int]:
    """The month's paid-support responses closed from ``first`` to ``as_of``: one notice each."""
    closes = ctx.incidents.closed.tolist()
    return {i for i in np.flatnonzero(ctx.in_month).tolist() if first <= closes[i] <= as_of}


def _units_used(ctx: ContractMonth, wanted: set[int]) -> list[Notice]:
    """A notice for each response at positions ``wanted`` (``_responses_to_report``)."""
    t = ctx.incidents
    closes = t.closed.tolist()
    if not wanted:
        return []
    ledger = pack_ledger(ctx, wanted)
    rules = ctx.book.require_vendor()
    out = []
    for i in sorted(wanted):
        incident_id, units, closed = str(t.incident_id[i]), int(ledger.units[i]), closes[i]
        left = ledger.left_after[i]
        lines = [f"{closed:%Y年%m月%d日}に対応いたしましたお問い合わせ (インシデント {incident_id}) で "
                 f"{units} ユニットを消化しました。"]
        if i in ledger.topped_up:
            lines.append(f"残りのユニットが不足したため、新しいパック ({rules.pack_units}ユニット) を"
                         "ご購入いただきました。")
        if left.total:
            lines.append("残りユニット:")
            lines += [f"  {bought:%Y/%m/%d} ご購入分 {count} ユニット (有効期限 {expires:%Y/%m/%d})"
                      for bought, expires, count in left.packs]
            if left.count > len(left.packs):
                lines.append(f"  ほか {left.count - len(left.packs):,} パック")
            lines.append(f"  合計 {left.total:,} ユニット")
        else:
            lines.append("残りユニットはありません。次回のご利用時に新しいパックのご購入が必要です。")
        out.append(Notice("units_used", ctx.contract.contract_id, ctx.contract.customer,
                          incident_id, closed, _greeting(ctx.contract) + "\n".join(lines),
                          f"units_used|{incident_id}"))
    return out


def _packs_expiring(ctx: ContractMonth, as_of: dt.date, first: dt.date) -> list[Notice]:
    rules = ctx.book.require_vendor()
    if not ctx.packs and not len(ctx.incidents):
        return []
    window = as_of + dt.timedelta(days=rules.expiry_notice_days)
    out = []
    for pack in pack_ledger(ctx).packs:
        if pack.left > 0 and as_of <= pack.expires <= window and pack.purchased <= as_of:
            text = (_greeting(ctx.contract)
                    + f"{pack.purchased:%Y/%m/%d} にご購入いただいたインシデントパックの残り "
                      f"{pack.left} ユニットは、{pack.expires:%Y年%m月%d日} に有効期限を迎えます。\n"
                      "有効期限を過ぎた未消化のユニットは繰り越しできませんので、お早めにご利用ください。")
            out.append(Notice("pack_expiring", ctx.contract.contract_id, ctx.contract.customer,
                              None, as_of, text, f"pack_expiring|{ctx.contract.contract_id}|"
                                                 f"{pack.purchased}|{pack.expires}"))
    return out if as_of >= first else []


def _limit_text(c: Contract, incident_id: str, level: int, full_fee: int, limit: str,
                description: str, closed: bool) -> str:
    what = f" ({description})" if description else ""
    state = "対応を終えた時点で" if closed else "現在の対応状況で"
    return (_greeting(c)
            + f"お問い合わせ (インシデント {incident_id}){what} の料金が、{state}ご指定の"
              f"インシデント料金リミット {limit} に達しました ({level_label(level)}、料金 "
              f"{yen(full_fee)})。\n"
              "つきましては、次のいずれかをお選びください。\n"
              f"  1. 中止: リミットの範囲でできる対応を終えて中止します (料金はリミットまで)。\n"
              f"  2. 継続: リミットを越えて対応を続けます (料金 {yen(full_fee)})。\n"
              "ご返信をいただくまで、料金はリミットで止めております。")


def _limits_reached(ctx: ContractMonth, first: dt.date, as_of: dt.date) -> list[Notice]:
    t, ch = ctx.incidents, ctx.charges
    closes = t.closed.tolist()
    out = []
    for i in np.flatnonzero(ch.in_month & (ch.limit_state == PENDING)).tolist():
        if not first <= closes[i] <= as_of or ch.rejected[i]:
            continue
        incident_id = str(t.incident_id[i])
        limit = limit_label(int(ch.limit[i]), int(ch.limit_level[i]))
        text = _limit_text(ctx.contract, incident_id, int(ch.level[i]), int(ch.full_fee[i]),
                           limit, str(t.description[i]), True)
        out.append(Notice("limit_reached", ctx.contract.contract_id, ctx.contract.customer,
                          incident_id, closes[i], text, f"limit_reached|{incident_id}"))
    return out


def _open_limits_reached(contracts: list[Contract], t: IncidentTable,
                         books: Mapping[str, PriceBook], as_of: dt.date, first: dt.date,
                         most: int) -> list[Notice]:
    """Open incidents whose measures so far already reach their limit (no decision yet): at
    most ``most`` notices, else InputError."""
    if as_of < first:
        return []
    owner = ContractPositions(contracts).of(t.contract_id)
    support = np.array([books.get(c.pricebook) is not None and books[c.pricebook].support
                        is not None and c.plan in ("annual", "monthly") for c in contracts]
                       or [False])[np.maximum(owner, 0)]
    rows = np.flatnonzero((owner >= 0) & support & np.isnat(t.closed)
                          & (t.limit_decision == PENDING_DECISION))
    if not len(rows):
        return []
    open_ones, owners = t.take(rows), owner[rows]
    level, _source = incident_levels(contracts, books, open_ones, owners,
                                     RowChecks((len(rows),), sheet="Incidents",
                                               row_numbers=open_ones.row))
    out = []
    for j, i in enumerate(owners.tolist()):
        c = contracts[i]
        rules = books[c.pricebook].require_support()
        own_yen, own_level = int(open_ones.fee_limit[j]), int(open_ones.limit_level[j])
        if own_yen >= 0 or own_level >= 0:
            limit_yen, limit_level = own_yen, own_level
        elif c.fee_limit is not None or c.fee_limit_level is not None:
            limit_yen = -1 if c.fee_limit is None else c.fee_limit
            limit_level = -1 if c.fee_limit_level is None else c.fee_limit_level
        else:
            limit_yen, limit_level = (-1 if rules.default_fee_cap is None
                                      else rules.default_fee_cap), -1
        fees = rules.incident_fees[c.plan]
        full_fee = int(fees[level[j]])
        state, _charged, _counted = limit_outcome(fees, level[j], full_fee, limit_yen,
                                                  limit_level, PENDING_DECISION)
        if int(state) != PENDING:
            continue
        incident_id = str(open_ones.incident_id[j])
        text = _limit_text(c, incident_id, int(level[j]), full_fee,
                           limit_label(limit_yen, limit_level),
                           str(open_ones.description[j]), False)
        out.append(Notice("limit_reached", c.contract_id, c.customer, incident_id, as_of, text,
                          f"limit_reached|{incident_id}"))
        if len(out) > most:
            raise InputError([_too_many_notices(c, first, as_of)])
    return out


def _open_incidents(contracts: list[Contract], t: IncidentTable,
                    books: Mapping[str, PriceBook], as_of: dt.date) -> list[OpenIncident]:
    owner = ContractPositions(contracts).of(t.contract_id)
    rows = np.flatnonzero((owner >= 0) & np.isnat(t.closed))
    open_ones = t.take(rows)
    due = response_due(open_ones, owner[rows], contracts, books)
    out = []
    for j, i in enumerate(owner[rows].tolist()):
        c = contracts[i]
        day = None if np.isnat(due[j]) else due[j].astype("datetime64[D]").item()
        answered = not np.isnat(open_ones.first_response[j])
        out.append(OpenIncident(
            str(open_ones.incident_id[j]), c.contract_id, c.plan,
            CHANNELS.codes[open_ones.measures.channel[j]],
            open_ones.opened[j].astype("datetime64[D]").item(), day,
            bool(day is not None and not answered and as_of > day)))
    out.sort(key=lambda o: service_order(o.plan, o.response_due, o.opened, o.incident_id))
    return out


