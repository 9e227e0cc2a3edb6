"""SUPPORT_LEVEL + INCIDENT_FEE over a 100,000-row range, through the Excel functions with inputs
shaped as xlwings hands them over (2-D object arrays: floats, None blanks, text with spaces,
Japanese codes), next to a per-row loop (one formula per cell) measured in the same run. Then
PLAN_COST over ``--plan-rows`` plans (every row its own usage profile, and one profile shared by
all rows, as a sheet usually has) and the build of workbooks/compare.xlsx.

    python bench/bench_udfs.py [--rows 100000] [--loop-rows 2000] [--repeat 5] [--plan-rows 10000]

The loop is timed on ``--loop-rows`` rows and scaled to ``--rows`` (pass the same number to time
every row; it takes minutes). Target: the vectorised pair under 50 ms for 100,000 rows. The pair
is called once untimed first (it loads the price book), as in an Excel session that is open.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

# `udfs` is a folder of the repository, not part of the installed package: import it from the root.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from udfs import xlquote_udfs as udfs
from xlquote.app.workbooks import compare as compare_workbook

TARGET_MS = 50.0


def xlwings_columns(rows: int, seed: int = 2026) -> dict[str, np.ndarray]:
    """Incident columns as ``@xw.arg(np.array, ndim=2, dtype=object)`` delivers them."""
    rng = np.random.default_rng(seed)

    def column(values: np.ndarray, blank_share: float = 0.0) -> np.ndarray:
        cells = values.astype(object).reshape(-1, 1)
        cells[rng.random(rows) < blank_share] = None
        return cells

    channels = np.array(["email", " phone ", "Skype Chat", "dm", "電話", "メール"], dtype=object)
    return {
        "channel": column(channels[rng.integers(0, len(channels), rows)]),
        "round_trips": column(rng.integers(0, 30, rows).astype(float), 0.3),
        "minutes": column(rng.integers(0, 340, rows).astype(float), 0.3),
        "support_range": column(np.array(["normal", "technical", "技術的", "advanced"],
                                         dtype=object)[rng.integers(0, 4, rows)]),
        "plan": column(np.array(["annual", "monthly", "月額"], dtype=object)[rng.integers(0, 3, rows)]),
    }


def vectorised(cols: dict[str, np.ndarray]) -> np.ndarray:
    levels = udfs.SUPPORT_LEVEL(cols["channel"], cols["round_trips"], cols["minutes"],
                                support_range=cols["support_range"])
    # Excel hands the spilled levels back to INCIDENT_FEE as floats in an object block.
    return udfs.INCIDENT_FEE(levels.astype(float).astype(object), cols["plan"],
                             cols["support_range"])


def per_row(cols: dict[str, np.ndarray], rows: int) -> np.ndarray:
    out = np.empty((rows, 1), dtype=object)
    for i in range(rows):
        cell = {name: values[i:i + 1] for name, values in cols.items()}
        level = udfs.SUPPORT_LEVEL(cell["channel"], cell["round_trips"], cell["minutes"],
                                   support_range=cell["support_range"])
        out[i] = udfs.INCIDENT_FEE(float(level[0, 0]), cell["plan"], cell["support_range"])[0, 0]
    return out


def plan_cost_columns(rows: int, shared_profile: bool, seed: int = 2026) -> tuple[np.ndarray, ...]:
    """PLAN_COST's arguments for ``rows`` plans of every kind, as xlwings hands them over."""
    rng = np.random.default_rng(seed)
    plans = np.array(["annual", "monthly", "vendor_support", "callcenter"], dtype=object)
    plan = plans[rng.choice(4, rows, p=[0.4, 0.4, 0.15, 0.05])]
    ranges = np.array(["normal", "technical", "advanced", "mission_critical"],
                      dtype=object)[rng.integers(0, 4, rows)]
    tiers = np.where(ranges == "mission_critical", rng.integers(1, 4, rows),
                     rng.integers(1, 6, rows))
    maxima = np.where(plan == "monthly", tiers, None).astype(object)
    scale = np.array([2, 1, 1, 1, .5, .5, .3, .2, .1, .05, .02])
    usage = (rng.random((1 if shared_profile else rows, 11)) * scale).round(2).astype(object)
    months = rng.choice([12, 24, 36], rows).astype(float).astype(object)
    licences = np.where(np.isin(plan, ["vendor_support", "callcenter"]),
                        rng.integers(1, 3000, rows), None).astype(object)
    return (plan.reshape(-1, 1), ranges.reshape(-1, 1), maxima.reshape(-1, 1), usage,
            months.reshape(-1, 1), licences.reshape(-1, 1))


def best_of(repeat: int, run: Callable[[], Any]) -> tuple[float, Any]:
    timings, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = run()
        timings.append(time.perf_counter() - start)
    return min(timings), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--loop-rows", type=int, default=2_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--plan-rows", type=int, default=10_000)
    args = parser.parse_args()
    cols = xlwings_columns(args.rows)
    loop_rows = min(args.loop_rows, args.rows)

    vectorised(cols)  # warm-up, untimed: loads the price book once
    vector_s, fees = best_of(args.repeat, lambda: vectorised(cols))
    loop_s, loop_fees = best_of(1, lambda: per_row(cols, loop_rows))
    assert fees[:loop_rows].tolist() == loop_fees.tolist(), "vectorised and per-row results differ"
    loop_scaled = loop_s * args.rows / loop_rows

    vector_ms = vector_s * 1000
    print(f"SUPPORT_LEVEL + INCIDENT_FEE, {args.rows:,} rows, xlwings-shaped object ranges")
    print(f"  vectorised (one call each, best of {args.repeat}): {vector_ms:10.1f} ms"
          f"   target < {TARGET_MS:.0f} ms: {'met' if vector_ms < TARGET_MS else 'NOT met'}")
    scaled = "" if loop_rows == args.rows else f" (timed on {loop_rows:,} rows, scaled)"
    print(f"  per-row loop (one call per cell):            {loop_scaled * 1000:10.1f} ms{scaled}")
    print(f"  speed-up: {loop_scaled / vector_s:,.0f}×")
    errors = sum(isinstance(v, str) for v in fees.ravel())
    print(f"  error cells: {errors:,}")

    for shared in (False, True):
        args_ = plan_cost_columns(args.plan_rows, shared)
        udfs.PLAN_COST(*args_)  # warm-up
        plan_s, costs = best_of(args.repeat, lambda a=args_: udfs.PLAN_COST(*a))
        kind = "one shared profile" if shared else "a profile per row"
        total = sum(v for v in costs.ravel() if not isinstance(v, str))
        print(f"PLAN_COST, {args.plan_rows:,} plans, {kind}: {plan_s * 1000:8.1f} ms "
              f"(sum {total:,} yen)")
    with tempfile.TemporaryDirectory() as folder:
        build_s, _ = best_of(args.repeat, lambda: compare_workbook.build(
            Path(folder) / compare_workbook.FILENAME))
    print(f"workbooks/compare.xlsx build: {build_s * 1000:8.1f} ms")


if __name__ == "__main__":
    main()
