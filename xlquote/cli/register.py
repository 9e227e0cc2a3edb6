"""``xlquote register list|show|void``: look into the invoice register, cancel an invoice.

Options go before or after the action: ``xlquote register --out DIR list`` and
``xlquote register list --out DIR`` are the same.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..app.invoice_run import STATUS_LABELS_JA, choose_register
from ..app.register import Issued, Register, RegisterError
from ..app.void import void_invoice
from ..engine.money import yen
from .invoice import add_pdf_options, add_register_option, date_argument, progress_bar


def _common(parser: argparse.ArgumentParser, suppress: bool) -> None:
    """The options every action takes; on the actions they default to "not given", so that a
    value given before the action is kept."""
    default = argparse.SUPPRESS if suppress else None
    parser.add_argument("--out", type=Path, default=argparse.SUPPRESS if suppress else Path("out"),
                        help="the invoice output folder whose register to use (default: out)")
    add_register_option(parser, from_workbook=False, default=default)
    parser.add_argument("--file", type=Path, default=default, help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true",
                        default=argparse.SUPPRESS if suppress else False, help="print JSON")


def register(subcommands: argparse._SubParsersAction) -> None:
    parser = subcommands.add_parser(
        "register", help="list or show issued invoices, or cancel one",
        description="The register of issued invoices: --register FILE|URL, else the "
                    "environment's XLQUOTE_REGISTER, else the server register the output folder "
                    "remembers, else OUT/register.sqlite3.")
    _common(parser, suppress=False)
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="every numbered document, by month, with its state")
    listing.add_argument("--month", help="only this month (YYYY-MM)")
    show = actions.add_parser("show", help="one invoice: its state, corrections, cancellation")
    show.add_argument("number", help="invoice number, e.g. INV-202610-0001")
    void = actions.add_parser(
        "void", help="cancel an issued invoice (取消); its number is never used again",
        description="Record the cancellation of an issued invoice and write the cancelling "
                    "document (取消_<invoice file>) beside it. The invoice's files stay.")
    void.add_argument("number", help="invoice number, e.g. INV-202610-0001")
    void.add_argument("--reason", required=True, help="why it is cancelled (printed on the "
                                                      "cancelling document)")
    void.add_argument("--issue-date", type=date_argument, metavar="YYYY-MM-DD",
                      help="date of the cancellation (default: today in Japan)")
    add_pdf_options(void)
    for action in (listing, show, void):
        _common(action, suppress=True)
    parser.set_defaults(run=run)


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
    if not book.exists():
        raise RegisterError(f"請求番号台帳 {book.display} がありません。先に `xlquote invoice` を"
                            "実行するか --out / --register を指定してください")
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
