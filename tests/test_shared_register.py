"""One register on PostgreSQL that a team shares, used as clerks and the server use it: real
``xlquote invoice`` processes, each with its own output folder (and a round on one shared
folder). Processes issuing the same month at once get one gap-free set of numbers, each
contract numbered once; processes issuing other months at the same moment get theirs; every
process's report lists every numbered invoice of its month and agrees with the register; each
folder holds the files of what its run issued, and lists the rest with where it is.
Round after round, against the tests' real server (``postgres_server``). Also: where a second
folder's files of the first's invoices come from (nowhere, unless asked), which register a run
uses, a password kept out of everything, a new register announced, the button on two PCs."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
import xlwings as xw
from clerk import ISSUED, MONTH, files, invoice, invoice_json, summary_rows, workbook
from registers import Registers
from test_invoicing_button import payload, status, written

from udfs import invoicing as button
from xlquote.app import invoice_run, publishing, void
from xlquote.app.invoice_run import REGISTER_ENV
from xlquote.app.publishing import FAULT_ENV, FAULT_EXIT
from xlquote.app.register import Issued, Register
from xlquote.app.sample import sample_contracts, sample_incidents, sample_packs, sample_settings
from xlquote.app.workbooks.invoicing import FILENAME, build, write_invoicing_workbook
from xlquote.cli import main
from xlquote.engine.dates import Month

ROUNDS = 3
SAME_MONTH = "2026-10"
OTHER_MONTHS = ("2026-06", "2026-07", "2026-08", "2026-09")
COPIES = 3  # the sample's 21 contracts, three times over (other ids, same customers)
HOLD_LIMIT = 20.0  # seconds the test holds the months for the processes to line up


@pytest.fixture(scope="module")
def server_registers(postgres_server: str):
    backend = Registers("postgresql", postgres_server)
    try:
        yield backend
    finally:
        backend.drop()


# --- the team's workbooks ------------------------------------------------------------------

def team_records(copies: int = COPIES) -> tuple[list[dict], list[dict], list[dict]]:
    """The sample's contracts, incidents and packs ``copies`` times, each copy's ids
    suffixed (``C001``, ``C001-1``, …)."""
    contracts, incidents, packs = [], [], []
    for k in range(copies):
        suffix = "" if k == 0 else f"-{k}"
        contracts += [{**c, "contract_id": c["contract_id"] + suffix} for c in sample_contracts()]
        incidents += [{**i, "incident_id": i["incident_id"] + suffix,
                       "contract_id": i["contract_id"] + suffix} for i in sample_incidents()]
        packs += [{**p, "contract_id": p["contract_id"] + suffix} for p in sample_packs()]
    return contracts, incidents, packs


def write_book(path: Path, contract_ids: Iterable[str], settings: dict[str, str] | None = None
               ) -> Path:
    wanted = set(contract_ids)
    contracts, incidents, packs = team_records()
    return write_invoicing_workbook(
        path, [c for c in contracts if c["contract_id"] in wanted],
        [i for i in incidents if i["contract_id"] in wanted],
        [p for p in packs if p["contract_id"] in wanted], sample_settings() | (settings or {}))


@pytest.fixture(scope="module")
def books(tmp_path_factory) -> dict[str, Any]:
    """The whole book, and four clerks' books: a fifth of the contracts is in every clerk's
    book (the same data: the first to issue numbers them), the rest split between them."""
    folder = tmp_path_factory.mktemp("books")
    ids = [c["contract_id"] for c in team_records()[0]]
    shared = ids[::5]
    own = [[cid for k, cid in enumerate(ids) if k % 5 and k % 4 == clerk] for clerk in range(4)]
    return {"whole": write_book(folder / "whole.xlsx", ids),
            "clerks": [write_book(folder / f"clerk-{n}.xlsx", shared + own[n]) for n in range(4)],
            "ids": [set(shared + own[n]) for n in range(4)]}


# --- running the processes -----------------------------------------------------------------

@dataclass
class Run:
    book: Path
    month: str
    out: Path
    process: subprocess.Popen[str] | None = None
    code: int | None = None
    report: dict[str, Any] | None = None

    def start(self, register: str) -> None:
        env = {**os.environ, "XLQUOTE_WORKERS": "1"}  # 8 processes on the machine's cores
        self.process = subprocess.Popen(
            [sys.executable, "-m", "xlquote", "invoice", str(self.book), "--month", self.month,
             "--out", str(self.out), "--register", register, "--json", "--no-pdf"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)

    def finish(self) -> None:
        assert self.process is not None
        out, err = self.process.communicate(timeout=300)
        self.code = self.process.returncode
        assert self.code in (0, 1), f"{self.month} → {self.out}: exit {self.code}\n{err}"
        self.report = json.loads(out)


def waiting_for_locks(dsn: str) -> int:
    """The register's connections waiting for a lock (a month another holds)."""
    with psycopg.connect(dsn) as connection:
        return connection.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND application_name = 'xlquote' AND wait_event_type = 'Lock'").fetchone()[0]


def race(runs: Sequence[Run], dsn: str) -> int:
    """Start ``runs`` while this test holds their months, let them line up on the locks, then
    release them at one moment; wait for all. Returns how many were waiting at the release."""
    register = Register(dsn)
    lined_up = 0
    with register.transaction() as ledger:
        for month in sorted({run.month for run in runs}):
            ledger.lock_month(Month.parse(month))
        for run in runs:
            run.start(dsn)
        deadline = time.monotonic() + HOLD_LIMIT
        while time.monotonic() < deadline and lined_up < len(runs):
            if any(run.process is None or run.process.poll() is not None for run in runs):
                break  # one failed early: its output says why
            time.sleep(0.2)
            lined_up = waiting_for_locks(dsn)
    for run in runs:
        run.finish()
    return lined_up


# --- what every round must show ------------------------------------------------------------

def folder_location(out: Path) -> str:
    return f"{socket.gethostname()}:{out.absolute()}"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def check_month(register: Register, month: str, runs: Sequence[Run],
                billed: Sequence[set[str]] | None = None) -> dict[str, int]:
    """The month in the register: numbers 1…n without a gap, each contract numbered once,
    every number issued by exactly one run; each run's report lists a gap-free prefix of
    them, agreeing with the register, and its folder holds the files of its own numbers
    only. Returns number → the run (index) that issued it."""
    docs = register.list(month)
    numbers = [d.number for d in docs]
    prefix = month.replace("-", "")
    assert numbers == [f"INV-{prefix}-{k:04d}" for k in range(1, len(docs) + 1)]
    assert len({d.contract_id for d in docs}) == len(docs)  # no contract numbered twice
    assert {d.state for d in docs} == {"issued"}
    by_number: dict[str, Issued] = {d.number: d for d in docs}
    issued_by: dict[str, int] = {}
    for index, run in enumerate(runs):
        assert run.report is not None
        listed = run.report["invoices"]
        assert [i["number"] for i in listed] == numbers[:len(listed)]
        for item in listed:
            doc = by_number[item["number"]]
            assert (item["contract_id"], item["customer"], item["total"], item["kind"]) == (
                doc.contract_id, doc.customer, doc.total, doc.kind)
            assert item["status"] in ("issued", "pending")  # another's, not yet marked
            if item["change"] == "new":
                assert item["number"] not in issued_by, f"{item['number']} issued twice"
                issued_by[item["number"]] = index
                assert item["issued_here"] and item["status"] == "issued"
        mine = {n for n, i in issued_by.items() if i == index}
        assert run.report["register"].get("new", 0) == len(mine)
        assert run.report["invoice_count"] == len(listed)
        for item in listed:  # the register knows each folder: here, or where
            where = by_number[item["number"]].folder
            assert item["issued_here"] == (where == folder_location(run.out))
            if not item["issued_here"]:
                assert item["issued_in"] == where and item["xlsx"] is None
        if billed is not None:  # every contract of its book that has a number is listed
            numbered = {d.contract_id for d in docs}
            assert billed[index] & numbered <= {i["contract_id"] for i in listed}
    assert set(issued_by) == set(numbers)  # every number issued, by one run
    for run in {run.out: run for run in runs}.values():
        drawn = {p.name: sha256(p) for p in (run.out / month).glob("INV-*")}
        own = [by_number[n] for n, i in issued_by.items() if runs[i].out == run.out]
        assert drawn == {f"{d.file_stem}.xlsx": d.files["xlsx"].sha256 for d in own}
    return issued_by


# --- the tests -----------------------------------------------------------------------------

def test_four_processes_on_one_month_and_four_on_others_at_once(books, server_registers,
                                                                tmp_path):
    """Round after round, against a fresh register each: 4 clerks' processes issue October
    from books that overlap, while 4 processes issue June to September from the whole book,
    all released onto the register at one moment."""
    timings = []
    for round_ in range(ROUNDS):
        root = tmp_path / f"round-{round_}"
        dsn = server_registers.location(root)
        assert Register(dsn).register_id  # created before the race; the race is for numbers
        same = [Run(books["clerks"][n], SAME_MONTH, root / f"clerk-{n}") for n in range(4)]
        others = [Run(books["whole"], month, root / f"server-{month}") for month in OTHER_MONTHS]
        started = time.monotonic()
        lined_up = race(same + others, dsn)
        timings.append((time.monotonic() - started, lined_up))
        register = Register(dsn)
        issued_by = check_month(register, SAME_MONTH, same, books["ids"])
        assert set(issued_by.values()) == {0, 1, 2, 3}  # each clerk issued its own contracts
        for run in others:
            check_month(register, run.month, [run])
            assert run.report is not None and run.report["issued_elsewhere"] == 0
        # the whole book finds every contract of October issued, from the clerks' folders
        whole = Run(books["whole"], SAME_MONTH, root / "whole")
        whole.start(dsn)
        whole.finish()
        assert whole.report is not None and whole.report["register"].get("new", 0) == 0
        assert whole.report["issued_elsewhere"] == len(issued_by) == whole.report[
            "invoice_count"]
    print("rounds (seconds, processes lined up on the locks):",
          [(round(seconds, 1), n) for seconds, n in timings])
    assert max(n for _, n in timings) >= 4  # the release did put processes in contention


def test_four_clerks_on_one_shared_folder_take_turns(books, server_registers, tmp_path):
    """The button on four PCs, one workbook and one output folder on a share: the folder's
    lock has them take turns; the first issues the month, the others find it issued."""
    out = tmp_path / "shared"
    dsn = server_registers.location(out)
    runs = [Run(books["whole"], SAME_MONTH, out) for _ in range(4)]
    for run in runs:
        run.start(dsn)
    for run in runs:
        run.finish()
    register = Register(dsn)
    issued_by = check_month(register, SAME_MONTH, runs)
    assert len(set(issued_by.values())) == 1  # one run issued it all
    reports = [run.report for run in runs if run.report is not None]
    assert sorted(r["register"].get("unchanged", 0) for r in reports) == [0] + [
        len(issued_by)] * 3
    assert all(item["issued_here"] for r in reports for item in r["invoices"])


# --- two folders, one register -------------------------------------------------------------

def killed_after_numbering(book: Path, out: Path, dsn: str) -> None:
    """A run on ``out`` killed once the month's documents are recorded, before any is drawn."""
    killed = subprocess.run(
        [sys.executable, "-m", "xlquote", "invoice", str(book), "--month", MONTH, "--out",
         str(out), "--register", dsn, "--issue-date", ISSUED],
        env={**os.environ, FAULT_ENV: "recorded"}, capture_output=True, text=True, timeout=300)
    assert killed.returncode == FAULT_EXIT, killed.stderr


def test_a_run_stopped_in_another_folder_is_named_where_it_stopped(server_registers, tmp_path,
                                                                   capsys):
    """The first clerk's run dies after numbering the month; the second clerk's run reported
    those invoices as issued and unchanged (exit as usual) though no file was anywhere. Now
    each is a notice to act on, naming the folder whose next run finishes or withdraws it."""
    book = workbook(tmp_path / "invoicing.xlsx")
    dsn = server_registers.location(tmp_path / "team")
    first, second = tmp_path / "pc-1", tmp_path / "pc-2"
    killed_after_numbering(book, first, dsn)
    # the second clerk's workbook bills C001 otherwise: the stopped run's C001 was never
    # issued, so it is neither refused as a changed invoice nor corrected (which kept the
    # first folder from ever withdrawing it: a correction referred to it)
    changed = workbook(tmp_path / "changed.xlsx", incidents={"I-1003": {"minutes": 300}})
    for _ in ("plain", "--correct"):
        code, report = invoice_json(capsys, changed, second, "--register", dsn,
                                    *(["--correct"] if _ == "--correct" else []))
        stopped = [n for n in report["notices"] if n["code"] == "pending_elsewhere"]
        assert code == 1 and len(stopped) == 17 and all(n["attention"] for n in stopped)
        assert folder_location(first) in stopped[0]["message"]
        assert report["register"].get("pending_elsewhere") == 17
        assert not [i for i in report["invoices"] if i["kind"] == "correction"]
    # that folder's run withdraws them (nothing was published) and bills the month afresh
    code, report = invoice_json(capsys, changed, first, "--register", dsn)
    assert code == 1 and report["register"]["new"] == 17
    assert [i["number"] for i in report["invoices"]] == [f"INV-202610-{i:04d}"
                                                         for i in range(1, 18)]
    code, report = invoice_json(capsys, changed, second, "--register", dsn)
    assert not [n for n in report["notices"] if n["code"] == "pending_elsewhere"]


def test_a_second_folder_lists_the_first_folders_invoices_and_copies_them_when_asked(
        server_registers, tmp_path, capsys):
    book = workbook(tmp_path / "invoicing.xlsx")
    dsn = server_registers.location(tmp_path / "team")
    first, second = tmp_path / "pc-1", tmp_path / "pc-2"
    code, report = invoice_json(capsys, book, first, "--register", dsn)
    assert code == 1 and report["register"]["created"] and report["issued_elsewhere"] == 0
    assert [n["code"] for n in report["notices"]] == ["register_created"]
    # the second clerk: the month as issued, nothing drawn again, and where it is
    code, report = invoice_json(capsys, book, second, "--register", dsn)
    assert code == 1 and not report["register"]["created"]
    assert report["register"]["unchanged"] == 17 and report["issued_elsewhere"] == 17
    assert {(i["issued_here"], i["issued_in"], i["xlsx"]) for i in report["invoices"]} == {
        (False, folder_location(first), None)}
    assert not list((second / MONTH).glob("INV-*"))
    assert {r[12] for r in summary_rows(second) if str(r[0]).startswith("INV-")} == {
        f"発行済み (別の出力フォルダ: {folder_location(first)})"}
    assert main(["invoice", str(book), "--month", MONTH, "--out", str(second), "--register",
                 dsn, "--issue-date", ISSUED]) == 1
    assert f"うち他の出力フォルダで発行 17 件 (ファイルはそちら): {folder_location(first)} 17 件" in (
        capsys.readouterr().out)
    # asked for: copies, byte for byte the files the first folder holds
    code, report = invoice_json(capsys, book, second, "--register", dsn,
                                "--copy-issued-elsewhere")
    issued = {k: v for k, v in files(first / MONTH).items() if k.startswith("INV-")}
    assert {k: v for k, v in files(second / MONTH).items() if k.startswith("INV-")} == issued
    assert all(i["xlsx"] and not i["issued_here"] for i in report["invoices"])
    # voided from the second folder (which remembers the register): the cancelling document
    # is written where the void is run; the first folder's next run lists the status
    assert main(["register", "void", "INV-202610-0004", "--reason", "契約対象外", "--out",
                 str(second)]) == 0
    assert list((second / MONTH).glob("取消_INV-202610-0004_*.xlsx"))
    code, report = invoice_json(capsys, book, first, "--register", dsn)
    assert next(i for i in report["invoices"] if i["number"] == "INV-202610-0004")[
        "status"] == "void"
    assert not list((first / MONTH).glob("取消_*"))
    assert {k: v for k, v in files(first / MONTH).items() if k.startswith("INV-")} == issued
    # the cancelling document is checked where it was drawn, though the invoice was not
    (cancelling,) = (second / MONTH).glob("取消_INV-202610-0004_*.pdf")
    cancelling.write_bytes(b"")
    code, report = invoice_json(capsys, book, second, "--register", dsn)
    assert [n["message"].split(" ")[0] for n in report["notices"]
            if n["code"] == "file_differs"] == [cancelling.name]


def test_which_register_a_run_uses(server_registers, tmp_path, capsys, monkeypatch):
    """--register, else XLQUOTE_REGISTER, else the workbook's Settings 請求番号台帳, else the
    server register the folder remembers, else OUT/register.sqlite3."""
    flag, environment, settings = (server_registers.location(tmp_path / name)
                                   for name in ("flag", "environment", "settings"))
    plain = workbook(tmp_path / "plain.xlsx")
    configured = workbook(tmp_path / "configured.xlsx", settings={"register": settings})

    def used(book: Path, out: Path, *args: str) -> str:
        code, report = invoice_json(capsys, book, out, "--no-pdf", *args)
        assert code == 1, report
        return report["register"]["path"]

    assert used(configured, tmp_path / "a") == Register(settings).display
    monkeypatch.setenv(REGISTER_ENV, environment)
    assert used(configured, tmp_path / "b") == Register(environment).display
    assert used(configured, tmp_path / "c", "--register", flag) == Register(flag).display
    monkeypatch.delenv(REGISTER_ENV)
    assert used(plain, tmp_path / "c") == Register(flag).display  # the folder remembers it
    assert main(["register", "list", "--out", str(tmp_path / "c"), "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 17
    assert used(plain, tmp_path / "d") == str(tmp_path / "d" / "register.sqlite3")
    # a folder numbered by one register refuses another, named or configured
    assert invoice(configured, tmp_path / "d", "--no-pdf") == 2
    assert "別の請求番号台帳" in capsys.readouterr().err


def test_a_password_stays_out_of_workbooks_reports_and_folders(server_registers, tmp_path,
                                                               capsys, monkeypatch):
    password = Path(os.environ["PGPASSFILE"]).read_text().strip().split(":")[4]
    dsn = server_registers.location(tmp_path / "team")
    parts = urlsplit(dsn)
    secret = urlunsplit(parts._replace(netloc=parts.netloc.replace(
        "@", f":{password}@", 1)))
    out = tmp_path / "out"
    # in the workbook: refused, and not repeated
    book = workbook(tmp_path / "secret.xlsx", settings={"register": secret})
    capsys.readouterr()
    assert invoice(book, out, "--json") == 2
    captured = capsys.readouterr()
    (problem,) = json.loads(captured.out)["problems"]
    assert (problem["sheet"], problem["column"]) == ("Settings", "register")
    assert "パスワードを書かないでください" in problem["reason"]
    assert password not in captured.out + captured.err and not out.exists()
    # on the command line and in XLQUOTE_REGISTER: refused the same way, and not repeated
    monkeypatch.setenv("XLQUOTE_REGISTER", secret)
    for args in (("--register", secret), ()):
        assert invoice(workbook(tmp_path / "plain.xlsx"), out, *args, "--json") == 2
        captured = capsys.readouterr()
        assert json.loads(captured.out)["message"] == problem["reason"]
        assert password not in captured.out + captured.err and not out.exists()
    monkeypatch.undo()
    # the folder's register, named without it, works (the password from the passfile) and
    # nothing keeps it
    _, report = invoice_json(capsys, workbook(tmp_path / "plain.xlsx"), out, "--register", dsn)
    assert report["register"]["path"] == Register(dsn).display
    for path in out.rglob("*"):
        if path.is_file() and path.suffix != ".xlsx" and path.suffix != ".pdf":
            assert password.encode() not in path.read_bytes(), path
    assert password not in json.dumps(summary_rows(out), ensure_ascii=False, default=str)
    assert password not in json.dumps([d.to_dict() for d in Register(dsn).list()])


def test_a_new_register_is_announced(tmp_path, capsys):
    """A mistyped --out starts a register of its own: the run says so."""
    book = workbook(tmp_path / "invoicing.xlsx")
    capsys.readouterr()
    assert invoice(book, tmp_path / "out", "--no-pdf") == 1
    shown = capsys.readouterr().out
    assert f"請求番号台帳 {tmp_path / 'out' / 'register.sqlite3'} (今回新しく作成)" in shown
    assert "新しい請求番号台帳を作りました" in shown
    assert invoice(book, tmp_path / "out", "--no-pdf") == 1
    shown = capsys.readouterr().out
    assert "新しく作成" not in shown and "新しい請求番号台帳" not in shown
    _, report = invoice_json(capsys, book, tmp_path / "ouy", "--no-pdf")
    assert report["register"] == {"path": str(tmp_path / "ouy" / "register.sqlite3"),
                                  "kind": "sqlite", "created": True, "new": 17, "held": 1,
                                  "statement": 1}
    assert any(n["code"] == "register_created" for n in report["notices"])


def test_the_button_on_two_pcs_shares_the_register_of_the_settings(server_registers, tmp_path):
    dsn = server_registers.location(tmp_path / "team")
    built = build(tmp_path / FILENAME)

    def settings(register: str):
        def edit(sheet: str, values: list[list[Any]]) -> None:
            if sheet == "Settings":
                for row in values:
                    if row[0] == "register":
                        row[1] = register
        return edit

    first = xw.Book(json=payload(built, tmp_path / "pc-1", settings(dsn)))
    assert button.run_from_book(first) is not None
    assert f"新しい請求番号台帳を作成: {Register(dsn).display}" in status(first)
    second = xw.Book(json=payload(built, tmp_path / "pc-2", settings(dsn)))
    result = button.run_from_book(second)
    assert result is not None and result.register is not None
    assert result.register.display == Register(dsn).display
    assert "他の出力フォルダで発行 17 件" in status(second)
    table = written(second)[(7, 1)]
    c001 = next(row for row in table if row[1] == "C001")
    assert c001[0] == "INV-202610-0001"
    assert c001[12] == f"発行済み (別の出力フォルダ: {folder_location(tmp_path / 'pc-1')})"
    assert not list((tmp_path / "pc-2" / MONTH).glob("INV-*"))
    # a password in the Settings is refused there, and not written back to the sheet
    password = Path(os.environ["PGPASSFILE"]).read_text().strip().split(":")[4]
    secret = dsn.replace("xlquote@", f"xlquote:{password}@", 1)
    third = xw.Book(json=payload(built, tmp_path / "pc-3", settings(secret)))
    assert button.run_from_book(third) is None
    assert status(third).startswith("入力エラー 1 件")
    assert password not in json.dumps(third.json(), ensure_ascii=False)


def test_a_cancellation_stopped_in_another_folder_is_left_to_it(server_registers, tmp_path,
                                                                capsys):
    """A void killed before its cancelling document existed: another folder's run took the
    invoice for cancelled, and with --correct issued the contract a new invoice while the
    cancellation was still unfinished (two October invoices for C003 if it never ends)."""
    book = workbook(tmp_path / "invoicing.xlsx")
    dsn = server_registers.location(tmp_path / "team")
    first, second = tmp_path / "pc-1", tmp_path / "pc-2"
    assert invoice(book, first, "--register", dsn, "--no-pdf") == 1
    killed = subprocess.run(
        [sys.executable, "-m", "xlquote", "register", "void", "INV-202610-0003", "--reason",
         "誤発行", "--out", str(first), "--register", dsn, "--no-pdf"],
        env={**os.environ, FAULT_ENV: "staged"}, capture_output=True, text=True, timeout=300)
    assert killed.returncode == FAULT_EXIT, killed.stderr
    for extra in ([], ["--correct"]):
        code, report = invoice_json(capsys, book, second, "--register", dsn, "--no-pdf", *extra)
        stopped = [n for n in report["notices"] if n["code"] == "pending_elsewhere"]
        assert code == 1 and [n["number"] for n in stopped] == ["INV-202610-0003"]
        assert report["register"].get("reissued", 0) == 0 and len(report["invoices"]) == 17
        assert not [n for n in report["notices"] if n["code"] == "still_billed"]
        # shown as under way, not as cancelled: its cancelling document does not exist yet
        c003 = next(d for d in report["invoices"] if d["number"] == "INV-202610-0003")
        assert c003["status"] == "voiding"
        row = next(r for r in summary_rows(second) if r[0] == "INV-202610-0003")
        assert row[12].startswith("取消処理中")
    # the folder that began it finishes it on its next run: cancelled from then on
    assert invoice(book, first, "--register", dsn, "--no-pdf") == 1
    code, report = invoice_json(capsys, book, second, "--register", dsn, "--no-pdf")
    c003 = next(d for d in report["invoices"] if d["number"] == "INV-202610-0003")
    assert c003["status"] == "void"
    assert next(r for r in summary_rows(second) if r[0] == "INV-202610-0003")[12].startswith("取消")


def killed_at(step: str, book: Path, out: Path, dsn: str) -> None:
    """A run on ``out`` killed at publishing's ``step``."""
    killed = subprocess.run(
        [sys.executable, "-m", "xlquote", "invoice", str(book), "--month", MONTH, "--out",
         str(out), "--register", dsn, "--issue-date", ISSUED, "--no-pdf"],
        env={**os.environ, FAULT_ENV: step}, capture_output=True, text=True, timeout=300)
    assert killed.returncode == FAULT_EXIT, killed.stderr


def settle(capsys, dsn: str, number: str) -> tuple[int, dict[str, Any]]:
    capsys.readouterr()
    code = main(["register", "settle", number, "--register", dsn, "--json"])
    out = capsys.readouterr().out
    return code, json.loads(out) if code == 0 else {}


def test_a_lost_folders_run_stopped_before_publishing_is_withdrawn(server_registers, tmp_path,
                                                                   capsys):
    """The folder whose run stopped is gone: its pending invoices stayed pending for ever and
    every other folder's run named them. Settled, they are withdrawn (nothing of them was
    published), their numbers given back, and the month is billed from another folder."""
    book = workbook(tmp_path / "invoicing.xlsx")
    dsn = server_registers.location(tmp_path / "team")
    lost, second = tmp_path / "pc-1", tmp_path / "pc-2"
    killed_at("recorded", book, lost, dsn)
    shutil.rmtree(lost)
    for seq in range(17, 0, -1):  # the last first: each number given back in turn
        code, settled = settle(capsys, dsn, f"INV-202610-{seq:04d}")
        assert code == 0 and settled["action"] == "withdrawn" and settled["number_given_back"]
        assert settled["stopped_in"] == folder_location(lost)
    assert main(["register", "settle", "INV-202610-0001", "--register", dsn]) == 2  # gone
    assert "にありません (取り下げ済みか、番号の打ち間違いです)" in capsys.readouterr().err
    code, report = invoice_json(capsys, book, second, "--register", dsn, "--no-pdf")
    assert code == 1 and report["register"]["new"] == 17
    assert not [n for n in report["notices"] if n["code"] == "pending_elsewhere"]
    assert [i["number"] for i in report["invoices"]] == [f"INV-202610-{i:04d}"
                                                         for i in range(1, 18)]
    assert all(i["issued_here"] for i in report["invoices"])


def test_a_lost_folders_run_stopped_while_publishing_is_issued(server_registers, tmp_path,
                                                               capsys):
    """Files had begun to be put in place: the invoices may have reached customers, so they
    are issued as they were, and another folder draws their files when asked."""
    book = workbook(tmp_path / "invoicing.xlsx")
    dsn = server_registers.location(tmp_path / "team")
    lost, second = tmp_path / "pc-1", tmp_path / "pc-2"
    killed_at("publishing", book, lost, dsn)
    shutil.rmtree(lost)
    for seq in range(1, 18):
        code, settled = settle(capsys, dsn, f"INV-202610-{seq:04d}")
        assert code == 0 and settled["action"] == "issued", settled
    code, report = invoice_json(capsys, book, second, "--register", dsn, "--no-pdf",
                                "--copy-issued-elsewhere")
    assert not [n for n in report["notices"] if n["code"] == "pending_elsewhere"]
    assert report["register"].get("new", 0) == 0
    assert {i["status"] for i in report["invoices"]} == {"issued"}
    assert len(list((second / MONTH).glob("INV-202610-*.xlsx"))) == 17


@pytest.mark.parametrize("step", ["recorded", "staged"])
def test_a_run_whose_invoices_were_settled_meanwhile_publishes_nothing(server_registers,
                                                                      tmp_path, capsys,
                                                                      monkeypatch, step):
    """A laptop asleep in the middle of a run is taken for lost and its invoices settled from
    another folder; when it wakes, its run stops before putting a file in place (the numbers
    may have gone to other invoices meanwhile) and forgets only what is still its own."""
    book = workbook(tmp_path / "invoicing.xlsx")
    dsn = server_registers.location(tmp_path / "team")
    asleep = tmp_path / "pc-1"
    settled: list[dict[str, Any]] = []

    def meanwhile(point: str) -> None:
        if point == step and not settled:
            code = main(["register", "settle", "INV-202610-0017", "--register", dsn, "--json"])
            settled.append(json.loads(capsys.readouterr().out) if code == 0 else {})

    for module in (publishing, invoice_run, void):  # each calls it by its own name
        monkeypatch.setattr(module, "checkpoint", meanwhile)
    code, report = invoice_json(capsys, book, asleep, "--register", dsn, "--no-pdf")
    assert settled == [{"number": "INV-202610-0017", "action": "withdrawn",
                        "stopped_in": folder_location(asleep), "number_given_back": True}]
    assert code == 2 and report["status"] == "refused"
    assert "INV-202610-0017 は、この実行の途中で別の場所から片付けられました" in report["message"]
    assert not list((asleep / MONTH).glob("INV-*"))
    assert Register(dsn).list() == []  # the run's other pending invoices forgotten
    code, report = invoice_json(capsys, book, asleep, "--register", dsn, "--no-pdf")
    assert code == 1 and report["register"]["new"] == 17


@pytest.mark.parametrize("step", ["recorded", "staged"])
def test_a_void_whose_cancellation_was_settled_meanwhile_cancels_nothing(server_registers,
                                                                        tmp_path, capsys,
                                                                        monkeypatch, step):
    """A void held after recording its cancellation, which is settled (withdrawn) meanwhile,
    had reported the invoice cancelled with no document and the register unchanged; and a
    void refused had removed another folder's cancellation of the same invoice begun since."""
    book = workbook(tmp_path / "invoicing.xlsx")
    dsn = server_registers.location(tmp_path / "team")
    first, second = tmp_path / "pc-1", tmp_path / "pc-2"
    assert invoice(book, first, "--register", dsn, "--no-pdf") == 1
    done: list[int] = []

    def meanwhile(point: str) -> None:
        if point == step and not done:
            done.append(main(["register", "settle", "INV-202610-0003", "--register", dsn]))
            capsys.readouterr()  # its line, apart from the void's JSON
            # another clerk voids it from another folder, and is stopped half-way
            other = subprocess.run(
                [sys.executable, "-m", "xlquote", "register", "void", "INV-202610-0003",
                 "--reason", "二重請求", "--out", str(second), "--register", dsn, "--no-pdf"],
                env={**os.environ, FAULT_ENV: "publishing"}, capture_output=True, text=True,
                timeout=300)
            done.append(other.returncode)

    for module in (publishing, invoice_run, void):  # each calls it by its own name
        monkeypatch.setattr(module, "checkpoint", meanwhile)
    capsys.readouterr()
    code = main(["register", "void", "INV-202610-0003", "--reason", "誤り", "--out", str(first),
                 "--register", dsn, "--no-pdf", "--json"])
    assert done == [0, FAULT_EXIT]
    assert code == 2 and "別の場所から片付けられました" in json.loads(capsys.readouterr().out)[
        "message"]
    assert not list((first / MONTH).glob("取消_*"))
    (doc,) = [d for d in Register(dsn).list() if d.number == "INV-202610-0003"]
    # the second folder's cancellation stays, its file recorded: that folder finishes it
    assert doc.cancellation is not None and doc.cancellation.reason == "二重請求"
    assert "cancellation.xlsx" in doc.files
