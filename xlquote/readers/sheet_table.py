"""One sheet's table as a reader hands it to the records parsers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..engine.errors import SHEET_FIELD, InputError, Problem
from ..engine.messages import AS_RECORD_FILES
from ..engine.records import ColumnBlock

# The most text (UTF-8 bytes) the columns xlquote reads of one sheet may hold, so that a crafted
# sheet's text cannot take the reader past 1 GiB; a month of a million incidents holds ~50 MB.
TEXT_BUDGET = 128 * 2**20


def check_text(sheet: str, text: int) -> None:
    """Raise InputError when ``text`` (UTF-8 bytes read so far from the sheet's read columns)
    passes TEXT_BUDGET; both read paths refuse alike."""
    if text > TEXT_BUDGET:
        raise InputError([Problem(None, SHEET_FIELD, sheet, (
            f"読む列の文字が多すぎます (上限 {TEXT_BUDGET:,} バイト。100 万件の対応記録で約 "
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
