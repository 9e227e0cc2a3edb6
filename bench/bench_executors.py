"""Where the month's invoices are written: forked workers, spawned workers, one process, a Dask
cluster — the same work, timed in one run, as ratios against forked workers.

    python bench/bench_executors.py [--rows 100000] [--modes fork,spawn,inline] [--dask]
        [--workers N] [--repeat 1] [--pdf]

Each mode runs the month as the run does, in this process: ``read_invoicing_workbook`` +
``bill_month`` + every invoice's billed content (built and encoded by forked workers where
the platform forks, else here) + every invoice workbook (and with ``--pdf`` its PDF) drawn
from its numbered ``RenderJob`` into a fresh folder by the mode's workers. Forked workers read
the jobs from the parent's memory; spawned workers (Windows, macOS) and Dask workers get them
pickled, and pay for starting fresh interpreters. ``--dask`` adds a ``dask.distributed.LocalCluster`` of
``--workers`` processes on this machine (its start-up is not counted). The month is made by
``bench/make_month.py`` (seed 1, cached in bench/_data/). Every mode's files are checked to be
byte for byte the forked run's. With ``--repeat`` the modes take turns and each one's best
round is kept. Results are also written to
bench/_data/bench_executors_<rows>.json.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))  # make_month lives beside us

from bench_batch import DATA, machine, month_file
from make_month import MONTH

from xlquote.app.documents import Header, RenderJob, billed_content, document_stem, render
from xlquote.app.invoice_run import contract_totals_mapper
from xlquote.app.parallel import DaskExecutor, Executor, Job, local_executor, map_indices, workers
from xlquote.engine.billing import bill_month, build_invoice
from xlquote.readers.workbook import read_invoicing_workbook


def job_of(invoice: Any, content: bytes, number: str, roles: tuple[str, ...],
           settings: Any) -> RenderJob:
    contract = invoice.contract
    return RenderJob(invoice.month, document_stem(number, contract.contract_id, contract.customer),
                     roles, settings, content=content,
                     header=Header(number, "invoice", invoice.issue_date, invoice.due_date),
                     number=number)


def run_month(path: Path, folder: Path, executor: Executor, roles: tuple[str, ...]
              ) -> dict[str, Any]:
    """Read, bill and write the month's invoices; the stages' seconds and the files' digest."""
    start = time.perf_counter()
    data = read_invoicing_workbook(path)
    read = time.perf_counter()
    run = bill_month(data.contracts, data.incidents, MONTH, data.packs, data.pricebooks(),
                     map_tasks=contract_totals_mapper)
    billed = time.perf_counter()
    prefix = f"INV-{MONTH.replace('-', '')}"

    def content_job(i: int) -> RenderJob:
        invoice = build_invoice(run.contexts[i])
        return job_of(invoice, billed_content(invoice).content, f"{prefix}-{i + 1:05d}", roles,
                      data.settings)

    jobs = map_indices(content_job, len(run.contexts))
    encoded = time.perf_counter()
    folder.mkdir()
    executor.map(Job("writing documents", functools.partial(render, folder=folder),
                     jobs.__getitem__), len(jobs))
    written = time.perf_counter()
    digest = hashlib.sha256()
    for file in sorted(folder.iterdir()):
        digest.update(file.name.encode() + file.read_bytes())
    return {"invoices": len(jobs), "read_s": read - start, "bill_s": billed - read,
            "content_s": encoded - billed, "write_s": written - encoded,
            "total_s": written - start, "digest": digest.hexdigest()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--modes", default="fork,spawn,inline")
    parser.add_argument("--dask", action="store_true", help="also a LocalCluster")
    parser.add_argument("--repeat", type=int, default=1, help="rounds; each mode's best is kept")
    parser.add_argument("--pdf", action="store_true", help="a PDF beside every workbook")
    parser.add_argument("--workers", type=int, default=workers(),
                        help="processes in all (default: XLQUOTE_WORKERS, else the cores)")
    args = parser.parse_args()
    info = machine()
    print(f"machine: {info['cpu']}, {info['cores']} cores, Python {info['python']}; "
          f"{args.workers} processes")
    path = month_file(args.rows)
    roles = ("xlsx", "pdf") if args.pdf else ("xlsx",)
    results: dict[str, dict[str, Any]] = {}
    def keep(mode: str, result: dict[str, Any]) -> None:
        if mode not in results or result["total_s"] < results[mode]["total_s"]:
            results[mode] = result

    with tempfile.TemporaryDirectory(prefix="bench_executors_") as work:
        for round_ in range(args.repeat):  # the modes in turn, so a slow spell hits them all
            for mode in args.modes.split(","):
                executor = local_executor(1 if mode == "inline" else args.workers,
                                          None if mode == "inline" else mode)  # type: ignore[arg-type]
                with executor:
                    keep(mode, run_month(path, Path(work) / f"{mode}{round_}", executor, roles))
            if args.dask:
                from dask.distributed import LocalCluster

                with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, DaskExecutor(cluster) as dask:
                    keep("dask", run_month(path, Path(work) / f"dask{round_}", dask, roles))
    baseline = results.get("fork") or next(iter(results.values()))
    print(f"\n{path.name}: {baseline['invoices']:,} invoices (read + bill + content + write "
          f"{' and '.join(roles)})")
    print(f"{'mode':<8} {'read s':>7} {'bill s':>7} {'content s':>9} {'write s':>8} "
          f"{'total s':>8} {'× fork':>7}  same files")
    for mode, r in results.items():
        print(f"{mode:<8} {r['read_s']:>7.2f} {r['bill_s']:>7.2f} {r['content_s']:>9.2f} "
              f"{r['write_s']:>8.2f} {r['total_s']:>8.2f} "
              f"{r['total_s'] / baseline['total_s']:>7.2f}  "
              f"{'yes' if r['digest'] == baseline['digest'] else 'NO'}")
    report = DATA / f"bench_executors_{args.rows}{'_pdf' if args.pdf else ''}.json"
    report.write_text(json.dumps({"machine": info, "workers": args.workers,
                                  "results": results}, indent=2))
    print(f"results: {report}")


if __name__ == "__main__":
    main()
