"""``xlquote workbooks [--out DIR] [--check]``: rebuild the workbooks users open from the package."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..app.workbooks import REPO_WORKBOOKS, builders, rebuild

STATES_JA = {"created": "作成", "unchanged": "変更なし (書き換えていません)",
             "rewritten": "書き換えました", "differs": "コードと違います", "missing": "ありません"}


def register(subcommands: argparse._SubParsersAction) -> None:
    names = ", ".join(builders())
    parser = subcommands.add_parser(
        "workbooks", help="rebuild the quote, invoicing and compare workbooks from the package",
        description=f"Build the workbooks users open ({names}) from the code (price books, "
                    "sample data, builders in xlquote/app/workbooks/) into DIR, and say for each "
                    "whether it was created, left unchanged (same content), or rewritten — with "
                    "what differed, so that edits made in Excel are not lost without a word. "
                    "--check only compares (exit 1 when a workbook differs or is missing).")
    parser.add_argument("--out", type=Path, default=REPO_WORKBOOKS,
                        help="folder to write into (default: the repository's workbooks/)")
    parser.add_argument("--check", action="store_true",
                        help="compare only; write nothing")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    stale = 0
    for filename in builders():
        result = rebuild(filename, args.out, write=not args.check)
        print(f"{result.path}: {STATES_JA[result.state]}")
        for change in result.changes[:5]:
            print(f"    {change}")
        if len(result.changes) > 5:
            print(f"    … ほか {len(result.changes) - 5} 件")
        stale += result.state in ("differs", "missing")
    return 1 if stale else 0
