"""Compare every plan for a usage profile, and find where monthly and annual break even."""

from __future__ import annotations

import math

import numpy as np

from ..codes import SUPPORT_RANGES
from ..errors import InputError, Problem
from ..pricebook import PriceBook
from ..terms import plan_terms
from .cost import PlanCosts, PricebookArg, evaluate_plans, resolve_books
from .profile import MAX_HORIZON_MONTHS, UsageProfile, horizon_reason
from .table import BreakEven, Comparison, PlanOption, PlanResult, candidate_plans, ranked

BREAK_EVEN_MAX_RATE = 30.0  # incidents per month searched for a break-even


def check_horizon(months: int) -> int:
    if isinstance(months, bool) or not isinstance(months, int | np.integer) or not (
            1 <= months <= MAX_HORIZON_MONTHS):
        raise InputError([Problem(None, "months", months, horizon_reason())])
    return int(months)


def common_horizon(options: list[PlanOption], books: dict[str, PriceBook], months: int) -> int:
    """The horizon every plan is ranked over: ``months`` rounded up until every option can be
    contracted for exactly that long (at least each minimum term, whole contract units of each
    plan) — no 36-month total beside 12-month ones (RULES 2.1)."""
    units, minima = [], []
    for option in options:
        unit, minimum = plan_terms(books[option.plan], option.plan, option.support_range)
        units.append(unit)
        minima.append(minimum)
    step = math.lcm(*units) if units else 1
    wanted = max([months, *minima])
    return -(-wanted // step) * step


def horizon_note(asked: int, horizon: int) -> list[str]:
    if horizon == asked:
        return []
    return [f"比較期間は {horizon} か月 ({asked} か月の指定から、どのプランも契約できる期間 "
            "(最低契約期間・契約単位) に切り上げ)"]


def results_for(options: list[PlanOption], costs: PlanCosts, books: dict[str, PriceBook],
                licences: int) -> list[PlanResult]:
    totals, taxes = costs.total, costs.tax()
    names = books["annual"].require_support().range_names_ja
    return [PlanResult(option, option.label(names, licences), int(costs.term_months[i]),
                       int(totals[i]), int(totals[i] + taxes[i]), int(costs.fixed[i].sum()),
                       int(costs.usage[i].sum()))
            for i, option in enumerate(options)]


def _columns(options: list[PlanOption]) -> tuple[list[str], list[str], list[int | None]]:
    return ([o.plan for o in options], [o.support_range or "normal" for o in options],
            [o.max_incidents for o in options])


def compare_profile(profile: UsageProfile, months: int | None = None,
                    pricebook: PricebookArg = None, with_break_even: bool = True) -> Comparison:
    """Cost of every plan that can serve ``profile`` over ``months`` (default: the profile's),
    cheapest first; with the monthly/annual break-even per range at the profile's level mix."""
    asked = check_horizon(profile.months if months is None else months)
    books = resolve_books(pricebook)
    options, excluded = candidate_plans(books, profile.support_ranges, profile.licences)
    horizon = common_horizon(options, books, asked)
    plans, ranges, maxima = _columns(options)
    costs, checks = evaluate_plans(
        np.array(plans, dtype=object), np.array(ranges, dtype=object),
        np.array(maxima, dtype=object), months=horizon, licences=profile.licences,
        members=profile.members, karte_payment=profile.karte_payment,
        minutes_per_incident=profile.minutes_per_incident, pricebook=books,
        counts=profile.counts(horizon))
    checks.raise_if_any()
    notes = [*horizon_note(asked, horizon), f"{horizon} か月の利用料金と固定料金",
             "有償サポートの 1 件あたりの分数 (feather, レベル 1〜10): "
             + ", ".join(f"{m:g}" for m in profile.minutes_per_incident)]
    rates = profile.rates
    if profile.per_month is not None and len(profile.per_month) > horizon:
        notes.append(f"per_month の {len(profile.per_month)} か月のうち、最初の {horizon} か月"
                     "だけを比べています (残りは比べる期間の外です)")
        rates = profile.per_month[:horizon].mean(axis=0)  # the break-even of the months compared
    comparison = Comparison("profile", horizon, profile.licences,
                            ranked(results_for(options, costs, books, profile.licences)),
                            excluded, notes=notes)
    if with_break_even:
        comparison.break_even = break_even(rates, horizon, profile.support_ranges,
                                           members=profile.members,
                                           karte_payment=profile.karte_payment, pricebook=books)
    return comparison


def range_plans(books: dict[str, PriceBook], support_range: str) -> list[PlanOption]:
    """The annual plan of a range followed by its monthly tiers."""
    rules = books["monthly"].require_support()
    tiers = int(rules.monthly_max_incidents[SUPPORT_RANGES.codes.index(support_range)])
    return [PlanOption("annual", support_range)] + [
        PlanOption("monthly", support_range, t) for t in range(1, tiers + 1)]


def cost_curves(mix: np.ndarray, rates: np.ndarray, months: int, support_range: str,
                members: int = 0, karte_payment: str = "consume",
                pricebook: PricebookArg = None) -> tuple[list[PlanOption], np.ndarray]:
    """Cost over ``months`` of the range's annual and monthly plans (columns) when the customer
    has ``rates`` total incidents per month (rows) split by the level ``mix``."""
    mix = np.asarray(mix, dtype=np.float64)
    share = mix / mix.sum() if mix.sum() > 0 else np.eye(len(mix))[1]
    books = resolve_books(pricebook)
    options = range_plans(books, support_range)
    plans, ranges, maxima = _columns(options)
    usage = np.asarray(rates, dtype=np.float64)[:, None, None] * share  # [rate, 1, level]
    costs, checks = evaluate_plans(
        np.array(plans, dtype=object)[None, :], np.array(ranges, dtype=object)[None, :],
        np.array(maxima, dtype=object)[None, :], usage, months, members=members,
        karte_payment=karte_payment, pricebook=books)
    checks.raise_if_any()
    return options, costs.total


def break_even(mix: np.ndarray, months: int, ranges: tuple[str, ...] = SUPPORT_RANGES.codes,
               members: int = 0, karte_payment: str = "consume", pricebook: PricebookArg = None,
               max_rate: float = BREAK_EVEN_MAX_RATE, step: float | None = None
               ) -> list[BreakEven]:
    """Per range, the usage (total incidents per month at the level ``mix``) at which the
    cheapest monthly plan costs no more than the annual plan.

    Costs are step functions of usage (incidents are whole), so the curves rarely cross at one
    point: usage is searched on a grid of ``step`` (default 1/months: one more incident over the
    horizon) up to ``max_rate``. ``at`` is the smallest grid usage where monthly ≤ annual and
    ``annual_cheaper_below`` the grid point before it (annual strictly cheaper), so the true
    crossing lies in that interval; ``crossings`` lists every grid usage where the winner flips
    (usually one). Without any incidents in the mix there is nothing to search.
    """
    mix = np.asarray(mix, dtype=np.float64)
    if mix.sum() <= 0:
        return []
    step = step or 1.0 / months
    rates = np.arange(0.0, max_rate + step / 2, step)
    out = []
    for code in ranges:
        _options, costs = cost_curves(mix, rates, months, code, members, karte_payment, pricebook)
        annual, monthly = costs[:, 0], costs[:, 1:]
        best = monthly.min(axis=1)
        monthly_ok = best <= annual
        flips = np.flatnonzero(monthly_ok[1:] != monthly_ok[:-1]) + 1
        result = BreakEven(code, None, None, None, None, None,
                           [round(float(rates[i]), 6) for i in flips], float(max_rate))
        if monthly_ok.any():
            first = int(np.argmax(monthly_ok))
            result.at = round(float(rates[first]), 6)
            result.annual_cheaper_below = round(float(rates[first - 1]), 6) if first else None
            result.monthly_max_incidents = int(np.argmin(monthly[first])) + 1
            result.annual_cost, result.monthly_cost = int(annual[first]), int(best[first])
        out.append(result)
    return out
