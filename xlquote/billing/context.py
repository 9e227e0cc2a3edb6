"""What a plan's biller gets: one contract, its incidents up to the month's end, and the month."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from ..calendar import Month, due_date, issue_date
from ..codes import CHANNEL_LABELS_JA, CHANNELS
from ..invoice import Invoice
from ..pricebook import PriceBook
from ..records import Contract, IncidentTable, Pack


@dataclass
class ContractMonth:
    contract: Contract
    book: PriceBook
    month: Month
    incidents: IncidentTable  # this contract's incidents closed by the month's end, by close date
    level: np.ndarray  # aligned with incidents
    level_source: np.ndarray
    packs: list[Pack]

    @property
    def in_month(self) -> np.ndarray:
        """Incidents closed in the billed month (the ones billed now)."""
        first = np.datetime64(self.month.first_day, "D")
        return self.incidents.closed >= first

    def new_invoice(self) -> Invoice:
        issued = issue_date(self.month)
        return Invoice(self.contract, self.month, self.book.name, issued,
                       due_date(issued, self.book.calendar))

    def active(self) -> bool:
        return self.contract.active_in(self.month.first_day, self.month.last_day)


def as_date(value: np.datetime64) -> dt.date:
    return value.astype("datetime64[D]").item()


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
