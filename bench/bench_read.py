"""Reading a large incident log: python-calamine vs openpyxl (read-only).

    python bench/bench_read.py [--rows 50000] [--repeat 3]

Writes bench/_data/incidents_<rows>.xlsx once (an Incidents sheet with the record headers and
realistic values, dates as date cells), then reads the sheet with both readers of
``xlquote.io.read_workbook``, checks they return the same values and prints the best time of
each and the ratio. The invoice batch uses calamine by default because of this ratio.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from pathlib import Path

import numpy as np
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from xlquote.codes import CHANNELS
from xlquote.io.read_workbook import parse_table, read_sheet_tables
from xlquote.records import INCIDENT_FIELDS, field_names, parse_incidents

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
    best, table = float("inf"), None
    for _ in range(repeat):
        started = time.perf_counter()
        table = read_sheet_tables(path, engine, sheets=("Incidents",))["Incidents"]
        best = min(best, time.perf_counter() - started)
    return best, table


def same_records(a: object, b: object) -> bool:
    """Both readers' tables parse into the same incident records (cells may differ in form:
    calamine hands over '' and floats, the parser normalises them)."""
    x = parse_table(parse_incidents, a, "Incidents")  # type: ignore[arg-type]
    y = parse_table(parse_incidents, b, "Incidents")  # type: ignore[arg-type]
    columns = [(k, v) for k, v in vars(x).items() if k != "measures"]
    columns += [(f"measures.{k}", v) for k, v in vars(x.measures).items()]
    for name, left in columns:
        right = getattr(y.measures, name[9:]) if name.startswith("measures.") else getattr(y, name)
        if not np.array_equal(left, right):
            return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    path = make_log(args.rows)
    fast, fast_table = best_time(path, "calamine", args.repeat)
    slow, slow_table = best_time(path, "openpyxl", args.repeat)
    same = same_records(fast_table, slow_table)
    print(f"{args.rows:,} incident rows × {len(INCIDENT_FIELDS)} columns ({path.stat().st_size:,} bytes)")
    print(f"  calamine  {fast:7.3f} s")
    print(f"  openpyxl  {slow:7.3f} s (read-only)")
    print(f"  ratio     {slow / fast:7.1f}× faster with calamine; same records: {same}")


if __name__ == "__main__":
    main()
