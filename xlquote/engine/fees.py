"""Fee lookups of both price books (RULES 1.1, 1.2, 2.1, 2.2) on whole columns. Money is int64 yen."""

from __future__ import annotations

from typing import Any

import numpy as np

from .codes import PLANS, SUPPORT_RANGES, Vocabulary
from .columns import (
    FIELD_MAXIMUM,
    ErrorMode,
    RowChecks,
    broadcast,
    check_codes,
    to_codes,
    to_ints,
    to_levels,
    to_numbers,
    where_true,
)
from .messages import REQUIRED, callcenter_licences, monthly_max_incidents
from .pricebook import PriceBook, SupportServiceRules, VendorRules, get_pricebook

SUPPORT_PLANS = Vocabulary(
    "plan", ("annual", "monthly"),
    {a: c for a, c in PLANS.aliases.items() if c in ("annual", "monthly")},
    label_ja=PLANS.label_ja,
)
CALLCENTER_FIELDS = Vocabulary("field", ("tier", "initial", "monthly"),
                               {"初期費用": "initial", "月額費用": "monthly", "上限": "tier"},
                               blank="tier", label_ja="項目")


def incident_fee_table(rules: SupportServiceRules) -> np.ndarray:
    """int64[plan, level] in SUPPORT_PLANS order."""
    return np.stack([rules.incident_fees[plan] for plan in SUPPORT_PLANS.codes])


def incident_fee(level: Any, plan: Any, support_range: Any = "normal",
                 pricebook: PriceBook | str | None = None, errors: ErrorMode = "raise") -> Any:
    """Incident fee in yen for a level (feather/0..10) under an annual or monthly contract
    (サポート追加料金表). The fee does not depend on the range; it is checked and accepted so
    that a quote can pass its range column unchanged."""
    rules = get_pricebook(pricebook).require_support()
    level_col, plan_col, range_col = broadcast(level, plan, support_range)
    checks = RowChecks(level_col.shape)
    levels = to_levels(level_col, "level", checks, blank=-1)
    # a blank is one problem; a bad cell already has its own (one problem per cell)
    checks.flag((levels < 0) & ~checks.bad, "level", level_col, REQUIRED)
    plans = to_codes(plan_col, SUPPORT_PLANS, "plan", checks)
    check_codes(range_col, SUPPORT_RANGES, "support_range", checks)
    fees = np.asarray(incident_fee_table(rules)[plans, np.clip(levels, 0, 10)], dtype=np.int64)
    fees[checks.bad] = 0  # a new array from the lookup (0-d for scalars): zero bad rows in place
    return checks.finish(fees, errors)


def annual_base_fee(support_range: Any, pricebook: PriceBook | str | None = None,
                    errors: ErrorMode = "raise") -> Any:
    """Yearly base fee of an annual contract (サポート基本料金表, 年額)."""
    rules = get_pricebook(pricebook).require_support()
    (range_col,) = broadcast(support_range)
    checks = RowChecks(range_col.shape)
    ranges = to_codes(range_col, SUPPORT_RANGES, "support_range", checks)
    return checks.finish(np.where(checks.bad, 0, rules.annual_base_fee[ranges]), errors)


def check_max_incidents(ranges: np.ndarray, max_incidents: np.ndarray, values: np.ndarray,
                        rules: SupportServiceRules, checks: RowChecks) -> None:
    offered = rules.monthly_max_incidents[ranges]
    for index in where_true(max_incidents > offered):
        code = SUPPORT_RANGES.codes[ranges[index]]
        checks.add(index, "max_incidents", values[index],
                   monthly_max_incidents(code, int(offered[index])))


def monthly_base_fee(support_range: Any, max_incidents: Any,
                     pricebook: PriceBook | str | None = None, errors: ErrorMode = "raise") -> Any:
    """Monthly fee for a range and the maximum incidents per month (サポート基本料金表, 月額)."""
    rules = get_pricebook(pricebook).require_support()
    range_col, max_col = broadcast(support_range, max_incidents)
    checks = RowChecks(range_col.shape)
    ranges = to_codes(range_col, SUPPORT_RANGES, "support_range", checks)
    counts = to_ints(max_col, "max_incidents", checks, default=1, minimum=1)
    check_max_incidents(ranges, counts, max_col, rules, checks)
    tiers = np.clip(counts, 1, rules.monthly_fees.shape[1]) - 1
    fees = rules.monthly_fees[ranges, tiers]
    return checks.finish(np.where(checks.bad, 0, fees).astype(np.int64), errors)


def monthly_fee_for_usage(rules: SupportServiceRules, ranges: Any, max_incidents: Any,
                          counted: Any) -> tuple[Any, Any]:
    """(base fee, overage) of a month: the plan's tier, and under the "tier" policy the extra
    to reach the tier of the incidents actually counted; beyond the top tier each incident adds
    the top tier's last step (RULES 2.1 [interpretation]). Columns (int arrays) or one
    contract's single values alike."""
    top = rules.monthly_max_incidents[ranges]
    table = rules.monthly_fees
    base = table[ranges, max_incidents - 1]
    if rules.overage_policy == "flag_only":
        return base, np.zeros_like(base)
    top_fee = table[ranges, top - 1]
    last_step = top_fee - np.where(top >= 2, table[ranges, np.maximum(top - 2, 0)], 0)
    used = np.maximum(counted, max_incidents)
    within = np.minimum(used, top)
    fee_used = table[ranges, within - 1] + np.maximum(used - top, 0) * last_step
    return base, (fee_used - base).astype(np.int64)


def vendor_annual_amount(vendor: VendorRules, licences: Any) -> Any:
    """Paid support's yearly fee for a licence count (scalar or column): 50,000 + 500 × licences."""
    return vendor.annual_fixed_fee + vendor.annual_fee_per_licence * np.asarray(licences)


def callcenter_amounts(vendor: VendorRules, licences: Any) -> tuple[Any, Any, Any]:
    """(tier's upper bound, initial fee, monthly fee) for licence counts within the tiers."""
    tier = np.searchsorted(vendor.callcenter_upper_bounds, licences, side="left")
    return (vendor.callcenter_upper_bounds[tier], vendor.callcenter_initial_fees[tier],
            vendor.callcenter_monthly_fees[tier])


def incident_units(minutes: Any, pricebook: PriceBook | str | None = None,
                   errors: ErrorMode = "raise") -> Any:
    """Units consumed: one per started 30 minutes (1–30 → 1, 31–60 → 2, 0 → 0) (RULES 1.1)."""
    vendor = get_pricebook(pricebook, default="vendor_support").require_vendor()
    (minutes_col,) = broadcast(minutes)
    checks = RowChecks(minutes_col.shape)
    values = to_numbers(minutes_col, "minutes", checks, default=0, integer=False,
                        maximum=FIELD_MAXIMUM["minutes"])
    return checks.finish(units_for_minutes(values, vendor), errors)


def units_for_minutes(minutes: np.ndarray, vendor: VendorRules) -> np.ndarray:
    return np.ceil(np.round(minutes / vendor.minutes_per_unit, 9)).astype(np.int64)


def vendor_annual_fee(licences: Any, pricebook: PriceBook | str | None = None,
                      errors: ErrorMode = "raise") -> Any:
    """Annual base fee of paid support: 50,000 + 500 × licences (RULES 1.1)."""
    vendor = get_pricebook(pricebook, default="vendor_support").require_vendor()
    (licence_col,) = broadcast(licences)
    checks = RowChecks(licence_col.shape)
    counts = to_ints(licence_col, "licences", checks, default=0, minimum=1,
                     maximum=FIELD_MAXIMUM["licences"])
    checks.flag((counts < 1) & ~checks.bad, "licences", licence_col, REQUIRED)  # blank
    fees = vendor_annual_amount(vendor, counts)
    return checks.finish(np.where(checks.bad, 0, fees).astype(np.int64), errors)


def callcenter_tier_index(counts: np.ndarray, values: np.ndarray, vendor: VendorRules,
                          checks: RowChecks) -> np.ndarray:
    """Tier position per row; counts above the last bound are flagged as not offered."""
    tier = np.searchsorted(vendor.callcenter_upper_bounds, counts, side="left")
    top = int(vendor.callcenter_upper_bounds[-1])
    checks.flag((tier >= len(vendor.callcenter_upper_bounds)) & ~checks.bad, "licences", values,
                callcenter_licences(top))
    return np.minimum(tier, len(vendor.callcenter_upper_bounds) - 1)


def callcenter_tier(licences: Any, field: Any = "tier", pricebook: PriceBook | str | None = None,
                    errors: ErrorMode = "raise") -> Any:
    """Call-centre tier for a licence count: its upper bound (100, 500, … 50,000), or with
    ``field="initial"`` / ``"monthly"`` that tier's fee in yen (RULES 1.2)."""
    vendor = get_pricebook(pricebook, default="vendor_support").require_vendor()
    licence_col, field_col = broadcast(licences, field)
    checks = RowChecks(licence_col.shape)
    counts = to_ints(licence_col, "licences", checks, default=0, minimum=1)
    checks.flag((counts < 1) & ~checks.bad, "licences", licence_col, REQUIRED)  # blank
    fields = to_codes(field_col, CALLCENTER_FIELDS, "field", checks)
    callcenter_tier_index(counts, licence_col, vendor, checks)
    top = int(vendor.callcenter_upper_bounds[-1])
    table = np.stack(callcenter_amounts(vendor, np.clip(counts, 1, top)))
    picked = np.take_along_axis(table, fields[None, ...], axis=0)[0] if table.ndim > 1 else \
        table[fields]
    return checks.finish(np.where(checks.bad, 0, picked).astype(np.int64), errors)
