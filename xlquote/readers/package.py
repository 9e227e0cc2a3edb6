"""Where an xlsx package keeps its parts: the workbook, its relationships, a sheet by name."""

from __future__ import annotations

import posixpath
import zipfile
from typing import Any

from .ooxml import (
    OFFICE_RELATIONSHIPS,
    PACKAGE_RELATIONSHIPS,
    SPREADSHEET_MAIN,
    WORKBOOK,
    WORKBOOK_RELATIONSHIPS,
)

__all__ = ["EXCEL_MAX_COLUMNS", "EXCEL_MAX_ROWS", "WORKBOOK", "WORKBOOK_RELATIONSHIPS",
           "column_letters", "column_number", "sheet_part", "workbook_part",
           "workbook_relationships"]

EXCEL_MAX_ROWS = 1_048_576  # Excel's grid: rows 1..1,048,576, columns A..XFD
EXCEL_MAX_COLUMNS = 16_384

# ElementTree's names: {namespace}tag
MAIN_NS = f"{{{SPREADSHEET_MAIN}}}"
REL_NS = f"{{{OFFICE_RELATIONSHIPS}}}"
PACKAGE_REL_NS = f"{{{PACKAGE_RELATIONSHIPS}}}"


def workbook_part(target: str) -> str:
    """The zip member a workbook relationship's target names (absolute, or relative to xl/)."""
    return target.lstrip("/") if target.startswith("/") else posixpath.normpath(
        posixpath.join("xl", target))


def workbook_relationships(archive: zipfile.ZipFile, parse: Any) -> list[Any]:
    """The workbook's relationship elements (Id, Type, Target)."""
    return list(parse(archive.read(WORKBOOK_RELATIONSHIPS)).iter(f"{PACKAGE_REL_NS}Relationship"))


def sheet_part(archive: zipfile.ZipFile, sheet_name: str, parse: Any) -> str | None:
    """The zip member holding the sheet of that name (workbook.xml, then its relationships)."""
    workbook = parse(archive.read(WORKBOOK))
    relation = next((s.get(f"{REL_NS}id") for s in workbook.iter(f"{MAIN_NS}sheet")
                     if s.get("name") == sheet_name), None)
    target = next((r.get("Target") for r in workbook_relationships(archive, parse)
                   if r.get("Id") == relation), None)
    if relation is None or target is None:
        return None
    part = workbook_part(target)
    return part if part in archive.namelist() else None


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
