"""The PostgreSQL server the tests use: ``XLQUOTE_TEST_POSTGRES=postgresql://ROLE@HOST/DB`` names
it, ROLE being allowed to create databases (a password comes from PGPASSFILE / ~/.pgpass or
PGPASSWORD, never from the DSN). ``.ci/run`` starts one on this machine and sets it; locally,
``eval "$(bash .ci/postgres)"`` does the same. Without the variable these tests are skipped;
with it, a server that cannot be reached fails them."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest

SERVER_VARIABLE = "XLQUOTE_TEST_POSTGRES"


def with_database(dsn: str, database: str) -> str:
    """``dsn`` pointing at another database on the same server (host, role and options kept)."""
    return urlunsplit(urlsplit(dsn)._replace(path=f"/{database}"))


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The server's DSN, checked to answer."""
    dsn = os.environ.get(SERVER_VARIABLE)
    if not dsn:
        pytest.skip(f"no PostgreSQL server for the tests: set {SERVER_VARIABLE}=postgresql://… "
                    f"(a role that may create databases), or run eval \"$(bash .ci/postgres)\"")
    if urlsplit(dsn).scheme not in ("postgresql", "postgres"):
        pytest.fail(f"{SERVER_VARIABLE} must be a postgresql:// URL, not {dsn!r}")
    import psycopg

    with psycopg.connect(dsn, connect_timeout=10) as connection:
        connection.execute("SELECT 1")
    return dsn


@pytest.fixture
def postgres_dsn(postgres_server: str) -> Iterator[str]:
    """A database of this test's own on the server (created empty, dropped afterwards), so
    tests and test runs sharing the server never see each other's tables."""
    import psycopg
    from psycopg import sql

    name = f"xlquote_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_server, autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield with_database(postgres_server, name)
    finally:
        with psycopg.connect(postgres_server, autocommit=True) as connection:
            connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)))
