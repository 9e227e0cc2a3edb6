"""The fees a contract owes for the contract month that starts in a calendar month — the rules
the billers are built from, on scalars (one contract's month) or whole columns (the plan
comparison's plans × months) alike.

``index`` is the contract month (0 in the contract's first month), ``count`` the number of
contract months it bills (``terms.contract_months``; OPEN_ENDED without an end date). The
monthly invoice (``support_service``, ``vendor``) and the comparison (``compare.cost``) both
call these functions: the fee rules exist once.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..fees import callcenter_amounts, monthly_fee_for_usage, vendor_annual_amount
from ..pricebook import SupportServiceRules, VendorRules
from ..terms import starts_contract_month, starts_contract_year


def annual_base_fee_due(rules: SupportServiceRules, ranges: Any, index: Any, count: Any) -> Any:
    """年額基本料金: the range's yearly fee in the first month of each contract year that
    starts before the contract ends (RULES 2.1, 2.7)."""
    return np.where(starts_contract_year(index, count), rules.annual_base_fee[ranges], 0)


def monthly_fee_due(rules: SupportServiceRules, ranges: Any, max_incidents: Any, counted: Any,
                    index: Any, count: Any, covered: Any) -> tuple[Any, Any]:
    """(monthly fee, overage): the plan's fee in every contract month that starts before the
    contract ends; the overage for the incidents counted in a calendar month the contract
    covers (RULES 2.1). A calendar month holding only the last days of the final contract month
    has no fee of its own: its incidents still count against the monthly maximum."""
    base, overage = monthly_fee_for_usage(rules, ranges, max_incidents, counted)
    return (np.where(starts_contract_month(index, count), base, 0),
            np.where(covered, overage, 0))


def vendor_annual_fee_due(vendor: VendorRules, licences: Any, index: Any, count: Any) -> Any:
    """Paid support's yearly fee in the first month of each contract year (RULES 1.1)."""
    return np.where(starts_contract_year(index, count), vendor_annual_amount(vendor, licences), 0)


def callcenter_fees_due(vendor: VendorRules, licences: Any, index: Any, count: Any
                        ) -> tuple[Any, Any, Any]:
    """(tier bound, initial fee, monthly fee): the initial fee in the first contract month, the
    tier's monthly fee in every contract month (RULES 1.2)."""
    bound, initial, monthly = callcenter_amounts(vendor, licences)
    billed = starts_contract_month(index, count)
    return (bound, np.where(billed & (np.asarray(index) == 0), initial, 0),
            np.where(billed, monthly, 0))


def counts_against_maximum(rules: SupportServiceRules, level: Any) -> Any:
    """Whether an incident of ``level`` uses one of a monthly plan's incidents: every level from
    1, feathers only when the price book says so (RULES 2.2)."""
    return (np.asarray(level) >= 1) | rules.feather_counts


def chart_fee(rules: SupportServiceRules, plan: str, paying: Any) -> tuple[Any, Any]:
    """(fee, consumes an incident) of a member's chart (カルテ作成, RULES 2.6): a level-3
    incident of the plan; under a monthly plan it consumes one incident, or, when the customer
    pays (karte_payment "pay"), costs the pay plan's fee of that level and consumes none."""
    own_fee = int(rules.incident_fees[plan][rules.chart_level])
    if plan != "monthly":
        return np.where(paying, own_fee, own_fee), np.zeros_like(np.asarray(paying), dtype=bool)
    paid_fee = int(rules.incident_fees[rules.chart_pay_fee_plan][rules.chart_level])
    return np.where(paying, paid_fee, own_fee), ~np.asarray(paying, dtype=bool)


def shortfall_cost(vendor: VendorRules, units: Any) -> tuple[Any, Any]:
    """(packs opened, yen) for units a contract's packs could not cover: new packs of
    ``pack_units`` at ``pack_price`` with auto top-up, else the units at ``unit_price``
    (RULES 1.1 [interpretation])."""
    if isinstance(units, int):  # one draw of the paid-support ledger: plain ints are quicker
        packs = -(-units // vendor.pack_units) if vendor.auto_topup else 0
        return packs, packs * vendor.pack_price if vendor.auto_topup else units * vendor.unit_price
    units = np.asarray(units)
    if vendor.auto_topup:
        packs = -(-units // vendor.pack_units)
        return packs, packs * vendor.pack_price
    return np.zeros_like(units), units * vendor.unit_price
