"""The invoice register: every number issued, what its document said, and its files.

Issued invoices are legal records (適格請求書, kept 7 years): a number is handed out once,
its document is kept as issued (the billed content, the header, the Settings it was issued
with, each file's SHA-256), a mistake is fixed by a correction invoice that refers to it, and
a cancelled invoice keeps its number. Drafts and statements are not issued; the register keeps
only what each output folder last showed of them, for the month's summary.

Written through SQLAlchemy Core with SQL that SQLite and PostgreSQL both run: numbers come
from one counter row per month, locked (``SELECT … FOR UPDATE``; SQLite's ``BEGIN IMMEDIATE``
locks the whole file) at the start of the transaction that hands them out, so two runs issuing
one month get one set of numbers and the second sees the first's documents.

Where it is: an SQLite file (the default ``OUT/register.sqlite3``, for one person or one
machine), or a PostgreSQL database a team shares (``postgresql://ROLE@HOST/DATABASE``, through
psycopg 3: the extra ``xlquote[postgres]``). A server's password comes from libpq's own places
(``~/.pgpass``, ``PGPASSWORD``, a service file); a URL is printed without it. The first run on
an empty database creates the tables (runs starting at once take turns) and says so.

Publishing is done in steps (``publishing.py``): a document is recorded ``pending`` with its
content before any file of it appears, its files are published, then it is marked ``issued``
with their hashes. A run that dies between those steps is finished by the next run on that
folder (``folder_id``): a pending number is never handed out again.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import socket
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool

from ..engine.dates import Month, issue_date
from ..engine.errors import OutputError, XlquoteError
from ..engine.invoice import Flag
from ..engine.settings import REGISTER_PASSWORD_REFUSED, SERVER_REGISTER_SCHEMES, url_has_password
from ..writers.summary import DocumentFigures
from .documents import safe_filename, timestamp

FIGURES = tuple(DocumentFigures.__dataclass_fields__)  # the columns every listing shows

DEFAULT_NUMBER_FORMAT = "INV-{year:04d}{month:02d}-{seq:04d}"
SCHEMA_VERSION = "3"
SERVER_DRIVER = "postgresql+psycopg"  # every PostgreSQL URL goes through psycopg 3
CONNECT_TIMEOUT = 10  # seconds to reach a register's server
SCHEMA_LOCK = 0x786C71756F7465  # "xlquote": the advisory lock creating a server's tables

metadata = sa.MetaData()

register_info = sa.Table(
    "register_info", metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False))

month_counters = sa.Table(  # the last sequence number handed out per month
    "month_counters", metadata,
    sa.Column("month", sa.String(7), primary_key=True),
    sa.Column("last_seq", sa.Integer, nullable=False))

settings_versions = sa.Table(  # each distinct Settings documents were issued with
    "settings_versions", metadata,
    sa.Column("settings_hash", sa.String(64), primary_key=True),
    sa.Column("settings", sa.Text, nullable=False),
    sa.Column("first_used_at", sa.String(32), nullable=False))

documents = sa.Table(  # numbered documents: invoices and correction invoices
    "documents", metadata,
    sa.Column("number", sa.String(64), primary_key=True),
    sa.Column("month", sa.String(7), nullable=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("contract_id", sa.Text, nullable=False),
    sa.Column("customer", sa.Text, nullable=False),
    sa.Column("plan", sa.String(32), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("corrects", sa.String(64), sa.ForeignKey("documents.number"), nullable=True),
    sa.Column("subtotal", sa.BigInteger, nullable=False),
    sa.Column("tax", sa.BigInteger, nullable=False),
    sa.Column("total", sa.BigInteger, nullable=False),
    sa.Column("issue_date", sa.Date, nullable=False),
    sa.Column("due_date", sa.Date, nullable=True),  # NULL: recorded by the first register
    sa.Column("legal_hash", sa.String(64), nullable=True),  # NULL: recorded by the first register
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("content", sa.LargeBinary, nullable=True),  # the billed invoice (documents.py)
    sa.Column("contract", sa.Text, nullable=True),  # the contract record, JSON
    sa.Column("flags", sa.Text, nullable=False),  # JSON [[code, incident_id, message], …]
    sa.Column("settings_hash", sa.String(64), sa.ForeignKey("settings_versions.settings_hash"),
              nullable=True),
    sa.Column("file_stem", sa.Text, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("folder_id", sa.String(32), nullable=False),  # the folder that publishes it
    sa.Column("issued_at", sa.String(32), nullable=False),  # JST, with its offset
    sa.UniqueConstraint("month", "seq"),
    sa.CheckConstraint("kind IN ('invoice', 'correction')", name="document_kind"),
    sa.CheckConstraint("state IN ('pending', 'issued')", name="document_state"))
sa.Index("documents_by_contract", documents.c.month, documents.c.contract_id)

cancellations = sa.Table(  # issued invoices cancelled (取消); the number stays taken
    "cancellations", metadata,
    sa.Column("number", sa.String(64), sa.ForeignKey("documents.number"), primary_key=True),
    sa.Column("cancelled_on", sa.Date, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("settings_hash", sa.String(64), sa.ForeignKey("settings_versions.settings_hash"),
              nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("folder_id", sa.String(32), nullable=False),
    sa.Column("recorded_at", sa.String(32), nullable=False),
    sa.CheckConstraint("state IN ('pending', 'issued')", name="cancellation_state"))

document_files = sa.Table(  # each file of a document: xlsx, pdf, cancellation.xlsx, …
    "document_files", metadata,
    sa.Column("number", sa.String(64), sa.ForeignKey("documents.number"), primary_key=True),
    sa.Column("role", sa.String(32), primary_key=True),
    sa.Column("sha256", sa.String(64), nullable=True),
    sa.Column("error", sa.Text, nullable=True),  # why it could not be made
    sa.Column("recorded_at", sa.String(32), nullable=False))

response_reports = sa.Table(  # the summary's 対応状況 as a folder's last run of a month saw it
    "response_reports", metadata,
    sa.Column("folder_id", sa.String(32), primary_key=True),
    sa.Column("month", sa.String(7), primary_key=True),
    sa.Column("rows", sa.Text, nullable=False),  # JSON (documents.encode_responses)
    sa.Column("updated_at", sa.String(32), nullable=False))

output_folders = sa.Table(  # the output folders documents are published from, and where
    "output_folders", metadata,
    sa.Column("folder_id", sa.String(32), primary_key=True),
    sa.Column("host", sa.Text, nullable=False),
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("first_used_at", sa.String(32), nullable=False),
    sa.Column("last_used_at", sa.String(32), nullable=False))

working_documents = sa.Table(  # drafts and statements a folder shows for a month (not issued)
    "working_documents", metadata,
    sa.Column("folder_id", sa.String(32), primary_key=True),
    sa.Column("month", sa.String(7), primary_key=True),
    sa.Column("contract_id", sa.String(255), primary_key=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("customer", sa.Text, nullable=False),
    sa.Column("plan", sa.String(32), nullable=False),
    sa.Column("subtotal", sa.BigInteger, nullable=False),
    sa.Column("tax", sa.BigInteger, nullable=False),
    sa.Column("total", sa.BigInteger, nullable=False),
    sa.Column("issue_date", sa.Date, nullable=False),
    sa.Column("due_date", sa.Date, nullable=False),
    sa.Column("flags", sa.Text, nullable=False),
    sa.Column("file_stem", sa.Text, nullable=False),
    sa.Column("roles", sa.Text, nullable=False),  # JSON: the files written
    sa.Column("updated_at", sa.String(32), nullable=False))
# The columns the first format's ``invoices`` table had (taken over by _take_over_first_register):
# another program's table of that name is not one.
FIRST_REGISTER_COLUMNS = frozenset({"number", "month", "seq", "contract_id", "customer", "kind",
                                    "corrects", "subtotal", "tax", "total", "content_hash",
                                    "issued_at"})


def _first_register(tables: set[str], invoices_columns: Callable[[], set[str]]) -> bool:
    """The database holds the first format's register (an ``invoices`` table of its columns)."""
    return "invoices" in tables and invoices_columns() >= FIRST_REGISTER_COLUMNS


def _holds_a_register(tables: set[str], invoices_columns: Callable[[], set[str]]) -> bool:
    """A register's tables, or the first format's, are there: a file holding neither is
    another program's."""
    return bool(tables & set(metadata.tables)) or _first_register(tables, invoices_columns)


def register_id_in_file(path: Path, timeout: float = 5.0) -> str | None:
    """The id of the register in the SQLite file ``path``, read without changing it (no tables
    made, no earlier format taken over, as opening it as a ``Register`` would); None when the
    file is missing, unreadable or holds no register."""
    if not path.is_file():
        return None
    # mode=rw: never creates the file; read-write so that closing the last connection tidies
    # the WAL away, as SQLite does (read-only would leave -wal and -shm files beside it).
    uri = f"{path.absolute().as_uri()}?mode=rw"
    try:
        with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=timeout)) as connection:
            row = connection.execute(
                "SELECT value FROM register_info WHERE key = 'register_id'").fetchone()
    except sqlite3.Error:
        return None
    return None if row is None else str(row[0])


class RegisterError(XlquoteError):
    """The register refuses: changed invoices without --correct, an unknown number, … (bad
    input: exit 2)."""


class RegisterUnavailable(OutputError):
    """The register cannot be opened or written: busy, disk full, read-only (exit 3)."""


@dataclass(frozen=True)
class FileRecord:
    role: str
    sha256: str | None
    error: str | None = None


@dataclass(frozen=True)
class CancellationRecord:
    number: str
    cancelled_on: dt.date
    reason: str
    settings_hash: str
    state: str
    folder_id: str
    recorded_at: str


@dataclass(frozen=True)
class Issued(DocumentFigures):
    """A numbered document as the register keeps it (without its content blob)."""

    number: str
    month: str
    seq: int
    kind: str
    corrects: str | None
    legal_hash: str | None
    content_hash: str
    file_stem: str
    state: str
    folder_id: str
    issued_at: str
    settings_hash: str | None
    files: dict[str, FileRecord] = field(default_factory=dict)
    cancellation: CancellationRecord | None = None
    corrected_by: str | None = None
    folder: str = ""  # where the folder that published it is (``host:path``), if known

    @property
    def status(self) -> str:
        """void | voiding | corrected | issued | pending. ``voiding``: a cancellation under
        way (its document not yet issued; the folder that began it finishes it)."""
        if self.cancellation is not None:
            return "voiding" if self.cancellation.state == "pending" else "void"
        if self.corrected_by is not None:
            return "corrected"
        return self.state

    @property
    def in_force(self) -> bool:
        return self.cancellation is None and self.corrected_by is None

    def to_dict(self) -> dict[str, Any]:
        data = {k: v for k, v in vars(self).items() if k not in ("files", "cancellation",
                                                                 "flags")}
        data["issue_date"] = self.issue_date.isoformat()
        data["due_date"] = self.due_date.isoformat() if self.due_date else None
        data["status"] = self.status
        data["flags"] = [f.code for f in self.flags]
        data["files"] = {r: {"sha256": f.sha256, "error": f.error} for r, f in self.files.items()}
        data["cancellation"] = None if self.cancellation is None else {
            "cancelled_on": self.cancellation.cancelled_on.isoformat(),
            "reason": self.cancellation.reason, "state": self.cancellation.state,
            "recorded_at": self.cancellation.recorded_at}
        return data


@dataclass(frozen=True)
class Working(DocumentFigures):
    """A draft or statement a folder shows for a month."""

    month: str
    kind: str
    file_stem: str
    roles: tuple[str, ...]


def encode_flags(flags: Iterable[Flag]) -> str:
    return json.dumps([[f.code, f.incident_id, f.message] for f in flags], ensure_ascii=False)


def decode_flags(text: str) -> tuple[Flag, ...]:
    return tuple(Flag(code, message, incident_id) for code, incident_id, message in json.loads(text))


def _retrying(action: Any, timeout: float) -> Any:
    """SQLite does not retry the journal-mode switch itself: two runs creating the register at
    one moment can see "database is locked". Retried until ``timeout``."""
    import sqlite3

    deadline = time.monotonic() + timeout
    while True:
        try:
            return action()
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _sqlite_engine(path: Path, timeout: float) -> Engine:
    engine = sa.create_engine(f"sqlite:///{path}", poolclass=NullPool,
                              connect_args={"timeout": timeout})

    @sa.event.listens_for(engine, "connect")
    def connect(dbapi_connection: Any, _: Any) -> None:
        dbapi_connection.isolation_level = None  # transactions begin as ``begin`` says
        tables = {row[0] for row in _retrying(lambda: dbapi_connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'").fetchall(), timeout)}

        def invoices_columns() -> set[str]:
            return {row[1] for row in dbapi_connection.execute(
                "PRAGMA table_info(invoices)").fetchall()}

        # WAL for a register or a new file; another program's file is left as it is
        if not tables or _holds_a_register(tables, invoices_columns):
            _retrying(lambda: dbapi_connection.execute("PRAGMA journal_mode=WAL"), timeout)
        dbapi_connection.execute("PRAGMA synchronous=FULL")
        dbapi_connection.execute("PRAGMA foreign_keys=ON")

    @sa.event.listens_for(engine, "begin")
    def begin(connection: Connection) -> None:
        # A writing transaction takes the write lock at once (another run waits here, not
        # half-way through); reads share.
        reading = connection.get_execution_options().get("register_read", False)
        connection.exec_driver_sql("BEGIN" if reading else "BEGIN IMMEDIATE")

    return engine


def _old_safe_filename(text: str) -> str:
    """File-name parts as the first register's runs wrote them (40 characters at most)."""
    return safe_filename(text)[:40] or "_"


def server_url(text: str) -> sa.URL:
    """A register's server URL, checked: PostgreSQL (``postgresql://``, ``postgres://`` or
    ``postgresql+psycopg://``), always through psycopg 3, without a password (refused: it
    belongs in ~/.pgpass, PGPASSWORD or a service file). Messages never repeat the URL."""
    scheme = text.split("://", 1)[0].lower()
    if scheme not in SERVER_REGISTER_SCHEMES:
        raise RegisterError(
            f"請求番号台帳 {scheme}://… は使えません: SQLite のファイル名か postgresql://ユーザー@"
            "サーバー/データベース を指定してください")
    if url_has_password(text):
        raise RegisterError(REGISTER_PASSWORD_REFUSED)
    try:
        url = sa.engine.make_url(text)
    except (sa.exc.ArgumentError, ValueError):  # ValueError: a port that is no number
        raise RegisterError("請求番号台帳の URL を読めません: postgresql://ユーザー@サーバー/"
                            "データベース の形で指定してください") from None
    if not url.database and "service" not in url.query:  # a service file may name it
        raise RegisterError(f"請求番号台帳 {redacted(url)} にデータベース名がありません "
                            "(postgresql://ユーザー@サーバー/データベース)")
    return url.set(drivername=SERVER_DRIVER)


def _secret(key: str) -> bool:
    return "password" in key.lower()  # libpq's password and sslpassword


def redacted(url: sa.URL) -> str:
    """``url`` fit to print (not to parse: nothing is quoted): its password and any password
    parameter as ***."""
    user = (url.username or "") + (":***" if url.password else "")
    where = (url.host or "") + (f":{url.port}" if url.port else "")
    query = "&".join(f"{key}={'***' if _secret(key) else value}"
                     for key, values in url.query.items()
                     for value in ((values,) if isinstance(values, str) else values))
    return (f"postgresql://{user}{'@' if user else ''}{where}/{url.database or ''}"
            + (f"?{query}" if query else ""))


def without_password(url: sa.URL) -> str:
    """``url`` without its password at all: fit to keep in a file another run reads (the
    password then comes from ~/.pgpass, PGPASSWORD or a service file)."""
    kept = url._replace(password=None, drivername="postgresql")
    return kept.difference_update_query([k for k in url.query if _secret(k)]).render_as_string(
        hide_password=False)


def _server_engine(url: sa.URL, timeout: float) -> Engine:
    try:
        import psycopg  # noqa: F401 — only to say what is missing
    except ImportError:
        raise RegisterUnavailable(
            f"請求番号台帳 {redacted(url)}: PostgreSQL のドライバがありません "
            "(pip install 'xlquote[postgres]')") from None
    # A run waits for another run's lock on the month as long as it would for SQLite's.
    options = " ".join(filter(None, (url.query.get("options", ""),
                                     f"-c lock_timeout={int(timeout * 1000)}")))
    defaults = {"connect_timeout": CONNECT_TIMEOUT, "application_name": "xlquote"}
    connect_args = {k: v for k, v in defaults.items() if k not in url.query}
    # NullPool: no connection outlives its transaction, so none is inherited by a forked
    # worker (which would close the run's connection when it exits).
    return sa.create_engine(url, poolclass=NullPool,
                            connect_args={**connect_args, "options": options})


class Register:
    """The register at ``location``: an SQLite file path, or a PostgreSQL server's URL."""

    def __init__(self, location: str | Path, number_format: str = DEFAULT_NUMBER_FORMAT,
                 timeout: float = 30.0) -> None:
        text = str(location)
        if text.lower().startswith("sqlite:///"):  # a file, named as SQLAlchemy would
            text = sa.engine.make_url(text).database or ""
        self.url = server_url(text) if "://" in text else None
        self.path = None if self.url else Path(text)
        self.number_format = number_format
        self.timeout = timeout
        self.created = False  # this object's first use created the register
        self._engine: Engine | None = None
        self._id: str | None = None
        try:
            number_format.format(year=2026, month=10, seq=1)
        except (KeyError, IndexError, ValueError) as exc:
            raise RegisterError(f"invoice number format {number_format!r}: {exc}; use "
                                "{year}, {month} and {seq}") from None

    @property
    def kind(self) -> str:
        """sqlite | postgresql"""
        return "sqlite" if self.url is None else "postgresql"

    @property
    def display(self) -> str:
        """Where the register is, fit to print (a URL without its password)."""
        if self.url is None:
            return str(self.path)
        return redacted(self.url)

    @property
    def location(self) -> str:
        """Where the register is, for another run to find it: the file's absolute path, or
        the server's URL without a password."""
        if self.url is None:
            assert self.path is not None
            return str(self.path.absolute())
        return without_password(self.url)

    def __str__(self) -> str:
        return self.display

    def exists(self) -> bool:
        """The register has been created (never creates it)."""
        if self.path is not None:
            return self.path.is_file()
        engine = self._engine or self._create_engine()
        with _database_errors(self), _connected(self, engine) as connection:
            return sa.inspect(connection).has_table("documents")

    def number(self, month: Month, seq: int) -> str:
        return self.number_format.format(year=month.year, month=month.month, seq=seq)

    # --- connections -------------------------------------------------------------------------

    def _create_engine(self) -> Engine:
        if self.url is not None:
            return _server_engine(self.url, self.timeout)
        assert self.path is not None
        if self.path.exists() and self.path.is_dir():
            raise RegisterUnavailable(f"請求番号台帳 {self.path} はフォルダです")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RegisterUnavailable(f"請求番号台帳 {self.path} を作れません: "
                                      f"{exc.strerror or exc}") from None
        return _sqlite_engine(self.path, self.timeout)

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            engine = self._create_engine()
            # A register with every table is only read here (a listing does not wait for a
            # run's write lock); the tables are made in a writing transaction when missing.
            with (_database_errors(self), _connected(self, engine) as connection):
                reading = connection.execution_options(register_read=True)
                with reading.begin():
                    missing = _tables_missing(reading)
            if missing:
                with (_database_errors(self), _connected(self, engine) as connection,
                      connection.begin()):
                    self.created = _ensure_schema(connection, foreign_refused=self.url is None)
            self._engine = engine
        return self._engine

    @contextlib.contextmanager
    def _connect(self, read: bool = False) -> Iterator[Connection]:
        with _database_errors(self), _connected(self, self.engine) as connection:
            if read:
                connection = connection.execution_options(register_read=True)
                if self.url is not None:  # one snapshot for the whole read, as SQLite's
                    connection = connection.execution_options(isolation_level="REPEATABLE READ")
            yield connection

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Ledger]:
        """One writing transaction: commits when the block succeeds, else rolls back."""
        with (_database_errors(self), _connected(self, self.engine) as connection,
              connection.begin()):
            yield Ledger(self, connection)

    @contextlib.contextmanager
    def reading(self) -> Iterator[Ledger]:
        with self._connect(read=True) as connection, connection.begin():
            yield Ledger(self, connection)

    @property
    def register_id(self) -> str:
        if self._id is None:
            with self.reading() as ledger:
                self._id = ledger.info("register_id")
        assert self._id is not None
        return self._id

    # --- reading -----------------------------------------------------------------------------

    def list(self, month: str | Month | None = None) -> list[Issued]:
        with self.reading() as ledger:
            return ledger.documents(None if month is None else str(month))

    def show(self, number: str) -> tuple[Issued, list[Issued]]:
        """The document ``number`` and every correction of it, in order."""
        with self.reading() as ledger:
            found = ledger.document(number)
            if found is None:
                raise RegisterError(f"請求番号 {number!r} は台帳 {self.display} にありません")
            chain = [d for d in ledger.documents(found.month) if d.contract_id == found.contract_id
                     and d.seq > found.seq and d.kind == "correction"]
            return found, chain


LOCK_TIMEOUT = "55P03"  # PostgreSQL: lock_timeout ran out (another run holds the month)


@contextlib.contextmanager
def _database_errors(register: Register) -> Iterator[None]:
    """A database that cannot be opened or written (busy, unreachable, disk full, read-only)
    is an output error naming the register."""
    try:
        yield
    except sa.exc.OperationalError as exc:
        reason = _reason(exc)
        if ("locked" in reason or "busy" in reason
                or getattr(exc.orig, "sqlstate", None) == LOCK_TIMEOUT):
            raise RegisterUnavailable(
                f"請求番号台帳 {register.display} は使用中です: 別の請求処理が書き込んでいます。"
                "終わってからもう一度実行してください") from None
        raise RegisterUnavailable(f"請求番号台帳 {register.display} を使えません: "
                                  f"{reason}") from None
    except sa.exc.DatabaseError as exc:
        reason = _reason(exc)
        raise RegisterUnavailable(f"請求番号台帳 {register.display} を使えません: "
                                  f"{reason}") from None


# SQLite's words for a file that cannot be written, in the clerk's (the database's own after).
SQLITE_REASONS_JA = {"readonly database": "読み取り専用のファイルか、書き込めないフォルダにあります",
                     "unable to open database file": "ファイルを開けません (権限か場所を確かめて"
                                                     "ください)",
                     "disk is full": "ディスクの空きがありません",
                     "disk I/O error": "ディスクに書き込めません (空きか装置を確かめてください)"}


def _reason(exc: sa.exc.DBAPIError) -> str:
    """The database's own words for ``exc``, on one line (libpq adds hints on lines of
    their own), after the clerk's where SQLite's are known."""
    return sqlite_reason(" ".join(str(exc.orig if exc.orig is not None else exc).split()))


def sqlite_reason(own: str) -> str:
    """SQLite's words ``own``, after the clerk's where they are known."""
    known = next((ja for words, ja in SQLITE_REASONS_JA.items() if words in own), None)
    return f"{known} ({own})" if known else own


def _connected(register: Register, engine: Engine) -> Connection:
    """A connection to ``register``; one that cannot be made (no server, no such database,
    login refused, a file that cannot be opened) says so, the server's own words after it."""
    try:
        return engine.connect()
    except sa.exc.DBAPIError as exc:
        reason = _reason(exc)
        failed = "に接続できません" if register.url is not None else "を開けません"
        raise RegisterUnavailable(f"請求番号台帳 {register.display} {failed}: "
                                  f"{reason}") from None


def _missing_tables(connection: Connection) -> set[str]:
    return set(metadata.tables) - set(sa.inspect(connection).get_table_names())


def _tables_missing(connection: Connection) -> set[str]:
    """The register's tables not there yet; a register of a format this version does not keep
    is refused."""
    missing = _missing_tables(connection)
    if "register_info" not in missing:
        _refuse_a_newer_format(connection)
    return missing


def _ensure_schema(connection: Connection, foreign_refused: bool = False) -> bool:
    """Create the tables on first use (in the caller's writing transaction, so two runs
    creating one register do it once), add the tables of a later version, and take over a
    register of the first format. True when the register was created. ``foreign_refused``
    (a file): a database holding other tables and none of a register is some other program's,
    and is not written into."""
    missing = _tables_missing(connection)
    if not missing:
        return False
    inspector = sa.inspect(connection)
    found = set(inspector.get_table_names())

    def invoices_columns() -> set[str]:
        return {column["name"] for column in inspector.get_columns("invoices")}

    first_register = _first_register(found, invoices_columns)
    if foreign_refused and found and not _holds_a_register(found, invoices_columns):
        raise RegisterError(f"請求番号台帳に指定したファイルは別のデータベースです (表 "
                            f"{', '.join(sorted(found)[:5])})。台帳のファイルを指定してください "
                            "(変更していません)")
    if "documents" in missing and "invoices" in found and not first_register:
        raise RegisterError("請求番号台帳に指定したデータベースの表 invoices は xlquote の台帳の"
                            "ものではありません (別のプログラムの表です)。xlquote 専用のデータベース"
                            "かファイルを指定してください (変更していません)")
    if connection.dialect.name == "postgresql":
        # SQLite's BEGIN IMMEDIATE already holds the file. On a server, two first runs would
        # both create the tables and the second fail on the catalog's unique names: they take
        # turns, and the second finds the tables made.
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK})
        missing = _missing_tables(connection)
        if not missing:
            return False
    metadata.create_all(connection, tables=[metadata.tables[name] for name in missing])
    if "documents" not in missing:  # a register of an earlier version: its new tables
        connection.execute(register_info.update().where(register_info.c.key == "schema")
                           .values(value=SCHEMA_VERSION))
        return False
    connection.execute(register_info.insert(), [
        {"key": "register_id", "value": uuid.uuid4().hex},
        {"key": "schema", "value": SCHEMA_VERSION},
        {"key": "created_at", "value": timestamp()}])
    if first_register:  # not new: the first register's
        _take_over_first_register(connection)
        return False
    return True


def _refuse_a_newer_format(connection: Connection) -> None:
    """A register a later xlquote made or changed: its tables may hold what this version
    neither reads nor keeps (a column it would leave empty), so it is not used."""
    found = connection.execute(sa.select(register_info.c.value).where(
        register_info.c.key == "schema")).scalar()
    if found is not None and (not str(found).isdigit() or int(found) > int(SCHEMA_VERSION)):
        raise RegisterError(f"この請求番号台帳は新しい版の xlquote の形式 ({str(found)[:20]}) です。"
                            f"この版が使えるのは形式 {SCHEMA_VERSION} までです。xlquote を更新して"
                            "ください (台帳は変更していません)")


def _take_over_first_register(connection: Connection) -> None:
    """The first register (table ``invoices``) kept numbers, totals and a content hash, but
    neither content nor files: its invoices become issued documents without content (their
    files are never drawn again; a change is compared by the content hash)."""
    old = sa.Table("invoices", sa.MetaData(), autoload_with=connection)
    rows = connection.execute(sa.select(old).order_by(old.c.month, old.c.seq)).mappings().all()
    for row in rows:
        month = Month.parse(row["month"])
        stem = "_".join(_old_safe_filename(part)
                        for part in (row["number"], row["contract_id"], row["customer"]))
        connection.execute(documents.insert().values(
            number=row["number"], month=row["month"], seq=row["seq"],
            contract_id=row["contract_id"], customer=row["customer"], plan="",
            kind=row["kind"], corrects=row["corrects"], subtotal=row["subtotal"],
            tax=row["tax"], total=row["total"], issue_date=issue_date(month), due_date=None,
            legal_hash=None, content_hash=row["content_hash"], content=None, contract=None,
            flags="[]", settings_hash=None, file_stem=stem, state="issued", folder_id="",
            issued_at=row["issued_at"]))
    for month, last in connection.execute(
            sa.select(old.c.month, sa.func.max(old.c.seq)).group_by(old.c.month)):
        connection.execute(month_counters.insert().values(month=month, last_seq=last))


class Ledger:
    """The register inside one transaction."""

    def __init__(self, register: Register, connection: Connection) -> None:
        self.register = register
        self.connection = connection

    def info(self, key: str) -> str | None:
        return self.connection.execute(
            sa.select(register_info.c.value).where(register_info.c.key == key)).scalar()

    def set_info(self, key: str, value: str) -> None:
        if self.connection.execute(register_info.update().where(register_info.c.key == key)
                                   .values(value=value)).rowcount == 0:
            self.connection.execute(register_info.insert().values(key=key, value=value))

    # --- documents ---------------------------------------------------------------------------

    def _files(self, numbers: Sequence[str] | None) -> dict[str, dict[str, FileRecord]]:
        query = sa.select(document_files)
        if numbers is not None:
            query = query.where(document_files.c.number.in_(numbers))
        out: dict[str, dict[str, FileRecord]] = {}
        for row in self.connection.execute(query).mappings():
            out.setdefault(row["number"], {})[row["role"]] = FileRecord(
                row["role"], row["sha256"], row["error"])
        return out

    def _cancellations(self, numbers: Sequence[str] | None) -> dict[str, CancellationRecord]:
        query = sa.select(cancellations)
        if numbers is not None:
            query = query.where(cancellations.c.number.in_(numbers))
        return {row["number"]: CancellationRecord(**row)
                for row in self.connection.execute(query).mappings()}

    def _documents(self, where: Any) -> list[Issued]:
        columns = [c for c in documents.c if c.name not in ("content", "contract")]
        rows = self.connection.execute(
            sa.select(*columns).where(where).order_by(documents.c.month, documents.c.seq)
        ).mappings().all()
        if not rows:
            return []
        numbers = None if len(rows) > 500 else [r["number"] for r in rows]
        files = self._files(numbers)
        cancelled = self._cancellations(numbers)
        corrections = sa.select(documents.c.corrects, documents.c.number).where(
            documents.c.corrects.is_not(None) if numbers is None
            else documents.c.corrects.in_(numbers))
        corrected_by = dict(self.connection.execute(corrections).all())  # a number is
        # corrected once: the correction becomes the version in force
        folders = self.folders()
        return [Issued(**{**row, "flags": decode_flags(row["flags"])},
                       files=files.get(row["number"], {}),
                       cancellation=cancelled.get(row["number"]),
                       corrected_by=corrected_by.get(row["number"]),
                       folder=folders.get(row["folder_id"], "")) for row in rows]

    def documents(self, month: str | None = None) -> list[Issued]:
        return self._documents(sa.true() if month is None else documents.c.month == month)

    def document(self, number: str) -> Issued | None:
        found = self._documents(documents.c.number == number)
        return found[0] if found else None

    def pending(self, folder_id: str) -> list[Issued]:
        """Documents a run on this folder recorded but did not finish."""
        pending_cancellations = sa.select(cancellations.c.number).where(
            (cancellations.c.state == "pending") & (cancellations.c.folder_id == folder_id))
        return self._documents(((documents.c.state == "pending")
                                & (documents.c.folder_id == folder_id))
                               | documents.c.number.in_(pending_cancellations))

    def content(self, number: str) -> tuple[bytes | None, str | None]:
        """The billed content and the contract record of ``number``."""
        row = self.connection.execute(
            sa.select(documents.c.content, documents.c.contract)
            .where(documents.c.number == number)).one()
        return row[0], row[1]

    def contents(self, numbers: Sequence[str]) -> dict[str, bytes | None]:
        out: dict[str, bytes | None] = {}
        for start in range(0, len(numbers), 500):
            chunk = list(numbers[start:start + 500])
            for number, content in self.connection.execute(
                    sa.select(documents.c.number, documents.c.content)
                    .where(documents.c.number.in_(chunk))):
                out[number] = content
        return out

    # --- output folders ----------------------------------------------------------------------

    def folders(self) -> dict[str, str]:
        """Every output folder documents were published from: its id → ``host:path``."""
        return {row.folder_id: f"{row.host}:{row.path}" for row in self.connection.execute(
            sa.select(output_folders.c.folder_id, output_folders.c.host, output_folders.c.path))}

    def folder_place(self, folder_id: str) -> tuple[str, str] | None:
        """Where the output folder ``folder_id`` was last used: (host, path), if known."""
        row = self.connection.execute(
            sa.select(output_folders.c.host, output_folders.c.path)
            .where(output_folders.c.folder_id == folder_id)).first()
        return None if row is None else (row.host, row.path)

    def note_folder(self, folder_id: str, path: str, host: str | None = None) -> None:
        """Record where the output folder ``folder_id`` is (now), so that runs on other
        folders can say where its documents are."""
        host = host or socket.gethostname()
        now = timestamp()
        updated = self.connection.execute(
            output_folders.update().where(output_folders.c.folder_id == folder_id)
            .values(host=host, path=path, last_used_at=now))
        if updated.rowcount:
            return
        try:
            with self.connection.begin_nested():
                self.connection.execute(output_folders.insert().values(
                    folder_id=folder_id, host=host, path=path, first_used_at=now,
                    last_used_at=now))
        except sa.exc.IntegrityError:  # noted by another run on the same folder meanwhile
            pass

    # --- numbers -----------------------------------------------------------------------------

    def lock_month(self, month: Month) -> int:
        """Lock the month's counter row (creating it) for this transaction; the last number
        handed out. Every transaction that changes a month's documents starts here, so runs
        on one month take turns."""
        key = str(month)
        query = (sa.select(month_counters.c.last_seq).where(month_counters.c.month == key)
                 .with_for_update())
        last = self.connection.execute(query).scalar()
        if last is None:
            try:
                with self.connection.begin_nested():
                    self.connection.execute(month_counters.insert().values(month=key, last_seq=0))
            except sa.exc.IntegrityError:  # another run created it first
                pass
            last = self.connection.execute(query).scalar()
        highest = self.connection.execute(
            sa.select(sa.func.max(documents.c.seq)).where(documents.c.month == key)).scalar()
        return max(int(last or 0), int(highest or 0))

    def take_numbers(self, month: Month, count: int) -> list[tuple[int, str]]:
        """``count`` new (seq, number) of ``month``; the month must be locked."""
        last = self.lock_month(month)
        taken = [(seq, self.register.number(month, seq)) for seq in
                 range(last + 1, last + count + 1)]
        if count:
            self.connection.execute(month_counters.update()
                                    .where(month_counters.c.month == str(month))
                                    .values(last_seq=last + count))
        return taken

    def give_back(self, month: Month, seqs: Sequence[int]) -> None:
        """Numbers of a run that failed before anything of them was kept: the counter goes
        back when no later number was handed out meanwhile (else they stay a gap)."""
        if not seqs:
            return
        self.connection.execute(
            month_counters.update()
            .where((month_counters.c.month == str(month))
                   & (month_counters.c.last_seq == max(seqs)))
            .values(last_seq=min(seqs) - 1))

    def settings_hash(self, settings_json: str, digest: str) -> str:
        exists = self.connection.execute(
            sa.select(settings_versions.c.settings_hash)
            .where(settings_versions.c.settings_hash == digest)).scalar()
        if exists is None:
            try:
                with self.connection.begin_nested():
                    self.connection.execute(settings_versions.insert().values(
                        settings_hash=digest, settings=settings_json, first_used_at=timestamp()))
            except sa.exc.IntegrityError:
                pass
        return digest

    def settings(self, digest: str) -> str:
        return self.connection.execute(
            sa.select(settings_versions.c.settings)
            .where(settings_versions.c.settings_hash == digest)).scalar_one()

    def latest_settings(self) -> str | None:
        """The Settings the most recently issued document was issued with."""
        row = self.connection.execute(
            sa.select(settings_versions.c.settings)
            .join(documents, documents.c.settings_hash == settings_versions.c.settings_hash)
            .order_by(documents.c.issued_at.desc(), documents.c.month.desc(),
                      documents.c.seq.desc()).limit(1)).first()
        return None if row is None else row[0]

    # --- changes -----------------------------------------------------------------------------

    def record(self, rows: Sequence[dict[str, Any]]) -> None:
        """Insert documents (state pending) — their content and file stems."""
        now = timestamp()
        for start in range(0, len(rows), 500):
            self.connection.execute(documents.insert(), [
                {**row, "state": "pending", "issued_at": now} for row in rows[start:start + 500]])

    def withdraw(self, month: Month, numbers: Sequence[str], folder_id: str) -> list[int]:
        """A month's pending documents that were never published (``numbers``, recorded by a
        run on ``folder_id``) forgotten, and their numbers given back where they are the last.
        Only that folder's pending ones: a number withdrawn meanwhile by ``register settle``
        (and perhaps handed out again) is not this run's any more. Returns the sequence
        numbers withdrawn."""
        self.lock_month(month)
        found = {number: seq for number, seq in self._pending_of(folder_id, numbers)}
        self.forget(list(found))
        self.give_back(month, list(found.values()))
        return list(found.values())

    def _pending_of(self, folder_id: str, numbers: Sequence[str]) -> list[tuple[str, int]]:
        """(number, seq) of ``numbers`` still pending from a run on ``folder_id``."""
        out: list[tuple[str, int]] = []
        for start in range(0, len(numbers), 500):
            out += [(row.number, row.seq) for row in self.connection.execute(
                sa.select(documents.c.number, documents.c.seq).where(
                    documents.c.number.in_(list(numbers[start:start + 500]))
                    & (documents.c.state == "pending") & (documents.c.folder_id == folder_id)))]
        return out

    def taken_from(self, folder_id: str, numbers: Sequence[str], cancelling: Sequence[str]
                   ) -> list[str]:
        """Of a run's pending documents (``numbers``) and pending cancellations
        (``cancelling``) on ``folder_id``, those no longer its own: settled by
        ``register settle`` while the run was away (a laptop asleep in the middle of a run)."""
        mine = {number for number, _ in self._pending_of(folder_id, numbers)}
        for start in range(0, len(cancelling), 500):
            mine |= set(self.connection.execute(
                sa.select(cancellations.c.number).where(
                    cancellations.c.number.in_(list(cancelling[start:start + 500]))
                    & (cancellations.c.state == "pending")
                    & (cancellations.c.folder_id == folder_id))).scalars())
        return [number for number in [*numbers, *cancelling] if number not in mine]

    def forget(self, numbers: Sequence[str]) -> None:
        """Remove pending documents of a run that failed (before any was issued)."""
        for start in range(0, len(numbers), 500):
            chunk = list(numbers[start:start + 500])
            self.connection.execute(document_files.delete()
                                    .where(document_files.c.number.in_(chunk)))
            self.connection.execute(documents.delete().where(
                documents.c.number.in_(chunk) & (documents.c.state == "pending")))

    def set_files(self, files: Mapping[str, tuple[Mapping[str, str], Mapping[str, str]]]
                  ) -> None:
        """Record the files made for each number (number → (role → hash, role → error of the
        ones that failed)); a file recorded before keeps its hash."""
        now = timestamp()
        numbers = list(files)
        known: dict[str, dict[str, FileRecord]] = {}
        for start in range(0, len(numbers), 500):
            known.update(self._files(numbers[start:start + 500]))
        new = []
        for number, (sha256, errors) in files.items():
            recorded = known.get(number, {})
            for role, digest, error in [*((r, h, None) for r, h in sha256.items()),
                                        *((r, None, e) for r, e in errors.items())]:
                values = {"sha256": digest, "error": error, "recorded_at": now}
                if role not in recorded:
                    new.append({"number": number, "role": role, **values})
                elif not recorded[role].sha256:
                    self.connection.execute(document_files.update().where(
                        (document_files.c.number == number) & (document_files.c.role == role))
                        .values(**values))
        if new:
            self.connection.execute(document_files.insert(), new)

    def mark_issued(self, numbers: Iterable[str]) -> None:
        numbers = list(numbers)
        for start in range(0, len(numbers), 500):
            self.connection.execute(documents.update().where(
                documents.c.number.in_(numbers[start:start + 500])).values(state="issued"))

    def cancel(self, number: str, cancelled_on: dt.date, reason: str, settings_hash: str,
               folder_id: str) -> None:
        self.connection.execute(cancellations.insert().values(
            number=number, cancelled_on=cancelled_on, reason=reason, settings_hash=settings_hash,
            state="pending", folder_id=folder_id, recorded_at=timestamp()))

    def uncancel(self, number: str, folder_id: str) -> None:
        """Remove the pending cancellation of ``number`` a run on ``folder_id`` recorded (a run
        that failed, or one settled): not another folder's, begun since."""
        mine = (cancellations.c.number == number) & (cancellations.c.state == "pending") & (
            cancellations.c.folder_id == folder_id)
        if self.connection.execute(sa.select(cancellations.c.number).where(mine)).first():
            self.connection.execute(document_files.delete().where(
                (document_files.c.number == number)
                & document_files.c.role.like("cancellation.%")))
            self.connection.execute(cancellations.delete().where(mine))

    def mark_cancelled(self, number: str) -> None:
        self.connection.execute(cancellations.update().where(cancellations.c.number == number)
                                .values(state="issued"))

    # --- drafts and statements ---------------------------------------------------------------

    def working(self, folder_id: str, month: str) -> list[Working]:
        rows = self.connection.execute(
            sa.select(working_documents).where((working_documents.c.folder_id == folder_id)
                                               & (working_documents.c.month == month))
            .order_by(working_documents.c.contract_id)).mappings()
        return [Working(**{**{k: row[k] for k in FIGURES}, "flags": decode_flags(row["flags"])},
                        month=row["month"], kind=row["kind"], file_stem=row["file_stem"],
                        roles=tuple(json.loads(row["roles"]))) for row in rows]

    def responses(self, folder_id: str, month: str) -> str | None:
        return self.connection.execute(
            sa.select(response_reports.c.rows).where((response_reports.c.folder_id == folder_id)
                                                     & (response_reports.c.month == month))
        ).scalar()

    def set_working(self, folder_id: str, month: str, items: Sequence[Working],
                    responses: str) -> None:
        """What the folder shows for ``month`` besides issued documents: its drafts and
        statements, and the response report (JSON)."""
        now = timestamp()
        for table in (working_documents, response_reports):
            self.connection.execute(table.delete().where(
                (table.c.folder_id == folder_id) & (table.c.month == month)))
        self.connection.execute(response_reports.insert().values(
            folder_id=folder_id, month=month, rows=responses, updated_at=now))
        if items:
            self.connection.execute(working_documents.insert(), [
                {"folder_id": folder_id, "month": month, "contract_id": w.contract_id,
                 "kind": w.kind, "customer": w.customer, "plan": w.plan, "subtotal": w.subtotal,
                 "tax": w.tax, "total": w.total, "issue_date": w.issue_date,
                 "due_date": w.due_date, "flags": encode_flags(w.flags),
                 "file_stem": w.file_stem, "roles": json.dumps(list(w.roles)),
                 "updated_at": now} for w in items])


