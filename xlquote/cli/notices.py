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

from rich.console import Console

from ..app.notices_run import NoticesRunResult, run_notices_workbook
from ..engine.errors import InputError
from ..engine.notices import NOTICE_KINDS, NOTICE_LABELS_JA
from .invoice import add_month_job_arguments, date_argument, report_problems


def register(subcommands: argparse._SubParsersAction) -> None:
    parser = subcommands.add_parser(
        "notices", help="write the notices due to customers (units used, limits, expiring units)",
        description="Write the month's notices due as of a date — units used after each "
                    "paid-support response, fee limits reached, units about to expire — as "
                    "DIR/お知らせ一覧_<date>.xlsx and .json, each notice once (DIR/notices_record."
                    "json). Also lists the open incidents, monthly contracts first, by response "
                    "due date. Exit 0 written, 2 bad input.")
    add_month_job_arguments(parser, "notices", "folder for the notices and their record",
                            'print {"notices": [...], "open_incidents": [...]} as JSON')
    parser.add_argument("--since", type=date_argument, metavar="DATE",
                        help="only notices dated on or after DATE (a daily run: yesterday)")
    parser.add_argument("--date", type=date_argument, metavar="DATE",
                        help="as of DATE (default: the month's last day): later incidents are "
                             "left out, later closings count as open")
    parser.add_argument("--again", action="store_true",
                        help="also write notices an earlier run already wrote")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        result = run_notices_workbook(args.workbook, args.month, args.out, as_of=args.date,
                                      since=args.since, again=args.again, engine=args.reader)
    except InputError as exc:
        return report_problems(exc, args.workbook, args.json)
    if args.json:
        print(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    else:
        print_result(result, Console(highlight=False, soft_wrap=True))
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
        console.print(f"    {item.incident_id} {item.contract_id} {item.plan} {item.channel} "
                      f"受付 {item.opened} 期限 {due}" + (" 期限超過" if item.overdue else ""))
