"""Hostile CSV incident logs of ~50 MB against a valid one of the same size: time and memory.

    python bench/hostile_record_files.py [--mb 50]

Writes each shape once to bench/_data/hostile_<shape>_<mb>mb.csv and runs
``xlquote invoice workbooks/invoicing.xlsm --incidents FILE --no-pdf --json`` (``--contracts``
for the contracts shape) on it in a subprocess, reporting its exit code, seconds, peak memory
(the largest resident set of the process, as the kernel counts it) and its time against the
valid log measured in the same run.
The issue's bound: any input file up to 50 MB ends within 60 s and 1 GiB, exit 2 or a result.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import string
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from xlquote.engine.records import CONTRACT_FIELDS, INCIDENT_FIELDS, field_names

DATA = Path(__file__).with_name("_data")
WORKBOOK = Path(__file__).parents[1] / "workbooks" / "invoicing.xlsm"
REQUIRED = ["incident_id", "contract_id", "opened", "channel"]
ALL = field_names(INCIDENT_FIELDS)
CONTRACTS_REQUIRED = [f.name for f in CONTRACT_FIELDS if f.required]


def _codes(width: int) -> Iterator[str]:
    """Distinct short texts, round and round."""
    letters = string.ascii_letters + string.digits
    return itertools.cycle("".join(t) for t in itertools.product(letters, repeat=width))


def _shapes() -> dict[str, tuple[list[str], Callable[[int], str]]]:
    """Shape → (header, the text of row i); a shape named contracts_… is a contracts file."""
    three = _codes(3)
    return {
        "valid": (REQUIRED, lambda i: f"{i:x},C001,2026-10-1,phone"),
        "every_cell_x": (ALL, lambda i: ",".join(["x"] * len(ALL))),
        "every_cell_distinct": (ALL, lambda i: ",".join(next(three) for _ in ALL)),
        "required_blank": ([*REQUIRED, "minutes"], lambda i: ",,,,1"),
        "short_rows_x": (REQUIRED, lambda i: "x,x,x,x"),
        "misshapen": (ALL, lambda i: "x"),
        "unknown_contracts": ([*REQUIRED, "closed"],
                              lambda i: f"{i:x},Z{i:x},2026-10-1,phone,2026-10-2"),
        "blank_lines": (ALL, lambda i: ""),
        "quoted_paragraphs": ([*REQUIRED, "description"],
                              lambda i: f'{i:x},C001,2026-10-1,phone,"症状:\n\n対応:\n\n済"'),
        "contracts_short_rows": (CONTRACTS_REQUIRED, lambda i: f"{i:x},x,annual,2026-4-1"),
    }


def write_shape(name: str, header: list[str], row: Callable[[int], str], size: int) -> Path:
    path = DATA / f"hostile_{name}_{size // 10**6}mb.csv"
    if path.exists():
        return path
    DATA.mkdir(exist_ok=True)
    written = 0
    with path.open("w", encoding="utf-8") as out:
        out.write(",".join(header) + "\n")
        for i in itertools.count():
            line = row(i) + "\n"
            if written + len(line) > size:
                break
            out.write(line)
            written += len(line)
    return path


def run(path: Path, option: str) -> tuple[int, float, int]:
    """(exit code, seconds, peak MiB) of the CLI on ``path``, in a process of its own."""
    with tempfile.TemporaryDirectory() as out:
        script = ("import resource, subprocess, sys, time\n"
                  "start = time.perf_counter()\n"
                  "code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL,"
                  " stderr=subprocess.DEVNULL).returncode\n"
                  "print(code, time.perf_counter() - start,"
                  " resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n")
        command = [sys.executable, "-m", "xlquote", "invoice", str(WORKBOOK), "--month",
                   "2026-10", "--out", out, option, str(path), "--no-pdf", "--json"]
        result = subprocess.run([sys.executable, "-c", script, *command], capture_output=True,
                                text=True, check=True, env={**os.environ})
        code, seconds, kilobytes = result.stdout.split()
        return int(code), float(seconds), int(kilobytes) // 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=50, help="size of each file (MB)")
    args = parser.parse_args()
    size = args.mb * 10**6
    results = {}
    for name, (header, row) in _shapes().items():
        path = write_shape(name, header, row, size)
        results[name] = run(path, "--contracts" if name.startswith("contracts_")
                            else "--incidents")
    baseline = results["valid"][1]
    print(f"| shape ({args.mb} MB CSV) | exit | seconds | × valid | peak MiB |")
    print("|---|---|---|---|---|")
    for name, (code, seconds, mib) in results.items():
        print(f"| {name} | {code} | {seconds:.1f} | {seconds / baseline:.2f} | {mib:,} |")
    print(json.dumps({name: {"exit": c, "seconds": round(s, 2), "peak_mib": m}
                      for name, (c, s, m) in results.items()}))


if __name__ == "__main__":
    main()
