"""Invoices written over several processes are the same files as written in one."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import pytest

from xlquote.app import parallel
from xlquote.app.sample import sample_contracts, sample_incidents, sample_packs, sample_settings
from xlquote.app.workbooks.invoicing import write_invoicing_workbook
from xlquote.cli import main


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_map_indices_keeps_order_and_reports_progress(monkeypatch) -> None:
    monkeypatch.setattr(parallel, "MIN_PARALLEL", 1)
    monkeypatch.setenv("XLQUOTE_WORKERS", "2")
    seen: list[int] = []
    squares = parallel.map_indices(lambda i: i * i, 100, seen.append, chunk=7)
    assert squares == [i * i for i in range(100)]
    assert seen[-1] == 100 and seen == sorted(seen)


def test_this_process_works_beside_its_workers(monkeypatch) -> None:
    """With two cores, one worker is forked and this process takes chunks from the back."""
    monkeypatch.setattr(parallel, "MIN_PARALLEL", 1)
    monkeypatch.setenv("XLQUOTE_WORKERS", "2")

    def slow_pid(i: int) -> tuple[int, int]:
        time.sleep(0.01)
        return i, os.getpid()

    results = parallel.map_indices(slow_pid, 60, chunk=3)
    assert [i for i, _ in results] == list(range(60))
    pids = [pid for _, pid in results]
    assert pids[-1] == os.getpid() and len(set(pids)) == 2
    assert pids[0] != os.getpid()


@pytest.mark.parametrize("workers", ["1", "2"])
def test_parallel_batch_writes_the_same_files(tmp_path, monkeypatch, workers) -> None:
    book = write_invoicing_workbook(tmp_path / "invoicing.xlsx", sample_contracts(),
                                    sample_incidents(), sample_packs(), sample_settings())
    monkeypatch.setattr(parallel, "MIN_PARALLEL", 1)
    monkeypatch.setenv("XLQUOTE_WORKERS", "1")
    assert main(["invoice", str(book), "--month", "2026-10", "--out", str(tmp_path / "a")]) == 1
    monkeypatch.setenv("XLQUOTE_WORKERS", workers)
    assert main(["invoice", str(book), "--month", "2026-10", "--out", str(tmp_path / "b")]) == 1
    assert digests(tmp_path / "a" / "2026-10") == digests(tmp_path / "b" / "2026-10")
    # 17 invoices and 1 draft and 1 statement, xlsx and PDF each, and the summary
    assert len(digests(tmp_path / "b" / "2026-10")) == 39


def test_month_billed_over_several_processes_gives_the_same_summaries(monkeypatch) -> None:
    """bill_month spreads the contracts' totals over worker processes: the same summaries,
    in the same order, as one process, and the contexts still build the same invoices."""
    import functools

    from xlquote import bill_month

    mapper = functools.partial(parallel.map_indices, chunk=3, min_parallel=1)

    def bill(workers: str):
        monkeypatch.setenv("XLQUOTE_WORKERS", workers)
        return bill_month(sample_contracts(), sample_incidents(), "2026-10", sample_packs(),
                          map_tasks=mapper)

    monkeypatch.setattr(parallel, "MIN_PARALLEL", 1)
    alone, spread = bill("1"), bill("2")
    assert len(spread.summaries) == 19
    assert spread.summaries == alone.summaries
    assert [i.to_dict() for i in spread.invoices] == [i.to_dict() for i in alone.invoices]
    assert [s.total for s in spread.summaries] == [i.total for i in spread.invoices]
