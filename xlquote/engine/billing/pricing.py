"""Incident charges for a whole month at once (RULES 2.2, 2.4, 2.5, 2.6): fee by plan and level,
fee limits, absorption, personal-use checks and chart fees, and what counts against a monthly
maximum. One pass of numpy over every incident; invoices and the summary both read from it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ..codes import CHANNELS, LIMIT_DECISIONS, PLANS, normalize_text
from ..pricebook import PriceBook
from ..records import Contract, IncidentTable

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
    limit: np.ndarray  # the limit that applied, NO_LIMIT when none
    limit_state: np.ndarray  # WITHIN / PENDING / STOPPED / CONTINUED
    charged: np.ndarray  # the incident line's amount (0 when absorbed or rejected)
    absorbed: np.ndarray  # bool
    absorbed_fee: np.ndarray  # the service line's amount
    rejected: np.ndarray  # object: why a personal-use incident is refused, None when accepted
    chart: np.ndarray  # bool: a chart is made with this incident
    chart_fee: np.ndarray
    counts: np.ndarray  # int: incidents counted against a monthly maximum (incl. charts)
    reply_beyond: np.ndarray  # bool

    def slice(self, start: int, stop: int) -> IncidentCharges:
        return IncidentCharges(**{k: v[start:stop] for k, v in vars(self).items()})

    def amount(self) -> np.ndarray:
        """What each incident adds to its invoice this month (incident + service + chart)."""
        absorbed_fee = np.where(self.absorbed, self.absorbed_fee, 0)
        return np.where(self.in_month, self.charged + absorbed_fee + self.chart_fee, 0)


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
            reasons[i] = "personal use needs the member's name"
        elif not c.member_allowed(member):
            allowed = ", ".join(c.members_allowed or ()) or "nobody"
            reasons[i] = (f"member {member!r} may not use this contract personally "
                          f"(allowed: {allowed})")
        elif c.approver and normalize_text(approved_by) != normalize_text(c.approver):
            reasons[i] = f"personal use needs approval by {c.approver!r}"
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


def price_incidents(contracts: list[Contract], books: dict[str, PriceBook], owner: np.ndarray,
                    t: IncidentTable, level: np.ndarray, level_source: np.ndarray,
                    in_month: np.ndarray) -> IncidentCharges:
    """Charges of every incident; only support-service (price book B) incidents carry fees."""
    n = len(t)
    plan = np.array([PLANS.codes.index(c.plan) for c in contracts] or [0])[owner]
    zeros = np.zeros(n, dtype=np.int64)
    full_fee, chart_fee, counts = zeros.copy(), zeros.copy(), zeros.copy()
    limit = np.full(n, NO_LIMIT, dtype=np.int64)
    reply_beyond = np.zeros(n, dtype=bool)
    supported = np.zeros(n, dtype=bool)
    # Only personal-use incidents are looked at by member: their rows alone are picked.
    personal = np.flatnonzero(t.personal)
    personal_use = t.take(personal)
    rejected = _rejections(contracts, owner, personal, personal_use)
    chart = _first_personal_use(contracts, owner, personal, personal_use, rejected, n) & in_month

    contract_limit = np.array([NO_LIMIT if c.fee_limit is None else c.fee_limit
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
            default_cap = NO_LIMIT if rules.default_fee_cap is None else rules.default_fee_cap
            own = t.fee_limit[rows]
            limit[rows] = np.where(own >= 0, own,
                                   np.where(contract_limit[rows] >= 0, contract_limit[rows],
                                            default_cap))
            reply_beyond[rows] = ((t.measures.channel[rows] == REPLY)
                                  & (level[rows] > rules.reply_max_level[plan_code]))
            # Chart: a level-3 incident; monthly+consume counts one incident and costs the
            # monthly fee of that level, otherwise it costs the pay plan's fee and counts none.
            paying = np.full(rows.sum(), plan_code == "annual") | pay_chart[rows]
            fee_plan_fee = np.where(
                paying & (plan_code == "monthly"),
                rules.incident_fees[rules.chart_pay_fee_plan][rules.chart_level],
                fees[rules.chart_level])
            chart_fee[rows] = np.where(chart[rows], fee_plan_fee, 0)
            counted = (level[rows] >= 1) | rules.feather_counts
            counts[rows] = (counted.astype(np.int64)
                            + (chart[rows] & ~paying).astype(np.int64))

    over = (limit >= 0) & (full_fee > limit)
    decision = t.limit_decision
    limit_state = np.where(over, np.where(decision == CONTINUE, CONTINUED,
                                          np.where(decision == STOP, STOPPED, PENDING)), WITHIN)
    charged = np.where(over & (decision != CONTINUE), limit, full_fee)
    absorbed = (t.absorbed_into != "") & supported
    rejection = np.full(n, None, dtype=object)
    for i, reason in rejected.items():
        rejection[i] = reason
    rejected_mask = rejection != None  # noqa: E711 - elementwise on an object array
    charged = np.where(absorbed | rejected_mask, 0, charged)
    counts = np.where(rejected_mask | ~in_month, 0, counts)
    chart_fee = np.where(in_month, chart_fee, 0)
    return IncidentCharges(
        level=level, level_source=level_source, in_month=in_month, full_fee=full_fee,
        limit=limit, limit_state=limit_state, charged=charged.astype(np.int64),
        absorbed=absorbed, absorbed_fee=np.where(absorbed & ~rejected_mask, t.absorbed_fee, 0),
        rejected=rejection, chart=chart, chart_fee=chart_fee, counts=counts,
        reply_beyond=reply_beyond & ~rejected_mask,
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
    }
