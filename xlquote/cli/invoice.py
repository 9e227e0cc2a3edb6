"""``xlquote invoice WORKBOOK --month YYYY-MM --out DIR [--json] [--incidents FILE]``: the month's
invoices (the incidents, contracts or packs from a CSV or Parquet file if given).

Exit status: 0 done, nothing needs attention; 1 done, but a document carries a flag someone
must act on (``xlquote.app.ATTENTION_FLAGS``: limit decision pending, public reply beyond its
level, personal use refused, units short, an on-site visit to quote, terms broken), a PDF
could not be made, or a cancelled invoice is still billed; 2 bad input or a refusal (nothing
written); 3 could not write (nothing changed).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, get_args

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn

from ..app.invoice_run import (
    CHANGE_LABELS_JA,
    KIND_LABELS_JA,
    REGISTER_ENV,
    REGISTER_FILENAME,
    InvoiceRunResult,
    run_invoice_workbook,
)
from ..app.invoice_run import Progress as ProgressCallback
from ..app.register import Register
from ..engine.columns import parse_date
from ..engine.dates import BILLED_YEARS, Month
from ..engine.errors import InputError
from ..engine.invoice import FLAG_LABELS_JA
from ..engine.messages import NOT_A_DATE
from ..engine.money import yen
from ..readers.workbook import Engine
from . import EXIT_INPUT, ReportConsole, fail, input_error_message

SHOWN_ATTENTION = 10  # the summary stays on one screen; the rest is in the summary workbook
DASK_ENV = "XLQUOTE_DASK_SCHEDULER"  # the Dask cluster of every run on this machine
PROGRESS_DELAY = 2.0  # seconds before a bar appears: short runs print only their summary


def month_argument(text: str) -> Month:
    try:
        return Month.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r}: {exc}") from None


def date_argument(text: str) -> dt.date:
    """A date option: 2026-10-14, 2026/10/14 or 2026年10月14日."""
    day = parse_date(text)
    if day is None:
        raise argparse.ArgumentTypeError(f"{text!r}: {NOT_A_DATE}")
    if day.year not in BILLED_YEARS:  # as a month is: the dates a run counts from stay inside
        raise argparse.ArgumentTypeError(f"{text!r}: {BILLED_YEARS.start}年〜"
                                         f"{BILLED_YEARS.stop - 1}年の日付を入力してください")
    return day


def add_month_job_arguments(parser: argparse.ArgumentParser, out_default: str, out_help: str,
                            json_help: str) -> None:
    """What every job on a month of the invoicing workbook takes: WORKBOOK, --month, --out
    (default ``out_default``), --json and --reader."""
    parser.add_argument("workbook", type=Path, help="請求書作成ブック (.xlsx/.xlsm)")
    parser.add_argument("--month", required=True, type=month_argument,
                        help="対象の月 (YYYY-MM、例: 2026-10)")
    parser.add_argument("--out", type=Path, default=Path(out_default),
                        help=f"{out_help} (既定: {out_default})")
    parser.add_argument("--json", action="store_true", help=json_help)
    parser.add_argument("--reader", choices=get_args(Engine), default="fastexcel",
                        help="ブックの読み方: fastexcel (既定) は大きな記録シートを、正確に読める"
                             "ところは型付きの列として、残りはセルごとに読みます。cells はすべての"
                             "シートをセルごとに読みます。calamine と openpyxl (以前の版の読み方) "
                             "は今はセルごとの読み方と同じです")


def add_register_option(parser: argparse.ArgumentParser, from_workbook: bool = True,
                        **kwargs: Any) -> None:
    """--register; ``from_workbook``: the subcommand reads a workbook, whose Settings
    請求番号台帳 comes next in the default's order."""
    settings = "ブックの Settings の 請求番号台帳、なければ" if from_workbook else ""
    parser.add_argument("--register", metavar="FILE|URL", **kwargs,
                        help="発行した請求書に番号を付ける請求番号台帳: SQLite ファイル、または"
                             "チームで共有する PostgreSQL サーバー (postgresql://ROLE@HOST/"
                             "DATABASE。パスワードは ~/.pgpass、PGPASSWORD かサービスファイルに"
                             "置きます。URL に書くと断ります)。既定: 環境変数 "
                             f"{REGISTER_ENV}、なければ{settings}出力フォルダが覚えている"
                             f"サーバーの台帳、なければ OUT/{REGISTER_FILENAME}")


def add_pdf_options(parser: argparse.ArgumentParser) -> None:
    pdf = parser.add_mutually_exclusive_group()
    pdf.add_argument("--pdf", dest="pdf", action="store_true", default=True,
                     help="すべての書類の PDF を作ります (既定)")
    pdf.add_argument("--no-pdf", dest="pdf", action="store_false",
                     help="ブック (xlsx) だけを作ります。あとで --no-pdf なしで実行すると PDF "
                          "を追加します")


def register(subcommands: argparse._SubParsersAction) -> None:
    parser = subcommands.add_parser(
        "invoice", help="請求書作成ブックから月の請求書を作ります",
        description="ブックを確認して月の請求額を計算し、書類を OUT/YYYY-MM に作ります: 契約"
                    "ごとに請求書 (xlsx と PDF) を 1 通 (請求番号は請求番号台帳から)、判断待ちの"
                    "請求は下書き、支払いのない月は明細、それに月の一覧。発行済みの請求書は"
                    "書き換えません: 再実行ではそのまま残し、内容が変わっていれば --correct が"
                    "ない限り断ります。終了コード: 0 完了、1 完了 (要確認あり)、2 入力エラー"
                    "または拒否、3 書き込めない。")
    add_month_job_arguments(parser, "out", "出力フォルダ。月の書類は OUT/YYYY-MM に入ります",
                            "結果を JSON で出力します")
    add_pdf_options(parser)
    for table in ("incidents", "contracts", "packs"):
        parser.add_argument(f"--{table}", type=Path, default=None, metavar="FILE",
                            help=f"{table.capitalize()} の記録を、ブックのシートの代わりに"
                                 "この CSV か Parquet ファイルから読みます (列とチェックは同じ。"
                                 "Excel の行数の上限を超えて読めます: Incidents は 2,000 万行、"
                                 "Contracts と Packs は 5 万行まで)")
    add_register_option(parser, default=None)
    parser.add_argument("--correct", action="store_true",
                        help="発行済みの請求書の金額や必須の記載事項が変わったとき、断らずに"
                             "修正インボイスを発行します。取り消した請求書がまだ請求の対象なら、"
                             "新しい請求書を発行します")
    parser.add_argument("--issue-date", type=date_argument, metavar="YYYY-MM-DD",
                        help="この実行で発行する書類の請求日 (既定: 月の請求日、それを過ぎて"
                             "いれば今日 (日本時間)。修正インボイスは今日)")
    parser.add_argument("--issue-pending", action="store_true",
                        help="顧客の判断待ちの請求書を、下書きにせず今発行します")
    parser.add_argument("--allow-open-month", action="store_true",
                        help="まだ終わっていない月 (日本時間) も請求します")
    parser.add_argument("--copy-issued-elsewhere", action="store_true",
                        help="チームで共有する台帳のとき: 他の出力フォルダで発行した月の請求書"
                             "のファイルも、このフォルダにコピーします (既定ではコピーせず、場所"
                             "を表示します)")
    parser.add_argument("--dask-scheduler", metavar="tcp://HOST:PORT",
                        default=os.environ.get(DASK_ENV) or None,
                        help="書類をこの Dask クラスターで作ります (xlquote[dask] が必要)。"
                             "ワーカーには同じ版の xlquote を入れ、OUT を同じパスで見えるように"
                             "します。請求番号はこのマシンで付けます (既定: 環境変数 "
                             f"{DASK_ENV}、なければこのマシンのコア)")
    parser.set_defaults(run=run)


@contextlib.contextmanager
def progress_bar(enabled: bool, delay: float = PROGRESS_DELAY
                 ) -> Iterator[ProgressCallback | None]:
    """A rich progress bar on stderr once a run has taken ``delay`` seconds, or nothing when
    output is not for a person (``--json``, stderr not a terminal)."""
    if not enabled:
        yield None
        return
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
               MofNCompleteColumn())
    bar = Progress(*columns, console=Console(stderr=True), transient=True)
    labels = {"checking": "請求内容を確認中", "documents": "請求書を作成中",
              "working": "下書き・明細を作成中"}
    tasks: dict[str, Any] = {}
    started, shown = time.monotonic(), False

    def update(step: str, done: int, total: int) -> None:
        nonlocal shown
        if step not in tasks:
            tasks[step] = bar.add_task(labels.get(step, step), total=total)
        bar.update(tasks[step], completed=done, total=total)
        if not shown and time.monotonic() - started >= delay:
            bar.start()
            shown = True

    try:
        yield update
    finally:
        if shown:
            bar.stop()


def given_register(args: argparse.Namespace) -> Register | None:
    """The register named by --register; None lets the run choose (XLQUOTE_REGISTER, the
    workbook's Settings, the folder's)."""
    location = getattr(args, "register", None)
    return None if location is None else Register(location)


def report_problems(exc: InputError, workbook: Path, as_json: bool) -> int:
    """Bad input: every problem (on stderr with sheet, row and column; as JSON too); exit 2."""
    message = input_error_message(exc.count, workbook, exc.stopped)
    return fail(as_json, EXIT_INPUT, "invalid", message, exc.problems)


def run(args: argparse.Namespace) -> int:
    show_progress = not args.json and sys.stderr.isatty()
    try:
        with progress_bar(show_progress) as progress:
            result = run_invoice_workbook(
                args.workbook, args.month, args.out, pdf=args.pdf, engine=args.reader,
                progress=progress, register=given_register(args), correct=args.correct,
                issue_date=args.issue_date, issue_pending=args.issue_pending,
                allow_open_month=args.allow_open_month, record_files=record_files(args),
                dask_scheduler=args.dask_scheduler,
                copy_elsewhere=args.copy_issued_elsewhere)
    except InputError as exc:
        return report_problems(exc, args.workbook, args.json)
    if args.json:
        print(json.dumps(result.to_dict(), ensure_ascii=False, indent=2, default=str))
    else:
        print_summary(result, ReportConsole())
    return result.exit_code


def record_files(args: argparse.Namespace) -> dict[str, Path]:
    """Record tables given as CSV or Parquet files (--incidents, --contracts, --packs)."""
    return {table.capitalize(): getattr(args, table) for table in ("incidents", "contracts", "packs")
            if getattr(args, table) is not None}


def print_summary(result: InvoiceRunResult, console: Console) -> None:
    """One screen: where the files are, how much was billed, what needs attention."""
    console.print(f"[bold]{result.month} の請求書[/bold]  {len(result.files)} 件  → {result.folder}")
    console.print(f"  小計 {yen(result.subtotal)}   消費税 {yen(result.tax)}   "
                  f"[bold]合計 {yen(result.total)}[/bold]")
    console.print(f"  一覧 {result.summary.name}")
    elsewhere: dict[str, int] = {}
    for doc in result.elsewhere:
        elsewhere[doc.issued_in or "不明"] = elsewhere.get(doc.issued_in or "不明", 0) + 1
    if elsewhere:
        console.print(f"  うち他の出力フォルダで発行 {len(result.elsewhere)} 件 (ファイルはそちら): "
                      + ", ".join(f"{where} {n} 件" for where, n in elsewhere.items()))
    if result.changes:
        console.print("  今回: " + ", ".join(f"{CHANGE_LABELS_JA.get(k, k)} {n} 件"
                                          for k, n in result.changes.items()))
    if result.register is not None:
        console.print(f"  請求番号台帳 {result.register.display}"
                      + (" (今回新しく作成)" if result.register.created else ""))
    for label, docs in (("下書き (番号なし)", result.drafts), ("明細 (¥0, 番号なし)",
                                                            result.statements)):
        if docs:
            console.print(f"  {label} {len(docs)} 件: "
                          + ", ".join(d.contract_id for d in docs[:SHOWN_ATTENTION])
                          + (" …" if len(docs) > SHOWN_ATTENTION else ""))
    void = [d for d in result.documents if d.status == "void"]
    corrected = [d for d in result.documents if d.status == "corrected"]
    if void or corrected:
        console.print(f"  取消 {len(void)} 件, 修正済み {len(corrected)} 件 (一覧の「状態」列)")
    if result.pdf_requested:
        written = result.pdfs_written
        console.print(f"  今回作成した PDF {sum(written.values())} 件"
                      + (" (" + ", ".join(f"{KIND_LABELS_JA[kind]} {n}" for kind, n in
                                          written.items()) + ")" if written else ""))
        if result.pdf_error:
            console.print(f"  [red]{result.pdf_error}[/red]")
    counts = result.flag_counts()
    if counts:
        console.print("  フラグ: " + ", ".join(f"{FLAG_LABELS_JA.get(code, code)} ×{n}"
                                            for code, n in counts.items()))
    for notice in [n for n in result.notices if not n.attention][:SHOWN_ATTENTION]:
        console.print(f"  {notice.message}")
    # one list, counted as shown: the notices to act on, then the flagged items
    attention = [notice.message for notice in result.attention_notices]
    for doc, flag in result.attention():
        where = f" {flag.incident_id}" if flag.incident_id else ""
        attention.append(f"{doc.number or '下書き ' + doc.contract_id}{where}: "
                         f"{FLAG_LABELS_JA.get(flag.code, flag.code)} — {flag.message}")
    if attention:
        console.print(f"[yellow]要確認 {len(attention)} 件[/yellow]")
        for item in attention[:SHOWN_ATTENTION]:
            console.print(f"  {item}")
        if len(attention) > SHOWN_ATTENTION:
            console.print(f"  … ほか {len(attention) - SHOWN_ATTENTION} 件: "
                          f"{result.summary.name} のシート「要確認」")
