"""Converting workbooks to PDF through LibreOffice (``xlquote.writers.pdf``): the clear failure
when LibreOffice is missing or broken. The month's run draws its PDFs with
``write_invoice_pdf`` and needs no LibreOffice (test_lifecycle.py, test_exit_codes.py)."""

from __future__ import annotations

import pytest

from xlquote.engine.errors import OutputError
from xlquote.writers.pdf import convert_to_pdf, find_soffice


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
