"""What a month's billing produces: an invoice with lines, taxes, dates, flags, and the incident
statement (and pack balances for price book A). Built by ``xlquote.engine.billing``; written to
workbooks and PDFs by ``xlquote.writers``."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from .dates import Month
from .money import tax_by_rate
from .pricebook import TaxRule
from .records import Contract

# Flag codes shown on invoices and in the run summary.
FLAG_LABELS_JA = {
    "limit_pending": "料金リミット到達 — ご判断待ち",
    "limit_applied": "料金リミット適用",
    "reply_beyond_limit": "リプライでの対応範囲超過",
    "urgent": "お急ぎ対応",
    "over_monthly_max": "月の最大インシデント数超過",
    "rejected": "請求対象外 (個人利用の要件不足)",
    "units_topped_up": "ユニット不足 — パック自動追加",
    "units_short": "ユニット不足",
    "term_minimum": "最低契約期間に満たない契約",
    "term_unit": "契約単位に合わない契約期間",
    "onsite_quote": "出張 — 料金のお見積りが必要",
}


def invoice_number(month: Month, contract_id: str) -> str:
    """The default 請求番号: billing month and contract, stable across reruns."""
    return f"{month.year:04d}{month.month:02d}-{contract_id}"


# The most incidents one invoice's statement (明細) lists: about 1,100 pages of PDF. Drawing a
# statement costs time and memory by its rows (150,000 rows, from a 4 MB workbook: 19 s and
# 1 GB), so a month with more for one contract is refused before anything is written.
MAX_STATEMENT_ENTRIES = 50_000
# The most lines one invoice bills (fees, packs bought, units short): each incident that runs
# past the packs adds a line (a top-up, with its pack's balance, or the units short) and its
# flag, and 50,000 of them on each of ten contracts took 92 s and 1.5 GB to draw. No invoice of
# a real month comes near.
MAX_INVOICE_LINES = 1_000


# Lines and statement entries are not frozen: the 1M-row month makes over a million of them,
# and a frozen dataclass takes about five times as long to make. Nothing changes one after its
# biller made it.
@dataclass(slots=True)
class Line:
    """One fee on the invoice, with the working that produced it."""

    kind: str  # annual_base_fee | monthly_fee | overage | incident | absorbed_service | chart |
    #            vendor_annual_fee | pack | pack_topup | unit_shortfall | callcenter_initial |
    #            callcenter_monthly | onsite
    description: str
    quantity: int
    unit_price: int
    amount: int
    incident_id: str = ""
    tax_rate: int | None = None  # None: the price book's standard rate, set by Invoice.close
    working: str = ""


@dataclass(frozen=True)
class Flag:
    code: str  # a key of FLAG_LABELS_JA
    message: str
    incident_id: str = ""

    @property
    def label_ja(self) -> str:
        return FLAG_LABELS_JA.get(self.code, self.code)


@dataclass(slots=True)
class StatementEntry:
    """One incident of the month in the statement (明細)."""

    incident_id: str
    opened: dt.date
    closed: dt.date
    channel: str
    measures: str
    level: int
    level_source: str
    fee: int  # charged
    full_fee: int  # before limit or absorption
    units: int = 0  # price book A
    billed: bool = True
    flags: tuple[str, ...] = ()
    description: str = ""
    note: str = ""


@dataclass(frozen=True)
class PackBalance:
    """Units of one pack (price book A) as of the billed month."""

    purchased: dt.date
    expires: dt.date
    units: int
    used_before: int
    used_this_month: int
    auto_topup: bool = False

    @property
    def left(self) -> int:
        return self.units - self.used_before - self.used_this_month


@dataclass(frozen=True)
class TaxSummary:
    rate_percent: int
    taxable: int
    tax: int


# What kind of document an Invoice is drawn as. Only "invoice" and "correction" are numbered
# qualified invoices (適格請求書); a draft (下書き) waits for a decision and carries no number; a
# statement (明細) reports a month with nothing to pay.
INVOICE, CORRECTION, DRAFT, STATEMENT = "invoice", "correction", "draft", "statement"
DOCUMENT_KINDS = (INVOICE, CORRECTION, DRAFT, STATEMENT)


@dataclass(frozen=True)
class Correction:
    """This invoice corrects an issued one (修正インボイス): what the original said."""

    original_number: str
    original_subtotal: int
    original_tax: int
    original_total: int
    original_issue_date: dt.date | None = None


@dataclass(frozen=True)
class Cancellation:
    """An issued invoice cancelled because it should not have been issued (取消): the number
    stays taken; the cancelling document refers to the original by number and date."""

    number: str  # the cancelled invoice's number
    contract: Contract
    month: Month
    original_issue_date: dt.date
    original_subtotal: int
    original_tax: int
    original_total: int
    cancelled_on: dt.date
    reason: str
    corrects: str | None = None  # a correction cancelled: the invoice it corrected (void too)


@dataclass
class Invoice:
    contract: Contract
    month: Month
    pricebook: str
    issue_date: dt.date
    due_date: dt.date
    lines: list[Line] = field(default_factory=list)
    statement: list[StatementEntry] = field(default_factory=list)
    packs: list[PackBalance] = field(default_factory=list)
    flags: list[Flag] = field(default_factory=list)
    taxes: list[TaxSummary] = field(default_factory=list)
    number: str = ""
    correction: Correction | None = None
    kind: str = INVOICE  # one of DOCUMENT_KINDS

    def __post_init__(self) -> None:
        if not self.number:
            self.number = invoice_number(self.month, self.contract.contract_id)

    def close(self, tax: TaxRule) -> Invoice:
        """Give a line made without a rate the price book's standard rate (the billers give
        theirs as they make them), then compute the tax once per rate from that rate's
        subtotal (適格請求書: 税率ごとに1回の端数処理)."""
        self.lines = [line if line.tax_rate is not None else replace(line, tax_rate=tax.rate_percent)
                      for line in self.lines]
        self.taxes = [TaxSummary(*by_rate) for by_rate in tax_by_rate(
            ((int(line.tax_rate or 0), line.amount) for line in self.lines), tax.rounding)]
        return self

    @property
    def subtotal(self) -> int:
        return sum(line.amount for line in self.lines)

    @property
    def tax(self) -> int:
        return sum(t.tax for t in self.taxes)

    @property
    def total(self) -> int:
        return self.subtotal + self.tax

    @property
    def is_empty(self) -> bool:
        """Nothing happened this month: no fee and no incident or pack to report."""
        return not self.lines and not self.statement

    def flag_codes(self) -> list[str]:
        return sorted({f.code for f in self.flags})

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON output."""
        return {
            "number": self.number,
            "contract_id": self.contract.contract_id,
            "customer": self.contract.customer,
            "pricebook": self.pricebook,
            "plan": self.contract.plan,
            "month": str(self.month),
            "issue_date": self.issue_date.isoformat(),
            "due_date": self.due_date.isoformat(),
            "lines": [asdict(line) for line in self.lines],
            "subtotal": self.subtotal,
            "taxes": [asdict(t) for t in self.taxes],
            "tax": self.tax,
            "total": self.total,
            "flags": [asdict(f) for f in self.flags],
            "correction": asdict(self.correction) if self.correction else None,
            "statement": [
                {**asdict(s), "opened": s.opened.isoformat(), "closed": s.closed.isoformat()}
                for s in self.statement
            ],
            "packs": [
                {**asdict(p), "purchased": p.purchased.isoformat(),
                 "expires": p.expires.isoformat(), "left": p.left}
                for p in self.packs
            ],
        }
