"""What an invoice document says and in what order, whichever renderer draws it.

``invoice_document`` turns an engine ``Invoice`` (any kind: invoice, correction, draft,
statement) into an ``InvoiceDocument``: the first page (title, addressee, contract, meta,
issuer, amount due, the lines, tax per rate, total, bank, notes), the ご利用明細 table and, for
paid support, the ユニット残高 table. ``cancellation_document`` does the same for the notice
that voids an issued invoice. The workbook writer (``invoice_workbook.py``) and the PDF
renderer (``invoice_pdf.py``) only place these texts and values; neither decides what a
customer reads.

Customer documents never show the staff's workflow labels (``FLAG_LABELS_JA``): each flag has
its own customer wording in ``CUSTOMER_FLAG_WORDING``, or none where the customer has no
business seeing it.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from ..engine.codes import INVISIBLE, PLAN_LABELS_JA
from ..engine.errors import OutputError
from ..engine.invoice import (
    CORRECTION,
    DOCUMENT_KINDS,
    DRAFT,
    INVOICE,
    STATEMENT,
    Cancellation,
    Invoice,
    StatementEntry,
)
from ..engine.money import yen as yen_text
from ..engine.records import Contract
from ..engine.settings import Settings

INVOICE_SHEET = "請求書"
STATEMENT_COVER_SHEET = "ご利用明細書"  # a statement's first page: no invoice, no number
STATEMENT_SHEET = "明細"
UNITS_SHEET = "ユニット残高"
CANCELLATION_SHEET = "請求書取消"
PRICEBOOK_LABELS_JA = {"aki_sie": "サポートサービス", "vendor_support": "有料サポート"}
LINE_HEIGHT = 15  # points per line of wrapped text
DRAFT_MARK = "下書き"
UNNUMBERED_DRAFT = "（未採番・下書き）"

# How a value is shown: each renderer maps a kind to its own number format or text. NUMBER is
# a number as it is (No. 1, 2, …); COUNT groups thousands.
TEXT, YEN, DATE, COUNT, NUMBER = "text", "yen", "date", "count", "number"

# Each flag as the customer reads it: (note on the first page, remark in the statement).
# None: not shown to the customer. A limit's remark is the statement entry's own note
# (「リミット ¥20,000 適用」), whose staff-only part is left out (STAFF_ONLY_NOTE_PARTS).
CUSTOMER_FLAG_WORDING: dict[str, tuple[str | None, str | None]] = {
    "limit_pending": ("料金リミットを適用してご請求しています", None),
    "limit_applied": ("料金リミットを適用してご請求しています", None),
    "reply_beyond_limit": (None, None),  # staff: the reply must move to DM or e-mail
    "urgent": ("お急ぎ対応", "お急ぎ対応"),
    "over_monthly_max": ("当月のご利用件数が契約の月間件数を超えたため、超過分をご請求しています",
                         None),
    "rejected": ("個人利用の対象外のため、ご請求の対象外としました", "個人利用の対象外"),
    "units_topped_up": ("ユニット不足のため、インシデントパックを自動で追加しました", "パック自動追加"),
    "units_short": ("パックのユニット不足分をユニット単価でご請求しています", "ユニット不足分をご請求"),
    "onsite_quote": ("出張サポート (オプション) の料金は別途お見積りのうえご請求します", None),
    "term_minimum": (None, None),  # staff: the contract's end date breaks its minimum term
    "term_unit": (None, None),  # staff: the contract's term is not whole contract units
}
STAFF_ONLY_NOTE_PARTS = (" (ご判断待ち)", "(ご判断待ち)")
# A customer entered with its honorific, as clerks often type it (「株式会社アオバ商事 御中」,
# 「山田 太郎 様」), is addressed as it is: 御中 is not added after one. 殿 only after a space
# (「総務部 殿」): names end in 御殿, 宮殿, 湯殿. Spaces, invisible characters and variation
# selectors after it aside.
HONORIFIC_END = re.compile(f"(?:御中|様|[\\s{INVISIBLE}]殿|各位)"
                           f"[\\s{INVISIBLE}\\ufe00-\\ufe0f\\U000e0100-\\U000e01ef]*\\Z")


@dataclass(frozen=True)
class Field:
    """A labelled value (請求日 2026/11/02)."""

    label: str
    value: Any
    kind: str = TEXT


@dataclass(frozen=True)
class Column:
    title: str
    width: float  # Excel character units; the PDF shares the page in these proportions
    kind: str = TEXT


@dataclass(frozen=True)
class Table:
    """A heading, a header row and rows of values (text where a value is a string, whatever
    the column's kind), or ``empty_text`` when there are no rows."""

    title: str
    subtitle: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[Any, ...], ...]
    empty_text: str


@dataclass(frozen=True)
class FirstPage:
    """The page the customer reads first: 請求書, or ご利用明細書 for a statement."""

    sheet: str
    title: str
    banner: tuple[str, ...]  # under the title: a draft's warning, a correction's reference
    addressee: str
    contract_line: str
    meta: tuple[Field, ...]
    intro: str
    issuer: tuple[tuple[str, bool], ...]  # (text, bold)
    amount_due: Field | None  # None: nothing to pay (a statement)
    lines: Table | None  # None: a statement without fee lines
    taxes: tuple[Field, ...]  # subtotal and tax, per rate
    total: Field | None
    bank: tuple[str, ...]  # heading, account, how to pay; () for a statement
    notes: tuple[str, ...]


@dataclass(frozen=True)
class InvoiceDocument:
    kind: str
    contract_id: str
    identity: str  # the number, or what names an unnumbered document (PDF ID, file title)
    issued: dt.date  # the document's date (PDF creation date)
    author: str
    title: str  # document property
    draft: bool
    first_page: FirstPage
    statement: Table
    units: Table | None  # paid support only


@dataclass(frozen=True)
class CancellationDocument:
    identity: str
    issued: dt.date
    author: str
    title: str  # document property
    heading: str
    addressee: str
    contract_line: str
    meta: tuple[Field, ...]
    issuer: tuple[tuple[str, bool], ...]
    intro: str
    cancelled: tuple[Field, ...]  # the cancelled invoice: number, date, period, totals, reason
    closing: tuple[str, ...]


# -- texts shared by every document ------------------------------------------------------------

def month_label(invoice: Invoice) -> str:
    return f"{invoice.month.year}年{invoice.month.month}月"


def period_text(invoice: Invoice) -> str:
    return f"{invoice.month.first_day:%Y/%m/%d}〜{invoice.month.last_day:%Y/%m/%d}"


def contract_line(contract: Contract, pricebook: str) -> str:
    """「契約ID C001 (月額契約・サポートサービス)」; a label said once when plan and price book
    are called the same (有料サポート)."""
    labels = dict.fromkeys((PLAN_LABELS_JA.get(contract.plan, contract.plan),
                            PRICEBOOK_LABELS_JA.get(pricebook, pricebook)))
    return f"契約ID {contract.contract_id} ({'・'.join(labels)})"


def addressee(customer: str) -> str:
    """「〇〇 御中」, or the customer as entered when it ends with its honorific
    (``HONORIFIC_END``)."""
    return customer if HONORIFIC_END.search(customer) else f"{customer} 御中"


def issuer_lines(settings: Settings, registration: bool = True) -> tuple[tuple[str, bool], ...]:
    lines = [(settings.issuer_name, True), (settings.issuer_address, False),
             (settings.issuer_contact, False)]
    if registration:
        lines.append((f"登録番号 {settings.registration_number}", False))
    return tuple((text, bold) for text, bold in lines if text)


def japanese_date(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


class _CharacterWidths(dict[str, int]):
    """Each character's width, looked up in the Unicode database once per process."""

    def __missing__(self, character: str) -> int:
        width = self[character] = 2 if unicodedata.east_asian_width(character) in "WF" else 1
        return width


_character_widths = _CharacterWidths()


def display_width(text: str) -> int:
    """Width in Excel character units: full-width (East Asian wide) characters count 2."""
    return len(text) if text.isascii() else sum(map(_character_widths.__getitem__, text))


def row_heights(rows: Iterable[Sequence[Any]], widths: Sequence[float]
                ) -> Iterator[tuple[int, float]]:
    """(index, height) of each of ``rows`` whose text needs more than one line in columns
    ``widths`` wide (cells that are not text take one line). Neither Excel nor LibreOffice
    grows a row a program wrote, so its height is set."""
    rooms = [max(int(width) - 1, 1) for width in widths]  # narrow characters a line holds
    for index, values in enumerate(rows):
        lines = 1
        for value, room in zip(values, rooms, strict=True):
            # else one line, even if every character is wide
            if isinstance(value, str) and 2 * len(value) > room:
                lines = max(lines, -(-display_width(value) // room))
        if lines > 1:
            yield index, LINE_HEIGHT * lines


# -- the customer's wording ---------------------------------------------------------------------

def customer_note(code: str) -> str | None:
    return CUSTOMER_FLAG_WORDING.get(code, (None, None))[0]


def customer_remark(code: str) -> str | None:
    return CUSTOMER_FLAG_WORDING.get(code, (None, None))[1]


def notes_for(invoice: Invoice) -> list[str]:
    """The first page's notes: one per flagged incident the customer should know about, and
    where the units are."""
    notes = []
    for flag in invoice.flags:
        text = customer_note(flag.code)
        if text:
            where = f"インシデント {flag.incident_id}: " if flag.incident_id else ""
            notes.append(f"・{where}{text}")
    if any(entry.units for entry in invoice.statement) or invoice.packs:
        notes.append(f"・ユニットの使用と残高は別紙「{UNITS_SHEET}」をご覧ください")
    return list(dict.fromkeys(notes))


def statement_remarks(entry: StatementEntry) -> str:
    remarks = [text for text in map(customer_remark, entry.flags) if text]
    if entry.note and entry.billed:  # a refused incident's note is the staff's reason
        note = entry.note
        for part in STAFF_ONLY_NOTE_PARTS:
            note = note.replace(part, "")
        remarks.append(note)
    return "; ".join(remarks)


# -- the tables -----------------------------------------------------------------------------------

LINE_COLUMNS = (Column("No.", 5, NUMBER), Column("品目", 46), Column("数量", 7, COUNT),
                Column("単価", 14, YEN), Column("金額", 15, YEN), Column("税率", 7))
UNITS_COLUMNS = (Column("購入日", 12, DATE), Column("有効期限", 12, DATE),
                 Column("ユニット数", 10, COUNT), Column("前月までの使用", 14, COUNT),
                 Column("当月の使用", 11, COUNT), Column("残り", 9, COUNT), Column("備考", 22))


def lines_table(invoice: Invoice) -> Table:
    rows = tuple((number, line.description, line.quantity, line.unit_price, line.amount,
                  f"{line.tax_rate}%") for number, line in enumerate(invoice.lines, start=1))
    return Table("", "", LINE_COLUMNS, rows, "当月のご請求はありません (ご利用明細をご確認ください)")


def statement_columns(invoice: Invoice) -> tuple[Column, ...]:
    columns = [Column("インシデントID", 13), Column("受付日", 11, DATE), Column("完了日", 11, DATE),
               Column("窓口", 13), Column("対応内容", 20)]
    if invoice.pricebook == "aki_sie":
        columns += [Column("レベル", 9), Column("判定", 16), Column("料金", 11, YEN)]
    elif invoice.contract.plan == "vendor_support":
        columns += [Column("ユニット", 9, COUNT)]
    return (*columns, Column("備考", 30), Column("内容", 30))


def statement_row(invoice: Invoice, entry: StatementEntry) -> tuple[Any, ...]:
    values: list[Any] = [entry.incident_id, entry.opened, entry.closed, entry.channel,
                         entry.measures]
    if invoice.pricebook == "aki_sie":
        values += ["フェザー" if entry.level == 0 else f"レベル{entry.level}", entry.level_source,
                   entry.fee if entry.billed else "対象外"]
    elif invoice.contract.plan == "vendor_support":
        values.append(entry.units)
    return (*values, statement_remarks(entry), entry.description)


def statement_table(invoice: Invoice, number_text: str) -> Table:
    number = f"請求番号 {number_text}  " if number_text else ""
    return Table(f"ご利用明細 {month_label(invoice)} — {addressee(invoice.contract.customer)}",
                 f"{number}請求期間 {period_text(invoice)}", statement_columns(invoice),
                 tuple(statement_row(invoice, entry) for entry in invoice.statement),
                 "当月に完了したインシデントはありません")


def units_table(invoice: Invoice) -> Table:
    rows = tuple((pack.purchased, pack.expires, pack.units, pack.used_before,
                  pack.used_this_month, pack.left, "不足のため自動追加" if pack.auto_topup else "")
                 for pack in invoice.packs)
    return Table(f"ユニット残高 {month_label(invoice)} — {addressee(invoice.contract.customer)}",
                 f"パックごとのユニットの使用と残り ({invoice.month.last_day:%Y/%m/%d} 時点)",
                 UNITS_COLUMNS, rows, "有効なパックはありません")


# -- the documents --------------------------------------------------------------------------------

def correction_reference(invoice: Invoice) -> str:
    c = invoice.correction
    if c is None:
        raise OutputError(f"{invoice.contract.contract_id} {invoice.month}: a correction "
                          "(修正インボイス) must say which invoice it corrects")
    issued = f"{c.original_issue_date:%Y/%m/%d} 発行の" if c.original_issue_date else ""
    return (f"{issued}請求書 {c.original_number} （合計 {yen_text(c.original_total)}）を修正します。"
            f"差額 {yen_text(invoice.total - c.original_total, signed=True)}")


def invoice_document(invoice: Invoice, settings: Settings) -> InvoiceDocument:
    """What ``invoice`` says on paper, for its kind (``Invoice.kind``; an invoice carrying a
    ``correction`` is drawn as a correction). Raises OutputError for a document that cannot be
    drawn truthfully (an unknown kind, a correction without its original, a statement with
    something to pay)."""
    kind = invoice.kind
    if kind not in DOCUMENT_KINDS:
        raise OutputError(f"{invoice.contract.contract_id} {invoice.month}: unknown document "
                          f"kind {kind!r} (expected one of {', '.join(DOCUMENT_KINDS)})")
    if kind == INVOICE and invoice.correction is not None:
        kind = CORRECTION
    if kind == STATEMENT and invoice.total != 0:
        raise OutputError(f"{invoice.contract.contract_id} {invoice.month}: a statement (明細) "
                          f"has nothing to pay, but this one totals {yen_text(invoice.total)}")
    contract = invoice.contract
    correcting = kind == CORRECTION or (kind == DRAFT and invoice.correction is not None)
    banner: list[str] = []
    if kind == DRAFT:
        banner.append("下書き — 発行前の確認用です。請求書として送付しないでください。")
    if correcting:
        banner.append(correction_reference(invoice))
    if kind == STATEMENT:
        return _statement_document(invoice, settings)

    numbered = kind != DRAFT
    number_text = invoice.number if numbered else UNNUMBERED_DRAFT
    title = "請求書（修正インボイス）" if correcting else "請求書"
    if kind == DRAFT:
        title = f"{title[:-1]}・下書き）" if correcting else "請求書（下書き）"
    taxes: list[Field] = []
    for tax in invoice.taxes:
        taxes += [Field(f"{tax.rate_percent}%対象 小計", tax.taxable, YEN),
                  Field(f"消費税 ({tax.rate_percent}%)", tax.tax, YEN)]
    if not invoice.taxes:
        taxes.append(Field("10%対象 小計", 0, YEN))
    page = FirstPage(
        sheet=INVOICE_SHEET, title=title, banner=tuple(banner),
        addressee=addressee(contract.customer), contract_line=contract_line(contract, invoice.pricebook),
        meta=(Field("請求番号", number_text), Field("請求日", invoice.issue_date, DATE),
              Field("支払期日", invoice.due_date, DATE), Field("請求期間", period_text(invoice))),
        intro=f"{month_label(invoice)}ご利用分を下記のとおりご請求申し上げます。",
        issuer=issuer_lines(settings),
        amount_due=Field("ご請求金額 (税込)", invoice.total, YEN),
        lines=lines_table(invoice), taxes=tuple(taxes), total=Field("合計", invoice.total, YEN),
        bank=("お振込先", settings.bank_account,
              f"お支払方法: 銀行振込 ({invoice.due_date:%Y/%m/%d} までにお振込みください)"),
        notes=tuple(notes_for(invoice)))
    identity = invoice.number if numbered else _unnumbered_identity(invoice, kind)
    return InvoiceDocument(
        kind=kind, contract_id=contract.contract_id, identity=identity,
        issued=invoice.issue_date, author=settings.issuer_name, title=f"{title} {number_text}",
        draft=kind == DRAFT, first_page=page,
        statement=statement_table(invoice, number_text), units=_units(invoice))


def _statement_document(invoice: Invoice, settings: Settings) -> InvoiceDocument:
    """A month with nothing to pay: what was used, without number, amount due or bank — it is
    not a qualified invoice and does not look like one."""
    contract = invoice.contract
    lines = lines_table(invoice) if invoice.lines else None
    page = FirstPage(
        sheet=STATEMENT_COVER_SHEET, title="ご利用明細書", banner=(),
        addressee=addressee(contract.customer), contract_line=contract_line(contract, invoice.pricebook),
        meta=(Field("発行日", invoice.issue_date, DATE), Field("対象期間", period_text(invoice))),
        intro=f"{month_label(invoice)}のご利用内容をお知らせします。当月のご請求はありません。",
        issuer=issuer_lines(settings, registration=False), amount_due=None, lines=lines,
        taxes=(), total=None, bank=(), notes=tuple(notes_for(invoice)))
    return InvoiceDocument(
        kind=STATEMENT, contract_id=contract.contract_id, identity=_unnumbered_identity(invoice, STATEMENT),
        issued=invoice.issue_date, author=settings.issuer_name,
        title=f"ご利用明細書 {contract.contract_id} {invoice.month}", draft=False,
        first_page=page, statement=statement_table(invoice, ""), units=_units(invoice))


def _units(invoice: Invoice) -> Table | None:
    return units_table(invoice) if invoice.contract.plan == "vendor_support" else None


def _unnumbered_identity(invoice: Invoice, kind: str) -> str:
    return f"{kind}:{invoice.contract.contract_id}:{invoice.month}"


def cancellation_document(cancellation: Cancellation, settings: Settings) -> CancellationDocument:
    """The notice that voids an issued invoice (請求書取消のお知らせ)."""
    c = cancellation
    month = f"{c.month.first_day:%Y/%m/%d}〜{c.month.last_day:%Y/%m/%d}"
    return CancellationDocument(
        identity=f"cancel:{c.number}", issued=c.cancelled_on, author=settings.issuer_name,
        title=f"請求書取消のお知らせ {c.number}", heading="請求書取消のお知らせ",
        addressee=addressee(c.contract.customer),
        contract_line=contract_line(c.contract, c.contract.pricebook),
        meta=(Field("取消日", c.cancelled_on, DATE),),
        issuer=issuer_lines(settings),
        intro=f"{japanese_date(c.original_issue_date)}付でお送りした下記の請求書を取り消します。",
        cancelled=(Field("請求番号", c.number), Field("請求日", c.original_issue_date, DATE),
                   Field("請求期間", month), Field("小計", c.original_subtotal, YEN),
                   Field("消費税", c.original_tax, YEN), Field("合計", c.original_total, YEN),
                   Field("取消理由", c.reason)),
        closing=(f"この請求書 ({c.number}) は無効です。お支払いの必要はありません。",
                 *((f"{c.number} は {c.corrects} を訂正した修正インボイスです。{c.corrects} も"
                    "無効のままです。",) if c.corrects else ()),
                 "この請求番号は今後、他の請求書に使用いたしません。",
                 "ご不明な点は発行者までお問い合わせください。"))
