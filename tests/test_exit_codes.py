"""Every exit status of ``xlquote invoice`` with its JSON and its one line on stderr, never a
traceback: 0 done, 1 attention (flags, a PDF that could not be made), 2 bad input or refused,
3 could not write (nothing changed). Also: the umask, a PDF made by a later run, the cron
example of docs/INVOICING.md on a first run, the progress bar."""

from __future__ import annotations

import errno
import functools
import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa
from clerk import MONTH, files, invoice, invoice_json, workbook

from xlquote.app import ATTENTION_FLAGS, documents
from xlquote.app.publishing import STAGING_PREFIX
from xlquote.app.register import Ledger
from xlquote.cli import invoice as invoice_cli
from xlquote.cli import main
from xlquote.engine.compare.profile import EXAMPLE_PROFILE
from xlquote.engine.settings import REGISTER_PASSWORD_REFUSED

ROOT = Path(__file__).resolve().parents[1]


def failing_drawer(monkeypatch, role: str, exc: BaseException, on_call: int = 5,
                   contract: str | None = None) -> list[str]:
    """Make the ``role`` drawer of invoices fail on its ``on_call``-th call (or for one
    contract)."""
    key = ("invoice", role)
    original = documents.DRAWERS[key]
    calls: list[str] = []

    def draw(layout):
        calls.append(layout.identity)
        if (contract is None and len(calls) == on_call) or (
                contract is not None and layout.contract_id == contract):
            raise exc
        return original(layout)

    monkeypatch.setitem(documents.DRAWERS, key, draw)
    return calls


def failing_write(monkeypatch, role: str, exc: OSError, on_call: int = 5) -> None:
    """Make writing the ``on_call``-th ``role`` file into a run's staging folder fail (the
    disk filling up, a name the file system refuses)."""
    write_bytes = Path.write_bytes
    calls: list[str] = []

    def write(path: Path, data) -> int:
        if path.parent.name.startswith(STAGING_PREFIX) and path.suffix == f".{role}":
            calls.append(path.name)
            if len(calls) == on_call:
                raise exc
        return write_bytes(path, data)

    monkeypatch.setattr(Path, "write_bytes", write)


def one_line(err: str) -> str:
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    return lines[0]


def test_exit_0_when_nothing_needs_attention(tmp_path, capsys):
    code, result = invoice_json(capsys, workbook(tmp_path / "wb.xlsx"), tmp_path / "out",
                                "--issue-date", "2026-10-01", month="2026-09")
    assert (code, result["exit_code"], result["status"]) == (0, 0, "ok")
    assert result["invoice_count"] == 9 and result["total"] == 3_566_200


def test_exit_1_when_flags_need_attention(tmp_path, capsys):
    code, result = invoice_json(capsys, workbook(tmp_path / "wb.xlsx"), tmp_path / "out")
    assert (code, result["exit_code"], result["status"]) == (1, 1, "attention")
    assert {a["code"] for a in result["attention"]} == {"limit_pending", "reply_beyond_limit",
                                                        "rejected", "onsite_quote"}
    for item in result["invoices"]:  # the public keys of a numbered invoice
        assert {"number", "contract_id", "total"} <= set(item)


def test_exit_2_bad_input_with_json(tmp_path, capsys):
    book = workbook(tmp_path / "wb.xlsx", incidents={"I-1001": {"channel": "fax"}})
    capsys.readouterr()
    assert invoice(book, tmp_path / "out", "--json") == 2
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    assert (result["status"], result["exit_code"]) == ("invalid", 2)
    assert result["problems"][0]["column"] == "channel"
    assert "何も書き出していません" in captured.err and "Traceback" not in captured.err
    assert not (tmp_path / "out").exists()


def test_exit_2_when_one_statement_would_be_too_long(tmp_path, capsys, monkeypatch):
    """A contract with more incidents in the month than one statement lists is refused,
    naming its row on Contracts, before anything is written (the cap lowered to 2: four of
    the demo's contracts have more incidents closed in October)."""
    from xlquote.engine.billing import run

    monkeypatch.setattr(run, "MAX_STATEMENT_ENTRIES", 2)
    code, result = invoice_json(capsys, workbook(tmp_path / "wb.xlsx"), tmp_path / "out")
    assert (code, result["status"]) == (2, "invalid")
    assert [(p["sheet"], p["row"], p["column"], p["value"]) for p in result["problems"]] == [
        ("Contracts", 2, "contract_id", "C001"), ("Contracts", 4, "contract_id", "C003"),
        ("Contracts", 7, "contract_id", "C006"), ("Contracts", 10, "contract_id", "C009")]
    assert "明細に載せられる 2 件を超えています" in result["problems"][0]["reason"]
    assert not (tmp_path / "out").exists()



@pytest.mark.parametrize("cap, below, at, row, contract, reason", [
    # the demo's October makes 19 documents, C011 none: the first beyond 10 is C012's
    ("MAX_MONTH_DOCUMENTS", 10, 19, 13, "C012",
     "19 通になり、1 回の実行で作れる 10 通を超えています"),
    # its documents show 4,105 distinct characters in all, C009's the most
    ("MAX_MONTH_CHARACTERS", 4_104, 4_105, 10, "C009",
     "合わせて 4,105 字になり、1 回の実行で作れる 4,104 字を超えています "
     "(いちばん多いのはこの行の契約の書類で 275 種類)"),
])
def test_exit_2_when_the_month_is_more_than_one_run_draws(tmp_path, capsys, monkeypatch, cap,
                                                          below, at, row, contract, reason):
    """A month beyond what one run draws — more documents, or documents showing more distinct
    characters in all — is refused before anything is written, naming a contract (the cap
    lowered below the demo October's); at the cap the month is drawn."""
    from xlquote.app import invoice_run

    book = workbook(tmp_path / "wb.xlsx")
    monkeypatch.setattr(invoice_run, cap, below)
    code, result = invoice_json(capsys, book, tmp_path / "out")
    assert (code, result["status"]) == (2, "invalid")
    assert [(p["sheet"], p["row"], p["column"], p["value"]) for p in result["problems"]] == [
        ("Contracts", row, "contract_id", contract)]
    assert reason in result["problems"][0]["reason"]
    assert not (tmp_path / "out").exists()
    monkeypatch.setattr(invoice_run, cap, at)
    code, result = invoice_json(capsys, book, tmp_path / "out")
    assert code == 1 and len(result["invoices"] + result["drafts"] + result["statements"]) == 19


def test_exit_2_when_the_workbook_lists_more_contracts_than_it_may(tmp_path, capsys,
                                                                   monkeypatch):
    """More contracts than a workbook may list are refused before they are parsed, naming the
    row of the first one beyond (the cap lowered to 20: the demo lists 21), whichever reader
    reads the sheet."""
    from xlquote.engine import records

    book = workbook(tmp_path / "wb.xlsx")
    monkeypatch.setattr(records, "MAX_CONTRACTS", 20)
    for reader in ("fastexcel", "cells"):
        code, result = invoice_json(capsys, book, tmp_path / "out", "--reader", reader)
        assert (code, result["status"]) == (2, "invalid")
        assert [(p["sheet"], p["row"]) for p in result["problems"]] == [("Contracts", 22)]
        assert "契約が 21 件あり、1 冊のブックに載せられる 20 件を超えています" in \
            result["problems"][0]["reason"]
        assert not (tmp_path / "out").exists()

def test_exit_3_disk_full_on_a_first_run_changes_nothing(tmp_path, capsys, monkeypatch,
                                                         registers):
    book = workbook(tmp_path / "wb.xlsx")
    out = tmp_path / "out"
    failing_write(monkeypatch, "xlsx", OSError(errno.ENOSPC, "No space left on device"))
    capsys.readouterr()
    assert invoice(book, out, "--json") == 3
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    assert (result["status"], result["exit_code"]) == ("write_failed", 3)
    assert "ディスクの空きがありません" in one_line(captured.err)
    assert not list((out / MONTH).iterdir())  # no document, no staging folder
    assert registers.open(out).list() == []
    monkeypatch.undo()
    assert invoice(book, out) == 1  # the numbers were not used up
    assert registers.open(out).list()[0].number == "INV-202610-0001"


def test_exit_3_disk_full_during_a_correction_changes_nothing(tmp_path, capsys, monkeypatch,
                                                              registers):
    out = tmp_path / "out"
    assert invoice(workbook(tmp_path / "wb.xlsx"), out) == 1
    before = files(out / MONTH)
    changed = workbook(tmp_path / "changed.xlsx", incidents={"I-1003": {"minutes": 300}})
    failing_write(monkeypatch, "pdf", OSError(errno.ENOSPC, "No space left on device"), 1)
    assert invoice(changed, out, "--correct") == 3
    assert files(out / MONTH) == before
    assert len(registers.open(out).list()) == 17
    monkeypatch.undo()
    assert invoice(changed, out, "--correct") == 1
    assert registers.open(out).list()[-1].number == "INV-202610-0018"


def test_exit_3_when_the_register_cannot_be_written(tmp_path, capsys, monkeypatch, registers):
    out = tmp_path / "out"
    book = workbook(tmp_path / "wb.xlsx")

    def full(self, numbers):
        raise sa.exc.OperationalError("UPDATE documents", {},
                                      sqlite3.OperationalError("database or disk is full"))

    monkeypatch.setattr(Ledger, "mark_issued", full)
    capsys.readouterr()
    assert invoice(book, out, "--json") == 3
    captured = capsys.readouterr()
    assert "database or disk is full" in one_line(captured.err)
    assert json.loads(captured.out)["status"] == "write_failed"
    assert not [p for p in (out / MONTH).iterdir() if p.name.startswith("INV-")]
    assert registers.open(out).list() == []


def test_exit_3_when_out_is_a_file(tmp_path, capsys):
    out = tmp_path / "out"
    out.write_text("not a folder")
    capsys.readouterr()
    assert invoice(workbook(tmp_path / "wb.xlsx"), out, "--json") == 3
    captured = capsys.readouterr()
    assert json.loads(captured.out)["exit_code"] == 3
    assert "フォルダであるべき場所がファイルです" in one_line(captured.err)
    assert out.read_text() == "not a folder"


def test_exit_3_when_a_name_is_too_long(tmp_path, capsys, monkeypatch):
    failing_write(monkeypatch, "xlsx", OSError(errno.ENAMETOOLONG, "File name too long"), 1)
    capsys.readouterr()
    assert invoice(workbook(tmp_path / "wb.xlsx"), tmp_path / "out") == 3
    assert "長すぎます" in one_line(capsys.readouterr().err)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_exit_3_in_a_read_only_folder(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    out.chmod(0o555)
    try:
        assert invoice(workbook(tmp_path / "wb.xlsx"), out) == 3
        assert "権限" in one_line(capsys.readouterr().err)
    finally:
        out.chmod(0o755)


def test_a_pdf_that_fails_is_reported_and_made_by_a_later_run(tmp_path, capsys, monkeypatch,
                                                              registers):
    out = tmp_path / "out"
    book = workbook(tmp_path / "wb.xlsx")
    failing_drawer(monkeypatch, "pdf", ValueError("glyph missing"), contract="C003")
    code, result = invoice_json(capsys, book, out, "--issue-date", "2026-10-01",
                                month="2026-09")
    assert code == 1  # 2026-09 has no flags: the PDF alone makes it 1
    (failed,) = result["pdf"]["failed"]
    assert failed["contract_id"] == "C003" and "glyph missing" in failed["error"]
    number = failed["number"]
    assert number in result["pdf"]["error"]
    month = out / "2026-09"
    xlsx = next(month.glob(f"{number}_*.xlsx"))  # issued all the same
    assert not xlsx.with_suffix(".pdf").exists()
    before = files(month)
    monkeypatch.undo()
    code, result = invoice_json(capsys, book, out, "--issue-date", "2026-10-01",
                                month="2026-09")
    assert code == 0 and result["pdf"]["failed"] == []
    after = files(month)
    assert xlsx.with_suffix(".pdf").name in after
    assert {k: v for k, v in after.items() if not k.startswith("請求一覧")} == {
        **{k: v for k, v in before.items() if not k.startswith("請求一覧")},
        xlsx.with_suffix(".pdf").name: after[xlsx.with_suffix(".pdf").name]}


def test_no_pdf_then_a_run_with_pdfs_adds_them(tmp_path):
    out = tmp_path / "out"
    book = workbook(tmp_path / "wb.xlsx")
    assert invoice(book, out, "--no-pdf") == 1
    before = files(out / MONTH)
    assert not [n for n in before if n.endswith(".pdf")]
    assert invoice(book, out) == 1
    after = files(out / MONTH)
    assert len([n for n in after if n.startswith("INV-") and n.endswith(".pdf")]) == 17
    assert all(after[n] == h for n, h in before.items() if n.startswith("INV-"))


def test_the_month_folder_honours_the_umask(tmp_path):
    book = workbook(tmp_path / "wb.xlsx")
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-m", "xlquote", "invoice", str(book), "--month", MONTH, "--out",
         str(out), "--issue-date", "2026-11-02"],
        capture_output=True, text=True, timeout=300, preexec_fn=lambda: os.umask(0o027))
    assert done.returncode == 1, done.stderr
    assert (out / MONTH).stat().st_mode & 0o777 == 0o750
    modes = {p.stat().st_mode & 0o777 for p in (out / MONTH).iterdir()}
    assert modes == {0o640}


def test_the_exit_status_table_names_every_flag_that_makes_exit_1():
    guide = (ROOT / "docs" / "INVOICING.md").read_text(encoding="utf-8")
    (row,) = [ln for ln in guide.splitlines() if ln.startswith("| 1 | done, but someone")]
    assert set(re.findall(r"`([a-z_]+)`", row)) >= ATTENTION_FLAGS


def test_the_cron_example_works_on_a_first_run(tmp_path):
    guide = (ROOT / "docs" / "INVOICING.md").read_text(encoding="utf-8")
    (line,) = [ln for ln in guide.splitlines() if re.match(r"^0 6 1 \* \* ", ln)]
    command = line.split(None, 5)[5].replace(r"\%", "%").replace("/srv/billing", str(tmp_path))
    workbook(tmp_path / "invoicing.xlsx")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "mail").write_text(f"#!/bin/sh\ncat > {tmp_path}/mailed.txt\n")
    (bin_dir / "mail").chmod(0o755)
    path = f"{bin_dir}:{Path(sys.executable).parent}:/usr/bin:/bin"
    done = subprocess.run(["sh", "-c", command], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PATH": path})
    assert done.returncode == 0, done.stderr
    report = json.loads(next(tmp_path.rglob("last-run.json")).read_text())
    assert report["exit_code"] in (0, 1) and (tmp_path / "out" / report["month"]).is_dir()


def test_progress_bar_only_for_a_person(tmp_path, monkeypatch, capsys):
    with invoice_cli.progress_bar(False) as progress:
        assert progress is None
    with invoice_cli.progress_bar(True, delay=0) as progress:  # draws on stderr, then goes
        assert progress is not None
        progress("documents", 1, 2)
        progress("documents", 2, 2)
    asked = []
    real = invoice_cli.progress_bar
    monkeypatch.setattr(invoice_cli, "progress_bar",
                        lambda enabled: asked.append(enabled) or real(enabled, delay=0))
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    book = workbook(tmp_path / "wb.xlsx")
    invoice(book, tmp_path / "out", "--json")
    invoice(book, tmp_path / "out")
    assert asked == [False, True]  # quiet under --json, a bar on a terminal
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False)
    invoice(book, tmp_path / "out")
    assert asked == [False, True, False]  # quiet when stderr is not a terminal


@pytest.mark.parametrize(("args", "message"), [
    (["invoice", "wb.xlsx"], "--month がありません"),
    (["notices", "wb.xlsx"], "--month がありません"),
    (["register", "void", "INV-202610-0001"], "--reason がありません"),
    (["register", "void", "INV-202610-0001", "--reason", "x", "--pdf", "--no-pdf"],
     "--no-pdf と --pdf は一緒に指定できません"),
    (["invoice", "wb.xlsx", "--month", "2026-13"], "--month: '2026-13': そのような月"),
    (["register", "lsit"], "ACTION: 'lsit' は選べません"),
])
def test_exit_2_when_the_command_line_is_wrong(args, message, capsys):
    """Refused before any run: in Japanese, and as JSON under --json (wherever it is)."""
    assert main([*args, "--json"]) == 2
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    assert (result["status"], result["exit_code"]) == ("invalid", 2)
    assert result["message"].startswith(message)
    assert one_line(captured.err) == f"xlquote: {result['message']}"
    assert main(args) == 2  # without --json: argparse's usage, then the same line
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.startswith("使い方: xlquote ")
    assert captured.err.splitlines()[-1] == f"xlquote: {result['message']}"


def test_exit_3_when_the_register_server_cannot_be_reached(tmp_path, capsys):
    """In Japanese, the server's own words after it; the output folder the run created is
    gone again, one that existed stays as it was."""
    url = f"postgresql://clerk@/nosuchdb?host={tmp_path}"  # no server listens there
    book = workbook(tmp_path / "wb.xlsx")
    out = tmp_path / "new" / "out"
    capsys.readouterr()
    assert invoice(book, out, "--register", url, "--json") == 3
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    assert (result["status"], result["exit_code"]) == ("write_failed", 3)
    assert result["message"].startswith(f"請求番号台帳 {url} に接続できません: ")
    assert one_line(captured.err) == f"xlquote: {result['message']}"
    assert not (tmp_path / "new").exists()
    kept = tmp_path / "kept"
    kept.mkdir()
    (kept / "notes.txt").write_text("mine")
    assert invoice(book, kept / "out", "--register", url) == 3  # created kept/out only
    assert [p.name for p in kept.iterdir()] == ["notes.txt"]
    assert invoice(book, kept, "--register", url) == 3
    assert kept.is_dir() and (kept / "notes.txt").read_text() == "mine"


def test_exit_3_names_the_os_reason_once(tmp_path, capsys):
    out = Path("/proc/xlquote-test")  # a folder cannot be made there
    capsys.readouterr()
    assert invoice(workbook(tmp_path / "wb.xlsx"), out, "--register",
                   str(tmp_path / "register.sqlite3")) == 3
    line = one_line(capsys.readouterr().err)
    assert line.startswith(f"xlquote: 書き込めません: {out}: その場所はありません")
    assert line.count(os.strerror(errno.ENOENT)) == 1


@pytest.mark.parametrize("where", ["--register", "XLQUOTE_REGISTER"])
def test_exit_2_for_a_password_in_the_register_url(where, tmp_path, capsys, monkeypatch):
    url = f"postgresql://clerk:s3cret@/billing?host={tmp_path}"
    args = ("--register", url) if where == "--register" else ()
    if where == "XLQUOTE_REGISTER":
        monkeypatch.setenv("XLQUOTE_REGISTER", url)
    book = workbook(tmp_path / "wb.xlsx")
    capsys.readouterr()
    assert invoice(book, tmp_path / "out", *args, "--json") == 2
    captured = capsys.readouterr()
    assert json.loads(captured.out)["message"] == REGISTER_PASSWORD_REFUSED  # as Settings says
    assert "~/.pgpass" in REGISTER_PASSWORD_REFUSED and "PGPASSWORD" in REGISTER_PASSWORD_REFUSED
    assert "s3cret" not in captured.out + captured.err
    assert not (tmp_path / "out").exists()
    assert main(["register", "list", "--out", str(tmp_path / "out"), *args]) == 2
    assert "s3cret" not in capsys.readouterr().err


@pytest.mark.parametrize("month", ["foo", "2026-1O", "2026-13"])
def test_register_list_refuses_a_month_it_cannot_read(month, tmp_path, capsys):
    """It printed 「0 件」 and exit 0: a script could not tell a typo from an empty month."""
    assert main(["register", "list", "--out", str(tmp_path / "out"), "--month", month,
                 "--json"]) == 2
    assert json.loads(capsys.readouterr().out)["message"].startswith(f"--month: '{month}'")


def test_a_folder_where_a_file_is_named_says_so(tmp_path, capsys):
    """The register 「がありません」 (it is there, a folder); the export named its temporary file."""
    folder = tmp_path / "比較.xlsx"
    folder.mkdir()
    assert main(["register", "list", "--register", str(folder)]) == 2
    assert "はフォルダです" in capsys.readouterr().err
    assert main(["compare", "--profile", str(EXAMPLE_PROFILE), "--out", str(folder)]) == 3
    assert f"書き込めません: {folder}: その名前のフォルダがあります" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["比較.xlsx"]


def test_a_date_of_early_1900_the_reader_takes_is_written_as_read(tmp_path, capsys):
    """Excel's days 1–59 (1900-01-01 to 02-28): the writer refused them after the invoices
    were numbered, a traceback and exit 1 on every rerun."""
    import datetime as dt

    book = workbook(tmp_path / "wb.xlsx", contracts={"C001": {"start_date": dt.date(1900, 1, 1)}},
                    incidents={"I-1001": {"opened": dt.date(1900, 1, 2)}})
    assert invoice(book, tmp_path / "out", "--no-pdf") in (0, 1)
    first = next((tmp_path / "out" / MONTH).glob("INV-*_C001_*.xlsx"))
    days = {cell.value for sheet in openpyxl.load_workbook(first).worksheets
            for row in sheet.iter_rows() for cell in row}
    assert dt.datetime(1900, 1, 2) in days  # 受付日 as the reader read it


@pytest.mark.parametrize("command", ["notices {book} --month {month} --out {out} --json",
                                     "notices {book} --month {month} --out {out}",
                                     "invoice {book} --month {month} --out {out} --no-pdf"])
def test_output_read_by_a_pipe_that_stops_is_no_traceback(tmp_path, command):
    """`xlquote notices … --json | head -c 50`: a traceback, and exit 1 after 「書き込めません」
    though the notices were written and recorded. Without --json, rich's summary exited 1 (the
    code of a run that needs attention) and said nothing."""
    book = workbook(tmp_path / "wb.xlsx")
    arguments = command.format(book=f"'{book}'", month=MONTH, out=f"'{tmp_path / 'n'}'")
    run = subprocess.run(
        ["bash", "-o", "pipefail", "-c", f"'{sys.executable}' -m xlquote {arguments} | true"],
        capture_output=True, text=True, timeout=120)  # closed before it writes
    assert "Traceback" not in run.stderr
    assert run.returncode == 141 and "出力を読む側が先に終了しました" in run.stderr
    record = "notices_record.sqlite3" if command.startswith("notices") else "register.sqlite3"
    assert (tmp_path / "n" / record).exists()


def test_a_folder_busy_with_another_run_is_named_as_busy(tmp_path, capsys, monkeypatch):
    """filelock's Timeout is an OSError: the wait ended in 「書き込めません: The file lock …
    could not be acquired.」 instead of the message saying another run is at work there."""
    from filelock import FileLock

    from xlquote.app import publishing

    book, out = workbook(tmp_path / "wb.xlsx"), tmp_path / "out"
    out.mkdir()
    monkeypatch.setattr(publishing.OutputFolder, "__init__", functools.partialmethod(
        publishing.OutputFolder.__init__, timeout=0.1))
    with FileLock(out / publishing.LOCK_NAME):
        assert invoice(book, out) == 3
    assert f"{out} では別の請求書作成が実行中です" in capsys.readouterr().err
    assert not (out / MONTH).exists()
