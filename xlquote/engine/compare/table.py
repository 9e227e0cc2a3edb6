"""The comparison table: every plan that can serve the customer, cheapest first."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from ..codes import PLAN_LABELS_JA, SUPPORT_RANGES
from ..messages import LICENCES_REQUIRED, callcenter_licences
from ..pricebook import PriceBook

SUPPORT_SERVICE_PLANS = ("annual", "monthly")


@dataclass(frozen=True)
class PlanOption:
    """One plan to price: ``support_range`` only for annual/monthly, ``max_incidents`` only for
    monthly."""

    plan: str
    support_range: str = ""
    max_incidents: int | None = None

    def label(self, range_names_ja: tuple[str, ...], licences: int = 0) -> str:
        """Japanese label as the sheet and the terminal show it (range names from the book)."""
        plan_ja = PLAN_LABELS_JA[self.plan]
        if self.plan in SUPPORT_SERVICE_PLANS:
            range_ja = range_names_ja[SUPPORT_RANGES.codes.index(self.support_range)]
            tier = f" 月{self.max_incidents}件まで" if self.plan == "monthly" else ""
            return f"{plan_ja} {range_ja}{tier}"
        return f"{plan_ja} ({licences:,}ライセンス)"


def candidate_plans(books: dict[str, PriceBook], ranges: tuple[str, ...] = SUPPORT_RANGES.codes,
                    licences: int = 0) -> tuple[list[PlanOption], list[dict[str, str]]]:
    """Every plan that can serve the customer, and the ones that cannot with the reason:
    annual per range, monthly per range × offered tier, paid support and call centre
    (price book A) when licences allow."""
    options: list[PlanOption] = []
    excluded: list[dict[str, str]] = []
    for code in ranges:
        options.append(PlanOption("annual", code))
    rules = books["monthly"].require_support()
    for code in ranges:
        for tier in range(1, int(rules.monthly_max_incidents[SUPPORT_RANGES.codes.index(code)]) + 1):
            options.append(PlanOption("monthly", code, tier))
    top = int(books["callcenter"].require_vendor().callcenter_upper_bounds[-1])
    for plan in ("vendor_support", "callcenter"):
        if licences < 1:
            excluded.append({"plan": plan, "reason": LICENCES_REQUIRED})
        elif plan == "callcenter" and licences > top:
            excluded.append({"plan": plan, "reason": callcenter_licences(top)})
        else:
            options.append(PlanOption(plan))
    return options, excluded


@dataclass
class PlanResult:
    option: PlanOption
    label: str
    term_months: int  # months paid for (the horizon rounded up to the contract unit / min term)
    cost: int  # tax-exclusive yen over the horizon
    cost_with_tax: int
    fixed: int  # base / annual / call-centre fees
    usage: int  # incident fees, overage, charts, packs
    rank: int = 0
    over_cheapest: int = 0
    to_next: int | None = None  # how much more the next plan in the table costs

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.update(out.pop("option"))
        return out


@dataclass
class BreakEven:
    """Where the cheapest monthly plan of a range stops costing more than the annual plan, as
    total incidents per month at the profile's level mix (see ``break_even``)."""

    support_range: str
    at: float | None  # smallest usage where monthly ≤ annual; None: not within the search
    annual_cheaper_below: float | None  # the grid point before ``at`` (annual strictly cheaper)
    monthly_max_incidents: int | None  # the cheapest monthly tier at ``at``
    annual_cost: int | None
    monthly_cost: int | None
    crossings: list[float] = field(default_factory=list)  # every usage where the winner flips
    searched_up_to: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self) -> str:
        support_range = SUPPORT_RANGES.japanese(self.support_range)
        if self.at is None:
            return (f"{support_range}: 月 {self.searched_up_to:g} 件まで、年額契約のほうが"
                    "安いままです")
        if self.annual_cheaper_below is None:
            return f"{support_range}: 件数が 0 でも、月額契約が年額契約と同じか安くなります"
        flips = ""
        if len(self.crossings) > 1:
            flips = "。安い側が入れ替わる件数: " + ", ".join(f"{x:.2f}" for x in self.crossings)
        return (f"{support_range}: 月 {self.at:.2f} 件から、月額契約 (月{self.monthly_max_incidents}"
                f"件まで) が年額契約以下になります (月 {self.annual_cheaper_below:.2f} 件では"
                f"年額契約が安い){flips}")


@dataclass
class Comparison:
    source: str  # "profile" | "replay"
    months: int
    licences: int
    rows: list[PlanResult]
    excluded: list[dict[str, str]] = field(default_factory=list)
    break_even: list[BreakEven] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def cheapest(self) -> PlanResult:
        return self.rows[0]

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "months": self.months, "licences": self.licences,
                "plans": [r.to_dict() for r in self.rows], "excluded": self.excluded,
                "break_even": [b.to_dict() for b in self.break_even], "notes": self.notes}


def ranked(results: list[PlanResult]) -> list[PlanResult]:
    """Cheapest first (ties keep the candidate order), with the differences filled in."""
    rows = sorted(results, key=lambda r: r.cost)
    for i, row in enumerate(rows):
        row.rank = i + 1
        row.over_cheapest = row.cost - rows[0].cost
        row.to_next = rows[i + 1].cost - row.cost if i + 1 < len(rows) else None
    return rows
