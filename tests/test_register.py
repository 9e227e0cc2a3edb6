"""The invoice register: numbers unique and stable, changes refused or corrected, runs that
overlap or die leave it consistent."""

from __future__ import annotations

import multiprocessing
import os
import time
from pathlib import Path

import pytest
from helpers import contract, incident

from xlquote import bill_month
from xlquote.app.register import Register, RegisterError, content_hash

CONTRACTS = [contract("A1", start_date="2026-07-01"), contract("A2", start_date="2026-07-01"),
             contract("M1", plan="monthly", max_incidents=2)]


def month_invoices(minutes: int = 20):
    incidents = [incident("a", "2026-10-05", "A1", channel="phone", minutes=minutes),
                 incident("b", "2026-10-06", "A2", channel="phone", minutes=50)]
    return bill_month(CONTRACTS, incidents, "2026-10").invoices


def issue(register: Register, invoices, correct: bool = False):
    with register.session() as session:
        return session.plan(invoices, correct)


def test_numbers_are_sequential_per_month_and_stable_on_rerun(tmp_path: Path) -> None:
    register = Register(tmp_path / "register.sqlite3")
    first = issue(register, month_invoices())
    assert [a.number for a in first] == ["INV-202610-0001", "INV-202610-0002", "INV-202610-0003"]
    assert {a.status for a in first} == {"new"}
    again = issue(register, month_invoices())
    assert [a.number for a in again] == [a.number for a in first]
    assert {a.status for a in again} == {"unchanged"}
    assert len(register.list()) == 3


def test_changed_inputs_are_refused_naming_the_invoice(tmp_path: Path) -> None:
    register = Register(tmp_path / "register.sqlite3")
    issue(register, month_invoices(minutes=20))
    with pytest.raises(RegisterError) as caught:
        issue(register, month_invoices(minutes=70))
    assert "INV-202610-0001 (A1, total 2,200 → 11,000)" in str(caught.value)
    assert "--correct" in str(caught.value)
    assert len(register.list()) == 3  # nothing recorded


def test_correct_issues_a_correction_referencing_the_original(tmp_path: Path) -> None:
    register = Register(tmp_path / "register.sqlite3")
    issue(register, month_invoices(minutes=20))
    plan = issue(register, month_invoices(minutes=70), correct=True)
    correction = next(a for a in plan if a.status == "correction")
    assert correction.number == "INV-202610-0004"
    assert correction.original is not None and correction.original.number == "INV-202610-0001"
    original, corrections = register.show("INV-202610-0001")
    assert original.total == 2200
    assert [(c.number, c.kind, c.total) for c in corrections] == [
        ("INV-202610-0004", "correction", 11000)]
    # the corrected version is now the one in force: a rerun of it changes nothing
    assert {a.status for a in issue(register, month_invoices(minutes=70))} == {"unchanged"}


def test_an_issued_invoice_that_disappears_is_refused(tmp_path: Path) -> None:
    register = Register(tmp_path / "register.sqlite3")
    issue(register, month_invoices())
    with pytest.raises(RegisterError, match=r"no longer produced.*INV-202610-0002 \(A2\)"):
        issue(register, [i for i in month_invoices() if i.contract.contract_id != "A2"])


def test_hash_ignores_the_number_only() -> None:
    a, b = month_invoices()[0], month_invoices()[0]
    b.number = "other"
    assert content_hash(a) == content_hash(b)
    b.lines = b.lines[:-1]
    assert content_hash(a) != content_hash(b)


def test_number_format_setting(tmp_path: Path) -> None:
    register = Register(tmp_path / "r.sqlite3", number_format="{year}{month:02d}/{seq:03d}")
    assert issue(register, month_invoices())[0].number == "202610/001"
    with pytest.raises(RegisterError, match="number format"):
        Register(tmp_path / "r.sqlite3", number_format="{year}-{nope}")


def _hold_session(path: str, started, seconds: float) -> None:
    register = Register(path)
    with register.session() as session:
        session.plan(month_invoices(), False)
        started.set()
        time.sleep(seconds)


def test_a_second_run_waits_or_fails_clearly(tmp_path: Path) -> None:
    path = str(tmp_path / "register.sqlite3")
    started = multiprocessing.Event()
    holder = multiprocessing.Process(target=_hold_session, args=(path, started, 3.0))
    holder.start()
    try:
        assert started.wait(20)
        with pytest.raises(RegisterError, match=r"busy.*another billing run"):
            issue(Register(path, timeout=0.5), month_invoices())
        waited = issue(Register(path, timeout=30), month_invoices())  # waits for the holder
        assert {a.status for a in waited} == {"unchanged"}
    finally:
        holder.join(20)
    assert len(Register(path).list()) == 3


def _die_mid_run(path: str) -> None:
    register = Register(path)
    with register.session() as session:
        session.plan(month_invoices(), False)
        os._exit(9)  # killed after numbers were handed out, before the run finished


def test_a_run_killed_midway_leaves_the_register_unchanged(tmp_path: Path) -> None:
    path = str(tmp_path / "register.sqlite3")
    process = multiprocessing.Process(target=_die_mid_run, args=(path,))
    process.start()
    process.join(20)
    assert process.exitcode == 9
    register = Register(path)
    assert register.list() == []
    assert issue(register, month_invoices())[0].number == "INV-202610-0001"


def _open_session(path: str, results) -> None:
    try:
        with Register(path).session():
            pass
        results.put("ok")
    except RegisterError as exc:
        results.put(str(exc))


def test_runs_creating_the_register_at_the_same_moment_all_succeed(tmp_path: Path) -> None:
    # SQLite does not retry the journal-mode switch: creation races once made one run fail
    context = multiprocessing.get_context("fork")
    for attempt in range(40):
        path = str(tmp_path / f"register-{attempt}.sqlite3")
        results = context.Queue()
        processes = [context.Process(target=_open_session, args=(path, results))
                     for _ in range(4)]
        for process in processes:
            process.start()
        for process in processes:
            process.join(30)
        assert [results.get(timeout=5) for _ in processes] == ["ok"] * 4
