"""``xlquote workbooks``: rebuild every workbook in ``workbooks/`` from the package."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..app.workbooks import REPO_WORKBOOKS, build_all


def register(subcommands: argparse._SubParsersAction) -> None:
    parser = subcommands.add_parser("workbooks", help="rebuild the quote/invoicing/compare "
                                    "workbooks from the package")
    parser.add_argument("--out", type=Path, default=REPO_WORKBOOKS,
                        help="folder to write into (default: the repository's workbooks/)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    for path in build_all(args.out):
        print(path)
    return 0
