"""A record table (Incidents, Contracts, Packs) from a CSV or Parquet file instead of a sheet.

For a log that outgrows a workbook (Excel stops at 1,048,576 rows) or that arrives as a nightly
export of the ticket system. The file's header row names the fields like the sheet's header
does (case, width and spaces folded; other columns are not read); every cell goes through the
same conversions and checks as a workbook cell, and a problem names the file, the row and the
column. Rows are numbered as a spreadsheet shows the file: the header is row 1, the first
record row 2 (a CSV record spanning several lines is one row); in a Parquet file the record at
position p (from 0) is row p + 2.

CSV: UTF-8 (with or without a byte-order mark), else Windows Japanese (cp932, what Excel's
"CSV" saves on a Japanese PC); comma-separated, double quotes. Every value is read as text and
converted like a text cell of a workbook: an empty field is a blank, nothing else is (#N/A,
NA, NULL are values, named as such). Parquet: typed columns are taken as they are (numbers,
dates, timestamps, booleans, text); NaN, infinities and integers beyond what a number cell
holds exactly are named; a timestamp with a time zone is taken on its local date; a column of
another of these types than its field takes is converted value by value, as text typed into a
number column would be. A column of any other type (durations, times of day, bytes, lists, …)
is refused: no cell of a workbook holds such a value.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..engine.codes import normalize_text
from ..engine.columns import EXCEL_MAX_TEXT, UnusableCell
from ..engine.errors import (
    FILE_FIELD,
    MORE_FIELD,
    RECORD_FILE_SUFFIXES,
    ROW_FIELD,
    STOPPED_FIELD,
    InputError,
    ListedProblems,
    Problem,
)
from ..engine.messages import FILE_NOT_FOUND, cut_short, file_too_large, shown
from ..engine.records import (
    RECORD_PARSERS,
    SHEETS,
    ColumnBlock,
    Field,
    duplicated_headers,
    misspelt_headers,
    record_limit,
    refuse_beyond,
)
from ..memory import release_freed_memory
from .cells import NOT_AN_EXCEL_DATE, not_finite
from .sheet_table import SheetTable
from .typed_reader import FIRST_DATE, LAST_DATE, blank_cells, column_to_numpy

MAX_FILE_BYTES = 4 * 2**30
MAX_ROWS = 20_000_000  # far beyond a month of any customer base here; bounds the memory
MAX_DATA_BYTES = 4 * 2**30  # a Parquet file's columns read, unpacked (compression bombs)
# A Parquet file's layout: its footer lists every column of every row group, and reading it
# costs time and memory by their product. A sheet has at most 16,384 columns; writers put
# ~1M rows in a row group (20,000 groups hold MAX_ROWS in groups of 1,000).
MAX_PARQUET_COLUMNS = 16_384
MAX_ROW_GROUPS = 20_000
CSV_BLOCK = 16 * 2**20
HEADER_ROW = 1
# The whole numbers a float64 (how the records parser takes every number, as Excel holds
# them) holds exactly: a bigger integer would be read as a nearby other number.
EXACT_INTEGER = 2**53
INEXACT_INTEGER = f"整数が大きすぎて正確には読めません (±{EXACT_INTEGER:,} まで)"
# Japanese text as UTF-8 writes it (kana, kanji, full-width forms): three bytes a character
JAPANESE = re.compile("[\u3000-\u9fff\uff00-\uffef]")
SHOWN_ROW_CHARS = 40  # how much of a misshapen CSV row a message quotes (``cut_short``)


def _refuse(path: Path, reason: str) -> InputError:
    return InputError([Problem(None, FILE_FIELD, path.name, reason)])


def too_many_rows(rows: int) -> str:
    return f"行が多すぎます ({rows:,} 行。上限は {MAX_ROWS:,} 行)。期間を分けてください"


def read_record_file(path: str | Path, table: str) -> SheetTable:
    """The records of ``table`` (Incidents, Contracts or Packs) from a CSV or Parquet file, as
    a ``SheetTable`` the records parsers take. Raises InputError naming the file when it cannot
    be read."""
    path = Path(path)
    fields = SHEETS[table]
    if not path.is_file():
        raise _refuse(path, FILE_NOT_FOUND)
    if path.stat().st_size > MAX_FILE_BYTES:
        raise _refuse(path, file_too_large(path.stat().st_size, MAX_FILE_BYTES))
    suffix = path.suffix.lower()
    if suffix not in RECORD_FILE_SUFFIXES:
        raise _refuse(path, f"CSV (.csv) か Parquet (.parquet) のファイルを指定してください "
                            f"({path.suffix or '拡張子なし'} は読めません)")
    _refuse_another_kind(path, suffix)
    arrow, names = _read_parquet(path, fields) if suffix != ".csv" else _read_csv(path, fields)
    if arrow.num_rows > MAX_ROWS:
        raise _refuse(path, too_many_rows(arrow.num_rows))
    # the record at position p (a CSV's blank line is a record) is row p + 2
    row_numbers = np.arange(HEADER_ROW + 1, HEADER_ROW + 1 + arrow.num_rows)
    limit = record_limit(table)
    if limit is not None and arrow.num_rows > limit[0]:
        # counted, blank rows aside, before a cell is converted: a contracts file of millions
        # of short rows would take GBs first
        records = row_numbers[~_blank_rows(arrow)]
        refuse_beyond(records, table, path.name, HEADER_ROW + 1, records)
    _refuse_early(arrow, path, row_numbers, RECORD_PARSERS[table],
                  misspelt_headers(names, fields, path.name, HEADER_ROW))
    release_freed_memory()  # what the parts' checks took, before the whole file is read
    table = _sheet_table(arrow, path, row_numbers)
    table.unread_headers = [name for name in names if name not in arrow.column_names]
    return table


def _blank_rows(arrow: Any) -> np.ndarray:
    """The rows whose cells are all empty (a CSV's blank lines), found in Arrow."""
    import pyarrow as pa

    empty = np.full(arrow.num_rows, arrow.num_columns > 0)  # no column read: no blank row
    for column in arrow.columns:
        if pa.types.is_dictionary(column.type):
            column = column.cast(column.type.value_type)
        empty &= blank_cells(column)
    return empty


# Cells a long file is checked by, a part of its rows at a time, before it is read whole: a
# file wrong on millions of short rows (50 MB of them) is refused at the part where the
# problems listed are found, in the memory of that part (~100 bytes a cell of text), not in
# that of the whole file's records.
CHECKED_CELLS = 2_000_000


def _refuse_early(arrow: Any, path: Path, row_numbers: np.ndarray, parse: Callable[..., Any],
                  header_problems: list[Problem]) -> None:
    """Check a file of more than CHECKED_CELLS cells part by part, and refuse it as soon as its
    parts hold as many problems as are listed, naming them (after ``header_problems``, which
    are named whatever the rows hold), counting the others found so far and saying how far
    it was checked. A file with fewer problems is then read and checked whole (the checks
    across rows, such as a value repeated in two parts, are made there)."""
    part_rows = max(1, CHECKED_CELLS // max(1, arrow.num_columns))
    if arrow.num_rows <= part_rows:
        return
    found = ListedProblems(path.name)
    checked = 0
    header_problems = list(header_problems)
    while checked < arrow.num_rows and found.room():
        part = _sheet_table(arrow.slice(checked, part_rows), path,
                            row_numbers[checked:checked + part_rows])
        try:
            parse(part.header, part.rows, path.name, HEADER_ROW + 1, part.row_numbers)
        except InputError as exc:
            for problem in exc.problems:
                if problem.field == MORE_FIELD:
                    found.count_more(problem.value)
                elif problem.row == HEADER_ROW:  # the same in every part: named once
                    if not checked:
                        header_problems.append(problem)
                elif found.has_room():
                    found.listed.append(problem)
        checked = min(checked + part_rows, arrow.num_rows)
    if found.room() and not header_problems:
        return
    if found.room():  # the header is refused: the whole file is not read for checks across rows
        how_far = (f"見出しに問題があるため、すべての行を {part_rows:,} 行ずつ確かめました。行を"
                   "またがる確認 (同じ値の重複など) は見出しを直したあとにします")
    elif checked < arrow.num_rows:
        how_far = (f"問題が多いため、{row_numbers[checked - 1]:,} 行目まで ({part_rows:,} 行ずつ) "
                   "確かめたところでやめました。残りの行と、行をまたがる確認 (同じ値の重複など) は"
                   "まだしていません")
    else:
        how_far = (f"問題が多いため、すべての行を {part_rows:,} 行ずつ確かめました。行をまたがる"
                   "確認 (同じ値の重複など) はまだしていません")
    raise InputError([*header_problems, *sorted(found.listed, key=lambda p: p.row or 0),
                      *found.counted(), Problem(None, STOPPED_FIELD, None, how_far, path.name)])


# What a file begins with, by what it is (a CSV begins with its header's text)
PARQUET_MAGIC = b"PAR1"
ZIP_MAGIC = b"PK\x03\x04"  # a workbook (xlsx, xlsm) is a zip package


def _refuse_another_kind(path: Path, suffix: str) -> None:
    """An empty file, or one whose first bytes say it is not what its name says: each named
    in the clerk's terms (Arrow's own words are English, and an xlsx renamed .csv read as
    text whose encoding is neither UTF-8 nor Shift_JIS)."""
    with path.open("rb") as handle:
        start = handle.read(4)
    if not start:
        raise _refuse(path, "ファイルが空です (0 バイト)")
    if start == ZIP_MAGIC:
        raise _refuse(path, "Excel のブック (xlsx) か zip ファイルです。CSV で保存し直すか、"
                            "ブックのシートとして読ませてください")
    if suffix == ".csv" and start == PARQUET_MAGIC:
        raise _refuse(path, "Parquet ファイルです。拡張子を .parquet にしてください")
    if suffix != ".csv" and start != PARQUET_MAGIC:
        raise _refuse(path, "Parquet ファイルではありません (先頭が PAR1 ではありません)。"
                            "CSV なら拡張子を .csv にしてください")


def _csv_encoding(path: Path) -> tuple[str, str] | None:
    """The CSV's encoding (Arrow's name, Python's): UTF-8 when the whole file is UTF-8, else
    Excel's Japanese CSV (cp932) when the whole file is that; None when it is neither.
    Decoded a block at a time: a file whose first megabytes are ASCII may be either."""
    for arrow_name, python_name in (("utf8", "utf-8-sig"), ("cp932", "cp932")):
        decoder = codecs.getincrementaldecoder(python_name)()
        read = 0  # bytes decoded before the block being decoded
        try:
            with path.open("rb") as handle:
                while block := handle.read(CSV_BLOCK):
                    decoder.decode(block)
                    read += len(block)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError as exc:
            if python_name == "utf-8-sig":
                _refuse_mixed_encodings(path, read + exc.start)
            continue
        return arrow_name, python_name
    return None


def _refuse_mixed_encodings(path: Path, bad: int) -> None:
    """Refuse a CSV that is UTF-8 with Japanese text up to a line that is not (rows pasted or
    appended from a Shift_JIS file): read as Shift_JIS, every UTF-8 name would come out
    garbled on the invoices. A Shift_JIS file breaks UTF-8 at its first Japanese text, so
    whole lines of valid UTF-8 Japanese before the bad byte (or a UTF-8 byte-order mark)
    tell the mix: kana or kanji, three bytes each in UTF-8 — two half-width kana of Shift_JIS
    may happen to read as one UTF-8 character of two bytes, never as Japanese."""
    lines, utf8_text, line = 0, False, b""  # lines before ``bad``, and the one it is on
    with path.open("rb") as handle:
        while bad > 0 and (block := handle.read(min(CSV_BLOCK, bad))):
            if not lines and not line and block.startswith(codecs.BOM_UTF8):
                utf8_text = True
            bad -= len(block)
            done, newline, line = (line + block).rpartition(b"\n")
            if newline:
                lines += done.count(b"\n") + 1
                utf8_text = utf8_text or (not done.isascii() and JAPANESE.search(
                    done.decode("utf-8", "replace")) is not None)
    if utf8_text:
        raise _refuse(path, f"{lines + 1} 行目から文字コードが変わっています (それより前は "
                            "UTF-8、この行はそうではありません)。ファイル全体を UTF-8 で保存し直して"
                            "ください")


def _wanted(names: Sequence[str], fields: Sequence[Field], path: Path) -> list[str]:
    """The file's columns whose header names a field; a field named twice is refused before the
    values are read (``duplicated_headers``): Arrow cannot pick a column by a name two columns
    bear, and a CSV whose header gained a name reads as rows one field short."""
    known = {f.name for f in fields}
    wanted = [name for name in names if normalize_text(name) in known]
    problems = duplicated_headers(wanted, path.name, HEADER_ROW)
    if problems:
        raise InputError(problems)
    return wanted


def _unreadable_columns(path: Path, columns: Any) -> list[Problem]:
    """The Parquet columns (Arrow fields) of a type no workbook cell holds a value of, one
    problem each. Such a value converted to a number or text would be read as another: a
    duration counts its unit (5 minutes stored in seconds is 300), bytes read as "b'5'"."""
    return [Problem(None, column.name, str(column.type), _unreadable_type(column.type),
                    path.name)
            for column in columns if not _readable_type(column.type)]


def _readable_type(kind: Any) -> bool:
    """Numbers, dates and timestamps, booleans, text, or a column holding no value at all."""
    import pyarrow as pa

    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    return any(test(kind) for test in (
        pa.types.is_integer, pa.types.is_floating, pa.types.is_decimal, pa.types.is_boolean,
        pa.types.is_date, pa.types.is_timestamp, pa.types.is_string, pa.types.is_large_string,
        pa.types.is_string_view, pa.types.is_null))


def _unreadable_type(kind: Any) -> str:
    import pyarrow as pa

    reason = ("この型の列は読めません。数値・日付・真偽値・文字列のどれかの型の列にして書き出して"
              "ください")
    if pa.types.is_duration(kind):  # what pandas writes for a Timedelta column
        return (f"{reason} (時間の長さ (duration) は単位の数で保存されていて、分として読めません。"
                "分の数を整数の列にしてください)")
    return reason


def _read_parquet(path: Path, fields: Sequence[Field]) -> tuple[Any, list[str]]:
    """The Parquet file's columns that name a field, as an Arrow table, and every column's
    name."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        source = pq.ParquetFile(path)
        metadata = source.metadata
        if metadata.num_columns > MAX_PARQUET_COLUMNS:
            raise _refuse(path, f"列が多すぎます ({metadata.num_columns:,} 列。上限は "
                                f"{MAX_PARQUET_COLUMNS:,} 列)")
        if metadata.num_row_groups > MAX_ROW_GROUPS:
            raise _refuse(path, f"行グループが多すぎます ({metadata.num_row_groups:,}。上限は "
                                f"{MAX_ROW_GROUPS:,})。行グループを大きくして書き出してください")
        # the rows the groups hold, not the footer's total, which a file may state falsely
        rows = [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)]
        if any(count < 0 for count in rows) or sum(rows) != metadata.num_rows:
            raise _refuse(path, "Parquet ファイルとして読めません (行数の記録が食い違っています)")
        if metadata.num_rows > MAX_ROWS:
            raise _refuse(path, too_many_rows(metadata.num_rows))
        schema = source.schema_arrow
        columns = _wanted(schema.names, fields, path)
        problems = _unreadable_columns(path, [schema.field(name) for name in columns])
        if problems:
            raise InputError(problems)
        stored = sum(group.column(i).total_uncompressed_size
                     for group in map(metadata.row_group, range(metadata.num_row_groups))
                     for i in range(group.num_columns)
                     if group.column(i).path_in_schema in columns)
        if stored > MAX_DATA_BYTES:
            raise _refuse(path, f"読む列を展開すると {stored:,} バイトになります (上限 "
                                f"{MAX_DATA_BYTES:,} バイト)")
        texts = [name for name in columns
                 if pa.types.is_string(schema.field(name).type)
                 or pa.types.is_large_string(schema.field(name).type)]
        # Text stays dictionary-encoded until its decoded size is known to be bounded.
        table = pq.read_table(path, columns=columns, read_dictionary=texts) if columns \
            else pa.table({})
        for name in texts:
            if _decoded_bytes(table.column(name)) > MAX_DATA_BYTES:
                raise _refuse(path, f"列 {name} の文字が多すぎます ({MAX_DATA_BYTES:,} バイト超)")
        return table, list(schema.names)
    except InputError:
        raise
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise _refuse(path, f"Parquet ファイルとして読めません ({exc})") from None


def _decoded_bytes(column: Any) -> int:
    """The bytes a dictionary-encoded text column takes once decoded (each chunk's indices
    weighed by the length of the value they point at)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    total = 0
    for chunk in column.chunks:
        if pa.types.is_dictionary(chunk.type):
            lengths = pc.binary_length(chunk.dictionary)
            total += pc.sum(pc.take(lengths, chunk.indices)).as_py() or 0
        else:
            total += pc.sum(pc.binary_length(chunk)).as_py() or 0
    return total


def _read_csv(path: Path, fields: Sequence[Field]) -> tuple[Any, list[str]]:
    """The CSV's columns that name a field, as an Arrow table, and every column's name."""
    import csv as text_csv

    import pyarrow as pa

    found = _csv_encoding(path)
    if found is None:
        raise _refuse(path, "文字コードが UTF-8 でも Shift_JIS (cp932) でもありません。UTF-8 か "
                            "Shift_JIS で保存し直してください")
    encoding, python_encoding = found
    try:
        with path.open(encoding=python_encoding, newline="") as handle:
            names = next(text_csv.reader(handle), [])
        if not any(name.strip() for name in names):  # a BOM, blank lines or spaces alone
            raise _refuse(path, "見出しの行がありません (1 行目が空です)")
        columns = _wanted(names, fields, path)
        if not columns:  # Arrow would read every column: nothing is read, the header refused
            return pa.table({}), names
        _refuse_many_blank_lines(path, encoding, columns[0])
        misshapen = _MisshapenRows(path, listing=False)  # the first one stops the read
        table = _read_unless_misshapen(path, encoding, columns, misshapen, numbered=False)
        if table is None:
            # Arrow tells a row's number only when it reads on one thread: the file is read
            # again so, up to the rows listed (only for a file refused anyway).
            misshapen = _MisshapenRows(path, listing=True)
            _read_unless_misshapen(path, encoding, columns, misshapen, numbered=True)
            raise InputError(misshapen.problems())
        return table, names
    except (pa.ArrowException, OSError, text_csv.Error) as exc:
        raise _refuse(path, _csv_refusal(exc)) from None


# A blank line is a byte of the file and a row of every column read in Arrow (~100 bytes at
# 24 columns): a file of millions of them took GBs. An export has a few.
MAX_BLANK_LINES = 1_000_000
COUNTED_BLOCK = 2**20


def _refuse_many_blank_lines(path: Path, encoding: str, column: str) -> None:
    """Refuse a CSV of more than MAX_BLANK_LINES blank lines before Arrow reads its columns.
    The line breaks are counted first, a block at a time; where they may pass the limit, the
    blank lines are counted as Arrow reads the file (one column, with and without them): a
    line break inside a quoted value (a description's paragraphs) is no blank line."""
    import pyarrow as pa

    doubled, tail = 0, b""
    with path.open("rb") as handle:
        while block := handle.read(CSV_BLOCK):
            doubled += _line_breaks_doubled(tail + block) - _line_breaks_doubled(tail)
            tail = block[-3:]  # a pair across two blocks is counted once
    if doubled <= MAX_BLANK_LINES:
        return
    try:
        blank = (_rows_read(path, encoding, column, with_blank_lines=True)
                 - _rows_read(path, encoding, column, with_blank_lines=False))
    except pa.ArrowInvalid:  # a record longer than a counted block: blank lines untold
        blank = doubled
    if blank > MAX_BLANK_LINES:
        raise _refuse(path, f"空の行が多すぎます ({blank:,} 行。{MAX_BLANK_LINES:,} 行まで)。"
                            "空の行を除いて保存し直してください")


def _rows_read(path: Path, encoding: str, column: str, with_blank_lines: bool) -> int:
    """The rows Arrow reads from the CSV (one column of them, misshapen rows skipped)."""
    import pyarrow as pa
    import pyarrow.csv as csv

    # A block at a time, its rows counted, then let go; small blocks, as Arrow keeps ~100
    # bytes a line of the block it parses (a record longer than a block is refused later).
    reader = csv.open_csv(
        path, read_options=csv.ReadOptions(encoding=encoding, block_size=COUNTED_BLOCK),
        parse_options=csv.ParseOptions(invalid_row_handler=lambda row: "skip",
                                       newlines_in_values=True,
                                       ignore_empty_lines=not with_blank_lines),
        convert_options=csv.ConvertOptions(include_columns=[column],
                                           column_types={column: pa.string()}))
    return sum(batch.num_rows for batch in reader)


def _line_breaks_doubled(data: bytes) -> int:
    """The line breaks (LF, CR or CRLF) that end a line right after another: blank lines."""
    codes = np.frombuffer(data, np.uint8)
    lf, cr = codes == 0x0A, codes == 0x0D
    crlf = cr[:-1] & lf[1:]
    lone_lf = lf.copy()
    lone_lf[1:] &= ~cr[:-1]
    return int(np.count_nonzero(lf[:-1] & lf[1:]) + np.count_nonzero(cr[:-1] & cr[1:])
               + np.count_nonzero(crlf[:-2] & crlf[2:])
               + np.count_nonzero(lone_lf[:-2] & crlf[1:]))


def _read_unless_misshapen(path: Path, encoding: str, columns: list[str],
                           misshapen: _MisshapenRows, numbered: bool) -> Any:
    """``_arrow_csv``, or None where ``misshapen`` stopped the read."""
    import pyarrow as pa

    try:
        return _arrow_csv(path, encoding, columns, misshapen, numbered)
    except pa.ArrowInvalid:
        if misshapen.stopped:
            return None
        raise


# Arrow's and Python's words for a CSV they cannot read, in the clerk's terms
CSV_REFUSALS = (
    ("straddl", f"1 行 (1 件の記録) が {CSV_BLOCK // 2**20} MB を超えています。行の区切りや "
                "\"…\" の閉じ忘れがないか確かめてください"),
    ("cannot infer number of columns", f"見出しの行が {CSV_BLOCK // 2**20} MB を超えています"),
    ("field larger than field limit", "見出しのセルが長すぎます (131,072 文字まで)"),
)


def _csv_refusal(exc: Exception) -> str:
    text = str(exc)
    for words, reason in CSV_REFUSALS:
        if words in text:
            return reason
    return f"CSV として読めません ({text})"


def _arrow_csv(path: Path, encoding: str, columns: list[str], misshapen: _MisshapenRows,
               numbered: bool) -> Any:
    """The CSV's ``columns`` as Arrow text columns; rows with another number of fields than
    the header go to ``misshapen``, with their row numbers if ``numbered`` (on one thread)."""
    import pyarrow as pa
    import pyarrow.csv as csv

    return csv.read_csv(
        path, read_options=csv.ReadOptions(encoding=encoding, block_size=CSV_BLOCK,
                                           use_threads=not numbered),
        # A quoted value may hold line breaks (a ticket's description): without this, Arrow
        # cuts the file into blocks at any line break and loses its place in such a value.
        parse_options=csv.ParseOptions(invalid_row_handler=misshapen, newlines_in_values=True,
                                       ignore_empty_lines=False),  # a blank line is a row
        convert_options=csv.ConvertOptions(
            include_columns=columns, column_types=dict.fromkeys(columns, pa.string()),
            null_values=[""], strings_can_be_null=True, quoted_strings_can_be_null=True))


class _MisshapenRows:
    """Arrow's handler of CSV rows with another number of fields than the header: each is
    skipped and named, by its row number where Arrow knows it (a record spanning several lines
    is one row, as in the rest of the file's rows). It stops the read at the first row past
    the problems listed (at the first row at all, unless ``listing``): counting every such row
    of a file wrong on millions of them would cost a call each."""

    def __init__(self, path: Path, listing: bool) -> None:
        self.path = path
        self.listing = listing
        self.found = ListedProblems(path.name)
        self.stopped = False

    def __call__(self, row: Any) -> str:
        if not self.listing or not self.found.room():
            self.stopped = True
            return "error"  # Arrow stops reading (ArrowInvalid)
        # Quoted by whole characters (Arrow's own message cut one in the middle).
        text = row.text if len(row.text) <= SHOWN_ROW_CHARS else cut_short(row.text)
        self.found.listed.append(Problem(row.number, ROW_FIELD, text, (
            f"項目の数が見出しと違います (見出しは {row.expected_columns} 列、この行は "
            f"{row.actual_columns} 項目: {shown(text)})。コンマ (,) や改行を含む値は "
            '"…" で囲んでください'), self.path.name))
        return "skip"

    def problems(self) -> list[Problem]:
        """The rows listed, and one more problem where the read stopped past them."""
        if not self.stopped:
            return self.found.listed
        return [*self.found.listed, Problem(None, STOPPED_FIELD, None, (
            f"ほかにも項目の数が見出しと違う行があります (最初の {len(self.found.listed):,} 行を"
            "挙げたところで読むのをやめました)。上の行を直してから、もう一度実行してください"),
            self.path.name)]


def _sheet_table(arrow: Any, path: Path, row_numbers: np.ndarray) -> SheetTable:
    """Arrow columns as the records parser takes them: typed numpy columns, object columns
    (with the cells a workbook could not hold named) where a column needs a closer look.
    Raises InputError naming the file and column where Arrow cannot convert a column."""
    import pyarrow as pa

    empty = _blank_rows(arrow)
    if empty.any():  # a blank line (or fields all empty) is skipped as a sheet's blank row is,
        keep = ~empty  # and counted: the rows after it keep the numbers the file shows
        arrow, row_numbers = arrow.filter(pa.array(keep)), row_numbers[keep]
    rows = arrow.num_rows
    arrays, blanks, plain, only_values = [], [], [], []
    for name, column in zip(arrow.column_names, arrow.columns, strict=True):
        if pa.types.is_dictionary(column.type):  # each row group has a dictionary of its own
            column = pa.chunked_array([chunk.dictionary_decode() for chunk in column.chunks],
                                      type=column.type.value_type)
        try:
            array, blank, is_plain = _column(column.combine_chunks())
        except pa.ArrowException as exc:  # e.g. a time zone Arrow does not know
            raise InputError([Problem(None, name, str(column.type), (
                f"この列の値を読めません ({exc})"), path.name)]) from None
        arrays.append(array)
        blanks.append(blank)
        plain.append(is_plain)
        # Typed columns were checked; text is looked at cell by cell (length, unusable cells).
        only_values.append(array.dtype.kind != "O")
    block = ColumnBlock(tuple(arrays), tuple(blanks), rows, tuple(plain), (),
                        tuple(only_values))
    return SheetTable(list(arrow.column_names), block, row_numbers, 1)


def _column(column: Any) -> tuple[np.ndarray, np.ndarray, bool]:
    """One column as numpy, its blank cells, and whether it is plain text."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_dictionary(column.type):
        column = column.dictionary_decode()
    if pa.types.is_timestamp(column.type):
        column = _local_milliseconds(column)
    kind = column.type
    blank = blank_cells(column)
    if pa.types.is_integer(kind):
        inexact = _inexact_integers(column)
        if inexact is not None:  # named cell by cell, as a number a workbook cannot hold
            return _integers_named(column, inexact, blank), blank, False
    if pa.types.is_floating(kind) and pc.any(pc.invert(pc.is_finite(
            pc.fill_null(column, 0.0)))).as_py():
        values = column.to_numpy(zero_copy_only=False).astype(object)
        finite = np.isfinite(np.asarray(column.fill_null(0.0)))
        values[~finite] = [not_finite(float(v)) for v in values[~finite]]
        values[blank] = None
        return values, blank, False
    if pa.types.is_timestamp(kind) or pa.types.is_date(kind):
        stamps = column.cast(pa.timestamp("ms")).to_numpy(zero_copy_only=False)
        outside = ~blank & ((stamps < FIRST_DATE) | (stamps >= LAST_DATE))
        if outside.any():  # named cell by cell, as a date a workbook cannot hold
            values = stamps.astype(object)
            values[outside] = [UnusableCell(day, NOT_AN_EXCEL_DATE)  # the whole date
                               for day in np.datetime_as_string(stamps[outside], unit="D")]
            values[blank] = None
            return values, blank, False
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        longest = pc.max(pc.utf8_length(column)).as_py()
        if longest is not None and longest > EXCEL_MAX_TEXT:  # named cell by cell
            return column.to_numpy(zero_copy_only=False), blank, False
    if pa.types.is_decimal(kind):  # other types no cell holds were refused with the schema
        # a value past EXACT_INTEGER either way is named as written (a float64 holds another)
        inexact = np.asarray(pc.fill_null(pc.greater(pc.abs(column), EXACT_INTEGER), False))
        if inexact.any():
            return _integers_named(column, inexact, blank), blank, False
        values = column.cast(pa.float64())
        return values.to_numpy(zero_copy_only=False).astype(object), blank, False
    array, plain = column_to_numpy(column)
    return array, blank, plain


def _local_milliseconds(column: Any) -> Any:
    """A timestamp column as the wall-clock times it was recorded at, to the millisecond (the
    dates are what is read). A time zone's timestamps are stored in UTC: 08:30 on the 1st in
    Tokyo is 23:30 on the day before, whose date would bill the incident in another month. A
    fraction of a millisecond (pandas writes nanoseconds) is dropped, not refused by the cast."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if column.type.tz is not None:
        column = pc.local_timestamp(column)
    if column.type.unit in ("us", "ns"):
        column = pc.floor_temporal(column, unit="millisecond")
    return column.cast(pa.timestamp("ms"))


def _inexact_integers(column: Any) -> np.ndarray | None:
    """Where a 64-bit integer column holds a value past EXACT_INTEGER either way (a float64
    would hold another number), or None where it holds none."""
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = column.type
    if kind.bit_width < 64:
        return None
    beyond = pc.greater(column, pa.scalar(EXACT_INTEGER, kind))
    if pa.types.is_signed_integer(kind):
        beyond = pc.or_(beyond, pc.less(column, pa.scalar(-EXACT_INTEGER, kind)))
    beyond = beyond.fill_null(False)
    return beyond.to_numpy(zero_copy_only=False) if pc.any(beyond).as_py() else None


def _integers_named(column: Any, inexact: np.ndarray, blank: np.ndarray) -> np.ndarray:
    """The integer (or decimal) column as objects: floats where exact, the others named as
    written (``inexact``)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    exact = pc.if_else(pa.array(inexact), pa.scalar(0, column.type), column)
    values = exact.cast(pa.float64()).to_numpy(zero_copy_only=False).astype(object)
    values[inexact] = [UnusableCell(str(v), INEXACT_INTEGER)
                       for v in column.filter(pa.array(inexact)).to_pylist()]
    values[blank] = None
    return values


__all__ = ["RECORD_FILE_SUFFIXES", "read_record_file"]
