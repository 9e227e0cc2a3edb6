"""Work spread over processes (forked, spawned, a Dask cluster) gives what one process gives:
the same results in the same order, the same invoice files byte for byte, and a failing item
named in the error."""

from __future__ import annotations

import functools
import gc
import hashlib
import json
import multiprocessing
import os
import re
import time
from pathlib import Path

import pytest

from xlquote import bill_month
from xlquote.app import documents, parallel
from xlquote.app.documents import (
    ROLES,
    Header,
    Rendered,
    RenderJob,
    billed_content,
    document_stem,
    render,
)
from xlquote.app.parallel import (
    DaskExecutor,
    InlineExecutor,
    Job,
    ProcessExecutor,
    RemoteTraceback,
    TaskError,
    executor_for,
    local_executor,
)
from xlquote.app.sample import sample_contracts, sample_incidents, sample_packs, sample_settings
from xlquote.app.workbooks.invoicing import write_invoicing_workbook
from xlquote.cli import main
from xlquote.engine.billing import build_invoice
from xlquote.engine.settings import settings_from_values

START_METHODS = ["fork", "spawn"]


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


# Module-level work, as spawned and Dask workers import it by name.
def square_where(item: int) -> tuple[int, int]:
    return item * item, os.getpid()


def fail_on_5(item: int) -> int:
    if item == 5:  # in the first chunk, which goes to a worker
        raise OSError(28, "No space left on device", f"/out/{item}.xlsx")
    return item


class Unpicklable(Exception):
    def __reduce__(self):
        raise TypeError("not across processes")


def fail_unpicklably_on_5(item: int) -> int:
    if item == 5:
        raise Unpicklable("five")
    return item


def die_in_a_worker(item: int) -> int:
    if multiprocessing.parent_process() is not None:
        os._exit(3)  # a worker killed (out of memory, a crash in a C library)
    return item


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


@pytest.mark.parametrize("method", START_METHODS)
def test_worker_processes_give_the_in_process_results(method) -> None:
    """``prepare`` reads this process's data (a closure: fine for fork, which runs it in the
    worker, and for spawn, which runs it here); the results come back in order."""
    data = list(range(1000, 1200))
    job = Job("squares", square_where, prepare=data.__getitem__, min_parallel=1)
    done: list[int] = []
    with ProcessExecutor(3, method) as executor:
        spread = executor.map(job, len(data), done.append, chunk=9)
    alone = InlineExecutor().map(job, len(data))
    assert [value for value, _ in spread] == [value for value, _ in alone] == [
        x * x for x in data]
    assert len({pid for _, pid in spread} - {os.getpid()}) >= 1  # workers did some of it
    assert done[-1] == len(data) and done == sorted(done)


@pytest.mark.parametrize("method", [*START_METHODS, "inline"])
def test_a_failing_item_raises_its_own_error_named(method) -> None:
    """An OSError in a worker is an OSError here (the run's exit status depends on it), with a
    note naming the job, the item and the process, and the worker's traceback as its cause."""
    job = Job("writing numbers", fail_on_5, label=lambda i: f"number {i}", min_parallel=1)
    executor = InlineExecutor() if method == "inline" else ProcessExecutor(2, method)
    with executor, pytest.raises(OSError) as caught:
        executor.map(job, 200, chunk=10)
    error = caught.value
    assert (error.errno, error.filename) == (28, "/out/5.xlsx")
    where = "this process" if method == "inline" else r"worker process \d+ on .+"
    assert len(error.__notes__) == 1
    assert re.fullmatch(rf"writing numbers: number 5 failed \(in {where}\)", error.__notes__[0])
    if method != "inline":
        assert isinstance(error.__cause__, RemoteTraceback)
        assert "in fail_on_5" in str(error.__cause__)


@pytest.mark.parametrize("method", [*START_METHODS, "inline"])
def test_an_error_that_cannot_come_back_is_told_as_text(method) -> None:
    job = Job("checking numbers", fail_unpicklably_on_5, min_parallel=1)
    executor = InlineExecutor() if method == "inline" else ProcessExecutor(2, method)
    if method == "inline":  # nothing to pickle: the error itself
        with pytest.raises(Unpicklable, match="five"):
            executor.map(job, 100, chunk=10)
        return
    with executor, pytest.raises(TaskError, match=r"^checking numbers: item 6 failed \(in worker "
                                                  r"process \d+ on .+\): Unpicklable: five$"):
        executor.map(job, 100, chunk=10)


@pytest.mark.parametrize("method", START_METHODS)
def test_a_worker_that_dies_is_reported_with_its_items(method) -> None:
    job = Job("checking numbers", die_in_a_worker, min_parallel=1)
    with ProcessExecutor(2, method) as executor:
        with pytest.raises(TaskError, match=r"checking numbers: item \d+ … item \d+ failed "
                                            r"\(in a worker\): BrokenProcessPool"):
            executor.map(job, 200, chunk=10)
        again = Job("numbers", square_where, min_parallel=1)  # the executor is usable again
        assert [v for v, _ in executor.map(again, 30, chunk=4)] == [i * i for i in range(30)]


def test_spawned_workers_need_work_they_can_import() -> None:
    job = Job("lambdas", lambda item: item, min_parallel=1)  # cannot be pickled by name
    with ProcessExecutor(2, "spawn") as executor:
        with pytest.raises(TaskError, match=r"^lambdas: item 1 … item 5 failed \(in this "
                                            r"process\): cannot be sent to a spawned worker: "
                                            r"(PicklingError|AttributeError)"):
            executor.map(job, 50, chunk=5)
        again = Job("numbers", square_where, min_parallel=1)  # the executor is usable again
        assert [v for v, _ in executor.map(again, 30, chunk=4)] == [i * i for i in range(30)]


def test_one_process_means_this_process(monkeypatch) -> None:
    monkeypatch.setenv("XLQUOTE_WORKERS", "1")
    assert isinstance(local_executor(), InlineExecutor)
    monkeypatch.setenv("XLQUOTE_WORKERS", "3")
    executor = local_executor()
    assert (executor.mode, executor.workers) == ("fork", 3)  # Linux forks
    assert local_executor(2, "spawn").mode == "spawn"


def demo_documents() -> list[RenderJob]:
    """The demo month's invoices, numbered, as the run hands them to be drawn."""
    run = bill_month(sample_contracts(), sample_incidents(), "2026-10", sample_packs())
    settings = settings_from_values({k: (v, n) for n, (k, v) in
                                     enumerate(sample_settings().items(), start=2)})
    jobs = []
    for k, context in enumerate(run.contexts, start=1):
        invoice, number = build_invoice(context), f"INV-202610-{k:04d}"
        jobs.append(RenderJob(
            invoice.month, document_stem(number, invoice.contract.contract_id,
                                         invoice.contract.customer),
            ROLES, settings, content=billed_content(invoice).content,
            header=Header(number, "invoice", invoice.issue_date, invoice.due_date),
            number=number))
    return jobs


def write_demo_month(folder: Path, executor: parallel.Executor) -> dict[str, str]:
    """The demo month's workbooks and PDFs drawn by ``executor``'s workers into ``folder``:
    the files' digests (checked against what the workers reported)."""
    jobs = demo_documents()
    folder.mkdir()
    drawing = Job("writing documents", functools.partial(render, folder=folder),
                  jobs.__getitem__, lambda i: jobs[i].number)
    rendered: list[Rendered] = executor.map(drawing, len(jobs), chunk=4)
    files = digests(folder)
    assert [r.sha256 for r in rendered] == [
        {role: files[job.name(role)] for role in ROLES} for job in jobs]
    return files


@pytest.mark.parametrize("method", START_METHODS)
def test_invoices_written_by_worker_processes_are_the_same_files(tmp_path, monkeypatch,
                                                                   method) -> None:
    monkeypatch.setattr(parallel, "MIN_PARALLEL", 1)
    alone = write_demo_month(tmp_path / "alone", InlineExecutor())
    with ProcessExecutor(2, method) as executor:
        assert write_demo_month(tmp_path / method, executor) == alone
    assert len(alone) == 2 * 19  # a workbook and a PDF per invoice


@pytest.fixture(scope="module")
def dask_cluster():
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        yield cluster


def test_invoices_written_on_a_dask_cluster_are_the_same_files(tmp_path, dask_cluster) -> None:
    alone = write_demo_month(tmp_path / "alone", InlineExecutor())
    with DaskExecutor(dask_cluster) as executor:
        assert executor.workers == 2
        assert write_demo_month(tmp_path / "dask", executor) == alone
        pids = executor.map(Job("where", square_where), 40, chunk=5)
    assert len({pid for _, pid in pids}) == 2 and os.getpid() not in {pid for _, pid in pids}


def test_a_scheduler_address_means_its_cluster(dask_cluster, monkeypatch) -> None:
    monkeypatch.setenv("XLQUOTE_WORKERS", "1")
    assert isinstance(executor_for(None), InlineExecutor)
    with executor_for(dask_cluster.scheduler_address) as executor:
        assert executor.mode == "dask" and executor.workers == 2
        assert [v for v, _ in executor.map(Job("numbers", square_where), 10)] == [
            i * i for i in range(10)]


def test_a_failing_item_on_a_dask_cluster_is_named(dask_cluster) -> None:
    job = Job("writing numbers", fail_on_5, label=lambda i: f"number {i}")
    with DaskExecutor(dask_cluster) as executor, pytest.raises(OSError) as caught:
        executor.map(job, 100, chunk=10)
    assert caught.value.filename == "/out/5.xlsx"
    assert re.fullmatch(r"writing numbers: number 5 failed \(in worker process \d+ on .+\)",
                        caught.value.__notes__[0])


def test_an_unreachable_scheduler_is_a_clear_error() -> None:
    pytest.importorskip("dask.distributed")
    import dask

    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}), pytest.raises(
            parallel.ClusterUnusable, match=r"Dask スケジューラ tcp://127\.0\.0\.1:9 に接続できません"):
        DaskExecutor("tcp://127.0.0.1:9")


@pytest.mark.parametrize("address", ["garbage", "tcp://", "http://render-01:8786",
                                     "inproc://foo", "tcp://h:abc", "tcp://h:8786/path",
                                     "tcp://[::1", "tcp://127.0.0.1:99999"])
def test_an_address_that_is_no_scheduler_is_bad_input(tmp_path, capsys, address) -> None:
    """Dask's ValueError or TypeError went up as a traceback, exit 1 (a run needing
    attention) and no JSON."""
    pytest.importorskip("dask.distributed")
    book = write_invoicing_workbook(tmp_path / "invoicing.xlsx", sample_contracts(),
                                    sample_incidents(), sample_packs(), sample_settings())
    code = main(["invoice", str(book), "--month", "2026-10", "--out", str(tmp_path / "out"),
                 "--dask-scheduler", address, "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 2 and report["status"] == "invalid"
    assert report["problems"][0]["reason"].startswith("Dask スケジューラのアドレスとして使えません")
    assert not (tmp_path / "out").exists()


def test_an_address_dask_takes_is_taken(dask_cluster, monkeypatch) -> None:
    """Yesterday's batch environments: host:port without a protocol (Dask's tcp), the
    protocol in capitals."""
    address = dask_cluster.scheduler_address.removeprefix("tcp://")
    for given in (address, f"TCP://{address}", f" tcp://{address} "):
        with executor_for(given) as executor:
            assert executor.mode == "dask" and executor.workers == 2


def test_a_cluster_left_without_workers_stops_the_run(monkeypatch) -> None:
    """Every worker gone: Dask keeps the tasks waiting for one, and the run waited for ever
    with its folder locked. Now it stops once the cluster has had none for a while."""
    distributed = pytest.importorskip("dask.distributed")
    monkeypatch.setattr(parallel, "WORKERLESS_WAIT", 1.0)
    monkeypatch.setattr(parallel, "WAIT_STEP", 0.2)
    with distributed.LocalCluster(n_workers=0, processes=False, dashboard_address=None
                                  ) as cluster, DaskExecutor(cluster) as executor:
        started = time.monotonic()
        with pytest.raises(parallel.ClusterUnusable, match="ワーカーがいなくなりました"):
            executor.map(Job("numbers", square_where), 10)
        assert time.monotonic() - started < 30


def drawn_on_the_cluster(cluster) -> int:
    """Chunks of documents the cluster's workers have drawn so far (Dask names a task's
    prefix after its function, ``parallel._work_prepared``, without the underscore)."""
    from dask.distributed import Client

    with Client(cluster) as client:
        return client.run_on_scheduler(lambda dask_scheduler: sum(
            prefix.state_counts["memory"] for name, prefix in dask_scheduler.task_prefixes.items()
            if name.strip("_") == "work_prepared"))


def test_the_run_draws_its_documents_on_a_dask_cluster(tmp_path, dask_cluster, monkeypatch,
                                                       capsys) -> None:
    """``xlquote invoice --dask-scheduler``: the cluster's workers draw the month's documents
    (the run numbers them), and the month folder is the same, byte for byte, as a local
    run's: invoices, PDFs, the draft, the statement and the summary."""
    book = write_invoicing_workbook(tmp_path / "invoicing.xlsx", sample_contracts(),
                                    sample_incidents(), sample_packs(), sample_settings())
    command = ["invoice", str(book), "--month", "2026-10", "--issue-date", "2026-11-02", "--json"]
    monkeypatch.setenv("XLQUOTE_WORKERS", "1")
    assert main([*command, "--out", str(tmp_path / "local")]) == 1
    assert json.loads(capsys.readouterr().out)["executor"] == {"mode": "inline", "workers": 1}
    before = drawn_on_the_cluster(dask_cluster)
    address = dask_cluster.scheduler_address
    assert main([*command, "--out", str(tmp_path / "dask"), "--dask-scheduler", address]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["executor"] == {"mode": "dask", "workers": 2, "scheduler": address}
    assert drawn_on_the_cluster(dask_cluster) - before == 2  # the 17 invoices; draft + statement
    local, spread = digests(tmp_path / "local" / "2026-10"), digests(tmp_path / "dask" / "2026-10")
    assert spread == local and len(local) == 39
    assert [i["number"] for i in report["invoices"]] == [f"INV-202610-{k:04d}"
                                                         for k in range(1, 18)]
    assert not list((tmp_path / "dask").glob(".xlquote-probe-*"))
    # the scheduler from the environment (XLQUOTE_DASK_SCHEDULER), as on a batch server
    monkeypatch.setenv("XLQUOTE_DASK_SCHEDULER", address)
    assert main([*command, "--out", str(tmp_path / "env"), "--no-pdf"]) == 1
    assert json.loads(capsys.readouterr().out)["executor"]["mode"] == "dask"


def test_a_cluster_whose_workers_cannot_see_the_folder_changes_nothing(tmp_path, dask_cluster,
                                                                       monkeypatch,
                                                                       capsys) -> None:
    """A worker on another machine without the output folder mounted (its answer to the
    probe is given here: the test's workers share this machine) stops the run before the
    workbook is read: exit 3, the worker named, no register, no document."""
    from dask.distributed import Client

    book = write_invoicing_workbook(tmp_path / "invoicing.xlsx", sample_contracts(),
                                    sample_incidents(), sample_packs(), sample_settings())
    asked = []

    def far_worker(client, function, *args, **kwargs):
        asked.append(args)
        return {"tcp://10.0.0.9:40001": (False, parallel._xlquote_version(), "render-02")}

    monkeypatch.setattr(Client, "run", far_worker)
    out = tmp_path / "out"
    assert main(["invoice", str(book), "--month", "2026-10", "--out", str(out), "--json",
                 "--dask-scheduler", dask_cluster.scheduler_address]) == 3
    report = json.loads(capsys.readouterr().out)
    assert report["status"] == "write_failed"
    assert f"tcp://10.0.0.9:40001 (render-02): {out} が見えません" in report["message"]
    assert asked and Path(asked[0][0]).parent == out  # the probe was written in OUT
    assert not out.exists()  # made for the check: no register, marker, month or probe left


def test_a_worker_on_another_build_of_the_same_version_stops_the_run(tmp_path, dask_cluster,
                                                                    monkeypatch, capsys) -> None:
    """Only the version number was compared: a worker with a checkout of another commit (the
    version stays 0.1.0) passed, and drew its documents as that commit draws them."""
    from dask.distributed import Client

    here = parallel._xlquote_version()
    number, digest = here.split(" ")
    assert re.fullmatch(r"\([0-9a-f]{12}\)", digest)
    other = f"{number} (000000000000)"

    def other_build(client, function, probe, **kwargs):
        return {"tcp://10.0.0.9:40001": (True, other, "render-02")}

    monkeypatch.setattr(Client, "run", other_build)
    book = write_invoicing_workbook(tmp_path / "invoicing.xlsx", sample_contracts(),
                                    sample_incidents(), sample_packs(), sample_settings())
    assert main(["invoice", str(book), "--month", "2026-10", "--out", str(tmp_path / "out"),
                 "--json", "--dask-scheduler", dask_cluster.scheduler_address]) == 3
    message = json.loads(capsys.readouterr().out)["message"]
    assert f"tcp://10.0.0.9:40001: xlquote {other} (実行側は {here})" in message


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


def test_the_batch_writes_the_same_files_with_spawned_workers(tmp_path, monkeypatch) -> None:
    """What Windows and macOS do: the run builds each invoice, spawned workers write it."""
    book = write_invoicing_workbook(tmp_path / "invoicing.xlsx", sample_contracts(),
                                    sample_incidents(), sample_packs(), sample_settings())
    monkeypatch.setattr(parallel, "MIN_PARALLEL", 1)
    monkeypatch.setenv("XLQUOTE_WORKERS", "1")
    assert main(["invoice", str(book), "--month", "2026-10", "--out", str(tmp_path / "a")]) == 1
    monkeypatch.setenv("XLQUOTE_WORKERS", "2")
    monkeypatch.setattr(parallel, "default_start_method", lambda: "spawn")
    assert main(["invoice", str(book), "--month", "2026-10", "--out", str(tmp_path / "b")]) == 1
    assert digests(tmp_path / "a" / "2026-10") == digests(tmp_path / "b" / "2026-10")


def test_a_worker_killed_while_drawing_stops_the_run_with_nothing_changed(tmp_path, monkeypatch,
                                                                           capsys) -> None:
    book = write_invoicing_workbook(tmp_path / "invoicing.xlsx", sample_contracts(),
                                    sample_incidents(), sample_packs(), sample_settings())
    out = tmp_path / "out"
    monkeypatch.setattr(parallel, "MIN_PARALLEL", 1)  # the month's 19 documents: one chunk,
    monkeypatch.setenv("XLQUOTE_WORKERS", "2")  # which goes to the forked worker
    draw = documents.DRAWERS[("invoice", "xlsx")]

    def killed_in_a_worker(*args):
        if multiprocessing.parent_process() is not None:
            os._exit(9)  # out of memory, say
        return draw(*args)

    monkeypatch.setitem(documents.DRAWERS, ("invoice", "xlsx"), killed_in_a_worker)
    command = ["invoice", str(book), "--month", "2026-10", "--out", str(out), "--json"]
    assert main(command) == 3
    assert gc.get_freeze_count() == 0  # a run that fails leaves nothing frozen either
    report = json.loads(capsys.readouterr().out)
    assert report["status"] == "write_failed"
    assert re.match(r"writing documents: INV-202610-0001 … \S+ failed \(in a worker\): "
                    r"BrokenProcessPool", report["message"])
    assert not [p for p in (out / "2026-10").iterdir() if p.suffix in (".xlsx", ".pdf")]
    monkeypatch.setitem(documents.DRAWERS, ("invoice", "xlsx"), draw)
    assert main(command) == 1  # the next run issues the same numbers: none was used up
    numbers = [i["number"] for i in json.loads(capsys.readouterr().out)["invoices"]]
    assert numbers == [f"INV-202610-{k:04d}" for k in range(1, 18)]


def test_month_billed_over_several_processes_gives_the_same_summaries(monkeypatch) -> None:
    """bill_month spreads the contracts' totals over worker processes: the same summaries,
    in the same order, as one process, and the contexts still build the same invoices."""
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


def test_the_billing_run_is_freed_and_released_before_workers_are_forked(tmp_path,
                                                                          monkeypatch) -> None:
    """The month's incidents in contract order and their charges (~350 MB for a million) are
    no longer held once the invoices are billed, and freed memory is handed back before each
    fork: forked workers start holding every page their parent holds."""
    import gc
    import weakref

    from xlquote.app import invoice_run

    book = write_invoicing_workbook(tmp_path / "invoicing.xlsx", sample_contracts(),
                                    sample_incidents(), sample_packs(), sample_settings())
    runs: list[weakref.ref] = []
    released: list[str] = []

    def bill_month_kept(*args, **kwargs):
        run = bill_month(*args, **kwargs)
        runs.append(weakref.ref(run))
        return run

    def drawing(*args, **kwargs):
        gc.collect()
        released.append("billing run alive" if runs[0]() is not None else "drawing")
        return original_draw(*args, **kwargs)

    original_draw = invoice_run.Publisher.draw
    monkeypatch.setattr(invoice_run, "bill_month", bill_month_kept)
    monkeypatch.setattr(invoice_run.Publisher, "draw", drawing)
    monkeypatch.setattr(parallel, "release_freed_memory", lambda: released.append("released"))
    monkeypatch.setattr(parallel, "MIN_PARALLEL", 1)
    monkeypatch.setenv("XLQUOTE_WORKERS", "2")
    assert main(["invoice", str(book), "--month", "2026-10", "--out", str(tmp_path / "b")]) == 1
    assert "drawing" in released and "billing run alive" not in released
    drawn = released.index("drawing")
    assert released[drawn + 1] == "released"  # the documents' workers forked after it


def test_documents_are_drawn_costliest_first_and_recorded_as_drawn(tmp_path, monkeypatch) -> None:
    """With a small unit of cost, the sample's documents are drawn out of their order, on two
    processes though fewer than MIN_PARALLEL: each file the register records is the file of
    that document."""
    from xlquote.app import publishing
    from xlquote.app.invoice_run import choose_register

    monkeypatch.setattr(publishing, "DOCUMENT_CONTENT_BYTES", 16)
    monkeypatch.setenv("XLQUOTE_WORKERS", "2")
    plans = []
    plan = publishing._drawing_plan
    monkeypatch.setattr(publishing, "_drawing_plan", lambda jobs: plans.append(plan(jobs))
                        or plans[-1])
    book = write_invoicing_workbook(tmp_path / "invoicing.xlsx", sample_contracts(),
                                    sample_incidents(), sample_packs(), sample_settings())
    out = tmp_path / "out"
    assert main(["invoice", str(book), "--month", "2026-10", "--out", str(out)]) == 1
    order, chunk, least = plans[0]
    assert order != sorted(order) and chunk == 1 and least == 2
    files = digests(out / "2026-10")
    register = choose_register(out)
    recorded = {f"{d.file_stem}.{role}": record.sha256
                for d in register.list("2026-10") for role, record in d.files.items()}
    assert len(recorded) == 34 and recorded.items() <= files.items()


def test_the_drawing_plan_weighs_documents_by_their_content() -> None:
    from xlquote.app.publishing import DOCUMENT_CONTENT_BYTES, _drawing_plan
    from xlquote.engine.dates import Month

    def jobs(*sizes: int) -> list[RenderJob]:
        settings = demo_documents()[0].settings
        return [RenderJob(Month(2026, 10), f"d{i}", ("xlsx",), settings, content=b"x" * size)
                for i, size in enumerate(sizes)]

    many_small = jobs(*[500] * 1_000)
    assert _drawing_plan(many_small)[1:] == (31, 2)  # chunks of ~32 small invoices
    assert _drawing_plan(jobs(500, 600))[1:] == (30, None)  # left to the executor: in-process
    statements = jobs(500, 40 * DOCUMENT_CONTENT_BYTES, 3 * DOCUMENT_CONTENT_BYTES,
                      40 * DOCUMENT_CONTENT_BYTES)
    assert _drawing_plan(statements) == ([1, 3, 2, 0], 1, 2)


def test_objects_frozen_nests_and_a_run_leaves_nothing_frozen(tmp_path, monkeypatch):
    """The run freezes what lives through it, the forked map freezes again inside: the inner
    block's end keeps the outer freeze, the outer one's end unfreezes, and a run leaves the
    process as it found it."""
    from xlquote.memory import objects_frozen

    assert gc.get_freeze_count() == 0
    with objects_frozen():
        outer = gc.get_freeze_count()
        assert outer > 0
        with objects_frozen():
            pass
        assert gc.get_freeze_count() >= outer
    assert gc.get_freeze_count() == 0

    seen: list[int] = []
    draw = documents.DRAWERS[("invoice", "xlsx")]

    def counting(layout):
        seen.append(gc.get_freeze_count())
        return draw(layout)

    monkeypatch.setitem(documents.DRAWERS, ("invoice", "xlsx"), counting)
    monkeypatch.setenv("XLQUOTE_WORKERS", "1")
    book = write_invoicing_workbook(tmp_path / "invoicing.xlsx", sample_contracts(),
                                    sample_incidents(), sample_packs(), sample_settings())
    assert main(["invoice", str(book), "--month", "2026-10", "--out", str(tmp_path / "out")]) == 1
    assert seen and min(seen) > 0  # the month's objects frozen while it draws
    assert gc.get_freeze_count() == 0


def test_a_cluster_refusing_the_folder_leaves_no_folder_behind(tmp_path, monkeypatch) -> None:
    """A worker that cannot see a new (relative) --out: exit 3 「何も変更していません」, and
    the folder the run had made for the check is gone again."""
    def cannot_see(self, folder: Path) -> None:
        raise parallel.ClusterUnusable(f"{folder} が見えません。何も変更していません")

    monkeypatch.setenv("XLQUOTE_WORKERS", "1")
    monkeypatch.setattr(InlineExecutor, "check_folder", cannot_see)
    book = write_invoicing_workbook(tmp_path / "invoicing.xlsx", sample_contracts(),
                                    sample_incidents(), sample_packs(), sample_settings())
    assert main(["invoice", str(book), "--month", "2026-10", "--out",
                 str(tmp_path / "new" / "out")]) == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["invoicing.xlsx"]
