"""Build the corpus of broken and hostile invoicing workbooks in this folder.

    python tests/data/hostile/build.py            # rebuild every case from demo.xlsm
    python tests/data/hostile/build.py --base     # first take a fresh copy of the demo workbook

Each case is ``demo.xlsm`` (the workbook ``xlquote demo`` writes) with one thing changed: a cell,
a part of the package, or the package itself. ``CASES`` says what each one tests and what must
come of it: ``refused`` (exit 2, the problems listed, each naming its sheet, row and column;
by the read, or by the month's run where ``refused_by`` says "billing") or
``same`` (the month bills exactly as the unedited workbook does: the change is in something
xlquote does not read, or is a form of the same value). The output is deterministic: the same
base gives the same bytes (entries dated 1980-01-01, deflated by zlib at level 6).
"""

from __future__ import annotations

import argparse
import re
import struct
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
BASE = HERE / "demo.xlsm"
MONTH = "2026-10"
DATE_STAMP = (1980, 1, 1, 0, 0, 0)

Parts = dict[str, bytes]


@dataclass(frozen=True)
class Expected:
    """One problem the case must be refused with: its sheet, row and column (None for the file
    as a whole), words its reason holds and, where given, the value as the cell holds it."""

    sheet: str | None
    row: int | None
    column: str
    reason: str
    value: str | None = None


@dataclass(frozen=True)
class Case:
    name: str
    what: str
    edit: Callable[[Parts], None]
    refused: tuple[Expected, ...] = ()  # empty: bills the same as the unedited workbook
    raw: Callable[[Parts], bytes] | None = None  # builds the file's bytes itself
    tags: frozenset[str] = field(default_factory=frozenset)
    # Refused by what: "read" (every read path refuses alike) or "billing" (every read path
    # reads the same records; the month's run refuses them before anything is written)
    refused_by: str = "read"

    @property
    def file(self) -> Path:
        return HERE / f"{self.name}.xlsm"


# --- editing cells and parts -----------------------------------------------------------------

def inline(ref: str, text: str) -> str:
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return f'<c r="{ref}" t="inlineStr"><is><t>{escaped}</t></is></c>'


def number(ref: str, value: str, style: str | None = None) -> str:
    return f'<c r="{ref}"{f" s={chr(34)}{style}{chr(34)}" if style else ""}><v>{value}</v></c>'


def error(ref: str, code: str) -> str:
    return f'<c r="{ref}" t="e"><v>{code}</v></c>'


def sheet_part(parts: Parts, sheet: str) -> str:
    """The part holding ``sheet`` (workbook.xml names it, its relationships point at it)."""
    book = parts["xl/workbook.xml"].decode()
    rid = re.search(rf'<sheet [^>]*name="{sheet}"[^>]*r:id="(\w+)"', book).group(1)  # type: ignore[union-attr]
    rels = parts["xl/_rels/workbook.xml.rels"].decode()
    target = re.search(rf'<Relationship [^>]*Id="{rid}"[^>]*Target="([^"]+)"', rels)
    if target is None:
        target = re.search(rf'<Relationship [^>]*Target="([^"]+)"[^>]*Id="{rid}"', rels)
    found = target.group(1).lstrip("/")  # type: ignore[union-attr]
    return found if found.startswith("xl/") else f"xl/{found}"


def _column(ref: str) -> int:
    letters = re.match(r"[A-Z]+", ref).group()  # type: ignore[union-attr]
    total = 0
    for char in letters:
        total = total * 26 + ord(char) - 64
    return total


def set_cell(parts: Parts, sheet: str, ref: str, cell: str) -> None:
    """Put ``cell`` (its XML) at ``ref``, replacing what is there, in column order; a row of its
    own if the row does not exist (in row order)."""
    part = sheet_part(parts, sheet)
    xml = parts[part].decode()
    row = int(re.search(r"\d+", ref).group())  # type: ignore[union-attr]
    found = re.search(rf'<row r="{row}"[^>]*>(.*?)</row>', xml)
    if found is None:
        later = [m for m in re.finditer(r'<row r="(\d+)"', xml) if int(m.group(1)) > row]
        at = later[0].start() if later else xml.index("</sheetData>")
        xml = xml[:at] + f'<row r="{row}">{cell}</row>' + xml[at:]
    else:
        cells = re.findall(r'<c r="[A-Z]+\d+"(?:[^>]*/>|[^>]*>.*?</c>)', found.group(1))
        kept = [c for c in cells if not c.startswith(f'<c r="{ref}"')] + [cell]
        kept.sort(key=lambda c: _column(re.match(r'<c r="([A-Z]+)', c).group(1)))  # type: ignore[union-attr]
        start = found.start(1)
        xml = xml[:start] + "".join(kept) + xml[found.end(1):]
    parts[part] = xml.encode()


def row_of(parts: Parts, sheet: str, first_cell: str) -> int:
    """The row whose column A holds ``first_cell`` (an id)."""
    xml = parts[sheet_part(parts, sheet)].decode()
    found = re.search(rf'<c r="A(\d+)" t="inlineStr"><is><t>{re.escape(first_cell)}</t>', xml)
    assert found, first_cell
    return int(found.group(1))


def cell_edit(sheet: str, first_cell: str, column: str, make: Callable[[str], str]
              ) -> Callable[[Parts], None]:
    def edit(parts: Parts) -> None:
        ref = f"{column}{row_of(parts, sheet, first_cell)}"
        set_cell(parts, sheet, ref, make(ref))
    return edit


def restyled(sheet: str, first_cell: str, column: str, value: str) -> Callable[[Parts], None]:
    """A number in place of the cell's value, keeping the cell's style (its date format)."""
    def edit(parts: Parts) -> None:
        ref = f"{column}{row_of(parts, sheet, first_cell)}"
        style = re.search(rf'<c r="{ref}" s="(\d+)"', parts[sheet_part(parts, sheet)].decode())
        set_cell(parts, sheet, ref, number(ref, value, style.group(1) if style else None))
    return edit


def styled_like(sheet: str, first_cell: str, column: str, like: str, value: str
                ) -> Callable[[Parts], None]:
    """A number in the cell, in the style of the row's cell in column ``like``."""
    def edit(parts: Parts) -> None:
        row = row_of(parts, sheet, first_cell)
        style = re.search(rf'<c r="{like}{row}" s="(\d+)"', parts[sheet_part(parts, sheet)].decode())
        assert style, f"{like}{row} has no style"
        set_cell(parts, sheet, f"{column}{row}", number(f"{column}{row}", value, style.group(1)))
    return edit


def in_format(sheet: str, first_cell: str, column: str, value: str, format_id: str
              ) -> Callable[[Parts], None]:
    """A number in the cell, in a new cell style of number format ``format_id`` (as written)."""
    def edit(parts: Parts) -> None:
        styles = parts["xl/styles.xml"].decode()
        found = re.search(r'<cellXfs count="(\d+)">', styles)
        assert found, "no cellXfs"
        index = int(found.group(1))
        styles = styles.replace(found.group(), f'<cellXfs count="{index + 1}">').replace(
            "</cellXfs>", f'<xf numFmtId="{format_id}" fontId="0" fillId="0" borderId="0" '
            'applyNumberFormat="1" xfId="0"/></cellXfs>')
        parts["xl/styles.xml"] = styles.encode()
        ref = f"{column}{row_of(parts, sheet, first_cell)}"
        set_cell(parts, sheet, ref, number(ref, value, str(index)))
    return edit


def header_cell(sheet: str, name: str, make: Callable[[re.Match[str]], str]
                ) -> Callable[[Parts], None]:
    """The header cell of ``sheet`` that reads ``name`` replaced by ``make(its match)`` (group 1:
    its address)."""
    def edit(parts: Parts) -> None:
        part = sheet_part(parts, sheet)
        xml = parts[part].decode()
        cell = re.search(rf'<c r="([A-Z]+1)"[^>]*><is><t>{re.escape(name)}</t></is></c>', xml)
        assert cell, name
        parts[part] = xml.replace(cell.group(), make(cell)).encode()
    return edit


def header_renamed(sheet: str, old: str, new: str) -> Callable[[Parts], None]:
    """The header cell ``old`` of ``sheet`` written ``new``."""
    return header_cell(sheet, old, lambda cell: cell.group().replace(f"<t>{old}</t>",
                                                                      f"<t>{new}</t>"))


def header_error(sheet: str, name: str, code: str) -> Callable[[Parts], None]:
    """The header cell ``name`` of ``sheet`` holding the error value ``code`` instead."""
    return header_cell(sheet, name, lambda cell: error(cell.group(1), code))


def edits(*steps: Callable[[Parts], None]) -> Callable[[Parts], None]:
    def edit(parts: Parts) -> None:
        for step in steps:
            step(parts)
    return edit


def rewrite(part: str, change: Callable[[bytes], bytes]) -> Callable[[Parts], None]:
    """Change one part: a part's name, or a sheet's name (its part)."""
    def edit(parts: Parts) -> None:
        name = part if part in parts else sheet_part(parts, part)
        parts[name] = change(parts[name])
    return edit


def no_edit(parts: Parts) -> None:
    pass


def copy_row(sheet: str, first_cell: str, new_row: int, new_id: str) -> Callable[[Parts], None]:
    def edit(parts: Parts) -> None:
        part = sheet_part(parts, sheet)
        xml = parts[part].decode()
        row = row_of(parts, sheet, first_cell)
        body = re.search(rf'<row r="{row}"[^>]*>(.*?)</row>', xml).group(1)  # type: ignore[union-attr]
        body = re.sub(rf'r="([A-Z]+){row}"', rf'r="\g<1>{new_row}"', body)
        body = body.replace(f"<t>{first_cell}</t>", f"<t>{new_id}</t>", 1)
        at = xml.index("</sheetData>")
        parts[part] = (xml[:at] + f'<row r="{new_row}">{body}</row>' + xml[at:]).encode()
    return edit


def row_xml(parts: Parts, sheet: str, first_cell: str) -> tuple[str, re.Match[str]]:
    """The sheet's XML and the match of the row whose column A holds ``first_cell``."""
    xml = parts[sheet_part(parts, sheet)].decode()
    row = row_of(parts, sheet, first_cell)
    return xml, re.search(rf'<row r="{row}"[^>]*>.*?</row>', xml)  # type: ignore[return-value]


def cell_xml(xml: str, row: re.Match[str], column: str) -> re.Match[str]:
    """The match (in ``xml``) of the row's cell in ``column``."""
    found = re.compile(rf'<c r="{column}\d+"[^>]*>.*?</c>').search(xml, row.start(), row.end())
    assert found is not None, column
    return found


def with_value(cell: str, value: str) -> str:
    return re.sub(r"<v>[^<]*</v>", f"<v>{value}</v>", cell)


def sheet_edit(sheet: str, first_cell: str, change: Callable[[str, re.Match[str]], str]
               ) -> Callable[[Parts], None]:
    """Rewrite the sheet's XML given the row whose column A holds ``first_cell``."""
    def edit(parts: Parts) -> None:
        xml, row = row_xml(parts, sheet, first_cell)
        parts[sheet_part(parts, sheet)] = change(xml, row).encode()
    return edit


def row_twice(sheet: str, first_cell: str, column: str, value: str) -> Callable[[Parts], None]:
    """The row stored again right after itself, the copy's cell in ``column`` holding ``value``
    (calamine would read the copy)."""
    def change(xml: str, row: re.Match[str]) -> str:
        cell = cell_xml(xml, row, column)
        copy = row.group(0).replace(cell.group(0), with_value(cell.group(0), value))
        return xml[:row.end()] + copy + xml[row.end():]
    return sheet_edit(sheet, first_cell, change)


def cell_twice(sheet: str, first_cell: str, column: str, value: str) -> Callable[[Parts], None]:
    """The row's cell in ``column`` stored again right after itself, holding ``value``."""
    def change(xml: str, row: re.Match[str]) -> str:
        cell = cell_xml(xml, row, column)
        return xml[:cell.end()] + with_value(cell.group(0), value) + xml[cell.end():]
    return sheet_edit(sheet, first_cell, change)


def row_moved(sheet: str, first_cell: str, before: str) -> Callable[[Parts], None]:
    """The row moved, as it is, to stand before the row whose column A holds ``before``."""
    def edit(parts: Parts) -> None:
        xml, row = row_xml(parts, sheet, first_cell)
        rest = xml[:row.start()] + xml[row.end():]
        at = rest.index(f'<row r="{row_of(parts, sheet, before)}"')
        parts[sheet_part(parts, sheet)] = (rest[:at] + row.group(0) + rest[at:]).encode()
    return edit


def cells_swapped(sheet: str, first_cell: str, left: str, right: str
                  ) -> Callable[[Parts], None]:
    """The row's cells in ``left`` and ``right`` (next to each other) stored the other way."""
    def change(xml: str, row: re.Match[str]) -> str:
        one, other = cell_xml(xml, row, left), cell_xml(xml, row, right)
        assert one.end() == other.start()
        return xml[:one.start()] + other.group(0) + one.group(0) + xml[other.end():]
    return sheet_edit(sheet, first_cell, change)


def cell_rewritten(sheet: str, first_cell: str, column: str, pattern: str, replacement: str
                   ) -> Callable[[Parts], None]:
    """The row's cell in ``column``, where it stands, with ``pattern`` in its XML replaced."""
    def change(xml: str, row: re.Match[str]) -> str:
        cell = cell_xml(xml, row, column)
        text = re.sub(pattern, replacement, cell.group(0))
        return xml[:cell.start()] + text + xml[cell.end():]
    return sheet_edit(sheet, first_cell, change)


def row_after_sheet_data(sheet: str, first_cell: str, new_row: int, new_id: str
                         ) -> Callable[[Parts], None]:
    """A copy of the row, as row ``new_row`` with id ``new_id``, after </sheetData>."""
    def edit(parts: Parts) -> None:
        copy_row(sheet, first_cell, new_row, new_id)(parts)
        part = sheet_part(parts, sheet)
        xml = parts[part].decode()
        copied = re.search(rf'<row r="{new_row}">.*?</row>', xml)
        assert copied is not None
        xml = xml[:copied.start()] + xml[copied.end():]
        at = xml.index("</sheetData>") + len("</sheetData>")
        parts[part] = (xml[:at] + copied.group(0) + xml[at:]).encode()
    return edit


def wrapped(sheet: str, first_cell: str, column: str, inner: bool) -> Callable[[Parts], None]:
    """The row's cell in ``column`` (``inner``: its value) inside an element <x>."""
    def change(xml: str, row: re.Match[str]) -> str:
        cell = cell_xml(xml, row, column)
        text = cell.group(0)
        if inner:
            value = re.search(r"<v>[^<]*</v>", text).group(0)  # type: ignore[union-attr]
            text = text.replace(value, f"<x>{value}</x>")
        else:
            text = f"<x>{text}</x>"
        return xml[:cell.start()] + text + xml[cell.end():]
    return sheet_edit(sheet, first_cell, change)


def rows_moved_down(sheet: str, by: int) -> Callable[[Parts], None]:
    """Every row below the header moved ``by`` rows down (its cells' addresses with it)."""
    def edit(parts: Parts) -> None:
        part = sheet_part(parts, sheet)

        def moved(row: re.Match[str]) -> str:
            number = int(row.group(1))
            return row.group(0) if number == 1 else re.sub(
                rf'(<(?:row|c) r="[A-Z]*){number}"', rf'\g<1>{number + by}"', row.group(0))
        parts[part] = re.sub(r'<row r="(\d+)".*?</row>', moved, parts[part].decode()).encode()
    return edit


def row_in_namespace(sheet: str, first_cell: str) -> Callable[[Parts], None]:
    """The row declared in a namespace of its own: not a row of the sheet to an XML reader."""
    def change(xml: str, row: re.Match[str]) -> str:
        start = row.group(0).index(">")
        return xml[:row.start() + start] + ' xmlns="urn:x"' + xml[row.start() + start:]
    return sheet_edit(sheet, first_cell, change)


def second_sheet(name: str, rename_first: str) -> Callable[[Parts], None]:
    """A copy of the Incidents sheet named ``name``; the original renamed ``rename_first``."""
    def edit(parts: Parts) -> None:
        parts["xl/worksheets/sheet99.xml"] = parts[sheet_part(parts, "Incidents")]
        book = parts["xl/workbook.xml"].decode().replace('name="Incidents"',
                                                          f'name="{rename_first}"')
        sheet = (f'<sheet xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/'
                 f'relationships" name="{name}" sheetId="99" state="visible" r:id="rId99"/>')
        parts["xl/workbook.xml"] = book.replace("</sheets>", sheet + "</sheets>").encode()
        add_part(parts, "rId99", "worksheet", "/xl/worksheets/sheet99.xml")
    return edit


def add_part(parts: Parts, rid: str, kind: str, target: str) -> None:
    """Name a part (already in ``parts``) in the workbook's relationships (type ``kind``) and
    in the content types."""
    rels = parts["xl/_rels/workbook.xml.rels"].decode()
    rel = (f'<Relationship Id="{rid}" Type="http://schemas.openxmlformats.org/officeDocument/'
           f'2006/relationships/{kind}" Target="{target}"/>')
    parts["xl/_rels/workbook.xml.rels"] = rels.replace("</Relationships>",
                                                       rel + "</Relationships>").encode()
    types = parts["[Content_Types].xml"].decode()
    override = (f'<Override PartName="{target}" ContentType="application/'
                f'vnd.openxmlformats-officedocument.spreadsheetml.{kind}+xml"/>')
    parts["[Content_Types].xml"] = types.replace("</Types>", override + "</Types>").encode()


# --- writing the package ---------------------------------------------------------------------

def read_parts(path: Path) -> Parts:
    with zipfile.ZipFile(path) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def package(parts: Parts) -> bytes:
    """The parts as a zip, deterministically (fixed dates, zlib level 6, the base's order)."""
    entries = [(name, data, None) for name, data in parts.items()]
    return zip_bytes(entries)


def zip_bytes(entries: list[tuple[str, bytes, dict[str, int] | None]]) -> bytes:
    """A zip of (name, data, forged header fields) written by hand, so that a case can declare
    sizes or checksums its data does not have (``forged``: file_size, crc)."""
    local, central = bytearray(), bytearray()
    for name, data, forged in entries:
        compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
        packed = compressor.compress(data) + compressor.flush()
        crc, size = zlib.crc32(data), len(data)
        if forged:
            crc, size = forged.get("crc", crc), forged.get("file_size", size)
        encoded = name.encode()
        flags = 0x800 if not encoded.isascii() else 0
        header = struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, flags, 8, 0, 0x21, crc,
                             len(packed), size, len(encoded), 0)
        central += struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, flags, 8, 0, 0x21,
                               crc, len(packed), size, len(encoded), 0, 0, 0, 0, 0, len(local))
        central += encoded
        local += header + encoded + packed
    end = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, len(entries), len(entries),
                      len(central), len(local), 0)
    return bytes(local + central + end)


def forged_size(parts: Parts) -> bytes:
    """The Incidents part holds 300 MB more than it declares (a cell of 300 MB of 'A' in a
    column without a header), with the size and CRC of the unedited part."""
    part = sheet_part(parts, "Incidents")
    original = parts[part]
    bomb = original.replace(b"</row>", b'<c r="X1" t="inlineStr"><is><t>' + b"A" * (300 * 2**20)
                            + b"</t></is></c></row>", 1)
    return zip_bytes([(name, bomb if name == part else data,
                       {"file_size": len(original), "crc": zlib.crc32(original)}
                       if name == part else None) for name, data in parts.items()])


def bad_crc(parts: Parts) -> bytes:
    part = sheet_part(parts, "Incidents")
    return zip_bytes([(name, data, {"crc": zlib.crc32(data) ^ 1} if name == part else None)
                      for name, data in parts.items()])


def part_twice(parts: Parts) -> bytes:
    part = sheet_part(parts, "Incidents")
    entries: list[tuple[str, bytes, dict[str, int] | None]] = [
        (name, data, None) for name, data in parts.items()]
    entries.append((part, parts[part].replace(b"<v>25</v>", b"<v>2500</v>", 1), None))
    return zip_bytes(entries)


def part_case_twice(parts: Parts) -> bytes:
    """The workbook points at the Incidents part under a name in other case (Sheet4.xml); the
    part under its own name holds other minutes (fastexcel finds parts without case)."""
    part = sheet_part(parts, "Incidents")
    folder, name = part.rsplit("/", 1)
    other = f"{folder}/{name.capitalize()}"
    relationships = "xl/_rels/workbook.xml.rels"
    edited = dict(parts)
    edited[relationships] = parts[relationships].replace(
        f'/{name}"'.encode(), f'/{name.capitalize()}"'.encode())
    assert edited[relationships] != parts[relationships]
    entries: list[tuple[str, bytes, dict[str, int] | None]] = [
        (other if key == part else key, data, None) for key, data in edited.items()]
    entries.append((part, parts[part].replace(b"<v>25</v>", b"<v>2500</v>", 1), None))
    return zip_bytes(entries)


def shared_string_bomb(parts: Parts) -> None:
    """30,000 incident rows whose description (column V) is one shared string of 30,000 'あ':
    90 KB stored once, 2.7 GB once every cell is read."""
    parts["xl/sharedStrings.xml"] = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns="http://schemas.'
        'openxmlformats.org/spreadsheetml/2006/main" count="30000" uniqueCount="1"><si><t>'
        + "あ" * 30_000 + "</t></si></sst>").encode()
    add_part(parts, "rId98", "sharedStrings", "/xl/sharedStrings.xml")
    part = sheet_part(parts, "Incidents")
    xml = parts[part].decode()
    last = max(int(row) for row in re.findall(r'<row r="(\d+)"', xml))
    rows = "".join(f'<row r="{row}"><c r="A{row}" t="inlineStr"><is><t>I-{row}</t></is></c>'
                   f'<c r="V{row}" t="s"><v>0</v></c></row>'
                   for row in range(last + 1, last + 30_001))
    at = xml.index("</sheetData>")
    parts[part] = (xml[:at] + rows + xml[at:]).encode()


def many_characters(parts: Parts) -> None:
    """650 more monthly contracts, each with 16 incidents in October whose descriptions are 16
    shared strings of 600 distinct kanji: every document shows 9,600 kanji (a PDF embeds a
    glyph for each), 6.3 million in all from a workbook of a few hundred KB."""
    texts = ["".join(chr(0x4E00 + 600 * i + j) for j in range(600)) for i in range(16)]
    parts["xl/sharedStrings.xml"] = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns="http://schemas.'
        'openxmlformats.org/spreadsheetml/2006/main">'
        + "".join(f"<si><t>{text}</t></si>" for text in texts) + "</sst>").encode()
    add_part(parts, "rId98", "sharedStrings", "/xl/sharedStrings.xml")
    rows_appended("Contracts", 650, monthly_contract)(parts)

    def incident(row: int, k: int) -> str:
        contract, text = divmod(k - 1, 16)
        return (inline(f"A{row}", f"M-{k:05d}") + inline(f"B{row}", f"K{contract + 1:05d}")
                + number(f"C{row}", "46299", "8") + number(f"D{row}", "46299", "8")
                + inline(f"E{row}", "email") + number(f"F{row}", "1")
                + f'<c r="V{row}" t="s"><v>{text}</v></c>')
    rows_appended("Incidents", 650 * 16, incident)(parts)


def rows_appended(sheet: str, count: int, make: Callable[[int, int], str]
                  ) -> Callable[[Parts], None]:
    """``count`` rows after the sheet's last one: ``make(row, k)`` gives the k-th row's cells
    (k from 1)."""
    def edit(parts: Parts) -> None:
        part = sheet_part(parts, sheet)
        xml = parts[part].decode()
        last = max(int(row) for row in re.findall(r'<row r="(\d+)"', xml))
        rows = "".join(f'<row r="{row}">{make(row, row - last)}</row>'
                       for row in range(last + 1, last + count + 1))
        at = xml.index("</sheetData>")
        parts[part] = (xml[:at] + rows + xml[at:]).encode()
    return edit


def monthly_contract(row: int, k: int) -> str:
    """A monthly contract since 2026-01-01 (a monthly fee every month: one invoice each)."""
    return (inline(f"A{row}", f"K{k:05d}") + inline(f"B{row}", f"テスト{k}")
            + inline(f"D{row}", "monthly") + number(f"F{row}", "2")
            + number(f"H{row}", "46023", "8"))


def vendor_pack(row: int, k: int) -> str:
    """A pack of 10 units bought by V001 on 2026-10-01."""
    return inline(f"A{row}", "V001") + number(f"B{row}", "46296", "8") + number(f"C{row}", "10")


def long_vendor_incident(row: int, k: int) -> str:
    """A paid-support incident of V001 closed 2026-10-04, 3,000 minutes: more units than any
    pack holds, so that it runs past the packs and opens an automatic top-up."""
    return (inline(f"A{row}", f"T-{k:05d}") + inline(f"B{row}", "V001")
            + number(f"C{row}", "46299", "8") + number(f"D{row}", "46299", "8")
            + inline(f"E{row}", "phone") + number(f"G{row}", "3000"))


def shared_string_entity(parts: Parts) -> None:
    """I-1002's description a shared string holding an undefined entity (&nbsp;): not XML."""
    parts["xl/sharedStrings.xml"] = (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns="http://schemas.'
        b'openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1"><si><t>a&nbsp;b'
        b"</t></si></sst>")
    add_part(parts, "rId98", "sharedStrings", "/xl/sharedStrings.xml")
    cell_rewritten("Incidents", "I-1002", "V", r'<c r="V15" t="inlineStr">.*</c>',
                   '<c r="V15" t="s"><v>0</v></c>')(parts)


def shared_contract_id(item: str) -> Callable[[Parts], None]:
    """I-1002's contract id a shared string: the workbook's one item, written ``item``."""
    def edit(parts: Parts) -> None:
        parts["xl/sharedStrings.xml"] = (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns="http://schemas.'
            'openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1">'
            f"{item}</sst>").encode()
        add_part(parts, "rId98", "sharedStrings", "/xl/sharedStrings.xml")
        incident("I-1002", "B", lambda r: f'<c r="{r}" t="s"><v>0</v></c>')(parts)
    return edit


def dtd_after_comment(xml: bytes) -> bytes:
    body = re.sub(rb"^<\?xml[^>]*\?>", b"", xml)
    return (b'<?xml version="1.0" encoding="UTF-8"?>\n<!-- ' + b"padding " * 1024 + b"-->\n"
            b'<!DOCTYPE worksheet [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>'
            + body)


def utf16(xml: bytes, doctype: bool) -> bytes:
    text = re.sub(r"^<\?xml[^>]*\?>", "", xml.decode())
    declaration = '<?xml version="1.0" encoding="UTF-16"?>'
    if doctype:
        declaration += '<!DOCTYPE worksheet [<!ENTITY a "aaaaaaaaaa">]>'
    return (declaration + text).encode("utf-16")


BIG_FILLER_ROWS = 100_000  # ~10 MB of Incidents XML: inflated in several blocks, read in bands


def filler_row(row: int, k: int) -> str:
    """A row holding only a note in column Z, which has no header: xlquote does not read it,
    and the row is blank to every reader."""
    return inline(f"Z{row}", f"メモ {k:06d} " + "x" * 40)


def late_in_a_big_sheet(after_sheet_data: str = "", in_last_row: str = ""
                        ) -> Callable[[Parts], None]:
    """BIG_FILLER_ROWS filler rows after the Incidents sheet's last, then XML: ``in_last_row``
    (a cell, ``{ref}`` its address in column AA, which xlquote does not read either) in the
    last filler row, ``after_sheet_data`` after sheetData."""
    def edit(parts: Parts) -> None:
        rows_appended("Incidents", BIG_FILLER_ROWS, lambda row, k: filler_row(row, k) + (
            in_last_row.format(ref=f"AA{row}") if k == BIG_FILLER_ROWS else ""))(parts)
        part = sheet_part(parts, "Incidents")
        at = parts[part].index(b"</sheetData>") + len(b"</sheetData>")
        parts[part] = parts[part][:at] + after_sheet_data.encode() + parts[part][at:]
    return edit


def plain_calculation(xml: bytes) -> bytes:
    """workbook.xml as Excel saves it: no request to recalculate on opening."""
    return xml.replace(b' fullCalcOnLoad="1"', b"")


# --- the cases -------------------------------------------------------------------------------

def incident(first_cell: str, column: str, make: Callable[[str], str]) -> Callable[[Parts], None]:
    return cell_edit("Incidents", first_cell, column, make)


def contract(first_cell: str, column: str, make: Callable[[str], str]) -> Callable[[Parts], None]:
    return cell_edit("Contracts", first_cell, column, make)


FILE = "file"
CASES: tuple[Case, ...] = (
    Case("original", "the demo workbook as it is", no_edit),
    Case("na_minutes", "#N/A in an incident's minutes (I-1002)",
         incident("I-1002", "G", lambda r: error(r, "#N/A")),
         (Expected("Incidents", 15, "minutes", "エラー値は使えません", "#N/A"),)),
    Case("value_closed", "#VALUE! in a closed date (I-1003)",
         incident("I-1003", "D", lambda r: error(r, "#VALUE!")),
         (Expected("Incidents", 16, "closed", "エラー値は使えません", "#VALUE!"),)),
    Case("nan_fee_limit", "NaN in a contract's fee limit (C004, ¥20,000)",
         contract("C004", "J", lambda r: number(r, "NaN")),
         (Expected("Contracts", 5, "fee_limit", "セルに入る数値ではありません", "NaN"),)),
    Case("na_fee_limit", "#N/A in a contract's fee limit (C004)",
         contract("C004", "J", lambda r: error(r, "#N/A")),
         (Expected("Contracts", 5, "fee_limit", "エラー値は使えません", "#N/A"),)),
    Case("inf_minutes", "INF in an incident's minutes",
         incident("I-1002", "G", lambda r: number(r, "INF")),
         (Expected("Incidents", 15, "minutes", "セルに入る数値ではありません", "INF"),)),
    Case("row_beyond_grid", "an incident on row 1,048,577, beyond Excel's last row",
         copy_row("Incidents", "I-1029", 1_048_577, "I-9999"),
         (Expected("Incidents", 1_048_577, "(row)", "Excel の最後の行"),)),
    Case("forged_size", "the Incidents part holds 300 MB more than its declared size",
         no_edit, (Expected(None, None, FILE, "申告"),), raw=forged_size),
    Case("bad_crc", "the Incidents part's CRC does not match", no_edit,
         (Expected(None, None, FILE, "チェックサム"),), raw=bad_crc),
    Case("part_twice", "the Incidents part stored twice, the second with other minutes",
         no_edit, (Expected(None, None, FILE, "2 回入っています"),), raw=part_twice),
    Case("part_case_twice", "the Incidents part stored again under its name in other case "
         "(Sheet4.xml, where the workbook points), the copy under sheet4.xml with other minutes",
         no_edit, (Expected(None, None, FILE, "大文字・小文字"),), raw=part_case_twice),
    Case("stray_cell_settings", "one value at XFD1048576 in Settings (Excel's last cell)",
         lambda parts: set_cell(parts, "Settings", "XFD1048576", number("XFD1048576", "1"))),
    Case("stray_cell_cv_settings", "one value at CV1048576 in Settings",
         lambda parts: set_cell(parts, "Settings", "CV1048576", number("CV1048576", "1"))),
    Case("stray_cell_incidents", "one value at XFD1048576 in Incidents, a column xlquote "
         "does not read",
         lambda parts: set_cell(parts, "Incidents", "XFD1048576", number("XFD1048576", "1"))),
    Case("stray_cell_z_incidents", "one value at Z1048576 in Incidents: a column xlquote does "
         "not read, within the columns the typed reader takes (its grid is as tall as the sheet)",
         lambda parts: set_cell(parts, "Incidents", "Z1048576", number("Z1048576", "1"))),
    Case("huge_quantities", "minutes 1e12 and sessions 3e9 on a paid-support incident (I-1025)",
         edits(incident("I-1025", "G", lambda r: number(r, "1000000000000")),
               incident("I-1025", "H", lambda r: number(r, "3000000000"))),
         (Expected("Incidents", 38, "minutes", "100,000 以下"),
          Expected("Incidents", 38, "sessions", "10,000 以下"))),
    Case("long_text", "a description of 40,000 characters (a cell holds 32,767)",
         incident("I-1002", "V", lambda r: inline(r, "あ" * 40_000)),
         (Expected("Incidents", 15, "description", "40,000 文字あります"),)),
    Case("long_text_unread", "40,000 characters in a column without a header",
         incident("I-1002", "Z", lambda r: inline(r, "あ" * 40_000))),
    Case("error_unread", "#REF! in a column without a header and in Settings' notes",
         edits(incident("I-1002", "Z", lambda r: error(r, "#REF!")),
               lambda parts: set_cell(parts, "Settings", "D3", error("D3", "#REF!")))),
    Case("dtd_after_comment", "a DTD with entities after a 8 KB comment in the Incidents part",
         rewrite("Incidents", dtd_after_comment),
         (Expected(None, None, FILE, "DTD"),)),
    Case("dtd_late_in_a_big_sheet", "a DTD after 100,000 rows of notes (~10 MB of XML) in "
         "the Incidents part: met only in its last block",
         late_in_a_big_sheet(after_sheet_data='<!DOCTYPE worksheet [<!ENTITY a "aaaaaaaaaa">]>'),
         (Expected(None, None, FILE, "DTD"),)),
    Case("formula_late_in_a_big_sheet", "a formula in a column xlquote does not read, after "
         "100,000 rows of notes in the Incidents part: the sheet is read cell by cell, to the "
         "same records",
         late_in_a_big_sheet(in_last_row='<c r="{ref}"><f>SUM(1,1)</f><v>2</v></c>')),
    Case("dtd_utf16", "the Incidents part in UTF-16 with a DTD",
         rewrite("Incidents", lambda xml: utf16(xml, True)),
         (Expected(None, None, FILE, "DTD"),)),
    Case("utf16_sheet", "the Incidents part in UTF-16 (allowed by the standard)",
         rewrite("Incidents", lambda xml: utf16(xml, False))),
    Case("latin1_sheet", "the Incidents part declared ISO-8859-1",
         rewrite("Incidents", lambda xml: re.sub(
             rb"^<\?xml[^>]*\?>", b"", xml).replace(
             b"<worksheet", b'<?xml version="1.0" encoding="ISO-8859-1"?><worksheet', 1)),
         (Expected(None, None, FILE, "ISO-8859-1"),)),
    Case("ambiguous_sheets", "two sheets named ＩＮＣＩＤＥＮＴＳ and incidents",
         second_sheet("ＩＮＣＩＤＥＮＴＳ", "incidents"),
         (Expected("Incidents", None, "(sheet)", "Incidents と読めるシートが 2 つ"),)),
    Case("text_date", "a closed date typed as text 2026-10-14 (I-1003)",
         incident("I-1003", "D", lambda r: inline(r, "2026-10-14"))),
    Case("text_date_slashes", "a closed date typed as text 2026/10/14 (I-1003)",
         incident("I-1003", "D", lambda r: inline(r, "2026/10/14"))),
    Case("text_date_other", "a closed date typed as text 14.10.2026 (I-1003)",
         incident("I-1003", "D", lambda r: inline(r, "14.10.2026")),
         (Expected("Incidents", 16, "closed", "日付として読めません", "14.10.2026"),)),
    Case("text_number", "minutes typed as text 25 (I-1002)",
         incident("I-1002", "G", lambda r: inline(r, "25"))),
    Case("text_number_other", "minutes typed as text 25分 (I-1002)",
         incident("I-1002", "G", lambda r: inline(r, "25分")),
         (Expected("Incidents", 15, "minutes", "数値として読めません", "25分"),)),
    Case("bool_minutes", "TRUE in an incident's minutes",
         incident("I-1002", "G", lambda r: f'<c r="{r}" t="b"><v>1</v></c>'),
         (Expected("Incidents", 15, "minutes", "数値として読めません", "True"),)),
    Case("formula_no_value", "a formula without a computed value in minutes (saved by a "
         "program that does not calculate)",
         incident("I-1002", "G", lambda r: f'<c r="{r}"><f>SUM(20,5)</f><v></v></c>'),
         (Expected("Incidents", 15, "minutes", "計算結果が保存されていない数式", "=SUM(20,5)"),)),
    Case("formula_not_calculated", "a formula with a value in a workbook that asks Excel to "
         "calculate on opening (the value was never calculated)",
         incident("I-1002", "G", lambda r: f'<c r="{r}"><f>SUM(20,5)</f><v>0</v></c>'),
         (Expected("Incidents", 15, "minutes", "一度も計算されていない数式", "=SUM(20,5)"),)),
    Case("formula_calculated", "a formula with its computed value in a workbook saved by "
         "Excel",
         edits(incident("I-1002", "G", lambda r: f'<c r="{r}"><f>SUM(20,5)</f><v>25</v></c>'),
               rewrite("xl/workbook.xml", plain_calculation))),
    Case("missing_shared_string", "a cell pointing at a shared string the workbook lacks",
         incident("I-1002", "G", lambda r: f'<c r="{r}" t="s"><v>7</v></c>'),
         (Expected("Incidents", 15, "minutes", "ブックにない共有文字列"),)),
    Case("shared_string_bomb", "30,000 incidents whose description is one shared string of "
         "30,000 characters (2.7 GB once expanded)", shared_string_bomb,
         (Expected(None, None, FILE, "共有文字列爆弾"),)),
    Case("row_twice", "I-1002's row stored twice, the copy with minutes 99",
         row_twice("Incidents", "I-1002", "G", "99"),
         (Expected("Incidents", 15, "(row)", "15行目が 2 回あります"),)),
    Case("row_moved", "I-1029's row stored before I-1002's",
         row_moved("Incidents", "I-1029", "I-1002"),
         (Expected("Incidents", 15, "(row)", "42行目の後に 15行目があり"),)),
    Case("cell_twice", "I-1002's minutes stored twice, the copy holding 99",
         cell_twice("Incidents", "I-1002", "G", "99"),
         (Expected("Incidents", 15, "G", "同じセルが 2 回"),)),
    Case("cells_swapped", "I-1002's minutes stored before its channel",
         cells_swapped("Incidents", "I-1002", "E", "G"),
         (Expected("Incidents", 15, "E", "セルの順番が乱れて"),)),
    Case("cell_readdressed", "I-1002's minutes addressed G16 while stored in row 15",
         cell_rewritten("Incidents", "I-1002", "G", r'r="G\d+"', 'r="G16"'),
         (Expected("Incidents", 15, "G", "G16 が 15行目に入っています"),)),
    Case("cell_readdressed_far", "a value in I-1002's row (15) addressed Z1048576, a column "
         "xlquote does not read: calamine would place it a million rows down",
         sheet_edit("Incidents", "I-1002", lambda xml, row: (
             xml[:row.end() - len("</row>")] + '<c r="Z1048576" t="n"><v>1</v></c>'
             + xml[row.end() - len("</row>"):])),
         (Expected("Incidents", 15, "Z", "Z1048576 が 15行目に入っています"),)),
    Case("row_after_sheet_data", "an incident's row (I-9999, row 46) after the sheet's data "
         "(</sheetData>), where fastexcel does not look", row_after_sheet_data(
             "Incidents", "I-1029", 46, "I-9999"),
         (Expected("Incidents", 46, "(row)", "sheetData) の外にあります"),)),
    Case("cell_wrapped", "I-1002's minutes cell inside an element <x> in its row",
         wrapped("Incidents", "I-1002", "G", inner=False),
         (Expected("Incidents", 15, "(row)", "行の中に読めない要素", "<x>"),)),
    Case("value_wrapped", "I-1002's minutes value inside an element <x> in its cell",
         wrapped("Incidents", "I-1002", "G", inner=True),
         (Expected("Incidents", 15, "minutes", "セルの中に読めない要素", "<x>"),)),
    Case("row_in_namespace", "I-1002's row declared in a namespace of its own (xmlns=\"urn:x\")",
         row_in_namespace("Incidents", "I-1002"),
         (Expected("Incidents", 16, "(row)", "この行の前に、行でない要素", "<row> (urn:x)"),)),
    Case("value_reference", "I-1002's minutes written with a character reference (&#50;5): "
         "25 to an XML reader", cell_rewritten("Incidents", "I-1002", "G", r"<v>[^<]*</v>",
                                                "<v>&#50;5</v>")),
    Case("boolean_written_true", "I-0601's personal (TRUE/FALSE) written true instead of 1",
         cell_rewritten("Incidents", "I-0601", "O", r"<v>[^<]*</v>", "<v>true</v>"),
         (Expected("Incidents", 7, "personal", "TRUE/FALSE のセルに別のもの", "true"),)),
    Case("escaped_contract_id", "I-1002's contract written C_x0030_01: C001 to Excel (an "
         "escaped character, as Excel and XlsxWriter store a carriage return)",
         cell_rewritten("Incidents", "I-1002", "B", "<t>C001</t>", "<t>C_x0030_01</t>")),
    Case("inline_text_in_number_cell", "I-1002's contract id as inline text in a cell of type "
         "n (calamine would read the text, an XML reader by the type)",
         cell_rewritten("Incidents", "I-1002", "B", 't="inlineStr"', 't="n"'),
         (Expected("Incidents", 15, "contract_id", "セルの種類 (n) と中身が合いません", "C001"),)),
    Case("untyped_text_contract", "I-1002's contract id C001 as the value of a cell of no type "
         "(a number cell to an XML reader; calamine would read the text)",
         incident("I-1002", "B", lambda r: number(r, "C001")),
         (Expected("Incidents", 15, "contract_id", "数値のセルに数値でないもの", "C001"),)),
    Case("attributes_run_together", "I-1002's minutes cell written <c r=\"G15\"t=\"n\">, its "
         "attributes run together: not XML (calamine would read the cell)",
         incident("I-1002", "G", lambda r: f'<c r="{r}"t="n"><v>25</v></c>'),
         (Expected(None, None, FILE, "Excel のブックとして読めません"),)),
    Case("attribute_twice", "I-1002's minutes cell written <c r=\"G15\" t=\"n\" x=\"1\" "
         "x=\"2\">, an attribute given twice: not XML (calamine would read the cell)",
         incident("I-1002", "G", lambda r: f'<c r="{r}" t="n" x="1" x="2"><v>25</v></c>'),
         (Expected(None, None, FILE, "Excel のブックとして読めません"),)),
    Case("dimension_attribute_twice", "Incidents' dimension written with its ref twice, before "
         "sheetData: not XML (calamine would read the sheet)",
         rewrite("Incidents", lambda xml: re.sub(rb'<dimension ref="([^"]*)"',
                                                  rb'<dimension ref="\1" ref="\1"', xml, count=1)),
         (Expected(None, None, FILE, "Excel のブックとして読めません"),)),
    Case("format_code_too_long", "a number format of 300 characters in styles.xml (Excel "
         "holds 255; one of 9 million cost calamine seconds for every style using it)",
         rewrite("xl/styles.xml", lambda xml: xml.replace(
             b'<numFmt numFmtId="166"', b'<numFmt numFmtId="167" formatCode="' + b"0" * 300
             + b'"/><numFmt numFmtId="166"', 1)),
         (Expected(None, None, FILE, "255 文字まで"),)),
    Case("escape_split_across_runs", "I-1002's minutes typed as text in two runs, 2_x00 and "
         "35_: each run is decoded alone, so no escape (fastexcel reads 2_x0035_)",
         incident("I-1002", "G", lambda r: f'<c r="{r}" t="inlineStr"><is><r><t>2_x00</t></r>'
                  '<r><t>35_</t></r></is></c>'),
         (Expected("Incidents", 15, "minutes", "数値として読めません", "2_x0035_"),)),
    Case("escape_above_ff", "I-1002's minutes typed as text 2_x3000_5: only _x00HH_ is an "
         "escape (fastexcel keeps the rest as written)",
         incident("I-1002", "G", lambda r: inline(r, "2_x3000_5")),
         (Expected("Incidents", 15, "minutes", "数値として読めません", "2_x3000_5"),)),
    Case("escaped_minutes", "I-1002's minutes typed as text _x0032_5: 25 to Excel and to both "
         "read paths", incident("I-1002", "G", lambda r: inline(r, "_x0032_5"))),
    Case("infinity_minutes", "I-1002's minutes written Infinity (not finite, as INF)",
         cell_rewritten("Incidents", "I-1002", "G", r"<v>[^<]*</v>", "<v>Infinity</v>"),
         (Expected("Incidents", 15, "minutes", "セルに入る数値ではありません", "INF"),)),
    Case("blank_pack_units", "V001's pack units left blank (a number cell without a value)",
         cell_rewritten("Packs", "V001", "C", r"<v>[^<]*</v>", ""),
         (Expected("Packs", 2, "units", "", "None"),)),
    Case("shared_string_entity", "a shared string holding an undefined entity (&nbsp;): "
         "fastexcel could not open the workbook and raised", shared_string_entity,
         (Expected(None, None, FILE, "Excel のブックとして読めません"),)),
    Case("shared_string_phonetic", "I-1002's contract id C001 a shared string with a phonetic "
         "guide, as Excel stores text typed in Japanese",
         shared_contract_id('<si><t>C001</t><rPh sb="0" eb="4"><t>シーゼロゼロイチ</t></rPh>'
                            '<phoneticPr fontId="1"/></si>')),
    Case("shared_string_two_texts", "I-1002's contract id a shared string of two texts, C0 and "
         "01 (calamine reads the first alone, C0)",
         shared_contract_id("<si><t>C0</t><t>01</t></si>"),
         (Expected("Incidents", 15, "contract_id", "文字列の中の要素の並び", "C001"),)),
    Case("runs_spaces_trimmed", "I-1002's contract id as inline runs C00␣ and 1, the space not "
         "preserved (xml:space): C001 to both read paths, as fastexcel trims a text's ends",
         incident("I-1002", "B", lambda r: f'<c r="{r}" t="inlineStr"><is><r><t>C00 </t></r>'
                  '<r><t>1</t></r></is></c>')),
    Case("shared_item_in_run_properties", "I-1002's contract id shared string 0, whose run "
         "properties hold an empty <si/>: not an item of its own (shared string 1 is C002)",
         shared_contract_id("<si><r><rPr><si/></rPr><t>C0</t></r><r><t>01</t></r></si>"
                            "<si><t>C002</t></si>")),
    Case("run_in_phonetic_guide", "I-1002's contract id inline text C0, then a phonetic guide "
         "holding a run 01 (calamine skips it; an XML reader could read C001)",
         incident("I-1002", "B", lambda r: f'<c r="{r}" t="inlineStr"><is><r><t>C0</t></r>'
                  '<rPh sb="0" eb="1"><r><t>01</t></r></rPh></is></c>'),
         (Expected("Incidents", 15, "contract_id", "文字列の中の要素の並び", "C0"),)),
    Case("negative_date_serial", "a date-formatted -5 in a closed date",
         restyled("Incidents", "I-1003", "D", "-5"),
         (Expected("Incidents", 16, "closed", "Excel で表せる日付"),)),
    Case("too_many_contracts", "50,000 more contracts (a workbook lists at most 50,000)",
         rows_appended("Contracts", 50_000, monthly_contract),
         (Expected("Contracts", 50_002, "(row)", "1 冊のブックに載せられる 50,000 件を超えて"),)),
    Case("too_many_packs", "50,000 more packs of V001 (a workbook lists at most 50,000)",
         rows_appended("Packs", 50_000, vendor_pack),
         (Expected("Packs", 50_002, "(row)", "1 冊のブックに載せられる 50,000 件を超えて"),)),
    Case("too_many_documents", "10,000 more monthly contracts, each billed in October: 10,019 "
         "documents (a run draws at most 10,000)",
         rows_appended("Contracts", 10_000, monthly_contract),
         (Expected("Contracts", 10_004, "contract_id", "1 回の実行で作れる 10,000 通を超えて",
                   "K09982"),), refused_by="billing"),
    Case("many_characters", "650 more monthly contracts whose 16 incidents each share 16 "
         "strings of 600 distinct kanji: 9,600 kanji on every document, 6.3 million in all (a "
         "run's documents show at most 6,000,000)", many_characters,
         (Expected("Contracts", 23, "contract_id", "1 回の実行で作れる 6,000,000 字を超えて",
                   "K00001"),), refused_by="billing"),
    Case("too_many_invoice_lines", "1,001 more paid-support incidents of V001 in October, "
         "each of 3,000 minutes: each runs past the packs and adds an automatic top-up line "
         "(an invoice bills at most 1,000 lines)",
         rows_appended("Incidents", 1_001, long_vendor_incident),
         (Expected("Contracts", 17, "contract_id", "1 通の請求書に載せられる 1,000 行を超えて",
                   "V001"),), refused_by="billing"),
    Case("closed_days_whole_year", "Settings closed_days 1/1-12/31 (the run searched past the "
         "calendar's end for a business day)",
         lambda parts: set_cell(parts, "Settings", "B9", inline("B9", "1/1-12/31")),
         (Expected("Settings", 9, "closed_days", "366 日続きます"),)),
    Case("closed_days_chained", "closed_days 1/1-1/31, 2/1-2/29, 3/1-3/31: no business day for "
         "three months",
         lambda parts: set_cell(parts, "Settings", "B9",
                                inline("B9", "1/1-1/31, 2/1-2/29, 3/1-3/31")),
         (Expected("Settings", 9, "closed_days", "62 日を超えて営業日がありません"),)),
    Case("issuer_name_too_long", "an issuer name of 201 characters (every page of every "
         "document prints it)",
         lambda parts: set_cell(parts, "Settings", "B2", inline("B2", "発" * 201)),
         (Expected("Settings", 2, "issuer_name", "200 文字までです", "発" * 40 + "…"),)),
    Case("customer_invisible", "C002's customer a zero-width space: 御中 under an empty name on "
         "a qualified invoice", contract("C002", "B", lambda r: inline(r, "\u200b")),
         (Expected("Contracts", 3, "customer", "必須です"),)),
    Case("issuer_invisible", "the issuer's name two zero-width spaces: a qualified invoice "
         "without a visible issuer",
         lambda parts: set_cell(parts, "Settings", "B2", inline("B2", "\u200b\u200b")),
         (Expected("Settings", 2, "issuer_name", "必須"),)),
    Case("customer_too_long", "C002's customer name of 201 characters",
         contract("C002", "B", lambda r: inline(r, "顧" * 201)),
         (Expected("Contracts", 3, "customer", "200 文字までです", "顧" * 40 + "…"),)),
    Case("error_without_code", "an error cell without its code (<c t=\"e\"/>) in I-1003's minutes",
         incident("I-1003", "G", lambda r: f'<c r="{r}" t="e"/>'),
         (Expected("Incidents", 16, "minutes", "値がありません"),)),
    Case("shared_string_without_index", "a shared-string cell with an empty value in I-1003's "
         "minutes", incident("I-1003", "G", lambda r: f'<c r="{r}" t="s"><v></v></c>'),
         (Expected("Incidents", 16, "minutes", "値がありません"),)),
    Case("typed_without_value_unread", "cells of each type without a value in a column without "
         "a header", edits(*(incident(first, "Z", lambda r, kind=kind: f'<c r="{r}" t="{kind}"/>')
                             for first, kind in (("I-1002", "e"), ("I-1003", "s"), ("I-1004", "b"),
                                                 ("I-1005", "d"))))),
    Case("east_asian_date_format_minutes", "I-1003's minutes 100 in the built-in format 31 "
         "(yyyy年m月d日 in Japanese Excel): a number on every path, as calamine reads it",
         in_format("Incidents", "I-1003", "G", "100", "31")),
    Case("format_id_with_zero", "I-1003's minutes 100 in format id 014, written with a zero: "
         "not the date format 14 on any path", in_format("Incidents", "I-1003", "G", "100", "014")),
    Case("date_format_minutes", "I-1003's minutes 100 in the built-in date format 14: refused "
         "with the date it shows", in_format("Incidents", "I-1003", "G", "100", "14"),
         (Expected("Incidents", 16, "minutes", "数値として読めません", "1900-04-09"),)),
    Case("duration_format_minutes", "I-1003's minutes 25 in the built-in elapsed-time format 46 "
         "([h]:mm:ss): refused, named as Excel shows it (600:00:00), not as 25 days",
         in_format("Incidents", "I-1003", "G", "25", "46"),
         (Expected("Incidents", 16, "minutes", "数値として読めません", "600:00:00"),)),
    Case("header_misspelt", "the Incidents header minutes written minute: the column misspelt, "
         "not one of the clerk's own (read as absent, every call would count 0 minutes)",
         header_renamed("Incidents", "minutes", "minute"),
         (Expected("Incidents", 1, "minute", "minutes の列がありません", "minute"),)),
    Case("header_error", "the Incidents header closed an error value (#REF!, a column deleted "
         "under a formula): read as no name, every incident would count as open and go unbilled",
         header_error("Incidents", "closed", "#REF!"),
         (Expected("Incidents", 1, "D", "見出しを読めません", "#REF!"),)),
    Case("header_of_own_column", "a column of the clerk's own, headed メモ, beside the Incidents",
         edits(lambda parts: set_cell(parts, "Incidents", "Z1", inline("Z1", "メモ")),
               incident("I-1002", "Z", lambda r: inline(r, "折り返し済み")))),
    Case("setting_twice", "a second issuer_name row (別の会社) below the Settings: which name "
         "a qualified invoice prints cannot be chosen",
         edits(lambda parts: set_cell(parts, "Settings", "A12", inline("A12", "発行者名")),
               lambda parts: set_cell(parts, "Settings", "B12", inline("B12", "別の会社"))),
         (Expected("Settings", 12, "issuer_name", "2行目にもあります", "発行者名"),)),
    Case("date_styled_minutes", "I-1002's minutes 51 in the date format of its opened date: "
         "named with the date it shows, 1900-02-20, on every path",
         styled_like("Incidents", "I-1002", "G", "C", "51"),
         (Expected("Incidents", 15, "minutes", "数値として読めません", "1900-02-20"),)),
)


def build(case: Case, parts: Parts) -> bytes:
    edited = dict(parts)
    case.edit(edited)
    return case.raw(edited) if case.raw else package(edited)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", action="store_true",
                        help="take a fresh copy of the demo workbook as demo.xlsm first")
    args = parser.parse_args()
    if args.base:
        from xlquote.app.workbooks import invoicing

        fresh = HERE / "_fresh.xlsm"
        invoicing.build(fresh)
        BASE.write_bytes(package(read_parts(fresh)))
        fresh.unlink()
    parts = read_parts(BASE)
    for old in HERE.glob("*.xlsm"):
        if old != BASE and old.stem not in {c.name for c in CASES}:
            old.unlink()
    for case in CASES:
        case.file.write_bytes(build(case, parts))
        print(f"{case.file.name:<32} {case.file.stat().st_size:>9,} bytes  {case.what}")


if __name__ == "__main__":
    main()
