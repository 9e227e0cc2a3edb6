"""One sheet's table as a reader hands it to the records parsers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..engine.errors import SHEET_FIELD, InputError, Problem
from ..engine.messages import AS_RECORD_FILES
from ..engine.records import ColumnBlock

# The most text (UTF-8 bytes) the columns xlquote reads of the incident log may hold, and of
# each other sheet (contracts, packs, settings), so that crafted sheets' text cannot take the
# reader past 1 GiB together, however many are read at once: Python holds a text of one
# character past U+FFFF at 4 bytes a character. A month of a million incidents holds ~50 MB;
# 10,000 contracts ~2 MB.
TEXT_BUDGET = 96 * 2**20
OTHER_SHEETS_TEXT_BUDGET = 16 * 2**20
INCIDENTS = "Incidents"


def check_text(sheet: str, text: int) -> None:
    """Raise InputError when ``text`` (UTF-8 bytes read so far from the sheet's read columns)
    passes the sheet's budget; both read paths refuse alike."""
    budget = TEXT_BUDGET if sheet == INCIDENTS else OTHER_SHEETS_TEXT_BUDGET
    if text > budget:
        raise InputError([Problem(None, SHEET_FIELD, sheet, (
            f"読む列の文字が多すぎます (上限 {budget:,} バイト。100 万件の対応記録で約 "
            "5,000 万バイトです)。壊れているか、細工されたファイルです。本当にこれだけの文字がある"
            f"記録なら、{AS_RECORD_FILES}"), sheet)])


@dataclass
class SheetTable:
    """Header cells, data rows (a list of rows, a 2-D object array, or typed columns), and each
    data row's sheet row number (blank rows the reader skipped leave gaps)."""

    header: list[Any]
    rows: list[list[Any]] | np.ndarray | ColumnBlock
    row_numbers: list[int] | np.ndarray
    header_row: int
    # What the reader itself found wrong: cells beyond Excel's grid, stored twice, …
    problems: list[Problem] = field(default_factory=list)
    # The header's other names, of the columns not read (no field's): a near miss of a missing
    # field's name is refused (``records.misspelt_headers``)
    unread_headers: list[str] = field(default_factory=list)
