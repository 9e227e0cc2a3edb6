"""``xlquote compare``: which plan is cheapest for a usage profile or a replayed incident log."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..engine.compare import compare_log, compare_profile, load_profile
from ..engine.compare.profile import EXAMPLE_PROFILE
from ..readers.workbook import read_log
from ..writers.comparison import to_json, to_text, write_comparison
from .invoice import month_argument


def register(subcommands: argparse._SubParsersAction) -> None:
    parser = subcommands.add_parser(
        "compare", help="cost of every plan for a usage profile or a past incident log",
        description="Cost of every plan over a horizon, cheapest first. A profile (TOML) gives "
                    f"expected incidents per month by level; see {EXAMPLE_PROFILE.name} in "
                    "xlquote/engine/compare/. A log replays the incidents of an invoicing workbook.")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--profile", type=Path, metavar="FILE", help="usage profile (TOML)")
    source.add_argument("--log", type=Path, metavar="WORKBOOK",
                        help="invoicing workbook whose Incidents/Contracts are replayed")
    parser.add_argument("--months", type=int, metavar="N",
                        help="horizon in months (default: the profile's, or 12 for a log)")
    parser.add_argument("--customer", help="--log: the customer to replay (name)")
    parser.add_argument("--contract", help="--log: the contract to replay (contract_id)")
    parser.add_argument("--until", metavar="YYYY-MM", type=month_argument,
                        help="--log: last month of the window (default: last closed incident)")
    parser.add_argument("--licences", type=int, help="--log: licences for price book A plans")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--out", type=Path, metavar="FILE", help="also write .xlsx or .json")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.profile is not None:
        for flag in ("customer", "contract", "until", "licences"):
            if getattr(args, flag) is not None:
                print(f"xlquote: --{flag} は --log と一緒にだけ使えます", file=sys.stderr)
                return 2
        comparison = compare_profile(load_profile(args.profile), args.months)
    else:
        contracts, incidents = read_log(args.log)
        comparison = compare_log(contracts, incidents, args.months or 12,
                                 contract_id=args.contract, customer=args.customer,
                                 until=args.until, licences=args.licences)
    if args.out is not None:
        write_comparison(comparison, args.out)
    print(to_json(comparison) if args.json else to_text(comparison), end="\n" * (not args.json))
    return 0
