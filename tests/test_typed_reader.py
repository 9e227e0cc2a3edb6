"""The typed fast path (fastexcel) must give the records parser exactly what the cell-by-cell
readers give: the same records from a good workbook, the same problems from a bad one, and it
must step aside (cell-by-cell reading) whenever a column mixes kinds of cells."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import openpyxl
import pytest

from xlquote.app.sample import sample_contracts, sample_incidents, sample_packs, sample_settings
from xlquote.app.workbooks.invoicing import write_invoicing_workbook
from xlquote.engine.errors import InputError
from xlquote.engine.messages import DATE_REQUIRED, SPACES_ONLY
from xlquote.engine.records import ColumnBlock
from xlquote.readers.guard import check_workbook_file
from xlquote.readers.typed_reader import first_value_row
from xlquote.readers.workbook import read_invoicing_workbook, read_sheet_tables

Rows = list[dict[str, Any]]
ENGINES = ("fastexcel", "cells")


def book(path: Path, edit: Callable[[Rows, Rows], None] | None = None) -> Path:
    contracts, incidents = sample_contracts(), sample_incidents()
    if edit:
        edit(contracts, incidents)
    return write_invoicing_workbook(path, contracts, incidents, sample_packs(),
                                    sample_settings())


def typed_sheets(path: Path) -> set[str]:
    """The sheets the default reader took as typed columns."""
    return {name for name, table in read_sheet_tables(path).items()
            if table is not None and isinstance(table.rows, ColumnBlock)}


def incidents_as_lists(data: Any) -> dict[str, list[Any]]:
    table = data.incidents
    columns = {k: v for k, v in vars(table).items() if k != "measures"}
    columns.update({f"measures.{k}": v for k, v in vars(table.measures).items()})
    return {k: [None if (isinstance(x, float) and x != x) else x for x in v.tolist()]
            for k, v in columns.items()}


def same_records(path: Path) -> None:
    reads = {engine: read_invoicing_workbook(path, engine) for engine in ENGINES}
    reference = reads["cells"]
    for engine, data in reads.items():
        assert data.contracts == reference.contracts, engine
        assert data.packs == reference.packs, engine
        assert data.settings == reference.settings, engine
        assert incidents_as_lists(data) == incidents_as_lists(reference), engine
        for name, column in vars(data.incidents.measures).items():
            assert column.dtype == getattr(reference.incidents.measures, name).dtype, name


def problems(path: Path, engine: str) -> list[tuple[Any, ...]]:
    with pytest.raises(InputError) as raised:
        read_invoicing_workbook(path, engine)
    # values compare by ==: openpyxl hands over -5 where the others give -5.0
    return sorted(((p.sheet or "", p.row or 0, p.field, p.reason, p.value)
                   for p in raised.value.problems), key=lambda p: p[:4])


def test_the_sample_is_read_as_typed_columns_with_the_same_records(tmp_path):
    path = book(tmp_path / "sample.xlsx")
    assert typed_sheets(path) == {"Contracts", "Incidents", "Packs"}
    same_records(path)


def test_columns_converted_on_two_threads_give_the_same_records(tmp_path, monkeypatch):
    """A big sheet's columns are converted on two threads; any sheet is, with the threshold
    at one row."""
    monkeypatch.setattr("xlquote.readers.typed_reader.PARALLEL_CONVERSION_ROWS", 1)
    calls = []
    monkeypatch.setattr("xlquote.readers.typed_reader.ThreadPoolExecutor",
                        lambda **kw: calls.append(kw) or ThreadPoolExecutor(**kw))
    path = book(tmp_path / "sample.xlsx")
    assert typed_sheets(path) == {"Contracts", "Incidents", "Packs"}
    assert [kw["thread_name_prefix"] for kw in calls].count("xlquote-columns") == 3
    same_records(path)
    bad = book(tmp_path / "bad.xlsx", BAD_TYPED_CELLS["negative minutes"])
    assert problems(bad, "fastexcel") == problems(bad, "cells")



def test_what_reading_the_bands_freed_is_handed_back_before_columns_are_converted(
        tmp_path, monkeypatch):
    """calamine's grids of the bands, freed into glibc's heaps, were ~300 MB of a million-row
    read's peak while its columns were converted."""
    from xlquote.readers import typed_reader

    events: list[str] = []
    monkeypatch.setattr(typed_reader, "release_freed_memory", lambda: events.append("released"))
    convert = typed_reader._convert_columns
    monkeypatch.setattr(typed_reader, "_convert_columns",
                        lambda *a: events.append("converted") or convert(*a))
    path = book(tmp_path / "sample.xlsx")
    assert typed_sheets(path) == {"Contracts", "Incidents", "Packs"}
    converted = [i for i, event in enumerate(events) if event == "converted"]
    assert len(converted) == 3 and all(events[i - 1] == "released" for i in converted)

def test_header_lower_down_blank_rows_and_folded_header_names(tmp_path):
    path = book(tmp_path / "sample.xlsx")
    wb = openpyxl.load_workbook(path)
    ws = wb["Incidents"]
    ws.insert_rows(1, 2)  # the table now starts on row 3
    ws["A1"].style = "Good"  # formatting without a value does not start the table
    ws.insert_rows(8, 1)  # a blank row inside the table
    for cell in ws[3]:
        if cell.value == "minutes":
            cell.value = "ＭＩＮＵＴＥＳ"  # full width, upper case: the same field
    ws.cell(3, ws.max_column + 1, "memo")  # an extra column nobody reads
    ws.cell(4, ws.max_column, "a note")
    wb.save(path)

    part = check_workbook_file(path, sheets=("Incidents",)).sheet_parts["Incidents"]
    assert first_value_row(path, part) == 3
    assert typed_sheets(path) == {"Contracts", "Incidents", "Packs"}
    same_records(path)
    table = read_sheet_tables(path)["Incidents"]
    assert table is not None and table.header_row == 3
    assert table.row_numbers[:6] == [4, 5, 6, 7, 9, 10]  # row 8 is blank


BAD_TYPED_CELLS: dict[str, Callable[[Rows, Rows], None]] = {
    "negative minutes": lambda c, i: i[1].update(minutes=-5),
    "fractional round trips": lambda c, i: i[2].update(round_trips=3.5),
    "unknown channel": lambda c, i: i[3].update(channel="fax"),
    "blank required date": lambda c, i: i[4].update(opened=None),
    "duplicate id": lambda c, i: i[5].update(incident_id=i[6]["incident_id"]),
    "huge fee limit": lambda c, i: c[0].update(fee_limit=1e15),
    "blank required text": lambda c, i: i[7].update(incident_id=None),
    "spaces for a required text": lambda c, i: i[7].update(incident_id="\u3000 "),
    "spaces in a fee limit": lambda c, i: i[4].update(fee_limit=" "),  # never "no limit"
}


@pytest.mark.parametrize("case", list(BAD_TYPED_CELLS))
def test_bad_cells_of_the_right_kind_give_the_same_problems(case, tmp_path):
    path = book(tmp_path / "bad.xlsx", BAD_TYPED_CELLS[case])
    assert typed_sheets(path) == {"Contracts", "Incidents", "Packs"}  # still the fast path
    found = problems(path, "fastexcel")
    assert found and found == problems(path, "cells")


def test_spaces_in_a_fee_limit_are_named_as_spaces_by_both_paths(tmp_path):
    path = book(tmp_path / "limit.xlsx", BAD_TYPED_CELLS["spaces in a fee limit"])
    found = problems(path, "fastexcel")
    assert found == problems(path, "cells")
    assert [p[2:4] for p in found] == [("fee_limit", SPACES_ONLY)]


def test_dates_in_a_number_column_are_shown_as_dates_by_both_paths(tmp_path):
    """Every minutes cell a date (the date format applied to the column): fastexcel reads the
    column as moments, the cell-by-cell reader as dates; both name each cell with its date."""
    def dated(contracts: Rows, incidents: Rows) -> None:
        for row in incidents:
            if row.get("minutes") is not None:
                row["minutes"] = dt.datetime(1900, 2, 20)

    path = book(tmp_path / "dated.xlsx", dated)
    assert typed_sheets(path) == {"Contracts", "Incidents", "Packs"}
    found = problems(path, "fastexcel")
    assert len(found) > 1 and found == problems(path, "cells")
    assert {(p[2], p[4]) for p in found} == {("minutes", dt.date(1900, 2, 20))}


def test_a_required_date_column_left_blank_names_every_row(tmp_path):
    def no_opened(contracts: Rows, incidents: Rows) -> None:
        for row in incidents:
            row["opened"] = None

    path = book(tmp_path / "no_opened.xlsx", no_opened)
    found = problems(path, "fastexcel")
    assert found == problems(path, "cells")
    opened = [p for p in found if p[2] == "opened"]
    assert len(opened) == len(sample_incidents())
    assert all(p[3] == DATE_REQUIRED for p in opened)


MIXED_CELLS: dict[str, tuple[Callable[[Rows, Rows], None], str, str]] = {
    "text in a number column": (lambda c, i: i[0].update(minutes="ten"), "minutes",
                                "数値として読めません"),
    "TRUE in a number column": (lambda c, i: i[1].update(round_trips=True), "round_trips",
                                "数値として読めません"),
    "a date in a number column": (lambda c, i: i[2].update(minutes=dt.date(2026, 10, 1)),
                                  "minutes", "数値として読めません"),
    "text in a TRUE/FALSE column": (lambda c, i: i[3].update(urgent="maybe"), "urgent",
                                    "TRUE か FALSE"),
    # spaces are not a blank: a blank minutes would bill the feather fee without a word
    "spaces in a number column": (lambda c, i: i[0].update(minutes="   "), "minutes",
                                  "空白 (スペース) だけ"),
    "spaces in a date column": (lambda c, i: i[1].update(closed="\u3000"), "closed",
                                "空白 (スペース) だけ"),
    "spaces in a TRUE/FALSE column": (lambda c, i: i[3].update(urgent=" "), "urgent",
                                      "空白 (スペース) だけ"),
    "spaces in a level column": (lambda c, i: i[2].update(level_override=" "),
                                 "level_override", "空白 (スペース) だけ"),
}


@pytest.mark.parametrize("case", list(MIXED_CELLS))
def test_a_column_mixing_kinds_of_cells_is_read_cell_by_cell(case, tmp_path):
    edit, field, reason = MIXED_CELLS[case]
    path = book(tmp_path / "mixed.xlsx", edit)
    assert "Incidents" not in typed_sheets(path)
    assert {"Contracts", "Packs"} <= typed_sheets(path)
    found = problems(path, "fastexcel")
    assert found == problems(path, "cells")
    assert any(p[2] == field and reason in p[3] for p in found), found


def test_text_typed_into_number_and_date_columns_is_read_like_the_other_readers(tmp_path):
    def edit(contracts: Rows, incidents: Rows) -> None:
        for row in incidents:
            if row.get("minutes") is not None:
                row["minutes"] = str(row["minutes"])
            row["opened"] = str(row["opened"])

    path = book(tmp_path / "text.xlsx", edit)
    assert "Incidents" in typed_sheets(path)  # text columns: the general conversion applies
    same_records(path)


def test_a_duplicated_header_is_reported_by_the_cell_by_cell_reader(tmp_path):
    path = book(tmp_path / "sample.xlsx")
    wb = openpyxl.load_workbook(path)
    ws = wb["Incidents"]
    ws.cell(1, ws.max_column + 1, "minutes")
    wb.save(path)
    assert "Incidents" not in typed_sheets(path)
    found = problems(path, "fastexcel")
    assert found == problems(path, "cells")
    assert any(p[2] == "minutes" and "同じ見出しの列が 2 つ" in p[3] for p in found)


def test_typed_columns_keep_their_types(tmp_path):
    table = read_sheet_tables(book(tmp_path / "sample.xlsx"))["Incidents"]
    assert table is not None and isinstance(table.rows, ColumnBlock)
    kinds = {name: column.dtype.kind for name, column in zip(table.header, table.rows.columns,
                                                               strict=True)}
    assert kinds["minutes"] == "f" and kinds["opened"] == "M" and kinds["urgent"] == "b"
    assert kinds["channel"] == "O"
    assert np.isnan(table.rows.columns[table.header.index("minutes")]).any()  # blanks are NaN


def saved_by_libreoffice(original: Path, tmp_path: Path) -> Path:
    """The workbook as LibreOffice saves it: text as shared strings, its own styles and row
    attributes."""
    subprocess.run(["soffice", "--headless", f"-env:UserInstallation=file://{tmp_path}/profile",
                    "--convert-to", "xlsx:Calc MS Excel 2007 XML", "--outdir",
                    str(tmp_path / "saved"), str(original)],
                   check=True, capture_output=True, timeout=180)
    saved = tmp_path / "saved" / original.name
    with zipfile.ZipFile(saved) as archive:
        assert "xl/sharedStrings.xml" in archive.namelist()
    return saved


@pytest.mark.skipif(not shutil.which("soffice"), reason="needs LibreOffice (installed by .ci/run)")
def test_a_workbook_saved_by_another_program_reads_the_same(tmp_path):
    """LibreOffice writes text as shared strings and its own styles, and TRUE/FALSE as formulas
    (=TRUE()) with their values: the sheets holding them are read cell by cell (a formula's
    value is checked cell by cell), the others still typed, and the records are the same."""
    original = book(tmp_path / "sample.xlsx")
    saved = saved_by_libreoffice(original, tmp_path)
    assert typed_sheets(saved) == {"Packs"}
    same_records(saved)
    assert read_invoicing_workbook(saved).contracts == read_invoicing_workbook(original).contracts


def test_problems_of_every_sheet_come_together_in_sheet_order(tmp_path):
    """The Incidents sheet loads on its own thread while the other sheets are parsed: the
    clerk still gets every sheet's problems in one error, Contracts before Incidents before
    Settings, whichever sheet finished first."""
    contracts, incidents = sample_contracts(), sample_incidents()
    contracts[0]["licences"] = -3
    incidents[0]["minutes"] = "ten"
    path = write_invoicing_workbook(tmp_path / "bad.xlsx", contracts, incidents, sample_packs(),
                                    {**sample_settings(), "registration_number": "123"})
    for engine in ENGINES:
        with pytest.raises(InputError) as raised:
            read_invoicing_workbook(path, engine)
        found = [(p.sheet, p.field) for p in raised.value.problems]
        assert found == [("Contracts", "licences"), ("Incidents", "minutes"),
                         ("Settings", "registration_number")], engine


def test_text_the_parser_would_change_is_not_taken_as_plain(tmp_path):
    """Plain text columns skip the per-cell clean-up; a column with one cell to strip (an
    ideographic space, a trailing line break) goes through it and reads like the others."""
    def pad(contracts: Rows, incidents: Rows) -> None:
        incidents[0]["member"] = "\u3000山田 "
        incidents[1]["description"] = "調査中\n"

    path = book(tmp_path / "padded.xlsx", pad)
    table = read_sheet_tables(path)["Incidents"]
    plain = dict(zip(table.header, table.rows.plain_text, strict=True))
    assert plain["incident_id"] and plain["contract_id"] and plain["approved_by"]
    assert not plain["member"] and not plain["description"]
    same_records(path)
    data = read_invoicing_workbook(path)
    assert data.incidents.member[0] == "山田" and data.incidents.description[1] == "調査中"


@pytest.mark.parametrize(("cells", "plain"), [
    (["A-1", None, "山田 太郎"], True),
    ([" A-1"], False), (["A-1\u3000"], False), (["A\x1f"], False), (["a\x01b"], False),
    (["line\nbreak", "tab\tinside"], True), ([None, None], True),
])
def test_plain_text_check(cells, plain):
    import pyarrow as pa

    from xlquote.readers.typed_reader import _is_plain_text

    assert _is_plain_text(pa.chunked_array([pa.array(cells, pa.string())])) is plain


def test_whitespace_is_what_str_strip_removes_but_control_characters():
    import sys

    from xlquote.engine.columns import CONTROL_CHARACTERS, WHITESPACE

    assert "".join(c for c in map(chr, range(sys.maxunicode + 1))
                   if c.isspace() and not CONTROL_CHARACTERS.match(c)) == WHITESPACE


@pytest.mark.parametrize(("cells", "distinct"), [
    (["A-1", "A-2", None, None], True),  # blanks aside
    (["A-1", "A-2", "A-1"], False), (["", ""], False), (["A-1", "", None], True),
])
def test_distinct_check(cells, distinct):
    import pyarrow as pa

    from xlquote.readers.typed_reader import _no_repeats

    assert _no_repeats(pa.chunked_array([pa.array(cells, pa.string())])) is distinct


def test_only_unique_fields_are_checked_for_repeats(tmp_path):
    """The reader vouches that incident ids do not repeat (the parser then skips its own
    look); no other column is looked at, and a repeated id is not vouched for."""
    table = read_sheet_tables(book(tmp_path / "sample.xlsx"))["Incidents"]
    assert isinstance(table.rows, ColumnBlock)
    vouched = [name for name, distinct in zip(table.header, table.rows.distinct, strict=True)
               if distinct]
    assert vouched == ["incident_id"]
    repeated = book(tmp_path / "bad.xlsx", BAD_TYPED_CELLS["duplicate id"])
    assert not any(read_sheet_tables(repeated)["Incidents"].rows.distinct)


def test_the_read_hands_back_what_it_freed_once_its_sheet_tables_are_gone(tmp_path, monkeypatch):
    import gc

    from xlquote.readers import workbook
    from xlquote.readers.sheet_table import SheetTable

    path = book(tmp_path / "sample.xlsx")
    alive: list[int] = []

    def release() -> None:
        gc.collect()
        alive.append(sum(isinstance(o, SheetTable) for o in gc.get_objects()))

    monkeypatch.setattr(workbook, "release_freed_memory", release)
    data = read_invoicing_workbook(path)
    assert alive == [0] and len(data.incidents) == len(sample_incidents())


@pytest.mark.parametrize(("chosen", "pool"), [(None, "system"), ("jemalloc", "jemalloc")])
def test_arrow_takes_memory_from_malloc_unless_the_environment_chooses(chosen, pool, tmp_path):
    """A read's Arrow arrays come from malloc (jemalloc's handing pages back and taking them
    again cost a million-row read seconds of system time); ARROW_DEFAULT_MEMORY_POOL wins."""
    import os
    import sys

    book = write_invoicing_workbook(tmp_path / "invoicing.xlsx", sample_contracts(),
                                    sample_incidents(), sample_packs(), sample_settings())
    env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    if chosen:
        env["ARROW_DEFAULT_MEMORY_POOL"] = chosen
    script = ("import sys\nfrom xlquote.readers.workbook import read_invoicing_workbook\n"
              "read_invoicing_workbook(sys.argv[1])\n"
              "import pyarrow\nprint(pyarrow.default_memory_pool().backend_name)")
    shown = subprocess.run([sys.executable, "-c", script, str(book)], env=env, check=True,
                           capture_output=True, text=True).stdout.split()
    assert shown == [pool]
