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
dates, timestamps, booleans, text); NaN and infinities are named; a column of another type
than its field takes is converted value by value, as text typed into a number column would be.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..engine.codes import normalize_text
from ..engine.columns import EXCEL_MAX_TEXT, UnusableCell
from ..engine.errors import FILE_FIELD, RECORD_FILE_SUFFIXES, InputError, Problem
from ..engine.messages import FILE_NOT_FOUND, file_too_large
from ..engine.records import SHEETS, ColumnBlock, Field
from .cells import NOT_AN_EXCEL_DATE, not_finite
from .sheet_table import SheetTable
from .typed_reader import FIRST_DATE, LAST_DATE, blank_cells, column_to_numpy

MAX_FILE_BYTES = 4 * 2**30
MAX_ROWS = 20_000_000  # far beyond a month of any customer base here; bounds the memory
MAX_DATA_BYTES = 4 * 2**30  # a Parquet file's columns read, unpacked (compression bombs)
CSV_BLOCK = 16 * 2**20


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
    arrow = _read_parquet(path, fields) if suffix != ".csv" else _read_csv(path, fields)
    if arrow.num_rows > MAX_ROWS:
        raise _refuse(path, too_many_rows(arrow.num_rows))
    return _sheet_table(arrow)


def _wanted(names: Sequence[str], fields: Sequence[Field]) -> list[str]:
    """The file's columns whose header names a field (a second one too: the parser reports it)."""
    known = {f.name for f in fields}
    return [name for name in names if normalize_text(name) in known]


def _read_parquet(path: Path, fields: Sequence[Field]) -> Any:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        source = pq.ParquetFile(path)
        metadata = source.metadata
        if metadata.num_rows > MAX_ROWS:
            raise _refuse(path, too_many_rows(metadata.num_rows))
        columns = _wanted(source.schema_arrow.names, fields)
        stored = sum(group.column(i).total_uncompressed_size
                     for group in map(metadata.row_group, range(metadata.num_row_groups))
                     for i in range(group.num_columns)
                     if group.column(i).path_in_schema in columns)
        if stored > MAX_DATA_BYTES:
            raise _refuse(path, f"読む列を展開すると {stored:,} バイトになります (上限 "
                                f"{MAX_DATA_BYTES:,} バイト)")
        texts = [name for name in columns
                 if pa.types.is_string(source.schema_arrow.field(name).type)
                 or pa.types.is_large_string(source.schema_arrow.field(name).type)]
        # Text stays dictionary-encoded until its decoded size is known to be bounded.
        table = pq.read_table(path, columns=columns, read_dictionary=texts) if columns \
            else pa.table({})
        for name in texts:
            if _decoded_bytes(table.column(name)) > MAX_DATA_BYTES:
                raise _refuse(path, f"列 {name} の文字が多すぎます ({MAX_DATA_BYTES:,} バイト超)")
        return table
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


def _read_csv(path: Path, fields: Sequence[Field]) -> Any:
    import csv as text_csv

    import pyarrow as pa
    import pyarrow.csv as csv

    for encoding, python_encoding in (("utf8", "utf-8-sig"), ("cp932", "cp932")):
        try:
            with path.open(encoding=python_encoding, newline="") as handle:
                names = next(text_csv.reader(handle), [])
            columns = _wanted(names, fields)
            return csv.read_csv(
                path, read_options=csv.ReadOptions(encoding=encoding, block_size=CSV_BLOCK),
                convert_options=csv.ConvertOptions(
                    include_columns=columns, column_types=dict.fromkeys(columns, pa.string()),
                    null_values=[""], strings_can_be_null=True, quoted_strings_can_be_null=True))
        except UnicodeDecodeError:
            continue  # not UTF-8: Excel's Japanese CSV
        except (pa.ArrowException, OSError, text_csv.Error) as exc:
            raise _refuse(path, f"CSV として読めません ({exc})") from None
    raise _refuse(path, "文字コードが UTF-8 でも Shift_JIS (cp932) でもありません。UTF-8 か "
                        "Shift_JIS で保存し直してください")


def _sheet_table(arrow: Any) -> SheetTable:
    """Arrow columns as the records parser takes them: typed numpy columns, object columns
    (with the cells a workbook could not hold named) where a column needs a closer look."""
    rows = arrow.num_rows
    arrays, blanks, plain, only_values = [], [], [], []
    import pyarrow as pa

    for column in arrow.columns:
        if pa.types.is_dictionary(column.type):  # each row group has a dictionary of its own
            column = pa.chunked_array([chunk.dictionary_decode() for chunk in column.chunks],
                                      type=column.type.value_type)
        array, blank, is_plain = _column(column.combine_chunks())
        arrays.append(array)
        blanks.append(blank)
        plain.append(is_plain)
        # Typed columns were checked; text is looked at cell by cell (length, unusable cells).
        only_values.append(array.dtype.kind != "O")
    block = ColumnBlock(tuple(arrays), tuple(blanks), rows, tuple(plain), (),
                        tuple(only_values))
    return SheetTable(list(arrow.column_names), block, np.arange(2, rows + 2), 1)


def _column(column: Any) -> tuple[np.ndarray, np.ndarray, bool]:
    """One column as numpy, its blank cells, and whether it is plain text."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_dictionary(column.type):
        column = column.dictionary_decode()
    kind = column.type
    blank = blank_cells(column)
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
            values[outside] = [UnusableCell(str(v)[:10], NOT_AN_EXCEL_DATE)
                               for v in stamps[outside]]
            values[blank] = None
            return values, blank, False
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        longest = pc.max(pc.utf8_length(column)).as_py()
        if longest is not None and longest > EXCEL_MAX_TEXT:  # named cell by cell
            return column.to_numpy(zero_copy_only=False), blank, False
    if pa.types.is_time(kind) or pa.types.is_duration(kind) or pa.types.is_decimal(kind):
        values = column.cast(pa.string()) if not pa.types.is_decimal(kind) else \
            column.cast(pa.float64())
        return values.to_numpy(zero_copy_only=False).astype(object), blank, False
    array, plain = column_to_numpy(column)
    return array, blank, plain


__all__ = ["RECORD_FILE_SUFFIXES", "read_record_file"]
