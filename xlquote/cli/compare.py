"""``xlquote compare``: which plan is cheapest for a usage profile or a replayed incident log."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..engine.compare import compare_log, compare_profile, load_profile
from ..engine.compare.profile import EXAMPLE_PROFILE
from ..engine.errors import InputError, Problem
from ..readers.workbook import read_log
from ..writers.comparison import to_json, to_text, write_comparison
from .invoice import month_argument


def register(subcommands: argparse._SubParsersAction) -> None:
    parser = subcommands.add_parser(
        "compare", help="使用量の見込みか過去の対応記録で、各プランの費用を比べます",
        description="期間中の各プランの費用を、安い順に表示します。使用量プロファイル (TOML) "
                    "には、レベルごとの月あたりの見込み件数を書きます (例: xlquote/engine/"
                    f"compare/{EXAMPLE_PROFILE.name})。--log は請求書作成ブックの対応を再現します。")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--profile", type=Path, metavar="FILE", help="使用量プロファイル (TOML)")
    source.add_argument("--log", type=Path, metavar="WORKBOOK",
                        help="請求書作成ブック。その Incidents / Contracts シートを再現します")
    parser.add_argument("--months", type=int, metavar="N",
                        help="比べる期間 (月数。既定: プロファイルの値、--log では 12)")
    parser.add_argument("--customer", help="--log のとき: 再現する顧客 (顧客名)")
    parser.add_argument("--contract", help="--log のとき: 再現する契約 (contract_id)")
    parser.add_argument("--until", metavar="YYYY-MM", type=month_argument,
                        help="--log のとき: 期間の最後の月 (既定: 最後に完了した対応の月)")
    parser.add_argument("--licences", type=int, help="--log のとき: 価格表 A のプランのライセンス数")
    parser.add_argument("--json", action="store_true", help="表の代わりに JSON を出力します")
    parser.add_argument("--out", type=Path, metavar="FILE",
                        help="結果を .xlsx か .json にも書き出します (例: 比較.xlsx)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.profile is not None:
        for flag in ("customer", "contract", "until", "licences"):
            if getattr(args, flag) is not None:
                raise InputError([Problem(None, f"--{flag}", getattr(args, flag),
                                          "--log と一緒にだけ使えます")])
        comparison = compare_profile(load_profile(args.profile), args.months)
    else:
        contracts, incidents = read_log(args.log)
        comparison = compare_log(contracts, incidents, 12 if args.months is None else args.months,
                                 contract_id=args.contract, customer=args.customer,
                                 until=args.until, licences=args.licences)
    if args.out is not None:
        write_comparison(comparison, args.out)
    print(to_json(comparison) if args.json else to_text(comparison), end="\n" * (not args.json))
    return 0
