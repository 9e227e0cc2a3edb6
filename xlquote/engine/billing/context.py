"""What a plan's biller gets: one contract, its incidents up to the month's end (in close-date
order) with their precomputed charges, and the month."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from ..codes import CHANNEL_LABELS_JA, CHANNELS
from ..dates import Month, add_months, due_date, issue_date
from ..invoice import Flag, Invoice, Line, PackBalance
from ..pricebook import PriceBook
from ..records import Contract, IncidentTable, Pack
from ..terms import contract_months, month_index, starts_contract_month
from .pricing import IncidentCharges


@dataclass
class ContractMonth:
    """One contract's month. Its incidents are rows ``span`` of the run's incident table (and
    of the charges aligned with it), sliced only when a biller asks: most contracts' summaries
    need no incident at all."""

    contract: Contract
    book: PriceBook
    month: Month
    all_incidents: IncidentTable
    all_charges: IncidentCharges
    span: tuple[int, int]
    packs: list[Pack]
    memo: dict[str, object] = field(default_factory=dict)  # work shared by a biller's two steps

    @cached_property
    def incidents(self) -> IncidentTable:
        return self.all_incidents.slice(*self.span)

    @cached_property
    def charges(self) -> IncidentCharges:
        return self.all_charges.slice(*self.span)

    def counted_incidents(self) -> int:
        """Incidents counted against the plan (feathers excluded), without slicing a table."""
        start, stop = self.span
        return int(self.all_charges.counts[start:stop].sum())

    @property
    def in_month(self) -> np.ndarray:
        """Incidents closed in the billed month (the ones billed now)."""
        return self.charges.in_month

    def new_invoice(self) -> Invoice:
        issued = issue_date(self.month, self.book.calendar)
        return Invoice(self.contract, self.month, self.book.name, issued,
                       due_date(issued, self.book.calendar))

    def active(self) -> bool:
        """The contract covers at least one day of the month."""
        return self.contract.active_in(self.month.first_day, self.month.last_day)

    @cached_property
    def month_index(self) -> int:
        """The contract month that starts in this calendar month (RULES 2.7)."""
        return month_index(self.contract.start_date, self.month)

    @cached_property
    def month_count(self) -> int:
        """How many contract months the contract bills (terms.OPEN_ENDED when open)."""
        return contract_months(self.contract.start_date, self.contract.end_date)

    def starts_contract_month(self) -> bool:
        return bool(starts_contract_month(self.month_index, self.month_count))

    def period_text(self, months: int) -> str:
        """The ``months`` months from this contract month, cut at the contract's end: months
        when they run from the 1st (2026/10〜2027/09), else days (2026/04/15〜2027/04/14)."""
        start, index = self.contract.start_date, self.month_index
        first = add_months(start, index)
        last = add_months(start, index + months) - dt.timedelta(days=1)
        if self.contract.end_date is not None:
            last = min(last, self.contract.end_date)
        if first.day == 1 and last == Month(last.year, last.month).last_day:
            if (first.year, first.month) == (last.year, last.month):
                return f"{first:%Y/%m}"
            return f"{first:%Y/%m}〜{last:%Y/%m}"
        return f"{first:%Y/%m/%d}〜{last:%Y/%m/%d}"


@dataclass
class ContractPart:
    """The contract-level part of an invoice: fees not tied to one incident line (base fees,
    overage, packs), their flags, and pack balances. Cheap to compute for every contract, so
    the run summary is exact without building every incident line."""

    lines: list[Line] = field(default_factory=list)
    flags: list[Flag] = field(default_factory=list)
    packs: list[PackBalance] = field(default_factory=list)


def channel_label(position: int) -> str:
    return CHANNEL_LABELS_JA[CHANNELS.codes[position]]


def measures_text(t: IncidentTable, i: int) -> str:
    """The incident's measures as the statement shows them."""
    m = t.measures
    parts = []
    if m.round_trips[i]:
        parts.append(f"{m.round_trips[i]}往復")
    if m.minutes[i]:
        minutes = m.minutes[i]
        parts.append(f"{minutes:g}分" + (f"/{m.sessions[i]}回" if m.sessions[i] > 1 else ""))
    if m.onsite_visits[i]:
        parts.append(f"出張{m.onsite_visits[i]}回")
    if m.days_open[i]:
        parts.append(f"{m.days_open[i]}日")
    if m.investigation[i]:
        parts.append("調査")
    if m.consulting[i]:
        parts.append(("", "特定コンサル", "総合コンサル")[m.consulting[i]])
    return " ".join(parts) or "-"
