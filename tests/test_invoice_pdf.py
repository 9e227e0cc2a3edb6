"""PDF invoices through LibreOffice: one soffice run for the module (a module-scoped fixture),
page 1 read back with poppler's pdftotext and rendered with pdftoppm; and the clear failure
when LibreOffice is missing or broken (the .xlsx invoices are still written)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from xlquote.app.invoice_run import run_invoice_workbook
from xlquote.app.sample import sample_contracts, sample_incidents, sample_packs, sample_settings
from xlquote.app.workbooks.invoicing import write_invoicing_workbook
from xlquote.cli import main
from xlquote.engine.errors import OutputError
from xlquote.writers.pdf import convert_to_pdf, find_soffice

MONTH = "2026-10"
needs_tools = pytest.mark.skipif(
    not (shutil.which("soffice") and shutil.which("pdftotext") and shutil.which("pdftoppm")),
    reason="LibreOffice and poppler-utils are installed by .ci/run")


def sample_workbook(folder: Path) -> Path:
    return write_invoicing_workbook(folder / "invoicing.xlsx", sample_contracts(),
                                    sample_incidents(), sample_packs(), sample_settings())


@pytest.fixture(scope="module")
def pdf_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pdf")
    return run_invoice_workbook(sample_workbook(folder), MONTH, folder / "out", pdf=True)


def pdf_of(result, contract_id: str) -> Path:
    (found,) = [f.pdf for f in result.files if f.invoice.contract.contract_id == contract_id]
    return found


def page_text(pdf: Path, page: int = 1) -> str:
    return subprocess.run(["pdftotext", "-layout", "-f", str(page), "-l", str(page), str(pdf),
                           "-"], capture_output=True, text=True, check=True).stdout


@needs_tools
def test_every_invoice_has_a_pdf(pdf_run):
    assert pdf_run.pdf_error is None
    pdfs = sorted(pdf_run.folder.glob("*.pdf"))
    assert len(pdfs) == len(pdf_run.files) == 19
    assert all(f.pdf and f.pdf.is_file() and f.pdf.stat().st_size > 10_000 for f in pdf_run.files)
    assert not list(pdf_run.folder.parent.glob(".*"))  # no staging folder left


@needs_tools
def test_pdf_page_one_shows_the_invoice(pdf_run):
    text = page_text(pdf_of(pdf_run, "C004"))
    assert "請求書" in text
    assert "株式会社ヒバリ物流 御中" in text
    assert "¥110,000" in text  # 合計 (80,000 + 20,000 + tax 10,000)
    assert "登録番号 T1234567890123" in text
    assert "料金リミットを適用してご請求しています" in text


@needs_tools
def test_pdf_statement_and_units_pages(pdf_run):
    pdf = pdf_of(pdf_run, "V002")
    assert "I-1026" in page_text(pdf, 2)
    units = page_text(pdf, 3)
    assert "ユニット残高" in units and "2027/10/06" in units  # the topped-up pack's expiry


@needs_tools
def test_pdf_renders_to_png(pdf_run, tmp_path):
    subprocess.run(["pdftoppm", "-png", "-r", "50", "-f", "1", "-l", "1",
                    str(pdf_of(pdf_run, "C001")), str(tmp_path / "page")], check=True)
    (png,) = tmp_path.glob("page*.png")
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 5_000  # a blank page compresses to far less


def test_pdf_without_libreoffice(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    monkeypatch.delenv("XLQUOTE_SOFFICE", raising=False)
    out = tmp_path / "out"
    code = main(["invoice", str(sample_workbook(tmp_path)), "--month", "2026-09", "--out",
                 str(out), "--pdf"])
    assert code == 1  # 2026-09 has no attention flags: the failed PDF step alone makes it 1
    printed = capsys.readouterr().out
    assert "PDF: not made" in printed and "LibreOffice (soffice) was not found" in printed
    assert "the .xlsx invoices were written" in printed
    assert len(list((out / "2026-09").glob("INV-202609-*.xlsx"))) == 9
    assert not list((out / "2026-09").glob("*.pdf"))


def test_missing_soffice_is_an_output_error(tmp_path, monkeypatch):
    monkeypatch.setenv("XLQUOTE_SOFFICE", str(tmp_path / "no-such-soffice"))
    with pytest.raises(OutputError, match=r"XLQUOTE_SOFFICE=.*is not a program"):
        find_soffice()


def test_failing_soffice_is_reported(tmp_path, monkeypatch):
    fake = tmp_path / "soffice"
    fake.write_text("#!/bin/sh\necho 'cannot open display' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("XLQUOTE_SOFFICE", str(fake))
    book = tmp_path / "a.xlsx"
    book.write_bytes(b"")
    with pytest.raises(OutputError, match=r"LibreOffice failed \(exit 1\).*a\.pdf.*cannot open display"):
        convert_to_pdf([book], tmp_path / "pdf")
