"""The corpus of broken and hostile workbooks (tests/data/hostile, built by its build.py) through
every read path and through the CLI: each case is refused with exactly the problems its build
script names (exit 2, JSON problems, nothing written; by the read, or for a few by the month's
run once billed) or bills exactly like the unedited demo workbook; both read paths give the
same records and the same problems; each run stays under 1 GiB and 60 s."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest
from helpers import read_records

from xlquote.engine.errors import InputError
from xlquote.readers.workbook import READ_PATHS, InvoicingData, read_invoicing_workbook

CORPUS = Path(__file__).parent / "data" / "hostile"
spec = importlib.util.spec_from_file_location("hostile_build", CORPUS / "build.py")
assert spec and spec.loader
corpus = importlib.util.module_from_spec(spec)
sys.modules["hostile_build"] = corpus
spec.loader.exec_module(corpus)

CASES = {case.name: case for case in corpus.CASES}
PATHS = ("fastexcel", "cells")  # the two read paths (READ_PATHS maps the other names)
MEMORY_LIMIT = 2**30
TIME_LIMIT = 60
# Runs the CLI in a child and reports the child's peak memory on the last line of stderr.
MEASURED = ("import resource, subprocess, sys; done = subprocess.run(sys.argv[1:]); "
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024, "
            "file=sys.stderr); sys.exit(done.returncode)")


def records(data: InvoicingData) -> dict[str, Any]:
    return read_records(data)


def problems(exc: InputError) -> list[tuple[Any, ...]]:
    return [(p.sheet, p.row, p.field, str(p.value), p.reason) for p in exc.problems]


def matches(found: list[tuple[Any, ...]], expected: tuple[Any, ...]) -> bool:
    """Exactly the expected problems, one each, in that order of cells, with the value as the
    cell holds it where the case names it."""
    return len(found) == len(expected) and all(
        (sheet, row, column) == (e.sheet, e.row, e.column) and e.reason in reason
        and e.value in (None, value)
        for (sheet, row, column, value, reason), e in zip(found, expected, strict=True))


@pytest.fixture(scope="module")
def original() -> dict[str, Any]:
    return records(read_invoicing_workbook(CASES["original"].file, "cells"))


def test_the_corpus_is_what_build_py_makes():
    """The committed files are what the script makes from demo.xlsm (compared by the zip
    directory: names, declared sizes, CRCs; the deflated bytes depend on the zlib version)."""
    parts = corpus.read_parts(corpus.BASE)
    for case in corpus.CASES:
        built = corpus.build(case, parts)
        with zipfile.ZipFile(case.file) as committed, \
                zipfile.ZipFile(__import__("io").BytesIO(built)) as fresh:
            assert [(i.filename, i.CRC, i.file_size) for i in committed.infolist()] == \
                   [(i.filename, i.CRC, i.file_size) for i in fresh.infolist()], case.name
    assert {p.stem for p in CORPUS.glob("*.xlsm")} == {*CASES, "demo"}


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_read_path_gives_the_same_outcome(name, original):
    case = CASES[name]
    outcomes = {}
    for path in PATHS:
        try:
            outcomes[path] = ("records", records(read_invoicing_workbook(case.file, path)))
        except InputError as exc:
            outcomes[path] = ("problems", problems(exc))
    assert outcomes["fastexcel"] == outcomes["cells"], name
    kind, found = outcomes["cells"]
    if case.refused and case.refused_by == "read":
        assert kind == "problems" and matches(found, case.refused), found
    elif case.refused:  # refused by the month's run (the CLI's test)
        assert kind == "records" and found != original
    else:
        assert kind == "records" and found == original


def test_the_old_reader_names_take_the_cell_by_cell_path():
    assert READ_PATHS == {"fastexcel": "typed", "cells": "cells", "calamine": "cells",
                          "openpyxl": "cells"}


def run_cli(book: Path, out: Path, reader: str = "fastexcel") -> tuple[int, dict[str, Any], int,
                                                                      float]:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", MEASURED, sys.executable, "-m", "xlquote", "invoice", str(book),
         "--month", corpus.MONTH, "--out", str(out), "--json", "--reader", reader],
        capture_output=True, text=True, timeout=2 * TIME_LIMIT)
    seconds = time.perf_counter() - started
    assert "Traceback" not in done.stderr, done.stderr
    peak = int(done.stderr.strip().splitlines()[-1])
    return done.returncode, json.loads(done.stdout), peak, seconds


@pytest.fixture(scope="module")
def original_run(tmp_path_factory) -> dict[str, Any]:
    code, result, _, _ = run_cli(CASES["original"].file, tmp_path_factory.mktemp("original"))
    assert code in (0, 1)
    return result


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_cli_refuses_or_bills_each_case_in_bounded_memory_and_time(name, tmp_path,
                                                                       original_run):
    case = CASES[name]
    out = tmp_path / "out"
    code, result, peak, seconds = run_cli(case.file, out)
    assert peak < MEMORY_LIMIT and seconds < TIME_LIMIT, (peak, seconds)
    if case.refused:
        assert code == 2 and result["status"] == "invalid"
        found = [(p["sheet"], p["row"], p["column"], str(p["value"]), p["reason"])
                 for p in result["problems"]]
        assert matches(found, case.refused), found
        assert all(p["text"] for p in result["problems"])
        assert not out.exists()  # nothing written, not even the folder
    else:
        assert code == original_run["exit_code"]
        for key in ("invoice_count", "subtotal", "tax", "total", "flags"):
            assert result[key] == original_run[key], key


@pytest.mark.parametrize("name", ["na_minutes", "value_closed", "nan_fee_limit", "inf_minutes"])
def test_error_values_and_nan_do_not_send_a_big_sheet_cell_by_cell(name):
    """The typed reader names error values and NaN itself (as the cell-by-cell reader does):
    one bad cell in a million-row log does not cost a second, slower read."""
    from xlquote.engine.records import ColumnBlock
    from xlquote.readers.workbook import read_sheet_tables

    tables = read_sheet_tables(CASES[name].file)
    assert all(isinstance(tables[sheet].rows, ColumnBlock)
               for sheet in ("Contracts", "Incidents", "Packs"))


@pytest.mark.parametrize("late", ["a bad CRC", "a formula"])
def test_what_the_part_holds_at_its_end_comes_before_a_band_read_refusal(tmp_path, monkeypatch,
                                                                          late):
    """Read typed, the Incidents sheet is surveyed in the pass that checks its layout while its
    bands are read (``guard.SurveyAlong``). A band refused early does not overtake what the
    survey finds at the part's end: its CRC refused, or a formula that sends the sheet cell by
    cell. Every read path gives the same outcome, as when the survey ran before any band was
    read."""
    from xlquote.engine.errors import Problem
    from xlquote.readers import sheet_table, typed_reader

    appended = 60_000  # rows, ~12 MB: several blocks inflated, two bands read

    def row(row: int, k: int) -> str:
        formula = f'<c r="G{row}"><f>1+1</f><v>2</v></c>' if (
            late == "a formula" and k == appended) else ""
        return (corpus.inline(f"A{row}", f"L-{k:06d}") + formula
                + corpus.inline(f"Q{row}", "長い説明" * 10))

    def refused_by_the_typed_reader_alone(sheet: str, text: int) -> None:
        if sheet == "Incidents":
            raise InputError([Problem(None, "(sheet)", sheet, "the typed reader alone", sheet)])

    parts = corpus.read_parts(CASES["original"].file)
    corpus.rows_appended("Incidents", appended, row)(parts)
    book = tmp_path / "late.xlsm"
    if late == "a bad CRC":  # the first band passes the read's text budget
        book.write_bytes(corpus.bad_crc(parts))
        monkeypatch.setattr(sheet_table, "TEXT_BUDGET", 100_000)
    else:  # the first band is refused, by the typed reader only
        book.write_bytes(corpus.package(parts))
        monkeypatch.setattr(typed_reader, "check_text", refused_by_the_typed_reader_alone)
    found = {}
    for engine in READ_PATHS:
        try:
            found[engine] = records(read_invoicing_workbook(book, engine))
        except InputError as exc:
            found[engine] = problems(exc)
    assert all(outcome == found["cells"] for outcome in found.values())
    if late == "a bad CRC":
        ((_, _, _, value, reason),) = found["cells"]
        assert value == book.name and "チェックサムが合いません" in reason
