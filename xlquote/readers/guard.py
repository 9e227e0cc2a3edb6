"""Refuse hostile or broken workbook files before any reader opens them.

Checked in bounded time and memory, reading only the zip directory and the first bytes of each
XML part: not a workbook at all, an old .xls, too many or too large parts, zip bombs (extreme
compression ratios), XML with DTDs/entities (entity-expansion attacks), and sheets claiming
more rows or columns than Excel allows. Every refusal is an ``InputError`` naming the file.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from ..engine.errors import InputError, Problem

OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls and encrypted .xlsx
EXCEL_MAX_ROWS = 1_048_576
EXCEL_MAX_COLUMNS = 16_384
DIMENSION = re.compile(rb'<(?:\w+:)?dimension\s+ref="([A-Z]{1,7})?(\d+)?(?::([A-Z]{1,7})(\d+))?"')


@dataclass(frozen=True)
class Limits:
    max_file_bytes: int = 512 * 2**20
    max_parts: int = 10_000
    max_uncompressed_bytes: int = 4 * 2**30
    max_ratio: int = 200  # xlsx XML compresses ~10–30×; bombs reach thousands
    ratio_applies_above: int = 16 * 2**20
    prologue_bytes: int = 4096


def _refuse(path: Path, reason: str) -> InputError:
    return InputError([Problem(None, "file", path.name, reason)])


def _column_number(letters: bytes) -> int:
    number = 0
    for char in letters.decode():
        number = number * 26 + ord(char) - 64
    return number


def check_workbook_file(path: str | Path, limits: Limits = Limits()) -> None:
    """Raise InputError when ``path`` is not a workbook we can safely read."""
    path = Path(path)
    if not path.is_file():
        raise _refuse(path, "file not found")
    size = path.stat().st_size
    if size > limits.max_file_bytes:
        raise _refuse(path, f"file is {size:,} bytes; the limit is {limits.max_file_bytes:,}")
    with path.open("rb") as handle:
        head = handle.read(8)
    if head == OLE2_MAGIC:
        raise _refuse(path, "an .xls (Excel 97-2003) or password-protected workbook; "
                            "save it as an unprotected .xlsx / .xlsm")
    if not zipfile.is_zipfile(path):
        raise _refuse(path, "not an Excel workbook (.xlsx / .xlsm are zip archives)")
    try:
        with zipfile.ZipFile(path) as archive:
            _check_archive(path, archive, limits)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError) as exc:
        raise _refuse(path, f"damaged workbook archive ({exc})") from None


def _check_archive(path: Path, archive: zipfile.ZipFile, limits: Limits) -> None:
    infos = archive.infolist()
    if len(infos) > limits.max_parts:
        raise _refuse(path, f"{len(infos):,} parts in the archive; the limit is "
                            f"{limits.max_parts:,}")
    names = {info.filename for info in infos}
    if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
        raise _refuse(path, "not an Excel workbook (no xl/workbook.xml)")
    for part in ("[Content_Types].xml", "xl/workbook.xml"):
        try:  # the parts every reader parses first, through defusedxml's hardened parser
            SafeET.fromstring(archive.read(part), forbid_dtd=True)
        except DefusedXmlException as exc:
            raise _refuse(path, f"part {part} declares a DTD or XML entities ({exc})") from None
        except SafeET.ParseError as exc:
            raise _refuse(path, f"part {part} is not well-formed XML ({exc})") from None
    total = sum(info.file_size for info in infos)
    if total > limits.max_uncompressed_bytes:
        raise _refuse(path, f"unpacks to {total:,} bytes; the limit is "
                            f"{limits.max_uncompressed_bytes:,} (zip bomb?)")
    for info in infos:
        if (info.file_size > limits.ratio_applies_above
                and info.file_size > limits.max_ratio * max(info.compress_size, 1)):
            raise _refuse(path, f"part {info.filename} expands {info.file_size:,} bytes from "
                                f"{info.compress_size:,} (zip bomb?)")
        if not info.filename.endswith((".xml", ".rels", ".vml")):
            continue
        with archive.open(info) as part:
            prologue = part.read(limits.prologue_bytes)
        if b"<!DOCTYPE" in prologue or b"<!ENTITY" in prologue:
            raise _refuse(path, f"part {info.filename} declares a DTD or XML entities, which "
                                "workbooks never need (entity-expansion attack?)")
        if info.filename.startswith("xl/worksheets/"):
            _check_dimension(path, info.filename, prologue)


def _check_dimension(path: Path, part: str, prologue: bytes) -> None:
    match = DIMENSION.search(prologue)
    if not match or not match.group(3):
        return
    columns, rows = _column_number(match.group(3)), int(match.group(4))
    if columns > EXCEL_MAX_COLUMNS or rows > EXCEL_MAX_ROWS:
        raise _refuse(path, f"{part} claims {rows:,} rows × {columns:,} columns; Excel allows "
                            f"{EXCEL_MAX_ROWS:,} × {EXCEL_MAX_COLUMNS:,}")
