"""``xlquote demo [--out DIR]``: the sample invoicing workbook and its month of invoices.

Writes DIR/invoicing.xlsm (the clerk's workbook with the bundled sample data) — unless one is
there that was edited, which is kept (``--force`` replaces it) — runs the same job as
``xlquote invoice`` for the sample month (PDFs included) and prints where everything is. The
sample data flags a few incidents on purpose (a pending limit decision, a refused personal
use, …), so the demo's exit status is 0 when it ran; 1 only when a PDF could not be made.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from ..app.invoice_run import IssuedInvoicesChanged, default_register, run_invoice_workbook
from ..app.sample import SAMPLE_MONTH
from ..app.workbooks import invoicing, rebuild
from ..engine.errors import XlquoteError
from . import ReportConsole
from .invoice import add_pdf_options, print_summary, progress_bar


class EditedDemoWorkbook(XlquoteError):
    """The demo workbook in the folder differs from the sample: it is not overwritten."""


def register(subcommands: argparse._SubParsersAction) -> None:
    parser = subcommands.add_parser(
        "demo", help="サンプルの請求書作成ブックを書き出し、その月の請求書を作ります",
        description="約 20 件の契約のサンプルデータで、その月の請求書 (xlsx と PDF) を作り、"
                    "置き場所を表示します。編集したデモのブックは残して、そのまま使います "
                    "(--force でサンプルに戻します)。")
    parser.add_argument("--out", type=Path, default=Path("xlquote-demo"),
                        help="書き出すフォルダ (既定: xlquote-demo)")
    parser.add_argument("--force", action="store_true",
                        help="編集されたブックをサンプルで上書きします")
    add_pdf_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    console = ReportConsole()
    out: Path = args.out
    checked = rebuild(invoicing.FILENAME, out, write=False)
    if checked.state == "differs" and not args.force:
        where = checked.changes[0].split(":")[0]
        raise EditedDemoWorkbook(
            f"{checked.path} は編集されています ({where} ほか)。上書きしません: そのまま使うなら "
            "`xlquote invoice` で、サンプルに戻すなら --force を付けてください")
    workbook = rebuild(invoicing.FILENAME, out).path
    # quoted for the shell: the clerk pastes it (a folder may hold spaces)
    batch = shlex.join(["xlquote", "invoice", str(workbook), "--month", str(SAMPLE_MONTH),
                        "--out", str(out / "invoices")])
    try:
        with progress_bar(sys.stderr.isatty()) as progress:
            result = run_invoice_workbook(workbook, SAMPLE_MONTH, out / "invoices",
                                          pdf=args.pdf, progress=progress,
                                          register=default_register(out / "invoices"))
    except IssuedInvoicesChanged as exc:  # the demo has no --correct: name the command that has
        raise IssuedInvoicesChanged(exc.changed, f"`{batch} --correct` を実行してください"
                                    ) from None
    console.print(f"[bold]サンプルの請求書作成ブック[/bold]: {workbook}")
    console.print("  シート Contracts / Incidents / Packs / Settings。Invoices シートの「請求書作成」"
                  "ボタンでも作成できます (デスクトップ版 Excel と xlwings が必要です。"
                  "docs/INVOICING.md を参照)")
    print_summary(result, console)
    if result.files:
        first = result.files[0]
        console.print(f"\n請求書の例: {first.pdf or first.xlsx}")
    console.print(f"同じ処理をコマンドで実行するには:\n  {batch}")
    return 1 if result.pdf_failures else 0
