"""CPU per invoice of each invoice writer — the workbook (SpreadsheetML written directly) and the
PDF (reportlab) — against baselines measured in the same run; of building the invoices they
draw; and optionally the whole month's run with the workbook written each way.

    python bench/bench_writers.py [--rounds 10] [--workbook FILE --month YYYY-MM [--invoices N]]
                                  [--run] [--documents 9860 --cores 2]

Always the demo month's invoices (xlquote.app.sample, 2026-10: 19 invoices of every plan, a
few statement rows each); with ``--workbook`` also the invoices of that invoicing workbook's
month (e.g. ``bench/_data/month_100000_1000_s1.xlsx`` from bench/make_month.py: ~90 statement
rows per invoice, the shape of the 1M-row month's), the first ``--invoices`` of them.

Each writer writes every invoice ``--rounds`` times into a temporary folder; a result is the
best round's CPU time (process time) divided by the invoices, so that the shared machine's slow
spells weigh little. The baselines, per invoice of the same month:

- *XlsxWriter renderer*: the invoice workbook as it was written before, through XlsxWriter
  (``xlquote/writers/invoice_workbook.py`` at commit ``BASELINE_COMMIT``, loaded from git
  history: it is no product path any more) — the with/without comparison of the direct
  writer, which exists only for speed;
- *same cells, plain (XlsxWriter)*: XlsxWriter writing the same document's values (every table
  row, the first page's texts) with plain ``write_*`` calls: no formats, merges, row heights or
  print setup — XlsxWriter's own cost for the content;
- *zip of the same parts*: the finished parts of the same workbook zipped as the writer zips
  them (``zipfile``, deflate level ``spreadsheetml.COMPRESS_LEVEL``), atomically — the floor
  of the direct writer: what is left once every cell's XML is made;
- *bare PDF*: reportlab drawing one A4 page with one line of Japanese text in the same font
  (embedded as a subset) — what any invoice PDF costs before its content;
- *same strings, drawString*: reportlab drawing every string of the document (the same ones
  the PDF shows) with one ``drawString`` call each, 45 lines a page, no tables — the canvas API
  drawing this much text.

The saving per document is also shown as seconds on a month of ``--documents`` documents
(9,860 on the 1M-row month) spread over ``--cores`` processes. ``--run`` runs the workbook
month's whole run (``run_invoice_workbook``, with PDFs, into a temporary folder) once with each
workbook writer and reports CPU (the process and its workers) and wall time.

The PDF font is registered before timing (once per process, shown apart).
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import importlib.util
import io
import os
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import xlsxwriter
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen.canvas import Canvas

from xlquote import bill_month
from xlquote.app import documents
from xlquote.app.invoice_run import run_invoice_workbook
from xlquote.app.sample import sample_contracts, sample_incidents, sample_packs, sample_settings
from xlquote.engine.billing import build_invoice
from xlquote.engine.invoice import Invoice
from xlquote.engine.settings import Settings, settings_from_values
from xlquote.readers.workbook import read_invoicing_workbook
from xlquote.writers import (
    invoice_document_workbook_bytes,
    invoice_workbook,
    spreadsheetml,
    write_invoice_pdf,
    write_invoice_workbook,
)
from xlquote.writers.fast_xlsx import xlsxwriter_options
from xlquote.writers.invoice_layout import InvoiceDocument, invoice_document, row_heights
from xlquote.writers.invoice_pdf import shown
from xlquote.writers.pdf_pages import registered_font
from xlquote.writers.xlsx import REPRODUCIBLE_STAMP, write_atomically

Month = tuple[str, list[Invoice], Settings, Callable[[], list[Invoice]]]
REPOSITORY = Path(__file__).resolve().parents[1]
BASELINE_COMMIT = "53ccd14"  # the last commit whose invoice workbook went through XlsxWriter
BASELINE_MODULE = "xlquote/writers/invoice_workbook.py"


def numbered_invoice(context: Any, number: str) -> Invoice:
    """The invoice of a contract's month, numbered as the run numbers an issued invoice."""
    invoice = build_invoice(context)
    invoice.number = number
    return invoice


def demo_month() -> Month:
    run = bill_month(sample_contracts(), sample_incidents(), "2026-10", sample_packs())
    settings = settings_from_values({key: (value, row) for row, (key, value)
                                     in enumerate(sample_settings().items(), start=2)})

    def build() -> list[Invoice]:
        return [numbered_invoice(ctx, f"INV-202610-{i:04d}") for i, ctx in enumerate(run.contexts)]

    return "demo month 2026-10", build(), settings, build


def workbook_month(path: Path, month: str, limit: int | None) -> Month:
    data = read_invoicing_workbook(path)
    run = bill_month(data.contracts, data.incidents, month, data.packs, data.pricebooks())
    contexts = run.contexts[:limit]

    def build() -> list[Invoice]:
        return [numbered_invoice(ctx, f"INV-{i:06d}") for i, ctx in enumerate(contexts)]

    return f"{path.name} {month}", build(), data.settings, build


# -- the baselines ------------------------------------------------------------------------------

def xlsxwriter_renderer() -> Any:
    """The XlsxWriter invoice renderer as of BASELINE_COMMIT, from git history, imported as a
    module of xlquote.writers (it uses fast_xlsx, invoice_layout and sheets as they are)."""
    source = subprocess.run(["git", "-C", str(REPOSITORY), "show",
                             f"{BASELINE_COMMIT}:{BASELINE_MODULE}"],
                            check=True, capture_output=True, text=True).stdout
    name = "xlquote.writers._xlsxwriter_invoice_baseline"
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader(name, loader=None))
    module.__package__ = "xlquote.writers"
    sys.modules[name] = module
    # invoice_layout's row_height as the renderer knew it (since 400dad9 the product fits
    # every row through row_heights)
    source = source.replace("    row_height,\n", "", 1)
    module.row_height = _baseline_row_height
    exec(compile(source, f"{BASELINE_COMMIT}:{BASELINE_MODULE}", "exec"), module.__dict__)
    module.xlsxwriter_workbook = _baseline_workbook  # fast_xlsx's, as the renderer knew it
    return module


def _baseline_row_height(texts: list[tuple[str, float]]) -> float | None:
    """The height a row of wrapped text needs, from each (text, column width); None when one
    line is enough."""
    for _, height in row_heights([[text for text, _ in texts]], [width for _, width in texts]):
        return height
    return None


def _baseline_workbook(path: str | Path, stamp: dt.datetime = REPRODUCIBLE_STAMP,
                       **properties: str) -> xlsxwriter.Workbook:
    """``fast_xlsx.xlsxwriter_workbook`` as of BASELINE_COMMIT: a workbook returned (since
    8f39356 it is a context manager in constant_memory mode, for the summary's big tables),
    kept in memory, with the same options and fonts."""
    wb = xlsxwriter.Workbook(str(path), {"in_memory": True, **xlsxwriter_options()})
    wb.set_properties({**properties, "created": stamp})
    return wb


def zipped_parts(parts: list[tuple[str, bytes]], path: Path) -> None:
    """The floor of the direct writer: finished parts zipped as ``Workbook.save`` zips them
    (in memory, then written)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in parts:
            entry = zipfile.ZipInfo(name, date_time=(2000, 1, 1, 0, 0, 0))
            entry.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(entry, data, compresslevel=spreadsheetml.COMPRESS_LEVEL)
    write_atomically(path, buffer.getvalue())


def workbook_parts(doc: InvoiceDocument) -> list[tuple[str, bytes]]:
    """Each part's finished bytes (a sheet's XML comes in pieces, made as it is written)."""
    return [(name, (xml if isinstance(xml, str) else "".join(xml)).encode("utf-8"))
            for name, xml in invoice_workbook.invoice_workbook(doc).parts()]


def _plain_cells(ws: Any, top: int, rows: Any) -> int:
    for row, values in enumerate(rows, start=top):
        for col, value in enumerate(values):
            if isinstance(value, str):
                if value:
                    ws.write_string(row, col, value)
            elif isinstance(value, dt.date):
                ws.write_datetime(row, col, value)
            elif value is not None:
                ws.write_number(row, col, value)
    return top + len(rows)


def plain_workbook(doc: InvoiceDocument, path: Path) -> None:
    wb = xlsxwriter.Workbook(str(path), {"in_memory": True})
    page = doc.first_page
    first = wb.add_worksheet(page.sheet)
    texts = [(page.title,), (page.addressee,), (page.contract_line,), (page.intro,),
             *((text,) for text, _ in page.issuer), *((f.label, f.value) for f in page.meta),
             *((f.label, f.value) for f in page.taxes), *((text,) for text in page.notes)]
    row = _plain_cells(first, 0, texts)
    if page.lines is not None:
        _plain_cells(first, row, page.lines.rows)
    tables = [doc.statement, *([doc.units] if doc.units else [])]
    for table in tables:
        ws = wb.add_worksheet(table.title[:31].replace(":", " "))
        _plain_cells(ws, 0, [(table.title,), (table.subtitle,),
                             tuple(column.title for column in table.columns), *table.rows])
    wb.close()


def _document_strings(doc: InvoiceDocument) -> Iterator[str]:
    page = doc.first_page
    yield from (page.title, page.addressee, page.contract_line, page.intro, *page.banner,
                *page.notes, *page.bank, *(text for text, _ in page.issuer))
    for field in (*page.meta, *page.taxes):
        yield field.label
        yield shown(field.value, field.kind)
    for table in (page.lines, doc.statement, doc.units):
        if table is None:
            continue
        yield from (table.title, table.subtitle, *(column.title for column in table.columns))
        for values in table.rows:
            for value, column in zip(values, table.columns, strict=True):
                text = shown(value, column.kind)
                if text:
                    yield text


def bare_pdf(doc: InvoiceDocument, path: Path) -> None:
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, invariant=True, pageCompression=True,
                    initialFontName=registered_font())
    canvas.setFont(registered_font(), 20)
    canvas.drawString(72, 760, doc.title)
    canvas.showPage()
    canvas.save()
    path.write_bytes(buffer.getvalue())


def drawstring_pdf(doc: InvoiceDocument, path: Path) -> None:
    buffer = io.BytesIO()
    font = registered_font()
    canvas = Canvas(buffer, pagesize=A4, invariant=True, pageCompression=True,
                    initialFontName=font)
    y = 0.0
    for text in _document_strings(doc):
        if y < 50:
            if y:
                canvas.showPage()
            canvas.setFont(font, 9)
            y = 800.0
        canvas.drawString(40, y, text)
        y -= 16
    canvas.showPage()
    canvas.save()
    path.write_bytes(buffer.getvalue())


# -- timing -------------------------------------------------------------------------------------

def best_cpu_ms(write: Callable[[Any, Path], Any], items: list[Any], rounds: int,
                suffix: str) -> float:
    """Best round's CPU milliseconds per item of ``write(item, path)``."""
    best = float("inf")
    with tempfile.TemporaryDirectory(prefix="xlquote-bench-") as folder:
        for _ in range(rounds):
            start = time.process_time()
            for i, item in enumerate(items):
                write(item, Path(folder) / f"{i}{suffix}")
            best = min(best, time.process_time() - start)
    return 1000 * best / len(items)


def measure(month: Month, rounds: int, baseline: Any, documents_in_month: int,
            cores: int) -> None:
    label, invoices, settings, build = month
    docs = [invoice_document(invoice, settings) for invoice in invoices]
    rows = sum(len(invoice.statement) for invoice in invoices) / len(invoices)
    build_rounds = max(1, rounds // 4)
    build_ms = min(_cpu_ms(build) for _ in range(build_rounds)) / len(invoices)
    xlsx = best_cpu_ms(lambda inv, path: write_invoice_workbook(inv, settings, path), invoices,
                       rounds, ".xlsx")
    before = best_cpu_ms(lambda inv, path: baseline.write_invoice_workbook(inv, settings, path),
                         invoices, rounds, ".xlsx")
    pdf = best_cpu_ms(lambda inv, path: write_invoice_pdf(inv, settings, path), invoices,
                      rounds, ".pdf")
    parts = [workbook_parts(doc) for doc in docs]
    baselines = {name: best_cpu_ms(write, items, rounds, suffix)
                 for name, write, items, suffix in (
                     ("same cells, plain (XlsxWriter)", plain_workbook, docs, ".xlsx"),
                     ("zip of the same parts", zipped_parts, parts, ".xlsx"),
                     ("bare PDF", bare_pdf, docs, ".pdf"),
                     ("same strings, drawString", drawstring_pdf, docs, ".pdf"))}
    size = sum(len(data) for doc_parts in parts for _, data in doc_parts) / len(parts)

    print(f"\n{label}: {len(invoices):,} invoices, {rows:.1f} statement rows each on average; "
          f"best of {rounds} rounds, CPU ms per invoice")
    print(f"  {'workbook (write_invoice_workbook)':38} {xlsx:7.2f}   "
          f"{xlsx / before:.2f}× the XlsxWriter renderer, {size / 1024:.0f} KB of XML")
    print(f"    baseline: {'XlsxWriter renderer (' + BASELINE_COMMIT + ')':34} {before:7.2f}")
    for name in ("same cells, plain (XlsxWriter)", "zip of the same parts"):
        print(f"    baseline: {name:34} {baselines[name]:7.2f}")
    saving = (before - xlsx) * documents_in_month / cores / 1000
    print(f"    saving: {before - xlsx:.2f} ms a document ≈ {saving:.0f} s on "
          f"{documents_in_month:,} documents over {cores} cores")
    print(f"  {'PDF (write_invoice_pdf)':38} {pdf:7.2f}   "
          f"{pdf / baselines['bare PDF']:.1f}× bare, "
          f"{pdf / baselines['same strings, drawString']:.2f}× the content")
    for name in ("bare PDF", "same strings, drawString"):
        print(f"    baseline: {name:34} {baselines[name]:7.2f}")
    print(f"  {'both writers':38} {xlsx + pdf:7.2f}   (with the XlsxWriter renderer: "
          f"{before + pdf:.2f})")
    print(f"  {'building the invoices (build_invoice)':38} {build_ms:7.2f}   "
          f"(best of {build_rounds})")


def _cpu_seconds() -> float:
    """CPU of this process and of its finished children (the run's forked workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def whole_run(workbook: Path, month: str, baseline: Any) -> None:
    """The month's run with PDFs, once with each workbook writer (the run's workers are
    forked, so they inherit the writer chosen here)."""
    print(f"\nthe whole run of {workbook.name} {month} with PDFs "
          f"({os.cpu_count()} cores; CPU includes the workers)")
    writers = (("SpreadsheetML (the product)", invoice_document_workbook_bytes),
               (f"XlsxWriter renderer ({BASELINE_COMMIT})", _drawer(baseline)))
    for name, drawer in (*writers, writers[0]):  # the product again: a drift shows
        documents.DRAWERS[("invoice", "xlsx")] = drawer
        with tempfile.TemporaryDirectory(prefix="xlquote-bench-run-") as folder:
            cpu, wall = _cpu_seconds(), time.perf_counter()
            run_invoice_workbook(workbook, month, folder)
            cpu, wall = _cpu_seconds() - cpu, time.perf_counter() - wall
            files = len(list(Path(folder).glob("*/*.xlsx"))), len(list(Path(folder).glob("*/*.pdf")))
        print(f"  {name:36} {cpu:7.1f} s CPU  {wall:7.1f} s wall  ({files[0]:,} workbooks, "
              f"{files[1]:,} PDFs)")
    documents.DRAWERS[("invoice", "xlsx")] = invoice_document_workbook_bytes


def _drawer(baseline: Any) -> documents.Drawer:
    """The baseline renderer as the run draws a workbook: from the document's layout, made
    once for both files, to the file's bytes (its ``write_invoice_workbook`` makes the layout
    of the invoice it is given: here it is handed the run's)."""
    def draw(layout: InvoiceDocument) -> bytes:
        with tempfile.TemporaryDirectory(prefix="xlquote-bench-file-") as folder:
            path = Path(folder) / "document.xlsx"
            made, baseline.invoice_document = baseline.invoice_document, lambda *_: layout
            try:
                baseline.write_invoice_workbook(None, None, path)
            finally:
                baseline.invoice_document = made
            return path.read_bytes()
    return draw


def _cpu_ms(work: Callable[[], Any]) -> float:
    start = time.process_time()
    work()
    return 1000 * (time.process_time() - start)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--workbook", type=Path, help="an invoicing workbook (bench/make_month.py)")
    parser.add_argument("--month", help="the workbook's month, YYYY-MM")
    parser.add_argument("--invoices", type=int, help="only the workbook month's first N invoices")
    parser.add_argument("--documents", type=int, default=9_860,
                        help="documents in the month the saving is estimated for")
    parser.add_argument("--cores", type=int, default=2, help="processes the run spreads over")
    parser.add_argument("--run", action="store_true",
                        help="also the workbook month's whole run with each workbook writer")
    args = parser.parse_args(argv)
    if args.workbook and not args.month:
        parser.error("--workbook needs --month")
    if args.run and not args.workbook:
        parser.error("--run needs --workbook")
    baseline = xlsxwriter_renderer()
    start = time.process_time()
    face = pdfmetrics.getFont(registered_font()).face
    # reportlab's own PDFs (the baselines) embed subsets made by makeSubset, which reads the
    # font's tables afresh each time; they never change, so each is read once
    face.get_table = functools.cache(face.get_table)
    print(f"PDF font registered once per process: {1000 * (time.process_time() - start):.0f} ms "
          "CPU (not in the figures below)")
    months = [demo_month()]
    if args.workbook:
        months.append(workbook_month(args.workbook, args.month, args.invoices))
    for month in months:
        measure(month, args.rounds, baseline, args.documents, args.cores)
    if args.run:
        whole_run(args.workbook, args.month, baseline)
    return 0


if __name__ == "__main__":
    sys.exit(main())
