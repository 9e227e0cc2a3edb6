"""CPU per invoice of each invoice writer: the workbook (XlsxWriter) and the PDF (reportlab).

    python bench/bench_writers.py [--rounds 20] [--workbook FILE --month YYYY-MM]

By default the demo month's invoices (xlquote.app.sample, 2026-10: 19 invoices of every plan);
with ``--workbook`` the invoices of that invoicing workbook's month (e.g. one made by
bench/make_month.py). Each writer writes every invoice ``--rounds`` times into a temporary
folder; the result is the best round's CPU time (process time) divided by the invoices, so the
shared machine's slow spells weigh little. The PDF font is registered before timing (once per
process, shown apart).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from xlquote import bill_month
from xlquote.app.invoice_run import numbered_invoice
from xlquote.app.sample import sample_contracts, sample_incidents, sample_packs, sample_settings
from xlquote.engine.invoice import Invoice
from xlquote.engine.settings import Settings, settings_from_values
from xlquote.readers.workbook import read_invoicing_workbook
from xlquote.writers import write_invoice_pdf, write_invoice_workbook
from xlquote.writers.pdf_pages import registered_font


def demo_invoices() -> tuple[list[Invoice], Settings]:
    run = bill_month(sample_contracts(), sample_incidents(), "2026-10", sample_packs())
    settings = settings_from_values({key: (value, row) for row, (key, value)
                                     in enumerate(sample_settings().items(), start=2)})
    return [numbered_invoice(ctx, f"INV-202610-{i:04d}") for i, ctx in enumerate(run.contexts)], settings


def workbook_invoices(path: Path, month: str) -> tuple[list[Invoice], Settings]:
    data = read_invoicing_workbook(path)
    run = bill_month(data.contracts, data.incidents, month, data.packs, data.pricebooks())
    return ([numbered_invoice(ctx, f"INV-{i:06d}") for i, ctx in enumerate(run.contexts)],
            data.settings)


def best_cpu_per_invoice(write: Callable[[Invoice, Settings, Path], Path], invoices: list[Invoice],
                         settings: Settings, rounds: int, suffix: str) -> float:
    best = float("inf")
    with tempfile.TemporaryDirectory(prefix="xlquote-bench-") as folder:
        for _ in range(rounds):
            start = time.process_time()
            for i, invoice in enumerate(invoices):
                write(invoice, settings, Path(folder) / f"{i}{suffix}")
            best = min(best, time.process_time() - start)
    return 1000 * best / len(invoices)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--workbook", type=Path)
    parser.add_argument("--month")
    args = parser.parse_args(argv)
    if args.workbook:
        invoices, settings = workbook_invoices(args.workbook, args.month)
    else:
        invoices, settings = demo_invoices()
    start = time.process_time()
    registered_font()
    font_ms = 1000 * (time.process_time() - start)
    xlsx = best_cpu_per_invoice(write_invoice_workbook, invoices, settings, args.rounds, ".xlsx")
    pdf = best_cpu_per_invoice(write_invoice_pdf, invoices, settings, args.rounds, ".pdf")
    print(f"{len(invoices)} invoices, best of {args.rounds} rounds (CPU ms per invoice)")
    print(f"  workbook (XlsxWriter)  {xlsx:6.1f}")
    print(f"  PDF (reportlab)        {pdf:6.1f}   (+ {font_ms:.0f} ms once per process: the font)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
