"""Issued invoices through the batch: stable numbers, identical reruns, refusals, corrections,
concurrent runs and runs killed mid-way."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import openpyxl
import pytest

from xlquote.app.register import Register
from xlquote.app.sample import sample_contracts, sample_incidents, sample_packs, sample_settings
from xlquote.app.workbooks.invoicing import write_invoicing_workbook
from xlquote.cli import main

MONTH = "2026-10"


def workbook(path: Path, change_minutes: int | None = None) -> Path:
    incidents = sample_incidents()
    if change_minutes is not None:  # C001's chat (I-1003) grows from 100 minutes (level 4)
        for row in incidents:
            if row["incident_id"] == "I-1003":
                row["minutes"] = change_minutes
    return write_invoicing_workbook(path, sample_contracts(), incidents, sample_packs(),
                                    sample_settings())


def files(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.iterdir()) if p.is_file()}


def invoice(out: Path, *args: str) -> int:
    return main(["invoice", *args, "--month", MONTH, "--out", str(out)])


@pytest.fixture
def issued(tmp_path: Path) -> tuple[Path, Path]:
    book = workbook(tmp_path / "invoicing.xlsx")
    out = tmp_path / "out"
    assert invoice(out, str(book)) == 1  # the sample carries attention flags on purpose
    return book, out


def test_rerun_gives_identical_files_and_no_new_numbers(issued, tmp_path):
    book, out = issued
    before = files(out / MONTH)
    numbers = [r.number for r in Register(out / "register.sqlite3").list()]
    assert len(numbers) == 19 and numbers[0] == "INV-202610-0001"
    time.sleep(1.1)  # a different clock second must not change a byte
    assert invoice(out, str(book)) == 1
    assert files(out / MONTH) == before
    assert [r.number for r in Register(out / "register.sqlite3").list()] == numbers


def test_changed_inputs_are_refused_and_nothing_is_overwritten(issued, tmp_path, capsys):
    _, out = issued
    before = files(out / MONTH)
    changed = workbook(tmp_path / "changed.xlsx", change_minutes=300)
    assert invoice(out, str(changed)) == 2
    err = capsys.readouterr().err
    assert "INV-202610-0001 (C001, total 24,200 → 30,800)" in err and "--correct" in err
    assert files(out / MONTH) == before
    assert len(Register(out / "register.sqlite3").list()) == 19


def test_correct_issues_a_correction_invoice(issued, tmp_path, capsys):
    _, out = issued
    changed = workbook(tmp_path / "changed.xlsx", change_minutes=300)
    assert invoice(out, str(changed), "--correct", "--json") == 1
    result = json.loads(capsys.readouterr().out)
    assert result["register"]["correction"] == 1 and result["register"]["unchanged"] == 18
    (path,) = (out / MONTH).glob("INV-202610-0020_C001_*.xlsx")
    ws = openpyxl.load_workbook(path)["請求書"]
    assert ws["A1"].value == "請求書（修正インボイス）"
    assert ws["A2"].value == "請求書 INV-202610-0001 （合計 ¥24,200）を修正します。差額 ¥+6,600"
    assert not list((out / MONTH).glob("INV-202610-0001_*"))  # the month shows what is in force
    assert main(["register", "--out", str(out), "show", "INV-202610-0001"]) == 0
    shown = capsys.readouterr().out
    assert "corrected by INV-202610-0020" in shown
    # the correction is now the version in force: rerunning it changes nothing
    before = files(out / MONTH)
    assert invoice(out, str(changed), "--correct") == 1
    assert files(out / MONTH) == before


def test_register_list_cli(issued, capsys):
    _, out = issued
    assert main(["register", "--out", str(out), "list", "--month", MONTH, "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 19 and len({r["number"] for r in rows}) == 19
    assert main(["register", "--out", str(out / "nowhere"), "list"]) == 2


def _run_batch(book: str, out: str) -> int:
    return main(["invoice", book, "--month", MONTH, "--out", out, "--json"])


def test_two_runs_at_once_never_share_a_number(tmp_path):
    book = str(workbook(tmp_path / "invoicing.xlsx"))
    out = str(tmp_path / "out")
    with multiprocessing.get_context("fork").Pool(2) as pool:
        codes = pool.starmap(_run_batch, [(book, out), (book, out)])
    assert codes == [1, 1]
    numbers = [r.number for r in Register(Path(out) / "register.sqlite3").list()]
    assert len(numbers) == len(set(numbers)) == 19


CRASH = """
import os, sys
from xlquote.cli import main
from xlquote.app import invoice_run
point = sys.argv[1]
if point == "writing":  # die while the invoice files are being written
    original, calls = invoice_run.write_invoice_workbook, []
    def write(*args, **kwargs):
        calls.append(1)
        if len(calls) == 5:
            os._exit(9)
        return original(*args, **kwargs)
    invoice_run.write_invoice_workbook = write
elif point == "swapped":  # die after the month's folder is in place, before the register commits
    original_swap = invoice_run.replace_folder
    def swap(new, target):
        original_swap(new, target)
        os._exit(9)
    invoice_run.replace_folder = swap
sys.exit(main(["invoice", sys.argv[2], "--month", "2026-10", "--out", sys.argv[3]]))
"""


@pytest.mark.parametrize("point", ["writing", "swapped"])
def test_a_run_killed_midway_leaves_register_and_folder_consistent(tmp_path, point):
    book = str(workbook(tmp_path / "invoicing.xlsx"))
    reference = tmp_path / "reference"
    assert invoice(reference, book) == 1
    out = tmp_path / "out"
    died = subprocess.run([sys.executable, "-c", CRASH, point, book, str(out)],
                          capture_output=True, text=True, timeout=120)
    assert died.returncode == 9, died.stderr
    register = Register(out / "register.sqlite3")
    assert register.list() == []  # nothing committed
    month = out / MONTH
    if point == "writing":
        assert not month.exists()  # no half-written month
    else:
        assert files(month) == files(reference / MONTH)  # the whole month, already numbered
    assert invoice(out, book) == 1  # the rerun completes the job
    assert files(month) == files(reference / MONTH)
    assert [r.number for r in register.list()] == [
        r.number for r in Register(reference / "register.sqlite3").list()]
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == []  # no leftovers


def test_sigkill_at_any_moment_is_recoverable(tmp_path):
    book = str(workbook(tmp_path / "invoicing.xlsx"))
    reference = tmp_path / "reference"
    assert invoice(reference, book) == 1
    out = tmp_path / "out"
    for delay in (0.5, 1.5, 2.5, 3.5):
        process = subprocess.Popen([sys.executable, "-m", "xlquote", "invoice", book,
                                    "--month", MONTH, "--out", str(out)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait(30)
        issued = Register(out / "register.sqlite3").list() if (out / "register.sqlite3").exists() \
            else []
        assert len(issued) in (0, 19)  # all of the month's numbers or none
        if (out / MONTH).exists():
            assert files(out / MONTH) == files(reference / MONTH)
    assert invoice(out, book) == 1
    assert files(out / MONTH) == files(reference / MONTH)
    assert sorted(p.name for p in out.iterdir()) == [MONTH, "register.sqlite3"]
    os.sync()
