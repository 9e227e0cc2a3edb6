"""Per-item work spread over processes: the machine's cores, or a Dask cluster.

A ``Job`` is ``[work(prepare(i)) for i in range(count)]``, cut into chunks of consecutive
items. ``prepare(i)`` gathers item ``i``'s input from this process's data (a document to
draw); ``work`` does the heavy part (drawing its workbook and PDF) and returns a small result.
An ``Executor`` decides where each runs:

- ``InlineExecutor``: everything in this process.
- ``ProcessExecutor`` with start method ``fork`` (Linux): workers are forked from this process,
  so they see its data without copying or pickling it; ``prepare`` and ``work`` both run in the
  worker and only chunk bounds go out. Any callables will do, closures included.
- ``ProcessExecutor`` with ``spawn`` (Windows, macOS, where forking a process that may hold
  system frameworks is unsafe): ``prepare`` runs here, its result is pickled to a fresh worker
  process, which imports ``work`` by name — ``work`` must be a module-level function (or a
  ``functools.partial`` of one) and each prepared item must pickle.
- ``DaskExecutor``: as spawn, on the workers of a ``dask.distributed`` cluster (which must have
  the same xlquote installed, and reach every path a task writes to: ``check_folder`` makes
  sure before anything is written).

The local executors also work in this process: workers take chunks from the front, this
process from the back, while its workers are busy. Below ``Job.min_parallel`` items, or with
``XLQUOTE_WORKERS=1``, everything runs in this process.

A failing item raises its own exception in this process, whatever the executor (so an OSError
is still an OSError to the caller), with a note naming the job, the item and where it ran, and
a worker's traceback as its cause. What cannot come back that way — a worker that died, a
chunk or an exception that cannot be pickled — raises a ``TaskError`` naming the same.
"""

from __future__ import annotations

import functools
import hashlib
import os
import pickle
import re
import socket
import sys
import time
import traceback
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from concurrent import futures as cf
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Generic, Literal, NoReturn, TypeVar

from ..engine.errors import InputError, OutputError, Problem
from ..memory import objects_frozen, release_freed_memory

Item = TypeVar("Item")
Result = TypeVar("Result")
Progress = Callable[[int], None]  # items done so far
StartMethod = Literal["fork", "spawn"]

MIN_PARALLEL = 64  # below this, starting processes costs more than it saves
# How long a Dask run waits for its cluster to have a worker again: with none, Dask keeps the
# tasks waiting for one forever (and the folder locked).
WORKERLESS_WAIT = 60.0
WAIT_STEP = 5.0  # seconds between looks at the cluster while no chunk comes back
# A scheduler's address as Dask takes it: a protocol Dask speaks between machines (none is
# tcp://; tls:// with Dask's TLS configured), a host (or [IPv6]) and a port
SCHEDULER_ADDRESS = re.compile(r"(?:(?:tcp|tls|ws|wss|ucx)://)?(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)"
                               r":(\d{1,5})", re.IGNORECASE)
DEFAULT_CHUNK = 32
HERE = "in this process"


def workers() -> int:
    """Processes to work with, this one included: XLQUOTE_WORKERS, else the cores this
    process may run on."""
    configured = os.environ.get("XLQUOTE_WORKERS", "")
    if configured.isdigit() and int(configured) > 0:
        return int(configured)
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _same(item: Any) -> Any:
    return item


def _item_number(index: int) -> str:
    return f"item {index + 1}"


@dataclass(frozen=True)
class Job(Generic[Item, Result]):
    """``[work(prepare(i)) for i in range(count)]`` under a name that errors and logs show.

    ``work`` must be a module-level function or a ``functools.partial`` of one (imported by
    name in spawned and Dask workers);
    ``prepare`` may be any callable (it runs in this process or in a forked copy of it).
    ``label(i)`` names item ``i`` in an error (an invoice number, a contract id)."""

    name: str
    work: Callable[[Item], Result]
    prepare: Callable[[int], Item] = field(default=_same)
    label: Callable[[int], str] = field(default=_item_number)
    min_parallel: int | None = None  # None: MIN_PARALLEL


class TaskError(OutputError):
    """Items of a job failed in a way their own exception cannot tell: a worker died (killed,
    out of memory), a chunk could not be sent, or the item's exception could not be pickled
    back (its text is here). The job's output is not complete: callers undo what it began, so
    to the run it is a failure to write (exit 3)."""

    def __init__(self, job: str, item: str, where: str, error: str):
        super().__init__(f"{job}: {item} failed ({where}): {error}")
        self.job, self.item, self.where, self.error = job, item, where, error


class ClusterUnusable(OutputError):
    """A Dask cluster that cannot take the run's work: unreachable, without workers, a worker
    without xlquote (or another version), or one that cannot see the output folder. Raised
    before anything is written (exit 3, nothing changed)."""


class RemoteTraceback(Exception):
    """The traceback of an error raised in another process, shown as the error's cause."""

    def __str__(self) -> str:
        return "\n" + str(self.args[0])


class _ItemFailed(Exception):
    """Raised by a worker for the item that failed; the parent raises the original exception
    from it (``_raise_item_error``). Carries that exception only when it pickles (its text and
    traceback always)."""

    def __init__(self, index: int, where: str, summary: str, trace: str,
                 error: BaseException | None):
        super().__init__(index, where, summary, trace, error)
        self.index, self.where, self.summary, self.trace, self.error = (
            index, where, summary, trace, error)

    @classmethod
    def of(cls, index: int, error: Exception, where: str) -> _ItemFailed:
        trace = "".join(traceback.format_exception(error))
        kept: BaseException | None = error
        if where != HERE:  # it has to travel
            try:
                pickle.dumps(error)
            except Exception:
                kept = None
        return cls(index, where, f"{type(error).__name__}: {error}", trace, kept)


def _worker() -> str:
    return f"in worker process {os.getpid()} on {socket.gethostname()}"


def _raise_item_error(job: Job[Any, Any], failed: _ItemFailed, remote: bool) -> NoReturn:
    """The item's own exception, noted with the job, the item and where it failed; from
    another process, with the worker's traceback as its cause."""
    what = f"{job.name}: {job.label(failed.index)} failed ({failed.where})"
    if failed.error is None:
        raise TaskError(job.name, job.label(failed.index), failed.where,
                        failed.summary) from RemoteTraceback(failed.trace)
    error = failed.error
    error.add_note(what)
    if remote:
        raise error from RemoteTraceback(failed.trace)
    raise error  # (called outside an except block: the error keeps its own context)


def _work_items(work: Callable[[Any], Any], start: int, items: Sequence[Any],
                prepare: Callable[[int], Any] | None = None, where: str = HERE) -> list[Any]:
    """The chunk's results; the first failing item raises _ItemFailed with its index."""
    results = []
    for offset, item in enumerate(items):
        try:
            results.append(work(prepare(item) if prepare is not None else item))
        except Exception as exc:
            raise _ItemFailed.of(start + offset, exc, where) from None
    return results


_forked_job: Job[Any, Any] | None = None  # set in the parent just before forking


def _work_forked(start: int, stop: int) -> list[Any]:
    """In a forked worker: the chunk's items prepared and worked from the parent's data."""
    assert _forked_job is not None
    return _work_items(_forked_job.work, start, range(start, stop), _forked_job.prepare,
                       _worker())


def _work_prepared(work: Callable[[Any], Any], start: int, items: list[Any]) -> list[Any]:
    """In a spawned or Dask worker: the chunk's items, prepared and pickled by the parent."""
    return _work_items(work, start, items, where=_worker())


def _work_pickled(chunk: bytes) -> list[Any]:
    """In a spawned worker: ``_work_prepared`` of a chunk the parent pickled itself (so that
    what cannot be pickled fails there, at once, not in the pool's feeder thread)."""
    return _work_prepared(*pickle.loads(chunk))


def _chunks(count: int, chunk: int) -> list[range]:
    size = max(1, chunk)
    return [range(a, min(a + size, count)) for a in range(0, count, size)]


class Executor(ABC):
    """Where a job's chunks run. Use as a context manager (``close`` frees the processes or
    the cluster connection)."""

    mode: str

    @property
    @abstractmethod
    def workers(self) -> int:
        """Processes (or Dask threads) working on a job, this process included if it works."""

    @abstractmethod
    def map(self, job: Job[Any, Result], count: int, progress: Progress | None = None,
            chunk: int = DEFAULT_CHUNK) -> list[Result]:
        """``[job.work(job.prepare(i)) for i in range(count)]``, in order; ``progress(done)``
        is called as chunks complete. A failing item raises its own exception (see the
        module's docstring)."""

    def close(self) -> None:  # noqa: B027 — most executors hold nothing
        """Free what the executor holds."""

    def check_folder(self, folder: Path) -> None:  # noqa: B027 — this machine sees its folders
        """Make sure every worker can write into ``folder`` (raises ClusterUnusable)."""

    def describe(self) -> dict[str, Any]:
        """Where the work runs, for a run's report."""
        return {"mode": self.mode, "workers": self.workers}

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()


class InlineExecutor(Executor):
    """Every item in this process, one after the other."""

    mode = "inline"

    @property
    def workers(self) -> int:
        return 1

    def map(self, job: Job[Any, Result], count: int, progress: Progress | None = None,
            chunk: int = DEFAULT_CHUNK) -> list[Result]:
        report = progress or (lambda done: None)
        results: list[Result] = []
        for indices in _chunks(count, chunk):
            results += _work_here(job, indices)
            report(indices.stop)
        report(count)
        return results


def _work_here(job: Job[Any, Result], indices: range) -> list[Result]:
    """The chunk's results, worked in this process."""
    try:
        return _work_items(job.work, indices.start, indices, job.prepare)
    except _ItemFailed as exc:
        failed = exc
    _raise_item_error(job, failed, remote=False)


class _Collector:
    """Chunk results put in place as they arrive, with progress and errors named."""

    def __init__(self, job: Job[Any, Any], chunks: list[range], progress: Progress | None):
        self.job, self.chunks = job, chunks
        self.results: list[Any] = [None] * (chunks[-1].stop if chunks else 0)
        self.done = 0
        self.report = progress or (lambda done: None)

    def finish(self, k: int, results: list[Any]) -> None:
        indices = self.chunks[k]
        self.results[indices.start:indices.stop] = results
        self.done += len(indices)
        self.report(self.done)

    def run_here(self, k: int) -> None:
        self.finish(k, _work_here(self.job, self.chunks[k]))

    def collect(self, k: int, future: cf.Future[list[Any]]) -> None:
        try:
            results = future.result()
        except _ItemFailed as failed:
            _raise_item_error(self.job, failed, remote=True)
        except Exception as exc:  # the worker died, or could not take the chunk
            raise TaskError(self.job.name, self.span(self.chunks[k]), "in a worker",
                            f"{type(exc).__name__}: {exc}") from exc
        self.finish(k, results)

    def span(self, indices: range) -> str:
        """The chunk's items, named: ``first … last``."""
        first = self.job.label(indices.start)
        return first if len(indices) == 1 else f"{first} … {self.job.label(indices.stop - 1)}"


def _spread(pool: cf.Executor, submit: Callable[[range], cf.Future[list[Any]]],
            collector: _Collector, window: int, works_here: bool,
            waiting: Callable[[], None] | None = None) -> None:
    """Keep ``window`` chunks with the workers, taken from the front; this process (when it
    works) takes chunks from the back whenever none of the workers' chunks is done.
    ``waiting`` is called every WAIT_STEP seconds that no chunk comes back (it may raise)."""
    front, back = 0, len(collector.chunks)
    pending: dict[cf.Future[list[Any]], int] = {}
    try:
        while front < back or pending:
            while front < back and len(pending) < window:
                pending[submit(collector.chunks[front])] = front
                front += 1
            done = [f for f in pending if f.done()]
            if not done and works_here and front < back:
                back -= 1
                collector.run_here(back)
                continue
            if not done:
                done = list(cf.wait(pending, None if waiting is None else WAIT_STEP,
                                    cf.FIRST_COMPLETED).done)
                if not done and waiting is not None:
                    waiting()
            for future in done:
                collector.collect(pending.pop(future), future)
    finally:
        for future in pending:  # a chunk failed: what has not started is not needed
            future.cancel()


def default_start_method() -> StartMethod | None:
    """How this platform starts worker processes: fork where Python forks safely (Linux and
    other Unixes; not macOS, whose system frameworks may not survive a fork, nor Windows),
    spawn elsewhere; None where no process can be started (the browser's Pyodide)."""
    if sys.platform == "emscripten":
        return None
    import multiprocessing

    if multiprocessing.current_process().daemon:  # pool workers may not start processes
        return None
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and sys.platform != "darwin":
        return "fork"
    return "spawn" if "spawn" in methods else None


class ProcessExecutor(Executor):
    """Worker processes on this machine (``concurrent.futures.ProcessPoolExecutor``) beside
    this process: ``workers`` processes in all, this one included."""

    def __init__(self, workers: int, start_method: StartMethod):
        self._workers = max(1, workers)
        self.mode = start_method
        self._pool: cf.ProcessPoolExecutor | None = None  # spawned workers live until close

    @property
    def workers(self) -> int:
        return self._workers

    def map(self, job: Job[Any, Result], count: int, progress: Progress | None = None,
            chunk: int = DEFAULT_CHUNK) -> list[Result]:
        least = MIN_PARALLEL if job.min_parallel is None else job.min_parallel
        if self._workers <= 1 or count < least or _forked_job is not None:
            return InlineExecutor().map(job, count, progress, chunk)
        collector = _Collector(job, _chunks(count, chunk), progress)
        window = 2 * (self._workers - 1)  # a chunk running and one waiting, per worker
        if self.mode == "fork":
            self._map_forked(job, collector, window)
        else:
            pool = self._spawned_pool()

            def submit(indices: range) -> cf.Future[list[Any]]:
                items = [job.prepare(i) for i in indices]
                try:
                    chunk = pickle.dumps((job.work, indices.start, items), pickle.HIGHEST_PROTOCOL)
                except Exception as exc:
                    raise TaskError(job.name, collector.span(indices), HERE,
                                    f"cannot be sent to a spawned worker: "
                                    f"{type(exc).__name__}: {exc}") from exc
                return pool.submit(_work_pickled, chunk)

            try:
                _spread(pool, submit, collector, window, works_here=True)
            except BaseException:
                self.close()  # a worker that died breaks the pool: the next job starts afresh
                raise
        return collector.results

    def _map_forked(self, job: Job[Any, Any], collector: _Collector, window: int) -> None:
        global _forked_job
        import multiprocessing

        _forked_job = job
        release_freed_memory()  # what this process no longer holds, workers do not inherit
        try:  # forked workers leave the parent's objects (and their pages) alone
            with objects_frozen(), cf.ProcessPoolExecutor(
                    self._workers - 1, mp_context=multiprocessing.get_context("fork")) as pool:
                _spread(pool, lambda indices: pool.submit(_work_forked, indices.start,
                                                          indices.stop),
                        collector, window, works_here=True)
        finally:
            _forked_job = None

    def _spawned_pool(self) -> cf.ProcessPoolExecutor:
        if self._pool is None:
            import multiprocessing

            self._pool = cf.ProcessPoolExecutor(self._workers - 1,
                                                mp_context=multiprocessing.get_context("spawn"))
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None


class DaskExecutor(Executor):
    """The workers of a ``dask.distributed`` cluster: ``scheduler`` is its address
    (``tcp://host:8786``), a cluster object or a connected Client. Items are prepared here
    and pickled to the workers, which need xlquote installed (the same version) and must reach
    every path a task reads or writes."""

    mode = "dask"

    def __init__(self, scheduler: Any):
        try:
            from dask.distributed import Client
        except ImportError:
            raise ClusterUnusable("Dask クラスタを使うには dask が要ります (xlquote のフォルダで "
                                  "pip install -e '.[dask]')") from None
        self._own_client = not isinstance(scheduler, Client)
        if isinstance(scheduler, str):
            scheduler = scheduler.strip()
            found = SCHEDULER_ADDRESS.fullmatch(scheduler)
            if not found or not 0 < int(found[2]) < 65536:
                raise _bad_address(scheduler)
            if "://" in scheduler:  # Dask reads the protocol in lower case only
                protocol, rest = scheduler.split("://", 1)
                scheduler = f"{protocol.lower()}://{rest}"
        try:
            self.client = Client(scheduler) if self._own_client else scheduler
        except OSError as exc:
            raise ClusterUnusable(f"Dask スケジューラ {scheduler} に接続できません ({exc})。"
                                  "何も変更していません") from None
        except (ValueError, TypeError) as exc:  # Dask's words for an address it cannot use
            raise _bad_address(scheduler, f" ({exc})") from None
        self._checked: set[Path] = set()
        self._workerless_since: float | None = None

    @property
    def workers(self) -> int:
        return max(1, sum(self.client.nthreads().values()))

    def map(self, job: Job[Any, Result], count: int, progress: Progress | None = None,
            chunk: int = DEFAULT_CHUNK) -> list[Result]:
        collector = _Collector(job, _chunks(count, chunk), progress)
        # pure=False: chunks are never deduplicated by content (nor hashed to find out)
        pool = self.client.get_executor(pure=False)
        _spread(pool, lambda indices: pool.submit(
            _work_prepared, job.work, indices.start, [job.prepare(i) for i in indices]),
            collector, 2 * self.workers, works_here=False, waiting=self._has_workers)
        return collector.results

    def _has_workers(self) -> None:
        """Stop the run (exit 3) once the cluster has had no worker for WORKERLESS_WAIT."""
        if self.client.nthreads():
            self._workerless_since = None
            return
        now = time.monotonic()
        if self._workerless_since is None:
            self._workerless_since = now
        elif now - self._workerless_since >= WORKERLESS_WAIT:
            raise ClusterUnusable(
                f"Dask クラスタ {self.client.scheduler.address} のワーカーがいなくなりました "
                f"({WORKERLESS_WAIT:.0f} 秒待ちました)。ワーカーを起動してから、もう一度実行して"
                "ください。この実行の書類は発行していません")

    def close(self) -> None:
        if self._own_client:
            self.client.close()

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "scheduler": self.client.scheduler.address}

    def check_folder(self, folder: Path) -> None:
        """A file written here must be seen by every worker (the same file system, mounted
        at the same path), and every worker must run this version of xlquote (the documents
        are the same, byte for byte, wherever they are drawn)."""
        if folder.absolute() in self._checked:
            return
        probe = folder / f".xlquote-probe-{uuid.uuid4().hex[:12]}"
        try:
            probe.write_text(socket.gethostname(), encoding="utf-8")
            seen = self.client.run(_worker_sees, str(probe), on_error="return")
        finally:
            probe.unlink(missing_ok=True)
        here = _xlquote_version()
        problems = []
        for worker, answer in sorted(seen.items()):
            if isinstance(answer, BaseException):
                problems.append(f"{worker}: xlquote を読み込めません ({type(answer).__name__}: "
                                f"{answer}; pip install 'xlquote[dask]')")
            elif not answer[0]:
                problems.append(f"{worker} ({answer[2]}): {folder} が見えません")
            elif answer[1] != here:
                problems.append(f"{worker}: xlquote {answer[1]} (実行側は {here})")
        if not seen:
            problems.append("ワーカーがいません")
        if problems:
            raise ClusterUnusable(
                f"Dask クラスタ {self.client.scheduler.address} では書けません: "
                + "; ".join(problems) + "。出力フォルダは全ワーカーから同じパスで見える共有"
                "フォルダにし、ワーカーには同じ版の xlquote を入れてください。何も変更して"
                "いません")
        self._checked.add(folder.absolute())


def _bad_address(address: Any, detail: str = "") -> InputError:
    return InputError([Problem(None, "--dask-scheduler", address,
                               f"Dask スケジューラのアドレスとして使えません{detail}。"
                               "tcp://HOST:PORT (例: tcp://render-01:8786) の形で指定してください")])


@functools.cache
def _xlquote_version() -> str:
    """The installed version and a digest of the package's files (code, price books, font):
    two checkouts of one version at different commits may draw different documents."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        number = version("xlquote")
    except PackageNotFoundError:
        number = "unknown"
    package = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(path.relative_to(package).as_posix().encode() + b"\0")
            digest.update(path.read_bytes())
    return f"{number} ({digest.hexdigest()[:12]})"


def _worker_sees(probe: str) -> tuple[bool, str, str]:
    """On a Dask worker: whether the run's probe file is there, the xlquote version, and the
    worker's host."""
    return os.path.isfile(probe), _xlquote_version(), socket.gethostname()


def local_executor(processes: int | None = None,
                   start_method: StartMethod | None = None) -> Executor:
    """This machine's executor: ``processes`` in all, this one included (default:
    ``workers()``), started by ``start_method`` (default: ``default_start_method()``); this
    process alone when that is one process or none can be started."""
    count = workers() if processes is None else processes
    method = start_method or default_start_method()
    if count <= 1 or method is None:
        return InlineExecutor()
    return ProcessExecutor(count, method)


def executor_for(dask_scheduler: str | None = None) -> Executor:
    """The Dask cluster at ``dask_scheduler`` when one is given, else this machine's cores."""
    return DaskExecutor(dask_scheduler) if dask_scheduler else local_executor()


def map_indices(task: Callable[[int], Result], count: int, progress: Progress | None = None,
                chunk: int = DEFAULT_CHUNK, min_parallel: int | None = None,
                name: str = "parallel task") -> list[Result]:
    """``[task(i) for i in range(count)]`` over forked workers where the platform forks, else
    in this process: ``task`` may be any callable (a closure over the month's data), so it
    never goes to a spawned worker. At least ``min_parallel`` tasks (default MIN_PARALLEL)
    before processes are started."""
    executor = (local_executor() if default_start_method() == "fork" else InlineExecutor())
    job: Job[int, Result] = Job(name, task, min_parallel=min_parallel)
    with executor:
        return executor.map(job, count, progress, chunk)
