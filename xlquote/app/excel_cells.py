"""Excel cells ⇄ engine arguments, for the Excel functions in ``udfs/xlquote_udfs.py``.

xlwings (classic add-in or Office.js) hands a function one cell as a scalar and a range as a 2-D
block: numbers as floats, blank cells as None/NaN/'', dates as datetimes or serial numbers, text
with stray spaces. This module turns such blocks into engine arguments and the engine's answers
back into cells: a bad row becomes that cell's ``#VALUE! …`` text (Japanese after Excel's own
prefix: ``#VALUE! minutes -5: 0 以上にしてください``), never an exception, so one bad cell does
not error a whole spilled column. No xlwings import here: the conversions are plain
Python and are tested without Excel.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..engine import fees, records
from ..engine.billing import monthly_invoice
from ..engine.codes import Vocabulary, is_blank, normalize_text
from ..engine.columns import (
    RowChecks,
    UnusableCell,
    broadcast,
    parse_date,
    to_codes,
    to_text,
)
from ..engine.dates import Month
from ..engine.errors import InputError, Problem, XlquoteError
from ..engine.invoice import Invoice, Line
from ..engine.messages import REQUIRED, cell_message
from ..readers.cells import error_value
from ..readers.package import column_letters
from ..readers.workbook import EXCEL_ERRORS

ERROR_PREFIX = "#VALUE! "

INVOICE_PARTS = Vocabulary(
    "part", ("total", "subtotal", "tax", "lines"),
    {"合計": "total", "小計": "subtotal", "消費税": "tax", "税": "tax", "明細": "lines"},
    blank="total", label_ja="項目",
)
NOT_IN_CONTRACTS = "契約の範囲 (contracts_range) にない契約IDです"
OUT_OF_MEMORY = "計算に使えるメモリが足りません。引数の範囲を小さくしてください"
LINE_HEADER: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(Line))
LINES_NEED_ONE = ("明細 (lines) は契約ID 1 つ・月 1 つのときだけ出せます。範囲ではなく 1 つのセルを"
                  "指定してください")


def grid(value: Any) -> np.ndarray:
    """One argument as a 2-D array. An omitted argument or a single empty cell (None) is one
    blank cell; a scalar is 1×1; a flat list is a column. Cells are passed on as they are: the
    engine's column parsing recognises all-number blocks itself, and refuses an error value's
    text (#N/A, as xlwings hands it over with ``err_to_str``) as no number or code; see
    ``with_error_values`` for naming it as what it is."""
    if value is None:
        return np.full((1, 1), None, dtype=object)
    array = value if isinstance(value, np.ndarray) else np.asarray(value, dtype=object)
    if array.ndim == 0:
        array = array.reshape(1, 1)
    elif array.ndim == 1:
        array = array.reshape(-1, 1)
    elif array.ndim > 2:
        raise InputError([Problem(None, "arguments", array.shape, "セルか範囲を指定してください")])
    return array


def with_error_values(array: np.ndarray) -> np.ndarray:
    """``array`` with each error value's text (#N/A) as an ``UnusableCell``, which the engine
    names (エラー値は使えません) and never takes as text: a range's customer or description."""
    if array.dtype.kind != "O" or not _holds_error_value(array):
        return array
    array = array.copy()
    for index, cell in np.ndenumerate(array):
        if type(cell) is str and cell in EXCEL_ERRORS:
            array[index] = error_value(cell)
    return array


def _holds_error_value(array: np.ndarray) -> bool:
    """Whether a cell is an error value's text; a set operation in C over a range of numbers
    (100,000 cells in ~1 ms), cell by cell only where a cell is unhashable (a list)."""
    cells = array.ravel().tolist()
    try:
        return not EXCEL_ERRORS.isdisjoint(cells)
    except TypeError:
        return any(type(cell) is str and cell in EXCEL_ERRORS for cell in cells)


def error_text(message: str) -> str:
    """One row's problem (``RowChecks.message``: ``"minutes -5: 0 以上にしてください"``) as its
    cell's text: ``"#VALUE! minutes -5: 0 以上にしてください"``."""
    return ERROR_PREFIX + message


def problems_text(problems: Sequence[Problem]) -> str:
    """The first problem as one cell's text, e.g. ``#VALUE! シート Incidents 3行目 列 minutes:
    -5 — 0 以上にしてください (ほか 2 件)``; the row is counted within the range, its header
    being row 1."""
    if not problems:
        return ERROR_PREFIX + "入力エラー"
    more = f" (ほか {len(problems) - 1} 件)" if len(problems) > 1 else ""
    return f"{ERROR_PREFIX}{problems[0]}{more}"


def exception_text(exc: Exception) -> str:
    if isinstance(exc, InputError):
        return problems_text(exc.problems)
    return ERROR_PREFIX + str(exc)


def _all_good(messages: np.ndarray) -> bool:
    return messages.ravel().tolist().count(None) == messages.size  # ~2x faster than comparing


def to_cells(values: np.ndarray, messages: np.ndarray) -> np.ndarray:
    """Engine results as cells: Python ints, and the ``#VALUE! …`` text where a row is bad."""
    if _all_good(messages):
        return values
    bad = messages != None  # noqa: E711 - elementwise comparison on an object array
    out = values.astype(object)  # int64 → Python int, which every Excel bridge can write
    out[bad] = [error_text(m) for m in messages[bad]]
    return out


def error_cell(exc: Exception) -> np.ndarray:
    return np.array([[exception_text(exc)]], dtype=object)


def masked(function: Callable[..., Any], *args: Any, **optional: Any) -> np.ndarray:
    """Call an engine function with ``errors="mask"`` on grids of the arguments. Optional
    arguments that are None (omitted in Excel) are left out, so the engine's default applies.
    A problem with the call as a whole (shapes that do not broadcast) is one error cell."""
    try:
        grids = [grid(a) for a in args]
        extra = {name: grid(v) for name, v in optional.items() if v is not None}
        values, messages = function(*grids, **extra, errors="mask")
        if not _all_good(messages) and any(map(_holds_error_value, [*grids, *extra.values()])):
            # Bad rows, and error values among the cells: worked out again with those named
            # as error values (refused either way; looked for only when a row is bad, so that
            # a range of good numbers costs nothing more).
            values, messages = function(*map(with_error_values, grids),
                                        **{name: with_error_values(v) for name, v in extra.items()},
                                        errors="mask")
    except (XlquoteError, ValueError) as exc:
        return error_cell(exc)
    except MemoryError:
        return np.array([[ERROR_PREFIX + OUT_OF_MEMORY]], dtype=object)
    return to_cells(values, messages)


def support_base_fee(plan: Any, support_range: Any, max_incidents: Any = None,
                     errors: str = "mask") -> tuple[np.ndarray, np.ndarray]:
    """Base fee of price book B per row: the yearly fee for an annual plan, the monthly fee for
    the range and max incidents for a monthly plan. Composes the engine's two fee functions."""
    plan_col, range_col, max_col = broadcast(plan, support_range, max_incidents)
    checks = RowChecks(plan_col.shape)
    plans = to_codes(plan_col, fees.SUPPORT_PLANS, "plan", checks)
    annual, annual_problems = fees.annual_base_fee(range_col, errors="mask")
    monthly, monthly_problems = fees.monthly_base_fee(range_col, max_col, errors="mask")
    is_annual = plans == fees.SUPPORT_PLANS.codes.index("annual")
    values = np.where(checks.bad, 0, np.where(is_annual, annual, monthly)).astype(np.int64)
    messages = np.where(checks.bad, checks.message,
                        np.where(is_annual, annual_problems, monthly_problems))
    return values, messages


# --- tables (a range whose first row is the header of records.CONTRACT_FIELDS etc.) ---------


@dataclasses.dataclass(frozen=True)
class Table:
    """A range with a header row. ``row_numbers`` count within the range (header = row 1), so
    messages point at the row the user sees when the range starts at the top of its sheet."""

    sheet: str
    header: list[Any]
    rows: list[list[Any]]
    row_numbers: list[int]

    @classmethod
    def from_range(cls, value: Any, sheet: str, fields: Sequence[records.Field]) -> Table:
        """Blank rows (a range selected generously, e.g. A1:V1000) are dropped. A first row
        naming none of ``fields`` is no header: the range was selected from its first record
        (its values were named as duplicated or unknown headers)."""
        cells = grid(value).astype(object)
        header = list(cells[0]) if len(cells) else []
        known = {f.name for f in fields}
        if not any(type(h) is str and normalize_text(h) in known for h in header):
            first = header[0] if header else None
            raise InputError([Problem(1, column_letters(1), first, (
                f"範囲の1行目が見出しではありません。{fields[0].name} などの見出しの行から範囲を"
                f"指定してください ({sheet} シートなら A1 から最後の行まで)"), sheet)])
        # Empty cells (None) are dropped in one pass first: a whole-column range (A:X) is a
        # million rows, and looking at each cell took seconds a formula.
        filled = np.flatnonzero(~np.equal(cells[1:], None).all(axis=1)) if len(cells) > 1 else []
        rows, numbers = [], []
        for index in filled:
            row = cells[index + 1]
            if not all(is_blank(v) for v in row):
                rows.append(list(row))
                numbers.append(int(index) + 2)
        return cls(sheet, header, rows, numbers)

    def rows_by_contract(self) -> dict[str, list[int]]:
        """Row positions by contract id (matched as text), blank and error ids left out."""
        return self._rows_by_contract[0]

    def where_contract(self, contract_id: str) -> Table:
        """Only the rows of one contract (matched as text, so 1001 and "1001" agree), and the
        rows whose contract_id is blank or an error value: they may be anyone's, so every
        contract's parse names them rather than leaving them out."""
        by_id, unowned = self._rows_by_contract
        keep = sorted([*by_id.get(contract_id, ()), *unowned])
        return dataclasses.replace(self, rows=[self.rows[i] for i in keep],
                                   row_numbers=[self.row_numbers[i] for i in keep])

    @functools.cached_property
    def _rows_by_contract(self) -> tuple[dict[str, list[int]], list[int]]:
        """Row positions by contract id, and those of no known contract; worked out once per
        range, however many contracts and months one formula bills."""
        keys = ["" if is_blank(h) else normalize_text(h) for h in self.header]
        if "contract_id" not in keys:
            return {}, []
        column = keys.index("contract_id")
        cells = np.array([r[column] if column < len(r) else None for r in self.rows],
                         dtype=object)
        by_id: dict[str, list[int]] = {}
        unowned: list[int] = []
        for position, (cell, text) in enumerate(zip(cells.tolist(), to_text(cells).tolist(),
                                                    strict=True)):
            if not text or isinstance(cell, UnusableCell) or (type(cell) is str
                                                                and cell in EXCEL_ERRORS):
                unowned.append(position)
            else:
                by_id.setdefault(text, []).append(position)
        return by_id, unowned

    def parse(self, parser: Callable[..., Any], fields: Sequence[records.Field]) -> Any:
        """``records.parse_*`` on these rows; problems name the rows of the range. A header
        close to a missing field's name (minute for minutes) is refused as the batch refuses
        it: read as absent, that column would count as blank."""
        header = with_error_values(np.array(self.header, dtype=object)).tolist()
        misspelt = [*(records.unusable_header(column_letters(i + 1), cell, self.sheet, 1)
                      for i, cell in enumerate(header) if isinstance(cell, UnusableCell)),
                    *records.misspelt_headers(header, fields, self.sheet, 1)]
        # Error values named as such (never taken as a customer's or a description's text),
        # in the rows parsed only: one contract's of a range of 100,000.
        rows = with_error_values(np.array(self.rows, dtype=object)).tolist() if self.rows else []
        try:
            parsed = parser(header, rows, sheet=self.sheet, first_row=2)
        except InputError as exc:
            raise InputError([*misspelt, *(dataclasses.replace(p, row=self.range_row(p.row))
                                           for p in exc.problems)]) from None
        if misspelt:
            raise InputError(misspelt)
        return parsed

    def range_row(self, parsed_row: int | None) -> int | None:
        """Row number given by the parser (data rows from 2) → row within the range."""
        if parsed_row is None or parsed_row < 2:
            return parsed_row
        return self.row_numbers[parsed_row - 2]


def contract_invoice(contract_id: str, month: Month, contracts: Table, incidents: Table,
                     packs: Table | None) -> Invoice:
    """The engine's invoice of one contract, parsing only that contract's rows: a bad row of
    another contract does not turn this contract's cells into errors."""
    found = contracts.where_contract(contract_id)
    if not found.rows:
        raise InputError([Problem(None, "contract_id", contract_id, NOT_IN_CONTRACTS,
                                  contracts.sheet)])
    # An incident or pack of a contract the range lacks may be this one's, its id mistyped:
    # named in every contract's cells, as the batch refuses the workbook.
    known = contracts.rows_by_contract().keys()
    strangers = [Problem(table.row_numbers[position], "contract_id", cid, NOT_IN_CONTRACTS,
                         table.sheet)
                 for table in (incidents, packs) if table is not None
                 for cid, positions in table.rows_by_contract().items() if cid not in known
                 for position in positions[:1]]
    if strangers:
        raise InputError(strangers)
    # the parser refuses duplicate ids
    contract = found.parse(records.parse_contracts, records.CONTRACT_FIELDS)[0]
    contract = dataclasses.replace(contract, row=found.range_row(contract.row))
    mine = incidents.where_contract(contract_id)
    table = mine.parse(records.parse_incidents, records.INCIDENT_FIELDS)
    table.row = np.array([mine.range_row(int(r)) for r in table.row], dtype=np.int64)
    pack_list = None
    if packs is not None:
        pack_rows = packs.where_contract(contract_id)
        pack_list = [dataclasses.replace(p, row=pack_rows.range_row(p.row))
                     for p in pack_rows.parse(records.parse_packs, records.PACK_FIELDS)]
    return monthly_invoice(contract, table, month, pack_list)


def parse_month(cell: Any) -> Month:
    """A month from '2026-10', '2026年10月', a date, a datetime, an Excel date serial, or a
    date in the month typed as text as a date column takes it ('2026-10-15')."""
    if is_blank(cell):
        raise ValueError("必須です。2026-10 の形か、その月の日付を入力してください")
    if isinstance(cell, UnusableCell):
        raise ValueError(cell.reason)
    if _reads_as_yyyymm(cell):  # a date serial too, of the 25th century: never what was meant
        raise ValueError("数値は月として読めません (202610 のような数値は日付のシリアル値になります)。"
                         "2026-10 (YYYY-MM) の形の文字列か、その月の日付で入力してください")
    day = parse_date(cell)  # a date serial (2026.1 is one: 1905-07-18, outside BILLED_YEARS)
    if day is not None:
        return Month.parse(day)
    return Month.parse(cell)


def _reads_as_yyyymm(cell: Any) -> bool:
    return (isinstance(cell, int | float | np.integer | np.floating) and not isinstance(cell, bool)
            and float(cell).is_integer() and 200001 <= cell <= 299912
            and 1 <= int(cell) % 100 <= 12)


def invoice_lines(invoice: Invoice) -> np.ndarray:
    """The invoice lines with a header row, as cells."""
    out = np.empty((len(invoice.lines) + 1, len(LINE_HEADER)), dtype=object)
    out[0] = LINE_HEADER
    for i, line in enumerate(invoice.lines, start=1):
        out[i] = [getattr(line, name) for name in LINE_HEADER]
    return out


def invoice_cells(contract_id: Any, month: Any, contracts_range: Any, incidents_range: Any,
                  part: Any = None, packs_range: Any = None) -> np.ndarray:
    """MONTHLY_INVOICE: total / subtotal / tax per (contract_id, month, part) cell, or the lines
    of one invoice. Each distinct contract and month is billed once per call."""
    try:
        contracts = Table.from_range(contracts_range, "Contracts", records.CONTRACT_FIELDS)
        incidents = Table.from_range(incidents_range, "Incidents", records.INCIDENT_FIELDS)
        packs = None if packs_range is None else Table.from_range(packs_range, "Packs",
                                                                  records.PACK_FIELDS)
        ids, months, parts = broadcast(with_error_values(grid(contract_id)),
                                       with_error_values(grid(month)), grid(part))
    except (XlquoteError, ValueError) as exc:
        return error_cell(exc)
    id_text = to_text(ids)
    checks = RowChecks(parts.shape)
    part_codes = to_codes(parts, INVOICE_PARTS, "part", checks)
    wants_lines = part_codes == INVOICE_PARTS.codes.index("lines")
    if wants_lines.any() and parts.size > 1:
        return np.array([[ERROR_PREFIX + cell_message("part", "lines", LINES_NEED_ONE)]],
                        dtype=object)
    billed: dict[tuple[str, Any], Invoice | str] = {}
    out = np.empty(parts.shape, dtype=object)
    for index in np.ndindex(parts.shape):
        if checks.message[index] is not None:
            out[index] = error_text(checks.message[index])
            continue
        result = _bill(id_text[index], ids[index], months[index], contracts, incidents, packs, billed)
        if isinstance(result, str):
            out[index] = result
        elif wants_lines[index]:
            return invoice_lines(result)
        else:
            out[index] = int(getattr(result, INVOICE_PARTS.codes[part_codes[index]]))
    return out


def _bill(contract_id: str, id_cell: Any, month_cell: Any, contracts: Table, incidents: Table,
          packs: Table | None, billed: dict[tuple[str, Any], Invoice | str]) -> Invoice | str:
    """The invoice, or the error text of its cell; cached per (contract, month)."""
    if isinstance(id_cell, UnusableCell):
        return error_text(cell_message("contract_id", id_cell, id_cell.reason))
    if not contract_id:
        return error_text(cell_message("contract_id", None, REQUIRED))
    try:
        month = parse_month(month_cell)
    except ValueError as exc:
        return error_text(cell_message("month", month_cell, str(exc)))
    key = (contract_id, str(month))
    if key not in billed:
        try:
            billed[key] = contract_invoice(contract_id, month, contracts, incidents, packs)
        except (XlquoteError, ValueError) as exc:
            billed[key] = exception_text(exc)
    return billed[key]
