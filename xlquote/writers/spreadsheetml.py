"""A workbook written directly as SpreadsheetML (Office Open XML): the parts an invoice
workbook needs and nothing else, zipped with the standard library.

This writer exists for speed: a run writes a workbook per contract (~10,000 for the 1M-row
month), and one of ~85 statement rows costs 9.7 ms of CPU through XlsxWriter, 2.9 ms written
here, which saves 30 % of the CPU of the 100k month's whole run (bench/README.md). It applies
the rules of ``sheets.py`` like the other two adapters (openpyxl in ``xlsx.py``, XlsxWriter in
``fast_xlsx.py``): a value is stored by its ``cell_kind`` (text is always a shared string,
never a formula, whatever it starts with), text is cut by ``fit_cell_text``, a sheet prints
by its ``PageSetup``, every font is the Japanese font.

What it writes: ``[Content_Types].xml``, the package and workbook relationships,
``docProps/core.xml`` (author, title, created and modified at a fixed stamp) and
``docProps/app.xml``, ``xl/workbook.xml`` (sheets, print areas and print titles as defined
names, the first sheet selected), ``xl/styles.xml`` with only the styles the cells use,
``xl/sharedStrings.xml`` and one part per sheet. No theme: fonts name the Japanese font
outright (no theme colours or scheme fonts), so nothing refers to one.

Every text is XML-escaped. Cell text also escapes what SpreadsheetML would otherwise read as
an escape of its own (``_x0041_``) and writes a control character as such an escape; a lone
surrogate (no character at all, so it cannot be encoded) becomes U+FFFD. The same content
gives the same bytes: zip entries carry the fixed stamp and are written in a fixed order.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from numbers import Integral
from pathlib import Path
from typing import Any, NamedTuple

from ..engine.errors import OutputError
from .sheets import (
    BOOLEAN,
    CELL_MAX_CHARS,
    DATE,
    DATE_FORMAT,
    JAPANESE_FONT,
    LAST_COLUMN,
    LAST_ROW,
    NUMBER,
    TEXT,
    PageSetup,
    cell_kind,
    excel_serial,
    fit_cell_text,
)
from .xlsx import REPRODUCIBLE_STAMP, write_atomically

# zlib's level for the parts: on an invoice of ~85 statement rows level 1 deflates in 0.55 ms
# what the default level 6 deflates in 0.89 ms, into a file 5 % larger (7.0 KB, not 6.7 KB).
COMPRESS_LEVEL = 1

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
DOC_RELATIONSHIPS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PACKAGE_RELATIONSHIPS = "http://schemas.openxmlformats.org/package/2006/relationships"
CONTENT_TYPES = "http://schemas.openxmlformats.org/package/2006/content-types"
XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_OFFICE_TYPE = "application/vnd.openxmlformats-officedocument"
_SHEET_TYPE = f"{_OFFICE_TYPE}.spreadsheetml.worksheet+xml"


# -- styles -------------------------------------------------------------------------------------

class Border(NamedTuple):
    """One line style and colour (RRGGBB) on the given sides of a cell."""

    style: str  # "thin", "medium", ...
    color: str
    sides: tuple[str, ...] = ("left", "right", "top", "bottom")


class Style(NamedTuple):
    """How a cell looks. The font is always the Japanese font; ``color`` None is automatic
    (black), ``fill`` a solid background (RRGGBB). A tuple: looked up once per cell written."""

    number_format: str | None = None
    bold: bool = False
    size: float = 11
    color: str | None = None
    fill: str | None = None
    border: Border | None = None
    horizontal: str | None = None
    vertical: str | None = None
    wrap: bool = False


PLAIN = Style()
_BORDER_SIDES = ("left", "right", "top", "bottom")
_SHORT_TEXT = CELL_MAX_CHARS // 2  # no longer than this: fits a cell whatever it holds
_FIRST_CUSTOM_FORMAT = 164  # ids below are Excel's built-in number formats


class StyleSheet:
    """The workbook's styles (``xl/styles.xml``): one cell format per distinct ``Style`` used,
    and only the fonts, fills, borders and number formats those need."""

    def __init__(self) -> None:
        self._xfs: dict[Style, int] = {PLAIN: 0}
        self._fonts: dict[tuple[bool, float, str | None], int] = {(False, 11, None): 0}
        self._fills: dict[str, int] = {}  # after the two fills SpreadsheetML reserves
        self._borders: dict[Border, int] = {}  # after the empty border
        self._formats: dict[str, int] = {}

    def index(self, style: Style) -> int:
        """The cell format (``s`` attribute) of ``style``, added on first use."""
        found = self._xfs.get(style)
        if found is None:
            found = self._xfs[style] = len(self._xfs)
        return found

    def xml(self) -> str:
        xfs = [self._xf(style) for style in self._xfs]  # registers fonts, fills, ...
        fonts = "".join(_font_xml(*font) for font in self._fonts)
        fills = "".join(f'<fill><patternFill patternType="solid"><fgColor rgb="FF{rgb}"/>'
                        '<bgColor indexed="64"/></patternFill></fill>' for rgb in self._fills)
        borders = "".join(_border_xml(border) for border in self._borders)
        formats = "".join(f'<numFmt numFmtId="{number}" formatCode="{escape(code)}"/>'
                          for code, number in self._formats.items())
        return (f'{XML_DECLARATION}<styleSheet xmlns="{MAIN}">'
                + (f'<numFmts count="{len(self._formats)}">{formats}</numFmts>'
                   if self._formats else "")
                + f'<fonts count="{len(self._fonts)}">{fonts}</fonts>'
                f'<fills count="{len(self._fills) + 2}"><fill><patternFill patternType="none"/>'
                f'</fill><fill><patternFill patternType="gray125"/></fill>{fills}</fills>'
                f'<borders count="{len(self._borders) + 1}"><border><left/><right/><top/>'
                f'<bottom/><diagonal/></border>{borders}</borders>'
                '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'
                f'</cellStyleXfs><cellXfs count="{len(xfs)}">{"".join(xfs)}</cellXfs>'
                '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/>'
                '</cellStyles><dxfs count="0"/><tableStyles count="0" '
                'defaultTableStyle="TableStyleMedium9" defaultPivotStyle="PivotStyleLight16"/>'
                '</styleSheet>')

    def _xf(self, style: Style) -> str:
        number = font = fill = border = 0
        applied = []
        if style.number_format:
            number = self._formats.setdefault(style.number_format,
                                              _FIRST_CUSTOM_FORMAT + len(self._formats))
            applied.append('applyNumberFormat="1"')
        font_key = (style.bold, style.size, style.color)
        font = self._fonts.setdefault(font_key, len(self._fonts))
        if font:
            applied.append('applyFont="1"')
        if style.fill:
            fill = self._fills.setdefault(style.fill, len(self._fills) + 2)
            applied.append('applyFill="1"')
        if style.border:
            border = self._borders.setdefault(style.border, len(self._borders) + 1)
            applied.append('applyBorder="1"')
        alignment = "".join((f' horizontal="{style.horizontal}"' if style.horizontal else "",
                             f' vertical="{style.vertical}"' if style.vertical else "",
                             ' wrapText="1"' if style.wrap else ""))
        if alignment:
            applied.append('applyAlignment="1"')
        start = (f'<xf numFmtId="{number}" fontId="{font}" fillId="{fill}" borderId="{border}" '
                 f'xfId="0"{"".join(" " + a for a in applied)}')
        return f"{start}><alignment{alignment}/></xf>" if alignment else f"{start}/>"


def _font_xml(bold: bool, size: float, color: str | None) -> str:
    colour = f'<color rgb="FF{color}"/>' if color else ""
    return (f'<font>{"<b/>" if bold else ""}<sz val="{size:g}"/>{colour}'
            f'<name val="{JAPANESE_FONT}"/><family val="2"/></font>')


def _border_xml(border: Border) -> str:
    sides = "".join(f'<{side} style="{border.style}"><color rgb="FF{border.color}"/></{side}>'
                    if side in border.sides else f"<{side}/>" for side in _BORDER_SIDES)
    return f"<border>{sides}<diagonal/></border>"


# -- text ---------------------------------------------------------------------------------------

_CELL_TEXT_SPECIAL = re.compile(r"[&<>\x00-\x08\x0b-\x1f\ud800-\udfff\ufffe\uffff]"
                                r"|_x[0-9A-Fa-f]{4}_")
_TEXT_SPECIAL = re.compile(r"[&<>\"'\x00-\x08\x0b-\x1f\ud800-\udfff\ufffe\uffff]")
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;"}


def _cell_text_escape(match: re.Match[str]) -> str:
    found = match.group()
    if len(found) > 1:  # text that reads like an escape stays as typed
        return f"_x005F{found}"
    if found in _ENTITIES:
        return _ENTITIES[found]
    if "\ud800" <= found <= "\udfff":
        return "\ufffd"
    return f"_x{ord(found):04X}_"  # control characters, U+FFFE, U+FFFF


def cell_text(text: str) -> str:
    """``text`` as the content of a cell's ``<t>`` element."""
    if _CELL_TEXT_SPECIAL.search(text) is None:
        return text
    return _CELL_TEXT_SPECIAL.sub(_cell_text_escape, text)


def _text_escape(match: re.Match[str]) -> str:
    found = match.group()
    return _ENTITIES.get(found, "\ufffd")  # a character XML cannot hold


def escape(text: str) -> str:
    """``text`` as XML element content or attribute value outside the cells (document
    properties, sheet names): entities escaped, what XML cannot hold replaced by U+FFFD."""
    if _TEXT_SPECIAL.search(text) is None:
        return text
    return _TEXT_SPECIAL.sub(_text_escape, text)


class SharedStrings:
    """The workbook's strings (``xl/sharedStrings.xml``), each stored once."""

    def __init__(self) -> None:
        self.indexes: dict[str, int] = {}

    def index(self, text: str) -> int:
        return self.indexes.setdefault(text, len(self.indexes))

    def xml_pieces(self) -> Iterator[str]:
        """The part, item by item: a statement's descriptions may be a hundred megabytes of
        XML once escaped, and are written into the zip entry as they are made."""
        yield f'{XML_DECLARATION}<sst xmlns="{MAIN}" uniqueCount="{len(self.indexes)}">'
        for text in self.indexes:
            yield (f'<si><t xml:space="preserve">{cell_text(text)}</t></si>'
                   if text[0].isspace() or text[-1].isspace()
                   else f"<si><t>{cell_text(text)}</t></si>")
        yield "</sst>"


# -- sheets -------------------------------------------------------------------------------------

def column_letters(col: int) -> str:
    """"A" for column 0, "AA" for column 26."""
    letters = ""
    col += 1
    while col:
        col, remainder = divmod(col - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


_LETTERS = [column_letters(col) for col in range(702)]  # A … ZZ


def _letters(col: int) -> str:
    return _LETTERS[col] if col < 702 else column_letters(col)


def quoted_sheet_name(name: str) -> str:
    """A sheet name as a formula or defined name refers to it."""
    if re.fullmatch(r"\w+", name) and not name[0].isdigit():
        return name
    return "'" + name.replace("'", "''") + "'"


def _batches(pieces: Iterable[str], size: int = 2**20) -> Iterator[bytes]:
    """``pieces`` joined and encoded in batches of about ``size`` characters."""
    batch: list[str] = []
    length = 0
    for piece in pieces:
        batch.append(piece)
        length += len(piece)
        if length >= size:
            yield "".join(batch).encode("utf-8")
            batch, length = [], 0
    if batch:
        yield "".join(batch).encode("utf-8")


class Sheet:
    """One worksheet's cells and settings, kept as the XML of each cell until ``xml_pieces()``.
    Rows and columns are 0-based, as in XlsxWriter."""

    def __init__(self, name: str, styles: StyleSheet, strings: SharedStrings) -> None:
        self.name = name
        self._styles = styles
        self._strings = strings
        self._rows: dict[int, dict[int, str]] = {}
        self._heights: dict[int, float] = {}
        self._widths: list[float] = []
        self._merges: list[str] = []
        self._setup: PageSetup | None = None
        self.print_area: str | None = None  # "$A$1:$F$28"
        self.print_titles: str | None = None  # "$4:$4"
        self.header = ""
        self.tab_color: str | None = None
        self.selected = False

    def style(self, style: Style) -> int:
        return self._styles.index(style)

    def put(self, row: int, col: int, value: Any, style: int = 0) -> None:
        """One cell by its kind (``sheets.cell_kind``) with the cell format ``style`` (from
        ``style()``); a blank is written only when it has a format (an unstyled blank leaves
        the cell as it was)."""
        if not (0 <= row < LAST_ROW and 0 <= col < LAST_COLUMN):
            raise OutputError(f"sheet {self.name}: cell (row {row + 1}, column {col + 1}) is "
                              "beyond the grid a sheet holds")
        xml = self._cell(f"{_letters(col)}{row + 1}", value, style)
        if xml:
            cells = self._rows.get(row)
            if cells is None:
                cells = self._rows[row] = {}
            cells[col] = xml

    def put_rows(self, first_row: int, rows: Iterable[Sequence[Any]], styles: Sequence[int]
                 ) -> None:
        """Rows of cells from ``first_row``, column A on, each with its column's cell format:
        ``put`` for a table's rows (most of a workbook's cells), text, integers and dates
        without the detour through ``cell_kind``."""
        if len(styles) > LAST_COLUMN:
            raise OutputError(f"sheet {self.name}: a row of {len(styles)} cells is beyond the "
                              "grid a sheet holds")
        strings = self._strings.indexes
        letters = [_letters(col) for col in range(len(styles))]
        # each styled cell's XML around its row number and value, worked out once a column
        starts = [f'<c r="{column}' for column in letters]
        texts = [f'" s="{style}" t="s"><v>' for style in styles]
        numbers = [f'" s="{style}"><v>' for style in styles]
        row = first_row
        for values in rows:
            if not 0 <= row < LAST_ROW:
                raise OutputError(f"sheet {self.name}: row {row + 1} is beyond the grid a "
                                  "sheet holds")
            number = str(row + 1)
            cells = self._rows.get(row)
            if cells is None:
                cells = self._rows[row] = {}
            for col, (value, style) in enumerate(zip(values, styles, strict=True)):
                kind = type(value)
                if kind is str and value and style:
                    if len(value) > _SHORT_TEXT:
                        value = fit_cell_text(value)
                    cells[col] = (f"{starts[col]}{number}{texts[col]}"
                                  f"{strings.setdefault(value, len(strings))}</v></c>")
                elif kind is int and style:
                    cells[col] = f"{starts[col]}{number}{numbers[col]}{value}</v></c>"
                elif kind is dt.date and style:
                    cells[col] = f"{starts[col]}{number}{numbers[col]}{excel_serial(value)}</v></c>"
                else:
                    xml = self._cell(f"{letters[col]}{number}", value, style)
                    if xml:
                        cells[col] = xml
            row += 1

    def _cell(self, ref: str, value: Any, style: int) -> str:
        """The XML of cell ``ref``; "" for a blank without a format."""
        kind = cell_kind(value)
        s = f' s="{style}"' if style else ""
        if kind is TEXT:
            return f'<c r="{ref}"{s} t="s"><v>{self._strings.index(fit_cell_text(value))}</v></c>'
        if kind is NUMBER:
            return f'<c r="{ref}"{s}><v>{_number(value)}</v></c>'
        if kind is DATE:
            if not style:  # a date without a format of its own still shows as a date
                s = f' s="{self.style(Style(number_format=DATE_FORMAT))}"'
            return f'<c r="{ref}"{s}><v>{_number(excel_serial(value))}</v></c>'
        if kind is BOOLEAN:
            return f'<c r="{ref}"{s} t="b"><v>{int(bool(value))}</v></c>'
        return f'<c r="{ref}"{s}/>' if style else ""  # BLANK

    def merge(self, first_row: int, first_col: int, last_row: int, last_col: int,
              style: int = 0) -> None:
        """Merge a range; every cell of it gets ``style`` (a border or fill is drawn by the
        cells that carry it). The first cell's value is ``put`` apart."""
        if style:
            for row in range(first_row, last_row + 1):
                cells = self._rows.setdefault(row, {})
                for col in range(first_col, last_col + 1):
                    cells[col] = f'<c r="{_letters(col)}{row + 1}" s="{style}"/>'
        self._merges.append(f"{_letters(first_col)}{first_row + 1}:"
                            f"{_letters(last_col)}{last_row + 1}")

    def set_widths(self, widths: list[float]) -> None:
        """Column widths from column A, in Excel's character units, stored as given."""
        self._widths = list(widths)

    def set_height(self, row: int, points: float) -> None:
        self._heights[row] = points

    def set_print_area(self, first_row: int, first_col: int, last_row: int,
                       last_col: int) -> None:
        self.print_area = (f"${_letters(first_col)}${first_row + 1}:"
                           f"${_letters(last_col)}${last_row + 1}")

    def repeat_rows(self, first_row: int, last_row: int | None = None) -> None:
        """Print these rows at the top of every page."""
        self.print_titles = f"${first_row + 1}:${(first_row if last_row is None else last_row) + 1}"

    def page_setup(self, setup: PageSetup) -> None:
        self._setup = setup

    def xml_pieces(self) -> Iterator[str]:
        """The sheet's XML: what comes before its rows, each row, what comes after. A statement
        of 50,000 incidents is written row by row, never held as one string."""
        last_col = max((max(cells) for cells in self._rows.values() if cells), default=0)
        last_row = max(self._rows, default=0)
        dimension = f"A1:{_letters(last_col)}{last_row + 1}" if self._rows else "A1"
        sheet_properties = "".join((
            f'<tabColor rgb="FF{self.tab_color}"/>' if self.tab_color else "",
            '<pageSetUpPr fitToPage="1"/>' if self._fits_to_pages() else ""))
        columns = "".join(f'<col min="{col}" max="{col}" width="{width:g}" customWidth="1"/>'
                          for col, width in enumerate(self._widths, start=1))
        merges = "".join(f'<mergeCell ref="{ref}"/>' for ref in self._merges)
        selected = ' tabSelected="1"' if self.selected else ""
        yield "".join((
            f'{XML_DECLARATION}<worksheet xmlns="{MAIN}" xmlns:r="{DOC_RELATIONSHIPS}">',
            f"<sheetPr>{sheet_properties}</sheetPr>" if sheet_properties else "",
            f'<dimension ref="{dimension}"/><sheetViews><sheetView{selected} workbookViewId="0"/>'
            '</sheetViews>'
            '<sheetFormatPr defaultRowHeight="15"/>',
            f"<cols>{columns}</cols>" if columns else "", "<sheetData>"))
        heights = self._heights
        for row in sorted(self._rows.keys() | heights.keys()):
            cells = self._rows.get(row)
            height = heights.get(row)
            attributes = f' ht="{height:g}" customHeight="1"' if height is not None else ""
            if cells:
                content = "".join([cells[col] for col in sorted(cells)])
                yield f'<row r="{row + 1}"{attributes}>{content}</row>'
            else:
                yield f'<row r="{row + 1}"{attributes}/>'
        yield "".join((
            "</sheetData>",
            f'<mergeCells count="{len(self._merges)}">{merges}</mergeCells>' if merges else "",
            self._print_xml(), "</worksheet>"))

    def _fits_to_pages(self) -> bool:
        return self._setup is not None and bool(self._setup.fit_width or self._setup.fit_height)

    def _print_xml(self) -> str:
        header = (f"<headerFooter><oddHeader>{escape(self.header)}</oddHeader></headerFooter>"
                  if self.header else "")
        setup = self._setup
        if setup is None:
            return ('<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" '
                    f'footer="0.3"/>{header}')
        m = setup.margins
        # Attributes at their default (fit to 1 page across and 1 down) are left out.
        fit = "".join((f' fitToWidth="{setup.fit_width}"' if setup.fit_width != 1 else "",
                       f' fitToHeight="{setup.fit_height}"' if setup.fit_height != 1 else ""))
        return (('<printOptions horizontalCentered="1"/>' if setup.centred else "")
                + f'<pageMargins left="{m.left:g}" right="{m.right:g}" top="{m.top:g}" '
                f'bottom="{m.bottom:g}" header="{m.header:g}" footer="{m.footer:g}"/>'
                f'<pageSetup paperSize="{setup.paper}"{fit} '
                f'orientation="{"landscape" if setup.landscape else "portrait"}"/>{header}')


def _number(value: Any) -> str:
    """A number as a cell's ``<v>``: integers exactly, others as the shortest text that reads
    back as the same double."""
    if isinstance(value, Integral):
        return str(int(value))
    number = float(value)
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueError(f"a cell cannot hold {value!r}")
    return repr(number) if not number.is_integer() else str(int(number))


# -- the workbook -------------------------------------------------------------------------------

class Workbook:
    """Sheets sharing styles and strings, saved as one zip. The first sheet is the one the
    workbook opens on."""

    def __init__(self, author: str = "", title: str = "",
                 stamp: dt.datetime = REPRODUCIBLE_STAMP) -> None:
        self.author, self.title, self.stamp = author, title, stamp
        self.styles = StyleSheet()
        self.strings = SharedStrings()
        self.sheets: list[Sheet] = []

    def add_sheet(self, name: str) -> Sheet:
        """A new sheet named ``name`` (1–31 characters, none of ``[]:*?/\\``, unique
        whatever the case), after the others."""
        if not 1 <= len(name) <= 31 or re.search(r"[][:*?/\\]", name) or name[0] == "'":
            raise ValueError(f"not a sheet name: {name!r}")
        if any(sheet.name.casefold() == name.casefold() for sheet in self.sheets):
            raise ValueError(f"two sheets named {name!r}")
        sheet = Sheet(name, self.styles, self.strings)
        sheet.selected = not self.sheets
        self.sheets.append(sheet)
        return sheet

    def parts(self) -> list[tuple[str, str | Iterator[str]]]:
        """(name in the zip, its XML in pieces) of every part, in the order they are zipped.
        The sheets come last: their rows are made as they are written."""
        sheets = [(f"xl/worksheets/sheet{i}.xml", sheet.xml_pieces())
                  for i, sheet in enumerate(self.sheets, start=1)]
        return [("[Content_Types].xml", self._content_types()),
                ("_rels/.rels", _relationships([
                    (f"{DOC_RELATIONSHIPS}/officeDocument", "xl/workbook.xml"),
                    (f"{PACKAGE_RELATIONSHIPS}/metadata/core-properties", "docProps/core.xml"),
                    (f"{DOC_RELATIONSHIPS}/extended-properties", "docProps/app.xml")])),
                ("docProps/app.xml", self._app()),
                ("docProps/core.xml", self._core()),
                ("xl/workbook.xml", self._workbook()),
                ("xl/_rels/workbook.xml.rels", _relationships([
                    *((f"{DOC_RELATIONSHIPS}/worksheet", f"worksheets/sheet{i}.xml")
                      for i in range(1, len(self.sheets) + 1)),
                    (f"{DOC_RELATIONSHIPS}/styles", "styles.xml"),
                    (f"{DOC_RELATIONSHIPS}/sharedStrings", "sharedStrings.xml")])),
                ("xl/styles.xml", self.styles.xml()),  # the cells' styles, known once put
                ("xl/sharedStrings.xml", self.strings.xml_pieces()),
                *sheets]

    def to_bytes(self) -> bytes:
        """The workbook's file, zipped in memory: it is written to disk once, whole (a zip
        written to a file seeks back over each entry's header)."""
        date_time = self.stamp.timetuple()[:6]
        parts = self.parts()
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            for name, xml in parts:
                entry = zipfile.ZipInfo(name, date_time=date_time)
                entry.compress_type = zipfile.ZIP_DEFLATED
                entry._compresslevel = COMPRESS_LEVEL  # as writestr(compresslevel=…) sets it
                entry.external_attr = 0o100644 << 16  # a regular file, readable by all
                with archive.open(entry, "w") as out:  # the bytes writestr would write
                    for batch in _batches((xml,) if isinstance(xml, str) else xml):
                        out.write(batch)
        return buffer.getvalue()

    def save(self, path: str | Path) -> Path:
        """Write the workbook atomically (nothing is left behind when writing fails)."""
        return write_atomically(path, self.to_bytes())

    def _content_types(self) -> str:
        overrides = [("/docProps/app.xml", f"{_OFFICE_TYPE}.extended-properties+xml"),
                     ("/docProps/core.xml",
                      "application/vnd.openxmlformats-package.core-properties+xml"),
                     ("/xl/workbook.xml", f"{_OFFICE_TYPE}.spreadsheetml.sheet.main+xml"),
                     ("/xl/styles.xml", f"{_OFFICE_TYPE}.spreadsheetml.styles+xml"),
                     ("/xl/sharedStrings.xml", f"{_OFFICE_TYPE}.spreadsheetml.sharedStrings+xml"),
                     *((f"/xl/worksheets/sheet{i}.xml", _SHEET_TYPE)
                       for i in range(1, len(self.sheets) + 1))]
        return (f'{XML_DECLARATION}<Types xmlns="{CONTENT_TYPES}">'
                '<Default Extension="rels" '
                'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                '<Default Extension="xml" ContentType="application/xml"/>'
                + "".join(f'<Override PartName="{part}" ContentType="{kind}"/>'
                          for part, kind in overrides) + "</Types>")

    def _app(self) -> str:
        # "Microsoft Excel", as XlsxWriter and openpyxl say: readers tune their Excel
        # compatibility to the application named here.
        names = "".join(f"<vt:lpstr>{escape(sheet.name)}</vt:lpstr>" for sheet in self.sheets)
        return (f'{XML_DECLARATION}<Properties xmlns="http://schemas.openxmlformats.org/'
                'officeDocument/2006/extended-properties" xmlns:vt="http://schemas.'
                'openxmlformats.org/officeDocument/2006/docPropsVTypes"><Application>Microsoft '
                'Excel</Application><DocSecurity>0</DocSecurity><ScaleCrop>false</ScaleCrop>'
                '<HeadingPairs><vt:vector size="2" baseType="variant"><vt:variant><vt:lpstr>'
                f"Worksheets</vt:lpstr></vt:variant><vt:variant><vt:i4>{len(self.sheets)}"
                "</vt:i4></vt:variant></vt:vector></HeadingPairs><TitlesOfParts>"
                f'<vt:vector size="{len(self.sheets)}" baseType="lpstr">{names}</vt:vector>'
                "</TitlesOfParts><LinksUpToDate>false</LinksUpToDate><SharedDoc>false"
                "</SharedDoc><HyperlinksChanged>false</HyperlinksChanged><AppVersion>12.0000"
                "</AppVersion></Properties>")

    def _core(self) -> str:
        stamp = self.stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
        author = escape(self.author)
        return (f'{XML_DECLARATION}<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.'
                'org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/'
                'elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" xmlns:dcmitype='
                '"http://purl.org/dc/dcmitype/" xmlns:xsi="http://www.w3.org/2001/'
                'XMLSchema-instance">'
                + (f"<dc:title>{escape(self.title)}</dc:title>" if self.title else "")
                + (f"<dc:creator>{author}</dc:creator><cp:lastModifiedBy>{author}"
                   "</cp:lastModifiedBy>" if author else "")
                + f'<dcterms:created xsi:type="dcterms:W3CDTF">{stamp}</dcterms:created>'
                f'<dcterms:modified xsi:type="dcterms:W3CDTF">{stamp}</dcterms:modified>'
                "</cp:coreProperties>")

    def _workbook(self) -> str:
        sheets = "".join(f'<sheet name="{escape(sheet.name)}" sheetId="{i}" r:id="rId{i}"/>'
                         for i, sheet in enumerate(self.sheets, start=1))
        names = []
        for i, sheet in enumerate(self.sheets):
            quoted = escape(quoted_sheet_name(sheet.name))
            if sheet.print_area:
                names.append(f'<definedName name="_xlnm.Print_Area" localSheetId="{i}">'
                             f"{quoted}!{sheet.print_area}</definedName>")
            if sheet.print_titles:
                names.append(f'<definedName name="_xlnm.Print_Titles" localSheetId="{i}">'
                             f"{quoted}!{sheet.print_titles}</definedName>")
        defined = f"<definedNames>{''.join(names)}</definedNames>" if names else ""
        return (f'{XML_DECLARATION}<workbook xmlns="{MAIN}" xmlns:r="{DOC_RELATIONSHIPS}">'
                '<workbookPr/><bookViews><workbookView xWindow="240" yWindow="15" '
                f'windowWidth="16095" windowHeight="9660"/></bookViews><sheets>{sheets}</sheets>'
                f'{defined}<calcPr calcId="124519" fullCalcOnLoad="1"/></workbook>')


def _relationships(targets: list[tuple[str, str]]) -> str:
    items = "".join(f'<Relationship Id="rId{i}" Type="{kind}" Target="{target}"/>'
                    for i, (kind, target) in enumerate(targets, start=1))
    return f'{XML_DECLARATION}<Relationships xmlns="{PACKAGE_RELATIONSHIPS}">{items}</Relationships>'
