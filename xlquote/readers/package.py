"""Where an xlsx package keeps its parts: the workbook and its relationships."""

from __future__ import annotations

import posixpath

from .ooxml import (
    OFFICE_RELATIONSHIPS,
    PACKAGE_RELATIONSHIPS,
    SPREADSHEET_MAIN,
    WORKBOOK,
    WORKBOOK_RELATIONSHIPS,
)

__all__ = ["EXCEL_MAX_COLUMNS", "EXCEL_MAX_ROWS", "WORKBOOK", "WORKBOOK_RELATIONSHIPS",
           "XML_PARSER_OPTIONS",
           "column_letters", "column_number", "workbook_part"]

EXCEL_MAX_ROWS = 1_048_576  # Excel's grid: rows 1..1,048,576, columns A..XFD
EXCEL_MAX_COLUMNS = 16_384

# How lxml parses a part: no entity, DTD or network, and libxml2's default bounds (no element
# nested deeper than 256, no text node past 10 MB), which a spreadsheet never reaches.
XML_PARSER_OPTIONS = {"resolve_entities": False, "no_network": True, "load_dtd": False,
                      "huge_tree": False, "remove_comments": True, "remove_pis": True}

# ElementTree's names: {namespace}tag
MAIN_NS = f"{{{SPREADSHEET_MAIN}}}"
REL_NS = f"{{{OFFICE_RELATIONSHIPS}}}"
PACKAGE_REL_NS = f"{{{PACKAGE_RELATIONSHIPS}}}"


def workbook_part(target: str) -> str:
    """The zip member a workbook relationship's target names (absolute, or relative to xl/)."""
    return target.lstrip("/") if target.startswith("/") else posixpath.normpath(
        posixpath.join("xl", target))


def column_number(letters: str) -> int:
    """A → 1, AA → 27, XFD → 16384."""
    number = 0
    for char in letters:
        number = number * 26 + ord(char) - 64
    return number


def column_letters(number: int) -> str:
    """1 → A, 27 → AA, 16384 → XFD."""
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters
