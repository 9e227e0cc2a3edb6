"""Every kind of invoice workbook (invoice, correction, draft, statement, the cancellation
notice) opens in three readers and reads back the same cells: openpyxl (without a warning of a
repaired or unknown part), python-calamine, and LibreOffice headless (every sheet to CSV as
shown, so with its number formats). The package itself is well formed: every part parses as
XML, is declared in [Content_Types].xml and reached by a relationship, and styles.xml holds
only the styles the cells use. Text that could break a writer — formula-looking, markup,
``]]>``, SpreadsheetML escapes, emoji, a lone surrogate, longer than a cell — stays text in
customer name, descriptions and settings alike."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import re
import shutil
import subprocess
import warnings
import zipfile
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import openpyxl
import pytest
from golden.cases import (
    CANCELLATIONS,
    INVOICES,
    SETTINGS,
    cancellation,
    golden_path,
    monthly,
    vendor,
)
from golden.regenerate import write_case
from python_calamine import CalamineWorkbook

from xlquote.writers import write_cancellation_workbook, write_invoice_workbook
from xlquote.writers.invoice_layout import yen_text
from xlquote.writers.sheets import CELL_MAX_CHARS, DATE_FORMAT, YEN_FORMAT

KINDS = [*INVOICES, *CANCELLATIONS]  # invoice (4 plans), correction, draft, statement, cancellation
LONG = "長" * 20_000 + "x" * 20_000  # over 32,767 characters
HOSTILE = ('=HYPERLINK("http://evil.example","click")', "<script>alert('x')</script>", "]]>",
           "<r><t>rich?</t></r>", "_x0041_ stays as typed", "+81-3", "-1", "@SUM(A1)",
           "😀 絵文字 🎌", "Tom & Jerry \"quoted\" 'single'", "  spaces kept  ",
           "壊れた\ud800文字")

soffice = shutil.which("soffice")
needs_libreoffice = pytest.mark.skipif(soffice is None, reason="LibreOffice is not installed")
needs_poppler = pytest.mark.skipif(shutil.which("pdftoppm") is None,
                                   reason="poppler-utils (pdftoppm) is not installed")


def _plain(value: Any) -> Any:
    """A value as both Python readers agree on it: whole floats as ints, midnight as a date."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dt.datetime) and value.time() == dt.time():
        return value.date()
    return None if value == "" else value


def openpyxl_cells(path: Path) -> dict[str, list[list[Any]]]:
    """Every sheet's values, loaded with every warning an error (openpyxl warns of parts it
    does not know or cannot read)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        wb = openpyxl.load_workbook(path)
    return {ws.title: [[_plain(cell.value) for cell in row] for row in ws.iter_rows()]
            for ws in wb.worksheets}


def calamine_cells(path: Path) -> dict[str, list[list[Any]]]:
    wb = CalamineWorkbook.from_path(str(path))
    return {name: [[_plain(value) for value in row]
                   for row in wb.get_sheet_by_name(name).to_python(skip_empty_area=False)]
            for name in wb.sheet_names}


def _trimmed(rows: list[list[Any]]) -> list[list[Any]]:
    """Rows without trailing empty cells and trailing empty rows (readers differ in how far
    they read styled blanks)."""
    trimmed = []
    for row in rows:
        row = list(row)
        while row and row[-1] is None:
            row.pop()
        trimmed.append(row)
    while trimmed and not trimmed[-1]:
        trimmed.pop()
    return trimmed


def shown(cell: Any) -> str:
    """A cell as its number format shows it (what LibreOffice's CSV holds)."""
    value = cell.value
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        assert cell.number_format == DATE_FORMAT
        return f"{value:%Y/%m/%d}"
    if isinstance(value, int):
        if cell.number_format == YEN_FORMAT:
            return yen_text(value)
        return f"{value:,}" if cell.number_format == "#,##0" else str(value)
    return str(value)


def libreoffice_csv(paths: list[Path], folder: Path) -> dict[tuple[str, str], list[list[str]]]:
    """Every sheet of every workbook as LibreOffice shows it, read in one headless run with a
    private profile: {(file stem, sheet): rows}."""
    profile = (folder / "lo-profile").resolve().as_uri()
    out = folder / "csv"
    # Text CSV, UTF-8, "as shown" (formats applied), every sheet to its own file (-1).
    filter_options = "44,34,76,1,,0,false,true,true,false,false,-1"
    subprocess.run([soffice, "--headless", "--norestore", f"-env:UserInstallation={profile}",
                    "--convert-to", f"csv:Text - txt - csv (StarCalc):{filter_options}",
                    "--outdir", str(out), *map(str, paths)],
                   check=True, capture_output=True, timeout=300)
    found = {}
    for path in paths:
        for sheet in openpyxl.load_workbook(path).sheetnames:
            csv_path = out / f"{path.stem}-{sheet}.csv"
            with open(csv_path, encoding="utf-8", newline="") as file:
                found[(path.stem, sheet)] = list(csv.reader(file))
    return found


def libreoffice_pdfs(paths: list[Path], folder: Path) -> list[Path]:
    """``paths`` printed to PDF by LibreOffice in one headless run with a private profile."""
    profile = (folder / "lo-profile").resolve().as_uri()
    subprocess.run([soffice, "--headless", "--norestore", f"-env:UserInstallation={profile}",
                    "--convert-to", "pdf", "--outdir", str(folder / "pdf"), *map(str, paths)],
                   check=True, capture_output=True, timeout=300)
    return [folder / "pdf" / f"{path.stem}.pdf" for path in paths]


def page_images(pdf: Path, folder: Path) -> list[bytes]:
    prefix = folder / pdf.stem
    subprocess.run(["pdftoppm", "-r", "40", "-gray", str(pdf), str(prefix)], check=True,
                   capture_output=True, timeout=120)
    return [page.read_bytes() for page in sorted(folder.glob(f"{pdf.stem}-*.pgm"))]


def hostile_invoice(base: Any, texts: tuple[str, ...] = HOSTILE) -> Any:
    """``base`` with hostile text in the customer name, every line and statement text."""
    contract = dataclasses.replace(base.contract, customer=texts[0])
    lines = [dataclasses.replace(line, description=texts[i % len(texts)])
             for i, line in enumerate(base.lines)]
    entries = [dataclasses.replace(base.statement[0], incident_id=f"I-{i}",
                                   description=text, measures=texts[-1 - i], channel=texts[i - 1])
               for i, text in enumerate(texts)]
    return dataclasses.replace(base, contract=contract, lines=lines, statement=entries)


HOSTILE_SETTINGS = dataclasses.replace(
    SETTINGS, issuer_name="<Issuer> & 〈株〉 ]]> \"x\"", issuer_address=HOSTILE[0],
    issuer_contact=HOSTILE[1], bank_account=HOSTILE[3] + LONG)


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> dict[str, Path]:
    """Every kind of document, and the hostile ones, written once for the module."""
    folder = tmp_path_factory.mktemp("kinds")
    paths = {name: write_case(name, folder / f"{name}.xlsx") for name in KINDS}
    paths["hostile"] = write_invoice_workbook(hostile_invoice(vendor()), HOSTILE_SETTINGS,
                                              folder / "hostile.xlsx")
    paths["hostile_long"] = write_invoice_workbook(
        hostile_invoice(monthly(), (LONG, *HOSTILE)), SETTINGS, folder / "hostile_long.xlsx")
    reason = cancellation()
    paths["hostile_cancellation"] = write_cancellation_workbook(
        dataclasses.replace(reason, reason=HOSTILE[0] + HOSTILE[1],
                            contract=dataclasses.replace(reason.contract, customer=HOSTILE[2])),
        HOSTILE_SETTINGS, folder / "hostile_cancellation.xlsx")
    return paths


@pytest.mark.parametrize("name", [*KINDS, "hostile", "hostile_long", "hostile_cancellation"])
def test_openpyxl_and_calamine_read_the_same_cells(written, name):
    by_openpyxl = openpyxl_cells(written[name])
    by_calamine = calamine_cells(written[name])
    assert list(by_openpyxl) == list(by_calamine)
    for sheet, rows in by_openpyxl.items():
        assert _trimmed(rows) == _trimmed(by_calamine[sheet]), sheet
    assert any(value is not None for rows in by_openpyxl.values() for row in rows for value in row)


@needs_libreoffice
def test_libreoffice_shows_the_same_cells(written, tmp_path):
    """LibreOffice opens every kind and shows each cell as openpyxl reads it, formatted by its
    number format (¥ amounts, yyyy/mm/dd dates, grouped counts)."""
    shown_by_libreoffice = libreoffice_csv(list(written.values()), tmp_path)
    for name, path in written.items():
        for ws in openpyxl.load_workbook(path).worksheets:
            expected = _trimmed([[shown(cell) or None for cell in row] for row in ws.iter_rows()])
            actual = _trimmed([[text or None for text in row]
                               for row in shown_by_libreoffice[(path.stem, ws.title)]])
            assert actual == expected, (name, ws.title)


@needs_libreoffice
@needs_poppler
def test_libreoffice_prints_them_as_it_prints_the_golden_ones(written, tmp_path):
    """Printed by LibreOffice, each kind's pages are pixel for pixel those of its golden
    workbook (written by XlsxWriter when approved): paper, margins, fit to width, print area,
    repeated header rows, fonts, borders and row heights all end up on the page alike."""
    golden = [tmp_path / f"golden_{name}.xlsx" for name in KINDS]
    for name, copy in zip(KINDS, golden, strict=True):
        shutil.copy(golden_path(name), copy)
    pdfs = libreoffice_pdfs([*golden, *(written[name] for name in KINDS)], tmp_path)
    images = tmp_path / "pages"
    images.mkdir()
    for name, expected, actual in zip(KINDS, pdfs[:len(KINDS)], pdfs[len(KINDS):], strict=True):
        expected_pages = page_images(expected, images)
        assert expected_pages, name
        assert page_images(actual, images) == expected_pages, name


def test_hostile_text_stays_text_everywhere(written):
    wb = openpyxl.load_workbook(written["hostile"])
    texts = {cell.value for ws in wb.worksheets for row in ws.iter_rows() for cell in row
             if isinstance(cell.value, str)}
    for text in HOSTILE[:-1]:
        assert text in texts or f"{text} 御中" in texts, text
    assert "壊れた\ufffd文字" in texts  # a lone surrogate is no character: U+FFFD stands in
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type in ("s", "n", "d"), (ws.title, cell.coordinate)
                assert cell.hyperlink is None
    assert wb.properties.creator == HOSTILE_SETTINGS.issuer_name
    statement = wb["明細"]
    assert [row[-1] for row in statement.iter_rows(min_row=5, values_only=True)][:-1] == \
        list(HOSTILE[:-1])


def test_text_over_a_cell_is_cut_with_a_marker_in_every_reader(written):
    for cells in (openpyxl_cells(written["hostile_long"]), calamine_cells(written["hostile_long"])):
        longest = max((value for rows in cells.values() for row in rows for value in row
                       if isinstance(value, str)), key=len)
        assert longest.startswith("長" * 16_000) and longest.endswith("文字省略）")
        assert len(longest.encode("utf-16-le")) // 2 <= CELL_MAX_CHARS
    bank = openpyxl.load_workbook(written["hostile"])["請求書"]
    assert any(str(cell.value).startswith(HOSTILE[3] + "長") and "省略" in str(cell.value)
               for row in bank.iter_rows() for cell in row)


@pytest.mark.parametrize("name", [*KINDS, "hostile"])
def test_the_package_is_well_formed(written, name):
    """Every part is XML; [Content_Types].xml declares each part and relationships reach each
    one; entries are deflated and dated with the fixed stamp; cell text is never a formula."""
    with zipfile.ZipFile(written[name]) as archive:
        infos = archive.infolist()
        parts = {info.filename: archive.read(info) for info in infos}
    assert infos[0].filename == "[Content_Types].xml"
    assert {info.compress_type for info in infos} == {zipfile.ZIP_DEFLATED}
    assert {info.date_time for info in infos} == {(2000, 1, 1, 0, 0, 0)}
    trees = {name: ElementTree.fromstring(data) for name, data in parts.items()}
    declared = {element.get("PartName").lstrip("/") for element in trees["[Content_Types].xml"]
                if element.get("PartName")}
    assert declared == set(parts) - {"[Content_Types].xml", "_rels/.rels",
                                     "xl/_rels/workbook.xml.rels"}
    reached = {target.get("Target") for target in trees["_rels/.rels"]}
    reached |= {"xl/" + target.get("Target") for target in trees["xl/_rels/workbook.xml.rels"]}
    assert reached == declared
    for part, tree in trees.items():
        if part.startswith("xl/worksheets/"):
            assert not list(tree.iter("{*}f")), part  # no formula anywhere
            for cell in tree.iter("{*}c"):
                kind, value = cell.get("t"), cell.findtext("{*}v")
                assert kind in (None, "s", "b"), (part, cell.get("r"))
                if kind is None and value is not None:
                    float(value)  # a number: text is always a shared string


@pytest.mark.parametrize("name", [*KINDS, "hostile"])
def test_styles_hold_only_what_the_cells_use(written, name):
    with zipfile.ZipFile(written[name]) as archive:
        styles = archive.read("xl/styles.xml").decode()
        sheets = "".join(archive.read(n).decode() for n in archive.namelist()
                         if n.startswith("xl/worksheets/"))
    cell_formats = re.search(r"<cellXfs[^>]*>(.*)</cellXfs>", styles).group(1)
    xfs = re.findall(r"<xf [^>]*>", cell_formats)
    used = {0} | {int(s) for s in re.findall(r' s="(\d+)"', sheets)}
    assert used == set(range(len(xfs)))
    for kind, tag in (("font", "fonts"), ("fill", "fills"), ("border", "borders")):
        count = int(re.search(rf'<{tag} count="(\d+)"', styles).group(1))
        referenced = {int(i) for i in re.findall(rf'{kind}Id="(\d+)"', cell_formats)}
        reserved = {0, 1} if kind == "fill" else {0}  # fills 0 and 1 are SpreadsheetML's own
        assert referenced | reserved == set(range(count)), kind
