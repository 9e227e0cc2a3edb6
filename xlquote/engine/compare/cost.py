"""Cost of a plan over a horizon, on whole columns of plans at once (the PLAN_COST computation).

Every fee is computed by the functions the monthly invoice is built from
(``xlquote.engine.billing.schedule``: fees per contract month; ``billing.vendor.draw_units``: pack
consumption; ``money.tax_by_rate``: tax); this module only lays the plan's contract months out
side by side. The model of a horizon of H months:

- the plan is a contract starting on a month's first day; its contract months 0..term-1 are the
  columns; usage happens in months 0..H-1 (``counts[..., month, level]``); all incidents of a
  month are taken to close on its first day (so a pack bought in month m serves months m..m+11);
- fixed fees are paid for the committed term: H rounded up to the plan's contract unit and at
  least its minimum term (``terms.rounded_term``: a monthly ``normal`` plan for 4 months still
  pays 12 monthly fees; mission critical 36 months; the annual base fee once per contract year);
- members' first personal uses (charts, カルテ) fall one per month from the first month
  (member j in month j mod H).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..billing.schedule import (
    annual_base_fee_due,
    callcenter_fees_due,
    chart_fee,
    counts_against_maximum,
    monthly_fee_due,
    shortfall_cost,
    vendor_annual_fee_due,
)
from ..billing.vendor import draw_units
from ..codes import KARTE_PAYMENT, PLANS, SUPPORT_RANGES, is_blank
from ..columns import ErrorMode, RowChecks, broadcast, to_codes, to_ints, to_numbers
from ..dates import add_months
from ..errors import InputError, Problem
from ..fees import check_max_incidents, units_for_minutes
from ..messages import LICENCES_REQUIRED, callcenter_licences
from ..money import tax_by_rate
from ..pricebook import LEVEL_COUNT, PriceBook, VendorRules, get_pricebook
from ..terms import rounded_term
from .profile import (
    DEFAULT_MINUTES_PER_INCIDENT,
    MAX_HORIZON_MONTHS,
    MAX_INCIDENTS_PER_MONTH,
    MAX_LICENCES,
    MAX_MEMBERS,
    horizon_reason,
    monthly_counts,
)

ANNUAL, MONTHLY, VENDOR, CALLCENTER = (PLANS.codes.index(p) for p in
                                       ("annual", "monthly", "vendor_support", "callcenter"))
# The first day of a plan's hypothetical contract: only the months' order matters (a pack
# bought in contract month m is valid through month m + 11).
PLAN_START = dt.date(2000, 1, 1)
# Plans (× usage profiles) × the months each is billed, in one call: each holds 11 levels of
# counts a month, ~300 bytes (10,000 plans over 120 months: ~350 MB; 50,000 took 1.7 GB).
MAX_PLAN_MONTHS = 1_200_000
PricebookArg = PriceBook | str | Iterable[PriceBook | str] | dict[str, PriceBook] | None


def resolve_books(pricebook: PricebookArg) -> dict[str, PriceBook]:
    """Plan code → price book: each plan uses the first given book that offers it, else the
    shipped default for that plan (aki_sie: annual/monthly, vendor_support: the rest)."""
    if isinstance(pricebook, dict):
        return pricebook
    given: list[PriceBook] = []
    if pricebook is not None:
        items = [pricebook] if isinstance(pricebook, PriceBook | str) else list(pricebook)
        given = [get_pricebook(item) for item in items]
    books = {}
    for plan in PLANS.codes:
        found = next((b for b in given if plan in b.plans), None)
        books[plan] = found or get_pricebook(
            None, default="aki_sie" if plan in ("annual", "monthly") else "vendor_support")
    return books


@dataclass(frozen=True)
class PlanCosts:
    """Per row: the month-by-month bill over the committed term and its totals (int64 yen)."""

    fixed: np.ndarray  # [..., month] base/annual/call-centre fees
    usage: np.ndarray  # [..., month] incident fees, overage, charts, packs
    term_months: np.ndarray  # [...]
    tax_rate: np.ndarray  # [...] percent
    tax_rounding: np.ndarray  # [...] object: rounding mode

    @property
    def monthly(self) -> np.ndarray:
        return self.fixed + self.usage

    @property
    def total(self) -> np.ndarray:
        return self.monthly.sum(axis=-1)

    def tax(self) -> np.ndarray:
        """Consumption tax as the invoices would charge it: rounded once per monthly invoice."""
        out = np.zeros(self.term_months.shape, dtype=np.int64)
        for index in np.ndindex(out.shape):
            rate, mode = int(self.tax_rate[index]), str(self.tax_rounding[index])
            out[index] = sum(tax for amount in self.monthly[index].tolist() if amount
                             for _rate, _taxable, tax in tax_by_rate([(rate, amount)], mode))
        return out


def committed_months(plan: np.ndarray, ranges: np.ndarray, horizon: np.ndarray,
                     books: dict[str, PriceBook]) -> np.ndarray:
    """Months paid for: the horizon rounded up to the contract unit, at least the minimum term."""
    units = np.ones(plan.shape, dtype=np.int64)
    minima = np.ones(plan.shape, dtype=np.int64)
    for code, name in enumerate(PLANS.codes):
        rows = plan == code
        if rows.any():
            terms = books[name].plan_terms(name)
            units[rows] = terms.contract_unit_months[ranges[rows]]
            minima[rows] = terms.minimum_term_months[ranges[rows]]
    return np.asarray(rounded_term(horizon, units, minima), dtype=np.int64)


def month_costs(plan: np.ndarray, ranges: np.ndarray, max_incidents: np.ndarray,
                counts: np.ndarray, horizon: np.ndarray, licences: np.ndarray,
                members: np.ndarray, karte_pay: np.ndarray, minutes: np.ndarray,
                books: dict[str, PriceBook], checks: RowChecks) -> PlanCosts:
    """The bill of every row month by month. Arrays broadcast to one shape S; ``counts`` is
    int64[S..., months ≥ horizon, 11]. Rows already flagged in ``checks`` cost 0."""
    shape = plan.shape
    term = committed_months(plan, ranges, horizon, books)
    width = int(term.max()) if term.size else 0
    if plan.size * width > MAX_PLAN_MONTHS:
        raise InputError([Problem(None, "plan", f"{plan.size:,} 件 × {width} か月", (
            f"一度に比べられるのは、プラン (× 利用見込み) の件数 × 月数で {MAX_PLAN_MONTHS:,} "
            "までです。範囲を小さくするか、いくつかに分けてください"))])
    index = np.arange(width)  # the contract month of each column
    in_term = index < term[..., None]
    in_horizon = index < horizon[..., None]
    used = np.zeros((*shape, width, LEVEL_COUNT), dtype=np.int64)
    used[..., : counts.shape[-2], :] = counts[..., :width, :]
    used *= in_horizon[..., None]
    # member j's first personal use falls in month j mod H
    charts = (members // horizon)[..., None] + (index < (members % horizon)[..., None])
    charts = np.where(in_horizon, charts, 0).astype(np.int64)

    fixed = np.zeros((*shape, width), dtype=np.int64)
    usage = np.zeros((*shape, width), dtype=np.int64)
    is_plan = {code: plan == code for code in (ANNUAL, MONTHLY, VENDOR, CALLCENTER)}

    rows = is_plan[ANNUAL]
    if rows.any():
        support = books["annual"].require_support()
        fee, _consumes = chart_fee(support, "annual", False)
        fixed[rows] = annual_base_fee_due(support, ranges[rows][:, None], index,
                                          term[rows][:, None])
        usage[rows] = used[rows] @ support.incident_fees["annual"] + charts[rows] * int(fee)

    rows = is_plan[MONTHLY]
    if rows.any():
        rules = books["monthly"].require_support()
        counting = counts_against_maximum(rules, np.arange(LEVEL_COUNT)).astype(np.int64)
        fee, consumes = chart_fee(rules, "monthly", karte_pay[rows][:, None])
        counted = used[rows] @ counting + charts[rows] * consumes
        r = np.broadcast_to(ranges[rows][:, None], counted.shape)
        offered = rules.monthly_max_incidents[ranges[rows]]
        limit = np.broadcast_to(np.clip(max_incidents[rows], 1, offered)[:, None], counted.shape)
        base, overage = monthly_fee_due(rules, r, limit, counted, index, term[rows][:, None],
                                        in_term[rows])
        fixed[rows] = base
        usage[rows] = overage + used[rows] @ rules.incident_fees["monthly"] + charts[rows] * fee

    rows = is_plan[VENDOR]
    if rows.any():
        vendor = books["vendor_support"].require_vendor()
        fixed[rows] = vendor_annual_fee_due(vendor, np.maximum(licences[rows], 1)[:, None],
                                            index, term[rows][:, None])
        units = used[rows] @ units_for_minutes(minutes, vendor)
        usage[rows] = _pack_purchases(units, vendor)

    rows = is_plan[CALLCENTER]
    if rows.any():
        vendor = books["callcenter"].require_vendor()
        bounded = np.clip(licences[rows], 1, int(vendor.callcenter_upper_bounds[-1]))
        _bound, initial, monthly = callcenter_fees_due(vendor, bounded[:, None], index,
                                                       term[rows][:, None])
        fixed[rows] = initial + monthly

    bad = checks.bad
    fixed[bad], usage[bad] = 0, 0
    plan_book = [books[p] for p in PLANS.codes]
    rates = np.array([b.tax.rate_percent for b in plan_book])[plan]
    rounding = np.array([b.tax.rounding for b in plan_book], dtype=object)[plan]
    return PlanCosts(fixed, usage, np.where(bad, 0, term), rates, rounding)


def _pack_purchases(units: np.ndarray, vendor: VendorRules) -> np.ndarray:
    """Yen spent on packs per month for units needed per month (int64[rows, months]), drawn as
    the paid-support biller draws them (``draw_units``: oldest unexpired pack first, a
    shortfall opens packs that month or is billed per unit). Rows with the same usage are drawn
    once: a PLAN_COST column usually repeats one profile."""
    if not units.size:
        return np.zeros_like(units)
    days = [add_months(PLAN_START, m) for m in range(units.shape[1])]
    distinct, inverse = np.unique(units, axis=0, return_inverse=True)
    spent = np.zeros_like(distinct)
    for position, row in enumerate(distinct.tolist()):
        months = [m for m, need in enumerate(row) if need]
        draws = draw_units([], [days[m] for m in months], [row[m] for m in months],
                           [True] * len(months), vendor)
        for draw, short in draws.shortfalls.items():
            spent[position, months[draw]] = shortfall_cost(vendor, short)[1]
    return spent[inverse.ravel()]


def _usage_block(usage: Any, checks_shape: tuple[int, ...] | None = None) -> np.ndarray:
    """Usage as an array whose last axis is the 11 levels; an 11×1 column is one profile."""
    array = np.asarray(usage, dtype=object) if not isinstance(usage, np.ndarray) else usage
    if array.ndim == 2 and array.shape == (LEVEL_COUNT, 1):
        array = array[:, 0]
    if array.ndim == 0 or array.shape[-1] != LEVEL_COUNT:
        raise InputError([Problem(None, "usage", f"{' × '.join(map(str, array.shape))}",
                                  "利用見込みは 1 件につき 11 個の数値です (feather, レベル 1〜10 "
                                  "の月あたり件数)。11 セルの行か列にしてください")])
    return array


def plan_cost(plan: Any, support_range: Any = "normal", max_incidents: Any = None,
              usage: Any = (0,) * LEVEL_COUNT, months: Any = 12, licences: Any = None,
              members: Any = 0, karte_payment: Any = "consume",
              minutes_per_incident: Any = DEFAULT_MINUTES_PER_INCIDENT,
              pricebook: PricebookArg = None, errors: ErrorMode = "raise",
              tax_included: bool = False) -> Any:
    """Cost in yen (tax-exclusive unless ``tax_included``) of each plan over ``months``.

    ``plan`` (annual / monthly / vendor_support / callcenter), ``support_range``,
    ``max_incidents`` (monthly plans), ``months``, ``licences`` (price book A plans) and
    ``members`` (charts) broadcast like numpy against the leading axes of ``usage``, whose last
    axis is the expected incidents per month at feather, 1..10 (11 numbers; an n×11 block gives
    one profile per row). ``errors="mask"`` returns ``(values, messages)``.
    """
    costs, checks = evaluate_plans(plan, support_range, max_incidents, usage, months, licences,
                                   members, karte_payment, minutes_per_incident, pricebook)
    total = costs.total + (costs.tax() if tax_included else 0)
    return checks.finish(np.where(checks.bad, 0, total).astype(np.int64), errors)


def plan_cost_grid(plan: Any, support_range: Any = "normal", max_incidents: Any = None,
                   usage: Any = (0,) * LEVEL_COUNT, months: Any = 12, licences: Any = None,
                   members: Any = 0, pricebook: PricebookArg = None,
                   errors: ErrorMode = "raise") -> Any:
    """``plan_cost`` for 2-D cell blocks, as the PLAN_COST UDF passes them (plans as a column):
    11 usage cells in a row or a column are one profile for every plan; a block of k rows × 11
    gives one profile per plan row."""
    block = usage if isinstance(usage, np.ndarray) else np.asarray(usage, dtype=object)
    if block.ndim == 2 and block.shape == (LEVEL_COUNT, 1):
        block = block.T
    if block.ndim == 2 and block.shape[0] > 1:
        block = block[:, None, :]  # row i of the block goes with row i of the plan column
    return plan_cost(plan, support_range, max_incidents, block, months, licences, members,
                     pricebook=pricebook, errors=errors)


def evaluate_plans(plan: Any, support_range: Any = "normal", max_incidents: Any = None,
                   usage: Any = (0,) * LEVEL_COUNT, months: Any = 12, licences: Any = None,
                   members: Any = 0, karte_payment: Any = "consume",
                   minutes_per_incident: Any = DEFAULT_MINUTES_PER_INCIDENT,
                   pricebook: PricebookArg = None, counts: np.ndarray | None = None
                   ) -> tuple[PlanCosts, RowChecks]:
    """``plan_cost`` with the month-by-month detail; problems stay in the returned checks.
    ``counts`` (int[months, 11], shared by every row) replaces ``usage`` with explicit
    per-month incident counts."""
    block = _usage_block(usage)
    cols = broadcast(plan, support_range, max_incidents, months, licences, members,
                     karte_payment, np.empty(block.shape[:-1], dtype=object))
    plan_col, range_col, max_col, months_col, licence_col, member_col, karte_col, _ = cols
    shape = plan_col.shape
    checks = RowChecks(shape)
    plans = to_codes(plan_col, PLANS, "plan", checks)
    ranges = to_codes(range_col, SUPPORT_RANGES, "support_range", checks)
    horizon = to_ints(months_col, "months", checks, default=12, minimum=1)
    too_long = horizon > MAX_HORIZON_MONTHS
    checks.flag(too_long, "months", months_col, horizon_reason())
    horizon = np.where(too_long, 1, horizon)
    licence_counts = to_ints(licence_col, "licences", checks, default=0, maximum=MAX_LICENCES)
    member_counts = to_ints(member_col, "members", checks, default=0, maximum=MAX_MEMBERS)
    paying = KARTE_PAYMENT.codes.index("pay")
    karte = to_codes(karte_col, KARTE_PAYMENT, "karte_payment", checks) == paying
    books = resolve_books(pricebook)
    maximum = _check_plan_rows(plans, ranges, max_col, licence_counts, licence_col, books,
                               checks)
    minutes = np.broadcast_to(np.asarray(minutes_per_incident, dtype=np.float64), (LEVEL_COUNT,))
    if counts is None:
        rates = _check_usage(block, shape, checks)
        counts = monthly_counts(rates, horizon)
    else:
        if counts.shape[0] < int(horizon.max(initial=0)):
            raise ValueError("explicit counts must cover the longest horizon")
        counts = np.broadcast_to(counts, (*shape, *counts.shape))
    costs = month_costs(plans, ranges, maximum, counts, horizon, licence_counts, member_counts,
                        karte, minutes, books, checks)
    return costs, checks


def _check_usage(block: np.ndarray, shape: tuple[int, ...], checks: RowChecks) -> np.ndarray:
    """Rates per level within 0..MAX_INCIDENTS_PER_MONTH, broadcast to the rows; a bad profile
    flags every row using it, with the problem of its lowest bad level."""
    usage_checks = RowChecks(block.shape)
    rates = to_numbers(block, "usage", usage_checks, default=0, integer=False,
                       maximum=MAX_INCIDENTS_PER_MONTH)
    bad = usage_checks.bad  # every bad cell (the listed problems stop at a thousand)
    per_profile = np.empty(block.shape[:-1], dtype=object)
    for at in map(tuple, np.argwhere(bad.any(axis=-1))):
        level = int(np.argmax(bad[at]))
        cell = block[(*at, level)]
        one = RowChecks((1,))
        to_numbers(np.array([cell], dtype=object), "usage", one, default=0, integer=False,
                   maximum=MAX_INCIDENTS_PER_MONTH)
        name = "feather" if level == 0 else f"レベル{level}"
        per_profile[at] = one.problems[0].value, f"({name} の件数) {one.problems[0].reason}"
    spread = np.broadcast_to(per_profile, shape)
    for index in np.ndindex(shape):
        if spread[index] is not None:
            checks.add(index, "usage", *spread[index])
    return np.broadcast_to(rates, (*shape, LEVEL_COUNT))


def _check_plan_rows(plans: np.ndarray, ranges: np.ndarray, max_col: np.ndarray,
                     licences: np.ndarray, licence_cells: np.ndarray,
                     books: dict[str, PriceBook], checks: RowChecks) -> np.ndarray:
    """Per-plan requirements: monthly needs max_incidents within the range's tiers; price book
    A plans need licences (call centre: within its tiers), named by their cells as typed.
    Returns max_incidents (0 elsewhere)."""
    monthly = plans == MONTHLY
    blank_max = np.array([is_blank(v) for v in max_col.ravel()], dtype=bool).reshape(plans.shape)
    checks.flag(monthly & blank_max, "max_incidents", max_col,
                "月額契約には月の上限件数 (max_incidents) が必要です")
    maximum = np.where(monthly & ~blank_max,
                       to_ints(np.where(monthly, max_col, 1), "max_incidents", checks, default=1,
                               minimum=1), 0)
    check_max_incidents(ranges, np.where(monthly, maximum, 0), max_col,
                        books["monthly"].require_support(), checks)
    vendor_plan = (plans == VENDOR) | (plans == CALLCENTER)
    checks.flag(vendor_plan & (licences < 1), "licences", licence_cells, LICENCES_REQUIRED)
    top = int(books["callcenter"].require_vendor().callcenter_upper_bounds[-1])
    checks.flag((plans == CALLCENTER) & (licences > top), "licences", licence_cells,
                callcenter_licences(top))
    return maximum
