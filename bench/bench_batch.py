"""The month's invoice batch at scale, with ratios measured in the same run.

    python bench/bench_batch.py [--sizes 10000,100000,1000000] [--b-sizes 10000,100000]
        [--skip-baseline-a] [--skip-baseline-b] [--skip-cli] [--repeat 1] [--profile]

For each size (incident rows; contracts = rows / 100, so the 1M month has 10,000 contracts)
the month is made once by ``bench/make_month.py`` (seed 1, cached in bench/_data/), then:

1. bare read of the Incidents sheet, four ways: python-calamine into Python values;
   fastexcel into typed columns with every column's kind of cell checked over all rows (the
   floor: the fastest read that can still name a wrong cell); fastexcel with the types
   declared and no check (faster, but it silently blanks or coerces a wrong cell; shown only);
2. xlquote, in process: read + validate the workbook, price the month (``bill_month``: exact
   per-contract totals), write the summary workbook from the run's summaries;
   "compute+summary" is their sum ("build inv": building every invoice's lines, which only
   the invoice workbooks need, is shown apart);
   target compute+summary ≤ 1.5 × bare read;
3. ``xlquote invoice`` end to end in a subprocess, twice: without PDFs (CLI: read, validate,
   bill, number, write every invoice workbook and the summary; ``--no-pdf`` where the CLI
   makes PDFs by default) and as a script runs it, ``xlquote invoice … --json`` with whatever
   it makes by default (every invoice as workbook and PDF once PDFs are the default; the
   table's *PDFs* column counts them); each run's wall time and peak memory (target < 2 GiB at
   1M rows): the PSS of the whole process tree (parent and forked workers; shared pages
   counted once) and the largest peak RSS of any of its processes (their high-water marks);
4. baseline A (bench/baseline_openpyxl.py, default openpyxl load, one row at a time), totals
   compared with xlquote's; target xlquote compute+summary ≥ 40 × faster;
5. baseline B (bench/baseline_formulas.py, spreadsheet formulas recalculated by LibreOffice
   headless) at ``--b-sizes``; target ≥ 5 × faster, same totals.

Times are the best of ``--repeat`` rounds, each round reading the floor and then running
xlquote's stages, so that the shared VM's slow spells weigh on both sides of a ratio; the
first round runs before the CLI and the baselines, the others after them, so that xlquote's
best is taken on both sides of the minutes the baselines take (baselines and the CLI run
once). ``--profile`` prints
cProfile's top functions of xlquote's compute at the largest size. Results are also written to
bench/_data/bench_batch_<sizes>.json.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import platform
import pstats
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import fastexcel
import numpy as np
import psutil
from python_calamine import CalamineWorkbook

sys.path.insert(0, str(Path(__file__).parent))  # the baselines and make_month live beside us

import baseline_formulas
import baseline_openpyxl
from make_month import MONTH, make_month

from xlquote.app.invoice_run import ATTENTION_FLAGS, contract_totals_mapper
from xlquote.engine.billing import bill_month
from xlquote.engine.invoice import Flag
from xlquote.engine.records import INCIDENT_FIELDS
from xlquote.readers.workbook import read_invoicing_workbook
from xlquote.writers.summary import SummaryItem, write_summary_workbook

DATA = Path(__file__).with_name("_data")
SEED = 1
GiB = 1024 ** 3


def month_file(rows: int) -> Path:
    contracts = max(rows // 100, 10)
    path = DATA / f"month_{rows}_{contracts}_s{SEED}.xlsx"
    if not path.exists():
        started = time.perf_counter()
        make_month(contracts, rows, SEED, path)
        print(f"  made {path.name} in {time.perf_counter() - started:.1f} s", flush=True)
    return path


def best(repeat: int, action: Callable[[], Any]) -> tuple[float, Any]:
    seconds, result = float("inf"), None
    for _ in range(repeat):
        started = time.perf_counter()
        result = action()
        seconds = min(seconds, time.perf_counter() - started)
    return seconds, result


def read_calamine(path: Path) -> int:
    """Every cell of the Incidents sheet as a Python value (python-calamine)."""
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("Incidents").to_python()
    return len(rows)


def read_fastexcel_checked(path: Path) -> int:
    """The Incidents sheet as typed Arrow columns, each column's kind of cell checked over all
    rows (a column mixing kinds is an error, not silently blanked): the fastest read that
    still lets a program tell the clerk which cell is wrong. The floor."""
    batch = fastexcel.read_excel(str(path)).load_sheet(
        "Incidents", schema_sample_rows=None, dtype_coercion="strict", eager=True)
    return batch.num_rows


def read_fastexcel_unchecked(path: Path) -> int:
    """The same with every column's type declared up front: faster, but a cell of another
    kind is silently turned into a blank or coerced (TRUE becomes 1). Shown for reference."""
    batch = fastexcel.read_excel(str(path)).load_sheet(
        "Incidents", dtypes=INCIDENT_DTYPES, eager=True)
    return batch.num_rows


INCIDENT_DTYPES = {f.name: {"date": "datetime", "bool": "boolean", "text": "string",
                            "code": "string"}.get(f.kind, "float") for f in INCIDENT_FIELDS}
READS = {"calamine": read_calamine, "fastexcel": read_fastexcel_checked,
         "fastexcel_unchecked": read_fastexcel_unchecked}


def xlquote_stages(path: Path, workdir: Path, build: bool) -> dict[str, Any]:
    """One timed run of each xlquote stage (``build``: also build every invoice, once)."""
    read_s, data = best(1, lambda: read_invoicing_workbook(path))
    bill_s, run = best(1, lambda: bill_month(data.contracts, data.incidents, MONTH,
                                             data.packs, data.pricebooks(),
                                             map_tasks=contract_totals_mapper))
    items = [SummaryItem(s.contract.contract_id, s.contract.customer, s.contract.plan,
                         s.subtotal, s.tax, s.total, s.issue_date,
                         s.due_date, tuple(Flag(code, code) for code in s.flags), s.number,
                         f"{s.number}.xlsx") for s in run.summaries]
    summary_s, _ = best(1, lambda: write_summary_workbook(
        run.month, items, ATTENTION_FLAGS, workdir / "summary.xlsx"))
    stages = {"read_validate": read_s, "price": bill_s, "summary_write": summary_s,
              "invoices": len(run.summaries), "total_yen": int(run.total),
              "totals": {s.contract.contract_id: (s.subtotal, s.tax, s.total)
                         for s in run.summaries}}
    if build:
        stages["build_invoices"], _ = best(1, lambda: run.invoices)
    return stages


STAGE_TIMES = ("read_validate", "price", "summary_write")


def profile_compute(path: Path, top: int = 25) -> str:
    profiler = cProfile.Profile()
    profiler.enable()
    data = read_invoicing_workbook(path)
    bill_month(data.contracts, data.incidents, MONTH, data.packs, data.pricebooks(),
               map_tasks=contract_totals_mapper)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
    return out.getvalue()


def high_water_rss(pid: int) -> int:
    """The process's peak RSS so far (VmHWM): a high-water mark, so sampling misses no spike.
    (``wait4``'s ``ru_maxrss`` cannot be used: Linux starts a child's count with the RSS of
    the process that launched it, here the benchmark itself, holding a 1M-row month.)"""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    line = next((line for line in status.splitlines() if line.startswith("VmHWM:")), None)
    return int(line.split()[1]) * 1024 if line else 0


def cli_has_option(option: str) -> bool:
    """Whether ``xlquote invoice`` knows ``option`` (the PDF defaults are changing)."""
    shown = subprocess.run([sys.executable, "-m", "xlquote", "invoice", "--help"],
                           capture_output=True, text=True, check=False).stdout
    return option in shown


def run_cli(path: Path, workdir: Path, *options: str) -> dict[str, Any]:
    """``xlquote invoice`` (with ``options``) in a subprocess: wall time, exit code, the
    workbooks and PDFs it wrote, and peak memory, sampled every ~0.05 s: the peak RSS of each
    process (the billing process and each forked worker; their high-water marks), the tree's
    PSS (each shared page split among its sharers: the honest total) and the tree's summed RSS
    (which counts the pages forked workers share with the billing process once per
    process)."""
    # A new folder each run, all removed at the end: on a file system without a journal
    # (this machine's ext4) the kernel skips inodes freed in the last 60–360 s when it makes a
    # file, so a run writing 20,000 files just after the previous run's were deleted pays
    # ~0.5 ms a file more (~5 s on the 1M month) — a cost of the benchmark, not of a month.
    out = Path(tempfile.mkdtemp(prefix="cli_out_", dir=workdir))
    command = [sys.executable, "-m", "xlquote", "invoice", str(path), "--month", MONTH,
               "--out", str(out), *options]
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak_rss_sum = peak_pss = 0
    high_water: dict[int, int] = {}
    root = psutil.Process(process.pid)
    while True:
        try:
            tree = [root, *root.children(recursive=True)]
            for member in tree:
                high_water[member.pid] = max(high_water.get(member.pid, 0),
                                             high_water_rss(member.pid))
            peak_rss_sum = max(peak_rss_sum, sum(p.memory_info().rss for p in tree))
            peak_pss = max(peak_pss, sum(p.memory_full_info().pss for p in tree))
        except psutil.Error:
            pass
        pid, code, _ = os.wait4(process.pid, os.WNOHANG)
        if pid:
            break
        time.sleep(0.05)
    seconds = time.perf_counter() - started
    status = os.waitstatus_to_exitcode(code)
    process.returncode = status
    error = process.stderr.read().decode(errors="replace") if process.stderr else ""
    written = len(list((out / MONTH).glob("*.xlsx"))) if (out / MONTH).exists() else 0
    pdfs = len(list((out / MONTH).glob("*.pdf"))) if (out / MONTH).exists() else 0
    if status not in (0, 1):
        print(f"  xlquote invoice{''.join(' ' + o for o in options)} failed (exit {status}): "
              f"{error[-2000:]}", flush=True)
    return {"seconds": seconds, "exit": status, "options": list(options),
            "peak_pss_tree": peak_pss, "peak_rss_sum_tree": peak_rss_sum,
            "peak_rss_main": high_water.get(process.pid, 0),
            "peak_rss_process": max(high_water.values(), default=0),
            "processes": len(high_water), "files": written, "pdfs": pdfs}


def ratio(slow: float | None, fast: float | None) -> str:
    return "-" if not slow or not fast else f"{slow / fast:.1f}×"


def secs(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def measure(rows: int, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    path = month_file(rows)
    print(f"\n{rows:,} incident rows ({path.name}, {path.stat().st_size / 1e6:.1f} MB)",
          flush=True)
    result: dict[str, Any] = {"rows": rows, "file": path.name}

    def one_round(first: bool) -> dict[str, Any]:
        """The floor, then xlquote's stages; each time kept as the best so far."""
        for name, read in READS.items():
            seconds, _ = best(1, lambda read=read: read(path))
            result[f"read_{name}"] = min(seconds, result.get(f"read_{name}", seconds))
        stages = xlquote_stages(path, workdir, build=first)
        reference = stages.pop("totals")
        for key, value in stages.items():
            result[key] = min(value, result[key]) if key in STAGE_TIMES and key in result else value
        return reference

    # Rounds: the floor and xlquote alternate, so that a slow spell of the shared VM weighs on
    # both sides of a ratio; the first round comes before the CLI and the baselines, the others
    # after them, so that xlquote's best is taken on both sides of the minutes the baselines run.
    reference = one_round(first=True)
    if not args.skip_cli:
        without_pdf = ["--no-pdf"] if cli_has_option("--no-pdf") else []
        for key, options in (("cli", without_pdf), ("cli_pdf", ["--json"])):
            result[key] = cli = run_cli(path, workdir, *options)
            print(f"  xlquote invoice{''.join(' ' + o for o in options)} (CLI) "
                  f"{cli['seconds']:.1f} s, "
                  f"{cli['files']:,} workbooks, {cli['pdfs']:,} PDFs; peak memory: PSS of the "
                  f"process tree {cli['peak_pss_tree'] / GiB:.2f} GiB, largest process's peak "
                  f"RSS {cli['peak_rss_process'] / GiB:.2f} GiB ({cli['processes']} processes)",
                  flush=True)
    if not args.skip_baseline_a:
        seconds, totals = best(1, lambda: baseline_openpyxl.run_baseline(
            path, MONTH, out=workdir / "baseline_a.xlsx"))
        result["baseline_a"] = seconds
        result["baseline_a_mismatches"] = len(baseline_openpyxl.mismatches(totals, reference))
        print(f"  baseline A {seconds:.1f} s, mismatches {result['baseline_a_mismatches']}",
              flush=True)
    if not args.skip_baseline_b and rows in args.b_sizes:
        totals, seconds, count = baseline_formulas.run_baseline(path, MONTH)
        result["baseline_b"] = seconds
        result["baseline_b_formulas"] = count
        result["baseline_b_mismatches"] = len(baseline_openpyxl.mismatches(totals, reference))
        print(f"  baseline B {seconds:.1f} s ({count:,} formulas), mismatches "
              f"{result['baseline_b_mismatches']}", flush=True)
    for _ in range(args.repeat - 1):
        one_round(first=False)
    result["bare_read"] = result["read_fastexcel"]
    result["compute_summary"] = sum(result[key] for key in STAGE_TIMES)
    print("  bare read: " + ", ".join(f"{name} {result[f'read_{name}']:.2f} s" for name in READS),
          flush=True)
    print(f"  xlquote compute+summary {result['compute_summary']:.2f} s", flush=True)
    return result


def print_tables(results: list[dict[str, Any]]) -> None:
    print("\nthe floor: bare reads of the Incidents sheet (seconds)")
    print(f"{'rows':>10} {'calamine':>9} {'fastexcel':>9} {'unchecked':>9}")
    for r in results:
        print(f"{r['rows']:>10,} {r['read_calamine']:>9.2f} {r['read_fastexcel']:>9.2f} "
              f"{r['read_fastexcel_unchecked']:>9.2f}")
    print("\nxlquote vs the floor (seconds; bare = fastexcel checked read; target compute+summary "
          "≤ 1.5× bare read)\n  /bare: whole run (read+valid + price + summary) / bare; "
          "beyond: what the run adds to the read (compute+summary − bare) / bare")
    print(f"{'rows':>10} {'bare read':>9} {'read+valid':>10} {'price':>6} {'summary':>7} "
          f"{'compute+sum':>11} {'/bare':>6} {'beyond':>6} {'/calam':>6} {'build inv':>9} "
          f"{'CLI e2e':>8} {'invoices':>8} {'files':>6} {'peak PSS':>9} {'peak RSS':>9}")
    for r in results:
        cli = r.get("cli") or {}
        pss, rss = memory(cli)
        total, bare = r["compute_summary"], r["bare_read"]
        print(f"{r['rows']:>10,} {bare:>9.2f} {r['read_validate']:>10.2f} "
              f"{r['price']:>6.2f} {r['summary_write']:>7.2f} {total:>11.2f} "
              f"{total / bare:>5.2f}× {(total - bare) / bare:>5.2f}× "
              f"{total / r['read_calamine']:>5.2f}× {r['build_invoices']:>9.2f} "
              f"{secs(cli.get('seconds')):>8} {r['invoices']:>8,} {cli.get('files', '-'):>6} "
              f"{pss:>9} {rss:>9}")
    print("\nthe whole CLI run as a script runs it: xlquote invoice … --json, with the PDFs it "
          "makes by default (target at 1M rows: every invoice as workbook and PDF, and the "
          "summary, in ≤ 90 s; ≤ 12 s at 100k)")
    print(f"{'rows':>10} {'CLI+PDF':>8} {'exit':>4} {'invoices':>8} {'workbooks':>9} {'PDFs':>6} "
          f"{'peak PSS':>9} {'peak RSS':>9}")
    for r in results:
        cli = r.get("cli_pdf") or {}
        pss, rss = memory(cli)
        print(f"{r['rows']:>10,} {secs(cli.get('seconds')):>8} {cli.get('exit', '-'):>4} "
              f"{r['invoices']:>8,} {cli.get('files', '-'):>9} {cli.get('pdfs', '-'):>6} "
              f"{pss:>9} {rss:>9}")
    print("\nxlquote vs the baselines (compute+summary; targets A ≥ 40×, B ≥ 5×, same totals)")
    print(f"{'rows':>10} {'xlquote':>8} {'baseline A':>10} {'A ratio':>8} {'A diff':>6} "
          f"{'baseline B':>10} {'B ratio':>8} {'B diff':>6}")
    for r in results:
        print(f"{r['rows']:>10,} {r['compute_summary']:>8.2f} {secs(r.get('baseline_a')):>10} "
              f"{ratio(r.get('baseline_a'), r['compute_summary']):>8} "
              f"{r.get('baseline_a_mismatches', '-'):>6} {secs(r.get('baseline_b')):>10} "
              f"{ratio(r.get('baseline_b'), r['compute_summary']):>8} "
              f"{r.get('baseline_b_mismatches', '-'):>6}")
    if len(results) > 1:
        print("\nscaling (seconds per 1,000,000 rows; flat = linear)")
        for r in results:
            per = 1e6 / r["rows"]
            cli = r.get("cli", {}).get("seconds")
            cli_pdf = r.get("cli_pdf", {}).get("seconds")
            print(f"{r['rows']:>10,}  bare read {r['bare_read'] * per:7.1f}  "
                  f"compute+summary {r['compute_summary'] * per:7.1f}  "
                  f"CLI e2e {secs(cli * per if cli else None):>7}  "
                  f"CLI+PDF {secs(cli_pdf * per if cli_pdf else None):>7}")


def memory(cli: dict[str, Any]) -> tuple[str, str]:
    """(peak PSS of the tree, largest process's peak RSS) of a CLI run, or dashes."""
    if not cli:
        return "-", "-"
    return (f"{cli['peak_pss_tree'] / GiB:.2f} GiB", f"{cli['peak_rss_process'] / GiB:.2f} GiB")


def machine() -> dict[str, Any]:
    model = next((line.split(":", 1)[1].strip() for line in
                  Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor())
    return {"cpu": model, "cores": os.cpu_count(),
            "memory_gib": round(psutil.virtual_memory().total / GiB, 1),
            "python": platform.python_version(), "numpy": np.__version__}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--b-sizes", default="10000,100000",
                        help="sizes at which baseline B (LibreOffice) runs")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--skip-baseline-a", action="store_true")
    parser.add_argument("--skip-baseline-b", action="store_true")
    parser.add_argument("--skip-cli", action="store_true")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    args.b_sizes = {int(s) for s in args.b_sizes.split(",") if s}
    info = machine()
    print(f"machine: {info['cpu']}, {info['cores']} cores, {info['memory_gib']} GiB, "
          f"Python {info['python']}, numpy {info['numpy']}")
    results = []
    with tempfile.TemporaryDirectory(prefix="bench_batch_") as work:
        for rows in sizes:
            results.append(measure(rows, args, Path(work)))
    print_tables(results)
    if args.profile:
        print(f"\ncProfile of xlquote compute (read+validate+price), {sizes[-1]:,} rows (the main "
              "thread: the wait for the Incidents sheet's reader thread shows as lock acquire; "
              "the billing worker's share as fork and the wait for it; this process's own share "
              "as its own calls):")
        print(profile_compute(month_file(sizes[-1])))
    report = DATA / f"bench_batch_{'_'.join(map(str, sizes))}.json"
    report.write_text(json.dumps({"machine": info, "results": results}, indent=2))
    print(f"results: {report}")


if __name__ == "__main__":
    main()
