"""compare.xlsx rendered by LibreOffice: the native line chart is drawn (PDF text and pixels)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from xlquote.app.workbooks import compare as compare_workbook

pytestmark = pytest.mark.skipif(
    not all(shutil.which(tool) for tool in ("soffice", "pdftotext", "pdftoppm")),
    reason="LibreOffice and poppler-utils are needed to render the workbook")


def read_pgm(path: Path) -> np.ndarray:
    """A binary PGM (P5) image as a 2-D uint8 array."""
    data = path.read_bytes()
    fields, pos = [], 0
    while len(fields) < 4:  # magic, width, height, maxval separated by whitespace
        while data[pos:pos + 1].isspace():
            pos += 1
        start = pos
        while not data[pos:pos + 1].isspace():
            pos += 1
        fields.append(data[start:pos])
    assert fields[0] == b"P5"
    width, height = int(fields[1]), int(fields[2])
    pixels = np.frombuffer(data[pos + 1: pos + 1 + width * height], dtype=np.uint8)
    return pixels.reshape(height, width)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("render")
    book = compare_workbook.build(folder / compare_workbook.FILENAME)
    profile = (folder / "lo-profile").resolve()
    subprocess.run(
        ["soffice", "--headless", f"-env:UserInstallation=file://{profile}", "--convert-to",
         "pdf", "--outdir", str(folder), str(book)],
        check=True, capture_output=True, timeout=180)
    pdf = folder / "compare.pdf"
    assert pdf.is_file()
    return pdf


def test_chart_texts_are_in_the_pdf(rendered):
    text = subprocess.run(["pdftotext", str(rendered), "-"], check=True, capture_output=True,
                          text=True).stdout
    assert compare_workbook.CHART_TITLE in text
    assert "incidents per month)" in text  # x-axis title (LibreOffice may space the slash)
    assert "(cost over the horizon, yen)" in text  # y-axis title
    assert "月額 月5件" in text and "年額" in text  # legend
    assert "#NAME" not in text and "Err:" not in text  # the live column falls back to —
    assert "年額契約 通常" in text  # the table


def test_chart_page_is_drawn(rendered, tmp_path):
    # The chart starts page 2 (a manual page break keeps it whole).
    subprocess.run(["pdftoppm", "-gray", "-r", "50", "-f", "2", "-l", "2", str(rendered),
                    str(tmp_path / "page")], check=True, capture_output=True, timeout=60)
    (image,) = tmp_path.glob("page*.pgm")
    pixels = read_pgm(image)
    top_half = pixels[: pixels.shape[0] // 2]
    ink = (top_half < 200).mean()
    assert ink > 0.01, f"chart area looks blank ({ink:.4f} of pixels inked)"
    # lines of several grey levels (coloured series), not just text and the frame
    assert len(np.unique(top_half[top_half < 230] // 16)) >= 4
