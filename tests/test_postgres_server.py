"""The tests' PostgreSQL server is a real one: separate connections, transactions that commit or
not, a database of each test's own."""

from __future__ import annotations

import psycopg
import pytest


def test_two_connections_see_each_others_committed_rows_only(postgres_dsn) -> None:
    with psycopg.connect(postgres_dsn) as first, psycopg.connect(postgres_dsn) as second:
        assert "PostgreSQL" in first.execute("SELECT version()").fetchone()[0]
        assert first.info.backend_pid != second.info.backend_pid  # two server processes
        first.execute("CREATE TABLE issued (number text PRIMARY KEY, total bigint NOT NULL)")
        first.execute("INSERT INTO issued VALUES ('INV-202610-0001', 11000)")
        first.commit()
        second.execute("INSERT INTO issued VALUES ('INV-202610-0002', 22000)")  # not committed
        assert first.execute("SELECT number FROM issued ORDER BY number").fetchall() == [
            ("INV-202610-0001",)]
        second.commit()
        assert first.execute("SELECT sum(total) FROM issued").fetchone() == (33000,)
        with pytest.raises(psycopg.errors.UniqueViolation):  # the server enforces the key
            second.execute("INSERT INTO issued VALUES ('INV-202610-0001', 1)")


def test_each_test_has_a_database_of_its_own(postgres_server, postgres_dsn) -> None:
    with psycopg.connect(postgres_dsn) as connection:
        database, superuser = connection.execute(
            "SELECT current_database(), rolsuper FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
        tables = connection.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchone()[0]
    assert database.startswith("xlquote_test_") and database not in postgres_server
    assert tables == 0
    assert not superuser  # the register must work without being a superuser
