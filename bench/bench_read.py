"""Reading a large incident log along the two read paths of ``xlquote.readers.workbook``, and
reading a whole month's workbook.

    python bench/bench_read.py [--rows 50000] [--repeat 3] [--workbook PATH]

Writes bench/_data/incidents_<rows>.xlsx once (an Incidents sheet with the record headers and
realistic values, dates as date cells), then reads and parses the sheet along each path —
fastexcel (typed columns where exact, the default) and cells (cell by cell) — checks they give
the same incident records and prints the best time of each. With ``--workbook`` (e.g. the 1M
month of make_month.py) it also reports the best time of ``read_invoicing_workbook`` on it:
the whole read, file checks included, as ``xlquote invoice`` does it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from pathlib import Path

import numpy as np
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from xlquote.engine.codes import CHANNELS
from xlquote.engine.records import INCIDENT_FIELDS, field_names, parse_incidents
from xlquote.readers.workbook import parse_table, read_invoicing_workbook, read_sheet_tables

DATA = Path(__file__).with_name("_data")


def make_log(rows: int) -> Path:
    path = DATA / f"incidents_{rows}.xlsx"
    if path.exists():
        return path
    DATA.mkdir(exist_ok=True)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Incidents")
    ws.append(field_names(INCIDENT_FIELDS))
    start = dt.date(2024, 1, 1)
    for i in range(rows):
        opened = start + dt.timedelta(days=i % 1000)
        record = {"incident_id": f"I-{i:07d}", "contract_id": f"C{i % 500:04d}",
                  "opened": opened, "closed": opened + dt.timedelta(days=i % 5),
                  "channel": CHANNELS.codes[i % len(CHANNELS.codes)],
                  "round_trips": i % 30, "minutes": (i * 7) % 240, "description": f"問い合わせ {i}"}
        row = []
        for name in field_names(INCIDENT_FIELDS):
            value = record.get(name)
            cell = WriteOnlyCell(ws, value)
            if isinstance(value, dt.date):
                cell.number_format = "yyyy/mm/dd"
            row.append(cell)
        ws.append(row)
    wb.save(path)
    return path


def best_time(path: Path, engine: str, repeat: int) -> tuple[float, object]:
    """Best time to read the sheet and parse it into incident records."""
    best, records = float("inf"), None
    for _ in range(repeat):
        started = time.perf_counter()
        table = read_sheet_tables(path, engine, sheets=("Incidents",))["Incidents"]
        records = parse_table(parse_incidents, table, "Incidents")  # type: ignore[arg-type]
        best = min(best, time.perf_counter() - started)
    return best, records


def same_records(x: object, y: object) -> bool:
    columns = [(k, v) for k, v in vars(x).items() if k != "measures"]
    columns += [(f"measures.{k}", v) for k, v in vars(x.measures).items()]  # type: ignore[attr-defined]
    for name, left in columns:
        right = getattr(y.measures, name[9:]) if name.startswith("measures.") else getattr(y, name)
        if left.dtype != right.dtype or not np.array_equal(
                left, right, equal_nan=left.dtype.kind in "fM"):
            return False
    return True


def best_workbook_time(path: Path, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        read_invoicing_workbook(path)
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workbook", type=Path, default=None,
                        help="also time read_invoicing_workbook on this workbook")
    args = parser.parse_args()
    path = make_log(args.rows)
    results = {engine: best_time(path, engine, args.repeat) for engine in ("fastexcel", "cells")}
    fastest = results["fastexcel"][0]
    print(f"{args.rows:,} incident rows × {len(INCIDENT_FIELDS)} columns "
          f"({path.stat().st_size:,} bytes), read and parsed into records")
    for engine, (seconds, records) in results.items():
        same = same_records(records, results["cells"][1])
        print(f"  {engine:<10}{seconds:7.3f} s  {seconds / fastest:5.1f}× the fastexcel time; "
              f"same records as cells: {same}")
    if args.workbook:
        seconds = best_workbook_time(args.workbook, args.repeat)
        print(f"{args.workbook.name}: read_invoicing_workbook best of {args.repeat}: "
              f"{seconds:.2f} s")


if __name__ == "__main__":
    main()
