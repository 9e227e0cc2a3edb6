"""All rounding of money lives here. Amounts are integer yen; tax is computed once per invoice
and rate from the subtotal of that rate (適格請求書: 税率ごとに1回の端数処理)."""

from __future__ import annotations


def round_ratio(numerator: int, denominator: int, mode: str) -> int:
    """numerator / denominator rounded to whole yen: floor (切り捨て), half_up (四捨五入,
    halves away from zero) or ceil (切り上げ). Exact integer arithmetic, no floats."""
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    if mode == "floor":
        return numerator // denominator
    if mode == "ceil":
        return -((-numerator) // denominator)
    if mode == "half_up":
        sign = -1 if numerator < 0 else 1
        return sign * ((2 * abs(numerator) + denominator) // (2 * denominator))
    raise ValueError(f"unknown rounding mode {mode!r}")


def consumption_tax(subtotal: int, rate_percent: int, rounding: str) -> int:
    """Consumption tax of one rate's subtotal, rounded once."""
    return round_ratio(int(subtotal) * int(rate_percent), 100, rounding)


def yen(amount: int) -> str:
    """¥1,234 — for messages and the terminal summary."""
    return f"¥{amount:,}" if amount >= 0 else f"-¥{-amount:,}"
