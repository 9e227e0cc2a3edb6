"""``xlquote register list|show|void``: look into the invoice register, cancel an invoice.

Options go before or after the action: ``xlquote register --out DIR list`` and
``xlquote register list --out DIR`` are the same.
"""

from __future__ import annotations

import argparse
import json
import sys
import unicodedata
from pathlib import Path

from ..app.invoice_run import STATUS_LABELS_JA, choose_register
from ..app.register import Issued, Register, RegisterError
from ..app.settle import settle_stopped
from ..app.void import void_invoice
from ..engine.columns import trimmed
from ..engine.money import yen
from .invoice import (
    add_pdf_options,
    add_register_option,
    date_argument,
    month_argument,
    progress_bar,
)


def _common(parser: argparse.ArgumentParser, suppress: bool) -> None:
    """The options every action takes; on the actions they default to "not given", so that a
    value given before the action is kept."""
    default = argparse.SUPPRESS if suppress else None
    parser.add_argument("--out", type=Path, default=argparse.SUPPRESS if suppress else Path("out"),
                        help="使う台帳のある請求書の出力フォルダ (既定: out)")
    add_register_option(parser, from_workbook=False, default=default)
    parser.add_argument("--file", type=Path, default=default, help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true",
                        default=argparse.SUPPRESS if suppress else False, help="JSON で出力します")


def register(subcommands: argparse._SubParsersAction) -> None:
    parser = subcommands.add_parser(
        "register", help="発行した請求書の一覧・詳細を表示し、取り消します",
        description="発行した請求書の請求番号台帳: --register FILE|URL、なければ環境変数 "
                    "XLQUOTE_REGISTER、なければ出力フォルダが覚えているサーバーの台帳、なければ "
                    "OUT/register.sqlite3。オプションは ACTION の前にも後にも書けます。")
    _common(parser, suppress=False)
    actions = parser.add_subparsers(
        dest="action", required=True, metavar="ACTION",
        help="台帳への操作 (それぞれの説明: xlquote register ACTION --help)")
    listing = actions.add_parser("list", help="番号の付いた書類すべてを、月ごとに状態と一緒に表示します")
    listing.add_argument("--month", type=month_argument, help="この月だけ (YYYY-MM、例: 2026-10)")
    show = actions.add_parser("show", help="請求書 1 通の状態、修正、取消を表示します")
    show.add_argument("number", type=typed_number, help="請求番号 (例: INV-202610-0001)")
    void = actions.add_parser(
        "void", help="発行した請求書を取り消します (取消)。その番号は二度と使いません",
        description="発行した請求書の取消を台帳に記録し、取消の書類 (取消_<請求書のファイル名>) "
                    "を請求書と同じフォルダに書き出します。請求書のファイルは残ります。")
    void.add_argument("number", type=typed_number, help="請求番号 (例: INV-202610-0001)")
    void.add_argument("--reason", required=True, help="取り消す理由 (取消の書類に印字されます)")
    void.add_argument("--issue-date", type=date_argument, metavar="YYYY-MM-DD",
                      help="取消の日付 (既定: 今日 (日本時間))")
    add_pdf_options(void)
    settle = actions.add_parser(
        "settle", help="別の出力フォルダで止まった発行・取消 (発行処理中・取消処理中) を片付けます",
        description="止まった実行が残した書類を、そのフォルダの次の実行と同じように片付けます: "
                    "ファイルを置き始めていたものは発行済み (取消済み) に、置く前のものは取り下げ "
                    "(最後の番号なら番号を返します)。そのフォルダがなくなったときに使います。")
    settle.add_argument("number", type=typed_number, help="請求番号 (例: INV-202610-0001)")
    for action in (listing, show, void, settle):
        _common(action, suppress=True)
    parser.set_defaults(run=run)


def typed_number(text: str) -> str:
    """An invoice number as typed: full-width letters and digits (ＩＮＶ－２０２６１０…) and
    spaces around it, as copied from a document, read as the number."""
    return trimmed(unicodedata.normalize("NFKC", text))


def status_text(issued: Issued) -> str:
    text = STATUS_LABELS_JA.get(issued.status, issued.status)
    if issued.corrected_by:
        text += f" (→ {issued.corrected_by})"
    if issued.cancellation is not None:
        text += f" ({issued.cancellation.cancelled_on}: {issued.cancellation.reason})"
    return text


def _line(issued: Issued) -> str:
    kind = "修正" if issued.kind == "correction" else "請求"
    corrects = f"  ({issued.corrects} を訂正)" if issued.corrects else ""
    return (f"{issued.number}  {issued.month}  {kind}  {issued.contract_id}  {issued.customer}  "
            f"{yen(issued.total)}  請求日 {issued.issue_date}  {status_text(issued)}{corrects}")


def open_register(args: argparse.Namespace) -> Register:
    """--register, else XLQUOTE_REGISTER, the server register the folder remembers, or
    OUT/register.sqlite3."""
    return choose_register(args.out, args.register or args.file)


def run(args: argparse.Namespace) -> int:
    book = open_register(args)
    if args.action == "void":
        with progress_bar(not args.json and sys.stderr.isatty()) as progress:
            result = void_invoice(args.number, args.reason, args.out, book, args.issue_date,
                                  args.pdf, progress)
        if args.json:
            print(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
        else:
            print(f"{result.number} を取り消しました ({result.cancelled_on}, 理由: {result.reason})")
            for path in result.files:
                print(f"  {path}")
            if result.pdf_error:
                print(f"  PDF を作れませんでした: {result.pdf_error} (次の実行で作り直します)")
        return result.exit_code
    if book.path is not None and book.path.is_dir():
        raise RegisterError(f"請求番号台帳 {book.display} はフォルダです。台帳のファイル "
                            "(register.sqlite3) か --out のフォルダを指定してください")
    if not book.exists():
        raise RegisterError(f"請求番号台帳 {book.display} がありません。先に `xlquote invoice` を"
                            "実行するか --out / --register を指定してください")
    if args.action == "settle":
        settled = settle_stopped(args.number, book)
        print(json.dumps(settled.to_dict(), ensure_ascii=False, indent=2) if args.json
              else settled.message())
        return 0
    if args.action == "list":
        rows = book.list(args.month)
        if args.json:
            print(json.dumps([r.to_dict() for r in rows], ensure_ascii=False, indent=2))
        else:
            for row in rows:
                print(_line(row))
            print(f"{len(rows)} 件 ({book.display})")
        return 0
    issued, corrections = book.show(args.number)
    if args.json:
        print(json.dumps({"invoice": issued.to_dict(),
                          "corrections": [c.to_dict() for c in corrections]},
                         ensure_ascii=False, indent=2))
        return 0
    print(_line(issued))
    print(f"  状態: {status_text(issued)}")
    print(f"  小計 {yen(issued.subtotal)}  消費税 {yen(issued.tax)}  合計 {yen(issued.total)}  "
          f"支払期日 {issued.due_date or '—'}")
    print(f"  発行 {issued.issued_at}  ファイル {issued.file_stem}.*  "
          f"内容 {issued.content_hash[:16]}…")
    if issued.folder:
        print(f"  出力フォルダ {issued.folder}")
    for correction in corrections:
        print("  修正: " + _line(correction))
    return 0
