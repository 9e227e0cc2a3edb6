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
        "workbooks", help="見積・請求書作成・比較のブックをパッケージから作り直します",
        description=f"利用者が開くブック ({names}) を、コード (価格表、サンプルデータ、"
                    "xlquote/app/workbooks/ の作成処理) から --out のフォルダに作り、ブックごと"
                    "に「作成」「変更なし (同じ内容)」「書き換え」のどれかを、違っていた箇所と"
                    "一緒に表示します。Excel で編集した内容が黙って失われることはありません。"
                    "--check は比べるだけです (違うブックかないブックがあれば終了コード 1)。")
    parser.add_argument("--out", type=Path, default=REPO_WORKBOOKS,
                        help="書き出すフォルダ (既定: リポジトリの workbooks/)")
    parser.add_argument("--check", action="store_true",
                        help="比べるだけで、何も書き込みません (フォルダも作りません)")
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
