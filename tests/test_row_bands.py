"""The typed reader gives fastexcel a sheet in bands of rows (row_bands): however the sheet is
cut, it must read exactly as if read whole, and no band's grid may reach past BAND_ROWS rows."""

from __future__ import annotations

import datetime as dt
import importlib.util
import re
import sys
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import openpyxl
import pytest
from helpers import read_records

from xlquote.app.sample import sample_contracts, sample_incidents, sample_packs, sample_settings
from xlquote.app.workbooks.invoicing import write_invoicing_workbook
from xlquote.engine.errors import InputError
from xlquote.engine.records import ColumnBlock
from xlquote.readers import row_bands, typed_reader
from xlquote.readers.guard import check_workbook_file
from xlquote.readers.workbook import read_invoicing_workbook, read_sheet_tables

CORPUS = Path(__file__).parent / "data" / "hostile"
spec = importlib.util.spec_from_file_location("hostile_build", CORPUS / "build.py")
assert spec and spec.loader
corpus = importlib.util.module_from_spec(spec)
sys.modules.setdefault("hostile_build", corpus)
spec.loader.exec_module(corpus)

# How a sheet may be cut: one data row per band; a band per block of 200 bytes, the blocks
# cut anywhere (inside tags, rows, the header); a few rows or a few hundred bytes per band.
CUTS = {"a row each": dict(rows=2), "every 200 bytes": dict(band_bytes=1, block=200),
        "three rows or 500 bytes": dict(rows=4, band_bytes=500, block=97)}


def outcome(path: Path) -> Any:
    """What the month's read gives: the records, or the problems."""
    try:
        data = read_invoicing_workbook(path)
    except InputError as exc:
        return [(p.sheet, p.row, p.field, str(p.value), p.reason) for p in exc.problems]
    return read_records(data)




def typed_tables(path: Path) -> dict[str, Any]:
    """The sheets the typed reader took: header, columns and what is known of them, rows."""
    def values(array: np.ndarray) -> list[Any]:
        return [None if isinstance(x, float) and x != x else x for x in array.tolist()]

    try:
        tables = read_sheet_tables(path)
    except InputError as exc:
        return {"refused": [p.reason for p in exc.problems]}
    return {name: (table.header, [values(c) for c in table.rows.columns],
                   [b.tolist() for b in table.rows.blanks], table.rows.length,
                   table.rows.plain_text, table.rows.distinct, table.rows.only_values,
                   list(table.row_numbers))
            for name, table in tables.items()
            if table is not None and isinstance(table.rows, ColumnBlock)}


def incidents_part(path: Path) -> str:
    """The Incidents sheet's part, as the guard finds it for the readers."""
    return check_workbook_file(path, sheets=("Incidents",)).sheet_parts["Incidents"]


@pytest.fixture
def cut(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Sets how sheets are cut into bands; counts the bands written."""
    written: list[int] = []
    original = typed_reader.write_bands

    def counted(*args: Any) -> Any:
        bands = original(*args)
        written.append(len(bands) if bands else 0)
        return bands

    def apply(rows: int = row_bands.BAND_ROWS, band_bytes: int = row_bands.BAND_BYTES,
              block: int | None = None) -> list[int]:
        monkeypatch.setattr(row_bands, "BAND_ROWS", rows)
        monkeypatch.setattr(row_bands, "BAND_BYTES", band_bytes)
        if block is not None:  # the cutter is handed the sheet in pieces of this size
            whole_blocks = row_bands.part_blocks
            monkeypatch.setattr(row_bands, "part_blocks", lambda *args: (
                piece[i:i + block] for piece in [b"".join(whole_blocks(*args))]
                for i in range(0, len(piece), block)))
        monkeypatch.setattr(typed_reader, "write_bands", counted)
        return written

    return apply


def shared_strings_book(folder: Path, date_1904: bool = False) -> Path:
    """The sample rewritten by XlsxWriter: text as shared strings, dates in a date format, and
    the 1904 date system if asked."""
    import xlsxwriter

    sample = write_invoicing_workbook(folder / "sample.xlsx", sample_contracts(),
                                      sample_incidents(), sample_packs(), sample_settings())
    path = folder / "shared.xlsx"
    source = openpyxl.load_workbook(sample)
    target = xlsxwriter.Workbook(path, {"date_1904": date_1904})
    date_format = target.add_format({"num_format": "yyyy-mm-dd"})
    for sheet in source.worksheets:
        out = target.add_worksheet(sheet.title)
        for row in sheet.iter_rows():
            for cell in row:
                if isinstance(cell.value, dt.datetime | dt.date):
                    out.write_datetime(cell.row - 1, cell.column - 1, cell.value, date_format)
                elif cell.value is not None:
                    out.write(cell.row - 1, cell.column - 1, cell.value)
    target.close()
    with zipfile.ZipFile(path) as archive:
        assert "xl/sharedStrings.xml" in archive.namelist()
        assert (b'date1904="1"' in archive.read("xl/workbook.xml")) == date_1904
    return path


@pytest.mark.parametrize("how", sorted(CUTS))
@pytest.mark.parametrize("name", [case.name for case in corpus.CASES])
def test_every_corpus_case_reads_the_same_however_its_sheets_are_cut(name, how, cut):
    path = corpus.CASES[[c.name for c in corpus.CASES].index(name)].file
    whole, whole_tables = outcome(path), typed_tables(path)
    written = cut(**CUTS[how])
    assert outcome(path) == whole
    assert typed_tables(path) == whole_tables
    if "Incidents" in whole_tables:  # the demo's Incidents sheet (44 rows) was cut
        assert max(written) > 5


def test_shared_strings_reach_every_band(tmp_path, cut):
    path = shared_strings_book(tmp_path)
    whole = outcome(path)
    assert set(typed_tables(path)) == {"Contracts", "Incidents", "Packs"}
    written = cut(rows=2)
    assert outcome(path) == whole
    assert max(written) > 5


def test_a_workbook_in_the_1904_date_system_gives_the_same_dates(tmp_path, cut):
    (tmp_path / "1900").mkdir()
    (tmp_path / "1904").mkdir()
    plain = outcome(shared_strings_book(tmp_path / "1900"))
    path = shared_strings_book(tmp_path / "1904", date_1904=True)
    assert set(typed_tables(path)) == {"Contracts", "Incidents", "Packs"}
    assert outcome(path) == plain
    cut(rows=2)
    assert outcome(path) == plain


def test_a_band_never_spans_more_rows_than_band_rows(tmp_path):
    """A short table and one value far below it: two bands, the second beginning just above
    that value, so that no grid reaches from one to the other."""
    path = corpus.CASES[[c.name for c in corpus.CASES].index("stray_cell_z_incidents")].file
    part = incidents_part(path)
    bands = row_bands.write_bands(path, part, 1, tmp_path / "bands.xlsx")
    assert bands is not None
    assert [b.header_row for b in bands] == [1, 1_048_575]
    with zipfile.ZipFile(tmp_path / "bands.xlsx") as banded:
        far = banded.read("xl/worksheets/band2.xml")
    assert b'<row r="1048575"' in far and b'r="Z1048576"' in far
    assert b'r="A15"' not in far  # no data row of the table


def test_without_room_for_the_bands_the_sheets_are_read_cell_by_cell(tmp_path, monkeypatch):
    """No temporary folder, or a full disk: the same outcome, read cell by cell."""
    path = corpus.CASES[[c.name for c in corpus.CASES].index("original")].file
    whole = outcome(path)
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path / "gone"))
    assert typed_tables(path) == {} and outcome(path) == whole
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))

    def full(*args: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(row_bands, "_write_sheet_bands", full)
    assert typed_tables(path) == {} and outcome(path) == whole
    assert not list(tmp_path.iterdir())  # nothing left behind


@pytest.mark.parametrize("engine", ["fastexcel", "cells"])
def test_text_past_the_budget_is_refused_alike_by_both_paths(engine, monkeypatch):
    """The text a sheet's read columns hold is counted as it is read: past TEXT_BUDGET the
    sheet is refused, by either path, before the rest is read."""
    from xlquote.readers import sheet_table
    from xlquote.readers.workbook import SHEETS

    path = corpus.CASES[[c.name for c in corpus.CASES].index("original")].file
    assert "Incidents" in typed_tables(path)
    monkeypatch.setattr(sheet_table, "TEXT_BUDGET", 100)
    with pytest.raises(InputError) as raised:
        read_sheet_tables(path, engine, ("Incidents",))
    [problem] = raised.value.problems
    assert (problem.sheet, problem.row, problem.field) == ("Incidents", None, "(sheet)")
    assert "上限 100 バイト" in problem.reason
    if engine == "fastexcel":  # the typed reader counts for itself
        part = incidents_part(path)
        with pytest.raises(InputError):
            typed_reader.read_typed_table(path, "Incidents", part, SHEETS["Incidents"])
        monkeypatch.setattr(sheet_table, "TEXT_BUDGET", 10**6)
        assert typed_reader.read_typed_table(path, "Incidents", part,
                                             SHEETS["Incidents"]) is not None


@pytest.mark.parametrize(("rows", "band_bytes"), [(4, 1500), (10, 5000), (20, 9000)])
def test_a_band_is_cut_at_whichever_limit_comes_first(tmp_path, monkeypatch, rows, band_bytes):
    """The whole sheet in one block, past both limits at once: each band still ends before
    BAND_ROWS rows below its header and near BAND_BYTES."""
    monkeypatch.setattr(row_bands, "BAND_ROWS", rows)
    monkeypatch.setattr(row_bands, "BAND_BYTES", band_bytes)
    monkeypatch.setattr(row_bands, "part_blocks",
                        lambda *args, whole=row_bands.part_blocks: [b"".join(whole(*args))])
    path = corpus.CASES[[c.name for c in corpus.CASES].index("original")].file
    bands = row_bands.write_bands(path, "xl/worksheets/sheet4.xml", 1, tmp_path / "b.xlsx")
    assert bands is not None and len(bands) > 2
    with zipfile.ZipFile(tmp_path / "b.xlsx") as banded:
        for band in bands:
            xml = banded.read(f"xl/worksheets/{band.sheet}.xml")
            numbers = [int(n) for n in re.findall(rb'<row r="(\d+)"', xml)]
            assert numbers[0] == band.header_row
            assert numbers[-1] - band.header_row < rows
            assert len(xml) < band_bytes + 2000


def test_a_first_band_holding_the_header_alone_reads_as_the_cells_do(tmp_path, cut):
    """Every incident 69,998 rows below the header: the first band holds the header alone (no
    row, so fastexcel gives its columns no kind), and columns blank in every row join the
    others as text."""
    parts = corpus.read_parts(corpus.BASE)
    corpus.rows_moved_down("Incidents", 69_998)(parts)
    path = tmp_path / "far_below.xlsm"
    path.write_bytes(corpus.package(parts))
    cells = read_invoicing_workbook(path, "cells")
    assert "Incidents" in typed_tables(path)
    assert outcome(path) == read_records(cells)
    assert cells.incidents.row[0] == 70_000
    cut(rows=3)
    assert outcome(path) == read_records(cells)


@pytest.mark.parametrize(("shared_bytes", "readers"), [(10**9, 2), (0, 1)])
def test_big_shared_strings_are_held_by_one_reader(tmp_path, monkeypatch, shared_bytes, readers):
    """Each fastexcel reader holds its own copy of the shared strings: past a size, one reader
    reads every band, with the same outcome."""
    path = shared_strings_book(tmp_path)
    whole = outcome(path)
    monkeypatch.setattr(row_bands, "BAND_ROWS", 3)
    monkeypatch.setattr(typed_reader, "SHARED_STRINGS_FOR_TWO", shared_bytes)
    opened: list[Path] = []
    original = typed_reader.open_reader
    monkeypatch.setattr(typed_reader, "open_reader",
                        lambda target: opened.append(target) or original(target))
    tables = read_sheet_tables(path, "fastexcel", ("Incidents",))
    assert isinstance(tables["Incidents"].rows, ColumnBlock)
    assert len(opened) == readers
    assert outcome(path) == whole


@pytest.mark.parametrize("header", ["description_2", "notes"])
def test_text_in_a_column_not_read_is_not_counted(tmp_path, monkeypatch, header):
    """A column headed like a second header of a field (description_2) or by no field is not
    read, so its text is not counted, by either path."""
    from xlquote.readers import sheet_table

    parts = corpus.read_parts(corpus.BASE)
    corpus.set_cell(parts, "Incidents", "Y1", corpus.inline("Y1", header))
    corpus.set_cell(parts, "Incidents", "Y2", corpus.inline("Y2", "x" * 3000))
    path = tmp_path / "unread_text.xlsm"
    path.write_bytes(corpus.package(parts))
    monkeypatch.setattr(sheet_table, "TEXT_BUDGET", 2900)  # the read columns hold ~2,200
    cells = read_invoicing_workbook(path, "cells")
    assert outcome(path) == read_records(cells)


@pytest.mark.parametrize("engine", ["fastexcel", "cells"])
def test_other_sheets_have_a_smaller_text_budget(engine, monkeypatch):
    """Contracts, Packs and Settings are read while the incident log is: each has a budget of
    its own, smaller (a crafted workbook of four sheets of 128 MB of text each took 2.1 GB)."""
    from xlquote.readers import sheet_table

    path = corpus.CASES[[c.name for c in corpus.CASES].index("original")].file
    monkeypatch.setattr(sheet_table, "OTHER_SHEETS_TEXT_BUDGET", 10)
    read_sheet_tables(path, engine, ("Incidents",))  # the log keeps TEXT_BUDGET
    with pytest.raises(InputError) as raised:
        read_sheet_tables(path, engine, ("Contracts",))
    [problem] = raised.value.problems
    assert (problem.sheet, problem.field) == ("Contracts", "(sheet)")
    assert "上限 10 バイト" in problem.reason


def test_the_typed_reader_refuses_a_format_excel_cannot_hold_before_calamine_reads():
    """calamine decides every style by its format: a format of 9 million characters cost it
    seconds a sheet, so the styles are read (and refused) first."""
    from xlquote.readers.workbook import SHEETS

    path = corpus.CASES[[c.name for c in corpus.CASES].index("format_code_too_long")].file
    with pytest.raises(ValueError, match="255 文字まで"):
        typed_reader.read_typed_table(path, "Incidents", incidents_part(path), SHEETS["Incidents"])
