"""The register under test: the tests that ask for ``registers`` run once with SQLite files
(``OUT/register.sqlite3``, the default) and once with PostgreSQL databases on the tests' server
(one database per output folder, named with ``--register``), through the same code.

``register_args(out)`` is what a run on ``out`` adds to its command line (nothing for SQLite);
``registers.open(out)`` is the register that numbers ``out``; ``registers.copy(a, b)`` copies
an output folder together with its register (a PostgreSQL database is copied as a template)
and makes the copy a folder of its own."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from postgres_server import with_database

from xlquote.app.invoice_run import REGISTER_FILENAME
from xlquote.app.publishing import MARKER_NAME, REGISTER_FILE_KEY
from xlquote.app.register import Register

BACKENDS = ("sqlite", "postgresql")


class Registers:
    """The registers of one backend, one per output folder."""

    def __init__(self, kind: str, server: str | None = None) -> None:
        self.kind = kind
        self.server = server
        self.databases: dict[str, str] = {}  # output folder → database name

    def location(self, out: str | Path) -> str:
        if self.kind == "sqlite":
            return str(Path(out) / REGISTER_FILENAME)
        assert self.server is not None
        key = str(Path(out).absolute())
        if key not in self.databases:
            self.databases[key] = self._create()
        return with_database(self.server, self.databases[key])

    def args(self, out: str | Path) -> list[str]:
        return [] if self.kind == "sqlite" else ["--register", self.location(out)]

    def open(self, out: str | Path) -> Register:
        return Register(self.location(out))

    def copy(self, source: Path, target: Path) -> None:
        """``source`` copied to ``target``, and its register with it; the copy then stands on
        its own, as if made where it is (a copy as a clerk makes one is refused: it would
        hand out its original's numbers)."""
        shutil.copytree(source, target)
        if self.kind == "postgresql":
            self._create(template=self.databases[str(source.absolute())],
                         name_for=str(target.absolute()))
        register = self.open(target)
        marker_path = target / MARKER_NAME
        marker = json.loads(marker_path.read_text(encoding="utf-8"))
        marker.update(register=register.display, register_location=register.location)
        marker_path.write_text(json.dumps(marker), encoding="utf-8")
        with register.transaction() as ledger:
            ledger.note_folder(marker["folder_id"], str(target.absolute()))
            if register.path is not None:
                ledger.set_info(REGISTER_FILE_KEY, str(register.path.absolute()))

    def _create(self, template: str | None = None, name_for: str | None = None) -> str:
        import psycopg
        from psycopg import sql

        name = f"xlquote_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template is not None:
            statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
        with psycopg.connect(self.server, autocommit=True) as connection:
            connection.execute(statement)
        if name_for is not None:
            self.databases[name_for] = name
        return name

    def drop(self) -> None:
        if self.kind != "postgresql":
            return
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.server, autocommit=True) as connection:
            for name in self.databases.values():
                drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(name))
                for attempt in range(20):
                    try:
                        connection.execute(drop)
                        break
                    except psycopg.errors.InsufficientPrivilege:
                        # a backend this role may not end (an autovacuum worker, the server's
                        # own) is in the database for a moment: FORCE gives up, so wait
                        if attempt == 19:
                            raise
                        time.sleep(0.25)
        self.databases.clear()


_current: Registers | None = None  # the registers of the test running, if it asked for them


def register_args(out: str | Path) -> list[str]:
    """``--register …`` for a run on ``out`` in the test running (nothing for SQLite, or
    when the test did not ask for ``registers``)."""
    return [] if _current is None else _current.args(out)


@contextlib.contextmanager
def using(backend: Registers) -> Iterator[None]:
    """``register_args`` names ``backend``'s registers inside the block (for fixtures made
    before the test's own: a module's reference folders)."""
    global _current
    previous, _current = _current, backend
    try:
        yield
    finally:
        _current = previous


@pytest.fixture(scope="module", params=BACKENDS)
def registers(request: pytest.FixtureRequest) -> Iterator[Registers]:
    server = request.getfixturevalue("postgres_server") if request.param == "postgresql" else None
    backend = Registers(request.param, server)
    try:
        yield backend
    finally:
        backend.drop()


@pytest.fixture(autouse=True)
def current_registers(request: pytest.FixtureRequest) -> Iterator[None]:
    if "registers" not in request.fixturenames:
        yield
        return
    with using(request.getfixturevalue("registers")):
        yield
