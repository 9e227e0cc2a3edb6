"""Cancelling an issued invoice (取消): ``xlquote register void NUMBER --reason TEXT``.

The invoice stays in the register and its files stay in the folder; the register records the
cancellation (date, reason) and the cancelling document is written beside the original
(``取消_<the invoice's file name>``), published in the same steps as invoices
(``publishing.py``). The number is never handed out again. Only the version in force can be
cancelled: an invoice that was corrected is cancelled through its correction.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..engine.codes import shows_nothing
from ..engine.columns import trimmed
from ..engine.dates import Month
from ..engine.errors import InputError, Problem
from ..engine.messages import control_character, cut_short, too_long_to_print
from .documents import (
    cancellation_stem,
    decode_settings,
    encode_settings,
    jst_today,
    settings_hash,
)
from .invoice_run import (
    InvoiceRunResult,
    choose_register,
    too_far_ahead,
    write_month_summary,
)
from .publishing import OutputFolder, Progress, Publisher, checkpoint, ensure_ours
from .register import Register, RegisterError

# The longest reason for a cancellation: the cancelling document prints it whole, and the
# register keeps it as printed (a cell holds 32,767 characters; a document's line far fewer).
REASON_CHARS = 500
# a reason is one line (the register's listing, the cancelling document): no control character,
# tab or line break
ONE_LINE_BREAKERS = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]")


@dataclass
class VoidResult:
    number: str
    cancelled_on: dt.date
    reason: str
    files: list[Path]
    pdf_error: str | None
    month: InvoiceRunResult

    @property
    def exit_code(self) -> int:
        return 1 if self.pdf_error else 0

    def to_dict(self) -> dict[str, Any]:
        return {"status": "attention" if self.exit_code else "ok", "exit_code": self.exit_code,
                "number": self.number, "state": "void",
                "cancelled_on": self.cancelled_on.isoformat(), "reason": self.reason,
                "files": [str(p) for p in self.files], "pdf_error": self.pdf_error,
                "summary": str(self.month.summary)}


def void_invoice(number: str, reason: str, out_dir: str | Path, register: Register | None = None,
                 cancelled_on: dt.date | None = None, pdf: bool = True,
                 progress: Progress | None = None) -> VoidResult:
    reason = trimmed(reason)
    if shows_nothing(reason):  # zero-width spaces alone print no reason on the document
        raise InputError([Problem(None, "reason", reason, "取消の理由を --reason で書いてください")])
    control = ONE_LINE_BREAKERS.search(reason)
    if control:  # kept in the register and printed on one line of the cancelling document
        raise InputError([Problem(None, "reason", cut_short(reason),
                                  control_character(control.group()))])
    if len(reason) > REASON_CHARS:
        raise InputError([Problem(None, "reason", cut_short(reason),
                                  too_long_to_print(REASON_CHARS))])
    register = register or choose_register(out_dir)
    if not register.exists():
        raise RegisterError(f"請求番号台帳 {register.display} がありません (--out か --register を"
                            "確認してください)")
    with OutputFolder(out_dir, register) as folder:
        publisher = Publisher(folder, register, pdf, progress)
        publisher.recover()
        with register.transaction() as ledger:
            found = ledger.document(number)
            if found is None:
                raise RegisterError(f"請求番号 {number!r} は台帳 {register.display} にありません")
            month = Month.parse(found.month)
            ledger.lock_month(month)
            doc = ledger.document(number)
            assert doc is not None
            if doc.cancellation is not None:
                raise RegisterError(f"{number} は {doc.cancellation.cancelled_on} に取消済みです")
            if doc.corrected_by is not None:
                raise RegisterError(f"{number} は {doc.corrected_by} で修正されています。取り消す"
                                    f"のは効力のある {doc.corrected_by} です")
            if doc.state != "issued":
                raise RegisterError(f"{number} は発行処理中です (別のフォルダの実行)。終わってから"
                                    "取り消してください")
            day = cancelled_on or max(jst_today(), doc.issue_date)
            # ahead of the later of today and the invoice's date (which may lie ahead itself)
            problem = too_far_ahead(day, max(jst_today(), doc.issue_date), "取消日")
            if problem:
                raise InputError([problem])
            if day < doc.issue_date:
                raise InputError([Problem(None, "issue_date", day.isoformat(),
                                          f"取消日は {number} の請求日 {doc.issue_date} 以降に"
                                          "してください")])
            settings_json = ledger.latest_settings() or encode_settings(
                decode_settings(ledger.settings(doc.settings_hash or "")))
            key = ledger.settings_hash(settings_json, settings_hash(settings_json))
            ledger.cancel(number, day, reason, key, folder.folder_id)
        checkpoint("recorded")
        with register.transaction() as ledger:
            ledger.lock_month(month)  # a settle meanwhile leaves nothing to draw: refused
            ensure_ours(ledger, folder.folder_id, (), [number])
            doc = ledger.document(number)
            assert doc is not None
            jobs = publisher.jobs_for(ledger, doc)
        try:
            published = publisher.draw(month, jobs, [number])
            publisher.mark(month, jobs, published)
        except BaseException:
            _uncancel(register, month, number, folder.folder_id)
            raise
        summary = write_month_summary(register, folder, month, pdf)
        checkpoint("summary")
    stem = cancellation_stem(doc.file_stem)
    month_dir = folder.root / str(month)
    files = [month_dir / f"{stem}.{role}" for role in publisher.roles
             if (month_dir / f"{stem}.{role}").exists()]
    errors = [e for r in published.rendered.values() for e in r.errors.values()]
    return VoidResult(number, day, reason, files, errors[0] if errors else None, summary)


def _uncancel(register: Register, month: Month, number: str, folder_id: str) -> None:
    try:
        with register.transaction() as ledger:
            ledger.lock_month(month)
            ledger.uncancel(number, folder_id)
    except Exception:
        pass

