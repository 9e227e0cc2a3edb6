"""``xlquote invoice WORKBOOK --month YYYY-MM --out DIR [--pdf] [--json]``: the month's invoices.

Exit status: 0 everything written, nothing needs attention; 1 written, but an invoice carries a
flag someone must act on (``xlquote.app.ATTENTION_FLAGS``: limit decision pending, public
reply beyond its level, personal use refused, units short) or the optional PDF step failed;
2 bad input (every problem listed, nothing written).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, get_args

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn

from ..app.invoice_run import InvoiceRunResult, default_register, run_invoice_workbook
from ..app.invoice_run import Progress as ProgressCallback
from ..app.register import Register
from ..engine.dates import Month
from ..engine.errors import InputError, Problem, XlquoteError
from ..engine.invoice import FLAG_LABELS_JA
from ..engine.money import yen
from ..readers.workbook import Engine

SHOWN_ATTENTION = 10  # the summary stays on one screen; the rest is in the summary workbook


def month_argument(text: str) -> Month:
    try:
        return Month.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def register(subcommands: argparse._SubParsersAction) -> None:
    parser = subcommands.add_parser(
        "invoice", help="make a month's invoices from the invoicing workbook",
        description="Validate the workbook, bill the month and write one invoice workbook per "
                    "contract and a summary into DIR/YYYY-MM (replaced as a whole on a rerun). "
                    "Exit 0 ok, 1 done but flags need attention or PDFs failed, 2 bad input.")
    parser.add_argument("workbook", type=Path, help="invoicing workbook (.xlsx/.xlsm)")
    parser.add_argument("--month", required=True, type=month_argument, help="YYYY-MM")
    parser.add_argument("--out", type=Path, default=Path("out"),
                        help="output folder; the month goes to OUT/YYYY-MM (default: out)")
    parser.add_argument("--pdf", action="store_true",
                        help="also make a PDF of every invoice (LibreOffice)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--reader", choices=get_args(Engine), default="fastexcel",
                        help="workbook reader (default: fastexcel, typed columns where exact; "
                             "calamine and openpyxl read cell by cell)")
    parser.add_argument("--register", type=Path, default=None, metavar="FILE",
                        help="invoice register that numbers issued invoices "
                             "(default: OUT/register.sqlite3)")
    parser.add_argument("--correct", action="store_true",
                        help="when an issued invoice's inputs changed, issue a correction "
                             "invoice (修正インボイス) instead of refusing")
    parser.set_defaults(run=run)


@contextlib.contextmanager
def progress_bar(enabled: bool) -> Iterator[ProgressCallback | None]:
    """A rich progress bar on stderr, or nothing when output is not for a person."""
    if not enabled:
        yield None
        return
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
               MofNCompleteColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        tasks: dict[str, Any] = {}
        labels = {"invoices": "請求書を作成中", "pdf": "PDF に変換中 (LibreOffice)"}

        def update(step: str, done: int, total: int) -> None:
            if step not in tasks:
                tasks[step] = bar.add_task(labels.get(step, step), total=total)
            bar.update(tasks[step], completed=done, total=total)

        yield update


def problem_dict(problem: Problem) -> dict[str, Any]:
    return {"sheet": problem.sheet, "row": problem.row, "column": problem.field,
            "value": problem.value, "reason": problem.reason, "text": str(problem)}


def report_problems(exc: InputError, workbook: Path, as_json: bool) -> int:
    """Bad input: every problem (as JSON, or on stderr with sheet, row and column); exit 2."""
    if as_json:
        print(json.dumps({"status": "invalid", "exit_code": 2,
                          "problems": [problem_dict(p) for p in exc.problems]},
                         ensure_ascii=False, indent=2, default=str))
    else:
        print(f"xlquote: {workbook}: {len(exc.problems)} problem(s); nothing was written:",
              file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    show_progress = not args.json and sys.stderr.isatty()
    try:
        with progress_bar(show_progress) as progress:
            result = run_invoice_workbook(
                args.workbook, args.month, args.out, pdf=args.pdf, engine=args.reader,
                progress=progress, register=open_register(args), correct=args.correct)
    except InputError as exc:
        return report_problems(exc, args.workbook, args.json)
    except XlquoteError as exc:  # the register refused, or an output could not be written
        if args.json:
            print(json.dumps({"status": "refused", "exit_code": 2, "message": str(exc)},
                             ensure_ascii=False, indent=2))
        else:
            print(f"xlquote: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result.to_dict(), ensure_ascii=False, indent=2, default=str))
    else:
        print_summary(result, Console(highlight=False, soft_wrap=True))
    return result.exit_code


def open_register(args: argparse.Namespace) -> Register:
    if args.register is None:
        return default_register(args.out)
    return Register(args.register)


def print_summary(result: InvoiceRunResult, console: Console) -> None:
    """One screen: where the files are, how much was billed, what needs attention."""
    console.print(f"[bold]{result.month} の請求書[/bold]  {len(result.files)} 件  → {result.folder}")
    console.print(f"  小計 {yen(result.subtotal)}   消費税 {yen(result.tax)}   "
                  f"[bold]合計 {yen(result.total)}[/bold]")
    console.print(f"  一覧 {result.summary.name}")
    if result.register is not None:
        labels = {"new": "新規発行", "unchanged": "発行済み・変更なし", "correction": "修正インボイス"}
        console.print("  請求番号台帳 " + ", ".join(
            f"{labels.get(k, k)} {n} 件" for k, n in result.register_statuses.items())
            + f" ({result.register})")
    if result.pdf_requested:
        if result.pdf_error:
            console.print(f"  [red]PDF: not made[/red] — {result.pdf_error}")
            console.print("  (the .xlsx invoices were written)")
        else:
            console.print(f"  PDF {sum(1 for f in result.files if f.pdf)} 件")
    counts = result.flag_counts()
    if counts:
        console.print("  フラグ: " + ", ".join(f"{FLAG_LABELS_JA.get(code, code)} ×{n}"
                                            for code, n in counts.items()))
    attention = result.attention()
    if attention:
        console.print(f"[yellow]要確認 {len(attention)} 件[/yellow]")
        for invoice, flag in attention[:SHOWN_ATTENTION]:
            where = f" {flag.incident_id}" if flag.incident_id else ""
            console.print(f"  {invoice.number}{where}: {FLAG_LABELS_JA.get(flag.code, flag.code)}"
                          f" — {flag.message}")
        if len(attention) > SHOWN_ATTENTION:
            console.print(f"  … {len(attention) - SHOWN_ATTENTION} more: see sheet 要確認 in "
                          f"{result.summary.name}")
