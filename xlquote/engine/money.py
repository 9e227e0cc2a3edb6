"""All rounding of money lives here. Amounts are integer yen; tax is computed once per invoice
and rate from the subtotal of that rate (適格請求書: 税率ごとに1回の端数処理)."""

from __future__ import annotations

from collections.abc import Iterable


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


def tax_by_rate(amounts: Iterable[tuple[int, int]], rounding: str) -> list[tuple[int, int, int]]:
    """The tax of one invoice: ``amounts`` are (rate percent, amount) pairs, one per line;
    returns (rate, taxable, tax) per rate, highest rate first, each rate's subtotal rounded
    once (適格請求書: 税率ごとに1回の端数処理). The invoice, the month's totals and the plan
    comparison all compute tax here."""
    by_rate: dict[int, int] = {}
    for rate, amount in amounts:
        by_rate[int(rate)] = by_rate.get(int(rate), 0) + int(amount)
    return [(rate, taxable, consumption_tax(taxable, rate, rounding))
            for rate, taxable in sorted(by_rate.items(), reverse=True)]


def yen(amount: int, signed: bool = False) -> str:
    """¥1,234 and -¥1,234 (the sign before the yen mark) — on documents, in messages and the
    terminal summary; ``signed`` marks a positive difference too: +¥1,234."""
    if amount < 0:
        return f"-¥{-amount:,}"
    return f"{'+' if signed and amount > 0 else ''}¥{amount:,}"
