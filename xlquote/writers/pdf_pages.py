"""Drawing A4 pages with reportlab: the Japanese font, a reproducible canvas, wrapped text and
tables that continue on the next page with their header repeated.

The font is IPAexGothic, shipped in ``xlquote/writers/fonts/`` with its licence (IPA Font
License v1.0); ``XLQUOTE_PDF_FONT`` names another TrueType font file. Every PDF embeds only the
subset of glyphs it uses. Same document, same bytes: the creation and modification dates are
the document's own date and the file ID is derived from the document's identity (its number),
never from the clock.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

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
BLACK = (0, 0, 0)
CELL_PAD = 2.5  # points between a table cell's box and its text

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
                pdfmetrics.registerFont(TTFont(name, str(path)))
            except (OSError, TTFError) as exc:
                source = f"{FONT_ENV}={path}" if os.environ.get(FONT_ENV) else str(path)
                raise OutputError(f"PDF font {source} cannot be used: {exc}") from None
            _fonts[path] = name
    return name


def reproducible_canvas(target: io.BytesIO, identity: str, day: dt.date, title: str,
                        author: str) -> Canvas:
    """A canvas whose file depends only on what is drawn, ``identity`` and ``day``."""
    font = registered_font()
    canvas = Canvas(target, pagesize=A4, invariant=True, pageCompression=True,
                    initialFontName=font, initialFontSize=10)
    doc = canvas._doc  # reportlab keeps the dates and the file ID on its document object
    stamp = TimeStamp(invariant=True)
    stamp.YMDhms, stamp.dhh, stamp.dmm = (day.year, day.month, day.day, 0, 0, 0), JST_HOURS, 0
    doc._timeStamp = stamp
    doc.updateSignature(identity)
    canvas.setTitle(title)
    canvas.setAuthor(author)
    canvas.setCreator("xlquote")
    return canvas


def wrap(text: str, width: float, font: str, size: float, max_lines: int = MAX_CELL_LINES
         ) -> list[str]:
    """``text`` broken into lines no wider than ``width`` (Japanese line-breaking rules, as
    reportlab's textsplit applies them); explicit newlines kept; more than ``max_lines`` lines
    are cut, the last ending with TRUNCATED."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        if pdfmetrics.stringWidth(paragraph, font, size) <= width:
            lines.append(paragraph)
        else:
            lines += [part for _, part in wordSplit(paragraph, width, font, size)]
        if len(lines) > max_lines:
            break
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        last = lines[-1]
        while last and pdfmetrics.stringWidth(last + TRUNCATED, font, size) > width:
            last = last[:-1]
        lines[-1] = last + TRUNCATED
    return lines


@dataclass(frozen=True)
class TableColumn:
    title: str
    width: float  # points
    align: str  # left | right | center


class Pages:
    """A sequence of pages drawn top to bottom: ``y`` is where the next thing goes; ``room``
    starts a new page when what comes next does not fit. ``on_new_page`` draws what every
    page carries (a draft's stamp, a continuation heading) and may move ``y``."""

    def __init__(self, canvas: Canvas, font: str) -> None:
        self.canvas, self.font = canvas, font
        self.on_new_page: Callable[[Pages], None] | None = None
        self.started = False
        self.size = A4
        self.y = 0.0

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
            self.canvas.showPage()
        self.started = True
        if landscape_page is not None:
            self.size = landscape(A4) if landscape_page else A4
        self.canvas.setPageSize(self.size)
        self.y = self.size[1] - MARGIN
        if self.on_new_page is not None:
            self.on_new_page(self)

    def room(self, height: float) -> bool:
        """Make sure ``height`` points fit above the bottom margin; True if a page began."""
        if self.y - height >= MARGIN:
            return False
        self.new_page()
        return True

    # -- text -------------------------------------------------------------------------------

    def text(self, x: float, y: float, text: str, size: float, *, bold: bool = False,
             align: str = "left", color: tuple[float, float, float] = BLACK) -> None:
        """One line at baseline ``y``; bold is drawn by stroking the glyph outlines (the font
        has no bold face)."""
        c = self.canvas
        c.setFont(self.font, size)
        c.setFillColorRGB(*color)
        mode = None
        if bold:
            c.setStrokeColorRGB(*color)
            c.setLineWidth(size * 0.03)
            mode = 2
        if align == "right":
            c.drawRightString(x, y, text, mode=mode)
        elif align == "center":
            c.drawCentredString(x, y, text, mode=mode)
        else:
            c.drawString(x, y, text, mode=mode)

    def paragraph(self, text: str, size: float, *, x: float | None = None,
                  width: float | None = None, bold: bool = False, align: str = "left",
                  color: tuple[float, float, float] = BLACK, max_lines: int = MAX_CELL_LINES,
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
             color: tuple[float, float, float] = BLACK) -> None:
        c = self.canvas
        c.setStrokeColorRGB(*color)
        c.setLineWidth(width)
        c.line(x0, y, x1, y)

    # -- tables -----------------------------------------------------------------------------

    def table(self, columns: Sequence[TableColumn], rows: Sequence[Sequence[str]], size: float,
              *, x: float | None = None, continued: Callable[[Pages], None] | None = None) -> None:
        """Boxed rows under a shaded header; a row that does not fit goes to the next page,
        where ``continued`` (if given) draws a heading and the header row is repeated."""
        x = self.left if x is None else x
        titles = [column.title for column in columns]
        self.row(columns, titles, size, x=x, header=True)
        for values in rows:
            if self.row(columns, values, size, x=x):
                if continued is not None:
                    continued(self)
                self.row(columns, titles, size, x=x, header=True)
                self.row(columns, values, size, x=x)

    def row(self, columns: Sequence[TableColumn], values: Sequence[str], size: float, *,
            x: float | None = None, header: bool = False, bold: bool = False) -> bool:
        """One boxed row of wrapped cells (shaded and centred for a header). Returns True,
        drawing nothing, when the row needs a new page: the caller starts the page with what
        it carries and draws the row again."""
        x = self.left if x is None else x
        leading = size * 1.35
        cells = [wrap(value, column.width - 2 * CELL_PAD, self.font, size)
                 for value, column in zip(values, columns, strict=True)]
        height = max(len(lines) for lines in cells) * leading + 2 * CELL_PAD
        if self.y - height < MARGIN and self.y < self.size[1] - MARGIN:
            self.new_page()
            return True
        c = self.canvas
        top = self.y
        c.setLineWidth(0.5)
        c.setStrokeColorRGB(*GRID_GREY)
        left = x
        for column, lines in zip(columns, cells, strict=True):
            if header:
                c.setFillColorRGB(*HEADER_FILL)
            c.rect(left, top - height, column.width, height, stroke=1, fill=1 if header else 0)
            align = "center" if header else column.align
            anchor = {"left": left + CELL_PAD, "right": left + column.width - CELL_PAD,
                      "center": left + column.width / 2}[align]
            baseline = top - CELL_PAD - size
            for line in lines:
                self.text(anchor, baseline, line, size, bold=header or bold, align=align)
                baseline -= leading
            left += column.width
        self.y = top - height
        return False


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


def text_width(text: str, font: str, size: float) -> float:
    return pdfmetrics.stringWidth(text, font, size)


def render_pdf(draw: Callable[[Pages], None], identity: str, day: dt.date, title: str,
               author: str) -> bytes:
    """The bytes of the PDF that ``draw`` draws on fresh pages."""
    buffer = io.BytesIO()
    canvas = reproducible_canvas(buffer, identity, day, title, author)
    pages = Pages(canvas, registered_font())
    draw(pages)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()

