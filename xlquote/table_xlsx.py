"""Plain tables of ten thousand rows and more (the month's summary) written straight as
SpreadsheetML, with the guarantees of ``xlsx.py``: text stays text, the Japanese font
everywhere, same content → same bytes, A4.

Why not XlsxWriter here: it makes a Python object per cell and then its XML at close, ~5 µs a
cell (1.1 s for a 10,000-contract month's summary); a row here is one string join, about five
times faster. It writes only what such a table needs: text (shared strings), numbers, dates,
booleans; cell styles of bold, size, fill and number format; column widths, frozen top rows and
the A4 page. Everything else stays with XlsxWriter (``fast_xlsx.py``) and openpyxl.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from .ooxml import (
    OFFICE_RELATIONSHIPS,
    PACKAGE_RELATIONSHIPS,
    SPREADSHEET_MAIN,
    WORKBOOK,
    WORKBOOK_RELATIONSHIPS,
    XML_DECLARATION,
)
from .xlsx import A4_PAPER, A4_SIDE_MARGIN, DATE_FORMAT, JAPANESE_FONT, REPRODUCIBLE_STAMP

OFFICE_TYPE = "application/vnd.openxmlformats-officedocument"
ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # the earliest a zip entry can carry: no build time in the file
COMPRESS_LEVEL = 3  # 15 % bigger than zlib's default 6, in less than half the time
MAX_COLUMNS = 16_384
MAX_ROWS = 1_048_576
EXCEL_EPOCH = dt.datetime(1899, 12, 30)  # serial 0 of the 1900 date system (after Feb 1900)
SHEET_NAME_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
# Characters XML 1.0 cannot carry, and text that already looks like OOXML's escape for one:
# both are written as _xHHHH_ (the underscore of the latter as _x005F_), as Excel does.
XML_FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]|_(?=x[0-9A-Fa-f]{4}_)")


@dataclass(frozen=True)
class CellStyle:
    """How a cell looks; every font is the Japanese font."""

    bold: bool = False
    size: int = 11
    fill: str | None = None  # solid background, "RRGGBB"
    number_format: str | None = None

    def __post_init__(self) -> None:
        if self.fill is not None and not re.fullmatch(r"[0-9A-Fa-f]{6}", self.fill):
            raise ValueError(f"fill must be a colour as RRGGBB, got {self.fill!r}")
        if not 1 <= self.size <= 409:
            raise ValueError(f"font size must be 1..409, got {self.size!r}")


PLAIN = CellStyle()


def column_letter(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def excel_width(characters: float) -> float:
    """The width Excel stores for a column showing ``characters`` digits of the default font:
    the digits plus 5 pixels of padding, in 1/256ths of a 7-pixel digit (what Excel and
    XlsxWriter write)."""
    if characters <= 0:
        return 0.0
    pixels = int(characters * 12 + 0.5) if characters < 1 else int(characters * 7 + 0.5) + 5
    return int(pixels / 7 * 256) / 256


def _xml_char(match: re.Match[str]) -> str:
    return f"_x{ord(match.group()):04X}_"


def xml_text(text: str) -> str:
    """Text as XML character data that reads back as ``text``."""
    return escape(XML_FORBIDDEN.sub(_xml_char, text))


class TableSheet:
    """One sheet, written row by row (rows in increasing order, each at most once)."""

    def __init__(self, book: TableWorkbook, name: str, widths: Sequence[float],
                 frozen_rows: int, landscape: bool) -> None:
        self.book, self.name, self.widths = book, name, tuple(widths)
        self.frozen_rows, self.landscape = frozen_rows, landscape
        self._rows: list[str] = []
        self._last_row, self._last_column = -1, -1

    def write_row(self, row: int, values: Sequence[Any],
                  styles: Sequence[CellStyle | None]) -> None:
        """Cells of row ``row`` (0-based) from column A, each with its style (None: plain)."""
        self.write_rows(row, [values], styles)

    def write_rows(self, first: int, rows: Sequence[Sequence[Any]],
                   styles: Sequence[CellStyle | None]) -> None:
        """Rows from row ``first`` (0-based) on, cells from column A, each with its column's
        style (None: plain). Text is always stored as text; None and empty text are blank
        cells, written only when styled."""
        if not self._last_row < first <= MAX_ROWS - len(rows):
            raise ValueError(f"sheet {self.name}: row {first + 1} written out of order")
        if len(styles) > MAX_COLUMNS:
            raise ValueError(f"sheet {self.name}: more than {MAX_COLUMNS} columns")
        # Per column, resolved once: its letter, its style's s="…", whether a blank is written,
        # and (when a date comes) the s="…" of its style for a date.
        book = self.book
        columns = [(column_letter(col), book._style_index(style),
                    style is not None and style != PLAIN, style) for col, style in enumerate(styles)]
        dated: dict[str, str] = {}  # column letter → the s="…" for a date there
        strings = book._strings
        out = self._rows
        string_cells = 0
        for number, values in enumerate(rows, start=first + 1):
            if len(values) != len(columns):
                raise ValueError(f"sheet {self.name}: row {number} has {len(values)} values "
                                 f"for {len(columns)} styles")
            cells = []
            for (letter, attribute, styled_blank, style), value in zip(columns, values,
                                                                       strict=True):
                if isinstance(value, str) and value:
                    index = strings.get(value)
                    if index is None:
                        index = strings[value] = len(strings)
                    string_cells += 1
                    cells.append(f'<c r="{letter}{number}"{attribute} t="s"><v>{index}</v></c>')
                elif value is None or isinstance(value, str):
                    if styled_blank:
                        cells.append(f'<c r="{letter}{number}"{attribute}/>')
                elif isinstance(value, bool):  # before numbers: a bool is an int
                    cells.append(f'<c r="{letter}{number}"{attribute} t="b">'
                                 f"<v>{int(value)}</v></c>")
                elif isinstance(value, dt.date):
                    if letter not in dated:
                        dated[letter] = book._style_index(_dated(style))
                    cells.append(f'<c r="{letter}{number}"{dated[letter]}>'
                                 f"<v>{_serial(value)}</v></c>")
                elif isinstance(value, int | float) and math.isfinite(value):
                    cells.append(f'<c r="{letter}{number}"{attribute}><v>{value!r}</v></c>')
                else:
                    raise ValueError(f"sheet {self.name}: cell {letter}{number} cannot hold "
                                     f"{value!r}")
            if cells:
                out.append(f'<row r="{number}">{"".join(cells)}</row>')
                self._last_column = max(self._last_column, len(columns) - 1)
        book._string_cells += string_cells
        self._last_row = first + len(rows) - 1

    def xml(self, selected: bool) -> str:
        last = (f":{column_letter(self._last_column)}{self._last_row + 1}"
                if self._rows else "")
        pane = (f'<pane ySplit="{self.frozen_rows}" topLeftCell="A{self.frozen_rows + 1}" '
                'activePane="bottomLeft" state="frozen"/><selection pane="bottomLeft"/>'
                if self.frozen_rows else "")
        columns = "".join(
            f'<col min="{i}" max="{i}" width="{excel_width(w)}" customWidth="1"/>'
            for i, w in enumerate(self.widths, start=1))
        orientation = "landscape" if self.landscape else "portrait"
        selection = ' tabSelected="1"' if selected else ""
        return "".join((
            XML_DECLARATION, f'<worksheet xmlns="{SPREADSHEET_MAIN}" xmlns:r="{OFFICE_RELATIONSHIPS}">',
            '<sheetPr><pageSetUpPr fitToPage="1"/></sheetPr>',
            f'<dimension ref="A1{last}"/>',
            f'<sheetViews><sheetView{selection} workbookViewId="0">{pane}</sheetView>'
            "</sheetViews>",
            '<sheetFormatPr defaultRowHeight="15"/>',
            f"<cols>{columns}</cols>" if columns else "",
            "<sheetData>", *self._rows, "</sheetData>",
            '<printOptions horizontalCentered="1"/>',
            f'<pageMargins left="{A4_SIDE_MARGIN}" right="{A4_SIDE_MARGIN}" top="0.75" '
            'bottom="0.75" header="0.3" footer="0.3"/>',
            f'<pageSetup paperSize="{A4_PAPER}" fitToHeight="0" orientation="{orientation}"/>',
            "</worksheet>"))


def _dated(style: CellStyle | None) -> CellStyle:
    if style is None or style.number_format is None:
        return replace(style or PLAIN, number_format=DATE_FORMAT)
    return style


def _serial(value: dt.date) -> int | float:
    if isinstance(value, dt.datetime):
        return (value.replace(tzinfo=None) - EXCEL_EPOCH) / dt.timedelta(days=1)
    return value.toordinal() - EXCEL_EPOCH.toordinal()


class TableWorkbook:
    """Sheets of rows, their shared strings and cell styles; ``save`` writes the file."""

    def __init__(self) -> None:
        self.sheets: list[TableSheet] = []
        self._strings: dict[str, int] = {}  # text → its position in the shared strings
        self._string_cells = 0
        self._styles: dict[CellStyle, str] = {PLAIN: ""}  # style → its s="…" attribute

    def add_sheet(self, name: str, widths: Sequence[float] = (), frozen_rows: int = 0,
                  landscape: bool = False) -> TableSheet:
        """A sheet printed on A4, one page wide, centred; ``frozen_rows`` stay in view."""
        if not 0 < len(name) <= 31 or SHEET_NAME_FORBIDDEN.search(name) or name[0] == "'":
            raise ValueError(f"not a valid sheet name: {name!r}")
        if any(sheet.name.casefold() == name.casefold() for sheet in self.sheets):
            raise ValueError(f"sheet {name!r} exists already")
        sheet = TableSheet(self, name, widths, frozen_rows, landscape)
        self.sheets.append(sheet)
        return sheet

    def _style_index(self, style: CellStyle | None) -> str:
        if style is None:
            return ""
        attribute = self._styles.get(style)
        if attribute is None:
            attribute = self._styles[style] = f' s="{len(self._styles)}"'
        return attribute

    def save(self, path: str | Path, stamp: dt.datetime = REPRODUCIBLE_STAMP) -> Path:
        """Write the workbook to ``path`` (callers make it atomic, see ``xlsx.atomic_path``)."""
        if not self.sheets:
            raise ValueError("a workbook needs at least one sheet")
        parts = {
            "[Content_Types].xml": self._content_types(),
            "_rels/.rels": _relationships([
                (f"{OFFICE_RELATIONSHIPS}/officeDocument", WORKBOOK),
                (f"{PACKAGE_RELATIONSHIPS}/metadata/core-properties", "docProps/core.xml"),
                (f"{OFFICE_RELATIONSHIPS}/extended-properties", "docProps/app.xml")]),
            "docProps/core.xml": _core_properties(stamp),
            "docProps/app.xml": self._app_properties(),
            WORKBOOK: self._workbook(),
            WORKBOOK_RELATIONSHIPS: _relationships(
                [(f"{OFFICE_RELATIONSHIPS}/worksheet", f"worksheets/sheet{i}.xml")
                 for i in range(1, len(self.sheets) + 1)]
                + [(f"{OFFICE_RELATIONSHIPS}/styles", "styles.xml"),
                   (f"{OFFICE_RELATIONSHIPS}/sharedStrings", "sharedStrings.xml")]),
            "xl/styles.xml": self._stylesheet(),
            "xl/sharedStrings.xml": self._shared_strings(),
        }
        for i, sheet in enumerate(self.sheets, start=1):
            parts[f"xl/worksheets/sheet{i}.xml"] = sheet.xml(selected=i == 1)
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, text in parts.items():
                entry = zipfile.ZipInfo(name, date_time=ZIP_DATE)
                entry.compress_type = zipfile.ZIP_DEFLATED
                # A lone surrogate (from a damaged source) would stop the write: "?" instead.
                archive.writestr(entry, text.encode("utf-8", "replace"),
                                 compresslevel=COMPRESS_LEVEL)
        return Path(path)

    def _content_types(self) -> str:
        sheet = f"{OFFICE_TYPE}.spreadsheetml.worksheet+xml"
        overrides = [
            ("/docProps/app.xml", f"{OFFICE_TYPE}.extended-properties+xml"),
            ("/docProps/core.xml", "application/vnd.openxmlformats-package.core-properties+xml"),
            ("/xl/styles.xml", f"{OFFICE_TYPE}.spreadsheetml.styles+xml"),
            ("/xl/workbook.xml", f"{OFFICE_TYPE}.spreadsheetml.sheet.main+xml"),
            *((f"/xl/worksheets/sheet{i}.xml", sheet) for i in range(1, len(self.sheets) + 1)),
            ("/xl/sharedStrings.xml", f"{OFFICE_TYPE}.spreadsheetml.sharedStrings+xml")]
        return "".join((
            XML_DECLARATION,
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">',
            '<Default Extension="rels" '
            'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>',
            '<Default Extension="xml" ContentType="application/xml"/>',
            *(f'<Override PartName="{part}" ContentType="{kind}"/>' for part, kind in overrides),
            "</Types>"))

    def _workbook(self) -> str:
        sheets = "".join(f'<sheet name={quoteattr(xml_text(s.name))} sheetId="{i}" r:id="rId{i}"/>'
                         for i, s in enumerate(self.sheets, start=1))
        return (f'{XML_DECLARATION}<workbook xmlns="{SPREADSHEET_MAIN}" xmlns:r="{OFFICE_RELATIONSHIPS}">'
                '<bookViews><workbookView/></bookViews>'
                f'<sheets>{sheets}</sheets><calcPr fullCalcOnLoad="1"/></workbook>')

    def _app_properties(self) -> str:
        names = "".join(f"<vt:lpstr>{xml_text(s.name)}</vt:lpstr>" for s in self.sheets)
        count = len(self.sheets)
        return (f"{XML_DECLARATION}<Properties xmlns=\"http://schemas.openxmlformats.org/"
                'officeDocument/2006/extended-properties" xmlns:vt="http://schemas.'
                'openxmlformats.org/officeDocument/2006/docPropsVTypes">'
                "<Application>xlquote</Application><HeadingPairs>"
                '<vt:vector size="2" baseType="variant"><vt:variant><vt:lpstr>Worksheets'
                f"</vt:lpstr></vt:variant><vt:variant><vt:i4>{count}</vt:i4></vt:variant>"
                f'</vt:vector></HeadingPairs><TitlesOfParts><vt:vector size="{count}" '
                f'baseType="lpstr">{names}</vt:vector></TitlesOfParts></Properties>')

    def _shared_strings(self) -> str:
        def item(text: str) -> str:
            space = ' xml:space="preserve"' if text != text.strip() else ""
            return f"<si><t{space}>{xml_text(text)}</t></si>"

        return "".join((
            XML_DECLARATION,
            f'<sst xmlns="{SPREADSHEET_MAIN}" count="{self._string_cells}" '
            f'uniqueCount="{len(self._strings)}">',
            *map(item, self._strings), "</sst>"))

    def _stylesheet(self) -> str:
        """Fonts, fills and number formats as used, one cell format (xf) per CellStyle, in the
        order of ``_styles`` (PLAIN first: the default)."""
        formats: dict[str, int] = {}
        fonts: dict[tuple[bool, int], int] = {}
        fills: dict[str, int] = {}  # colour → fill id; ids 0 and 1 are the two every file has
        xfs = []
        for style in self._styles:
            font = fonts.setdefault((style.bold, style.size), len(fonts))
            fill = 0 if style.fill is None else fills.setdefault(style.fill, 2 + len(fills))
            number = (0 if style.number_format is None
                      else formats.setdefault(style.number_format, 164 + len(formats)))
            applied = "".join((' applyNumberFormat="1"' if number else "",
                               ' applyFont="1"' if font else "",
                               ' applyFill="1"' if fill else ""))
            xfs.append(f'<xf numFmtId="{number}" fontId="{font}" fillId="{fill}" borderId="0" '
                       f'xfId="0"{applied}/>')
        number_formats = "".join(f'<numFmt numFmtId="{i}" formatCode={quoteattr(code)}/>'
                                 for code, i in formats.items())
        font_xml = "".join(f'<font>{"<b/>" if bold else ""}<sz val="{size}"/>'
                           f'<name val={quoteattr(JAPANESE_FONT)}/><family val="2"/></font>'
                           for bold, size in fonts)
        fill_xml = "".join((
            '<fill><patternFill patternType="none"/></fill>',
            '<fill><patternFill patternType="gray125"/></fill>',
            *(f'<fill><patternFill patternType="solid"><fgColor rgb="FF{colour}"/>'
              '<bgColor indexed="64"/></patternFill></fill>' for colour in fills)))
        return "".join((
            XML_DECLARATION, f'<styleSheet xmlns="{SPREADSHEET_MAIN}">',
            f'<numFmts count="{len(formats)}">{number_formats}</numFmts>' if formats else "",
            f'<fonts count="{len(fonts)}">{font_xml}</fonts>',
            f'<fills count="{2 + len(fills)}">{fill_xml}</fills>',
            '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border>'
            "</borders>",
            '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'
            "</cellStyleXfs>",
            f'<cellXfs count="{len(xfs)}">{"".join(xfs)}</cellXfs>',
            '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/>'
            "</cellStyles></styleSheet>"))


def _relationships(targets: Sequence[tuple[str, str]]) -> str:
    """A relationships part: (type, target) per relationship."""
    items = "".join(f'<Relationship Id="rId{i}" Type="{kind}" Target="{target}"/>'
                    for i, (kind, target) in enumerate(targets, start=1))
    return (f'{XML_DECLARATION}<Relationships xmlns="{PACKAGE_RELATIONSHIPS}">{items}'
            "</Relationships>")


def _core_properties(stamp: dt.datetime) -> str:
    when = stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
    return (f'{XML_DECLARATION}<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/'
            'package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" '
            'xmlns:dcterms="http://purl.org/dc/terms/" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
            f'<dcterms:created xsi:type="dcterms:W3CDTF">{when}</dcterms:created>'
            f'<dcterms:modified xsi:type="dcterms:W3CDTF">{when}</dcterms:modified>'
            "</cp:coreProperties>")
