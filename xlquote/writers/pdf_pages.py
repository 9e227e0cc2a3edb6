"""Drawing A4 pages with reportlab: the Japanese font, a reproducible canvas, wrapped text and
tables that continue on the next page with their header repeated.

The font is IPAexGothic, shipped in ``xlquote/writers/fonts/`` with its licence (IPA Font
License v1.0); ``XLQUOTE_PDF_FONT`` names another TrueType font file. Every PDF embeds only the
subset of glyphs it uses. Same document, same bytes: the creation and modification dates are
the document's own date and the file ID is derived from the document's identity (its number),
never from the clock.

reportlab makes the document: pages, fonts and their subsets, metadata, compression. What a
page shows is written here as PDF operators, one content stream per page (``Pages``), because
speed asks for it: reportlab's drawing calls make every string a text object of its own, with
font, colour and position set again and its characters encoded one by one, which costs about
three times what this module does for an invoice of ~1,000 strings (bench/README.md). Here a
page's text runs in as few text objects as the drawing order allows, font, colour and stroke
are set only when they change, each distinct string is measured and encoded once per document
(``FontText``), and a table's grid is drawn once per page.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.textsplit import wordSplit
from reportlab.lib.utils import TimeStamp
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFError, TTFont
from reportlab.pdfgen.canvas import Canvas

from ..engine.errors import OutputError

FONT_ENV = "XLQUOTE_PDF_FONT"  # a TrueType font file to draw with instead of IPAexGothic
BUNDLED_FONT = Path(__file__).with_name("fonts") / "ipaexg.ttf"
JST_HOURS = 9  # the PDF dates are the document's date at midnight in Japan
MARGIN = 36.0  # points (0.5") on every side
TRUNCATED = "…（以下省略）"
MAX_CELL_LINES = 30  # a table cell longer than this is cut with TRUNCATED: a row fits a page
HEADER_FILL = (0xDD / 255, 0xE4 / 255, 0xEE / 255)
GRID_GREY = (0.5, 0.5, 0.5)
BLACK = (0.0, 0.0, 0.0)
CELL_PAD = 2.5  # points between a table cell's box and its text
# The embedded font subsets are stored uncompressed: TrueType outlines deflate by only ~30 %
# and deflating them took a fifth of an invoice PDF's time (a 90-row invoice: 12.8 → 10.2 ms,
# 78 → 104 KB). Page contents stay compressed (they shrink ~6×).
COMPRESS_FONTS = False
BOLD_STROKE = 0.03  # bold is the glyph outline stroked this wide, per point of font size
FILL_STROKE = 2  # text rendering mode: fill, then stroke (bold)

Color = tuple[float, float, float]

_fonts: dict[Path, str] = {}
_fonts_lock = threading.Lock()


def font_path() -> Path:
    configured = os.environ.get(FONT_ENV)
    return Path(configured) if configured else BUNDLED_FONT


def registered_font() -> str:
    """The reportlab name of the configured font, registered once per process (parsing the
    6 MB font takes ~0.1 s). OutputError when the file is missing or not a TrueType font."""
    path = font_path()
    with _fonts_lock:
        name = _fonts.get(path)
        if name is None:
            name = f"xlquote-font-{len(_fonts)}"
            try:
                font = TTFont(name, str(path))
            except (OSError, TTFError) as exc:
                source = f"{FONT_ENV}={path}" if os.environ.get(FONT_ENV) else str(path)
                raise OutputError(f"PDF font {source} cannot be used: {exc}") from None
            # Each subset a document embeds reads the font's tables afresh, copying all 5.6 MB
            # of glyph outlines every time; the tables never change, so each is read once.
            font.face.get_table = cache(font.face.get_table)
            pdfmetrics.registerFont(font)
            _fonts[path] = name
    return name


def reproducible_canvas(target: io.BytesIO, identity: str, day: dt.date, title: str,
                        author: str) -> Canvas:
    """A canvas whose file depends only on what is drawn, ``identity`` and ``day``."""
    font = registered_font()
    canvas = Canvas(target, pagesize=A4, invariant=True, pageCompression=True,
                    initialFontName=font, initialFontSize=10)
    doc = canvas._doc  # reportlab keeps the dates and the file ID on its document object
    doc.setCompression(COMPRESS_FONTS)  # the document's streams; pages follow pageCompression
    stamp = TimeStamp(invariant=True)
    stamp.YMDhms, stamp.dhh, stamp.dmm = (day.year, day.month, day.day, 0, 0, 0), JST_HOURS, 0
    doc._timeStamp = stamp
    doc.updateSignature(identity)
    canvas.setTitle(title)
    canvas.setAuthor(author)
    canvas.setCreator("xlquote")
    return canvas


class FontText:
    """The font as one document uses it: each distinct string measured and encoded once.

    A TrueType font is embedded as subsets of at most 256 glyphs (reportlab assigns each
    character its subset and code the first time the document shows it); a string is shown as
    runs of codes, each run in its subset's font resource."""

    def __init__(self, name: str, document: Any) -> None:
        self.name = name
        self._font = pdfmetrics.getFont(name)
        self._document = document
        self._codes: dict[int, int] = {}  # character → subset × 256 + code (str.translate)
        self._known: set[str] = set()
        self._resources: dict[int, str] = {}  # subset → its font resource (/F1+0)
        self.encoded: dict[str, tuple[tuple[str, str], ...]] = {}  # by ``runs``
        self.widths: dict[str, float] = {}  # at 1 point, by ``width``

    def width(self, text: str, size: float) -> float:
        width = self.widths.get(text)
        if width is None:
            width = self.widths[text] = self._font.stringWidth(text, 1.0)
        return width * size

    def runs(self, text: str) -> tuple[tuple[str, str], ...]:
        """``text`` as (font resource, hex string of codes) runs."""
        found = self.encoded.get(text)
        if found is not None:
            return found
        if not self._known.issuperset(text):
            # reportlab assigns the new characters their codes; one code per character.
            split = self._font.splitString(text, self._document)
            codes = [subset << 8 | code for subset, data in split for code in data]
            self._codes.update(zip(map(ord, text), codes, strict=True))
            self._known.update(text)
        coded = text.translate(self._codes).encode("utf-16-be")  # 2 bytes: subset, code
        subsets, codes = coded[::2], coded[1::2]
        if subsets.count(subsets[0]) == len(subsets):
            runs: tuple[tuple[str, str], ...] = ((self._resource(subsets[0]), codes.hex()),)
        else:
            pieces, start = [], 0
            for i in range(1, len(subsets) + 1):
                if i == len(subsets) or subsets[i] != subsets[start]:
                    pieces.append((self._resource(subsets[start]), codes[start:i].hex()))
                    start = i
            runs = tuple(pieces)
        self.encoded[text] = runs
        return runs

    def _resource(self, subset: int) -> str:
        found = self._resources.get(subset)
        if found is None:
            found = self._resources[subset] = self._font.getSubsetInternalName(
                subset, self._document)
        return found


def wrap(text: str, width: float, font: FontText, size: float,
         max_lines: int = MAX_CELL_LINES) -> list[str]:
    """``text`` broken into lines no wider than ``width`` (Japanese line-breaking rules, as
    reportlab's textsplit applies them); explicit newlines kept; more than ``max_lines`` lines
    are cut, the last ending with TRUNCATED."""
    if "\n" not in text and font.width(text, size) <= width:
        return [text]
    lines: list[str] = []
    for paragraph in text.split("\n"):
        if font.width(paragraph, size) <= width:
            lines.append(paragraph)
        else:
            lines += [part for _, part in wordSplit(paragraph, width, font.name, size)]
        if len(lines) > max_lines:
            break
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        last = lines[-1]
        while last and font.width(last + TRUNCATED, size) > width:
            last = last[:-1]
        lines[-1] = last + TRUNCATED
    return lines


@dataclass(frozen=True)
class TableColumn:
    title: str
    width: float  # points
    align: str  # left | right | center


def _rgb(color: Color) -> str:
    return f"{color[0]:.3f} {color[1]:.3f} {color[2]:.3f}"


class Pages:
    """A sequence of pages drawn top to bottom: ``y`` is where the next thing goes; ``room``
    starts a new page when what comes next does not fit. ``on_new_page`` draws what every
    page carries (a draft's stamp, a continuation heading) and may move ``y``.

    Each page is one content stream of PDF operators, handed to the canvas when the page is
    done. Graphics state (colours, line width, text font and rendering mode) is set only when
    it changes; consecutive texts share one text object."""

    def __init__(self, canvas: Canvas, font: FontText) -> None:
        self.canvas, self.font = canvas, font
        self.on_new_page: Callable[[Pages], None] | None = None
        self.started = False
        self.size = A4
        self.y = 0.0
        self._reset()

    def _reset(self) -> None:
        """A fresh page's state: PDF starts every page black, 1 pt lines, filled text."""
        self._ops: list[str] = []
        self._in_text = False
        self._text_resource = ""  # the font subset and size last set (Tf)
        self._text_size = 0.0
        self._fill: Color = BLACK
        self._stroke: Color = BLACK
        self._line_width = 1.0
        self._render_mode = 0

    @property
    def left(self) -> float:
        return MARGIN

    @property
    def right(self) -> float:
        return self.size[0] - MARGIN

    @property
    def width(self) -> float:
        return self.right - self.left

    def new_page(self, landscape_page: bool | None = None) -> None:
        """Close the current page (if any) and open the next, in the given orientation (None:
        as the current one)."""
        if self.started:
            self._close_page()
        self.started = True
        if landscape_page is not None:
            self.size = landscape(A4) if landscape_page else A4
        self.canvas.setPageSize(self.size)
        self.y = self.size[1] - MARGIN
        if self.on_new_page is not None:
            self.on_new_page(self)

    def finish(self) -> None:
        """Close the last page."""
        self._close_page()

    def _close_page(self) -> None:
        self._end_text()
        self.canvas.addLiteral("\n".join(self._ops))
        self.canvas.showPage()
        self._reset()

    def room(self, height: float) -> bool:
        """Make sure ``height`` points fit above the bottom margin; True if a page began."""
        if self.y - height >= MARGIN:
            return False
        self.new_page()
        return True

    # -- graphics state -----------------------------------------------------------------------

    def _set_fill(self, color: Color) -> None:
        if color != self._fill:
            self._ops.append(f"{_rgb(color)} rg")
            self._fill = color

    def _set_stroke(self, color: Color, width: float) -> None:
        if color != self._stroke:
            self._ops.append(f"{_rgb(color)} RG")
            self._stroke = color
        if width != self._line_width:
            self._ops.append(f"{width:.3f} w")
            self._line_width = width

    def _begin_text(self) -> None:
        if not self._in_text:
            self._ops.append("BT")
            self._in_text = True

    def _end_text(self) -> None:
        if self._in_text:
            self._ops.append("ET")
            self._in_text = False

    # -- text -------------------------------------------------------------------------------

    def text_width(self, text: str, size: float) -> float:
        return self.font.width(text, size)

    def text(self, x: float, y: float, text: str, size: float, *, bold: bool = False,
             align: str = "left", color: Color = BLACK, angle: float = 0.0) -> None:
        """One line at baseline ``y``, ``x`` being its left end, right end or centre
        (``align``), turned ``angle`` degrees about that point; bold is drawn by stroking the
        glyph outlines (the font has no bold face)."""
        if not text:
            return
        offset = 0.0
        if align != "left":
            offset = self.font.width(text, size) * (1.0 if align == "right" else 0.5)
        self._text_state(size, bold, color)
        if angle:
            cos, sin = math.cos(math.radians(angle)), math.sin(math.radians(angle))
            self._ops.append(f"{cos:.5f} {sin:.5f} {-sin:.5f} {cos:.5f} "
                             f"{x - offset * cos:.2f} {y - offset * sin:.2f} Tm")
            self._show(text, size)
        else:
            self._show_at(x - offset, y, text, size)

    def _text_state(self, size: float, bold: bool, color: Color) -> None:
        """Inside a text object, in ``color``, filled or (bold) filled and stroked."""
        self._begin_text()
        self._set_fill(color)
        mode = FILL_STROKE if bold else 0
        if bold:
            self._set_stroke(color, size * BOLD_STROKE)
        if mode != self._render_mode:
            self._ops.append(f"{mode} Tr")
            self._render_mode = mode

    def _show_at(self, x: float, y: float, text: str, size: float) -> None:
        """``text`` from (``x``, ``y``), in the text state set (``_text_state``)."""
        runs = self.font.runs(text)
        if len(runs) == 1 and runs[0][0] == self._text_resource and size == self._text_size:
            self._ops.append(f"1 0 0 1 {x:.2f} {y:.2f} Tm <{runs[0][1]}> Tj")
        else:
            self._ops.append(f"1 0 0 1 {x:.2f} {y:.2f} Tm")
            self._show(text, size)

    def _show(self, text: str, size: float) -> None:
        """``text`` where the text matrix stands, each run in its subset's font."""
        ops = self._ops
        for resource, codes in self.font.runs(text):
            if resource != self._text_resource or size != self._text_size:
                ops.append(f"{resource} {size:.2f} Tf")
                self._text_resource, self._text_size = resource, size
            ops.append(f"<{codes}> Tj")

    def paragraph(self, text: str, size: float, *, x: float | None = None,
                  width: float | None = None, bold: bool = False, align: str = "left",
                  color: Color = BLACK, max_lines: int = MAX_CELL_LINES,
                  leading: float | None = None) -> None:
        """Wrapped text from ``y`` down, starting a page where it must; ``y`` moves below."""
        x = self.left if x is None else x
        width = self.width if width is None else width
        leading = leading or size * 1.45
        anchor = {"left": x, "right": x + width, "center": x + width / 2}[align]
        for line in wrap(text, width, self.font, size, max_lines):
            self.room(leading)
            self.y -= leading
            self.text(anchor, self.y + leading * 0.28, line, size, bold=bold, align=align,
                      color=color)

    def rule(self, x0: float, x1: float, y: float, width: float = 0.5,
             color: Color = BLACK) -> None:
        self._end_text()
        self._set_stroke(color, width)
        self._ops.append(f"{x0:.2f} {y:.2f} m {x1:.2f} {y:.2f} l S")

    # -- tables -----------------------------------------------------------------------------

    def table(self, columns: Sequence[TableColumn], rows: Sequence[Sequence[str]], size: float,
              *, x: float | None = None, continued: Callable[[Pages], None] | None = None) -> None:
        """Boxed rows under a shaded header; a row that does not fit goes to the next page,
        where ``continued`` (if given) draws a heading and the header row is repeated. The
        grid of a page's rows is drawn once, under the last of them: a rule under each row
        and the column lines from the header down."""
        x = self.left if x is None else x
        titles = [column.title for column in columns]
        edges = [x]
        for column in columns:
            edges.append(edges[-1] + column.width)
        self.row(columns, titles, size, x=x, header=True)
        top, bottoms = self.y, []
        for values in rows:
            cells, height = self._layout(columns, values, size)
            if not self._fits(height):
                self._grid(edges, top, bottoms)
                self.new_page()
                if continued is not None:
                    continued(self)
                self.row(columns, titles, size, x=x, header=True)
                top, bottoms = self.y, []
            self._cell_texts(columns, cells, x, size, header=False, bold=False)
            self.y -= height
            bottoms.append(self.y)
        self._grid(edges, top, bottoms)

    def row(self, columns: Sequence[TableColumn], values: Sequence[str], size: float, *,
            x: float | None = None, header: bool = False, bold: bool = False) -> bool:
        """One boxed row of wrapped cells (shaded and centred for a header). Returns True,
        drawing nothing, when the row needs a new page: the caller starts the page with what
        it carries and draws the row again."""
        x = self.left if x is None else x
        cells, height = self._layout(columns, values, size)
        if not self._fits(height):
            self.new_page()
            return True
        bottom = self.y - height
        # the boxes (shaded under a header), then the text over them
        self._end_text()
        self._set_stroke(GRID_GREY, 0.5)
        if header:
            self._set_fill(HEADER_FILL)
        boxes, left = [], x
        for column in columns:
            boxes.append(f"{left:.2f} {bottom:.2f} {column.width:.2f} {height:.2f} re")
            left += column.width
        boxes.append("B" if header else "S")
        self._ops.append(" ".join(boxes))
        self._cell_texts(columns, cells, x, size, header=header, bold=bold)
        self.y = bottom
        return False

    def _fits(self, height: float) -> bool:
        """``height`` fits above the bottom margin, or nothing would (the page is empty)."""
        return self.y - height >= MARGIN or self.y >= self.size[1] - MARGIN

    def _layout(self, columns: Sequence[TableColumn], values: Sequence[str], size: float
                ) -> tuple[list[Sequence[str]], float]:
        """Each cell's lines, and the row's height."""
        font = self.font
        # A row runs ~10 cells, an invoice ~100 rows: the common case (one line that fits, a
        # string measured before) is looked up inline.
        widths = font.widths
        cells: list[Sequence[str]] = []
        for value, column in zip(values, columns, strict=True):
            width = widths.get(value)
            if width is None:
                width = font.width(value, 1.0)
            if width * size <= column.width - 2 * CELL_PAD and "\n" not in value:
                cells.append((value,) if value else ())
            else:
                cells.append(wrap(value, column.width - 2 * CELL_PAD, font, size))
        lines = max(max(len(lines) for lines in cells), 1)
        return cells, lines * size * 1.35 + 2 * CELL_PAD

    def _cell_texts(self, columns: Sequence[TableColumn], cells: Sequence[Sequence[str]],
                    x: float, size: float, *, header: bool, bold: bool) -> None:
        """The cells' lines from the row's top (``y``), each aligned in its column (centred in
        a header)."""
        font, ops, encoded = self.font, self._ops, self.font.encoded
        leading = size * 1.35
        self._text_state(size, header or bold, BLACK)
        left = x
        baseline_top = self.y - CELL_PAD - size
        for column, lines in zip(columns, cells, strict=True):
            align = "center" if header else column.align
            baseline = baseline_top
            for line in lines:
                if align == "left":
                    start = left + CELL_PAD
                elif align == "right":
                    start = left + column.width - CELL_PAD - font.width(line, size)
                else:
                    start = left + (column.width - font.width(line, size)) / 2
                runs = encoded.get(line) or font.runs(line)
                if (len(runs) == 1 and runs[0][0] == self._text_resource
                        and size == self._text_size):
                    ops.append(f"1 0 0 1 {start:.2f} {baseline:.2f} Tm <{runs[0][1]}> Tj")
                else:
                    self._show_at(start, baseline, line, size)
                baseline -= leading
            left += column.width

    def _grid(self, edges: Sequence[float], top: float, bottoms: Sequence[float]) -> None:
        """The lines of a table's rows on this page: under each row, and between the columns
        from ``top`` (the header's foot) to the last row's foot."""
        if not bottoms:
            return
        self._end_text()
        self._set_stroke(GRID_GREY, 0.5)
        left, right, bottom = f"{edges[0]:.2f}", f"{edges[-1]:.2f}", f"{bottoms[-1]:.2f}"
        path = [f"{left} {y:.2f} m {right} {y:.2f} l" for y in bottoms]
        path += [f"{edge:.2f} {top:.2f} m {edge:.2f} {bottom} l" for edge in edges]
        path.append("S")
        self._ops.append(" ".join(path))


def scaled_columns(specs: Sequence[tuple[str, float, str, float]], total: float
                   ) -> list[TableColumn]:
    """Columns sharing ``total`` points in proportion to their (Excel) widths, each at least
    its minimum (points: a date or an amount is never broken); what the minimums take is taken
    from the others in proportion."""
    whole = sum(width for _, width, _, _ in specs)
    widths = [total * width / whole for _, width, _, _ in specs]
    fixed = {i for i, (_, _, _, minimum) in enumerate(specs) if widths[i] < minimum}
    if fixed:
        taken = sum(specs[i][3] for i in fixed)
        flexible = sum(width for i, width in enumerate(widths) if i not in fixed)
        scale = max(total - taken, 0) / flexible if flexible else 0
        widths = [specs[i][3] if i in fixed else widths[i] * scale for i in range(len(specs))]
    return [TableColumn(title, width, align)
            for (title, _, align, _), width in zip(specs, widths, strict=True)]


def render_pdf(draw: Callable[[Pages], None], identity: str, day: dt.date, title: str,
               author: str) -> bytes:
    """The bytes of the PDF that ``draw`` draws on fresh pages."""
    buffer = io.BytesIO()
    canvas = reproducible_canvas(buffer, identity, day, title, author)
    pages = Pages(canvas, FontText(registered_font(), canvas._doc))
    draw(pages)
    pages.finish()
    canvas.save()
    return buffer.getvalue()
