"""A month from a Parquet incident log against the same month from a workbook: cost per row.

    python bench/bench_record_files.py [--incidents 5000000] [--repeat 2]

Writes once, from ``make_month``'s generator (seed 1, one contract per 100 incidents, as in
the 1M workbook): bench/_data/parquet_<n>.parquet (the incident log) and
bench/_data/parquet_<n>.xlsx (Contracts, Packs, Settings, an empty Incidents sheet); the
baseline is the 1M-row workbook of ``make_month.py`` (made if missing). Each side is read,
validated and billed (``read_invoicing_workbook`` + ``bill_month``; no invoice files) and the
best of ``--repeat`` runs is reported as seconds per million incident rows, with the ratio
Parquet / workbook measured in the same run.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from make_month import (
    MONTH,
    default_path,
    make_contracts,
    make_incidents,
    make_month,
    make_packs,
    write_month,
)

from xlquote.app.invoice_run import contract_totals_mapper
from xlquote.engine.billing import bill_month
from xlquote.engine.dates import Month
from xlquote.readers.workbook import read_invoicing_workbook

DATA = Path(__file__).with_name("_data")
INCIDENTS_PER_CONTRACT = 100
BASELINE_ROWS = 1_000_000


def arrow_column(values: np.ndarray) -> pa.Array:
    """A generator column as Arrow: -1, NaT and None are empty (null) cells."""
    if values.dtype.kind == "M":
        return pa.array(values.astype("datetime64[D]"), mask=np.isnat(values), type=pa.date32())
    if values.dtype.kind in "iuf":
        return pa.array(values.astype(np.float64), mask=values < 0)
    kinds = {type(v) for v in values.tolist() if v is not None}
    if kinds == {bool}:
        return pa.array(values.tolist(), type=pa.bool_())
    if kinds and kinds <= {int, np.int64}:
        return pa.array([None if v is None else float(v) for v in values.tolist()])
    return pa.array(values.tolist(), type=pa.string())


def make_parquet_month(rows: int) -> tuple[Path, Path]:
    log, book = DATA / f"parquet_{rows}.parquet", DATA / f"parquet_{rows}.xlsx"
    if log.exists() and book.exists():
        return log, book
    DATA.mkdir(exist_ok=True)
    rng = np.random.default_rng(1)
    contracts = make_contracts(rng, max(rows // INCIDENTS_PER_CONTRACT, 1))
    packs = make_packs(rng, contracts)
    incidents = make_incidents(rng, contracts, rows)
    columns = {"incident_id": pa.array([f"I-{i + 1:08d}" for i in range(rows)])}
    columns.update({name: arrow_column(values) for name, values in incidents.items()})
    pq.write_table(pa.table(columns), log, row_group_size=1_000_000)
    empty = {name: values[:0] for name, values in incidents.items()}
    write_month(book, contracts, empty, packs)
    return log, book


def best(repeat: int, run: object) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()  # type: ignore[operator]
        times.append(time.perf_counter() - started)
    return min(times)


def read_and_bill(book: Path, files: dict[str, Path] | None = None) -> None:
    data = read_invoicing_workbook(book, record_files=files)
    bill_month(data.contracts, data.incidents, Month.parse(MONTH), data.packs, data.pricebooks(),
               map_tasks=contract_totals_mapper)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=5_000_000)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    log, book = make_parquet_month(args.incidents)
    baseline = default_path(BASELINE_ROWS, BASELINE_ROWS // INCIDENTS_PER_CONTRACT, 1)
    if not baseline.exists():
        make_month(BASELINE_ROWS // INCIDENTS_PER_CONTRACT, BASELINE_ROWS, 1, baseline)
    workbook = best(args.repeat, lambda: read_and_bill(baseline)) / (BASELINE_ROWS / 1e6)
    parquet = best(args.repeat, lambda: read_and_bill(book, {"Incidents": log})) / (
        args.incidents / 1e6)
    print(f"read, validated and billed (best of {args.repeat}), seconds per million incidents:")
    print(f"  workbook {baseline.name:<34} {workbook:6.2f} s")
    print(f"  Parquet  {log.name:<34} {parquet:6.2f} s  ({parquet / workbook:.2f}× the workbook)")


if __name__ == "__main__":
    main()
