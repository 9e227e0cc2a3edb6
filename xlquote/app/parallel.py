"""Per-contract work spread over the machine's cores (billing the month, writing invoices).

Workers are forked from the billing process, so they see the month's contracts and charges
without copying or pickling them; only chunk indices go out and small results come back. Where
fork is unavailable (Windows, macOS' default, the browser's Pyodide) or the batch is small,
the same tasks run in this process.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

Result = TypeVar("Result")
Task = Callable[[int], Result]

MIN_PARALLEL = 64  # below this, starting processes costs more than it saves
_task: Task[Any] | None = None  # set in the parent just before forking


def workers() -> int:
    """Processes to work with, this one included: XLQUOTE_WORKERS, else the cores this
    process may run on."""
    configured = os.environ.get("XLQUOTE_WORKERS", "")
    if configured.isdigit() and int(configured) > 0:
        return int(configured)
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _run_chunk(indices: range) -> list[Any]:
    assert _task is not None
    return [_task(i) for i in indices]


def _can_fork() -> bool:
    """Fork is there (not on Windows, not in the browser's Pyodide, whose multiprocessing
    imports but cannot start a process) and allowed (pool workers may not fork again). The
    multiprocessing import waits until then: the Excel functions never need it."""
    if not hasattr(os, "fork"):
        return False
    import multiprocessing

    return ("fork" in multiprocessing.get_all_start_methods()
            and not multiprocessing.current_process().daemon)


def map_indices(task: Task[Result], count: int, progress: Callable[[int], None] | None = None,
                chunk: int = 32, min_parallel: int | None = None) -> list[Result]:
    """``[task(i) for i in range(count)]``, in parallel when it pays: at least ``min_parallel``
    tasks (default MIN_PARALLEL; cheap tasks need many more to pay for starting processes).
    ``progress(done)`` is called as work completes."""
    global _task
    report = progress or (lambda done: None)
    processes = workers()
    if (processes <= 1 or count < (MIN_PARALLEL if min_parallel is None else min_parallel)
            or not _can_fork()):
        results = []
        for i in range(count):
            results.append(task(i))
            if i % chunk == chunk - 1:
                report(i + 1)
        report(count)
        return results
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    chunks: Sequence[range] = [range(a, min(a + chunk, count)) for a in range(0, count, chunk)]
    out: list[Any] = [None] * count
    done = 0

    def finish(indices: range, results: list[Any]) -> None:
        nonlocal done
        out[indices.start:indices.stop] = results
        done += len(indices)
        report(done)

    _task = task
    gc.freeze()  # forked workers then leave the parent's objects (and their pages) alone
    try:
        # This process works too (one process fewer to fork, none waiting idle): the workers
        # take chunks from the front, this process from the back, each chunk taken only while
        # no worker has started it (a started future cannot be cancelled).
        with ProcessPoolExecutor(processes - 1,
                                 mp_context=multiprocessing.get_context("fork")) as pool:
            futures = [pool.submit(_run_chunk, indices) for indices in chunks]
            collected, theirs = 0, len(futures)  # futures[:collected] are in ``out``
            while theirs > collected and futures[theirs - 1].cancel():
                theirs -= 1
                finish(chunks[theirs], [task(i) for i in chunks[theirs]])
                while collected < theirs and futures[collected].done():  # their progress
                    finish(chunks[collected], futures[collected].result())
                    collected += 1
            position = {futures[k]: k for k in range(collected, theirs)}
            for future in as_completed(position):
                finish(chunks[position[future]], future.result())
    finally:
        _task = None
        gc.unfreeze()
    return out
