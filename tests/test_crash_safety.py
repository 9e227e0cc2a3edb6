"""Crash safety as a property: a run killed at any step boundary of publishing
(``XLQUOTE_FAULT_AT``, ``os._exit`` at that point) never leaves a number that stands for two
documents, nor a numbered file the register does not know; the next run repairs the folder to
exactly what an uninterrupted run makes. The folder is locked on its own: two runs on one
``--out`` take turns. Each test runs with an SQLite and with a PostgreSQL register (a run
killed on a server leaves its transaction to be rolled back by the server)."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
from pathlib import Path

import pytest
from clerk import ISSUED, MONTH, files, workbook
from registers import register_args, using

from xlquote.app.publishing import FAULT_ENV, FAULT_EXIT, STAGING_PREFIX, STEPS
from xlquote.cli import main

# The steps each job passes (a void has no drafts or statements to write).
INVOICE_STEPS = STEPS
VOID_STEPS = tuple(s for s in STEPS if s != "working")


def xlquote(*args: str, fault: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != FAULT_ENV}
    if fault:
        env[FAULT_ENV] = fault
    return subprocess.run([sys.executable, "-m", "xlquote", *args], capture_output=True,
                          text=True, timeout=300, env=env)


def issue(book: Path, out: Path, *extra: str, fault: str | None = None
          ) -> subprocess.CompletedProcess[str]:
    return xlquote("invoice", str(book), "--month", MONTH, "--out", str(out), "--issue-date",
                   ISSUED, *extra, *register_args(out), fault=fault)


def void(out: Path, fault: str | None = None) -> subprocess.CompletedProcess[str]:
    return xlquote("register", "void", "INV-202610-0004", "--reason", "誤発行", "--out", str(out),
                   "--issue-date", "2026-12-01", *register_args(out), fault=fault)


def assert_consistent(out: Path, registers) -> None:
    """Every numbered file is a document the register knows, under that document's name: no
    number stands for two documents, and no file was published without its record."""
    month = out / MONTH
    if not month.exists():
        return
    register = registers.open(out)
    docs = {d.number: d for d in register.list(MONTH)} if register.exists() else {}
    stems: dict[str, set[str]] = {}
    for path in month.iterdir():
        if path.name.startswith(STAGING_PREFIX):
            continue
        name = path.name.removeprefix("取消_")
        if not name.startswith("INV-"):
            continue
        number = name.split("_", 1)[0]
        assert number in docs, f"{path.name}: no such number in the register"
        assert name.rsplit(".", 1)[0] == docs[number].file_stem
        if path.name.startswith("取消_"):
            assert docs[number].cancellation is not None
        stems.setdefault(number, set()).add(name.rsplit(".", 1)[0])
    assert all(len(s) == 1 for s in stems.values())
    for doc in docs.values():
        if doc.state == "issued":
            assert (month / f"{doc.file_stem}.xlsx").is_file(), doc.number


def assert_same(out: Path, reference: Path, registers) -> None:
    assert files(out / MONTH) == files(reference / MONTH)
    assert [(d.number, d.status) for d in registers.open(out).list()] == [
        (d.number, d.status) for d in registers.open(reference).list()]
    assert not list((out / MONTH).glob(f"{STAGING_PREFIX}*"))


@pytest.fixture(scope="module")
def books(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("books")
    return (workbook(folder / "invoicing.xlsx"),
            workbook(folder / "changed.xlsx", incidents={"I-1003": {"minutes": 300}}))


@pytest.fixture(scope="module")
def references(books, registers, tmp_path_factory) -> dict[str, Path]:
    """Folders made without interruption: issued; issued then corrected; issued then void."""
    book, changed = books
    root = tmp_path_factory.mktemp(f"references-{registers.kind}")
    issued = root / "issued"
    with using(registers):
        assert issue(book, issued).returncode == 1
        corrected = root / "corrected"
        registers.copy(issued, corrected)
        assert issue(changed, corrected, "--correct").returncode == 1
        voided = root / "voided"
        registers.copy(issued, voided)
        assert void(voided).returncode == 0
        assert issue(book, voided).returncode == 1  # the repairing run's summary
    return {"issued": issued, "corrected": corrected, "voided": voided}


KILLS = ([("issued", step) for step in INVOICE_STEPS]
         + [("corrected", step) for step in INVOICE_STEPS]
         + [("voided", step) for step in VOID_STEPS])


@pytest.mark.parametrize(("outcome", "step"), KILLS)
def test_killed_at_each_step_then_repaired(books, references, registers, tmp_path, outcome,
                                          step):
    """A first issue, a correction or a void is killed at ``step``; the folder stays
    consistent, issued files untouched; the next run makes it what an uninterrupted run
    makes (for a void, any run on the folder finishes the cancellation)."""
    book, changed = books
    out = tmp_path / "out"
    if outcome != "issued":
        registers.copy(references["issued"], out)
    kill, repair = {
        "issued": (lambda: issue(book, out, fault=step), lambda: issue(book, out)),
        "corrected": (lambda: issue(changed, out, "--correct", fault=step),
                      lambda: issue(changed, out, "--correct")),
        "voided": (lambda: void(out, fault=step), lambda: issue(book, out)),
    }[outcome]
    killed = kill()
    assert killed.returncode == FAULT_EXIT, killed.stderr
    assert_consistent(out, registers)
    if outcome != "issued":
        issued = files(references["issued"] / MONTH)
        assert all(files(out / MONTH).get(name) == digest for name, digest in issued.items()
                   if name.startswith("INV-"))
    repaired = repair()
    assert repaired.returncode == 1, repaired.stderr
    assert_consistent(out, registers)
    assert_same(out, references[outcome], registers)


def _run(book: str, out: str, register: str | None) -> int:
    args = ["invoice", book, "--month", MONTH, "--out", out, "--issue-date", ISSUED, "--json"]
    return main(args + (["--register", register] if register else []))


def test_two_runs_on_one_folder_take_turns(books, registers, tmp_path):
    book, _ = books
    out = str(tmp_path / "out")
    register = None if registers.kind == "sqlite" else registers.location(out)
    with multiprocessing.get_context("fork").Pool(2) as pool:
        codes = pool.starmap(_run, [(str(book), out, register), (str(book), out, register)])
    assert codes == [1, 1]
    numbers = [d.number for d in registers.open(out).list()]
    assert len(numbers) == len(set(numbers)) == 17


def test_runs_with_two_registers_on_one_folder_cannot_wipe_each_other(books, registers,
                                                                     tmp_path):
    book, _ = books
    out = str(tmp_path / "out")
    first, second = (registers.location(tmp_path / name) for name in ("a", "b"))
    with multiprocessing.get_context("fork").Pool(2) as pool:
        codes = pool.starmap(_run, [(str(book), out, first), (str(book), out, second)])
    assert sorted(codes) == [1, 2]  # the second is refused: the folder has its register
    numbered = [n for n in files(Path(out) / MONTH) if n.startswith("INV-")]
    assert len(numbered) == 34  # 17 invoices, xlsx and PDF, of one register
    numbering = registers.open(tmp_path / ("a" if codes[0] == 1 else "b"))
    assert len(numbering.list()) == 17


@pytest.mark.parametrize(("step", "finished"), [
    ("recorded", []), ("staged", []),
    ("publishing", [f"INV-202610-{i:04d}" for i in range(1, 18)])])
def test_a_run_for_another_month_finishes_what_was_killed(books, references, registers,
                                                          tmp_path, step, finished):
    """Killed once its files began to be put in place (publishing): the next run, for any
    month, finishes every document of it, those whose files are not in place yet too. Killed
    before (recorded, staged), nobody saw them: it withdraws them, and October's own run
    issues them under the same numbers."""
    book, _ = books
    out = tmp_path / "out"
    assert issue(book, out, fault=step).returncode == FAULT_EXIT
    september = xlquote("invoice", str(book), "--month", "2026-09", "--out", str(out),
                        "--issue-date", "2026-10-01", *register_args(out))
    assert september.returncode == 0, september.stderr
    assert [(d.number, d.state) for d in registers.open(out).list(MONTH)] == [
        (number, "issued") for number in finished]
    assert sorted({p.name.split("_")[0] for p in (out / MONTH).glob("INV-*")}) == finished
    assert issue(book, out).returncode == 1
    assert files(out / MONTH) == files(references["issued"] / MONTH)
    assert [(d.number, d.status) for d in registers.open(out).list(MONTH)] == [
        (d.number, d.status) for d in registers.open(references["issued"]).list(MONTH)]


def test_files_moved_away_after_a_killed_run_stay_as_they_went_out(books, registers,
                                                                   tmp_path):
    """Killed once every file was in place (published), the files then moved away (mailed)
    and a row changed: the next run withdrew the documents (no file in place) and issued
    other amounts under the same numbers, without a word. Now it finishes them as they went
    out, and the change is refused as a change to issued invoices (--correct to correct)."""
    book, changed = books
    out, sent = tmp_path / "out", tmp_path / "sent"
    assert issue(book, out, fault="published").returncode == FAULT_EXIT
    sent.mkdir()
    for path in (out / MONTH).glob("INV-*"):
        path.rename(sent / path.name)
    rerun = issue(changed, out)
    assert rerun.returncode == 2 and "INV-202610-0001 (C001" in rerun.stderr
    assert {k: v for k, v in files(out / MONTH).items() if k.startswith("INV-")} == files(sent)
    assert {d.state for d in registers.open(out).list(MONTH)} == {"issued"}


@pytest.mark.parametrize("step", ["recorded", "staged"])
def test_documents_never_published_are_billed_from_the_workbook_as_it_is_now(
        books, registers, tmp_path, step):
    """A run stopped before any file was in place (killed, or a full disk that kept even the
    register from forgetting): the clerk fixes a row and runs again. Its documents are issued
    as the workbook now bills them, under the same numbers, with no correction of a document
    nobody received (before: the old amounts were issued, then refused as changed)."""
    book, changed = books
    out = tmp_path / "out"
    assert issue(book, out, fault=step).returncode == FAULT_EXIT
    assert issue(changed, out).returncode == 1  # no --correct needed: nothing was issued
    docs = registers.open(out).list(MONTH)
    assert [d.number for d in docs] == [f"INV-{MONTH.replace('-', '')}-{i:04d}"
                                        for i in range(1, 18)]
    assert all(d.corrects is None and d.status == "issued" for d in docs)
    reference = tmp_path / "reference"  # the changed workbook issued without interruption
    assert issue(changed, reference).returncode == 1
    assert files(out / MONTH) == files(reference / MONTH)
