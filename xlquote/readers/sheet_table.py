"""One sheet's table as a reader hands it to the records parsers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..engine.errors import Problem
from ..engine.records import ColumnBlock


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
