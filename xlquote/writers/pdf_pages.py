"""Drawing A4 pages and writing them as a PDF file: the Japanese font embedded as a subset,
wrapped text, and tables that continue on the next page with their header repeated.

The font is IPAexGothic, shipped in ``xlquote/writers/fonts/`` with its licence (IPA Font
License v1.0); ``XLQUOTE_PDF_FONT`` names another TrueType font file. Every PDF embeds only the
glyphs it shows, as one CID-keyed font (Type 0, two-byte codes). Same document, same bytes:
the PDF's dates are the document's own date and its file ID is derived from the document's
identity (its number), never from the clock.

reportlab reads the font: it measures strings and breaks Japanese lines (``dumbSplit``).
HarfBuzz's subsetter (uharfbuzz) cuts the font program down to the glyphs a document shows, in
well under a millisecond for an invoice's few hundred. The rest is written here as PDF, because
speed asks for it (bench/README.md): reportlab's drawing calls make every string a text object
of its own, with font, colour and position set again and its characters encoded one by one,
and its document objects format every number of a file one call at a time. Here a page is one
content stream of operators (``Pages``): its text runs in as few text objects as the drawing
order allows, font, colour and stroke are set only when they change, each distinct string is
measured and encoded once per document (``FontText``), each distinct value of a table's
column laid out once per table (``_RowCells``) and a table's grid is drawn once per page;
``pdf_file`` writes the pages, the font, metadata and cross-reference table.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import os
import re
import threading
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.rl_accel import fp_str
from reportlab.lib.textsplit import dumbSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFError, TTFont

from ..deflate import zlib
from ..engine.errors import OutputError

FONT_ENV = "XLQUOTE_PDF_FONT"  # a TrueType font file to draw with instead of IPAexGothic
BUNDLED_FONT = Path(__file__).with_name("fonts") / "ipaexg.ttf"
MARGIN = 36.0  # points (0.5") on every side
TRUNCATED = "…（以下省略）"
MAX_CELL_LINES = 30  # a table cell longer than this is cut with TRUNCATED: a row fits a page
# A paragraph printed whole (``Pages.paragraph(whole=True)``: the parties' names, the
# registration number) shrinks by SHRINK_STEP points down to SMALLEST_WHOLE_SIZE to fit its
# lines, and at that size takes as many lines as it needs: a qualified invoice's required
# items are never cut, and still readable.
SMALLEST_WHOLE_SIZE = 7.0
SHRINK_STEP = 0.5
HEADER_FILL = (0xDD / 255, 0xE4 / 255, 0xEE / 255)
GRID_GREY = (0.5, 0.5, 0.5)
BLACK = (0.0, 0.0, 0.0)
CELL_PAD = 2.5  # points between a table cell's box and its text
BOLD_STROKE = 0.03  # bold is the glyph outline stroked this wide, per point of font size
FILL_STROKE = 2  # text rendering mode: fill, then stroke (bold)
# Page contents are deflated at level 1: they shrink ~5× (level 6: ~6×, at three times the
# CPU), and the font subset, stored as it is, makes up most of a file anyway. The subset is
# not deflated: TrueType outlines shrink by only ~30 % and deflating them took a fifth of an
# invoice PDF's time (a 90-row invoice: 12.8 → 10.2 ms, 78 → 104 KB).
COMPRESS_LEVEL = 1
# The tables a PDF viewer reads from an embedded TrueType font (PDF 32000-1, 9.9): outlines,
# metrics and hinting. Character maps, names and layout tables are the PDF's own business.
EMBEDDED_TABLES = frozenset({"glyf", "loca", "head", "hhea", "hmtx", "maxp", "cvt ", "fpgm", "prep"})
# A character's code is its UTF-16 code unit; the 2,048 codes UTF-16 keeps for surrogates
# (never a character) go to the characters beyond U+FFFF a document shows, in turn.
BEYOND_BMP_CODES = range(0xD800, 0xE000)
_BEYOND_BMP = re.compile("[\ud800-\udfff\U00010000-\U0010ffff]")  # and lone surrogates
# What a PDF draws of a text (``drawable``). Not drawn: what shows nothing but would print
# as the font's missing glyph (or, a soft hyphen, as a hyphen): format characters (category
# Cf: zero-width spaces and joiners, direction controls, tags) and the other default-ignorable
# code points (variation selectors, which a PDF's one glyph per code cannot apply; Hangul
# fillers; the combining grapheme joiner), and control characters. Line and paragraph
# separators, NEL and CR break the line as a newline does; a tab is a space.
_NOT_DRAWN = ("\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\u00ad\u034f\u0600-\u0605"
              "\u061c\u06dd\u070f\u0890\u0891\u08e2\u115f\u1160\u17b4\u17b5\u180b-\u180f"
              "\u200b-\u200f\u202a-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0"
              "\ufff0-\ufffb\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3"
              "\U0001d173-\U0001d17a\U000e0000-\U000e0fff")
_CHANGED = re.compile(f"(\r\n|[\r\x85\u2028\u2029])|(\t)|[{_NOT_DRAWN}]")
# The quick check: a text of these characters only is drawn as it is. Each is drawn, is its
# own NFC and never composes with the character before it (no combining mark): newlines,
# printable ASCII and Latin, punctuation and symbols, kana, kanji, full- and half-width
# forms (tests/test_invoice_documents.py checks every one). Anything else takes the slow path.
_ORDINARY = re.compile("[\n -~\xa0-\xac\xae-\u02ff\u2010-\u2027\u2030-\u205e\u2070-\u20cf"
                       "\u2100-\u2125\u2127-\u2129\u212c-\u2328\u232b-\u2adb\u2add-\u2bff\u3000-\u3029"
                       "\u3030-\u3098\u309b-\u3163\u3165-\u9fff\uff01-\uff9f\uffa1-\uffef]*")
# CJK compatibility ideographs are kept as they are: NFC would turn each into its unified
# ideograph, another glyph (侮 U+FA30 → 侮 U+4FAE), and a name is printed as it was written.
_COMPATIBILITY_IDEOGRAPHS = re.compile("([\uf900-\ufaff\U0002f800-\U0002fa1f]+)")
CMAP_SECTION = 100  # a ToUnicode map's bfrange and bfchar sections: 100 entries at most
FONT_SYMBOLIC, FONT_NONSYMBOLIC = 1 << 2, 1 << 5  # font descriptor flags (not Latin text)

Color = tuple[float, float, float]

_fonts: dict[Path, str] = {}
# What a font's text measures, kept from one document to the next (most of a month's
# documents show the same dates, amounts and labels), behind each document's own (which keeps
# every string it shows, however long): each string's width at 1 point
# (``FontText.width``), each character's by size (``FontText.char_widths``) and the codes of
# a string of the Basic Multilingual Plane (``FontText.codes``); and a table
# column's lines of each value (``_RowCells``), by font, size and column width (a month's
# tables have a few dozen). Each is emptied when it holds more than MEASURES_KEPT entries as
# a document (a table) starts, or more than COLUMNS_KEPT columns. Only strings of at most
# KEPT_TEXT characters are kept: a cell may hold 32,767, and a long text is seldom shown twice.
_measured: dict[str, tuple[dict[str, float], dict[float, dict[str, float]], dict[str, str]]] = {}
_wrapped: dict[tuple[str, float, float], dict[str, Sequence[str]]] = {}
MEASURES_KEPT = 50_000
KEPT_TEXT = 200
COLUMNS_KEPT = 256
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
            pdfmetrics.registerFont(font)
            _fonts[path] = name
    return name


class FontText:
    """The font as one document uses it: each distinct string measured and encoded once (and
    a short one measured once in the process, while ``_measured`` keeps it).

    Text is shown in two-byte codes: a character of the Basic Multilingual Plane is its own
    code (UTF-16), one beyond it takes the next code of ``BEYOND_BMP_CODES`` the first time
    the document shows it. The embedded font maps codes to glyphs; a character the font lacks
    (inside U+FFFF or beyond it) shows its missing glyph and still reads back as itself
    (``_font_objects``)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.font: TTFont = pdfmetrics.getFont(name)
        self._face = self.font.face
        self.shown: set[str] = set()  # every character the document shows
        self.beyond_bmp: dict[int, int] = {}  # character → code (str.translate)
        self._beyond_bmp_taken = 0  # codes of BEYOND_BMP_CODES given out
        self.encoded: dict[str, str] = {}  # by ``codes``
        self.widths: dict[str, float] = {}  # at 1 point, by ``width``
        self._kept_widths, self._char_widths, self._kept_codes = _measured.setdefault(
            name, ({}, {}, {}))
        if (len(self._kept_widths) + sum(map(len, self._char_widths.values()))
                + len(self._kept_codes) > MEASURES_KEPT):
            self._kept_widths.clear()
            self._char_widths.clear()
            self._kept_codes.clear()

    def width(self, text: str, size: float) -> float:
        width = self.widths.get(text)
        if width is None:
            width = self._kept_widths.get(text)
            if width is None:
                width = self.font.stringWidth(text, 1.0)
                if len(text) <= KEPT_TEXT:
                    self._kept_widths[text] = width
            self.widths[text] = width
        return width * size

    def char_widths(self, text: str, size: float) -> list[float]:
        """Each character's width at ``size``, as reportlab measures it to break lines."""
        known = self._char_widths.setdefault(size, {})
        new = set(text).difference(known)
        if new:  # reportlab's stringWidth of each, to the last bit, without a call for each
            width_of, missing = self._face.charWidths.get, self._face.defaultWidth
            known.update({character: width_of(ord(character), missing) * 0.001 * size
                          for character in new})
        return list(map(known.__getitem__, text))

    def codes(self, text: str) -> str:
        """``text`` as the hex string of its two-byte codes."""
        found = self.encoded.get(text)
        if found is not None:
            return found
        self.shown.update(text)
        found = self._kept_codes.get(text)
        if found is None:
            if _BEYOND_BMP.search(text):  # codes of this document's own
                for character in _BEYOND_BMP.findall(text):
                    self._assign(ord(character))
                found = text.translate(self.beyond_bmp).encode("utf-16-be", "surrogatepass").hex()
            else:
                found = text.encode("utf-16-be").hex()
                if len(text) <= KEPT_TEXT:
                    self._kept_codes[text] = found
        self.encoded[text] = found
        return found

    def glyphless(self) -> str:
        """The characters shown so far that the font has no glyph for."""
        has = self._face.charToGlyph
        return "".join(sorted(c for c in self.shown if not c.isascii() and ord(c) not in has))

    def _assign(self, character: int) -> None:
        if character in self.beyond_bmp:
            return
        if character <= 0xFFFF:
            self.beyond_bmp[character] = 0  # a lone surrogate: no character
            return
        taken = self._beyond_bmp_taken
        if taken == len(BEYOND_BMP_CODES):
            raise OutputError(f"a PDF cannot show more than {taken:,} distinct characters "
                              "beyond U+FFFF")
        self.beyond_bmp[character] = BEYOND_BMP_CODES[taken]
        self._beyond_bmp_taken = taken + 1


def drawable(text: str) -> str:
    """``text`` as a PDF draws it: composed (NFC), without the characters that show nothing
    (``_NOT_DRAWN``), line separators, NEL and CR as newlines and tabs as spaces. Only the
    PDF: workbooks and the register keep the text as it was entered. Ordinary text is
    returned as it is after a quick check (``_ORDINARY``): no character-by-character pass in
    Python, and NFC only for the rare text that may need it."""
    if (text.isascii() and text.isprintable()) or _ORDINARY.fullmatch(text):
        return text
    text = "".join(piece if i % 2 else unicodedata.normalize("NFC", piece)
                   for i, piece in enumerate(_COMPATIBILITY_IDEOGRAPHS.split(text)))
    return _CHANGED.sub(_drawn_instead, text)


def _drawn_instead(found: re.Match[str]) -> str:
    return "\n" if found.group(1) else " " if found.group(2) else ""


def _one_line(text: str) -> str:
    """``text`` as drawn on one line: its line breaks as spaces."""
    text = drawable(text)
    return text.replace("\n", " ") if "\n" in text else text


def missing_glyphs(text: str) -> list[str]:
    """The characters of ``text`` as drawn (``drawable``) that the PDF font has no glyph for:
    each prints as the font's missing glyph (a box), once each in order."""
    text = drawable(text)
    if text.isascii():
        return []
    has = pdfmetrics.getFont(registered_font()).face.charToGlyph
    return list(dict.fromkeys(c for c in text if c not in "\n" and ord(c) not in has))


def wrap(text: str, width: float, font: FontText, size: float,
         max_lines: int = MAX_CELL_LINES) -> list[str]:
    """``text`` as drawn (``drawable``) broken into lines no wider than ``width`` (between any
    two characters, as reportlab's ``wordSplit`` breaks Japanese); explicit newlines kept;
    more than ``max_lines`` lines are cut, the last ending with TRUNCATED."""
    text = drawable(text)
    if "\n" not in text and font.width(text, size) <= width:
        return [text]
    lines = _broken(text, width, font, size, max_lines)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        last = lines[-1]
        while last and font.width(last + TRUNCATED, size) > width:
            last = last[:-1]
        lines[-1] = last + TRUNCATED
    return lines


def wrap_whole(text: str, width: float, font: FontText, size: float, max_lines: int
               ) -> tuple[list[str], float]:
    """``text`` as drawn, whole, in at most ``max_lines`` lines at the largest size from
    ``size`` down to SMALLEST_WHOLE_SIZE (by SHRINK_STEP), or at that size in as many lines as
    it takes; and that size."""
    text = drawable(text)
    while True:
        if "\n" not in text and font.width(text, size) <= width:
            return [text], size
        if size - SHRINK_STEP < SMALLEST_WHOLE_SIZE:  # every line, however many
            return _broken(text, width, font, size, len(text) + 1), size
        lines = _broken(text, width, font, size, max_lines)
        if len(lines) <= max_lines:
            return lines, size
        size -= SHRINK_STEP


def _broken(text: str, width: float, font: FontText, size: float, max_lines: int
            ) -> list[str]:
    """``text``'s lines (``wrap``), uncut: more than ``max_lines`` once it does not fit, but
    only as many as it takes to tell."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        if font.width(paragraph, size) <= width:
            lines.append(paragraph)
        else:
            paragraph = _start_filling(paragraph, width, font, size, max_lines - len(lines))
            lines += [part for _, part in dumbSplit(paragraph, font.char_widths(paragraph, size),
                                                    width)]
        if len(lines) > max_lines:
            break
    return lines


def _start_filling(paragraph: str, width: float, font: FontText, size: float, lines: int
                   ) -> str:
    """The start of ``paragraph`` that fills more than ``lines`` lines when it is longer: the
    rest would be cut. A cell may hold 32,767 characters, and breaking all of them into lines
    cost ~10 ms a cell to show thirty. Each line holds at most ``width`` over the narrowest
    character's width, and one line more is kept, so the lines shown are the same. Characters
    of no width (a combining mark) take no room: they are not counted."""
    characters = "".join(set(paragraph))
    widths = font.char_widths(characters, size)
    narrowest = min((w for w in widths if w > 0), default=0.0)
    if narrowest <= 0:
        return paragraph
    most = (lines + 2) * (int(width / narrowest) + 1)
    if len(paragraph) <= most:
        return paragraph
    no_room = {c for c, w in zip(characters, widths, strict=True) if w <= 0}
    if not no_room:
        return paragraph[:most]
    counted = [i for i, c in enumerate(paragraph) if c not in no_room]
    return paragraph if len(counted) <= most else paragraph[:counted[most]]


@dataclass(frozen=True)
class TableColumn:
    title: str
    width: float  # points
    align: str  # left | right | center


def _rgb(color: Color) -> str:
    return f"{color[0]:.3f} {color[1]:.3f} {color[2]:.3f}"


Page = tuple[tuple[float, float], bytes]  # (width, height) in points, content stream


class Pages:
    """A sequence of pages drawn top to bottom: ``y`` is where the next thing goes; ``room``
    starts a new page when what comes next does not fit. ``on_new_page`` draws what every
    page carries (a draft's stamp, a continuation heading) and may move ``y``.

    Each page is one content stream of PDF operators (``pages`` once done). Graphics state
    (colours, line width, text font and rendering mode) is set only when it changes;
    consecutive texts share one text object."""

    def __init__(self, font: FontText) -> None:
        self.font = font
        self.on_new_page: Callable[[Pages], None] | None = None
        self.pages: list[Page] = []
        self.started = False
        self.page_number = 0
        self.size = A4
        self.y = 0.0
        self._reset()

    def _reset(self) -> None:
        """A fresh page's state: PDF starts every page black, 1 pt lines, filled text."""
        self._ops: list[str] = []
        self._in_text = False
        self._text_size = 0.0  # the font size last set (Tf)
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
        self.page_number += 1
        self.y = self.size[1] - MARGIN
        if self.on_new_page is not None:
            self.on_new_page(self)

    def finish(self) -> None:
        """Close the last page."""
        self._close_page()

    def _close_page(self) -> None:
        self._end_text()
        self.pages.append((self.size, "\n".join(self._ops).encode("ascii")))
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
        """The width of ``text`` as it is: at least its width as drawn (``drawable`` leaves
        out, composes, or breaks; called for each cell of a table's dates and amounts)."""
        return self.font.width(text, size)

    def text(self, x: float, y: float, text: str, size: float, *, bold: bool = False,
             align: str = "left", color: Color = BLACK, angle: float = 0.0) -> None:
        """One line at baseline ``y``, ``x`` being its left end, right end or centre
        (``align``), turned ``angle`` degrees about that point; bold is drawn by stroking the
        glyph outlines (the font has no bold face). ``text`` as drawn (``drawable``), its
        line breaks as spaces."""
        self._line(x, y, _one_line(text), size, bold=bold, align=align, color=color, angle=angle)

    def _line(self, x: float, y: float, text: str, size: float, *, bold: bool = False,
              align: str = "left", color: Color = BLACK, angle: float = 0.0) -> None:
        """``text`` of a line already drawable."""
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
            self._show_at(f"{x - offset:.2f} {y:.2f}", text, size)

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

    def _show_at(self, position: str, text: str, size: float) -> None:
        """``text`` from ``position`` ("x y"), in the text state set (``_text_state``)."""
        self._ops.append(f"1 0 0 1 {position} Tm {self._shown(text, size)}")

    def _show(self, text: str, size: float) -> None:
        """``text`` where the text matrix stands."""
        self._ops.append(self._shown(text, size))

    def _shown(self, text: str, size: float) -> str:
        """The operators that show ``text`` at ``size``: the font set first where it is not."""
        codes = self.font.encoded.get(text) or self.font.codes(text)
        if size == self._text_size:
            return f"<{codes}> Tj"
        self._text_size = size
        return f"/F0 {size:.2f} Tf <{codes}> Tj"

    def paragraph(self, text: str, size: float, *, x: float | None = None,
                  width: float | None = None, bold: bool = False, align: str = "left",
                  color: Color = BLACK, max_lines: int = MAX_CELL_LINES,
                  leading: float | None = None, whole: bool = False) -> None:
        """Wrapped text from ``y`` down, starting a page where it must; ``y`` moves below.
        Beyond ``max_lines`` lines the text is cut (``wrap``), or, ``whole``, it is drawn
        smaller or on more lines (``wrap_whole``; the leading shrinks with the size)."""
        x = self.left if x is None else x
        width = self.width if width is None else width
        if whole:
            lines, shrunk = wrap_whole(text, width, self.font, size, max_lines)
            leading = (leading or size * 1.45) * shrunk / size
            size = shrunk
        else:
            lines = wrap(text, width, self.font, size, max_lines)
            leading = leading or size * 1.45
        anchor = {"left": x, "right": x + width, "center": x + width / 2}[align]
        for line in lines:
            self.room(leading)
            self.y -= leading
            self._line(anchor, self.y + leading * 0.28, line, size, bold=bold, align=align,
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
        header = _RowCells(self.font, columns, x, size, centred=True)
        body = _RowCells(self.font, columns, x, size)
        self._boxed_row(header, titles, header=True)
        top, bottoms = self.y, []
        for values in rows:
            cells, height = body.layout(values)
            if not self._fits(height):
                self._grid(edges, top, bottoms)
                self.new_page()
                if continued is not None:
                    continued(self)
                self._boxed_row(header, titles, header=True)
                top, bottoms = self.y, []
            self._show_cells(body, cells, bold=False)
            self.y -= height
            bottoms.append(self.y)
        self._grid(edges, top, bottoms)

    def row(self, columns: Sequence[TableColumn], values: Sequence[str], size: float, *,
            x: float | None = None, header: bool = False, bold: bool = False) -> bool:
        """One boxed row of wrapped cells (shaded and centred for a header). Returns True,
        drawing nothing, when the row needs a new page: the caller starts the page with what
        it carries and draws the row again."""
        x = self.left if x is None else x
        return self._boxed_row(_RowCells(self.font, columns, x, size, centred=header), values,
                               header=header, bold=bold)

    def _boxed_row(self, row_cells: _RowCells, values: Sequence[str], *, header: bool = False,
                   bold: bool = False) -> bool:
        """``row``, with the row's columns, place and size in ``row_cells``."""
        cells, height = row_cells.layout(values)
        if not self._fits(height):
            self.new_page()
            return True
        bottom = self.y - height
        # the boxes (shaded under a header), then the text over them
        self._end_text()
        self._set_stroke(GRID_GREY, 0.5)
        if header:
            self._set_fill(HEADER_FILL)
        boxes, left = [], row_cells.x
        for column in row_cells.columns:
            boxes.append(f"{left:.2f} {bottom:.2f} {column.width:.2f} {height:.2f} re")
            left += column.width
        boxes.append("B" if header else "S")
        self._ops.append(" ".join(boxes))
        self._show_cells(row_cells, cells, bold=header or bold)
        self.y = bottom
        return False

    def _fits(self, height: float) -> bool:
        """``height`` fits above the bottom margin, or nothing would (the page is empty)."""
        return self.y - height >= MARGIN or self.y >= self.size[1] - MARGIN

    def _show_cells(self, row_cells: _RowCells, cells: Sequence[Sequence[str]], *, bold: bool
                    ) -> None:
        """The cells' lines (``_RowCells.layout``) from the row's top (``y``)."""
        size = row_cells.size
        self._text_state(size, bold, BLACK)
        shown = row_cells.shown(cells, self.y, set_size=size != self._text_size)
        if shown:
            self._ops.append(shown)
            self._text_size = size

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


class _LineStarts(dict[str, str]):
    """Where each line of a right-aligned or centred column starts, as the text matrix's
    "1 0 0 1 x " (its baseline follows), worked out the first time a line is shown."""

    def __init__(self, font: FontText, width: float, align: str, left: float, size: float
                 ) -> None:
        super().__init__()
        self.font, self.width, self.align, self.left, self.size = font, width, align, left, size

    def __missing__(self, line: str) -> str:
        width = self.font.width(line, self.size)
        if self.align == "right":
            x = self.left + self.width - CELL_PAD - width
        else:
            x = self.left + (self.width - width) / 2
        start = self[line] = f"1 0 0 1 {x:.2f} "
        return start


def _column_lines(font: str, size: float, width: float) -> dict[str, Sequence[str]]:
    """The lines of each value already shown in a column of this font, size and width."""
    if len(_wrapped) > COLUMNS_KEPT or sum(map(len, _wrapped.values())) > MEASURES_KEPT:
        _wrapped.clear()
    return _wrapped.setdefault((font, size, width), {})


class _RowCells:
    """The cells of a table's rows: each value's lines in its column (``wrap``), each line
    placed in its column as the column aligns it (centred: a header's). What a table repeats
    is worked out once for it: each distinct value's lines in its column, and where each line
    of a right-aligned or centred column starts (a table's rows are most of an invoice's PDF)."""

    def __init__(self, font: FontText, columns: Sequence[TableColumn], x: float, size: float,
                 *, centred: bool = False) -> None:
        self.font, self.columns, self.x, self.size = font, columns, x, size
        self.leading = size * 1.35
        self._lines: list[dict[str, Sequence[str]]] = [{} for _ in columns]  # every value
        self._kept = [_column_lines(font.name, size, column.width) for column in columns]
        # each column's start of a line: a left-aligned one's is the column's own
        self._starts: list[tuple[str, _LineStarts | None]] = []
        left = x
        for column in columns:
            align = "center" if centred else column.align
            self._starts.append(
                (f"1 0 0 1 {left + CELL_PAD:.2f} ", None) if align == "left"
                else ("", _LineStarts(font, column.width, align, left, size)))
            left += column.width

    def layout(self, values: Sequence[str]) -> tuple[list[Sequence[str]], float]:
        """Each cell's lines, and the row's height."""
        cells: list[Sequence[str]] = []
        most = 1
        for value, known, kept, column in zip(values, self._lines, self._kept, self.columns,
                                              strict=True):
            lines = known.get(value)
            if lines is None:
                lines = kept.get(value)
                if lines is None:  # wrap keeps a line that fits as it is
                    lines = (wrap(value, column.width - 2 * CELL_PAD, self.font, self.size)
                             if value else ())
                    if len(value) <= KEPT_TEXT:
                        kept[value] = lines
                known[value] = lines
            cells.append(lines)
            if len(lines) > most:
                most = len(lines)
        return cells, most * self.leading + 2 * CELL_PAD

    def shown(self, cells: Sequence[Sequence[str]], top: float, *, set_size: bool) -> str:
        """The operators showing ``cells`` in a row whose top is ``top``, inside a text
        object; the font is set at this size with the first line where ``set_size``."""
        font = self.font
        encoded = font.encoded
        if not set_size and max(map(len, cells), default=0) <= 1:  # most rows: one baseline
            baseline = f"{top - CELL_PAD - self.size:.2f} Tm <"
            return "\n".join([
                f"{left_start if starts is None else starts[lines[0]]}{baseline}"
                f"{encoded.get(lines[0]) or font.codes(lines[0])}> Tj"
                for lines, (left_start, starts) in zip(cells, self._starts, strict=True) if lines])
        size_set = f"/F0 {self.size:.2f} Tf " if set_size else ""
        baselines: list[str] = []  # each line's, as it is written, from the first
        shows: list[str] = []
        for lines, (left_start, starts) in zip(cells, self._starts, strict=True):
            if not lines:
                continue
            if len(lines) > len(baselines):
                baseline = top - CELL_PAD - self.size
                baselines.clear()
                for _ in lines:
                    baselines.append(f"{baseline:.2f}")
                    baseline -= self.leading
            for line, baseline_text in zip(lines, baselines, strict=False):  # or more baselines
                codes = encoded.get(line) or font.codes(line)
                shows.append(f"{left_start if starts is None else starts[line]}{baseline_text} Tm "
                             f"{size_set}<{codes}> Tj")
                size_set = ""
        return "\n".join(shows)


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


# -- the file ---------------------------------------------------------------------------------

def _text_string(text: str) -> bytes:
    """A PDF text string: UTF-16BE after its byte order mark, in hex (nothing to escape)."""
    return b"<FEFF" + text.encode("utf-16-be", "surrogatepass").hex().upper().encode() + b">"


def _stream(data: bytes, entries: bytes = b"") -> bytes:
    return b"<< /Length %d%s >>\nstream\n%s\nendstream" % (len(data), entries, data)


def _deflated(data: bytes) -> bytes:
    return _stream(zlib.compress(data, COMPRESS_LEVEL), b" /Filter /FlateDecode")


# font file → the uharfbuzz face ready to subset, and the tags of the tables a PDF leaves out
_subset_faces: dict[str, tuple[Any, list[int]]] = {}


def _subset_face(path: str) -> tuple[Any, list[int]]:
    """The font file as HarfBuzz's subsetter reads it, prepared once per process (a prepared
    face subsets an invoice's glyphs in ~0.1 ms, a fresh one in ~1 ms), and the tags of its
    tables that are not ``EMBEDDED_TABLES``."""
    # imported here: xlwings Lite (the browser) runs the Excel functions, never the PDFs
    import uharfbuzz as hb

    with _fonts_lock:
        prepared = _subset_faces.get(path)
        if prepared is None:
            face = hb.subset_preprocess(hb.Face(hb.Blob.from_file_path(path), 0))
            left_out = [int.from_bytes(tag.encode("latin-1"), "big") for tag in face.table_tags
                        if tag not in EMBEDDED_TABLES]
            prepared = _subset_faces[path] = (face, left_out)
        return prepared


def _font_program(path: str, glyphs: Sequence[int]) -> tuple[bytes, Mapping[int, int]]:
    """The TrueType font at ``path`` cut down to ``glyphs`` (and the glyphs they are made
    of), and each kept glyph's new number. Hinting is kept: the glyphs print as they do in
    the font."""
    import uharfbuzz as hb

    face, left_out = _subset_face(path)
    request = hb.SubsetInput()
    request.glyph_set.update(glyphs)
    request.flags = hb.SubsetFlags.NOTDEF_OUTLINE | hb.SubsetFlags.NO_LAYOUT_CLOSURE
    request.drop_table_tag_set.update(left_out)
    plan = hb.SubsetPlan(face, request)
    return plan.execute().blob.data, plan.old_to_new_glyph_mapping


def _to_unicode(bmp: Sequence[int], beyond_bmp: Mapping[int, int]) -> bytes:
    """The ToUnicode map: each code of the Basic Multilingual Plane reads as itself (in
    ranges of 256, as ``bfrange`` requires), each code of ``beyond_bmp`` as its character."""
    ranges = []
    for high in sorted({code >> 8 for code in bmp}):
        low = 1 if high == 0 else 0  # code 0 reads as nothing
        ranges.append(b"<%02X%02X> <%02XFF> <%02X%02X>" % (high, low, high, high, low))
    entries = [b"<%04X> <%s>" % (code, chr(character).encode("utf-16-be").hex().upper().encode())
               for character, code in beyond_bmp.items() if code]
    sections = [b"%d begin%s\n%s\nend%s" % (len(batch), kind, b"\n".join(batch), kind)
                for kind, lines in ((b"bfrange", ranges), (b"bfchar", entries))
                for batch in (lines[i:i + CMAP_SECTION]
                              for i in range(0, len(lines), CMAP_SECTION))]
    return (b"/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
            b"/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
            b"/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
            b"1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n%s\nendcmap\n"
            b"CMapName currentdict /CMap defineresource pop\nend\nend" % b"\n".join(sections))


def _font_objects(font: FontText, first: int) -> list[bytes]:
    """The document's font as six objects numbered from ``first``: the Type 0 font (/F0), its
    CID font, the descriptor, the font program (as it is), the ToUnicode map and the map of
    codes to the program's glyphs (both deflated)."""
    face = font.font.face
    glyph_of, default_width = face.charToGlyph, face.defaultWidth
    bmp = sorted(code for code in map(ord, font.shown)
                 if code <= 0xFFFF and code not in BEYOND_BMP_CODES)
    codes = [code for code in bmp if code in glyph_of]
    characters = codes.copy()
    for character, code in font.beyond_bmp.items():
        if code:
            codes.append(code)
            characters.append(character)
    glyphs = [glyph_of.get(character, 0) for character in characters]  # 0: the missing glyph
    program, renumbered = _font_program(face.filename, [0, *glyphs])
    code_glyphs = np.zeros(max(codes, default=0) + 1, ">u2")
    code_glyphs[codes] = [renumbered[glyph] for glyph in glyphs]
    # /W lists the widths that differ from /DW: a Japanese font's are mostly full width
    widths = [(code, width) for code, character in zip(codes, characters, strict=True)
              if (width := face.charWidths.get(character, default_width)) != default_width]
    name = b"AAAAAA+" + face.name + face.subfontNameX  # the subset tag: one subset a file
    return [
        b"<< /Type /Font /Subtype /Type0 /BaseFont /%s /Encoding /Identity-H "
        b"/DescendantFonts [%d 0 R] /ToUnicode %d 0 R >>" % (name, first + 1, first + 4),
        b"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /%s /CIDSystemInfo << /Registry "
        b"(Adobe) /Ordering (Identity) /Supplement 0 >> /FontDescriptor %d 0 R /DW %s "
        b"/W [%s] /CIDToGIDMap %d 0 R >>"
        % (name, first + 2, fp_str(default_width).encode(),
           b" ".join(b"%d [%s]" % (code, fp_str(width).encode()) for code, width in widths),
           first + 5),
        b"<< /Type /FontDescriptor /FontName /%s /Flags %d /FontBBox [%s] /ItalicAngle %s "
        b"/Ascent %s /Descent %s /CapHeight %s /StemV %s /MissingWidth %s /FontFile2 %d 0 R"
        b" >>" % (name, face.flags & ~FONT_NONSYMBOLIC | FONT_SYMBOLIC,
                  fp_str(*face.bbox).encode(), fp_str(face.italicAngle).encode(),
                  fp_str(face.ascent).encode(), fp_str(face.descent).encode(),
                  fp_str(face.capHeight).encode(), fp_str(face.stemV).encode(),
                  fp_str(default_width).encode(), first + 3),
        _stream(program, b" /Length1 %d" % len(program)),
        _deflated(_to_unicode(bmp, font.beyond_bmp)),
        _deflated(code_glyphs.tobytes()),
    ]


def pdf_file(pages: Sequence[Page], font: FontText, identity: str, day: dt.date, title: str,
             author: str) -> bytes:
    """The PDF of ``pages`` drawn with ``font``, dated ``day`` (midnight in Japan), its file
    ID derived from ``identity``."""
    # objects: 1 catalog, 2 page tree, 3 document information, 4 page resources, then the
    # font's six objects, then each page and its contents
    fonts = _font_objects(font, 5)
    first_page = 5 + len(fonts)
    kids = b" ".join(b"%d 0 R" % (first_page + 2 * i) for i in range(len(pages)))
    stamp = f"D:{day:%Y%m%d}000000+09'00'".encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, len(pages)),
        b"<< /Title %s /Author %s /Creator (xlquote) /Producer (xlquote) /CreationDate (%s) "
        b"/ModDate (%s) >>" % (_text_string(title), _text_string(author), stamp, stamp),
        b"<< /Font << /F0 5 0 R >> /ProcSet [/PDF /Text] >>",
        *fonts,
    ]
    for i, (size, content) in enumerate(pages):
        objects.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %s] /Resources 4 0 R "
                       b"/Contents %d 0 R >>" % (fp_str(*size).encode(), first_page + 2 * i + 1))
        objects.append(_deflated(content))
    out = [b"%PDF-1.4\n%\x93\x8c\x8b\x9e\n"]  # a binary comment: the file is not text
    offsets, at = [], len(out[0])
    for number, body in enumerate(objects, start=1):
        piece = b"%d 0 obj\n%s\nendobj\n" % (number, body)
        offsets.append(at)
        out.append(piece)
        at += len(piece)
    file_id = hashlib.md5(f"{identity}\n{day}".encode(), usedforsecurity=False).hexdigest()
    out.append(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    out += [b"%010d 00000 n \n" % offset for offset in offsets]
    out.append(b"trailer\n<< /Size %d /Root 1 0 R /Info 3 0 R /ID [<%s><%s>] >>\nstartxref\n"
               b"%d\n%%%%EOF\n" % (len(objects) + 1, file_id.encode(), file_id.encode(), at))
    return b"".join(out)


class DrawnPdf(bytes):
    """A PDF's bytes, with the characters it shows that its font has no glyph for (each
    printed as the font's missing glyph, a box), in code point order."""

    glyphless: str = ""


def render_pdf(draw: Callable[[Pages], None], identity: str, day: dt.date, title: str,
               author: str) -> DrawnPdf:
    """The bytes of the PDF that ``draw`` draws on fresh pages."""
    font = FontText(registered_font())
    pages = Pages(font)
    draw(pages)
    pages.finish()
    drawn = DrawnPdf(pdf_file(pages.pages, font, identity, day, title, author))
    drawn.glyphless = font.glyphless()
    return drawn
