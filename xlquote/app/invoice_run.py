"""The month's invoice run — the one job behind both the workbook button and ``xlquote invoice``.

1. Read and validate everything; refuse a month that has not ended (JST) unless allowed. Any
   problem raises one InputError and nothing is written.
2. Bill the month with the engine; draw up each contract's billed content and its hashes (on
   all cores).
3. Decide, contract by contract, against the register (one transaction, the month locked):
   - nothing issued yet → a new invoice; or a draft (下書き, no number) while a fee-limit
     decision is pending (Settings ``pending_decision``); or a statement (明細, no number) when
     there is nothing to pay (Settings ``zero_total``);
   - issued and the same → unchanged: its files stay as they are;
   - issued, and only what a qualified invoice need not state changed (a description) →
     reported, nothing issued;
   - issued, and an amount or a required item changed → refused, or with ``correct`` a
     correction invoice (修正インボイス) with its own dates;
   - cancelled (取消) and still billed → reported (``correct``: a new invoice).
   Issued invoices the inputs no longer produce are refused (cancel them with
   ``xlquote register void``).
4. Publish (``publishing.py``): new documents recorded pending, drawn (by this machine's
   worker processes, or a Dask cluster's), moved into place, marked issued; files an issued
   document lacks in this folder (a PDF that failed) are added.
5. Write the drafts and statements, and the month's summary of every document.

A register the team shares numbers the documents of several output folders: the run lists
every numbered document of the month, whoever issued it, and says where those issued from
other folders are; their files stay there (``copy_elsewhere`` draws copies here too).
Contracts of other folders' invoices that this run's inputs do not bill are theirs, not gone.

Exit rule (``InvoiceRunResult.exit_code``): 0 done; 1 done, but a document carries a flag that
needs someone to act (``ATTENTION_FLAGS``), a PDF could not be made, or a cancelled invoice is
still billed. Bad input and refusals raise (exit 2), a failed write raises WriteFailed (exit 3).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import os
import socket
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..engine.billing import BillingRun, InvoiceSummary, bill_month, build_invoice
from ..engine.dates import Month, due_date, issue_date
from ..engine.errors import InputError, Problem
from ..engine.invoice import (
    CORRECTION,
    DRAFT,
    FLAG_LABELS_JA,
    INVOICE,
    STATEMENT,
    Flag,
    Invoice,
)
from ..engine.pricebook import CalendarRule
from ..engine.records import Contract
from ..engine.service import response_report
from ..engine.settings import Settings
from ..memory import objects_frozen, release_freed_memory
from ..readers.workbook import Engine, InvoicingData, read_invoicing_workbook
from ..writers.pdf_pages import missing_glyphs
from ..writers.summary import DocumentFigures, SummaryItem, write_summary_workbook
from .documents import (
    DRAFT_PREFIX,
    STATEMENT_PREFIX,
    BilledContent,
    Header,
    RenderJob,
    billed_content,
    content_hash_with_row,
    decode_invoice,
    decode_responses,
    document,
    document_stem,
    encode_contract,
    encode_responses,
    encode_settings,
    first_register_hash,
    jst_today,
    legal_change,
    settings_hash,
    summary_filename,
)
from .parallel import Executor, executor_for, map_indices
from .publishing import (
    OutputFolder,
    Progress,
    Published,
    Publisher,
    checkpoint,
    ensure_ours,
    make_folder,
    missing_folders,
    remembered_register,
    remove_empty,
    write_errors,
)
from .register import (
    DEFAULT_NUMBER_FORMAT,
    FIGURES,
    Issued,
    Ledger,
    Register,
    RegisterError,
    Working,
    encode_flags,
)

# Flags someone has to act on before or after sending: a customer's decision is pending, a
# public reply must move to another channel, a personal use was refused, units were billed
# beyond the packs, an on-site visit needs a quote, a contract breaks its terms (with
# term_policy = "flag"). Other flags (urgent, a limit applied by decision, an automatic pack
# top-up, a monthly maximum exceeded and billed by the price book's policy) are informational.
ATTENTION_FLAGS = frozenset({"limit_pending", "reply_beyond_limit", "rejected", "units_short",
                             "onsite_quote", "term_minimum", "term_unit"})
HOLD_FLAG = "limit_pending"  # an invoice waiting on the customer's decision

REGISTER_FILENAME = "register.sqlite3"
REGISTER_ENV = "XLQUOTE_REGISTER"  # the register of every run on this machine (a URL or a file)
TOTALS_CHUNK = 256  # contracts per task sent to a worker
TOTALS_MIN_PARALLEL = 2_000  # a contract's totals take ~0.2 ms: fewer are quicker in-process
# The most documents (invoices, drafts, statements) one run draws. Each costs ~10 ms of CPU
# with its PDF, so a crafted workbook of 100,000 short contracts (5 MB) drew for minutes; a
# month beyond this is refused before anything is written, and larger books are split
# (docs/INVOICING.md). The 1M-incident month of bench/ draws 9,860.
MAX_MONTH_DOCUMENTS = 10_000
# The most distinct characters the month's documents show, summed over them (``Billed.
# characters``). Each PDF embeds a glyph of its font for each: a few shared strings holding
# every kanji of the font, put on each contract's rows, made every document of a 0.4 MB
# workbook embed 9,700 glyphs (4.7 MB a PDF; 820 such documents, 8 million, took 34 s and
# 3.7 GB). The 1M-incident month of bench/ shows 2.8 million. A month beyond this is refused
# before anything is written.
MAX_MONTH_CHARACTERS = 6_000_000
# The month's totals, contract by contract, on all cores (forked workers see the month's
# arrays without copying them; only the small totals come back).
contract_totals_mapper = functools.partial(map_indices, chunk=TOTALS_CHUNK,
                                           min_parallel=TOTALS_MIN_PARALLEL)

# What this run did with a contract (``MonthDocument.change``), and its label for the clerk.
CHANGE_LABELS_JA = {
    "new": "新規発行",
    "unchanged": "発行済み・変更なし",
    "reported": "発行済み・記載事項以外の変更あり (発行済みのまま)",
    "correction": "修正インボイス",
    "reissued": "取消後の再発行",
    "still_billed": "取消済みだが入力にまだ請求あり",
    "recovered": "中断した発行を完了",
    "pending_elsewhere": "他の出力フォルダで発行処理中 (そちらで完了待ち)",
    "held": "下書き (判断待ち)",
    "statement": "明細 (¥0)",
}
STATUS_LABELS_JA = {"issued": "発行済み", "pending": "発行処理中", "corrected": "修正済み",
                    "void": "取消", "voiding": "取消処理中", "draft": "下書き",
                    "statement": "明細"}
DAYS_AHEAD = 31  # how far a chosen issue or cancellation date may lie ahead (too_far_ahead)
KIND_LABELS_JA = {"invoice": "請求書", "correction": "修正インボイス", "cancellation": "取消",
                  "draft": "下書き", "statement": "明細"}  # the documents a run writes


def parse_month(value: object) -> Month:
    try:
        return Month.parse(value)
    except ValueError as exc:
        raise InputError([Problem(None, "month", value, str(exc))]) from None


def default_register(out_dir: str | Path, number_format: str | None = None) -> Register:
    """The register kept beside the invoices it numbered: ``OUT/register.sqlite3``."""
    return Register(Path(out_dir) / REGISTER_FILENAME, number_format or DEFAULT_NUMBER_FORMAT)


def choose_register(out_dir: str | Path, given: str | Path | None = None,
                    configured: str = "") -> Register:
    """The register a run on ``out_dir`` uses, the first of: the one given (``--register``),
    the environment's ``XLQUOTE_REGISTER``, the workbook's Settings 請求番号台帳
    (``configured``), the server register the folder remembers, ``OUT/register.sqlite3``."""
    location = (given or os.environ.get(REGISTER_ENV, "").strip() or configured
                or remembered_register(out_dir))
    return Register(location) if location else default_register(out_dir)


def month_issue_date(month: Month, today: dt.date, chosen: dt.date | None,
                     calendar: CalendarRule) -> dt.date:
    """The date of a document issued now for ``month``: the one chosen (``--issue-date``),
    else the month's issue date (first business day after it), or today once that has passed
    — an invoice is never dated before the day it is made."""
    return chosen or max(issue_date(month, calendar), today)


def too_far_ahead(chosen: dt.date, reference: dt.date, label: str) -> Problem | None:
    """A chosen document date more than ``DAYS_AHEAD`` after ``reference`` (today, or the
    billed month's end when later): a typo (2031 for 2026) would date the document, and every
    later one of its contract, years ahead."""
    if chosen <= reference + dt.timedelta(days=DAYS_AHEAD):
        return None
    return Problem(None, "issue_date", chosen.isoformat(),
                   f"{label} {chosen} は {reference} から {DAYS_AHEAD} 日より後です。日付の打ち"
                   "間違いでないか確認してください")


def check_month(month: Month, today: dt.date, allow_open: bool, chosen: dt.date | None) -> None:
    """Refuse a month that has not ended in Japan (unless allowed) and an issue date inside or
    before the billed month."""
    problems = []
    if not allow_open and today <= month.last_day:
        problems.append(Problem(None, "month", str(month),
                                f"{month} はまだ終わっていません (日本時間の今日は {today})。月が"
                                "終わってから作るか、--allow-open-month (Settings の締め前の月: "
                                "作る) を指定してください"))
    if chosen is not None and chosen <= month.last_day:
        problems.append(Problem(None, "issue_date", chosen.isoformat(),
                                f"請求日は請求月 {month} の末日より後の日付にしてください"))
    elif chosen is not None:
        problem = too_far_ahead(chosen, max(today, month.last_day), "請求日")
        if problem:
            problems.append(problem)
    if problems:
        raise InputError(problems)


@dataclass(frozen=True)
class Billed(BilledContent):
    """One contract's billed content for the month, as pass 1 computes it."""

    flags: tuple[Flag, ...]


def _billed(invoice: Invoice, printed_everywhere: str) -> Billed:
    return Billed(**vars(billed_content(invoice, printed_everywhere)), flags=tuple(invoice.flags))


def printed_on_every_document(settings: Settings) -> str:
    """The text of the Settings, whose issuer's details every page of every document prints:
    all of it, so that a field the layout comes to print is counted too."""
    return "".join(value for value in vars(settings).values() if isinstance(value, str))


class IssuedInvoicesChanged(RegisterError):
    """Issued invoices' amounts or required items changed, and the run was not asked to
    correct them: refused, nothing written."""

    def __init__(self, changed: list[str],
                 how_to_correct: str = "--correct を付けてもう一度実行してください") -> None:
        self.changed = changed  # "INV-… (contract, what changed: 合計 old → new, …)"
        super().__init__("発行済みの請求書の金額または記載事項が変わりました: " + ", ".join(changed)
                         + f"。何も書いていません。修正インボイスを発行するには {how_to_correct}")


@dataclass(frozen=True)
class MonthDocument(DocumentFigures):
    """A document of the month as the run reports it: numbered (from the register) or a draft
    or statement (this run's)."""

    kind: str  # invoice | correction | draft | statement
    number: str  # "" for drafts and statements
    status: str  # issued | pending | corrected | void | voiding | draft | statement
    xlsx: Path | None
    pdf: Path | None
    corrects: str | None = None
    corrected_by: str | None = None
    change: str = ""  # what this run did (CHANGE_LABELS_JA), "" when it did not touch it
    pdf_error: str | None = None
    cancellation: dict[str, str] | None = None
    issued_here: bool = True  # published from this output folder (else listed only)
    issued_in: str = ""  # ``host:path`` of the output folder that published it

    @property
    def numbered(self) -> bool:
        return bool(self.number)

    @property
    def in_force(self) -> bool:
        return self.status in ("issued", "pending")

    def summary_item(self) -> SummaryItem:
        status = STATUS_LABELS_JA.get(self.status, self.status)
        if self.corrected_by:
            status += f" → {self.corrected_by}"
        if self.corrects:  # a correction in force says so; one voided or corrected again
            status = ("修正インボイス" if self.in_force else status) + f" ({self.corrects} を訂正)"
        if not self.issued_here:
            status += f" (別の出力フォルダ: {self.issued_in or '不明'})"
        return SummaryItem(**_figures(self), number=self.number or STATUS_LABELS_JA[self.kind],
                           xlsx_name=self.xlsx.name if self.xlsx else "",
                           pdf_name=self.pdf.name if self.pdf else "", status=status,
                           counted=self.numbered and self.in_force)

    def to_dict(self) -> dict[str, Any]:
        return {"number": self.number or None, "contract_id": self.contract_id,
                "customer": self.customer, "plan": self.plan, "subtotal": self.subtotal,
                "tax": self.tax, "total": self.total, "flags": self.flag_codes(),
                "correction_of": self.corrects,
                "corrects": self.corrects,  # as `register list` / `show` name it
                "xlsx": str(self.xlsx) if self.xlsx else None,
                "pdf": str(self.pdf) if self.pdf else None,
                "kind": self.kind, "status": self.status,
                "issue_date": self.issue_date.isoformat(),
                "due_date": self.due_date.isoformat() if self.due_date else None,
                "corrected_by": self.corrected_by, "change": self.change or None,
                "pdf_error": self.pdf_error, "cancellation": self.cancellation,
                "issued_here": self.issued_here, "issued_in": self.issued_in or None}


@dataclass(frozen=True)
class Notice:
    """Something the clerk should know that did not stop the run."""

    code: str  # reported | still_billed | file_differs | pending_elsewhere | no_incidents |
    # missing_glyphs | …
    message: str
    number: str = ""
    contract_id: str = ""
    attention: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "number": self.number or None,
                "contract_id": self.contract_id or None, "message": self.message,
                "attention": self.attention}


@dataclass
class InvoiceRunResult:
    month: Month
    folder: Path
    summary: Path
    register: Register | None
    documents: list[MonthDocument] = field(default_factory=list)  # numbered, by number
    working: list[MonthDocument] = field(default_factory=list)  # drafts and statements
    changes: dict[str, int] = field(default_factory=dict)  # CHANGE_LABELS_JA key → count
    notices: list[Notice] = field(default_factory=list)
    pdf_requested: bool = True
    attention_codes: frozenset[str] = field(default=ATTENTION_FLAGS)
    executor: dict[str, Any] | None = None  # where the documents were drawn
    pdfs_written: dict[str, int] = field(default_factory=dict)  # KIND_LABELS_JA key → files

    @property
    def elsewhere(self) -> list[MonthDocument]:
        """Numbered documents of the month published from other output folders."""
        return [d for d in self.documents if not d.issued_here]

    @property
    def files(self) -> list[MonthDocument]:
        """The numbered documents in force (the month's invoices as they stand)."""
        return [d for d in self.documents if d.in_force]

    @property
    def drafts(self) -> list[MonthDocument]:
        return [d for d in self.working if d.kind == DRAFT]

    @property
    def statements(self) -> list[MonthDocument]:
        return [d for d in self.working if d.kind == STATEMENT]

    @property
    def subtotal(self) -> int:
        return sum(d.subtotal for d in self.files)

    @property
    def tax(self) -> int:
        return sum(d.tax for d in self.files)

    @property
    def total(self) -> int:
        return sum(d.total for d in self.files)

    @property
    def pdf_failures(self) -> list[MonthDocument]:
        return [d for d in self.documents if d.pdf_error]

    @property
    def pdf_error(self) -> str | None:
        failed = self.pdf_failures
        if not failed:
            return None
        return (f"PDF を作れなかった書類 {len(failed)} 件: "
                + ", ".join(f"{d.number} ({d.pdf_error})" for d in failed[:5])
                + (" …" if len(failed) > 5 else "") + "。次の実行で作り直します")

    def attention(self) -> list[tuple[MonthDocument, Flag]]:
        return [(d, flag) for d in [*self.files, *self.drafts] for flag in d.flags
                if flag.code in self.attention_codes]

    @property
    def attention_notices(self) -> list[Notice]:
        """Notices someone must act on (a cancelled invoice still billed, …)."""
        return [n for n in self.notices if n.attention]

    def attention_count(self) -> int:
        """Everything someone must act on: the flags of ``attention()`` and the notices."""
        return len(self.attention()) + len(self.attention_notices)

    def flag_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for d in [*self.files, *self.drafts]:
            for flag in d.flags:
                counts[flag.code] = counts.get(flag.code, 0) + 1
        return dict(sorted(counts.items()))

    @property
    def exit_code(self) -> int:
        return 1 if self.attention_count() or self.pdf_failures else 0

    @property
    def invoices(self) -> list[Invoice]:
        """The documents in force as Invoices (drawn from the register's content)."""
        assert self.register is not None
        numbers = [d.number for d in self.files]
        with self.register.reading() as ledger:
            contents = ledger.contents(numbers)
            issued = {d.number: d for d in ledger.documents(str(self.month))}
            return [document(contents[n], Publisher.header(ledger, issued[n]))
                    for n in numbers if contents.get(n) is not None]

    def summary_items(self) -> list[SummaryItem]:
        return [d.summary_item() for d in [*self.documents, *self.working]]

    def to_dict(self) -> dict[str, Any]:
        failures = self.pdf_failures
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
            "attention": [{"number": d.number or None, "contract_id": d.contract_id,
                           "incident_id": flag.incident_id, "code": flag.code,
                           "label": FLAG_LABELS_JA.get(flag.code, flag.code),
                           "message": flag.message, "kind": d.kind}
                          for d, flag in self.attention()],
            "register": {"path": self.register.display if self.register else None,
                         "kind": self.register.kind if self.register else None,
                         "created": bool(self.register and self.register.created),
                         **self.changes},
            "issued_elsewhere": len(self.elsewhere),
            "executor": self.executor,
            "pdf": {"requested": self.pdf_requested, "error": self.pdf_error,
                    "count": sum(self.pdfs_written.values()), "written": self.pdfs_written,
                    "failed": [{"number": d.number, "contract_id": d.contract_id,
                                "error": d.pdf_error} for d in failures]},
            "invoices": [d.to_dict() for d in self.documents],
            "drafts": [d.to_dict() for d in self.drafts],
            "statements": [d.to_dict() for d in self.statements],
            "notices": [n.to_dict() for n in self.notices],
        }


@dataclass(frozen=True)
class _New:
    """A document the run numbers: the billed contract's index, its kind, the invoice it
    corrects, and the invoice it corrects or replaces (voided), on or after whose date (and
    cancellation) it is dated."""

    index: int
    kind: str
    corrected: Issued | None = None
    replaces: str | None = None
    not_before: dt.date | None = None


@dataclass
class _Plan:
    """What the register transaction decided."""

    fresh: list[str] = field(default_factory=list)  # numbers recorded pending by this run
    pending_elsewhere: list[Issued] = field(default_factory=list)  # other folders' unfinished
    changes: dict[str, str] = field(default_factory=dict)  # contract_id → change
    working: list[tuple[int, Header]] = field(default_factory=list)  # billed index → header
    notices: list[Notice] = field(default_factory=list)
    contents: dict[str, bytes] = field(default_factory=dict)  # fresh number → content


def too_many_documents(run: BillingRun) -> Problem:
    """The month's documents beyond ``MAX_MONTH_DOCUMENTS``, named by the contract of the
    first one that does not fit."""
    first_beyond = run.contexts[MAX_MONTH_DOCUMENTS].contract
    return Problem(first_beyond.row, "contract_id", first_beyond.contract_id,
                   f"{run.month.year}年{run.month.month}月の請求書・下書き・明細は "
                   f"{len(run.contexts):,} 通になり、1 回の実行で作れる "
                   f"{MAX_MONTH_DOCUMENTS:,} 通を超えています (この行の契約から先が入りません)。"
                   "契約を、その対応記録とパックとともに複数のブックに分け、ブックごとに別の"
                   "出力フォルダ (--out) で実行してください (請求番号が重ならないよう、"
                   "請求番号台帳は --register で共有します)", "Contracts")


def same_file_names(contracts: Sequence[Contract]) -> list[Problem]:
    """Contracts whose drafts (and statements) would be one file: their ids and customers
    differ only in what a file name cannot hold (``C004`` and ``C004.``), or in case and
    Unicode form, which Windows and macOS do not tell apart. Found before anything is written:
    met while placing the files, it stopped the run after the invoices were issued."""
    first: dict[str, Contract] = {}
    problems = []
    for contract in contracts:
        stem = document_stem(DRAFT_PREFIX, contract.contract_id, contract.customer)
        other = first.setdefault(unicodedata.normalize("NFC", stem).casefold(), contract)
        if other is not contract:
            problems.append(Problem(
                contract.row, "contract_id", contract.contract_id,
                f"契約 {other.contract_id} ({other.row}行目) と書類のファイル名が同じになります "
                f"({stem}.xlsx)。ファイル名に使えない記号や、大文字・小文字の違いだけで区別する"
                "契約IDは使えません。どちらかの契約IDを変えてください", "Contracts"))
    return problems


def too_many_characters(run: BillingRun, billed: Sequence[Billed]) -> Problem:
    """The month's documents showing more than ``MAX_MONTH_CHARACTERS`` distinct characters in
    all, named by the contract whose documents show the most."""
    total = sum(b.characters for b in billed)
    most = max(range(len(billed)), key=lambda i: billed[i].characters)
    contract = run.contexts[most].contract
    return Problem(contract.row, "contract_id", contract.contract_id,
                   f"{run.month.year}年{run.month.month}月の書類が使う文字は、書類ごとの文字の"
                   f"種類を合わせて {total:,} 字になり、1 回の実行で作れる "
                   f"{MAX_MONTH_CHARACTERS:,} 字を超えています (いちばん多いのはこの行の契約の"
                   f"書類で {billed[most].characters:,} 種類)。PDF は書類ごとに使う文字の字形を"
                   "すべて持つため、文字の種類が多いほど大きく遅くなります。説明や名前に文字化けや"
                   "誤った貼り付けがないか確かめ、正しければ契約を、その対応記録とパックとともに"
                   "複数のブックに分けて実行してください", "Contracts")


class MonthRun:
    """One month's run on one output folder (``run_invoices`` is the entry point)."""

    def __init__(self, data: InvoicingData, month: Month, out_dir: Path, register: Register,
                 pdf: bool, report: Progress, correct: bool, chosen_date: dt.date | None,
                 issue_pending: bool, today: dt.date, executor: Executor | None = None,
                 copy_elsewhere: bool = False) -> None:
        self.data = data
        self.settings: Settings = data.settings
        self.month = month
        self.out_dir = out_dir
        self.register = register
        self.pdf = pdf
        self.report = report
        self.correct = correct
        self.chosen_date = chosen_date
        self.issue_pending = issue_pending or data.settings.pending_decision == "issue"
        self.today = today
        self.executor = executor  # None: this machine's cores
        self.copy_elsewhere = copy_elsewhere
        self.glyphless_pdfs: dict[str, str] = {}  # PDF made → characters printed as boxes

    # --- billing -----------------------------------------------------------------------------

    def bill(self) -> None:
        try:
            self.billed, self.summaries, self.calendars = self._bill_contracts()
        except InputError as error:
            raise self.data.named_as_read(error) from None
        # What billing freed (the month's incidents in contract order and their charges, a
        # long pack history's replay: ~300 MB for a million incidents) is handed back before
        # the documents are drawn on top of it, by workers forked from this process.
        release_freed_memory()

    def _bill_contracts(self) -> tuple[list[Billed], list[InvoiceSummary], list[CalendarRule]]:
        """Each document's content, its summary and its contract's calendar: what publishing
        needs of the month's billing, which goes when this returns."""
        run: BillingRun = bill_month(
            self.data.contracts, self.data.incidents, self.month, self.data.packs,
            self.data.pricebooks(), map_tasks=contract_totals_mapper)
        contexts = run.contexts
        total = len(contexts)
        if total > MAX_MONTH_DOCUMENTS:
            raise InputError([too_many_documents(run)])
        clashes = same_file_names([ctx.contract for ctx in contexts])
        if clashes:
            raise InputError(clashes)
        self.report("checking", 0, total)
        printed = printed_on_every_document(self.settings)
        billed = map_indices(lambda i: _billed(build_invoice(contexts[i]), printed), total,
                             lambda done: self.report("checking", done, total))
        if sum(b.characters for b in billed) > MAX_MONTH_CHARACTERS:
            raise InputError([too_many_characters(run, billed)])
        return billed, run.summaries, [ctx.book.calendar for ctx in contexts]

    def _dates(self, index: int, issued: dt.date | None = None) -> tuple[dt.date, dt.date]:
        """An issue date (default: the month's, as ``month_issue_date`` says) and its due
        date, by the contract's price book calendar and the company's closed days."""
        calendar = self.calendars[index]
        if issued is None:
            issued = month_issue_date(self.month, self.today, self.chosen_date, calendar)
        return issued, due_date(issued, calendar)

    # --- deciding ----------------------------------------------------------------------------

    def plan(self, ledger: Ledger, folder_id: str) -> _Plan:
        """Step 1 (in the register's transaction, the month locked): decide every contract,
        refuse what must be refused, record the new documents pending."""
        plan = _Plan()
        ledger.lock_month(self.month)
        issued = ledger.documents(str(self.month))
        latest: dict[str, Issued] = {}
        for doc in issued:  # in number order: the last is the version in force
            latest[doc.contract_id] = doc
        produced = {s.contract.contract_id for s in self.summaries}
        # A shared register holds other folders' invoices of contracts this run's inputs do
        # not have: those are theirs. Gone is what this folder issued, or what the inputs
        # still list but no longer bill.
        listed = {c.contract_id for c in self.data.contracts}
        gone = [f"{d.number} ({d.contract_id})" for cid, d in latest.items()
                if cid not in produced and d.cancellation is None
                and not _pending_elsewhere(d, folder_id)
                and (d.folder_id in (folder_id, "") or cid in listed)]
        if gone:
            raise RegisterError(
                "発行済みの請求書が入力から出てこなくなりました: " + ", ".join(gone)
                + "。契約・インシデントを元に戻すか、発行を取り消してください "
                "(xlquote register void 請求番号 --reason 理由)。何も書いていません")
        settings_json = encode_settings(self.settings)
        settings_key = ledger.settings_hash(settings_json, settings_hash(settings_json))
        new: list[_New] = []
        changed: list[str] = []
        for index, (summary, billed) in enumerate(zip(self.summaries, self.billed,
                                                      strict=True)):
            contract_id = summary.contract.contract_id
            previous = latest.get(contract_id)
            if previous is None:
                change = self._first_issue(index, summary.total, billed, plan, new)
            elif _pending_elsewhere(previous, folder_id):
                # issued (or cancelled) by nobody yet: that folder's next run finishes it (then
                # it is compared as issued) or withdraws it (then the contract is billed afresh)
                change = "pending_elsewhere"
                plan.pending_elsewhere.append(previous)
            elif previous.cancellation is not None and (
                    working := self._working(index, summary.total, billed, plan)):
                change = working  # voided, and now a draft or a ¥0 statement, as if new
            elif previous.cancellation is not None:
                change = "reissued" if self.correct else "still_billed"
                if self.correct:  # dated on or after the voided invoice and its cancellation
                    new.append(_New(index, INVOICE, None, previous.number, max(
                        previous.issue_date, previous.cancellation.cancelled_on)))
                else:
                    plan.notices.append(Notice(
                        "still_billed", f"{previous.number} は取消済みですが、入力にはまだ "
                        f"{contract_id} の請求があります。入力から外すか、新しい請求書を発行してください "
                        "(コマンドは --correct、請求書作成ボタンは「修正インボイス」を「発行する」に)",
                        previous.number, contract_id, True))
            elif self._same(previous, billed, legal=False, row=summary.contract.row):
                change = "unchanged"
            elif self._same(previous, billed, legal=True):
                change = "reported"
                plan.notices.append(Notice(
                    "reported", f"{previous.number} ({contract_id}): 請求書の記載事項ではない内容"
                    "(明細の内容など) が発行後に変わりました。発行済みの請求書はそのままです",
                    previous.number, contract_id))
            else:
                if not self.correct:  # refused below, naming what changed
                    issued, _ = ledger.content(previous.number)
                    what = (legal_change(decode_invoice(issued), decode_invoice(billed.content))
                            if issued is not None
                            else f"合計 {previous.total:,} → {summary.total:,}")
                    changed.append(f"{previous.number} ({contract_id}, {what})")
                if self.correct and self._held(billed):
                    # the issued invoice stays in force; the new amount waits as a draft
                    change = self._add_working(index, DRAFT, plan)
                else:
                    change = "correction"
                    new.append(_New(index, CORRECTION, previous, previous.number,
                                    previous.issue_date))
            plan.changes[contract_id] = change
        if changed and not self.correct:
            raise IssuedInvoicesChanged(changed)
        self._check_names(ledger, len(new))
        numbers = ledger.take_numbers(self.month, len(new))
        rows = []
        for issue, (seq, number) in zip(new, numbers, strict=True):
            rows.append(self._row(issue, seq, number, settings_key, folder_id, plan))
            plan.fresh.append(number)
        ledger.record(rows)
        return plan

    def _same(self, previous: Issued, billed: Billed, legal: bool, row: int | None = None
              ) -> bool:
        if previous.legal_hash is None:  # recorded by the first register: its content hash
            return previous.content_hash == first_register_hash(decode_invoice(billed.content))
        if legal:
            return previous.legal_hash == billed.legal_hash
        return previous.legal_hash == billed.legal_hash and (
            previous.content_hash == billed.content_hash  # worked out again only where not
            or previous.content_hash == content_hash_with_row(billed.content, row))

    def _held(self, billed: Billed) -> bool:
        """Waiting on the customer's decision at a fee limit, and kept as a draft till then."""
        return not self.issue_pending and any(f.code == HOLD_FLAG for f in billed.flags)

    def _working(self, index: int, total: int, billed: Billed, plan: _Plan) -> str | None:
        """A draft (waiting on a decision) or a ¥0 statement in place of a numbered invoice,
        added to ``plan``, and the change it is ("held", "statement"); None when the
        contract's document is an invoice."""
        if self._held(billed):
            return self._add_working(index, DRAFT, plan)
        if total == 0 and self.settings.zero_total == "statement":
            return self._add_working(index, STATEMENT, plan)
        return None

    def _add_working(self, index: int, kind: str, plan: _Plan) -> str:
        """A draft or statement of the month's dates added to ``plan``; its change."""
        issued, due = self._dates(index)
        plan.working.append((index, Header("", kind, issued, due)))
        return "held" if kind == DRAFT else "statement"

    def _first_issue(self, index: int, total: int, billed: Billed, plan: _Plan,
                     new: list[_New]) -> str:
        working = self._working(index, total, billed, plan)
        if working:
            return working
        new.append(_New(index, INVOICE))
        return "new"

    def _row(self, issue: _New, seq: int, number: str, settings_key: str, folder_id: str,
             plan: _Plan) -> dict[str, Any]:
        index, kind, corrected = issue.index, issue.kind, issue.corrected
        summary, billed = self.summaries[index], self.billed[index]
        contract = summary.contract
        if issue.not_before is None:
            issued, due = self._dates(index)
        else:
            if self.chosen_date is not None and self.chosen_date < issue.not_before:
                raise RegisterError(
                    f"--issue-date {self.chosen_date} は{'訂正する' if corrected else '取り消した'}"
                    f"請求書 {issue.replaces} の{'請求日' if corrected else '請求日・取消日'} "
                    f"{issue.not_before} より前です")
            issued, due = self._dates(index, max(self.chosen_date or self.today,
                                                 issue.not_before))
        plan.contents[number] = billed.content
        return {"number": number, "month": str(self.month), "seq": seq,
                "contract_id": contract.contract_id, "customer": contract.customer,
                "plan": contract.plan, "kind": kind,
                "corrects": corrected.number if corrected else None,
                "subtotal": summary.subtotal, "tax": summary.tax, "total": summary.total,
                "issue_date": issued, "due_date": due, "legal_hash": billed.legal_hash,
                "content_hash": billed.content_hash, "content": billed.content,
                "contract": encode_contract(contract), "flags": encode_flags(billed.flags),
                "settings_hash": settings_key,
                "file_stem": document_stem(number, contract.contract_id, contract.customer),
                "folder_id": folder_id}

    def _check_names(self, ledger: Ledger, count: int) -> None:
        """A new number must not already name a file of the month's folder: such a file was
        numbered by another register (the folder marker was lost)."""
        folder = self.out_dir / str(self.month)
        if not count or not folder.is_dir():
            return
        last = ledger.lock_month(self.month)
        upcoming = {self.register.number(self.month, seq) for seq in
                    range(last + 1, last + count + 1)}
        clash = sorted(p.name for p in folder.iterdir() if p.name.split("_", 1)[0] in upcoming)
        if clash:
            raise RegisterError(
                f"{folder} にはこの台帳が発行していない番号のファイルがあります ({clash[0]} ほか)。"
                "別の台帳で番号を付けたフォルダです: --register でその台帳を指定してください")

    # --- publishing --------------------------------------------------------------------------

    def publish(self) -> InvoiceRunResult:
        executor = self.executor or executor_for(None)
        with contextlib.ExitStack() as owned:
            if self.executor is None:
                owned.enter_context(executor)
            new_folders = check_folder(executor, self.out_dir)  # before anything is changed
            folder = owned.enter_context(OutputFolder(self.out_dir, self.register,
                                                      new_folders=new_folders))
            publisher = Publisher(folder, self.register, self.pdf, self.report, executor,
                                  self.copy_elsewhere)
            recovered = publisher.recover()
            with self.register.transaction() as ledger:
                plan = self.plan(ledger, folder.folder_id)
            checkpoint("recorded")
            published = self._publish_numbered(publisher, plan)
            self._write_working(publisher, plan, folder.folder_id)
            checkpoint("working")
            result = write_month_summary(self.register, folder, self.month, self.pdf)
            checkpoint("summary")
            result.executor = executor.describe()
            result.pdfs_written = {kind: publisher.pdfs_written[kind] for kind in KIND_LABELS_JA
                                   if kind in publisher.pdfs_written}
        self.glyphless_pdfs = publisher.glyphless
        self._add_run_details(result, plan, recovered, published)
        return result

    def _publish_numbered(self, publisher: Publisher, plan: _Plan) -> Published:
        """Steps 2–4 for this run's new documents and the files issued documents lack."""
        try:
            if plan.fresh:  # one settled meanwhile leaves no job to check when drawn
                with self.register.transaction() as ledger:
                    ledger.lock_month(self.month)
                    ensure_ours(ledger, publisher.folder.folder_id, plan.fresh, ())
            with self.register.reading() as ledger:
                jobs: list[RenderJob] = []
                damaged: list[str] = []  # issued files in place, checked before any is drawn
                for doc in ledger.documents(str(self.month)):
                    damaged += publisher.damaged_files(doc)
                    jobs += publisher.jobs_for(ledger, doc, content=plan.contents.get(doc.number))
            published = publisher.draw(self.month, jobs, plan.fresh)
            published.differing += damaged
        except BaseException:
            self._forget(plan, publisher.folder.folder_id)
            raise
        try:
            publisher.mark(self.month, jobs, published)
        except BaseException:
            published.undo()
            self._forget(plan, publisher.folder.folder_id)
            raise
        return published

    def _forget(self, plan: _Plan, folder_id: str) -> None:
        """A failure before anything was issued: the register forgets this run's documents
        (the files are already removed)."""
        if not plan.fresh:
            return
        try:
            with self.register.transaction() as ledger:
                ledger.withdraw(self.month, plan.fresh, folder_id)
        except Exception:  # the register cannot be written (a full disk): the next run on the
            pass  # folder withdraws them, or finishes those begun (Publisher.recover)

    def _write_working(self, publisher: Publisher, plan: _Plan, folder_id: str
                       ) -> list[Working]:
        """Drafts and statements: written over the previous ones; those no longer due go."""
        jobs = []
        for index, header in plan.working:
            contract = self.summaries[index].contract
            prefix = DRAFT_PREFIX if header.kind == DRAFT else STATEMENT_PREFIX
            jobs.append(RenderJob(self.month,
                                  document_stem(prefix, contract.contract_id, contract.customer),
                                  publisher.roles, self.settings,
                                  content=self.billed[index].content, header=header))
        published = publisher.draw(self.month, jobs, step="working")
        items = []
        for (index, header), job in zip(plan.working, jobs, strict=True):
            summary = self.summaries[index]
            contract = summary.contract
            made = tuple(r for r in job.roles if r in published.rendered[job.stem].sha256)
            items.append(Working(contract.contract_id, contract.customer, contract.plan,
                                 summary.subtotal, summary.tax, summary.total, header.issue_date,
                                 header.due_date, self.billed[index].flags, month=str(self.month),
                                 kind=header.kind, file_stem=job.stem, roles=made))
        keep = {job.name(role) for job in jobs for role in job.roles}
        folder = self.out_dir / str(self.month)
        with write_errors("発行済みの書類は記録済みです"):
            for path in folder.iterdir():
                if (path.name.startswith((f"{DRAFT_PREFIX}_", f"{STATEMENT_PREFIX}_"))
                        and path.name not in keep):
                    path.unlink()
        responses = response_report(self.data.contracts, self.data.incidents,
                                    self.data.pricebooks(), self.month)
        with self.register.transaction() as ledger:
            ledger.set_working(folder_id, str(self.month), items, encode_responses(responses))
        return items

    def _missing_glyphs(self) -> list[Notice]:
        """The parties' names and the issuer's details holding characters the PDF font has no
        glyph for: the PDF prints a box for each, on the items a qualified invoice must
        state, while the workbook shows them. Then each PDF made in this run that prints
        other such characters (an incident's description, an id), by its file: those of the
        issuer's details, and of the customer's name its file name shows, are named above."""
        notices = []
        fix = ("PDF ではこの文字が □ で印字されます。別の字にする (𠮷 → 吉 など) か、PDF の代わりに"
               "ブック (xlsx) をお送りください")
        named: set[str] = set()  # the issuer's, named once for every document
        for key in ("issuer_name", "issuer_address", "issuer_contact", "bank_account"):
            missing = missing_glyphs(str(getattr(self.settings, key) or ""))
            named.update(missing)
            if missing:
                notices.append(Notice("missing_glyphs", f"Settings の {key} に PDF の字形がない"
                                      f"文字があります: {glyphs_named(missing)}。{fix}",
                                      attention=True))
        for summary in self.summaries:
            contract = summary.contract
            missing = missing_glyphs(contract.customer)
            if missing:
                notices.append(Notice("missing_glyphs", f"{contract.contract_id} の請求先名 "
                                      f"(customer) に PDF の字形がない文字があります: "
                                      f"{glyphs_named(missing)}。{fix}",
                                      contract_id=contract.contract_id, attention=True))
        for name, characters in sorted(self.glyphless_pdfs.items()):
            missing = [c for c in characters if c not in named and c not in name]
            if missing:
                notices.append(Notice("missing_glyphs", f"{name} に PDF の字形がない文字があり"
                                      f"ます: {glyphs_named(missing)}。{fix}", attention=True))
        return notices

    def _add_run_details(self, result: InvoiceRunResult, plan: _Plan, recovered: list[str],
                         published: Published) -> None:
        """What this run did, on each document it touched, and what to tell the clerk."""
        latest = {d.contract_id: d.number for d in result.documents}  # in number order
        changes: dict[str, int] = {}
        for change in plan.changes.values():
            changes[change] = changes.get(change, 0) + 1

        def change_of(doc: MonthDocument) -> str:
            if not doc.numbered:
                return "held" if doc.kind == DRAFT else "statement"
            if doc.number in recovered:
                return "recovered"
            if latest.get(doc.contract_id) == doc.number:
                return plan.changes.get(doc.contract_id, "")
            return ""

        result.documents = [replace(d, change=change_of(d)) for d in result.documents]
        result.working = [replace(d, change=change_of(d)) for d in result.working]
        if recovered:
            changes["recovered"] = len(recovered)
            result.notices.append(Notice("recovered", "中断していた発行を完了しました: "
                                         + ", ".join(recovered)))
        result.changes = changes
        if self.register.created:
            result.notices.append(Notice(
                "register_created", f"新しい請求番号台帳を作りました: {self.register.display}。"
                "既にある台帳を使うはずだった場合は --out / --register (Settings の請求番号台帳) "
                "を確かめてください"))
        result.notices += plan.notices
        if not len(self.data.incidents):  # an export that came out empty, say
            source = self.data.files.get("Incidents", "Incidents シート")
            result.notices.append(Notice(
                "no_incidents", f"{source} にインシデントの記録が 1 件もありません。基本料金だけで"
                "請求しました。記録の書き出しや貼り付けの漏れでないか確かめてください",
                attention=True))
        here = f"{socket.gethostname()}:{self.out_dir.absolute()}"
        folders: dict[str, str] = {}
        if plan.pending_elsewhere:
            with self.register.reading() as ledger:
                folders = ledger.folders()
        for doc in plan.pending_elsewhere:  # those runs stopped: only a run there ends them
            cancelling = doc.cancellation
            stopped = (cancelling.folder_id if cancelling is not None
                       and cancelling.state == "pending" else doc.folder_id)
            where = folders.get(stopped, "不明")
            if where == here:  # that folder was deleted or moved, and one made here anew
                where += " (以前この場所にあった出力フォルダ。移したならその場所)"
            result.notices.append(Notice(
                "pending_elsewhere", f"{doc.number} は別の出力フォルダ {where} での発行か取消が途中"
                "で止まっています。そのフォルダでもう一度請求書作成を実行してください (発行や取消を"
                "終えるか、取り下げて請求し直します)。そのフォルダがもうないときは xlquote "
                f"register settle {doc.number} で片付けます", number=doc.number,
                contract_id=doc.contract_id, attention=True))
        if self.pdf:
            result.notices += self._missing_glyphs()
        for name in published.differing:
            result.notices.append(Notice(
                "file_differs", f"{name} は台帳に記録した発行時のファイルと内容が違います "
                "(壊れたか書き換えられています。書き換えずに残しました)。発行時の内容に戻すには、"
                "このファイルを別の場所へ移してからもう一度実行してください", attention=True))


def glyphs_named(characters: Sequence[str]) -> str:
    return "、".join(f"{c} (U+{ord(c):04X})" for c in characters)


def _pending_elsewhere(doc: Issued, folder_id: str) -> bool:
    """``doc``, or its cancellation, is recorded by a run on another output folder that has
    not finished it: neither issued nor cancelled yet."""
    cancelling = doc.cancellation
    return ((doc.state == "pending" and doc.folder_id not in (folder_id, ""))
            or (cancelling is not None and cancelling.state == "pending"
                and cancelling.folder_id != folder_id))


def check_folder(executor: Executor, out_dir: Path) -> list[Path]:
    """``out_dir`` (made if missing) checked by the executor's workers: a folder made only for
    a check they refuse is removed again. Returns the folders it made, deepest first."""
    new_folders = missing_folders(out_dir)
    try:
        executor.check_folder(make_folder(out_dir))
    except BaseException:
        remove_empty(new_folders)
        raise
    return new_folders


def write_month_summary(register: Register, folder: OutputFolder, month: Month,
                        pdf: bool) -> InvoiceRunResult:
    """The month's documents as the register and this folder know them, and the summary
    workbook listing them (step 6)."""
    month_dir = folder.root / str(month)
    with register.reading() as ledger:
        issued = ledger.documents(str(month))
        working = ledger.working(folder.folder_id, str(month))
        responses = ledger.responses(folder.folder_id, str(month))
    docs = [_month_document(d, month_dir, d.folder_id == folder.folder_id) for d in issued]
    drafts = [MonthDocument(**_figures(w), kind=w.kind, number="", status=w.kind,
                            xlsx=month_dir / f"{w.file_stem}.xlsx" if "xlsx" in w.roles else None,
                            pdf=month_dir / f"{w.file_stem}.pdf" if "pdf" in w.roles else None)
              for w in working]
    result = InvoiceRunResult(month, month_dir, month_dir / summary_filename(month), register,
                              docs, drafts, pdf_requested=pdf)
    with write_errors("発行済みの書類は記録済みです。一覧は次の実行で作り直します"):
        write_summary_workbook(month, result.summary_items(), ATTENTION_FLAGS, result.summary,
                               None if responses is None else decode_responses(responses))
        result.summary.chmod(folder.file_mode)
    return result


def _month_document(doc: Issued, month_dir: Path, here: bool) -> MonthDocument:
    def present(role: str) -> Path | None:
        path = month_dir / f"{doc.file_stem}.{role}"
        return path if path.exists() else None

    pdf_file = doc.files.get("pdf")
    cancellation = None
    if doc.cancellation is not None:
        cancellation = {"cancelled_on": doc.cancellation.cancelled_on.isoformat(),
                        "reason": doc.cancellation.reason}
    return MonthDocument(**_figures(doc), kind=doc.kind, number=doc.number, status=doc.status,
                         xlsx=present("xlsx"), pdf=present("pdf"), corrects=doc.corrects,
                         corrected_by=doc.corrected_by,
                         pdf_error=pdf_file.error if here and pdf_file and not pdf_file.sha256
                         and not present("pdf") else None,
                         cancellation=cancellation, issued_here=here or not doc.folder_id,
                         issued_in=doc.folder)


def _figures(document: DocumentFigures) -> dict[str, Any]:
    return {name: getattr(document, name) for name in FIGURES}


def run_invoices(data: InvoicingData, month: Month | str, out_dir: str | Path,
                 pdf: bool = True, progress: Progress | None = None,
                 register: Register | None = None, correct: bool = False,
                 issue_date: dt.date | None = None, issue_pending: bool = False,
                 allow_open_month: bool = False, executor: Executor | None = None,
                 copy_elsewhere: bool = False) -> InvoiceRunResult:
    """Bill ``month`` from validated records and publish its documents into
    ``out_dir/YYYY-MM`` (see the module's docstring). Without a ``register``, the one
    ``choose_register`` finds; without an ``executor``, this machine's cores draw."""
    month = parse_month(month)
    today = jst_today()
    check_month(month, today, allow_open_month or data.settings.open_month == "allow",
                issue_date)
    register = register or choose_register(out_dir, configured=data.settings.register)
    job = MonthRun(data, month, Path(out_dir), register, pdf,
                   progress or (lambda step, done, total: None), correct, issue_date,
                   issue_pending, today, executor, copy_elsewhere)
    with objects_frozen():  # what is alive now lives through the run: no collection walks it
        job.bill()
        return job.publish()


def run_invoice_workbook(workbook: str | Path, month: Month | str, out_dir: str | Path,
                         pdf: bool = True, engine: Engine = "fastexcel",
                         progress: Progress | None = None, register: Register | None = None,
                         correct: bool = False, issue_date: dt.date | None = None,
                         issue_pending: bool = False, allow_open_month: bool = False,
                         record_files: Mapping[str, str | Path] | None = None,
                         dask_scheduler: str | None = None, copy_elsewhere: bool = False
                         ) -> InvoiceRunResult:
    """Read ``workbook`` (with the record tables of ``record_files`` read from CSV or Parquet
    files instead of its sheets), validate it whole, and run the month (the CLI's job); the
    documents are drawn on the Dask cluster at ``dask_scheduler`` when one is given (reached
    before the workbook is read)."""
    month = parse_month(month)
    with contextlib.ExitStack() as owned:
        executor = None
        if dask_scheduler:  # a cluster that cannot do the work is found before the reading
            executor = owned.enter_context(executor_for(dask_scheduler))
            check_folder(executor, Path(out_dir))
        data = read_invoicing_workbook(workbook, engine, record_files)
        return run_invoices(data, month, out_dir, pdf, progress, register, correct, issue_date,
                            issue_pending, allow_open_month, executor, copy_elsewhere)
