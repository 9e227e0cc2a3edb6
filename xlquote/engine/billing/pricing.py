"""Incident charges for a whole month at once (RULES 2.2, 2.4, 2.5, 2.6): fee by plan and level,
fee limits, absorption, personal-use checks and chart fees, and what counts against a monthly
maximum. One pass of numpy over every incident; invoices and the summary both read from it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..codes import CHANNELS, LIMIT_DECISIONS, PLANS, normalize_text
from ..pricebook import PriceBook
from ..records import Contract, IncidentTable
from .schedule import chart_fee, counts_against_maximum

NO_LIMIT = -1
# limit_state values
WITHIN, PENDING, STOPPED, CONTINUED = 0, 1, 2, 3
REPLY = CHANNELS.codes.index("reply")
STOP, CONTINUE = LIMIT_DECISIONS.codes.index("stop"), LIMIT_DECISIONS.codes.index("continue")


@dataclass
class IncidentCharges:
    """Per incident (aligned with the month's incident table)."""

    level: np.ndarray
    level_source: np.ndarray
    in_month: np.ndarray  # closed in the billed month
    full_fee: np.ndarray  # table fee for the plan and level
    limit: np.ndarray  # the yen limit that applied, NO_LIMIT when none (or a level limit)
    limit_level: np.ndarray  # the level limit that applied (0 = feather), NO_LIMIT when none
    limit_state: np.ndarray  # WITHIN / PENDING / STOPPED / CONTINUED
    limited_fee: np.ndarray  # the fee after its limit (before absorption or rejection)
    charged: np.ndarray  # the incident line's amount (0 when absorbed or rejected)
    absorbed: np.ndarray  # bool
    absorbed_fee: np.ndarray  # the service line's amount
    rejected: np.ndarray  # object: why a personal-use incident is refused, None when accepted
    chart: np.ndarray  # bool: a chart is made with this incident
    chart_fee: np.ndarray
    counts: np.ndarray  # int: incidents counted against a monthly maximum (incl. charts)
    reply_beyond: np.ndarray  # bool
    visits: np.ndarray  # int: on-site visits (出張) of an accepted incident billed this month
    onsite_fee: np.ndarray  # the visits' option fee (0 when the price book has no price)

    def slice(self, start: int, stop: int) -> IncidentCharges:
        return IncidentCharges(**{k: v[start:stop] for k, v in vars(self).items()})

    def amount(self) -> np.ndarray:
        """What each incident adds to its invoice this month (incident + service + chart)."""
        absorbed_fee = np.where(self.absorbed, self.absorbed_fee, 0)
        return np.where(self.in_month,
                        self.charged + absorbed_fee + self.chart_fee + self.onsite_fee, 0)


def book_positions(contracts: list[Contract], books: Mapping[str, PriceBook]) -> np.ndarray:
    """Each contract's price book as its position in ``books``: incidents compare small ints,
    not a million book names."""
    names = list(books)
    return np.array([names.index(c.pricebook) for c in contracts] or [-1], dtype=np.int64)


def _rejections(contracts: list[Contract], owner: np.ndarray, personal: np.ndarray,
                t: IncidentTable) -> dict[int, str]:
    """Why each refused personal-use incident is refused (RULES 2.6). ``t``: the incidents at
    positions ``personal``."""
    reasons = {}
    for i, member, approved_by in zip(personal.tolist(), t.member.tolist(),
                                      t.approved_by.tolist(), strict=True):
        c = contracts[owner[i]]
        if not member:
            reasons[i] = ("個人利用ですが利用者が空欄です。Incidents シートの member に"
                          "利用者の名前を記入してください")
        elif not c.member_allowed(member):
            reasons[i] = (f"利用者「{member}」はこの契約で個人利用できません (個人利用できる人: "
                          f"{c.allowed_members_text()})。Contracts シートの members_allowed を"
                          "ご確認ください")
        elif c.approver and normalize_text(approved_by) != normalize_text(c.approver):
            reasons[i] = (f"個人利用には「{c.approver}」の承認が必要です (approved_by: "
                          f"{approved_by or '空欄'})。承認を得たら Incidents シートの approved_by "
                          "に記入してください")
    return reasons


def _first_personal_use(contracts: list[Contract], owner: np.ndarray, personal: np.ndarray,
                        t: IncidentTable, rejected: dict[int, str], n: int) -> np.ndarray:
    """The incident of each member's first accepted personal use per contract (incidents are
    in close-date order within a contract). ``t``: the incidents at positions ``personal``."""
    first = np.zeros(n, dtype=bool)
    seen: set[tuple[int, str]] = set()
    for i, member in zip(personal.tolist(), t.member.tolist(), strict=True):
        if i in rejected or contracts[owner[i]].sole_proprietor_shared_env:
            continue
        key = (int(owner[i]), normalize_text(member))
        if key not in seen:
            seen.add(key)
            first[i] = True
    return first


def limit_outcome(fees: np.ndarray, level: Any, full_fee: Any, limit_yen: Any, limit_level: Any,
                  decision: Any) -> tuple[Any, Any, Any]:
    """What a fee limit does (RULES 2.4): (state, charged fee, level counted against a monthly
    maximum). A fee at or above a yen limit reaches it (上限額に達した時); an incident above a
    level limit reaches it, so a feather never does. A reached limit holds the fee at the limit
    (a level limit: that level's fee in ``fees``, the plan's table) — and the incident counts
    as that level — until the customer decides: stop keeps it there, continue charges in full."""
    level = np.asarray(level)
    by_yen = (np.asarray(limit_yen) > 0) & (np.asarray(full_fee) >= limit_yen)
    by_level = (np.asarray(limit_level) >= 0) & (level > limit_level)
    reached = by_yen | by_level
    state = np.where(reached, np.where(decision == CONTINUE, CONTINUED,
                                       np.where(decision == STOP, STOPPED, PENDING)), WITHIN)
    held = reached & (decision != CONTINUE)
    held_fee = np.where(by_level, fees[np.clip(limit_level, 0, len(fees) - 1)], limit_yen)
    return (state, np.where(held, held_fee, full_fee),
            np.where(held & by_level, limit_level, level))


def price_incidents(contracts: list[Contract], books: dict[str, PriceBook], owner: np.ndarray,
                    t: IncidentTable, level: np.ndarray, level_source: np.ndarray,
                    in_month: np.ndarray) -> IncidentCharges:
    """Charges of every incident; only support-service (price book B) incidents carry fees."""
    n = len(t)
    plan = np.array([PLANS.codes.index(c.plan) for c in contracts] or [0])[owner]
    zeros = np.zeros(n, dtype=np.int64)
    full_fee, chart_fees, counts, charged = zeros.copy(), zeros.copy(), zeros.copy(), zeros.copy()
    limit = np.full(n, NO_LIMIT, dtype=np.int64)
    limit_level = np.full(n, NO_LIMIT, dtype=np.int64)
    limit_state = np.full(n, WITHIN, dtype=np.int64)
    reply_beyond = np.zeros(n, dtype=bool)
    supported = np.zeros(n, dtype=bool)
    visits, onsite_fee = zeros.copy(), zeros.copy()
    # Only personal-use incidents are looked at by member: their rows alone are picked.
    personal = np.flatnonzero(t.personal)
    personal_use = t.take(personal)
    rejected = _rejections(contracts, owner, personal, personal_use)
    chart = _first_personal_use(contracts, owner, personal, personal_use, rejected, n) & in_month

    contract_limit = np.array([NO_LIMIT if c.fee_limit is None else c.fee_limit
                               for c in contracts] or [NO_LIMIT], dtype=np.int64)[owner]
    contract_level = np.array([NO_LIMIT if c.fee_limit_level is None else c.fee_limit_level
                               for c in contracts] or [NO_LIMIT], dtype=np.int64)[owner]
    pay_chart = np.array([c.karte_payment == "pay" for c in contracts] or [False])[owner]
    book_of = book_positions(contracts, books)[owner]
    for position, book in enumerate(books.values()):
        rules = book.support
        if rules is None:
            continue
        for plan_code in ("annual", "monthly"):
            rows = (book_of == position) & (plan == PLANS.codes.index(plan_code))
            if not rows.any():
                continue
            supported |= rows
            fees = rules.incident_fees[plan_code]
            full_fee[rows] = fees[level[rows]]
            # The incident's own limit, else the contract's, else the price book's default cap.
            own = (t.fee_limit[rows] >= 0) | (t.limit_level[rows] >= 0)
            by_contract = (contract_limit[rows] >= 0) | (contract_level[rows] >= 0)
            default_cap = NO_LIMIT if rules.default_fee_cap is None else rules.default_fee_cap
            limit[rows] = np.where(own, t.fee_limit[rows],
                                   np.where(by_contract, contract_limit[rows], default_cap))
            limit_level[rows] = np.where(own, t.limit_level[rows],
                                         np.where(by_contract, contract_level[rows], NO_LIMIT))
            state, charged[rows], counted_level = limit_outcome(
                fees, level[rows], full_fee[rows], limit[rows], limit_level[rows],
                t.limit_decision[rows])
            limit_state[rows] = state
            reply_beyond[rows] = ((t.measure("channel")[rows] == REPLY)
                                  & (level[rows] > rules.reply_max_level[plan_code]))
            fee, consumes = chart_fee(rules, plan_code, pay_chart[rows])
            chart_fees[rows] = np.where(chart[rows], fee, 0)
            counts[rows] = (counts_against_maximum(rules, counted_level).astype(np.int64)
                            + (chart[rows] & consumes).astype(np.int64))
            # 出張 is an option billed on its own (別料金): per visit, when the book has a price.
            implied = np.array([rule.implied_onsite_visits for rule in rules.rules])[
                rules.rule_of_channel[t.measure("channel")[rows]]]
            visits[rows] = np.maximum(t.measure("onsite_visits")[rows], implied)
            onsite_fee[rows] = visits[rows] * (rules.onsite_fee or 0)

    absorbed = (t.absorbed_into != "") & supported
    rejection = np.full(n, None, dtype=object)
    for i, reason in rejected.items():
        rejection[i] = reason
    rejected_mask = rejection != None  # noqa: E711 - elementwise on an object array
    limited_fee = charged
    charged = np.where(absorbed | rejected_mask, 0, charged)
    counts = np.where(rejected_mask | ~in_month, 0, counts)
    chart_fees = np.where(in_month, chart_fees, 0)
    return IncidentCharges(
        level=level, level_source=level_source, in_month=in_month, full_fee=full_fee,
        limit=limit, limit_level=limit_level, limit_state=limit_state, limited_fee=limited_fee,
        charged=charged.astype(np.int64),
        absorbed=absorbed, absorbed_fee=np.where(absorbed & ~rejected_mask, t.absorbed_fee, 0),
        rejected=rejection, chart=chart, chart_fee=chart_fees, counts=counts,
        reply_beyond=reply_beyond & ~rejected_mask,
        visits=np.where(in_month & ~rejected_mask, visits, 0),
        onsite_fee=np.where(in_month & ~rejected_mask, onsite_fee, 0),
    )


def flag_codes_by_incident(ch: IncidentCharges, urgent: np.ndarray) -> dict[str, np.ndarray]:
    """Which incident-level flags each incident raises; invoices list them per incident and the
    run summary per contract, from this one definition."""
    accepted = ch.in_month & (ch.rejected == None)  # noqa: E711 - elementwise on objects
    return {
        "rejected": ch.in_month & ~accepted,
        "urgent": accepted & urgent,
        "reply_beyond_limit": accepted & ch.reply_beyond,
        "limit_pending": accepted & (ch.limit_state == PENDING),
        "limit_applied": accepted & (ch.limit_state == STOPPED),
        "onsite_quote": accepted & (ch.visits > 0) & (ch.onsite_fee == 0),
    }
