"""Invoice documents drawn from one layout by two renderers, the workbook and the PDF: the
demo month's invoices as PDFs (text read back with poppler's pdftotext, fonts with pdffonts),
reproducible and made without LibreOffice; every document kind in both renderers; and no staff
workflow label on anything a customer receives."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import random
import re
import shutil
import subprocess
import tracemalloc
import zlib
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import uharfbuzz as hb
from helpers import demo_invoices, demo_settings
from reportlab.pdfbase import pdfmetrics

from xlquote.app import documents
from xlquote.app.documents import billed_content, shown_characters
from xlquote.app.invoice_run import printed_on_every_document
from xlquote.engine.errors import OutputError
from xlquote.engine.invoice import (
    CORRECTION,
    DRAFT,
    FLAG_LABELS_JA,
    STATEMENT,
    Cancellation,
    Correction,
    Invoice,
)
from xlquote.engine.settings import Settings
from xlquote.writers import (
    invoice_pdf,
    write_cancellation_pdf,
    write_cancellation_workbook,
    write_invoice_pdf,
    write_invoice_workbook,
)
from xlquote.writers.invoice_layout import (
    CUSTOMER_FLAG_WORDING,
    addressee,
    correction_reference,
    yen_text,
)
from xlquote.writers.pdf_pages import FONT_ENV, font_path, registered_font

MONTH = "2026-10"
PDFTOTEXT, PDFFONTS, PDFINFO = (shutil.which(tool) for tool in ("pdftotext", "pdffonts", "pdfinfo"))
assert PDFTOTEXT and PDFFONTS and PDFINFO, "poppler-utils (pdftotext, pdffonts, pdfinfo): .ci/run"


@pytest.fixture(scope="module")
def settings():
    return demo_settings()


@pytest.fixture(scope="module")
def invoices() -> list[Invoice]:
    return demo_invoices(MONTH)


@pytest.fixture(scope="module")
def pdfs(invoices, settings, tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("pdf")
    return {inv.number: write_invoice_pdf(inv, settings, folder / f"{inv.number}.pdf")
            for inv in invoices}


def by_contract(invoices: list[Invoice], contract_id: str) -> Invoice:
    return next(inv for inv in invoices if inv.contract.contract_id == contract_id)


def pdf_text(pdf: Path, page: int | None = None, *options: str) -> str:
    pages = ["-f", str(page), "-l", str(page)] if page else []
    return subprocess.run([PDFTOTEXT, *options, *pages, str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout


def flat(text: str) -> str:
    """Text without line breaks or spaces: a sentence wrapped on the page reads whole."""
    return re.sub(r"\s+", "", text)


def pdf_fonts(pdf: Path) -> list[list[str]]:
    lines = subprocess.run([PDFFONTS, str(pdf)], capture_output=True, text=True,
                           check=True).stdout.splitlines()[2:]
    return [line.split() for line in lines]


def pdf_info(pdf: Path) -> dict[str, str]:
    lines = subprocess.run([PDFINFO, "-isodates", str(pdf)], capture_output=True, text=True,
                           check=True).stdout.splitlines()
    return dict(re.split(r":\s*", line, maxsplit=1) for line in lines if ":" in line)


def workbook_text(path: Path) -> str:
    """Every value a reader of the workbook sees, sheet names and printed headers included."""
    wb = openpyxl.load_workbook(path)
    parts: list[str] = []
    for ws in wb.worksheets:
        parts += [ws.title, ws.oddHeader.center.text or ""]
        for row in ws.iter_rows(values_only=True):
            parts += [_shown(value) for value in row if value is not None]
    return "\n".join(parts)


def _shown(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return f"{value:%Y/%m/%d}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{yen_text(value)} {value}"  # as a yen amount and as a count
    return str(value)


def render(kind: str, document: Invoice | Cancellation, settings, folder: Path) -> str:
    """The document drawn by the ``kind`` renderer, as the text a reader sees."""
    if isinstance(document, Cancellation):
        if kind == "pdf":
            return pdf_text(write_cancellation_pdf(document, settings, folder / "c.pdf"))
        return workbook_text(write_cancellation_workbook(document, settings, folder / "c.xlsx"))
    if kind == "pdf":
        return pdf_text(write_invoice_pdf(document, settings, folder / "i.pdf"))
    return workbook_text(write_invoice_workbook(document, settings, folder / "i.xlsx"))


RENDERERS = ["pdf", "xlsx"]


# -- the demo month as PDFs ---------------------------------------------------------------------

def test_every_demo_invoice_pdf_carries_the_qualified_invoice_fields(invoices, pdfs, settings):
    assert len(pdfs) == 19
    for invoice in invoices:
        text = pdf_text(pdfs[invoice.number])
        expected = [invoice.number, yen_text(invoice.total), f"登録番号 {settings.registration_number}",
                    settings.issuer_name, invoice.contract.customer, f"{invoice.due_date:%Y/%m/%d}",
                    f"{invoice.issue_date:%Y/%m/%d}", settings.bank_account, "2026/10/01〜2026/10/31",
                    *(yen_text(line.amount) for line in invoice.lines),
                    *(yen_text(tax.tax) for tax in invoice.taxes),
                    *(entry.incident_id for entry in invoice.statement)]
        missing = [item for item in expected if item not in text]
        assert not missing, (invoice.number, missing)


def test_every_font_is_an_embedded_subset(pdfs):
    for number, pdf in pdfs.items():
        fonts = pdf_fonts(pdf)
        assert fonts, number
        for name, *_, emb, sub, uni, _obj, _gen in fonts:
            assert (emb, sub, uni) == ("yes", "yes", "yes"), (number, name)
            assert re.fullmatch(r"[A-Z]{6}\+IPAexGothic", name), (number, name)


def test_pdf_is_reproducible_dated_by_the_invoice(invoices, pdfs, settings, tmp_path):
    invoice = by_contract(invoices, "V002")
    again = write_invoice_pdf(invoice, settings, tmp_path / "again.pdf")
    assert again.read_bytes() == pdfs[invoice.number].read_bytes()
    info = pdf_info(again)
    assert info["CreationDate"].startswith("2026-11-02T00:00:00+09")
    assert info["ModDate"] == info["CreationDate"]
    file_id = re.compile(rb"/ID\s*\[<([0-9a-f]{32})>")
    renumbered = write_invoice_pdf(dataclasses.replace(invoice, number="INV-202610-9999"),
                                   settings, tmp_path / "renumbered.pdf")
    assert file_id.search(renumbered.read_bytes())[1] != file_id.search(again.read_bytes())[1]
    # unnumbered documents too: each draft has its own ID, the same on every rerun
    drafts = [write_invoice_pdf(dataclasses.replace(by_contract(invoices, contract_id), kind=DRAFT),
                                settings, tmp_path / f"{contract_id}-{round}.pdf")
              for contract_id in ("C001", "C002") for round in (1, 2)]
    ids = [file_id.search(pdf.read_bytes())[1] for pdf in drafts]
    assert ids[0] == ids[1] != ids[2] == ids[3]


def test_pdfs_are_made_without_libreoffice(invoices, settings, tmp_path, monkeypatch):
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.delenv("XLQUOTE_SOFFICE", raising=False)
    assert shutil.which("soffice") is None and shutil.which("libreoffice") is None
    invoice = by_contract(invoices, "C004")
    pdf = write_invoice_pdf(invoice, settings, tmp_path / "no-soffice.pdf")
    assert invoice.number in pdf_text(pdf)


def test_the_pages_statement_and_units(invoices, pdfs):
    pdf = pdfs[by_contract(invoices, "V002").number]
    assert pdf_info(pdf)["Pages"] == "3"
    assert "請求書" in pdf_text(pdf, 1)
    assert "ご利用明細" in pdf_text(pdf, 2) and "I-1026" in pdf_text(pdf, 2)
    units = pdf_text(pdf, 3)
    assert "ユニット残高" in units and "2027/10/06" in units  # the topped-up pack's expiry
    first = pdf_text(pdf, 1)
    assert "別紙「ユニット残高」" in first and "シート" not in first
    assert "契約ID V002 (有料サポート)" in first  # said once, not 有料サポート・有料サポート
    page_sizes = re.findall(r"Page\s+\d+ size:\s+([\d.]+) x ([\d.]+)", subprocess.run(
        [PDFINFO, "-f", "1", "-l", "3", str(pdf)], capture_output=True, text=True).stdout)
    assert [float(w) < float(h) for w, h in page_sizes] == [True, False, True]  # A4 / landscape


def test_a_long_statement_runs_over_pages_with_its_header(invoices, settings, tmp_path):
    invoice = by_contract(invoices, "C004")
    entries = [dataclasses.replace(invoice.statement[0], incident_id=f"I-{9000 + i}")
               for i in range(120)]
    pdf = write_invoice_pdf(dataclasses.replace(invoice, statement=entries), settings,
                            tmp_path / "long.pdf")
    pages = int(pdf_info(pdf)["Pages"])
    assert pages >= 4
    seen = []
    for page in range(2, pages + 1):
        text = pdf_text(pdf, page)
        assert "受付日" in text and "完了日" in text, page  # the header, repeated
        seen += re.findall(r"I-9\d{3}", text)
    assert seen == [f"I-{9000 + i}" for i in range(120)]


class _Outline:
    """A glyph's outline as HarfBuzz draws it: the pen's calls, in order."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def __getattr__(self, name: str) -> Any:
        return lambda *points: self.calls.append((name, *points))


def _streams(pdf: bytes) -> dict[int, tuple[bytes, bytes]]:
    """Each stream object of one of our PDFs: number → (dictionary, data as stored)."""
    found = {}
    for match in re.finditer(rb"(\d+) 0 obj\n<< /Length (\d+)([^>]*)>>\nstream\n", pdf):
        start = match.end()
        found[int(match[1])] = (match[3], pdf[start:start + int(match[2])])
    return found


def _font_program(streams: dict[int, tuple[bytes, bytes]]) -> bytes:
    """The font program of one of our PDFs (the stream that states its /Length1)."""
    return next(body for dictionary, body in streams.values() if b"/Length1" in dictionary)


def test_a_document_embeds_one_font_of_exactly_the_glyphs_it_shows(invoices, settings, tmp_path):
    """600 distinct kanji, characters beyond U+FFFF, characters the font lacks: one
    embedded font, far smaller than the font file; each character is drawn with its own glyph
    (the same outline and advance as in the font) and reads back as itself."""
    font = pdfmetrics.getFont(registered_font())
    kanji = [chr(code) for code in sorted(font.face.charToGlyph) if 0x4E00 <= code <= 0x9FFF]
    beyond = [chr(code) for code in sorted(font.face.charToGlyph) if code > 0xFFFF][:3]
    words = ["".join(kanji[i:i + 8]) for i in range(0, 600, 8)] + ["".join(beyond) + "の字"]
    lacking = "\uac00"  # 가: not in IPAexGothic, shown as its missing glyph
    assert len(beyond) == 3 and ord(lacking) not in font.face.charToGlyph
    invoice = by_contract(invoices, "C004")
    entries = [dataclasses.replace(invoice.statement[0], incident_id=f"I-{9000 + i}",
                                   description=word) for i, word in enumerate(words)]
    entries.append(dataclasses.replace(entries[0], description=f"雪{lacking}絵文字\U0001F600な\ud800し"))
    pdf = write_invoice_pdf(dataclasses.replace(invoice, statement=entries), settings,
                            tmp_path / "many-kanji.pdf")
    assert len(pdf_fonts(pdf)) == 1
    text = flat(pdf_text(pdf))
    assert [word for word in words if word not in text] == []
    # the emoji (beyond U+FFFF, not in the font: its missing glyph) reads as itself, as a
    # character inside U+FFFF the font lacks does (a name of 𠮷 lost it); a lone surrogate as
    # nothing
    assert f"雪{lacking}絵文字\U0001F600なし" in text

    data = pdf.read_bytes()
    assert len(data) < font_path().stat().st_size / 10
    streams = _streams(data)
    program = _font_program(streams)
    inflated = {number: zlib.decompress(body) for number, (dictionary, body) in streams.items()
                if b"/FlateDecode" in dictionary}
    to_unicode = next(body for body in inflated.values() if body.startswith(b"/CIDInit"))
    code_glyphs = inflated[int(re.search(rb"/CIDToGIDMap (\d+) 0 R", data)[1])]
    beyond_codes = {chr(int(unicode, 16)) if len(unicode) == 4 else
                    bytes.fromhex(unicode.decode()).decode("utf-16-be"): int(code, 16)
                    for section in re.findall(rb"beginbfchar(.*?)endbfchar", to_unicode, re.S)
                    for code, unicode in re.findall(rb"<([0-9A-F]{4})> <([0-9A-F]+)>", section)}
    assert sorted(beyond_codes) == sorted([*beyond, "\U0001F600"])
    # code 0 draws what shows nothing (a lone surrogate): no reader may copy it as a character
    mapped = b"\n".join(re.findall(rb"beginbf(?:range|char)\n(.*?)\nendbf", to_unicode, re.S))
    assert re.findall(rb"^<0000>", mapped, re.M) == []
    assert re.search(rb"^<0001> <00FF> <0001>$", mapped, re.M)

    original = hb.Font(hb.Face(hb.Blob.from_file_path(str(font_path()))))
    embedded = hb.Font(hb.Face(hb.Blob(program)))
    shown = set("".join(words)) | set("雪絵文字なし")
    # the glyphs shown (and the missing glyph), not the font's
    assert embedded.face.glyph_count <= len(set(pdf_text(pdf))) + 1 < 1_000
    wrong = []
    for character in shown:
        code = beyond_codes.get(character, ord(character))
        glyph = int.from_bytes(code_glyphs[2 * code:2 * code + 2], "big")
        drawn, expected = _Outline(), _Outline()
        embedded.draw_glyph_with_pen(glyph, drawn)
        original_glyph = font.face.charToGlyph[ord(character)]
        original.draw_glyph_with_pen(original_glyph, expected)
        if (drawn.calls != expected.calls or not drawn.calls
                or embedded.get_glyph_h_advance(glyph)
                != original.get_glyph_h_advance(original_glyph)):
            wrong.append(character)
    assert wrong == []
    lacking_code = 2 * ord(lacking)
    assert code_glyphs[lacking_code:lacking_code + 2] in (b"", b"\0\0")  # the missing glyph


def _embedded_glyphs(pdf: Path) -> int:
    return hb.Face(hb.Blob(_font_program(_streams(pdf.read_bytes())))).glyph_count


def test_characters_are_counted_the_same_a_slice_at_a_time(monkeypatch):
    """A document's content is counted a slice at a time (a long statement would otherwise be
    decoded and widened whole): characters cut between two slices, as UTF-8 bytes or as a
    pair of surrogates, count as they do whole."""
    rng = random.Random(5)
    # ASCII, kana, kanji, a mark of no width, two beyond U+FFFF, a lone surrogate
    alphabet = "aあ株\u0361\U0002000b\U0001f600\ud800"
    text = "".join(rng.choice(alphabet) for _ in range(5_000)) + "".join(
        chr(rng.randrange(0x4E00, 0xA000)) for _ in range(3_000))
    whole = shown_characters(text)
    distinct = {c for c in text if c >= "\x80" and not "\ud800" <= c <= "\udfff"}
    assert whole == 128 + len(distinct)
    as_json = json.dumps(text, ensure_ascii=False).replace("\ud800", "").encode("utf-8")
    for size in (1, 2, 3, 7, 4096):
        monkeypatch.setattr(documents, "COUNTED_SLICE", size)
        assert shown_characters(text) == whole
        assert shown_characters(as_json) == whole  # as stored (a lone surrogate shows nothing)
        assert shown_characters(text[:2500], text[2500:]) == whole


def test_counting_a_long_content_holds_a_slice_at_a_time():
    """3,000 descriptions of 32,767 characters are ~300 MB of content: counting what it shows
    holds a slice of it at a time, not the whole text decoded and widened."""
    content = ("株式会社" * 2_500_000).encode("utf-8")  # 30 MB
    tracemalloc.start()
    try:
        assert shown_characters(content) == 128 + 4
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * documents.COUNTED_SLICE, peak  # the whole, decoded: 20 MB and more


def test_the_characters_a_document_counts_cover_the_glyphs_its_pdf_adds(invoices, settings,
                                                                        tmp_path):
    """The month's character budget counts, for each document, the distinct characters of its
    billed content and of the Settings' text (the issuer's details; ASCII as 128, a character
    beyond U+FFFF as one): every glyph that new text adds to its PDF is counted."""
    assert shown_characters("abc") == shown_characters("") == 128
    assert shown_characters("株式会社", "会社と") == 128 + 5
    assert shown_characters("\U0002000b\U0002000b\U0002123d", "\ud800") == 128 + 2

    plain = by_contract(invoices, "C004")
    base_pdf = write_invoice_pdf(plain, settings, tmp_path / "plain.pdf")
    glyph_of = pdfmetrics.getFont(registered_font()).face.charToGlyph
    drawn = {glyph_of[ord(c)] for c in pdf_text(base_pdf) if ord(c) in glyph_of}
    known = set(zlib.decompress(billed_content(plain).content).decode())
    known |= set(printed_on_every_document(settings))
    kanji = []  # kanji the plain invoice neither holds nor draws, one for each glyph
    for code, glyph in sorted(glyph_of.items()):
        if 0x4E00 <= code <= 0x9FFF and glyph not in drawn and chr(code) not in known:
            drawn.add(glyph)
            kanji.append(chr(code))
    heavy = dataclasses.replace(plain, statement=[*plain.statement, *(
        dataclasses.replace(plain.statement[0], incident_id=f"I-{9000 + i}",
                            description="".join(kanji[i:i + 10]))
        for i in range(0, 1_500, 10))])
    richer = dataclasses.replace(settings, issuer_address=settings.issuer_address
                                 + "".join(kanji[2_000:2_040]))

    def counted(invoice: Invoice, issuer: Settings) -> int:
        return billed_content(invoice, printed_on_every_document(issuer)).characters

    base = _embedded_glyphs(base_pdf)
    for invoice, issuer, name, new in ((heavy, settings, "heavy.pdf", 1_500),
                                       (plain, richer, "issuer.pdf", 40)):
        added = _embedded_glyphs(write_invoice_pdf(invoice, issuer, tmp_path / name)) - base
        assert added >= new  # each new kanji drawn with a glyph of its own
        assert counted(invoice, issuer) - counted(plain, settings) == new, name


def test_text_too_long_for_a_page_is_cut_with_a_marker(invoices, settings, tmp_path):
    invoice = by_contract(invoices, "C004")
    entry = dataclasses.replace(invoice.statement[0], description="長い説明" * 10_000)
    pdf = write_invoice_pdf(dataclasses.replace(invoice, statement=[entry]), settings,
                            tmp_path / "long-text.pdf")
    assert "以下省略" in pdf_text(pdf, 2)
    assert int(pdf_info(pdf)["Pages"]) == 2



def test_a_long_text_is_broken_into_the_same_lines_from_its_start_alone(monkeypatch):
    """``wrap`` breaks only the start of a long paragraph, the part its shown lines can hold:
    the lines (and the cut marker) are those of breaking the whole text, for Japanese, words
    with spaces, narrow and wide characters, newlines, every width and line count."""
    import random

    from xlquote.writers import pdf_pages

    font = pdf_pages.FontText(registered_font())
    pieces = ["ネットワーク", "設定", " ", "the printer", "  ", "I", "iiii", "WWW", "\n", "。",
              "0123456789", "ｱｲｳ", "—", "a" * 30, "\u0361", "\u0361" * 50]  # no width
    rng = random.Random(7)
    texts = ["".join(rng.choice(pieces) for _ in range(rng.randint(1, 3_000)))
             for _ in range(120)] + ["長い説明" * 10_000, "i" * 40_000, "W " * 20_000,
                                     "a\u0361" * 16_000]
    cut = [pdf_pages.wrap(t, w, font, size, lines) for t in texts
           for w, size, lines in [(60.0, 8.0, 30), (200.0, 9.5, 3), (17.0, 12.0, 1)]]
    assert len(pdf_pages._start_filling("a\u0361" * 16_000, 60.0, font, 8.0, 30)) < 2_000
    monkeypatch.setattr(pdf_pages, "_start_filling", lambda paragraph, *args: paragraph)
    whole = [pdf_pages.wrap(t, w, font, size, lines) for t in texts
             for w, size, lines in [(60.0, 8.0, 30), (200.0, 9.5, 3), (17.0, 12.0, 1)]]
    assert cut == whole
    assert sum(lines[-1].endswith(pdf_pages.TRUNCATED) for lines in cut) > 100


class _CellByCellPages:
    """The oracle for a table's rows: each cell wrapped and each line placed and shown one at
    a time, as xlquote drew rows before a table's repeats were worked out once for it."""

    @staticmethod
    def rows(pages, columns, rows, size, header):
        from xlquote.writers.pdf_pages import BLACK, CELL_PAD, wrap

        font, x = pages.font, pages.left
        for values in rows:
            cells = [((value,) if value else ())
                     if font.width(value, size) <= column.width - 2 * CELL_PAD
                     and "\n" not in value else wrap(value, column.width - 2 * CELL_PAD, font, size)
                     for value, column in zip(values, columns, strict=True)]
            height = max(max(len(lines) for lines in cells), 1) * size * 1.35 + 2 * CELL_PAD
            pages._text_state(size, header, BLACK)
            left = x
            for column, lines in zip(columns, cells, strict=True):
                align = "center" if header else column.align
                baseline = pages.y - CELL_PAD - size
                for line in lines:
                    width = font.width(line, size)
                    start = {"left": left + CELL_PAD, "right": left + column.width - CELL_PAD - width,
                             "center": left + (column.width - width) / 2}[align]
                    pages._show_at(f"{start:.2f} {baseline:.2f}", line, size)
                    baseline -= size * 1.35
                left += column.width
            pages.y -= height


def test_table_rows_are_drawn_as_each_cell_alone_would_be():
    """A table's rows (drawn with what the table repeats worked out once) show the same lines
    at the same places, with the font set where it must be, as each cell wrapped, placed and
    shown alone: left, right and centred columns, a centred header, wrapped, empty and
    repeated values, a size the page has not set yet."""
    import random

    from xlquote.writers import pdf_pages

    columns = [pdf_pages.TableColumn("番号", 40, "left"), pdf_pages.TableColumn("内容", 180, "left"),
               pdf_pages.TableColumn("金額", 60, "right"), pdf_pages.TableColumn("区分", 50, "center")]
    rng = random.Random(3)
    rows = [[f"I{i:05d}", rng.choice(["", "設定", "プリンタの設定 " * rng.randint(1, 40),
                                      "一行目\n二行目"]),
             rng.choice(["¥1,000", "¥12,345,678", "", "¥0"]),
             rng.choice(["A", "ＢＢ", "", "長い区分の名前です"])] for i in range(40)]
    rows.append(["", "", "", ""])
    titles = [column.title for column in columns]

    def drawn(cell_by_cell: bool) -> bytes:
        pages = pdf_pages.Pages(pdf_pages.FontText(registered_font()))
        pages.new_page(True)
        pages.text(pages.left, pages.y, "見出し", 12)  # the page's font set at another size
        if cell_by_cell:
            _CellByCellPages.rows(pages, columns, [titles], 8.5, header=True)
            _CellByCellPages.rows(pages, columns, rows, 8.5, header=False)
        else:
            row_cells = pdf_pages._RowCells(pages.font, columns, pages.left, 8.5)
            header = pdf_pages._RowCells(pages.font, columns, pages.left, 8.5, centred=True)
            for cells_of, values, bold in [(header, titles, True), *((row_cells, v, False)
                                                                     for v in rows)]:
                cells, height = cells_of.layout(values)
                pages._show_cells(cells_of, cells, bold=bold)
                pages.y -= height
        pages.finish()
        (_, content), = pages.pages
        return content

    shown = drawn(False)
    assert shown.count(b" Tf ") == 2 and shown == drawn(True)


def test_what_documents_measure_alike_is_kept_bounded_and_changes_no_byte(invoices, settings,
                                                                          monkeypatch):
    """Strings' widths and a column's lines are kept from one document to the next (a month's
    documents show the same dates, amounts and labels), up to a bound: each document draws to
    the same bytes as drawn alone, whatever the documents before it left."""
    from xlquote.writers import invoice_pdf_bytes, pdf_pages

    def held() -> tuple[int, int]:
        widths, by_size, codes = pdf_pages._measured[registered_font()]
        return (len(widths) + sum(map(len, by_size.values())) + len(codes),
                sum(map(len, pdf_pages._wrapped.values())))

    def forget() -> None:
        pdf_pages._measured.clear()
        pdf_pages._wrapped.clear()

    alone, each_held = [], []
    for invoice in invoices:
        forget()
        alone.append(invoice_pdf_bytes(invoice, settings))
        each_held.append(held())
    forget()
    assert [invoice_pdf_bytes(invoice, settings) for invoice in invoices] == alone
    kept = held()
    one_document = [max(counts) for counts in zip(*each_held, strict=True)]
    assert all(k < sum(counts) for k, counts in zip(kept, zip(*each_held, strict=True),
                                                    strict=True))  # shared, not summed

    bound = 100
    monkeypatch.setattr(pdf_pages, "MEASURES_KEPT", bound)
    assert all(k > bound + most for k, most in zip(kept, one_document, strict=True))
    forget()
    for invoice, expected in zip(invoices, alone, strict=True):
        assert invoice_pdf_bytes(invoice, settings) == expected
        assert all(k <= bound + most for k, most in zip(held(), one_document, strict=True))


@pytest.mark.parametrize("kept_by", ["width", "codes", "lines"])
def test_long_texts_are_not_kept_from_one_document_to_the_next(kept_by):
    """What is kept across documents holds strings of at most KEPT_TEXT characters: a cell
    may hold 32,767, and a month of long distinct texts would otherwise stay in memory."""
    from xlquote.writers import pdf_pages

    pdf_pages._measured.clear()
    pdf_pages._wrapped.clear()
    font = pdf_pages.FontText(registered_font())
    long, short = "長" * (pdf_pages.KEPT_TEXT + 1), "短" * pdf_pages.KEPT_TEXT
    for text in (long, short):
        if kept_by == "width":
            font.width(text, 8.0)
        elif kept_by == "codes":
            font.codes(text)
        else:
            pdf_pages._RowCells(font, [pdf_pages.TableColumn("内容", 180, "left")], 36.0,
                                8.5).layout([text])
    kept = {"width": font._kept_widths, "codes": font._kept_codes,
            "lines": {value: lines for known in pdf_pages._wrapped.values()
                      for value, lines in known.items()}}[kept_by]
    assert short in kept and long not in kept


def test_a_long_text_repeated_in_a_document_is_worked_out_once(monkeypatch):
    """A text too long to keep across documents is still measured and broken into lines once
    in a document: a statement of 1,000 rows repeating one 30,000-character text took 3.7 s
    when each row broke it again."""
    from xlquote.writers import pdf_pages

    font = pdf_pages.FontText(registered_font())
    wrapped, measured = [], []
    real_wrap, real_string_width = pdf_pages.wrap, font.font.stringWidth
    monkeypatch.setattr(pdf_pages, "wrap", lambda text, *a: wrapped.append(text)
                        or real_wrap(text, *a))
    monkeypatch.setattr(font.font, "stringWidth", lambda text, *a: measured.append(text)
                        or real_string_width(text, *a))
    row_cells = pdf_pages._RowCells(font, [pdf_pages.TableColumn("内容", 180, "left")], 36.0,
                                    8.5)
    long = "プリンタの設定を確認しました。" * 2_000
    assert len(long) > pdf_pages.KEPT_TEXT
    for _ in range(3):
        row_cells.layout([long])
        assert font.width(long, 8.5) == real_string_width(long, 8.5)
    assert wrapped == [long] and measured.count(long) == 1


def test_codes_beyond_the_bmp_are_each_documents_own():
    """A character beyond U+FFFF takes the next free code of the document showing it, so the
    same text has different codes in two documents; text of the Basic Multilingual Plane
    alone has the same codes in every document (and is kept across them)."""
    from xlquote.writers import pdf_pages

    first = pdf_pages.FontText(registered_font())
    assert first.codes("\U0002000b計") == "d800" + "8a08"
    second = pdf_pages.FontText(registered_font())
    assert second.codes("\U00020089") == "d800"
    assert second.codes("\U0002000b計") == "d801" + "8a08"
    assert second.codes("計算") == first.codes("計算") == "8a08" + "7b97"
    assert second.beyond_bmp == {0x20089: 0xD800, 0x2000B: 0xD801}


def test_characters_are_measured_as_reportlab_measures_them():
    """Lines break where reportlab would break them: each character's width, at any size,
    is reportlab's ``stringWidth`` to the last bit, for the font's characters and others."""
    from xlquote.writers import pdf_pages

    font = pdf_pages.FontText(registered_font())
    characters = "".join(map(chr, font.font.face.charToGlyph)) + "\uac00\U0001F600\ud800\0"
    for size in (6.5, 7.2, 8.0, 9.35, 9.5, 12.0, 14.4):
        assert font.char_widths(characters, size) == [
            font.font.stringWidth(character, size) for character in characters], size


def test_failed_pdf_leaves_no_file(invoices, settings, tmp_path, monkeypatch):
    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("renderer on fire")

    monkeypatch.setattr(invoice_pdf, "_table_pages", broken)
    target = tmp_path / "out" / "invoice.pdf"
    target.parent.mkdir()
    with pytest.raises(RuntimeError):
        write_invoice_pdf(invoices[0], settings, target)
    assert list(target.parent.iterdir()) == []


def test_a_pdf_cut_short_while_written_leaves_nothing(invoices, settings, tmp_path,
                                                       monkeypatch):
    """Atomic: the file appears whole under its name or not at all (temp file, then rename)."""
    def half_written(self: Path, data: bytes) -> int:
        with open(self, "wb") as file:
            file.write(data[:100])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", half_written)
    with pytest.raises(OSError, match="No space left"):
        write_invoice_pdf(invoices[0], settings, tmp_path / "full.pdf")
    assert list(tmp_path.iterdir()) == []


def test_an_unusable_font_is_an_output_error(invoices, settings, tmp_path, monkeypatch):
    bad = tmp_path / "not-a-font.ttf"
    bad.write_bytes(b"no font here")
    monkeypatch.setenv(FONT_ENV, str(bad))
    with pytest.raises(OutputError, match=rf"{FONT_ENV}=.*not-a-font.ttf cannot be used"):
        write_invoice_pdf(invoices[0], settings, tmp_path / "x.pdf")
    assert not (tmp_path / "x.pdf").exists()


def test_a_configured_font_is_used(invoices, settings, tmp_path, monkeypatch):
    font = tmp_path / "fonts" / "other.ttf"
    font.parent.mkdir()
    shutil.copy(invoice_pdf.__file__.replace("invoice_pdf.py", "fonts/ipaexg.ttf"), font)
    monkeypatch.setenv(FONT_ENV, str(font))
    pdf = write_invoice_pdf(invoices[0], settings, tmp_path / "other.pdf")
    assert invoices[0].number in pdf_text(pdf)


# -- every kind, in both renderers ------------------------------------------------------------------

@pytest.mark.parametrize("renderer", RENDERERS)
def test_a_draft_has_no_number_and_says_so(invoices, settings, tmp_path, renderer):
    invoice = by_contract(invoices, "C004")
    text = render(renderer, dataclasses.replace(invoice, kind=DRAFT), settings, tmp_path)
    assert "下書き" in text and "未採番" in text
    assert invoice.number not in text and "INV-" not in text
    assert yen_text(invoice.total) in text  # otherwise the full content, to be checked
    assert f"登録番号 {settings.registration_number}" in text


def test_a_draft_workbook_is_marked_on_every_sheet(invoices, settings, tmp_path):
    invoice = dataclasses.replace(by_contract(invoices, "V002"), kind=DRAFT)
    wb = openpyxl.load_workbook(write_invoice_workbook(invoice, settings, tmp_path / "d.xlsx"))
    assert wb["請求書"]["A1"].value == "請求書（下書き）"
    for ws in wb.worksheets:
        assert "下書き" in ws.oddHeader.center.text, ws.title
        assert ws.sheet_properties.tabColor.rgb.endswith("C00000"), ws.title


def test_a_draft_pdf_is_stamped_on_every_page(invoices, settings, tmp_path):
    invoice = dataclasses.replace(by_contract(invoices, "V002"), kind=DRAFT)
    pdf = write_invoice_pdf(invoice, settings, tmp_path / "d.pdf")
    for page in (1, 2, 3):  # the stamp is drawn first, under the content
        assert flat(pdf_text(pdf, page, "-raw")).startswith("下書き"), page


@pytest.mark.parametrize("renderer", RENDERERS)
def test_a_statement_is_not_an_invoice(invoices, settings, tmp_path, renderer):
    invoice = by_contract(invoices, "V001")  # paid support, units used, nothing to pay
    assert invoice.total == 0
    text = render(renderer, dataclasses.replace(invoice, kind=STATEMENT), settings, tmp_path)
    assert "ご利用明細書" in text and "当月のご請求はありません" in flat(text)
    for absent in (invoice.number, "INV-", "請求番号", "請求書", "ご請求金額", "お振込先",
                   "登録番号", settings.bank_account):
        assert absent not in text, absent
    assert "I-1025" in text and "ユニット残高" in text  # statement and units as usual


def test_a_statement_with_something_to_pay_is_refused(invoices, settings, tmp_path):
    invoice = dataclasses.replace(by_contract(invoices, "C001"), kind=STATEMENT)
    for write in (write_invoice_pdf, write_invoice_workbook):
        with pytest.raises(OutputError, match=r"statement .* nothing to pay"):
            write(invoice, settings, tmp_path / "s.out")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("renderer", RENDERERS)
def test_a_correction_refers_to_the_original(invoices, settings, tmp_path, renderer):
    invoice = dataclasses.replace(
        by_contract(invoices, "C004"), kind=CORRECTION, number="INV-202611-0001",
        issue_date=dt.date(2026, 11, 16), due_date=dt.date(2026, 12, 16),
        correction=Correction("INV-202610-0003", 90000, 9000, 99000, dt.date(2026, 11, 2)))
    text = render(renderer, invoice, settings, tmp_path)
    assert "請求書（修正インボイス）" in text
    assert ("2026/11/02 発行の請求書 INV-202610-0003 （合計 ¥99,000）を修正します。差額 +¥11,000"
            in text)
    assert "INV-202611-0001" in text and "2026/11/16" in text and "2026/12/16" in text
    assert all(yen_text(line.amount) in text for line in invoice.lines)


@pytest.mark.parametrize(("original_total", "difference"),
                         [(121000, "差額 -¥11,000"), (110000, "差額 ¥0"), (99000, "差額 +¥11,000")])
def test_a_correction_signs_its_difference_before_the_yen_mark(invoices, original_total,
                                                                difference):
    invoice = dataclasses.replace(
        by_contract(invoices, "C004"), kind=CORRECTION,
        correction=Correction("INV-202610-0003", 0, 0, original_total, dt.date(2026, 11, 2)))
    assert invoice.total == 110000
    assert correction_reference(invoice).endswith(f"を修正します。{difference}")


def test_a_correction_must_name_its_original(invoices, settings, tmp_path):
    invoice = dataclasses.replace(by_contract(invoices, "C004"), kind=CORRECTION)
    with pytest.raises(OutputError, match="must say which invoice it corrects"):
        write_invoice_pdf(invoice, settings, tmp_path / "c.pdf")


def test_an_unknown_kind_is_refused(invoices, settings, tmp_path):
    with pytest.raises(OutputError, match="unknown document kind 'quote'"):
        write_invoice_workbook(dataclasses.replace(invoices[0], kind="quote"), settings,
                               tmp_path / "q.xlsx")


@pytest.mark.parametrize("renderer", RENDERERS)
def test_a_cancellation_names_the_invoice_it_voids(invoices, settings, tmp_path, renderer):
    invoice = by_contract(invoices, "C004")
    cancellation = Cancellation(invoice.number, invoice.contract, invoice.month,
                                invoice.issue_date, invoice.subtotal, invoice.tax, invoice.total,
                                dt.date(2026, 11, 10), "請求先の誤り")
    text = render(renderer, cancellation, settings, tmp_path)
    for expected in ("請求書取消のお知らせ", invoice.number, "2026/11/02", "2026/11/10",
                     "請求先の誤り", yen_text(invoice.subtotal), yen_text(invoice.tax),
                     yen_text(invoice.total), f"{invoice.contract.customer} 御中",
                     settings.issuer_name, f"登録番号 {settings.registration_number}", "無効",
                     "使用いたしません"):
        assert expected in text, expected


# -- what the customer reads ---------------------------------------------------------------------------

# The staff's labels a customer must not read: all but the plain phrases that the customer's
# wording also uses (お急ぎ対応, ユニット不足).
STAFF_LABELS = [label for label in FLAG_LABELS_JA.values()
                if not any(label in (text or "") for wording in CUSTOMER_FLAG_WORDING.values()
                           for text in wording)]


def test_every_flag_has_customer_wording():
    assert set(CUSTOMER_FLAG_WORDING) == set(FLAG_LABELS_JA)
    assert len(STAFF_LABELS) == 9 and not any("ご判断待ち" in text for wording
                                              in CUSTOMER_FLAG_WORDING.values()
                                              for text in wording if text)


@pytest.mark.parametrize("renderer", RENDERERS)
def test_no_staff_label_on_customer_documents(invoices, pdfs, settings, tmp_path, renderer):
    flagged = [inv for inv in invoices if inv.flags]
    assert {code for inv in flagged for code in inv.flag_codes()} >= {
        "limit_pending", "reply_beyond_limit", "rejected", "units_topped_up"}
    for invoice in flagged:
        text = (pdf_text(pdfs[invoice.number]) if renderer == "pdf"
                else render(renderer, invoice, settings, tmp_path))
        for label in STAFF_LABELS:
            assert label not in text, (invoice.number, label)
        assert "ご判断待ち" not in text, invoice.number
        assert not re.search(r"シートの|個人利用できません|DM またはメール", text), invoice.number
    pending = by_contract(invoices, "C004")
    text = render(renderer, pending, settings, tmp_path)
    assert "料金リミットを適用してご請求しています" in flat(text)
    assert "リミット ¥20,000 適用" in text


# -- the parties as the PDF prints them -----------------------------------------------------------

def _with_customer(invoice: Invoice, customer: str) -> Invoice:
    return dataclasses.replace(invoice, contract=dataclasses.replace(invoice.contract,
                                                                     customer=customer))


def _cancelling(invoice: Invoice) -> Cancellation:
    return Cancellation(invoice.number, invoice.contract, invoice.month, invoice.issue_date,
                        invoice.subtotal, invoice.tax, invoice.total, dt.date(2026, 11, 10),
                        "請求先の誤り")


def _words(pdf: Path, page: int) -> list[tuple[str, float, float]]:
    """Each word of the page read back (pdftotext -bbox) and its top and bottom (from the
    top of the page)."""
    found = re.findall(r'<word xMin="[\d.]+" yMin="([\d.]+)" xMax="[\d.]+" yMax="([\d.]+)">'
                       r"([^<]*)</word>", pdf_text(pdf, page, "-bbox"))
    return [(word, float(top), float(bottom)) for top, bottom, word in found]


def test_the_parties_and_the_registration_number_are_printed_whole(invoices, settings,
                                                                   tmp_path):
    """A qualified invoice's addressee and issuer (name, address, contact, registration
    number) as long as the reader accepts them (200 characters) and the bank account are
    printed whole, smaller or on more lines, never cut; what follows moves down below them:
    on the invoice, the statement's heading and the cancellation notice."""
    customer = "一般社団法人" + "日本情報システムユーザー協会" * 13 + "情報基盤グループ御殿"
    issuer = dataclasses.replace(
        settings,
        issuer_name=("Aki SIE サポートサービス株式会社" + "（旧 東日本情報技術サービス事業部）" * 12)[:200],
        issuer_address="〒100-0001 東京都千代田区千代田1-1 " + "サンプルビルディング東館" * 14 + "5F",
        issuer_contact="TEL 03-0000-0000 / " + "billing.department.of.the.support.service" * 4,
        bank_account="みずなみ銀行 本店営業部 普通 1234567 " + "アキシーサポートサービス（カ" * 12)
    assert len(customer) == 198 and all(len(text) <= 200 for text in (
        issuer.issuer_name, issuer.issuer_address, issuer.issuer_contact, issuer.bank_account))
    invoice = _with_customer(by_contract(invoices, "C004"), customer)
    pdf = write_invoice_pdf(invoice, issuer, tmp_path / "long.pdf")
    first, statement = flat(pdf_text(pdf, 1)), flat(pdf_text(pdf, 2))
    required = [f"{customer} 御中", issuer.issuer_name, issuer.issuer_address,
                issuer.issuer_contact, f"登録番号 {issuer.registration_number}",
                issuer.bank_account]
    assert [text for text in required if flat(text) not in first] == []
    assert flat(f"— {customer} 御中") in statement
    assert "以下省略" not in pdf_text(pdf)
    # the two columns stand apart: the fee lines start below the issuer's registration number,
    # the contract line below the addressee
    words = _words(pdf, 1)
    registration = next(bottom for word, _, bottom in words if word == "登録番号")
    lines_header = next(top for word, top, _ in words if word == "品目")
    addressee_bottom = next(bottom for word, _, bottom in words if word == "御中")
    contract_top = next(top for word, top, _ in words if word == "契約ID")
    assert registration < lines_header and addressee_bottom < contract_top

    cancellation = write_cancellation_pdf(_cancelling(invoice), issuer, tmp_path / "c.pdf")
    text = pdf_text(cancellation)
    assert [item for item in required[:5] if flat(item) not in flat(text)] == []
    assert "以下省略" not in text


def test_a_paragraph_printed_whole_shrinks_then_takes_more_lines():
    from xlquote.writers import pdf_pages

    font = pdf_pages.FontText(registered_font())
    short = "株式会社アオバ商事 御中"
    assert pdf_pages.wrap_whole(short, 280.0, font, 14.0, 3) == ([short], 14.0)
    middle = "日本情報システムユーザー協会" * 5  # 70 characters: 4 lines at 14 points
    assert pdf_pages.wrap(middle, 280.0, font, 14.0, 3)[-1].endswith(pdf_pages.TRUNCATED)
    lines, size = pdf_pages.wrap_whole(middle, 280.0, font, 14.0, 3)
    assert len(lines) <= 3 and "".join(lines) == middle
    assert pdf_pages.SMALLEST_WHOLE_SIZE < size < 14.0
    assert len(pdf_pages.wrap_whole(middle, 280.0, font, size + pdf_pages.SHRINK_STEP, 9)[0]) > 3
    longest = "長" * 200
    lines, size = pdf_pages.wrap_whole(longest, 280.0, font, 14.0, 3)
    assert size == pdf_pages.SMALLEST_WHOLE_SIZE and len(lines) > 3 and "".join(lines) == longest


# Characters that show nothing but printed as the font's missing glyph (or, U+00AD, as a
# hyphen), and what the PDF draws instead
INVISIBLE_IN_NAMES = {
    "ミナト\u200b設計事務所": "ミナト設計事務所",  # zero-width space pasted from a web page
    "さくら\tソフト合同会社": "さくら ソフト合同会社",
    "葛\U000e0100飾製作所": "葛飾製作所",  # an ideographic variation selector
    "辻\ufe00本\u200d工務店": "辻本工務店",
    "山田\u2028デザイン\u2029事務所": "山田\nデザイン\n事務所",  # separators break the line
    "北斗\r\nシステム\r株式\x85会社": "北斗\nシステム\n株式\n会社",
    "Cafe\u0301 Tokyo 株式会社": "Café Tokyo 株式会社",  # decomposed é
    "\u202eアカツキ\u202c\u200e食品\u2066株式会社\u2069": "アカツキ食品株式会社",  # bidi controls
    "Infor\u00admation \U000e0041\U000e007fSystems": "Information Systems",  # soft hyphen, tags
    "ハ\u3099ンク\u3099\u034f\u2060株式会社": "バング株式会社",  # kana with combining marks
    "\ufa30\u0301文社": "\ufa30\u0301文社",  # 侮 (compatibility ideograph) kept as written
}


def test_what_a_pdf_cannot_draw_is_left_out_of_the_pdf_only(invoices, settings, tmp_path):
    """Characters that show nothing (format characters, variation selectors, tags, bidi
    controls, the soft hyphen) are left out of the PDF, which printed each as the font's
    missing glyph; separators and CR break the line, a tab is a space, decomposed text is
    composed. The workbook keeps the name as entered, and the PDF is reproducible."""
    plain = by_contract(invoices, "C004")
    for i, (entered, drawn) in enumerate(INVISIBLE_IN_NAMES.items()):
        invoice = _with_customer(plain, entered)
        pdf = write_invoice_pdf(invoice, settings, tmp_path / f"{i}.pdf")
        text = pdf_text(pdf)
        left_out = {c for c in entered  # what no other text of the page holds
                    if c not in drawn and not c.isalpha() and c not in "\r\x85\u2028\u2029\t"}
        assert left_out.isdisjoint(text), (entered, left_out & set(text))
        assert flat(f"{drawn} 御中") in flat(text), entered
        assert write_invoice_pdf(invoice, settings, tmp_path / "again.pdf").read_bytes() \
            == pdf.read_bytes()
        if "\r" not in entered:  # (the workbook escapes CR as _x000D_)
            book = write_invoice_workbook(invoice, settings, tmp_path / f"{i}.xlsx")
            assert f"{entered} 御中" in workbook_text(book), entered

    from xlquote.writers.pdf_pages import drawable

    for entered, drawn in INVISIBLE_IN_NAMES.items():
        assert drawable(entered) == drawn, entered


def test_ordinary_text_is_drawn_as_it_is():
    """The quick check's characters (``_ORDINARY``, text drawn without a pass over it) need
    nothing done: each is drawn, is its own NFC and composes with no character before it."""
    import unicodedata

    from xlquote.writers import pdf_pages

    seconds = {decomposition.split()[1] for decomposition in map(
        unicodedata.decomposition, map(chr, range(0x110000)))
        if decomposition and not decomposition.startswith("<") and " " in decomposition}
    ordinary = [chr(code) for code in range(0x10000)
                if pdf_pages._ORDINARY.fullmatch(chr(code)) and chr(code) != "\n"]
    assert len(ordinary) > 25_000
    wrong = [f"U+{ord(c):04X}" for c in ordinary
             if unicodedata.normalize("NFC", c) != c or unicodedata.combining(c)
             or f"{ord(c):04X}" in seconds or pdf_pages.drawable(f"a{c}\u200b") != f"a{c}"
             or unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp", "Mn", "Mc", "Me")]
    assert wrong == []


def test_an_honorific_is_told_from_a_name_ending_alike() -> None:
    assert addressee("山田 太郎 様\U000e0100") == "山田 太郎 様\U000e0100"  # a variation selector
    assert addressee("総務部\u3000殿") == "総務部\u3000殿"
    assert addressee("焼肉宮殿") == "焼肉宮殿 御中" and addressee("湯殿") == "湯殿 御中"


@pytest.mark.parametrize("renderer", RENDERERS)
@pytest.mark.parametrize(("customer", "printed"), [
    ("株式会社アオバ商事 御中", "株式会社アオバ商事 御中"),
    ("山田 太郎 様", "山田 太郎 様"),
    ("山田太郎様", "山田太郎様"),
    ("総務部 殿", "総務部 殿"),
    ("取引先各位", "取引先各位"),
    ("株式会社 湯の御殿", "株式会社 湯の御殿 御中"),  # 御殿 is a palace, no honorific
    ("焼肉宮殿", "焼肉宮殿 御中"),  # nor 宮殿: 殿 is one only after a space
    ("株式会社アオバ商事", "株式会社アオバ商事 御中"),
])
def test_a_customer_entered_with_its_honorific_is_not_addressed_twice(
        invoices, settings, tmp_path, renderer, customer, printed):
    """「株式会社アオバ商事 御中」 printed 「… 御中 御中」 and 「山田 太郎 様」 「山田 太郎 様 御中」:
    on the invoice, the statement's heading and the cancellation."""
    invoice = _with_customer(by_contract(invoices, "C004"), customer)
    for document in (invoice, _cancelling(invoice)):
        text = render(renderer, document, settings, tmp_path)
        assert printed in text
        assert not re.search(r"(御中|様|殿|各位)\s*御中", text.replace(printed, ""))
        assert f"{printed} 御中" not in text
    assert f"— {printed}" in render(renderer, invoice, settings, tmp_path)
