"""CPU per invoice of each invoice writer — the workbook (XlsxWriter) and the PDF (reportlab) —
against baselines measured in the same run; and of building the invoices they draw.

    python bench/bench_writers.py [--rounds 10] [--workbook FILE --month YYYY-MM [--invoices N]]

Always the demo month's invoices (xlquote.app.sample, 2026-10: 19 invoices of every plan, a
few statement rows each); with ``--workbook`` also the invoices of that invoicing workbook's
month (e.g. ``bench/_data/month_100000_1000_s1.xlsx`` from bench/make_month.py: ~90 statement
rows per invoice, the shape of the 1M-row month's), the first ``--invoices`` of them.

Each writer writes every invoice ``--rounds`` times into a temporary folder; a result is the
best round's CPU time (process time) divided by the invoices, so that the shared machine's slow
spells weigh little. The baselines, per invoice of the same month:

- *bare workbook*: XlsxWriter writing a workbook of two sheets with one cell each — what any
  invoice workbook costs before its content;
- *same cells, plain*: XlsxWriter writing the same document's values (every table row, the
  first page's texts) with plain ``write_*`` calls: no formats, merges, row heights or print
  setup — XlsxWriter's own cost for the content;
- *bare PDF*: reportlab drawing one A4 page with one line of Japanese text in the same font
  (embedded as a subset) — what any invoice PDF costs before its content;
- *same strings, drawString*: reportlab drawing every string of the document (the same ones
  the PDF shows) with one ``drawString`` call each, 45 lines a page, no tables — the canvas API
  drawing this much text.

The PDF font is registered before timing (once per process, shown apart).
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import xlsxwriter
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen.canvas import Canvas

from xlquote import bill_month
from xlquote.app.invoice_run import numbered_invoice
from xlquote.app.sample import sample_contracts, sample_incidents, sample_packs, sample_settings
from xlquote.engine.invoice import Invoice
from xlquote.engine.settings import Settings, settings_from_values
from xlquote.readers.workbook import read_invoicing_workbook
from xlquote.writers import write_invoice_pdf, write_invoice_workbook
from xlquote.writers.invoice_layout import InvoiceDocument, invoice_document
from xlquote.writers.invoice_pdf import shown
from xlquote.writers.pdf_pages import registered_font

Month = tuple[str, list[Invoice], Settings, Callable[[], list[Invoice]]]


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

def bare_workbook(doc: InvoiceDocument, path: Path) -> None:
    wb = xlsxwriter.Workbook(str(path), {"in_memory": True})
    for name in ("請求書", "明細"):
        wb.add_worksheet(name).write_string(0, 0, doc.title)
    wb.close()


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


def measure(month: Month, rounds: int) -> None:
    label, invoices, settings, build = month
    docs = [invoice_document(invoice, settings) for invoice in invoices]
    rows = sum(len(invoice.statement) for invoice in invoices) / len(invoices)
    build_rounds = max(1, rounds // 4)
    build_ms = min(_cpu_ms(build) for _ in range(build_rounds)) / len(invoices)
    xlsx = best_cpu_ms(lambda inv, path: write_invoice_workbook(inv, settings, path), invoices,
                       rounds, ".xlsx")
    pdf = best_cpu_ms(lambda inv, path: write_invoice_pdf(inv, settings, path), invoices,
                      rounds, ".pdf")
    baselines = {name: best_cpu_ms(write, docs, rounds, suffix) for name, write, suffix in (
        ("bare workbook", bare_workbook, ".xlsx"), ("same cells, plain", plain_workbook, ".xlsx"),
        ("bare PDF", bare_pdf, ".pdf"), ("same strings, drawString", drawstring_pdf, ".pdf"))}

    print(f"\n{label}: {len(invoices):,} invoices, {rows:.1f} statement rows each on average; "
          f"best of {rounds} rounds, CPU ms per invoice")
    print(f"  {'':38} {'ms':>7}  {'× bare':>7}  {'× content':>9}")
    print(f"  {'workbook (write_invoice_workbook)':38} {xlsx:7.2f}  "
          f"{xlsx / baselines['bare workbook']:6.1f}×  "
          f"{xlsx / baselines['same cells, plain']:8.2f}×")
    for name in ("bare workbook", "same cells, plain"):
        print(f"    baseline: {name:28} {baselines[name]:7.2f}")
    print(f"  {'PDF (write_invoice_pdf)':38} {pdf:7.2f}  "
          f"{pdf / baselines['bare PDF']:6.1f}×  "
          f"{pdf / baselines['same strings, drawString']:8.2f}×")
    for name in ("bare PDF", "same strings, drawString"):
        print(f"    baseline: {name:28} {baselines[name]:7.2f}")
    print(f"  {'both writers':38} {xlsx + pdf:7.2f}")
    print(f"  {'building the invoices (build_invoice)':38} {build_ms:7.2f}   "
          f"(best of {build_rounds})")


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
    args = parser.parse_args(argv)
    if args.workbook and not args.month:
        parser.error("--workbook needs --month")
    start = time.process_time()
    registered_font()
    print(f"PDF font registered once per process: {1000 * (time.process_time() - start):.0f} ms "
          "CPU (not in the figures below)")
    months = [demo_month()]
    if args.workbook:
        months.append(workbook_month(args.workbook, args.month, args.invoices))
    for month in months:
        measure(month, args.rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
