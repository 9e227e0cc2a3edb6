"""The notices job behind ``xlquote notices`` and the お知らせ作成 button.

Reads and validates the invoicing workbook as the month's run does, asks the engine for the
notices due as of a date, leaves out those already written (the record
``OUT/notices_record.sqlite3`` says which, by kind and incident or pack) unless asked again, and
writes the new ones as ``お知らせ一覧_<date>.xlsx`` and ``.json`` into OUT. The record is updated
only after both files are in place, so a failed run writes nothing twice and loses nothing; a
rerun on the same day adds a numbered file instead of replacing one that was already sent.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from ..engine.dates import Month
from ..engine.errors import InputError, Problem
from ..engine.notices import NoticeReport, notices_due
from ..memory import release_freed_memory
from ..readers.workbook import Engine, InvoicingData, read_invoicing_workbook
from ..writers.notices import write_notices_workbook
from .documents import current_umask
from .invoice_run import parse_month
from .publishing import WriteFailed, describe_os_error, folder_lock, write_errors
from .register import sqlite_reason

T = TypeVar("T")
RECORD_FILENAME = "notices_record.sqlite3"
EARLIER_RECORD = "notices_record.json"  # the record's first form, read once into the new one
RECORD_VERSION = 1  # of the first form
LOOKUP_CHUNK = 500  # keys per query (SQLite takes at least 999 parameters)
LOCK_TIMEOUT = 60.0  # seconds to wait for another run on the folder


@dataclass
class NoticesRunResult:
    report: NoticeReport  # the notices written by this run (new ones, or all with ``again``)
    already_written: int  # notices due but left out: an earlier run wrote them
    workbook: Path
    json_file: Path
    record: Path
    counts: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The report as its JSON file holds it, and what the run wrote and left out."""
        return {**self.report.to_dict(), "workbook": str(self.workbook),
                "json_file": str(self.json_file), "already_written": self.already_written}


def notices_filename(as_of: dt.date, folder: Path) -> Path:
    """``お知らせ一覧_2026-10-31.xlsx``; a second run for the same day gets ``_2`` and so on."""
    base = f"お知らせ一覧_{as_of.isoformat()}"
    path, number = folder / f"{base}.xlsx", 1
    while path.exists() or path.with_suffix(".json").exists():
        number += 1
        path = folder / f"{base}_{number}.xlsx"
    return path


def read_record(path: Path) -> dict[str, Any]:
    """The record's first form (a JSON file), read whole."""
    if not path.exists():
        return {"version": RECORD_VERSION, "written": {}}
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(record, dict) or not isinstance(record.get("written"), dict):
            raise ValueError("記録の形が違います")
        return record
    except json.JSONDecodeError:
        reason = "JSON として読めません"
    except UnicodeDecodeError:
        reason = "UTF-8 のテキストではありません"
    except ValueError as exc:
        reason = str(exc)
    except OSError as exc:
        reason = exc.strerror or str(exc)
    raise InputError([Problem(None, "record", str(path),
                              f"お知らせの送付記録が読めません ({reason})。別の場所に移すと、"
                              "新しい記録で始めます")])


def write_json_atomic(path: Path, data: Any) -> None:
    """``data`` as ``path``, whole or not at all; readable as the folder's other files are
    (mkstemp's file is its owner's only)."""
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(data, out, ensure_ascii=False, indent=2)
        os.chmod(temp, 0o666 & ~current_umask())
        os.replace(temp, path)
    except OSError as exc:
        Path(temp).unlink(missing_ok=True)
        exc.filename = exc.filename or str(path)
        raise WriteFailed(f"{describe_os_error(exc)}。何も変更していません") from None


class NoticesRecord:
    """The notices earlier runs wrote, one row per notice in SQLite (``RECORD_FILENAME``): a
    run looks up its own notices' keys. The first form, a JSON file read whole, held 1.16
    million entries after eight months of a million incidents and took 1.1 GB to read; it is
    read until a run has carried its entries over (``CARRIED``, in the same transaction as
    the run's own rows), so a run that fails half-way loses none of them."""

    CARRIED = 1  # PRAGMA user_version once the first form's entries are in

    def __init__(self, folder: Path) -> None:
        self.path = folder / RECORD_FILENAME
        self.connection: sqlite3.Connection | None = None
        self.carried = False  # the record holds the first form's entries (and this form's)
        if self.path.exists():
            self.connection = self._database(sqlite3.connect, self.path, isolation_level=None)
            self.carried = self._database(self._version) >= self.CARRIED
        earlier = folder / EARLIER_RECORD
        self.earlier: dict[str, Any] = (read_record(earlier)["written"]
                                        if earlier.exists() and not self.carried else {})

    def _version(self) -> int:
        assert self.connection is not None
        version = int(self.connection.execute("PRAGMA user_version").fetchone()[0])
        if version >= self.CARRIED:  # a record of this form: its table is there as made
            self.connection.execute("SELECT key, kind, date, file FROM written LIMIT 1")
        return version

    def _database(self, action: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``action``, its SQLite errors told as the clerk needs them: a record in use is
        a run to try again (exit 3), a damaged one is named (exit 2), a full disk is a
        failed write (exit 3, nothing recorded)."""
        try:
            return action(*args, **kwargs)
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise WriteFailed(f"お知らせの送付記録 {self.path} は使用中です。終わってから"
                                  "もう一度実行してください (何も変更していません)") from None
            if "no such table" not in str(exc):
                raise WriteFailed(f"お知らせの送付記録 {self.path} を使えません: "
                                  f"{sqlite_reason(str(exc))}。何も変更していません") from None
            raise self._unreadable(exc) from None
        except sqlite3.DatabaseError as exc:  # not a database, malformed
            raise self._unreadable(exc) from None

    def _unreadable(self, exc: Exception) -> InputError:
        return InputError([Problem(None, "record", str(self.path),
                                   f"お知らせの送付記録が読めません ({exc})。別の場所に移すと、"
                                   "新しい記録で始めます")])

    def written(self, keys: list[str]) -> set[str]:
        """Which of ``keys`` an earlier run wrote."""
        found = {key for key in keys if key in self.earlier}
        if self.connection is not None and self.carried:
            for start in range(0, len(keys), LOOKUP_CHUNK):
                chunk = keys[start:start + LOOKUP_CHUNK]
                marks = ",".join("?" * len(chunk))
                found.update(row[0] for row in self._database(
                    self.connection.execute, f"SELECT key FROM written WHERE key IN ({marks})",
                    chunk))
        return found

    def add(self, rows: list[tuple[str, str, str, str]]) -> None:
        """Record ``rows`` (key, kind, date, file), and the first form's entries when they
        are not in yet: all in one transaction, or nothing."""
        if self.connection is None:
            made = not self.path.exists()
            self.connection = self._database(sqlite3.connect, self.path, isolation_level=None)
            if made:
                os.chmod(self.path, 0o666 & ~current_umask())
        self._database(self._add, self.connection, rows)
        self.carried, self.earlier = True, {}

    def _add(self, connection: sqlite3.Connection, rows: list[tuple[str, str, str, str]]
             ) -> None:
        connection.execute("BEGIN IMMEDIATE")
        try:
            connection.execute("CREATE TABLE IF NOT EXISTS written (key TEXT PRIMARY KEY, "
                               "kind TEXT NOT NULL, date TEXT NOT NULL, file TEXT NOT NULL)")
            insert = "INSERT OR REPLACE INTO written VALUES (?, ?, ?, ?)"
            connection.executemany(insert, (
                (key, str(entry.get("kind", "")), str(entry.get("date", "")),
                 str(entry.get("file", ""))) for key, entry in self.earlier.items()
                if isinstance(entry, dict)))
            connection.executemany(insert, rows)
            connection.execute(f"PRAGMA user_version = {self.CARRIED}")
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:  # SQLite rolls back by itself on a full disk
                connection.execute("ROLLBACK")
            raise

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()


def run_notices(data: InvoicingData, month: Month | str, out_dir: str | Path,
                as_of: dt.date | None = None, since: dt.date | None = None,
                again: bool = False) -> NoticesRunResult:
    return write_notices(_notices_of(data, month, as_of, since), out_dir, again)


def _notices_of(data: InvoicingData, month: Month | str, as_of: dt.date | None,
                since: dt.date | None) -> NoticeReport:
    # The billing frees ~100 MB of its working arrays for a million incidents, and the notices
    # are made while it is still held: what it freed goes back first, then the rest of it.
    try:
        report = notices_due(data.contracts, data.incidents, parse_month(month), data.packs,
                             data.pricebooks(), as_of=as_of, since=since,
                             on_billed=release_freed_memory)
    except InputError as error:
        raise data.named_as_read(error) from None
    release_freed_memory()  # the month's billing (~350 MB for a million incidents) is gone
    return report


def write_notices(report: NoticeReport, out_dir: str | Path, again: bool = False
                  ) -> NoticesRunResult:
    """The report's notices not written before (all with ``again``) into the notices workbook
    and its JSON, and the record of what was written."""
    folder = Path(out_dir)
    with write_errors():
        folder.mkdir(parents=True, exist_ok=True)
    # One run at a time on a folder (as the month's run): two would each read the record,
    # write their notices and keep only their own entries, so the other's were sent again.
    lock = folder_lock(folder, LOCK_TIMEOUT, f"{folder} は別の実行が使用中です。終わってから"
                       "もう一度実行してください")
    try:
        record = NoticesRecord(folder)
        written = set() if again else record.written([n.key for n in report.notices])
        new = [n for n in report.notices if n.key not in written]
        skipped = len(report.notices) - len(new)
        report.notices = new
        workbook = notices_filename(report.as_of, folder)
        json_file = workbook.with_suffix(".json")
        try:
            with write_errors():
                write_notices_workbook(report, workbook)
            write_json_atomic(json_file, report.to_dict())
            record.add([(n.key, n.kind, n.date.isoformat(), workbook.name) for n in new])
        except BaseException:  # not recorded as sent: the next run writes them again, once
            workbook.unlink(missing_ok=True)
            json_file.unlink(missing_ok=True)
            raise
        finally:
            record.close()
    finally:
        lock.release()
    counts: dict[str, int] = {}
    for notice in new:
        counts[notice.kind] = counts.get(notice.kind, 0) + 1
    return NoticesRunResult(report, skipped, workbook, json_file, record.path, counts)


def run_notices_workbook(workbook: str | Path, month: Month | str, out_dir: str | Path,
                         as_of: dt.date | None = None, since: dt.date | None = None,
                         again: bool = False, engine: Engine = "fastexcel") -> NoticesRunResult:
    month = parse_month(month)
    data = read_invoicing_workbook(workbook, engine)
    report = _notices_of(data, month, as_of, since)
    del data  # the month's records (~400 MB for a million incidents) before the writing
    release_freed_memory()
    return write_notices(report, out_dir, again)
