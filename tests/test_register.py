"""The invoice register on its own, on SQLite and on PostgreSQL: numbers from one counter per
month, transactions that overlap or die, registers created by several runs at once, JST
timestamps; the URL of a server register (its driver, its password kept out of what is printed
or written); taking over a register of the first format (SQLite)."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import sqlite3
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from xlquote.app.register import SCHEMA_VERSION, Register, RegisterError, RegisterUnavailable
from xlquote.engine.dates import Month
from xlquote.engine.settings import REGISTER_PASSWORD_REFUSED

OCTOBER = Month(2026, 10)


def take(register: Register, count: int, month: Month = OCTOBER) -> list[str]:
    with register.transaction() as ledger:
        return [number for _, number in ledger.take_numbers(month, count)]


def test_numbers_are_sequential_per_month(tmp_path: Path, registers) -> None:
    register = registers.open(tmp_path)
    assert take(register, 3) == ["INV-202610-0001", "INV-202610-0002", "INV-202610-0003"]
    assert take(register, 1, Month(2026, 11)) == ["INV-202611-0001"]
    assert take(register, 2) == ["INV-202610-0004", "INV-202610-0005"]


def test_numbers_given_back_only_when_none_came_after(tmp_path: Path, registers) -> None:
    register = registers.open(tmp_path)
    take(register, 2)
    with register.transaction() as ledger:
        ledger.give_back(OCTOBER, [2])  # the last ones: the counter goes back
    assert take(register, 1) == ["INV-202610-0002"]
    with register.transaction() as ledger:
        ledger.give_back(OCTOBER, [1])  # 2 was handed out since: 1 stays a gap
    assert take(register, 1) == ["INV-202610-0003"]


def test_a_failed_transaction_hands_out_nothing(tmp_path: Path, registers) -> None:
    register = registers.open(tmp_path)
    with pytest.raises(RuntimeError), register.transaction() as ledger:
        ledger.take_numbers(OCTOBER, 5)
        raise RuntimeError("the run failed")
    assert take(register, 1) == ["INV-202610-0001"]


def test_number_format_setting(tmp_path: Path, registers) -> None:
    location = registers.location(tmp_path)
    register = Register(location, number_format="{year}{month:02d}/{seq:03d}")
    assert take(register, 1) == ["202610/001"]
    with pytest.raises(RegisterError, match="number format"):
        Register(location, number_format="{year}-{nope}")


def test_timestamps_are_japan_time(tmp_path: Path, registers) -> None:
    register = registers.open(tmp_path)
    with register.reading() as ledger:
        created = dt.datetime.fromisoformat(ledger.info("created_at") or "")
    assert created.utcoffset() == dt.timedelta(hours=9)
    assert created.isoformat().endswith("+09:00")


def _hold_transaction(path: str, started, seconds: float) -> None:
    with Register(path).transaction() as ledger:
        ledger.take_numbers(OCTOBER, 1)
        started.set()
        time.sleep(seconds)


def test_a_second_writer_waits_or_fails_clearly(tmp_path: Path, registers) -> None:
    path = registers.location(tmp_path)
    assert Register(path).register_id  # created before the race
    started = multiprocessing.Event()
    holder = multiprocessing.Process(target=_hold_transaction, args=(path, started, 3.0))
    holder.start()
    try:
        assert started.wait(20)
        with pytest.raises(RegisterUnavailable, match=r"使用中.*別の請求処理が書き込んで"):
            take(Register(path, timeout=0.5), 1)
        assert take(Register(path, timeout=30), 1) == ["INV-202610-0002"]  # waited
    finally:
        holder.join(20)


def _die_in_transaction(path: str) -> None:
    with Register(path).transaction() as ledger:
        ledger.take_numbers(OCTOBER, 3)
        os._exit(9)  # killed before the transaction commits


def test_a_transaction_killed_midway_leaves_the_register_unchanged(tmp_path: Path,
                                                                    registers) -> None:
    path = registers.location(tmp_path)
    process = multiprocessing.Process(target=_die_in_transaction, args=(path,))
    process.start()
    process.join(20)
    assert process.exitcode == 9
    assert take(Register(path), 1) == ["INV-202610-0001"]


def _open(path: str, results) -> None:
    try:
        register = Register(path)
        assert register.register_id
        results.put(("ok", register.created))
    except Exception as exc:  # reported to the test, which shows it
        results.put((repr(exc), False))


def test_runs_creating_the_register_at_the_same_moment_all_succeed(tmp_path: Path,
                                                                   registers) -> None:
    context = multiprocessing.get_context("fork")
    for attempt in range(20):
        path = registers.location(tmp_path / f"attempt-{attempt}")
        results = context.Queue()
        processes = [context.Process(target=_open, args=(path, results)) for _ in range(4)]
        for process in processes:
            process.start()
        for process in processes:
            process.join(30)
        answers = [results.get(timeout=5) for _ in processes]
        assert [outcome for outcome, _ in answers] == ["ok"] * 4
        assert sum(created for _, created in answers) == 1  # announced by one run only
        with Register(path).reading() as ledger:  # one register id, created once
            assert ledger.info("register_id")
            assert ledger.info("schema") == SCHEMA_VERSION


FIRST_FORMAT = """
CREATE TABLE invoices (
    number TEXT PRIMARY KEY, month TEXT NOT NULL, seq INTEGER NOT NULL,
    contract_id TEXT NOT NULL, customer TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('invoice', 'correction')),
    corrects TEXT REFERENCES invoices(number), subtotal INTEGER NOT NULL,
    tax INTEGER NOT NULL, total INTEGER NOT NULL, content_hash TEXT NOT NULL,
    issued_at TEXT NOT NULL, UNIQUE (month, seq));
INSERT INTO invoices VALUES ('INV-202610-0001', '2026-10', 1, 'C001', '株式会社アオバ商事',
    'invoice', NULL, 22000, 2200, 24200, 'abc', '2026-11-02T00:00:00+00:00');
INSERT INTO invoices VALUES ('INV-202610-0002', '2026-10', 2, 'C001', '株式会社アオバ商事',
    'correction', 'INV-202610-0001', 28000, 2800, 30800, 'def', '2026-11-20T00:00:00+00:00');
"""


def test_a_register_of_the_first_format_is_taken_over(tmp_path: Path) -> None:
    path = tmp_path / "register.sqlite3"
    with sqlite3.connect(path) as connection:
        connection.executescript(FIRST_FORMAT)
    register = Register(path)
    first, second = register.list("2026-10")
    assert (first.number, first.status, first.corrected_by) == (
        "INV-202610-0001", "corrected", "INV-202610-0002")
    assert (second.kind, second.corrects, second.total) == ("correction", "INV-202610-0001",
                                                            30800)
    assert first.file_stem == "INV-202610-0001_C001_株式会社アオバ商事"  # as those runs named it
    assert take(register, 1) == ["INV-202610-0003"]  # numbering goes on


def test_a_server_url_goes_through_psycopg_and_a_password_in_it_is_refused() -> None:
    for given in ("postgresql://clerk@db.example.jp:5433/billing?sslmode=require",
                  "postgres://clerk@db.example.jp:5433/billing?sslmode=require",
                  "postgresql+psycopg://clerk@db.example.jp:5433/billing?sslmode=require"):
        register = Register(given)
        assert register.kind == "postgresql"
        assert register.url.drivername == "postgresql+psycopg"
        assert register.display == ("postgresql://clerk@db.example.jp:5433/billing"
                                    "?sslmode=require")
        assert register.location == register.display
    assert Register("sqlite:////srv/billing/register.sqlite3").path == Path(
        "/srv/billing/register.sqlite3")
    for wrong in ("postgresql://clerk:s3cret@db/billing",
                  "postgresql+psycopg://clerk:s3cret@db.example.jp:5433/billing",
                  "postgresql://clerk@/billing?host=/run/pg&password=s3cret",
                  "postgresql://clerk@/billing?sslpassword=s3cret"):
        with pytest.raises(RegisterError) as refused:
            Register(wrong)
        assert str(refused.value) == REGISTER_PASSWORD_REFUSED  # the message Settings gives
    for wrong in ("mysql://clerk:s3cret@db/billing", "postgresql://clerk:s3cret@db"):
        with pytest.raises(RegisterError) as refused:
            Register(wrong)
        assert "s3cret" not in str(refused.value)


def test_a_server_that_cannot_be_reached_is_exit_3(tmp_path: Path) -> None:
    register = Register(f"postgresql://clerk@/billing?host={tmp_path}")  # no server
    with pytest.raises(RegisterUnavailable) as failed:
        register.list()
    assert str(failed.value).startswith(
        f"請求番号台帳 postgresql://clerk@/billing?host={tmp_path} に接続できません: ")
    assert "\n" not in str(failed.value)


def test_a_register_of_the_previous_version_gains_the_output_folders(tmp_path: Path,
                                                                       registers) -> None:
    register = registers.open(tmp_path)
    take(register, 2)
    with register.transaction() as ledger:  # as the previous version left it
        ledger.connection.execute(sa.text("DROP TABLE output_folders"))
        ledger.connection.execute(sa.text("UPDATE register_info SET value = '2' "
                                          "WHERE key = 'schema'"))
    again = Register(registers.location(tmp_path))
    with again.transaction() as ledger:
        ledger.note_folder("f1", "/srv/billing/out", "billing-01")
    assert not again.created
    with again.reading() as ledger:
        assert ledger.folders() == {"f1": "billing-01:/srv/billing/out"}
        assert ledger.info("schema") == SCHEMA_VERSION
    assert take(again, 1) == ["INV-202610-0003"]


def test_a_register_of_a_later_version_is_not_used(tmp_path: Path, registers) -> None:
    """Its tables may hold what this version neither reads nor keeps: it numbered into one."""
    register = registers.open(tmp_path)
    take(register, 1)
    with register.transaction() as ledger:
        ledger.connection.execute(sa.text("UPDATE register_info SET value = '9' "
                                          "WHERE key = 'schema'"))
    with pytest.raises(RegisterError, match=r"新しい版の xlquote の形式 \(9\) です"):
        Register(registers.location(tmp_path)).list()


@pytest.mark.parametrize("url", ["postgresql://clerk@db:54x2/billing",
                                 "postgresql://clerk@[::1/billing"])
def test_a_server_url_that_cannot_be_read_is_named_not_a_traceback(url: str) -> None:
    with pytest.raises(RegisterError, match="請求番号台帳の URL を読めません"):
        Register(url)


def test_another_programs_database_is_not_written_into(tmp_path: Path) -> None:
    """``register list --register crm.sqlite3`` added nine tables to it and switched its
    journal to WAL."""
    crm = tmp_path / "crm.sqlite3"
    with sqlite3.connect(crm) as connection:
        connection.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
    before = crm.read_bytes()
    with pytest.raises(RegisterError, match=r"別のデータベースです \(表 customers\)"):
        Register(crm).list()
    assert crm.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["crm.sqlite3"]


def test_another_programs_invoices_table_is_no_first_register(tmp_path: Path, registers
                                                               ) -> None:
    """A database holding a table ``invoices`` of its own was taken for xlquote's first
    register: AttributeError: month, a traceback and exit 1. Now it is refused, unchanged."""
    location = registers.location(tmp_path)
    engine = sa.create_engine(location if "://" in location else f"sqlite:///{location}")
    with engine.begin() as connection:
        connection.execute(sa.text("CREATE TABLE invoices (id INTEGER PRIMARY KEY, amount INT)"))
        connection.execute(sa.text("INSERT INTO invoices VALUES (1, 500)"))
    engine.dispose()
    before = Path(location).read_bytes() if registers.kind == "sqlite" else b""
    register = registers.open(tmp_path)
    with pytest.raises(RegisterError, match="invoices"), register.transaction() as ledger:
        ledger.take_numbers(Month(2026, 10), 1)
    if registers.kind == "sqlite":
        assert Path(location).read_bytes() == before
    engine = sa.create_engine(location if "://" in location else f"sqlite:///{location}")
    with engine.connect() as connection:
        assert sa.inspect(connection).get_table_names() == ["invoices"]
    engine.dispose()


def test_a_listing_does_not_wait_for_a_run_writing(tmp_path: Path) -> None:
    """A run holds the write lock while it publishes; a listing waited 30 s, then failed."""
    register = Register(tmp_path / "register.sqlite3")
    take(register, 2)
    holder = sqlite3.connect(tmp_path / "register.sqlite3", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        started = time.monotonic()
        assert Register(tmp_path / "register.sqlite3", timeout=5).list() == []
        assert time.monotonic() - started < 4
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_sqlites_words_for_a_file_it_cannot_write_come_after_the_clerks() -> None:
    from xlquote.app.register import _reason

    failed = sa.exc.OperationalError("BEGIN", {}, sqlite3.OperationalError(
        "attempt to write a readonly database"))
    assert _reason(failed) == ("読み取り専用のファイルか、書き込めないフォルダにあります "
                               "(attempt to write a readonly database)")
