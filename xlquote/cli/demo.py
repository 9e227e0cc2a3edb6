"""``xlquote demo [--out DIR]``: the sample invoicing workbook and its month of invoices.

Writes DIR/invoicing.xlsm (the clerk's workbook with the bundled sample data), runs the same
batch as ``xlquote invoice`` for the sample month (with PDFs when LibreOffice is installed)
and prints where everything is. The sample data flags a few incidents on purpose (a pending
limit decision, a refused personal use, …), so the demo's exit status is 0 when it ran; 1 only
when LibreOffice is installed but the PDF step failed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.console import Console

from ..app.invoice_run import default_register, run_invoice_workbook
from ..app.sample import SAMPLE_MONTH
from ..app.workbooks import invoicing
from ..engine.errors import OutputError
from ..writers.pdf import find_soffice
from .invoice import print_summary, progress_bar


def register(subcommands: argparse._SubParsersAction) -> None:
    parser = subcommands.add_parser(
        "demo", help="write a sample invoicing workbook and make its month of invoices",
        description="Sample data for about 20 contracts, a month of invoices (PDFs too when "
                    "LibreOffice is installed), and where to find them.")
    parser.add_argument("--out", type=Path, default=Path("xlquote-demo"),
                        help="folder to write into (default: xlquote-demo)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    console = Console(highlight=False, soft_wrap=True)
    out: Path = args.out
    workbook = invoicing.build(out / invoicing.FILENAME)
    try:
        find_soffice()
        pdf, pdf_note = True, ""
    except OutputError as exc:
        pdf, pdf_note = False, f"PDFs skipped: {exc}"
    with progress_bar(sys.stderr.isatty()) as progress:
        result = run_invoice_workbook(workbook, SAMPLE_MONTH, out / "invoices", pdf=pdf,
                                      progress=progress,
                                      register=default_register(out / "invoices"))
    console.print(f"[bold]Sample invoicing workbook[/bold]: {workbook}")
    console.print("  sheets Contracts / Incidents / Packs / Settings; the 請求書作成 button on "
                  "Invoices (desktop Excel with xlwings, see docs/INVOICING.md)")
    print_summary(result, console)
    if pdf_note:
        console.print(f"  {pdf_note}")
    console.print("\nOpen an invoice, e.g. "
                  f"{result.files[0].pdf or result.files[0].xlsx}" if result.files else "")
    console.print(f"Run the batch yourself:\n  xlquote invoice {workbook} --month {SAMPLE_MONTH} "
                  f"--out {out / 'invoices'} --pdf")
    return 1 if result.pdf_error else 0
