"""What every sheet xlquote writes follows, whichever library writes it: how a value becomes a
cell, the number formats and font, and how a sheet prints.

Three adapters apply these rules: ``xlsx.py`` (openpyxl: the workbooks users open and edit, the
comparison export), ``fast_xlsx.py`` (XlsxWriter: the month's summary and the notices) and
``spreadsheetml.py`` (the invoice workbooks, written by the thousand as SpreadsheetML
directly).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from numbers import Integral, Real

import numpy as np

from ..engine.columns import EXCEL_EPOCH

JAPANESE_FONT = "IPAexGothic"  # Debian fonts-ipaexfont-gothic; Excel substitutes if missing
YEN_FORMAT = '"¥"#,##0;-"¥"#,##0'
DATE_FORMAT = "yyyy/mm/dd"
FORMULA_PREFIXES = ("=", "+", "-", "@")  # what makes Excel read typed text as a formula
CELL_MAX_CHARS = 32_767  # what an Excel cell holds (UTF-16 code units)
MAX_ROW_HEIGHT = 409  # points: Excel's tallest row
LAST_ROW, LAST_COLUMN = 1_048_576, 16_384  # Excel's grid: row 1,048,576, column XFD
A4_PAPER = 9  # the OOXML paper-size code for A4

# -- cells ------------------------------------------------------------------------------------

# How a value is stored. Text stays text whatever it starts with ("=", "+", "http", "123"):
# user text is never a formula, a link or a number. xlquote's own formulas are written apart.
BLANK, TEXT, NUMBER, BOOLEAN, DATE = "blank", "text", "number", "boolean", "date"

_KIND_OF_TYPE: dict[type, str] = {str: TEXT, int: NUMBER, float: NUMBER, bool: BOOLEAN,
                                  dt.date: DATE, dt.datetime: DATE, type(None): BLANK}


def cell_kind(value: object) -> str:
    """BLANK (None, empty text), TEXT, NUMBER, BOOLEAN (before numbers: a bool is an int) or
    DATE (dates and datetimes). TypeError for anything a cell cannot hold."""
    kind = _KIND_OF_TYPE.get(type(value))
    if kind is None:  # subclasses and numeric types of other libraries (numpy, Decimal)
        if isinstance(value, str):
            kind = TEXT
        elif isinstance(value, (bool, np.bool_)):
            kind = BOOLEAN
        elif isinstance(value, dt.date):
            kind = DATE
        elif isinstance(value, (Integral, Real, Decimal)):
            kind = NUMBER
        else:
            raise TypeError(f"a cell cannot hold a {type(value).__name__}: {value!r}")
    if kind is TEXT and not value:
        return BLANK
    return kind


def fit_cell_text(text: str) -> str:
    """``text`` as a cell can hold it: longer text is cut and ends with a visible marker saying
    how many characters were left out (Excel refuses a longer cell; XlsxWriter would cut it
    silently)."""
    if len(text) <= CELL_MAX_CHARS // 2 or _utf16_length(text) <= CELL_MAX_CHARS:
        return text
    room = CELL_MAX_CHARS - 40  # what is left besides the marker
    kept = room
    while (excess := _utf16_length(text[:kept]) - room) > 0:
        kept -= (excess + 1) // 2  # a character takes at most two code units
    return f"{text[:kept]}…（以下 {len(text) - kept:,} 文字省略）"


def _utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2  # a lone surrogate is one unit


_FIRST_DAY = dt.date(1900, 1, 1)  # Excel's day 1
_FIRST_SERIAL_DAY = dt.date(1900, 3, 1)  # before it, Excel counts a 29 February 1900


def excel_serial(value: dt.date) -> int | float:
    """A date as the day number Excel stores (a datetime with its time of day as the
    fraction); from 1900-01-01 (day 1), as the readers read them. Before 1900-03-01 Excel's
    day numbers are one less: they count a 29 February 1900 that never was after them."""
    day = value.date() if isinstance(value, dt.datetime) else value
    if day < _FIRST_DAY:
        raise ValueError(f"a cell cannot hold a date before {_FIRST_DAY}: {value}")
    serial = (day - EXCEL_EPOCH).days - (day < _FIRST_SERIAL_DAY)
    if isinstance(value, dt.datetime):
        seconds = value.hour * 3600 + value.minute * 60 + value.second + value.microsecond / 1e6
        return serial + seconds / 86_400 if seconds else serial
    return serial


# -- printing ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Margins:
    """Inches. The sides are narrow so that a wide table keeps its columns on the page."""

    left: float = 0.5
    right: float = 0.5
    top: float = 1.0
    bottom: float = 1.0
    header: float = 0.5
    footer: float = 0.5


@dataclass(frozen=True)
class PageSetup:
    """How a sheet prints: paper, orientation, scaled to ``fit_width`` pages across and as many
    pages down as it needs (``fit_height`` 0), centred across the page, margins."""

    landscape: bool = False
    paper: int = A4_PAPER
    fit_width: int = 1
    fit_height: int = 0
    centred: bool = True
    margins: Margins = field(default_factory=Margins)


A4_PORTRAIT = PageSetup()
A4_LANDSCAPE = PageSetup(landscape=True)


def a4(landscape: bool = False) -> PageSetup:
    return A4_LANDSCAPE if landscape else A4_PORTRAIT
