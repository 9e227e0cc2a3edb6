"""The fast path for big sheets: fastexcel parses a sheet in Rust straight into typed Arrow
columns (numbers, dates, booleans, text), with no Python object per cell.

It is taken only when it gives the records parser exactly what the cell-by-cell reader would:
the guard's survey found the sheet plain (no formula, no cell placed implicitly or far away),
its XML is laid out as fastexcel and lxml read it alike (``sheet_layout``, checked while
fastexcel reads), every column read holds one kind of cell over all its rows (fastexcel's
strict type check),
no cell is an error value, NaN or infinite, a date Excel cannot show or text longer than a cell
holds, the header is plain, and the sheet's first row is known. Anything else (a stray text
cell in a number column, a duplicated header, ...) returns None, and the caller reads that
sheet cell by cell, which names every bad cell exactly. Only the columns whose header names a
field are converted: the others are not read, whatever they hold.

fastexcel is given the sheet in bands of rows (``row_bands``), two read at once, each only
once the layout check has passed its rows: calamine's dense grid then never holds more than a
band, whatever the sheet holds.
"""

from __future__ import annotations

import logging
import queue
import re
import tempfile
import threading
import zipfile
import zlib  # zipfile inflates with the standard zlib: its errors, not xlquote.deflate's
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from ..engine.codes import INVISIBLE, normalize_text
from ..engine.columns import CONTROL_CHARACTERS, EXCEL_MAX_TEXT, WHITESPACE, UnusableCell
from ..engine.errors import InputError
from ..engine.records import ColumnBlock, Field, misspelt_headers
from ..memory import release_freed_memory
from .cells import error_value, not_finite
from .guard import SurveyAlong, part_blocks
from .package import EXCEL_MAX_ROWS, MAIN_NS
from .row_bands import COMPANIONS, Band, write_bands
from .sheet_layout import plain_layout
from .sheet_table import SheetTable, check_text

# fastexcel logs a warning for every all-blank column ("Could not determine dtype"); such a
# column is simply blank here.
logging.getLogger("fastexcel").setLevel(logging.ERROR)

UNNAMED = "__UNNAMED__"
RENAMED_DUPLICATE = re.compile(r"(.+)_\d+")
DISTINCT_SAMPLE = 10_000
PARALLEL_CONVERSION_ROWS = 50_000  # fewer rows convert faster than a thread pool starts
LOADERS = 2  # bands read at once: fastexcel releases the GIL, so both cores parse
# Shared strings (XML bytes) past which one reader reads every band: each reader holds its own
# copy (a million distinct incident ids take ~25 MB of XML).
SHARED_STRINGS_FOR_TWO = 32 * 2**20


def _re2_class(characters: str) -> str:
    return "[" + "".join(f"\\x{{{ord(c):x}}}" for c in characters) + "]"


# A text cell the records parser would change (surrounding whitespace to strip, a text that
# shows nothing) or report (a control character), in the syntax of Arrow's regex engine (RE2).
NOT_PLAIN_TEXT = "|".join((
    f"^{_re2_class(WHITESPACE)}", f"{_re2_class(WHITESPACE)}$", _re2_class(INVISIBLE),
    _re2_class("".join(c for c in map(chr, range(128)) if CONTROL_CHARACTERS.match(c)))))


def open_reader(path: Path) -> Any:
    """fastexcel's reader of the workbook; None when it cannot open it (calamine parses the
    shared strings on opening, and refuses some the cell-by-cell reader names)."""
    import fastexcel

    try:
        return fastexcel.read_excel(str(path))
    except fastexcel.FastExcelError:
        return None


def read_typed_table(path: Path, sheet: str, part: str, fields: Sequence[Field],
                     survey: SurveyAlong | None = None) -> SheetTable | None:
    """The sheet (named ``sheet`` in problems, stored in ``part``) as typed columns, or None when
    only the cell-by-cell reader can be trusted. Raises InputError when its read columns hold
    more text than TEXT_BUDGET. ``survey``: the guard's survey of a deferred part, made along
    the layout check (the result is then used only where it settles the part)."""
    try:
        return _typed_table(path, sheet, part, fields, survey)
    finally:
        # Arrow's allocator keeps what it freed for its next arrays; the records parser that
        # comes next allocates elsewhere (a million rows' columns: ~250 MB).
        release_freed_memory()


def _typed_table(path: Path, sheet: str, part: str, fields: Sequence[Field],
                 survey: SurveyAlong | None) -> SheetTable | None:
    header_row = first_value_row(path, part)
    if header_row is None:
        return None
    names = {f.name for f in fields}
    # Checked beside fastexcel's read (both release the GIL): the sheet is read as lxml reads
    # it. A band is read only once the check has passed its rows: its cells are then in its
    # rows, so calamine's grid for it is as small as the band.
    checked = _CheckedSoFar()

    def check() -> bool:
        plain = False
        try:
            if survey is None:
                plain = plain_layout(part_blocks(path, part), checked.advance)
            else:  # one pass over the part: surveyed as the layout is checked
                plain = plain_layout(survey.blocks(), checked.advance, survey.charge) \
                    and survey.settle()
        finally:
            checked.finish(plain)
        return plain

    try:
        bands_folder = tempfile.TemporaryDirectory(prefix="xlquote-bands-",
                                                   ignore_cleanup_errors=True)
    except OSError:
        return None  # no temporary folder to write the bands in: read cell by cell
    with (ThreadPoolExecutor(max_workers=1, thread_name_prefix="xlquote-layout") as checking,
          bands_folder as folder):
        layout = checking.submit(check)
        headers: set[str] = set()
        try:
            loaded = _load_bands(path, sheet, part, header_row, Path(folder) / "bands.xlsx",
                                 names, checked, headers)
        except InputError:
            # Refused before the survey made along settled the sheet: the survey's own refusal
            # (raised by the check) comes first, and a sheet it does not settle goes cell by
            # cell, as when the survey ran first.
            if survey is None or layout.result():
                raise
            return None
        if not layout.result() or loaded is None:
            return None  # e.g. a row stored twice, which calamine would read as its last copy
    # What reading the bands freed (calamine's grids, in glibc's heaps; Arrow's band arrays,
    # joined) is handed back before the columns are converted: ~300 MB for a million rows.
    release_freed_memory()
    header, columns, unusable, row_numbers = loaded
    if not _plain_header(header, fields):
        return None
    if misspelt_headers(sorted(headers), fields, sheet, header_row):
        return None  # named by the cell-by-cell reader, as the cells hold the header
    # Cells holding no value (error values, NaN): named as the cell-by-cell reader names them.
    for found, column in zip(unusable, columns, strict=True):
        more = _not_values(column)
        if more is None or found is None:
            return None  # only the cell-by-cell reader can say what these cells are
        found.update(more)
    unique = {f.name for f in fields if f.unique}
    converted = _convert_columns(columns, [normalize_text(name) in unique for name in header])
    converted = [_with_unusable(c, cells) if cells else c
                 for c, cells in zip(converted, unusable, strict=True)]
    arrays = [c.array for c in converted]
    plain = tuple(c.plain for c in converted)
    distinct = tuple(c.distinct for c in converted)
    blanks = [c.blank for c in converted]
    only_values = tuple(not cells for cells in unusable)  # checked above, cell for cell
    keep = np.flatnonzero(~np.logical_and.reduce(blanks)) if blanks else np.arange(0)
    if len(keep) == len(row_numbers):  # no blank row to skip: no copies
        block = ColumnBlock(tuple(arrays), tuple(blanks), len(keep), plain, distinct,
                            only_values)
    else:
        block = ColumnBlock(tuple(a[keep] for a in arrays), tuple(b[keep] for b in blanks),
                            len(keep), plain, distinct, only_values)
    numbers = row_numbers[keep].tolist()
    return SheetTable(header, block, numbers, header_row)


class LoadedBands(NamedTuple):
    header: list[str]  # the names of the columns read
    columns: list[Any]  # Arrow arrays, all bands' rows
    unusable: list[dict[int, UnusableCell] | None]  # per column (``_error_values``)
    row_numbers: np.ndarray  # each row's number in the sheet


class _CheckedSoFar:
    """How far the layout check has found the sheet plain, for the band reads to wait on."""

    def __init__(self) -> None:
        self.changed = threading.Condition()
        self.bytes = 0  # from the part's start, found plain
        self.plain: bool | None = None  # the check's result, once it has one

    def advance(self, checked: int) -> None:
        with self.changed:
            self.bytes = checked
            self.changed.notify_all()

    def finish(self, plain: bool) -> None:
        with self.changed:
            self.plain = plain
            self.changed.notify_all()

    def wait_for(self, end: int) -> bool:
        """Wait until the part's bytes before ``end`` are found plain (True) or the sheet is
        found not plain (False)."""
        with self.changed:
            self.changed.wait_for(lambda: self.plain is not None or self.bytes >= end)
            return self.plain is not False


class _NotPlain(Exception):
    """The layout check failed before a band was read."""


def _load_bands(path: Path, sheet: str, part: str, header_row: int, target: Path,
                names: set[str], checked: _CheckedSoFar, headers: set[str] | None = None
                ) -> LoadedBands | None:
    """The sheet's columns whose header names a field, read by fastexcel band by band
    (``row_bands``), each once ``checked`` has passed it, LOADERS bands at once, and joined;
    None when a band cannot be read exactly (then the whole sheet could not: mixed kinds of
    cells in a column, a value fastexcel refuses, ...) or the sheet is not plain. Every
    column's header name, read or not, goes into ``headers``."""
    import fastexcel

    bands = write_bands(path, part, header_row, target)
    if bands is None:
        return None
    readers: queue.SimpleQueue[Any] = queue.SimpleQueue()
    for _ in range(min(_loaders(target), len(bands))):  # a reader reads one band at a time
        reader = open_reader(target)
        if reader is None:
            return None
        readers.put(reader)

    def load(band: Band) -> tuple[Band, Any, Any, dict[int, int]]:
        if not checked.wait_for(band.end):
            raise _NotPlain
        reader = readers.get()
        try:  # calamine's cells are freed as the loaded band goes, on return
            loaded = reader.load_sheet(band.sheet, schema_sample_rows=None,
                                       dtype_coercion="strict",
                                       use_columns=lambda column: _names_field(column.name, names))
            batch, errors = loaded.to_arrow_with_errors()
            if headers is not None:  # every band has the sheet's header
                headers.update(column.name for column in loaded.available_columns())
            return band, batch, errors, {column.index: i
                                         for i, column in enumerate(loaded.selected_columns)}
        finally:
            readers.put(reader)

    joined = _JoinedBands(sheet, names)
    with ThreadPoolExecutor(max_workers=LOADERS, thread_name_prefix="xlquote-bands") as loading:
        loads = [loading.submit(load, band) for band in bands]
        try:
            if not all(joined.add(*done.result()) for done in loads):
                return None
        except (fastexcel.FastExcelError, _NotPlain):
            return None
        except BaseException as exc:  # a Rust panic (pyo3's PanicException is a BaseException)
            if type(exc).__module__.startswith(("pyo3", "fastexcel", "_fastexcel")):
                return None
            raise
        finally:
            for waiting in loads:
                waiting.cancel()
    return joined.result()


def _loaders(banded: Path) -> int:
    """LOADERS, or one where each reader would hold big shared strings (calamine parses them
    for each reader it opens)."""
    with zipfile.ZipFile(banded) as archive:
        strings = archive.NameToInfo.get(COMPANIONS["sharedStrings"])
    return LOADERS if strings is None or strings.file_size <= SHARED_STRINGS_FOR_TWO else 1


class _JoinedBands:
    """The bands' typed columns, added in order."""

    def __init__(self, sheet: str, names: set[str]) -> None:
        self.sheet = sheet
        self.names = names  # the fields' names: the columns whose text is counted
        self.text = 0  # UTF-8 bytes of text in the columns read (TEXT_BUDGET)
        self.header: list[str] | None = None
        self.pieces: list[list[Any]] = []  # per column: its Arrow array in each band
        self.unusable: list[dict[int, UnusableCell] | None] = []
        self.row_numbers: list[np.ndarray] = []
        self.rows = 0

    def add(self, band: Band, batch: Any, errors: Any, positions: dict[int, int]) -> bool:
        """False when the band cannot join the others (another header, past Excel's grid);
        raises InputError past TEXT_BUDGET."""
        import pyarrow as pa
        import pyarrow.compute as pc

        # Counted as the cell-by-cell reader counts: the columns whose header names a field (not
        # a second header of one, which sends the sheet cell by cell, nor "description_2").
        self.text += sum(pc.sum(pc.binary_length(column)).as_py() or 0
                         for name, column in zip(batch.schema.names, batch.columns, strict=True)
                         if normalize_text(name) in self.names and (
                             pa.types.is_string(column.type)
                             or pa.types.is_large_string(column.type)))
        check_text(self.sheet, self.text)
        if self.header is None:
            self.header = list(batch.schema.names)
            self.pieces = [[] for _ in self.header]
            self.unusable = [{} for _ in self.header]
        elif list(batch.schema.names) != self.header:
            return False
        if band.header_row + batch.num_rows > EXCEL_MAX_ROWS:
            return False
        found = _error_values(errors.errors if errors is not None else [], positions,
                              len(self.header))
        for i, cells in enumerate(found):
            before = self.unusable[i]
            self.unusable[i] = None if cells is None or before is None else {
                **before, **{self.rows + row: cell for row, cell in cells.items()}}
            self.pieces[i].append(batch.column(i))
        self.row_numbers.append(np.arange(band.header_row + 1,
                                          band.header_row + 1 + batch.num_rows))
        self.rows += batch.num_rows
        return True

    def result(self) -> LoadedBands | None:
        columns = []
        while self.pieces:  # each column's bands freed as it is joined
            columns.append(_joined(self.pieces.pop(0)))
        if self.header is None or any(column is None for column in columns):
            return None
        return LoadedBands(self.header, columns, self.unusable, np.concatenate(self.row_numbers))


def _joined(chunks: list[Any]) -> Any | None:
    """One column's bands as one Arrow array; None when they hold different kinds of cell
    (the whole sheet would have failed fastexcel's strict type check too). Numbers are always
    float64 (calamine reads every number of an xlsx as a float)."""
    import pyarrow as pa

    if len(chunks) == 1:
        return chunks[0]
    # A band where the column is all blank has no kind: fastexcel calls it text, or null when
    # the band has no row (only its header). All blank in every band: text, as read whole.
    kinds = {chunk.type for chunk in chunks if chunk.null_count < len(chunk)}
    if len(kinds) > 1:
        return None
    kind = next(iter(kinds), None) or next(
        (chunk.type for chunk in chunks if not pa.types.is_null(chunk.type)), pa.null())
    return pa.concat_arrays([chunk.cast(kind) for chunk in chunks])


# Excel's dates: serial 0 (shown as 1900-01-00, read as 1899-12-31) to 9999-12-31.
FIRST_DATE, LAST_DATE = np.datetime64("1899-12-31", "ms"), np.datetime64("10000-01-01", "ms")


# calamine's names of Excel's error values (CellErrorType), as fastexcel reports them.
ERROR_NAMES = {"NA": "#N/A", "Value": "#VALUE!", "Ref": "#REF!", "Name": "#NAME?",
               "Num": "#NUM!", "Div0": "#DIV/0!", "Null": "#NULL!",
               "GettingData": "#GETTING_DATA"}
ERROR_DETAIL = re.compile(r"got 'Error\((\w+)\)'$")


def _error_values(errors: Sequence[Any], positions: dict[int, int], width: int
                  ) -> list[dict[int, UnusableCell] | None]:
    """Per column read: data row → the error value fastexcel found there (read as null), or
    None for a column with a cell it reports that is not an error value."""
    found: list[dict[int, UnusableCell] | None] = [{} for _ in range(width)]
    for error in errors:
        row, column = error.offset_position
        named = ERROR_DETAIL.search(error.detail)
        position = positions.get(column)
        if position is None:
            continue  # a column not read
        cells = found[position]
        if named is None or named.group(1) not in ERROR_NAMES or cells is None:
            found[position] = None
        else:
            cells[row] = error_value(ERROR_NAMES[named.group(1)])
    return found


def _not_values(column: Any) -> dict[int, UnusableCell] | None:
    """The cells of a typed column that hold no value its column can take and that the typed
    reader can name as the cell-by-cell reader does (NaN and infinities); None when the column
    holds others (a date Excel cannot show, text longer than a cell holds, a duration)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = column.type
    if pa.types.is_floating(kind):
        bad = pc.invert(pc.is_finite(column.fill_null(0.0)))
        if not pc.any(bad).as_py():
            return {}
        values = column.to_numpy(zero_copy_only=False)
        return {int(i): not_finite(float(values[i]))
                for i in np.flatnonzero(bad.to_numpy(zero_copy_only=False))}
    if pa.types.is_timestamp(kind) or pa.types.is_date(kind):
        stamps = column.cast(pa.timestamp("ms"))
        low, high = pc.min_max(stamps).values()
        fits = low.as_py() is None or (np.datetime64(low.value, "ms") >= FIRST_DATE
                                       and np.datetime64(high.value, "ms") < LAST_DATE)
        return {} if fits else None
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        longest = pc.max(pc.utf8_length(column)).as_py()
        return {} if longest is None or longest <= EXCEL_MAX_TEXT else None
    return {} if (pa.types.is_integer(kind) or pa.types.is_boolean(kind)
                  or pa.types.is_null(kind)) else None


def _with_unusable(column: ConvertedColumn, cells: dict[int, UnusableCell]) -> ConvertedColumn:
    """The column as objects, with its unusable cells in place (not blank: they are named)."""
    array = column.array.astype(object)
    blank = column.blank.copy()
    rows = np.fromiter(cells, dtype=np.int64, count=len(cells))
    array[rows] = list(cells.values())
    blank[rows] = False
    return ConvertedColumn(array, False, False, blank)


class ConvertedColumn(NamedTuple):
    array: np.ndarray
    plain: bool  # plain text (``ColumnBlock.plain_text``)
    distinct: bool  # plain text and no value repeats (``ColumnBlock.distinct``), if asked
    blank: np.ndarray


def _convert_columns(columns: Sequence[Any], check_distinct: Sequence[bool]
                     ) -> list[ConvertedColumn]:
    """Each column as numpy, whether it is plain text, whether its values are distinct (where
    ``check_distinct`` asks: the columns of unique fields), and its blank cells. A big sheet's
    columns are converted on two threads: Arrow's kernels release the GIL, so one thread's
    kernels (the distinct check among them) run while the other makes Python strings (a
    million incident ids take 0.3 s)."""
    def convert(column: Any, check: bool) -> ConvertedColumn:
        array, plain = column_to_numpy(column)
        return ConvertedColumn(array, plain, check and plain and _no_repeats(column),
                               blank_cells(column))

    if not columns or len(columns[0]) < PARALLEL_CONVERSION_ROWS:
        return list(map(convert, columns, check_distinct))
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="xlquote-columns") as pool:
        return list(pool.map(convert, columns, check_distinct))


def _no_repeats(column: Any) -> bool:
    """No two cells hold the same value (blanks aside; empty text counts as a value)."""
    import pyarrow.compute as pc

    values = len(pc.unique(column)) - (column.null_count > 0)  # unique() lists null once
    return values == len(column) - column.null_count


def _names_field(name: str, fields: set[str]) -> bool:
    """A header naming a field, or a second header of one (fastexcel renames it ``name_1``)."""
    duplicate = RENAMED_DUPLICATE.fullmatch(name)
    return normalize_text(name) in fields or (duplicate is not None
                                              and normalize_text(duplicate.group(1)) in fields)


def _plain_header(header: list[str], fields: Sequence[Field]) -> bool:
    """Every required field found, no blank or renamed duplicate header cell: otherwise the
    cell-by-cell reader reports the header's problems in its own words."""
    names = set(header)
    for name in header:
        if name.startswith(UNNAMED):
            return False
        duplicate = RENAMED_DUPLICATE.fullmatch(name)
        if duplicate and duplicate.group(1) in names:
            return False
    folded = {normalize_text(name) for name in header}
    return all(f.name in folded for f in fields if f.required)


def column_to_numpy(column: Any) -> tuple[np.ndarray, bool]:
    """One Arrow column as numpy: float64 (NaN blank), datetime64 (NaT blank), bool (blank
    False) or object (None blank; '' when plain text); and whether it is plain text (see
    ``ColumnBlock.plain_text``)."""
    import pyarrow as pa

    kind = column.type
    if pa.types.is_floating(kind) or pa.types.is_integer(kind):
        return column.cast(pa.float64()).to_numpy(zero_copy_only=False), False
    if pa.types.is_timestamp(kind) or pa.types.is_date(kind):
        return column.cast(pa.timestamp("ms")).to_numpy(zero_copy_only=False), False
    if pa.types.is_boolean(kind):
        return column.fill_null(False).to_numpy(zero_copy_only=False), False
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return _text_to_numpy(column)
    # durations, all blank, ...
    return column.to_numpy(zero_copy_only=False).astype(object), False


def _text_to_numpy(column: Any) -> tuple[np.ndarray, bool]:
    """Text as an object array, and whether it is plain (checked in Arrow: a regex pass costs
    far less than the parser's per-cell strip). A column repeating few values (contract ids,
    channels, members) shares one str per distinct value: far less memory, later reordering
    touches a handful of objects instead of a million scattered ones, and only the distinct
    values need checking."""
    import pyarrow.compute as pc

    sample = column.slice(0, DISTINCT_SAMPLE)
    if len(pc.unique(sample)) > len(sample) // 2:  # mostly distinct (ids): one str per cell
        plain = _is_plain_text(column)
        return (column.fill_null("") if plain else column).to_numpy(zero_copy_only=False), plain
    dictionary, indices = _dictionary_encoded(column)
    plain = _is_plain_text(dictionary)
    values = np.append(dictionary.to_numpy(zero_copy_only=False).astype(object),
                       "" if plain else None)
    positions = indices.fill_null(len(values) - 1).to_numpy(zero_copy_only=False)
    return values[positions], plain


def _dictionary_encoded(column: Any) -> tuple[Any, Any]:
    """The column's distinct values and each cell's position among them (null: blank)."""
    import pyarrow.compute as pc

    encoded = pc.dictionary_encode(column)
    return encoded.dictionary, encoded.indices


def _is_plain_text(texts: Any) -> bool:
    """No text the parser would change: nothing to strip, no control character."""
    import pyarrow.compute as pc

    return not pc.any(pc.match_substring_regex(texts, NOT_PLAIN_TEXT)).as_py()


def blank_cells(column: Any) -> np.ndarray:
    """True where a cell is empty: no value, or empty text (as the other readers see it)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    empty = column.is_null()
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        empty = pc.or_(empty, pc.fill_null(pc.equal(column, ""), False))
    return empty.to_numpy(zero_copy_only=False)


def first_value_row(path: Path, part: str) -> int | None:
    """The sheet row number of the first row of ``part`` holding a value: where fastexcel's table
    (and so its header) starts. Reads only the start of the sheet's XML; None if it cannot
    tell, or if that row holds an error value."""
    from defusedxml.ElementTree import iterparse

    try:
        with zipfile.ZipFile(path) as archive, archive.open(part) as stream:
            expected = 1
            for _, element in iterparse(stream, events=("end",)):
                if element.tag != f"{MAIN_NS}row":
                    continue
                number = int(element.get("r") or expected)
                expected = number + 1
                cells = list(element.iter(f"{MAIN_NS}c"))
                if any(_has_value(cell) for cell in cells):
                    # An error value in the header is named cell by cell (fastexcel shows
                    # it as a blank header, whose column it would leave unread).
                    return None if any(cell.get("t") == "e" for cell in cells) else number
                element.clear()
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, SyntaxError, EOFError,
            zlib.error):  # a damaged part: the guard's survey refuses it
        return None
    return None


def _has_value(cell: Any) -> bool:
    """A cached value or inline text; a cell that only carries a style (or a formula with no
    cached result) is empty to calamine too."""
    value = cell.find(f"{MAIN_NS}v")
    return (value is not None and bool(value.text)) or cell.find(f"{MAIN_NS}is") is not None
