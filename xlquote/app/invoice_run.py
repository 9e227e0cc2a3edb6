"""The month's invoice run — the one job behind both the workbook button and ``xlquote invoice``.

1. Read and validate everything (every sheet, then the engine's checks of incidents against
   contracts). Any problem raises one InputError and nothing is written.
2. Bill the month with the engine.
3. Write every invoice workbook and the summary (and PDFs when asked) into a temporary folder
   next to the target ``OUT/YYYY-MM``; only when every invoice was written is that folder
   swapped in by rename. A rerun for the same month replaces the month's folder as a whole, so
   old and new files are never mixed. A failed PDF step is reported, the workbooks stay.

Exit rule (``InvoiceRunResult.exit_code``): 0 when everything was written and no invoice carries
a flag that needs someone to act (``ATTENTION_FLAGS``); 1 when the run finished but such a flag
is present or an optional step (PDF) failed. Bad input is exit 2 (InputError, raised).
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..engine.billing import BillingRun, InvoiceSummary, bill_month, build_invoice
from ..engine.billing.context import ContractMonth
from ..engine.dates import Month
from ..engine.errors import InputError, OutputError, Problem
from ..engine.invoice import FLAG_LABELS_JA, Correction, Flag, Invoice
from ..engine.records import Contract
from ..engine.service import response_report
from ..readers.workbook import Engine, InvoicingData, read_invoicing_workbook
from ..writers.invoice_workbook import write_invoice_workbook
from ..writers.pdf import convert_to_pdf
from ..writers.summary import SummaryItem, write_summary_workbook
from .parallel import map_indices
from .register import (
    DEFAULT_NUMBER_FORMAT,
    Assignment,
    IssueRequest,
    Register,
    RegisterSession,
    content_hash,
)

# Flags someone has to act on before or after sending: a customer's decision is pending, a
# public reply must move to another channel, a personal use was refused, units were billed
# beyond the packs, an on-site visit needs a quote, a contract breaks its terms (with
# term_policy = "flag"). Other flags (urgent, a limit applied by decision, an automatic pack
# top-up, a monthly maximum exceeded and billed by the price book's policy) are informational.
ATTENTION_FLAGS = frozenset({"limit_pending", "reply_beyond_limit", "rejected", "units_short",
                             "onsite_quote", "term_minimum", "term_unit"})

Progress = Callable[[str, int, int], None]  # (step, done, total)
REGISTER_FILENAME = "register.sqlite3"
TOTALS_CHUNK = 256  # contracts per task sent to a worker
TOTALS_MIN_PARALLEL = 2_000  # a contract's totals take ~0.2 ms: fewer are quicker in-process
# The month's totals, contract by contract, on all cores (forked workers see the month's
# arrays without copying them; only the small totals come back).
contract_totals_mapper = functools.partial(map_indices, chunk=TOTALS_CHUNK,
                                           min_parallel=TOTALS_MIN_PARALLEL)


@dataclass
class InvoiceFile:
    """One written invoice: its run summary, register number and files. ``invoice`` rebuilds the
    full Invoice on demand (the batch itself never holds every invoice in memory)."""

    context: ContractMonth
    summary: InvoiceSummary
    number: str
    xlsx: Path
    correction: Correction | None = None
    flags: list[Flag] = field(default_factory=list)
    pdf: Path | None = None

    @property
    def contract(self) -> Contract:
        return self.summary.contract

    @functools.cached_property
    def invoice(self) -> Invoice:
        return numbered_invoice(self.context, self.number, self.correction)


@dataclass
class InvoiceRunResult:
    month: Month
    folder: Path
    files: list[InvoiceFile]
    summary: Path
    pdf_requested: bool = False
    pdf_error: str | None = None
    attention_codes: frozenset[str] = field(default=ATTENTION_FLAGS)
    register: Path | None = None
    register_statuses: dict[str, int] = field(default_factory=dict)  # new/unchanged/correction

    @property
    def invoices(self) -> list[Invoice]:
        return [f.invoice for f in self.files]

    @property
    def subtotal(self) -> int:
        return sum(f.summary.subtotal for f in self.files)

    @property
    def tax(self) -> int:
        return sum(f.summary.tax for f in self.files)

    @property
    def total(self) -> int:
        return sum(f.summary.total for f in self.files)

    def attention(self) -> list[tuple[InvoiceFile, Flag]]:
        return [(f, flag) for f in self.files for flag in f.flags
                if flag.code in self.attention_codes]

    def flag_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for f in self.files:
            for flag in f.flags:
                counts[flag.code] = counts.get(flag.code, 0) + 1
        return dict(sorted(counts.items()))

    @property
    def exit_code(self) -> int:
        return 1 if self.attention() or self.pdf_error else 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": "attention" if self.exit_code else "ok",
            "exit_code": self.exit_code,
            "month": str(self.month),
            "folder": str(self.folder),
            "summary": str(self.summary),
            "invoice_count": len(self.files),
            "subtotal": self.subtotal,
            "tax": self.tax,
            "total": self.total,
            "flags": self.flag_counts(),
            "attention": [{"number": f.number, "contract_id": f.contract.contract_id,
                           "incident_id": flag.incident_id, "code": flag.code,
                           "label": FLAG_LABELS_JA.get(flag.code, flag.code),
                           "message": flag.message}
                          for f, flag in self.attention()],
            "register": {"path": str(self.register) if self.register else None,
                         **self.register_statuses},
            "pdf": {"requested": self.pdf_requested, "error": self.pdf_error,
                    "count": sum(1 for f in self.files if f.pdf)},
            "invoices": [{"number": f.number, "contract_id": f.contract.contract_id,
                          "customer": f.contract.customer, "plan": f.contract.plan,
                          "subtotal": f.summary.subtotal, "tax": f.summary.tax,
                          "total": f.summary.total, "flags": list(f.summary.flags),
                          "correction_of": f.correction.original_number if f.correction else None,
                          "xlsx": str(f.xlsx), "pdf": str(f.pdf) if f.pdf else None}
                         for f in self.files],
        }


def parse_month(value: object) -> Month:
    try:
        return Month.parse(value)
    except ValueError as exc:
        raise InputError([Problem(None, "month", value, str(exc))]) from None


def safe_filename(text: str, limit: int = 40) -> str:
    """A file-name part from user text: letters (any script), digits, '-', '&', '()'; the rest
    becomes '_' (no path separators, dots or characters Windows refuses)."""
    cleaned = re.sub(r"[^\w\-&()（）]+", "_", text, flags=re.UNICODE).strip("_")
    return cleaned[:limit] or "_"


def summary_filename(month: Month) -> str:
    return f"請求一覧_{month}.xlsx"


@contextlib.contextmanager
def staged_folder(target: Path) -> Iterator[Path]:
    """A fresh temporary folder next to ``target``; on success it replaces ``target`` whole,
    on failure it is removed and ``target`` is untouched."""
    target.parent.mkdir(parents=True, exist_ok=True)
    recover_folder(target)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-new-", dir=target.parent))
    try:
        yield staging
        replace_folder(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def recover_folder(target: Path) -> None:
    """Clean up after a run that was killed: an unfinished staging folder is dropped, and a
    month moved aside by an interrupted swap is put back. Runs hold the register's lock, so no
    other run is using these folders."""
    for stale in target.parent.glob(f".{target.name}-new-*"):
        shutil.rmtree(stale, ignore_errors=True)
    for old in sorted(target.parent.glob(f".{target.name}-old-*")):
        if target.exists():
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(old, target)


def replace_folder(new: Path, target: Path) -> None:
    """Swap ``new`` into ``target`` by renames (the old folder is moved aside first and
    restored if the swap fails), then delete the old folder."""
    old = None
    try:
        if target.exists():
            old = target.with_name(f".{target.name}-old-{uuid.uuid4().hex[:8]}")
            os.replace(target, old)
        os.replace(new, target)
    except OSError as exc:
        if old is not None and old.exists() and not target.exists():
            os.replace(old, target)
        raise OutputError(f"cannot replace {target} ({exc.strerror or exc}); close any invoice "
                          f"of that month that is open and run again — the previous files were "
                          f"kept") from None
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def default_register(out_dir: str | Path, number_format: str | None = None) -> Register:
    """The register kept beside the invoices it numbered: ``OUT/register.sqlite3``."""
    return Register(Path(out_dir) / REGISTER_FILENAME, number_format or DEFAULT_NUMBER_FORMAT)


def numbered_invoice(ctx: ContractMonth, number: str,
                     correction: Correction | None = None) -> Invoice:
    """The contract's invoice under its register number (and what it corrects, if anything)."""
    invoice = build_invoice(ctx)
    invoice.number = number
    invoice.correction = correction
    return invoice


def invoice_filename(number: str, contract: Contract) -> str:
    """``INV-202610-0001_C001_株式会社アオバ商事.xlsx``: number, contract, customer."""
    parts = (number, contract.contract_id, contract.customer)
    return "_".join(safe_filename(part) for part in parts) + ".xlsx"


def _assign_numbers(run: BillingRun, session: RegisterSession | None, correct: bool,
                    report: Progress) -> tuple[list[Assignment], dict[str, int]]:
    """Register numbers for every invoice of the run (default numbers without a register).
    Content hashes are computed in parallel; the register decides in one transaction."""
    if session is None:
        return [Assignment(s.number, "new") for s in run.summaries], {}
    total = len(run.contexts)
    report("checking", 0, total)
    hashes = map_indices(lambda i: content_hash(build_invoice(run.contexts[i])), total,
                         lambda done: report("checking", done, total))
    requests = [IssueRequest(run.month, s.contract.contract_id, s.contract.customer,
                             s.subtotal, s.tax, s.total, digest)
                for s, digest in zip(run.summaries, hashes, strict=True)]
    assignments = session.plan(requests, correct)
    statuses: dict[str, int] = {}
    for assignment in assignments:
        statuses[assignment.status] = statuses.get(assignment.status, 0) + 1
    return assignments, statuses


def run_invoices(data: InvoicingData, month: Month | str, out_dir: str | Path,
                 pdf: bool = False, progress: Progress | None = None,
                 register: Register | None = None, correct: bool = False) -> InvoiceRunResult:
    """Bill ``month`` from validated records and write its folder ``out_dir/YYYY-MM``.

    With a ``register``, numbers are handed out (or found again) in one exclusive register
    session that commits only after the month's folder is in place: a run that fails or is
    killed leaves both the register and the folder as they were, and a rerun repeats it."""
    month = parse_month(month)
    report = progress or (lambda step, done, total: None)
    run = bill_month(data.contracts, data.incidents, month, data.packs, data.pricebooks(),
                     map_tasks=contract_totals_mapper)
    with contextlib.ExitStack() as stack:
        session = stack.enter_context(register.session()) if register is not None else None
        assignments, statuses = _assign_numbers(run, session, correct, report)
        result = _write_month(run, assignments, data, month, Path(out_dir), pdf, report)
        result.register = register.path if register is not None else None
        result.register_statuses = statuses
    return result


def _write_month(run: BillingRun, assignments: list[Assignment], data: InvoicingData,
                 month: Month, out_dir: Path, pdf: bool, report: Progress) -> InvoiceRunResult:
    target = out_dir / str(month)
    names: dict[str, int] = {}
    files: list[InvoiceFile] = []
    for ctx, summary, assignment in zip(run.contexts, run.summaries, assignments, strict=True):
        name = invoice_filename(assignment.number, summary.contract)
        if name in names:  # two customers whose names differ only in refused characters
            names[name] += 1
            name = name.replace(".xlsx", f"_{names[name]}.xlsx")
        names.setdefault(name, 1)
        corrected = assignment.corrects
        correction = None if corrected is None else Correction(
            corrected.number, corrected.subtotal, corrected.tax, corrected.total)
        files.append(InvoiceFile(ctx, summary, assignment.number, target / name, correction))
    pdf_error = None
    with staged_folder(target) as staging:
        def write(i: int) -> list[Flag]:
            f = files[i]
            invoice = numbered_invoice(f.context, f.number, f.correction)
            write_invoice_workbook(invoice, data.settings, staging / f.xlsx.name)
            return invoice.flags

        total = len(files)
        report("invoices", 0, total)
        for f, flags in zip(files, map_indices(write, total,
                                               lambda done: report("invoices", done, total)),
                            strict=True):
            f.flags = flags
        summary_path = staging / summary_filename(month)
        responses = response_report(data.contracts, data.incidents, data.pricebooks(), month)
        write_summary_workbook(month, [SummaryItem.of(f, pdf) for f in files], ATTENTION_FLAGS,
                               summary_path, responses)
        if pdf:
            report("pdf", 0, 1)
            try:
                convert_to_pdf([staging / f.xlsx.name for f in files], staging)
                for f in files:
                    f.pdf = f.xlsx.with_suffix(".pdf")
            except OutputError as exc:
                pdf_error = str(exc)
                for stray in staging.glob("*.pdf"):  # all or none: no half set of PDFs
                    stray.unlink()
                write_summary_workbook(month, [SummaryItem.of(f, False) for f in files],
                                       ATTENTION_FLAGS, summary_path, responses)
            report("pdf", 1, 1)
    return InvoiceRunResult(month, target, files, target / summary_filename(month), pdf,
                            pdf_error)


def run_invoice_workbook(workbook: str | Path, month: Month | str, out_dir: str | Path,
                         pdf: bool = False, engine: Engine = "fastexcel",
                         progress: Progress | None = None, register: Register | None = None,
                         correct: bool = False) -> InvoiceRunResult:
    """Read ``workbook``, validate it whole, and run the month (the CLI's job)."""
    month = parse_month(month)
    data = read_invoicing_workbook(workbook, engine)
    return run_invoices(data, month, out_dir, pdf, progress, register, correct)
