"""``xlquote register list|show``: look into the invoice register."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..app.invoice_run import REGISTER_FILENAME
from ..app.register import Issued, Register, RegisterError
from ..engine.money import yen


def register(subcommands: argparse._SubParsersAction) -> None:
    parser = subcommands.add_parser("register", help="list or show issued invoices")
    parser.add_argument("--file", type=Path, default=None,
                        help=f"register file (default: OUT/{REGISTER_FILENAME})")
    parser.add_argument("--out", type=Path, default=Path("out"),
                        help="the invoice output folder whose register to read (default: out)")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="every issued invoice, by month")
    listing.add_argument("--month", help="only this month (YYYY-MM)")
    show = actions.add_parser("show", help="one invoice and its corrections")
    show.add_argument("number", help="invoice number, e.g. INV-202610-0001")
    for action in (listing, show):
        action.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(run=run)


def _line(issued: Issued) -> str:
    kind = "修正" if issued.kind == "correction" else "請求"
    corrects = f"  (corrects {issued.corrects})" if issued.corrects else ""
    return (f"{issued.number}  {issued.month}  {kind}  {issued.contract_id}  {issued.customer}  "
            f"{yen(issued.total)}  issued {issued.issued_at}{corrects}")


def run(args: argparse.Namespace) -> int:
    path = args.file or args.out / REGISTER_FILENAME
    if not path.exists():
        raise RegisterError(f"no register at {path}; run `xlquote invoice` first or pass --file")
    book = Register(path)
    if args.action == "list":
        rows = book.list(args.month)
        if args.json:
            print(json.dumps([vars(r) for r in rows], ensure_ascii=False, indent=2))
        else:
            for row in rows:
                print(_line(row))
            print(f"{len(rows)} invoice(s) in {path}")
        return 0
    issued, corrections = book.show(args.number)
    if args.json:
        print(json.dumps({"invoice": vars(issued), "corrections": [vars(c) for c in corrections]},
                         ensure_ascii=False, indent=2))
    else:
        print(_line(issued))
        print(f"  subtotal {yen(issued.subtotal)}  tax {yen(issued.tax)}  "
              f"content {issued.content_hash[:16]}…")
        for correction in corrections:
            print("  corrected by " + _line(correction))
    return 0
