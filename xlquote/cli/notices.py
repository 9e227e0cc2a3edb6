"""``xlquote notices WORKBOOK --month YYYY-MM [--out DIR] [--json] [--since DATE] [--date DATE]
[--again]``: the notices due to customers, in Japanese, ready to send.

Kinds: units_used (after every paid-support response), limit_reached (stop or continue?),
pack_expiring (units that expire within 30 days). Each notice is written once: the record in
DIR says which were written, ``--again`` writes them again. Run it daily with ``--since``.
Exit status: 0 written, 2 bad input (every problem listed, nothing written).
"""

from __future__ import annotations

import argparse
import json
import sys

from rich.console import Console

from ..app.notices_run import NoticesRunResult, run_notices_workbook
from ..engine.codes import CHANNEL_LABELS_JA, PLAN_LABELS_JA
from ..engine.errors import InputError
from ..engine.notices import NOTICE_KINDS, NOTICE_LABELS_JA
from . import ReportConsole
from .invoice import add_month_job_arguments, date_argument, report_problems


def register(subcommands: argparse._SubParsersAction) -> None:
    parser = subcommands.add_parser(
        "notices", help="顧客へのお知らせを書き出します (使用ユニット数、上限到達、期限の近いユニット)",
        description="ある日の時点で送るべき月のお知らせ (有償サポートの対応ごとの使用ユニット"
                    "数、料金上限への到達、期限の近いユニット) を OUT/お知らせ一覧_<date>.xlsx と "
                    ".json に書き出します。各お知らせは 1 回だけ書き出します (記録: OUT/"
                    "notices_record.sqlite3)。対応待ちの対応も、月額契約を先に、回答期限の順に表示"
                    "します。終了コード: 0 書き出し完了、2 入力エラー、3 書き込めない (別の実行が"
                    "使用中を含む。何も変更していません)。")
    add_month_job_arguments(parser, "notices", "お知らせとその記録を書き出すフォルダ",
                            '{"notices": [...], "open_incidents": [...]} を JSON で出力します')
    parser.add_argument("--since", type=date_argument, metavar="DATE",
                        help="DATE 以降の日付のお知らせだけ (毎日の実行なら昨日。例: 2026-10-14)")
    parser.add_argument("--date", type=date_argument, metavar="DATE",
                        help="DATE の時点で作ります (既定: 月の末日)。それより後の対応は含めず、"
                             "後で完了した対応は対応中と数えます")
    parser.add_argument("--again", action="store_true",
                        help="以前の実行で書き出したお知らせも、もう一度書き出します")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        result = run_notices_workbook(args.workbook, args.month, args.out, as_of=args.date,
                                      since=args.since, again=args.again, engine=args.reader)
    except InputError as exc:
        return report_problems(exc, args.workbook, args.json)
    if args.json:
        # written as it is encoded: 150,000 notices make ~90 MB of JSON
        json.dump(result.to_dict(), sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        print_result(result, ReportConsole())
    return 0


def print_result(result: NoticesRunResult, console: Console) -> None:
    report = result.report
    console.print(f"[bold]{report.month} のお知らせ[/bold] ({report.as_of} 時点)  "
                  f"{len(report.notices)} 件 → {result.workbook}")
    if result.counts:
        console.print("  " + ", ".join(f"{NOTICE_LABELS_JA[kind]} {result.counts[kind]} 件"
                                       for kind in NOTICE_KINDS if kind in result.counts))
    if result.already_written:
        console.print(f"  送付済みのため省略 {result.already_written} 件 (--again で再出力)")
    overdue = sum(1 for item in report.open_incidents if item.overdue)
    console.print(f"  対応待ち {len(report.open_incidents)} 件"
                  + (f" ([yellow]期限超過 {overdue} 件[/yellow])" if overdue else ""))
    for item in report.open_incidents[:10]:
        due = item.response_due.isoformat() if item.response_due else "—"
        console.print(f"    {item.incident_id} {item.contract_id} {PLAN_LABELS_JA[item.plan]} "
                      f"{CHANNEL_LABELS_JA[item.channel]} "
                      f"受付 {item.opened} 期限 {due}" + (" 期限超過" if item.overdue else ""))
