"""A big sheet is cut into pieces read on several threads (``xlquote/io/split_sheet.py``): the
pieces must say exactly what one read of the whole sheet says, wherever the cuts fall, and
anything the cutting cannot vouch for must send the sheet to the whole read.

The thresholds are lowered here so that the sample's 42 incidents are cut into many pieces."""

from __future__ import annotations

import datetime as dt
import io
import re
import shutil
import zipfile
from pathlib import Path
from typing import Any

import fastexcel
import numpy as np
import openpyxl
import pytest
import xlsxwriter

from tests.test_typed_reader import (
    BAD_TYPED_CELLS,
    MIXED_CELLS,
    Rows,
    book,
    incidents_as_lists,
    problems,
    same_records,
    saved_by_libreoffice,
)
from xlquote.io import split_sheet
from xlquote.io.read_workbook import read_invoicing_workbook
from xlquote.io.typed_reader import sheet_start


@pytest.fixture
def cut_small(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every sheet is cut, into pieces of about 1,500 bytes (a few rows), on two threads."""
    monkeypatch.setenv("XLQUOTE_WORKERS", "2")
    monkeypatch.setattr(split_sheet, "SPLIT_FROM_BYTES", 0)
    monkeypatch.setattr(split_sheet, "PIECE_BYTES", 1500)
    monkeypatch.setattr(split_sheet, "SHARED_STRINGS_SHARE", 1e9)


def whole_read(path: Path, sheet: str) -> tuple[Any, np.ndarray]:
    _, header_row = sheet_start(path, sheet)
    batch = fastexcel.read_excel(str(path)).load_sheet(
        sheet, schema_sample_rows=None, dtype_coercion="strict", eager=True)
    return batch, np.arange(header_row + 1, header_row + 1 + batch.num_rows)


def split_read(path: Path, sheet: str) -> tuple[Any, np.ndarray] | None:
    part, header_row = sheet_start(path, sheet)
    return split_sheet.read_split_sheet(path, part, sheet, header_row)


def piece_count(path: Path, sheet: str) -> int:
    part, header_row = sheet_start(path, sheet)
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(part)
    return len(list(split_sheet.split_sheet(path, info, {}, header_row, split_sheet.PIECE_BYTES)))


def rows_by_number(batch: Any, numbers: np.ndarray, types: list[Any]) -> dict[int, tuple]:
    """Each row holding a value, by sheet row number (blank rows are skipped by the reader:
    one read keeps a piece's trailing blank rows, the pieces may not)."""
    columns = [batch.column(i).cast(kind).to_pylist() for i, kind in enumerate(types)]
    return {int(number): row for number, row in zip(numbers, zip(*columns, strict=True),
                                                    strict=True)
            if any(value not in (None, "") for value in row)}


def assert_same_as_whole(path: Path, sheet: str = "Incidents") -> None:
    split = split_read(path, sheet)
    assert split is not None, "the sheet was not cut"
    (batch, numbers), (whole, whole_numbers) = split, whole_read(path, sheet)
    assert batch.schema.names == whole.schema.names
    # the pieces give numbers as float64 and dates as timestamps, as column_to_numpy does
    types = list(batch.schema.types)
    expected = rows_by_number(whole, whole_numbers, types)
    assert len(expected) > 10
    assert rows_by_number(batch, numbers, types) == expected


@pytest.mark.parametrize("piece_bytes", [1, 700, 1500, 5000])
def test_pieces_give_what_one_read_of_the_sheet_gives(piece_bytes, tmp_path, cut_small,
                                                      monkeypatch):
    monkeypatch.setattr(split_sheet, "PIECE_BYTES", piece_bytes)
    path = book(tmp_path / "sample.xlsx")
    assert piece_count(path, "Incidents") > 3
    assert_same_as_whole(path)
    assert_same_as_whole(path, "Contracts")


def test_blank_rows_anywhere_a_header_lower_down_and_columns_blank_in_some_pieces(
        tmp_path, cut_small, monkeypatch):
    """Blank rows fall at the end and the start of pieces (fastexcel drops a piece's trailing
    blank rows: the row numbers must not slip), and a number column is blank in the first
    pieces (fastexcel calls those pieces' column text)."""
    def late_minutes(contracts: Rows, incidents: Rows) -> None:
        for row in incidents[:20]:
            row["minutes"] = None

    path = book(tmp_path / "sample.xlsx", late_minutes)
    wb = openpyxl.load_workbook(path)
    ws = wb["Incidents"]
    ws.insert_rows(1, 2)  # the header now on row 3
    for row in (6, 12, 13, 20, 31, 32, 33):
        ws.insert_rows(row, 1)
    wb.save(path)
    assert sheet_start(path, "Incidents")[1] == 3
    for piece_bytes in range(200, 4000, 97):  # cuts at every kind of place
        monkeypatch.setattr(split_sheet, "PIECE_BYTES", piece_bytes)
        assert_same_as_whole(path)
    same_records(path)
    table = read_invoicing_workbook(path).incidents
    assert len(table) == 42


def write_book_with_shared_strings(path: Path, date_1904: bool = False) -> Path:
    """An Incidents-like sheet as Excel writes it: text as shared strings, dates with a date
    format (in the 1904 date system when asked)."""
    workbook = xlsxwriter.Workbook(str(path), {"date_1904": date_1904})
    sheet = workbook.add_worksheet("Incidents")
    dates = workbook.add_format({"num_format": "yyyy-mm-dd"})
    sheet.write_row(0, 0, ["incident_id", "opened", "minutes", "urgent", "memo"])
    for i in range(300):
        sheet.write_string(i + 1, 0, f"INC-{i:04d}")
        sheet.write_datetime(i + 1, 1, dt.datetime(2026, 10, 1) + dt.timedelta(hours=7 * i),
                             dates)
        if i % 7:
            sheet.write_number(i + 1, 2, i * 1.5)
        sheet.write_boolean(i + 1, 3, i % 3 == 0)
        if i % 50 == 0:
            sheet.write_string(i + 1, 4, "共有 文字列")
    workbook.close()
    return path


@pytest.mark.parametrize("date_1904", [False, True])
def test_shared_strings_and_the_1904_date_system(date_1904, tmp_path, cut_small):
    path = write_book_with_shared_strings(tmp_path / "shared.xlsx", date_1904)
    with zipfile.ZipFile(path) as archive:
        assert "xl/sharedStrings.xml" in archive.namelist()
    assert piece_count(path, "Incidents") > 3
    assert_same_as_whole(path)
    batch, _ = split_read(path, "Incidents")
    assert batch.column("opened")[0].as_py() == dt.datetime(2026, 10, 1)


def test_each_piece_rereads_the_shared_strings_so_pieces_grow_with_them(tmp_path, monkeypatch):
    """With shared strings four times the size of a piece, pieces are made bigger (fewer
    re-reads), but never fewer than one per thread."""
    monkeypatch.setenv("XLQUOTE_WORKERS", "2")
    monkeypatch.setattr(split_sheet, "SPLIT_FROM_BYTES", 0)
    monkeypatch.setattr(split_sheet, "PIECE_BYTES", 1500)
    cuts = []
    original = split_sheet.split_sheet
    monkeypatch.setattr(split_sheet, "split_sheet",
                        lambda *args: cuts.append(args[-1]) or original(*args))
    path = write_book_with_shared_strings(tmp_path / "shared.xlsx")
    with zipfile.ZipFile(path) as archive:
        shared = archive.getinfo("xl/sharedStrings.xml").file_size
        sheet = archive.getinfo("xl/worksheets/sheet1.xml").file_size
    assert split_read(path, "Incidents") is not None
    assert cuts == [min(int(shared / split_sheet.SHARED_STRINGS_SHARE), sheet // 2 + 1)]


@pytest.mark.parametrize("case", list(BAD_TYPED_CELLS))
def test_bad_cells_give_the_same_problems_when_cut(case, tmp_path, cut_small):
    path = book(tmp_path / "bad.xlsx", BAD_TYPED_CELLS[case])
    assert split_read(path, "Incidents") is not None
    found = problems(path, "fastexcel")
    assert found and found == problems(path, "calamine")


@pytest.mark.parametrize("case", list(MIXED_CELLS))
def test_a_column_mixing_kinds_across_pieces_is_read_whole_then_cell_by_cell(case, tmp_path,
                                                                          cut_small):
    """One odd cell is a piece of its own kind: the pieces disagree, the whole read refuses
    the mixed column, and the cell-by-cell reader names the cell."""
    edit, field, reason = MIXED_CELLS[case]
    path = book(tmp_path / "mixed.xlsx", edit)
    assert split_read(path, "Incidents") is None
    found = problems(path, "fastexcel")
    assert found == problems(path, "calamine")
    assert any(p[2] == field and reason in p[3] for p in found), found


def rewrite_sheet(path: Path, sheet: str, edit: Any) -> None:
    """Replace the sheet's XML by ``edit(xml)``, every other part kept."""
    part, _ = sheet_start(path, sheet)
    with zipfile.ZipFile(path) as archive:
        parts = {info: archive.read(info) for info in archive.infolist()}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for info, data in parts.items():
            archive.writestr(info.filename, edit(data) if info.filename == part else data)


UNSAFE_XML = {
    "a comment between rows": lambda xml: xml.replace(b"<row r=\"9\"", b"<!-- x --><row r=\"9\""),
    "a CDATA section in a cell": lambda xml: re.sub(
        rb"(<row r=\"5\".*?<t>)", rb"\1<![CDATA[<row r=\"2\">]]>", xml, count=1),
    "rows without numbers": lambda xml: re.sub(rb"<row r=\"\d+\"", b"<row ", xml),
}


def row_moved(xml: bytes, old: int, new: int) -> bytes:
    """Row ``old`` renumbered as ``new`` where it stands (rows out of order), the row that
    had the number ``new`` removed."""
    xml = re.sub(rb'<row r="%d".*?</row>' % new, b"", xml, flags=re.S)
    return re.sub(rb'<row r="%d".*?</row>' % old,
                  lambda m: re.sub(rb'(r="[A-Z]*)%d"' % old, rb'\g<1>%d"' % new, m.group(0)),
                  xml, flags=re.S)


UNSAFE_XML["a row numbered ahead"] = lambda xml: row_moved(xml, 10, 40)
UNSAFE_XML["a row numbered back"] = lambda xml: row_moved(xml, 30, 5)


@pytest.mark.parametrize("case", list(UNSAFE_XML))
def test_a_sheet_the_cuts_cannot_vouch_for_is_read_whole(case, tmp_path, cut_small):
    path = book(tmp_path / "odd.xlsx")
    rewrite_sheet(path, "Incidents", UNSAFE_XML[case])
    assert split_read(path, "Incidents") is None
    read, reference = read_invoicing_workbook(path), read_invoicing_workbook(path, "calamine")
    assert len(read.incidents) >= 41
    # (openpyxl keeps rows out of order as they stand: only calamine is the reference here)
    assert incidents_as_lists(read) == incidents_as_lists(reference)


@pytest.mark.parametrize(("damage", "message"), [
    (lambda info, size: setattr(info, "CRC", info.CRC ^ 1), "CRC"),
    (lambda info, size: setattr(info, "header_offset", size - 10), "damaged"),
    (lambda info, size: setattr(info, "header_offset", info.header_offset + 1), "damaged"),
    (lambda info, size: setattr(info, "compress_size", size), "cut short"),
])
def test_a_damaged_sheet_is_not_cut(damage, message, tmp_path):
    path = book(tmp_path / "sample.xlsx")
    part, _ = sheet_start(path, "Incidents")
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(part)
    damage(info, path.stat().st_size)
    with pytest.raises(split_sheet.CannotSplit, match=message):
        list(split_sheet._inflate(path, info))


def test_small_sheets_and_a_single_core_read_whole(tmp_path, monkeypatch):
    path = book(tmp_path / "sample.xlsx")
    monkeypatch.setenv("XLQUOTE_WORKERS", "2")
    assert split_read(path, "Incidents") is None  # 24 kB: far below the threshold
    monkeypatch.setattr(split_sheet, "SPLIT_FROM_BYTES", 0)
    assert split_read(path, "Incidents") is not None
    monkeypatch.setenv("XLQUOTE_WORKERS", "1")
    assert split_read(path, "Incidents") is None


def test_the_invoicing_read_takes_the_pieces(tmp_path, cut_small, monkeypatch):
    taken = []
    original = split_sheet.combine_pieces
    monkeypatch.setattr(split_sheet, "combine_pieces",
                        lambda pieces: taken.append(len(pieces)) or original(pieces))
    path = book(tmp_path / "sample.xlsx")
    same_records(path)
    assert len(taken) == 3 and max(taken) > 3  # Contracts, Incidents, Packs


@pytest.mark.skipif(not shutil.which("soffice"), reason="needs LibreOffice (installed by .ci/run)")
def test_a_workbook_saved_by_another_program_is_cut_the_same(tmp_path, cut_small):
    """LibreOffice writes shared strings, row attributes of its own (heights, spans) and a
    dimension: the pieces still say what one read says."""
    saved = saved_by_libreoffice(book(tmp_path / "sample.xlsx"), tmp_path)
    assert piece_count(saved, "Incidents") > 3
    assert_same_as_whole(saved)
    same_records(saved)


def test_a_piece_is_a_stored_zip_any_zip_reader_checks_and_reads():
    parts = split_sheet.StoredParts({"[Content_Types].xml": b"<Types/>", "xl/styles.xml": b""})
    body = bytearray(b"<row r=\"2\"/>" * 1000)
    with memoryview(body) as view:
        data = parts.with_part("xl/worksheets/シート.xml", (b"<worksheet>", view[:120], b"</ws>"))
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None  # every CRC matches
        assert archive.namelist() == ["[Content_Types].xml", "xl/styles.xml",
                                      "xl/worksheets/シート.xml"]
        assert archive.read("xl/worksheets/シート.xml") == b"<worksheet>" + bytes(body[:120]) + b"</ws>"
        assert {info.compress_type for info in archive.infolist()} == {zipfile.ZIP_STORED}
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    again = parts.with_part("xl/worksheets/sheet1.xml", (b"<w/>",))  # the opening parts reused
    with zipfile.ZipFile(io.BytesIO(again)) as archive:
        assert archive.testzip() is None and archive.read("xl/worksheets/sheet1.xml") == b"<w/>"
