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
from ..levels import IncidentMeasures
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

    @cached_property
    def billed(self) -> np.ndarray:
        """Positions in ``incidents`` of the incidents closed in the month. A biller reads
        each column it needs at these positions once, as a list (``column[ctx.billed]
        .tolist()``): one numpy call per column, not one per incident and column."""
        return np.flatnonzero(self.charges.in_month)

    def line(self, kind: str, description: str, quantity: int, unit_price: int, amount: int,
             incident_id: str = "", working: str = "") -> Line:
        """A line of this contract's invoice, at the price book's standard tax rate."""
        return Line(kind, description, quantity, unit_price, amount, incident_id,
                    self.book.tax.rate_percent, working)

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


CHANNEL_LABELS = tuple(CHANNEL_LABELS_JA[code] for code in CHANNELS.codes)  # by position


def channel_label(position: int) -> str:
    return CHANNEL_LABELS[position]


def channel_labels(channel: np.ndarray) -> list[str]:
    return [CHANNEL_LABELS[position] for position in channel.tolist()]


# The measures a statement row shows, in the order ``measures_text`` takes them.
STATEMENT_MEASURES = ("round_trips", "minutes", "sessions", "onsite_visits", "days_open",
                      "investigation", "consulting")
CONSULTING_TEXT = ("", "特定コンサル", "総合コンサル")


def measures_texts(measures: IncidentMeasures, rows: np.ndarray) -> list[str]:
    """The measures of incidents ``rows`` as the statement shows them."""
    return list(map(measures_text, *(getattr(measures, name)[rows].tolist()
                                     for name in STATEMENT_MEASURES)))


def measures_text(round_trips: int, minutes: float, sessions: int, onsite_visits: int,
                  days_open: int, investigation: bool, consulting: int) -> str:
    """One incident's measures as its statement row shows them: 3往復 20分/2回 出張1回 …"""
    parts = []
    if round_trips:
        parts.append(f"{round_trips}往復")
    if minutes:
        parts.append(f"{minutes:g}分" + (f"/{sessions}回" if sessions > 1 else ""))
    if onsite_visits:
        parts.append(f"出張{onsite_visits}回")
    if days_open:
        parts.append(f"{days_open}日")
    if investigation:
        parts.append("調査")
    if consulting:
        parts.append(CONSULTING_TEXT[consulting])
    return " ".join(parts) or "-"
