"""Response targets and service order (RULES 2.8): when the first reply to an incident is due,
whether it was met, and which open incidents come first.

A channel's target (price-book data, ``[response_targets]``) is a number of business days after
the day the incident was received (``opened``): e-mail 2, a phone call-back 2 unless a time was
agreed (``response_agreed`` then is the due date), Twitter reply and DM 2, Skype chat 3
(004_de71e10344ea06c0.txt:101, 105, 111, 119). Business days skip weekends, Japanese public
holidays and the company's closed days (Settings 休業日). Monthly contracts are served before
annual ones (004_de71e10344ea06c0.txt:149).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .codes import CHANNELS
from .dates import Month, business_days_after
from .pricebook import PriceBook
from .records import Contract, ContractPositions, IncidentTable

NAT = np.datetime64("NaT", "D")
PHONE = CHANNELS.codes.index("phone")


def response_due(t: IncidentTable, owner: np.ndarray, contracts: Sequence[Contract],
                 books: Mapping[str, PriceBook]) -> np.ndarray:
    """datetime64[D] per incident: the day its first reply is due (NaT: no target). Whole
    columns: each distinct (day received, target, price book) is counted out once."""
    names = list(books)
    targets = np.array([[books[name].response_targets.get(channel, -1)
                         for channel in CHANNELS.codes] for name in names] or [[-1]],
                       dtype=np.int64)  # [book, channel] → business days, -1: none
    book_of = np.array([names.index(c.pricebook) for c in contracts] or [0],
                       dtype=np.int64)[np.maximum(owner, 0)]
    days = np.where(owner >= 0, targets[book_of, t.measure("channel")], -1)
    due = np.full(len(t), NAT, dtype="datetime64[D]")
    counted = (days >= 0) & ~np.isnat(t.opened)
    if counted.any():
        opened = t.opened[counted].astype("datetime64[D]").astype(np.int64)
        # one int64 key per (day, target, book): a 1-D unique is far quicker than rows'
        keys = (opened * 1024 + days[counted]) * 64 + book_of[counted]
        distinct, inverse = np.unique(keys, return_inverse=True)
        epoch = dt.date(1970, 1, 1)
        found = np.array([np.datetime64(business_days_after(
            epoch + dt.timedelta(days=key // 65536), key // 64 % 1024,
            books[names[key % 64]].calendar.closed_days), "D")
            for key in distinct.tolist()], dtype="datetime64[D]")
        due[counted] = found[inverse.ravel()]
    agreed = (t.measure("channel") == PHONE) & ~np.isnat(t.response_agreed) & (owner >= 0)
    due[agreed] = t.response_agreed[agreed]
    return due


@dataclass(frozen=True)
class ResponseRow:
    """One contract's first replies to the incidents received in a month (対応状況)."""

    contract: Contract
    received: int  # incidents opened in the month
    with_target: int
    met: int  # first reply on or before its due date
    missed: int  # first reply after it
    not_recorded: int  # no first reply recorded
    overdue: int  # still open at the month's end, no first reply, and past its due date


def response_report(contracts: Sequence[Contract], t: IncidentTable,
                    books: Mapping[str, PriceBook], month: Month) -> list[ResponseRow]:
    """Per contract with incidents received in ``month``: targets met and missed."""
    owner = ContractPositions(contracts).of(t.contract_id)
    first, last = np.datetime64(month.first_day, "D"), np.datetime64(month.last_day, "D")
    rows = np.flatnonzero((owner >= 0) & (t.opened >= first) & (t.opened <= last))
    mine = t.take(rows)
    due = response_due(mine, owner[rows], contracts, books)
    answered = mine.first_response
    has_target = ~np.isnat(due)
    met = has_target & ~np.isnat(answered) & (answered <= due)
    missed = has_target & ~np.isnat(answered) & (answered > due)
    waiting = has_target & np.isnat(answered)
    still_open = np.isnat(mine.closed) | (mine.closed > last)
    overdue = waiting & still_open & (due < last)
    owners = owner[rows]
    size = len(contracts)
    counts = [np.bincount(owners, weights=mask, minlength=size).astype(np.int64).tolist()
              for mask in (np.ones(len(rows)), has_target, met, missed, waiting, overdue)]
    return [ResponseRow(contracts[i], *(column[i] for column in counts))
            for i in np.flatnonzero(counts[0]).tolist()]


def service_order(plan: str, due: dt.date | None, opened: dt.date, incident_id: str
                  ) -> tuple[int, dt.date, dt.date, str]:
    """Sort key of open work: monthly contracts first, then by due date (none last)."""
    return (0 if plan == "monthly" else 1, due or dt.date.max, opened, incident_id)
