"""The invoice register: issued invoices are legal documents, numbered once, never changed.

An embedded SQLite database (standard library) records every invoice a billing run issues:
its number, contract, month, totals, and a hash of its content. A rerun with the same inputs
gets the same numbers back; an invoice whose content changed is refused, or — when asked —
answered with a correction invoice (修正インボイス) that references the original.

Numbers are handed out inside one ``BEGIN IMMEDIATE`` transaction per run, so two runs at
once never share a number (the second waits, then fails clearly), and a run killed at any
point leaves the register as it was before the run.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..engine.dates import Month
from ..engine.errors import XlquoteError
from ..engine.invoice import Invoice

DEFAULT_NUMBER_FORMAT = "INV-{year:04d}{month:02d}-{seq:04d}"
SCHEMA = """
CREATE TABLE IF NOT EXISTS invoices (
    number        TEXT PRIMARY KEY,
    month         TEXT NOT NULL,
    seq           INTEGER NOT NULL,
    contract_id   TEXT NOT NULL,
    customer      TEXT NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('invoice', 'correction')),
    corrects      TEXT REFERENCES invoices(number),  -- the version this one replaces
    subtotal      INTEGER NOT NULL,
    tax           INTEGER NOT NULL,
    total         INTEGER NOT NULL,
    content_hash  TEXT NOT NULL,
    issued_at     TEXT NOT NULL,
    UNIQUE (month, seq)
);
CREATE UNIQUE INDEX IF NOT EXISTS one_original_per_contract_month
    ON invoices (month, contract_id) WHERE kind = 'invoice';
"""


class RegisterError(XlquoteError):
    """The register refuses: changed invoices without --correct, a lock held too long, …"""


@dataclass(frozen=True)
class Issued:
    number: str
    month: str
    seq: int
    contract_id: str
    customer: str
    kind: str
    corrects: str | None
    subtotal: int
    tax: int
    total: int
    content_hash: str
    issued_at: str


@dataclass(frozen=True)
class Assignment:
    """What the register decided for one invoice of a run."""

    number: str
    status: str  # "new" | "unchanged" | "correction"
    original: Issued | None = None  # the version in force before this run, if any
    corrects: Issued | None = None  # the version this invoice's document corrects, if any


@dataclass(frozen=True)
class IssueRequest:
    """What the register needs to know of an invoice a run wants to issue."""

    month: Month
    contract_id: str
    customer: str
    subtotal: int
    tax: int
    total: int
    content_hash: str

    @classmethod
    def of(cls, invoice: Invoice) -> IssueRequest:
        return cls(invoice.month, invoice.contract.contract_id, invoice.contract.customer,
                   invoice.subtotal, invoice.tax, invoice.total, content_hash(invoice))


def content_hash(invoice: Invoice) -> str:
    """SHA-256 of everything the invoice shows except its number."""
    data = invoice.to_dict()
    data.pop("number", None)
    data.pop("correction", None)
    text = json.dumps(data, ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class Register:
    def __init__(self, path: str | Path, number_format: str = DEFAULT_NUMBER_FORMAT,
                 timeout: float = 30.0) -> None:
        self.path = Path(path)
        self.number_format = number_format
        self.timeout = timeout
        try:
            number_format.format(year=2026, month=10, seq=1)
        except (KeyError, IndexError, ValueError) as exc:
            raise RegisterError(f"invoice number format {number_format!r}: {exc}; use "
                                "{year}, {month} and {seq}") from None

    def _connect(self) -> sqlite3.Connection:
        """Open (and on first use create) the register. Two runs creating it at the same
        moment can see "database is locked" from the journal-mode switch, which SQLite does
        not retry itself: retried here until the timeout."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                connection = sqlite3.connect(self.path, timeout=self.timeout,
                                             isolation_level=None)
                try:
                    connection.execute("PRAGMA journal_mode=WAL")
                    connection.execute("PRAGMA synchronous=FULL")
                    connection.executescript(SCHEMA)
                except BaseException:
                    connection.close()
                    raise
            except sqlite3.OperationalError as exc:
                if "locked" in str(exc) and time.monotonic() < deadline:
                    time.sleep(0.05)
                    continue
                raise RegisterError(f"register {self.path}: {exc}") from None
            except sqlite3.DatabaseError as exc:
                raise RegisterError(f"register {self.path}: {exc}") from None
            connection.row_factory = sqlite3.Row
            return connection

    @contextlib.contextmanager
    def session(self) -> Iterator[RegisterSession]:
        """One run's exclusive session: commits when the block succeeds, else rolls back."""
        connection = self._connect()
        try:
            try:
                connection.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise RegisterError(
                    f"register {self.path} is busy ({exc}): another billing run is writing; "
                    "try again when it has finished") from None
            try:
                yield RegisterSession(self, connection)
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")
        finally:
            connection.close()

    def list(self, month: str | None = None) -> list[Issued]:
        connection = self._connect()
        try:
            query = "SELECT * FROM invoices" + (" WHERE month = ?" if month else "")
            rows = connection.execute(query + " ORDER BY month, seq", (month,) if month else ())
            return [Issued(**dict(row)) for row in rows]
        finally:
            connection.close()

    def show(self, number: str) -> tuple[Issued, list[Issued]]:
        """The invoice ``number`` and every correction that references it."""
        connection = self._connect()
        try:
            row = connection.execute("SELECT * FROM invoices WHERE number = ?", (number,)).fetchone()
            if row is None:
                raise RegisterError(f"no invoice {number!r} in the register {self.path}")
            corrections = connection.execute(
                "SELECT * FROM invoices WHERE corrects = ? ORDER BY seq", (number,))
            return Issued(**dict(row)), [Issued(**dict(r)) for r in corrections]
        finally:
            connection.close()


class RegisterSession:
    def __init__(self, register: Register, connection: sqlite3.Connection) -> None:
        self.register = register
        self.connection = connection

    def latest(self, month: Month, contract_id: str) -> Issued | None:
        """The version in force: the original invoice or its latest correction."""
        row = self.connection.execute(
            "SELECT * FROM invoices WHERE month = ? AND contract_id = ? ORDER BY seq DESC LIMIT 1",
            (str(month), contract_id)).fetchone()
        return None if row is None else Issued(**dict(row))

    def get(self, number: str) -> Issued | None:
        row = self.connection.execute("SELECT * FROM invoices WHERE number = ?",
                                      (number,)).fetchone()
        return None if row is None else Issued(**dict(row))

    def issued_contracts(self, month: Month) -> dict[str, Issued]:
        rows = self.connection.execute(
            "SELECT * FROM invoices WHERE month = ? ORDER BY seq", (str(month),))
        return {row["contract_id"]: Issued(**dict(row)) for row in rows}

    def _next_seq(self, month: Month) -> int:
        (seq,) = self.connection.execute(
            "SELECT COALESCE(MAX(seq), 0) + 1 FROM invoices WHERE month = ?",
            (str(month),)).fetchone()
        return int(seq)

    def plan(self, items: list[IssueRequest] | list[Invoice], correct: bool) -> list[Assignment]:
        """Decide every invoice's number before anything is written. Refuses (RegisterError
        naming the invoices) when issued invoices changed and ``correct`` is False, or when
        an issued invoice of the month is no longer produced."""
        requests = [r if isinstance(r, IssueRequest) else IssueRequest.of(r) for r in items]
        decisions: list[tuple[IssueRequest, str, Issued | None]] = []
        changed: list[str] = []
        for request in requests:
            previous = self.latest(request.month, request.contract_id)
            if previous is None:
                decisions.append((request, "new", None))
            elif previous.content_hash == request.content_hash:
                decisions.append((request, "unchanged", previous))
            else:
                changed.append(f"{previous.number} ({request.contract_id}, "
                               f"total {previous.total:,} → {request.total:,})")
                decisions.append((request, "correction", previous))
        for month in sorted({r.month for r in requests}):
            produced = {r.contract_id for r in requests if r.month == month}
            gone = [f"{i.number} ({cid})" for cid, i in self.issued_contracts(month).items()
                    if cid not in produced]
            if gone:
                raise RegisterError(
                    "issued invoices are no longer produced by the inputs: " + ", ".join(gone)
                    + ". Restore their contracts/incidents; cancelling an issued invoice is "
                    "done by hand with a credit note")
        if changed and not correct:
            raise RegisterError(
                "inputs changed for invoices already issued: " + ", ".join(changed)
                + ". Nothing was written. Rerun with --correct to issue correction invoices "
                "(修正インボイス)")
        assignments = []
        for request, status, previous in decisions:
            if status == "unchanged":
                assert previous is not None
                corrected = self.get(previous.corrects) if previous.corrects else None
                assignments.append(Assignment(previous.number, status, previous, corrected))
                continue
            seq = self._next_seq(request.month)
            number = self.register.number_format.format(year=request.month.year,
                                                        month=request.month.month, seq=seq)
            self._insert(request, number, seq, status, previous)
            assignments.append(Assignment(number, status, previous, previous))
        return assignments

    def _insert(self, request: IssueRequest, number: str, seq: int, status: str,
                previous: Issued | None) -> None:
        original = previous.number if previous is not None else None
        try:
            self.connection.execute(
                "INSERT INTO invoices VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (number, str(request.month), seq, request.contract_id, request.customer,
                 "correction" if status == "correction" else "invoice", original,
                 request.subtotal, request.tax, request.total, request.content_hash,
                 dt.datetime.now(dt.UTC).isoformat(timespec="seconds")))
        except sqlite3.IntegrityError as exc:
            raise RegisterError(f"invoice number {number!r} is already taken ({exc}); check the "
                                "number format setting") from None

