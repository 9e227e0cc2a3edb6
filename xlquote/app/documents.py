"""The documents a run issues or writes, as the register keeps them and as files.

An issued document is kept as its *billed content* (the engine's Invoice as billed for the
month: lines, statement, packs, flags, taxes — compressed JSON) plus a header of its own
(number, kind, issue and due dates, what it corrects) and the Settings it was issued with.
Files are drawn from exactly that, so a file made years later (a missing PDF) says what the
issued one said.

Two hashes compare a rerun with what was issued, both over the billed content (the engine's
invoice as billed for the month, before a number and dates of its own are put on it):
- ``legal_hash``: the items a qualified invoice must state (適格請求書の記載事項) that the
  billing produces — the customer, the period, every line (品目, 数量, 単価, 金額, 税率) and
  the totals per rate. A change here needs a correction invoice (修正インボイス).
- ``content_hash``: everything else too (the statement's descriptions, notes, flags). A change
  only here is reported; the issued document stays as it is.
The issuer's details (Settings) are in neither: they apply to documents issued from then on.

``render`` is a plain function of (job, folder): it can run in another process.
"""

from __future__ import annotations

import codecs
import datetime as dt
import hashlib
import json
import os
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import msgspec
import numpy as np

from ..deflate import zlib
from ..engine.dates import Month
from ..engine.invoice import Cancellation, Correction, Invoice
from ..engine.records import Contract
from ..engine.service import ResponseRow
from ..engine.settings import Settings
from ..writers import (
    cancellation_document,
    cancellation_document_pdf_bytes,
    cancellation_document_workbook_bytes,
    invoice_document,
    invoice_document_pdf_bytes,
    invoice_document_workbook_bytes,
)

JST = dt.timezone(dt.timedelta(hours=9), "JST")  # Japan keeps no daylight saving time

# File names. Numbered documents are ``INV-YYYYMM-NNNN_<contract>_<customer>``; nothing
# unnumbered starts with the number's prefix.
DRAFT_PREFIX = "下書き"  # an invoice held until a decision is recorded (no number)
STATEMENT_PREFIX = "明細"  # a month with nothing to pay (no number)
CANCELLATION_PREFIX = "取消"  # the document cancelling an issued invoice: 取消_<its name>
# A file name is at most 255 bytes on common file systems; the temporary name a file is
# written under first adds ~12 bytes, so a name is kept to this many bytes, extension included.
NAME_BYTES = 200
ROLES = ("xlsx", "pdf")
# The characters a document shows are counted a slice of its content at a time: a statement of
# 3,000 descriptions of 32,767 characters is ~300 MB of JSON, which decoded and widened whole
# would take ~0.7 GB more memory.
COUNTED_SLICE = 1 << 20
_BEYOND_BMP = re.compile("[\U00010000-\U0010ffff]")
# The register's contents are deflated at level 1: a month's invoices are compressed as
# they are billed, ~6× less CPU than level 6 for ~1.5× the bytes (~5 KB an invoice).
CONTENT_LEVEL = 1


def jst_now() -> dt.datetime:
    return dt.datetime.now(JST)


def jst_today() -> dt.date:
    """Today in Japan: the business date of issue dates and of "has the month ended"."""
    return jst_now().date()


def timestamp() -> str:
    """A register timestamp: JST with its offset, e.g. 2026-11-02T09:15:04+09:00."""
    return jst_now().isoformat(timespec="seconds")


# --- content ---------------------------------------------------------------------------------

def _decode_hook(kind: type, value: Any) -> Any:
    if kind is Month:
        return Month.parse(value)
    raise NotImplementedError(kind)


# Records to JSON and back, typed by their dataclasses. The text is what the register has
# always stored and hashed: keys sorted, no spaces, text as UTF-8 (not \u-escaped), dates
# ISO, a Month as "YYYY-MM" and anything else JSON has no type for as its text.
_encoder = msgspec.json.Encoder(enc_hook=str, order="sorted")
_decoders: dict[Any, msgspec.json.Decoder[Any]] = {}


def _json(data: Any) -> str:
    return _encoder.encode(data).decode("utf-8")


def _decode(data: bytes | str, kind: Any) -> Any:
    """``data`` as a ``kind``; fields added to ``kind`` since it was stored take their
    defaults, fields it no longer has are ignored, a number stored as text is read as one."""
    decoder = _decoders.get(kind)
    if decoder is None:
        decoder = _decoders[kind] = msgspec.json.Decoder(kind, dec_hook=_decode_hook,
                                                        strict=False)
    return decoder.decode(data)


def _sha256(text: str | bytes) -> str:
    return hashlib.sha256(text.encode("utf-8") if isinstance(text, str) else text).hexdigest()


@dataclass(frozen=True)
class BilledContent:
    """A billed invoice as the register stores it (zlib-compressed JSON) and its hashes, and
    how many distinct characters its documents may show (``shown_characters``)."""

    content: bytes
    content_hash: str
    legal_hash: str
    characters: int


def billed_content(invoice: Invoice, printed_everywhere: str = "") -> BilledContent:
    """The engine's invoice as billed for the month (its default number, the month's dates):
    its JSON is stored, and hashed as the content hash. ``printed_everywhere``: the issuer's
    details, which every document prints beside the content."""
    text = _encoder.encode(_without_sheet_row(invoice))
    return BilledContent(zlib.compress(text, CONTENT_LEVEL), _sha256(text), legal_hash(invoice),
                         shown_characters(text, printed_everywhere))


def _with_sheet_row(invoice: Invoice, row: int | None) -> Invoice:
    """The invoice with ``row`` as its contract's row on the Contracts sheet."""
    return replace(invoice, contract=replace(invoice.contract, row=row))


def _without_sheet_row(invoice: Invoice) -> Invoice:
    """The invoice without its contract's sheet row, which no document shows: sorting the
    sheet changes no invoice."""
    return _with_sheet_row(invoice, None)


def content_hash_with_row(content: bytes, row: int | None) -> str:
    """The content hash as registers recorded it before 2026-12-07, with the contract's sheet
    row in the content: compared with their issued invoices (a row that moved since then reads
    as a change once more)."""
    return _sha256(_encoder.encode(_with_sheet_row(decode_invoice(content), row)))


def shown_characters(*texts: str | bytes) -> int:
    """The distinct characters ``texts`` hold (as text, or as UTF-8), as the month's budget
    counts what a document shows: each character other than ASCII once, ASCII as 128 together
    (the layout's own labels are not counted). A PDF embeds a glyph of its font for each (~500
    bytes for a kanji, with its hinting). Counted on a table of the 65,536 UTF-16 units: ~0.1
    ms for 70 KB of text, where a set of the characters takes ~1.5 ms; characters beyond
    U+FFFF apart. Read a slice at a time (``COUNTED_SLICE``)."""
    seen = np.zeros(0x10000, np.bool_)
    beyond: set[str] = set()
    for text in texts:
        for piece in _slices(text):
            units = piece.encode("utf-16-le", "surrogatepass")
            seen[np.frombuffer(units, np.uint16)] = True
            if len(units) > 2 * len(piece):  # a character beyond U+FFFF takes two units
                beyond.update(_BEYOND_BMP.findall(piece))
    counted = 0x80 + int(np.count_nonzero(seen[0x80:]))
    # a pair's two units stand for one character; a lone one shows nothing
    return counted + len(beyond) - int(np.count_nonzero(seen[0xD800:0xE000]))


def _slices(text: str | bytes) -> Iterator[str]:
    """``text`` in slices of ``COUNTED_SLICE`` characters or bytes (UTF-8, decoded)."""
    if isinstance(text, str):
        for start in range(0, len(text), COUNTED_SLICE):
            yield text[start:start + COUNTED_SLICE]
        return
    decoder = codecs.getincrementaldecoder("utf-8")()
    view = memoryview(text)
    for start in range(0, len(view), COUNTED_SLICE):
        yield decoder.decode(view[start:start + COUNTED_SLICE])
    yield decoder.decode(b"", final=True)


def decode_invoice(content: bytes) -> Invoice:
    invoice: Invoice = _decode(zlib.decompress(content), Invoice)
    return invoice


def encode_contract(contract: Contract) -> str:
    return _json(contract)


def decode_contract(text: str) -> Contract:
    contract: Contract = _decode(text, Contract)
    return contract


def first_register_hash(invoice: Invoice) -> str:
    """The content hash as the first register computed it (everything ``to_dict`` says but the
    number and the correction): compared with the invoices it recorded."""
    data = invoice.to_dict()
    data.pop("number", None)
    data.pop("correction", None)
    return _sha256(json.dumps(data, ensure_ascii=False, sort_keys=True, default=str))


def legal_hash(invoice: Invoice) -> str:
    """SHA-256 of the billed items a qualified invoice must state (see the module's docstring)."""
    return _sha256(_json({
        "customer": invoice.contract.customer,
        "contract_id": invoice.contract.contract_id,
        "month": str(invoice.month),
        "lines": [[line.description, line.quantity, line.unit_price, line.amount, line.tax_rate]
                  for line in invoice.lines],
        "taxes": [[t.rate_percent, t.taxable, t.tax] for t in invoice.taxes],
        "total": invoice.total,
    }))


def legal_change(before: Invoice, after: Invoice) -> str:
    """What changed among the items ``legal_hash`` covers, as a refusal names it: the total
    when it moved, the addressee, else the lines (a total can stay while lines change)."""
    changes = []
    if before.total != after.total:
        changes.append(f"合計 {before.total:,} → {after.total:,}")
    if before.contract.customer != after.contract.customer:
        changes.append(f"請求先 「{before.contract.customer}」 → 「{after.contract.customer}」")
    if not changes:
        changes.append(f"請求の明細行 (合計 {after.total:,} は同じ)")
    return ", ".join(changes)


def encode_settings(settings: Settings) -> str:
    return _json(settings)


def decode_settings(text: str) -> Settings:
    """Settings as recorded; fields added since take their defaults."""
    settings: Settings = _decode(text, Settings)
    return settings


def encode_responses(rows: Sequence[ResponseRow]) -> str:
    return _json(list(rows))


def decode_responses(text: str) -> list[ResponseRow]:
    rows: list[ResponseRow] = _decode(text, list[ResponseRow])
    return rows


def settings_hash(text: str) -> str:
    return _sha256(text)


@dataclass(frozen=True)
class Header:
    """What a document says of itself, beyond what was billed."""

    number: str  # "" for a draft or a statement
    kind: str  # one of engine.invoice.DOCUMENT_KINDS
    issue_date: dt.date
    due_date: dt.date
    correction: Correction | None = None


def document(content: bytes | Invoice, header: Header) -> Invoice:
    invoice = decode_invoice(content) if isinstance(content, bytes) else content
    invoice.number = header.number
    invoice.kind = header.kind
    invoice.issue_date = header.issue_date
    invoice.due_date = header.due_date
    invoice.correction = header.correction
    return invoice


# --- names -----------------------------------------------------------------------------------

def safe_filename(text: str) -> str:
    """A file-name part from user text: letters (any script), digits, '-', '&', '()'; the rest
    becomes '_' (no path separators, dots or characters Windows refuses)."""
    return re.sub(r"[^\w\-&()（）]+", "_", text, flags=re.UNICODE).strip("_") or "_"


def _cut(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` UTF-8 bytes, at a character boundary."""
    return text.encode("utf-8")[:max(limit, 0)].decode("utf-8", "ignore")


def document_stem(prefix: str, contract_id: str, customer: str) -> str:
    """``<prefix>_<contract>_<customer>``, at most NAME_BYTES with an extension: the customer
    is shortened first (the prefix — a number — and the contract identify the document)."""
    head = f"{prefix}_{safe_filename(contract_id)}"
    room = NAME_BYTES - len(".xlsx") - 1  # one "_" before the customer
    head = _cut(head, room - 3)  # a contract id of hundreds of bytes: keep some customer
    return f"{head}_{_cut(safe_filename(customer), room - len(head.encode('utf-8')))}".rstrip("_")


def cancellation_stem(stem: str) -> str:
    return _cut(f"{CANCELLATION_PREFIX}_{stem}", NAME_BYTES - len(".xlsx"))


def summary_filename(month: Month) -> str:
    return f"請求一覧_{month}.xlsx"


# --- rendering -------------------------------------------------------------------------------

# A document's files show one layout: it is made once for the workbook and the PDF.
Layout = Callable[[Any, Settings], Any]  # a document and its Settings → what its files show
LAYOUTS: dict[str, Layout] = {"invoice": invoice_document, "cancellation": cancellation_document}
Drawer = Callable[[Any], bytes]  # a document's layout → the file's bytes
DRAWERS: dict[tuple[str, str], Drawer] = {
    ("invoice", "xlsx"): invoice_document_workbook_bytes,
    ("invoice", "pdf"): invoice_document_pdf_bytes,
    ("cancellation", "xlsx"): cancellation_document_workbook_bytes,
    ("cancellation", "pdf"): cancellation_document_pdf_bytes,
}


@dataclass(frozen=True)
class RenderJob:
    """The files of one document to draw: an invoice (billed content + header) or a
    cancellation, with the Settings it is issued with."""

    month: Month
    stem: str
    roles: tuple[str, ...]
    settings: Settings
    content: bytes | None = None
    header: Header | None = None
    cancellation: Cancellation | None = None
    number: str = ""  # the register's key; "" for drafts and statements
    overwrite: bool = True  # False: the document is issued; an existing file stays as it is

    @property
    def family(self) -> str:
        return "invoice" if self.cancellation is None else "cancellation"

    @property
    def kind(self) -> str:
        """The document's kind (``engine.invoice.DOCUMENT_KINDS``), or ``cancellation``."""
        if self.cancellation is not None or self.header is None:
            return self.family
        return self.header.kind

    def draw(self) -> Invoice | Cancellation:
        if self.cancellation is not None:
            return self.cancellation
        assert self.content is not None and self.header is not None
        return document(self.content, self.header)

    def name(self, role: str) -> str:
        return f"{self.stem}.{role}"


@dataclass
class Rendered:
    """One job's files in the staging folder: role → SHA-256, and roles that failed."""

    sha256: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    glyphless: str = ""  # characters its PDF printed as boxes (``DrawnPdf``)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def render(job: RenderJob, folder: Path) -> Rendered:
    """Draw ``job``'s files into ``folder`` (a run's staging folder, whose files are moved
    to their names only once all are drawn: each is drawn in memory and written once). The
    workbook must be made (any failure raises); a PDF that cannot be drawn is recorded in
    ``errors`` and the document stays issued. An OSError (disk full, permissions) always
    raises: it is the run's failure to write."""
    drawn = job.draw()
    layout = None  # made by the first role drawn; a failure is that role's
    out = Rendered()
    for role in job.roles:
        try:
            if layout is None:
                layout = LAYOUTS[job.family](drawn, job.settings)
            data = DRAWERS[(job.family, role)](layout)
        except OSError:
            raise
        except Exception as exc:
            if role == "xlsx":
                raise
            out.errors[role] = f"{type(exc).__name__}: {exc}"
            continue
        (folder / job.name(role)).write_bytes(data)
        out.sha256[role] = _sha256(data)
        if role == "pdf":
            out.glyphless = getattr(data, "glyphless", "")
    return out


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
