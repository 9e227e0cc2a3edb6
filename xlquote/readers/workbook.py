"""Read the invoicing workbook (Contracts, Incidents, Packs, Settings) into validated records.

Two read paths give the same records and the same problems. ``fastexcel`` (the default) reads a
record sheet as typed columns in Rust (``typed_reader.py``) when that is exact: the guard's
survey found the sheet plain, and every column holds one kind of cell, each a value its column
can take. Any other sheet, and Settings, is read cell by cell (``cells.py``): sparse, every
cell taken as stored, error values and uncalculated formulas named. ``cells`` reads every sheet
cell by cell. ``calamine`` and ``openpyxl``, once readers of their own, name the cell-by-cell
path. Every problem of every sheet is collected first and raised as one ``InputError``
naming sheet, row and column, so the clerk fixes the workbook in one pass.
"""

from __future__ import annotations

import datetime as dt
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ..engine.codes import is_blank, normalize_text
from ..engine.columns import UnusableCell, unusable_problem
from ..engine.errors import FILE_FIELD, SHEET_FIELD, InputError, ListedProblems, Problem
from ..engine.pricebook import PriceBook, TaxRule, get_pricebook
from ..engine.records import (
    RECORD_PARSERS,
    SHEETS,
    Contract,
    Field,
    IncidentTable,
    Pack,
    misspelt_headers,
    parse_contracts,
    parse_incidents,
    unusable_header,
)
from ..engine.settings import SETTINGS_FIELDS, Settings, settings_from_values
from ..memory import release_freed_memory
from .cells import SheetRef, error_value, open_workbook, read_sheet_cells
from .guard import CheckedWorkbook, check_workbook_file
from .package import column_letters
from .record_files import read_record_file
from .sheet_table import SheetTable
from .typed_reader import read_typed_table

Engine = Literal["fastexcel", "cells", "calamine", "openpyxl"]
# The read path each ``--reader`` value takes: typed columns where exact, or cell by cell.
READ_PATHS: dict[str, str] = {"fastexcel": "typed", "cells": "cells", "calamine": "cells",
                              "openpyxl": "cells"}
SETTINGS_SHEET = "Settings"
REQUIRED_SHEETS = (*SHEETS, SETTINGS_SHEET)
SETTINGS_COLUMNS = (1, 2)  # key in column A, value in column B

@dataclass
class InvoicingData:
    contracts: list[Contract]
    incidents: IncidentTable
    packs: list[Pack]
    settings: Settings
    # Tables read from a CSV or Parquet file instead of their sheet: table → the file's name
    files: Mapping[str, str] = field(default_factory=dict)

    def named_as_read(self, error: InputError) -> InputError:
        """``error`` (found after the read: by the billing, which names each table by its
        sheet) with the problems of a table read from a file naming that file, as the read's
        own problems do."""
        if not self.files:
            return error
        return InputError([replace(p, sheet=self.files.get(p.sheet or "", p.sheet))
                           for p in error.problems])

    def pricebooks(self) -> dict[str, PriceBook]:
        """The price books the contracts use, with the Settings' tax rounding and closed days
        applied."""
        books = {}
        for name in sorted({c.pricebook for c in self.contracts}):
            book = get_pricebook(name)
            if self.settings.tax_rounding:
                book = replace(book, tax=TaxRule(book.tax.rate_percent, self.settings.tax_rounding))
            if self.settings.closed_days:  # the company's closed days count for every date
                book = replace(book, calendar=replace(book.calendar,
                                                      closed_days=self.settings.closed_days))
            books[name] = book
        return books


def table_from_grid(grid: Sequence[Sequence[Any]] | np.ndarray) -> SheetTable | None:
    """The first non-blank row is the header; fully blank rows below it are skipped (their
    row numbers are kept for the others). None when the sheet is empty."""
    if isinstance(grid, np.ndarray):
        return _table_from_array(grid)
    header_index = next((i for i, row in enumerate(grid) if not _blank_row(row)), None)
    if header_index is None:
        return None
    rows, numbers = [], []
    for i in range(header_index + 1, len(grid)):
        if not _blank_row(grid[i]):
            rows.append(list(grid[i]))
            numbers.append(i + 1)
    return SheetTable(list(grid[header_index]), rows, numbers, header_index + 1)


def _table_from_array(grid: np.ndarray) -> SheetTable | None:
    """``table_from_grid`` for a 2-D object array, blank rows found with one numpy pass."""
    if grid.size == 0:
        return None
    def empty(cells: np.ndarray) -> np.ndarray:
        return (cells == "") | (cells == None)  # noqa: E711 - elementwise on an object array

    # Almost every row has its first cell filled: only the others need a full look.
    maybe_blank = np.flatnonzero(empty(grid[:, 0]))
    blank = maybe_blank[empty(grid[maybe_blank]).all(axis=1)]
    keep = np.ones(len(grid), dtype=bool)
    keep[blank] = False
    kept = np.flatnonzero(keep)
    if not len(kept):
        return None
    header, data = int(kept[0]), kept[1:]
    return SheetTable(list(grid[header]), grid[data], [int(i) + 1 for i in data], header + 1)


def _blank_row(row: Sequence[Any]) -> bool:
    """Empty cells only (a cell of spaces is content: the parser then names what is missing)."""
    return all(v is None or v == "" for v in row)


# The error values Excel shows in a cell (xlwings hands them over as this text).
EXCEL_ERRORS = frozenset({"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A",
                          "#GETTING_DATA", "#SPILL!", "#CALC!", "#FIELD!", "#BLOCKED!",
                          "#CONNECT!", "#BUSY!", "#UNKNOWN!"})


def normalize_cell(value: Any) -> Any:
    """One cell from Excel itself (COM, Office.js, through xlwings) as the cell-by-cell reader
    hands it to the parser. Excel gives every number as a float, blanks as '' and error values
    as their text: whole numbers become int, '' None, midnight datetimes dates, error values
    an ``UnusableCell`` that the parser names."""
    if isinstance(value, str) and value in EXCEL_ERRORS:
        return error_value(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value == "":
        return None
    if isinstance(value, dt.datetime) and value.time() == dt.time(0) and value.tzinfo is None:
        return value.date()
    return value


def read_sheet_tables(path: str | Path, engine: Engine = "fastexcel",
                      sheets: Sequence[str] = REQUIRED_SHEETS) -> dict[str, SheetTable | None]:
    """The tables of ``sheets`` (None for a missing or empty sheet), read along ``engine``'s
    path (``READ_PATHS``)."""
    path = Path(path)
    checked = check_workbook_file(path, sheets=sheets)  # bombs, forged parts, DTDs, .xls, …
    return _read_checked_tables(path, engine, sheets, checked)


def _read_checked_tables(path: Path, engine: Engine, sheets: Sequence[str],
                         checked: CheckedWorkbook) -> dict[str, SheetTable | None]:
    """``read_sheet_tables`` for a file the guard has passed."""
    if engine not in READ_PATHS:
        raise ValueError(f"unknown reader {engine!r}; expected one of {', '.join(READ_PATHS)}")
    tables: dict[str, SheetTable | None] = {}
    with _unreadable_as_input_error(path):
        if READ_PATHS[engine] == "typed":
            tables.update(_read_typed_tables(path, [name for name in sheets if name in SHEETS],
                                             checked))
        rest = [name for name in sheets if name not in tables]
        if rest:
            checked.check_deferred(rest)  # what the typed reader's pass did not settle
            book = open_workbook(path)
            with book.archive:
                for name in rest:
                    part = checked.sheet_parts.get(name)
                    checked.check_cell_by_cell(name)
                    tables[name] = None if part is None else cells_table(book, name, part)
    return {name: tables[name] for name in sheets}


def _read_typed_tables(path: Path, sheets: Sequence[str], checked: CheckedWorkbook
                       ) -> dict[str, SheetTable]:
    """The ``sheets`` the typed reader can take exactly; the others are left out. It is given
    the sheets the survey found plain, and the deferred ones, surveyed in its own pass over
    them (``SurveyAlong``: a pass of the part's bytes saved)."""
    tables = {}
    for name in sheets:
        part, survey = checked.sheet_parts.get(name), checked.survey_along(name)
        if part is None or (part not in checked.plain_sheets and survey is None):
            continue
        table = read_typed_table(path, name, part, SHEETS[name], survey)
        if table is not None:
            tables[name] = table
    return tables


def cells_table(book: Any, sheet: str, part: str) -> SheetTable | None:
    """A sheet read cell by cell. Record sheets keep the columns whose header names a field
    (the others are not read, whatever they hold); Settings keeps columns A and B."""
    fields = SHEETS.get(sheet)
    found = read_sheet_cells(book, SheetRef(sheet, part),
                             (lambda header: set(SETTINGS_COLUMNS)) if fields is None
                             else _field_columns(fields))
    if found is None:
        return None
    header, header_row, cells = found
    columns = list(SETTINGS_COLUMNS) if fields is None else sorted(_field_columns(fields)(header))
    unread = [name for column, name in sorted(header.items())
              if column not in columns and isinstance(name, str)]
    unnamed = [unusable_header(column_letters(column), name, sheet, header_row)
               for column, name in sorted(header.items()) if isinstance(name, UnusableCell)]
    return SheetTable([header.get(c) for c in columns], cells.grid(columns),
                      cells.row_numbers, header_row, [*unnamed, *cells.problems], unread)


def _field_columns(fields: Sequence[Field]) -> Callable[[dict[int, Any]], set[int]]:
    names = {f.name for f in fields}

    def choose(header: dict[int, Any]) -> set[int]:
        return {column for column, value in header.items()
                if isinstance(value, str) and normalize_text(value) in names}

    return choose


@contextmanager
def _unreadable_as_input_error(path: Path) -> Iterator[None]:
    """A file the guard let through but a reader cannot parse is the clerk's problem (exit 2,
    one clear line), not a traceback."""
    try:
        yield
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, SyntaxError) as exc:
        raise InputError([Problem(None, FILE_FIELD, path.name,
                                  f"Excel のブックとして読めません ({exc})。Excel で開いて保存し直して"
                                  "ください")]) from None


def read_invoicing_workbook(path: str | Path, engine: Engine = "fastexcel",
                            record_files: Mapping[str, str | Path] | None = None) -> InvoicingData:
    """Read and validate every sheet; raises one InputError listing all problems.

    ``record_files`` (table name → a CSV or Parquet file, ``record_files.py``) replace those
    sheets of the workbook: their records come from the file, with the same checks, and the
    workbook's sheet of that name is not read. The Incidents sheet (or file), by far the
    biggest, is checked and loaded on a second thread while this one reads and parses the
    others: inflating, searching and parsing in Rust or Arrow run without holding the GIL, so
    on a machine with two cores the small sheets cost no extra time."""
    path = Path(path)
    files = {name: Path(file) for name, file in (record_files or {}).items()}
    unknown = sorted(set(files) - set(SHEETS))
    if unknown:
        raise ValueError(f"record files are for {', '.join(SHEETS)}, not {', '.join(unknown)}")
    from_workbook = tuple(name for name in REQUIRED_SHEETS if name not in files)
    big = tuple(name for name in from_workbook if name == "Incidents")
    small = tuple(name for name in from_workbook if name not in big)
    # Bombs, forged parts, DTDs, …: the big sheet's part is checked on the loading thread, by
    # the typed reader's own pass over it where it reads it.
    checked = check_workbook_file(path, sheets=from_workbook, defer=big)
    labels = {name: file.name for name, file in files.items()}

    def load_big() -> dict[str, SheetTable | None]:
        tables = {name: read_record_file(file, name) for name, file in files.items()
                  if name == "Incidents"}
        tables.update(_read_checked_tables(path, engine, big, checked))
        return tables

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="xlquote-read") as pool:
        loading = pool.submit(load_big)
        tables = _read_checked_tables(path, engine, small, checked)
        tables.update({name: read_record_file(file, name) for name, file in files.items()
                       if name != "Incidents"})
        parsed = _parse_sheets(tables, labels)
        parsed.update(_parse_sheets(loading.result(), labels))
        del tables, loading  # the cells, parsed: gone before what the read freed is handed back
    release_freed_memory()  # ~200 MB after a million incidents
    return _invoicing_data(parsed, labels)


def parse_invoicing_tables(tables: Mapping[str, SheetTable | None]) -> InvoicingData:
    """Records from sheet tables (from a file, or from xlwings in the button handler)."""
    return _invoicing_data(_parse_sheets({name: tables.get(name) for name in REQUIRED_SHEETS}))


SheetResult = tuple[Any, list[Problem]]  # the sheet's records (None if unusable), its problems


def _parse_sheets(tables: Mapping[str, SheetTable | None],
                  labels: Mapping[str, str] | None = None) -> dict[str, SheetResult]:
    """Each sheet of ``tables`` parsed on its own; problems are kept, not raised, so that every
    sheet's problems reach the clerk together. ``labels``: what problems call a table that
    came from a file (its file name) instead of a sheet."""
    results: dict[str, SheetResult] = {}
    for sheet, table in tables.items():
        label = (labels or {}).get(sheet, sheet)
        misspelt: list[Problem] = []
        try:
            if sheet == SETTINGS_SHEET:
                results[sheet] = (parse_settings(table), [])
            elif table is None:
                results[sheet] = (None, [Problem(
                    None, SHEET_FIELD, sheet, f"{missing_sheet(sheet)}。1 行目に見出し "
                    f"{', '.join(f.name for f in SHEETS[sheet])} が要ります", sheet)])
            else:
                misspelt = misspelt_headers([*table.header, *table.unread_headers],
                                            SHEETS[sheet], label, table.header_row)
                parsed = parse_table(RECORD_PARSERS[sheet], table, label)
                results[sheet] = (None, misspelt) if misspelt else (parsed, [])
            if table is not None and table.problems:  # cells beyond the grid, stored twice, …
                results[sheet] = (None, [*table.problems, *results[sheet][1]])
        except InputError as exc:
            results[sheet] = (None, [*(table.problems if table else ()), *misspelt,
                                     *exc.problems])
    return results


def _invoicing_data(results: Mapping[str, SheetResult], files: Mapping[str, str] | None = None
                    ) -> InvoicingData:
    """The records of every sheet, or one InputError with the problems of all sheets (in the
    order Contracts, Incidents, Packs, Settings)."""
    problems = [p for sheet in REQUIRED_SHEETS for p in results[sheet][1]]
    if problems:
        raise InputError(problems)
    records = {sheet: result[0] for sheet, result in results.items()}
    return InvoicingData(records["Contracts"], records["Incidents"], records["Packs"],
                         records[SETTINGS_SHEET], dict(files or {}))


def missing_sheet(sheet: str) -> str:
    return f"シート {sheet} がないか、空です"


def setting_twice(label: str, key: str, first_row: int) -> str:
    return (f"設定 {label} ({key}) は {first_row}行目にもあります。どちらを使うか決められない"
            "ため、1 行にまとめてください")


def parse_table(parse: Callable[..., Any], table: SheetTable, sheet: str) -> Any:
    """Run a records parser on a sheet table, with the sheet's own row numbers (blank rows
    the reader skipped leave gaps)."""
    return parse(table.header, table.rows, sheet, table.header_row + 1, table.row_numbers)


def parse_settings(table: SheetTable | None) -> Settings:
    """The Settings sheet: one setting per row, key (or its Japanese label) in the first
    column, value in the second."""
    sheet = SETTINGS_SHEET
    if table is None:
        raise InputError([Problem(None, SHEET_FIELD, sheet, f"{missing_sheet(sheet)}。A 列に設定名 "
                                  f"({', '.join(f.key for f in SETTINGS_FIELDS)})、B 列に値を"
                                  "書いてください", sheet)])
    by_name = {}
    for f in SETTINGS_FIELDS:
        by_name[normalize_text(f.key)] = f
        by_name[normalize_text(f.label_ja)] = f
    values: dict[str, tuple[Any, int]] = {}
    first_rows: dict[str, int] = {}  # each setting's row: a second one is refused, not chosen
    found = ListedProblems(sheet)  # capped: a sheet of a million bad settings
    problems = found.listed
    for row, number in zip([table.header, *table.rows], [table.header_row, *table.row_numbers],
                           strict=True):
        if len(row) == 0 or is_blank(row[0]):
            continue
        setting = by_name.get(normalize_text(row[0])) if isinstance(row[0], str) else None
        if setting is None:
            continue
        first_row = first_rows.setdefault(setting.key, number)
        if first_row != number:
            if found.has_room():
                problems.append(Problem(number, setting.key, row[0], setting_twice(
                    setting.label_ja, setting.key, first_row), sheet))
            continue
        value = row[1] if len(row) > 1 else None
        unusable = unusable_problem(value, "設定の値を B 列に入力してください")
        if unusable is None:
            values[setting.key] = (value, number)
        elif found.has_room():
            problems.append(Problem(number, setting.key, *unusable, sheet))
    if problems:
        raise InputError(problems + found.counted() + list(table.problems))
    if table.problems:
        raise InputError(list(table.problems))
    return settings_from_values(values, sheet)


def read_log(path: str | Path) -> tuple[list[Contract], IncidentTable]:
    """Contracts and Incidents of an invoicing workbook (validated; InputError names sheet, row
    and column), for replaying the log; the Settings and Packs sheets are not needed."""
    tables = read_sheet_tables(path, "cells", sheets=("Contracts", "Incidents"))
    problems: list[Problem] = []
    parsed: dict[str, Any] = {}
    for sheet, parse in (("Contracts", parse_contracts), ("Incidents", parse_incidents)):
        found = tables.get(sheet)
        if found is None:
            problems.append(Problem(None, SHEET_FIELD, sheet, missing_sheet(sheet), sheet))
            continue
        try:
            parsed[sheet] = parse_table(parse, found, sheet)
        except InputError as exc:
            problems.extend(exc.problems)
    if problems:
        raise InputError(problems)
    return parsed["Contracts"], parsed["Incidents"]
