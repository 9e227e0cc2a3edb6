"""The invoices whose workbooks are kept as golden files in this folder: written here line by
line (not billed by the engine), so that they change only when the writer does. Shaped after
the demo month 2026-10 (xlquote.app.sample)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

from xlquote.engine.dates import Month
from xlquote.engine.invoice import (
    CORRECTION,
    DRAFT,
    STATEMENT,
    Cancellation,
    Correction,
    Flag,
    Invoice,
    Line,
    PackBalance,
    StatementEntry,
    TaxSummary,
)
from xlquote.engine.records import Contract
from xlquote.engine.settings import Settings

FOLDER = Path(__file__).resolve().parent
MONTH = Month(2026, 10)
ISSUED, DUE = dt.date(2026, 11, 2), dt.date(2026, 12, 2)
SETTINGS = Settings(
    issuer_name="Aki SIE サポートサービス株式会社", registration_number="T1234567890123",
    bank_account="みずなみ銀行 本店営業部 普通 1234567 アキシーサポート(カ",
    issuer_address="〒100-0001 東京都千代田区千代田1-1 サンプルビル5F",
    issuer_contact="TEL 03-0000-0000 / billing@example.jp")


def _contract(contract_id: str, customer: str, pricebook: str, plan: str, **fields: object
              ) -> Contract:
    base = dict(support_range="normal", max_incidents=None, licences=None,
                start_date=dt.date(2025, 10, 1), end_date=None, fee_limit=None,
                members_allowed=None, approver="", sole_proprietor_shared_env=False,
                karte_payment="consume")
    return Contract(contract_id, customer, pricebook, plan, **(base | fields))  # type: ignore[arg-type]


def _entry(incident_id: str, day: int, channel: str, measures: str, description: str,
           **fields: object) -> StatementEntry:
    base = dict(level=0, level_source="", fee=0, full_fee=0)
    return StatementEntry(incident_id, dt.date(2026, 10, day), dt.date(2026, 10, day), channel,
                          measures, description=description, **(base | fields))  # type: ignore[arg-type]


def _line(kind: str, description: str, amount: int, incident_id: str = "") -> Line:
    """One of a fee: quantity 1, at the standard rate."""
    return Line(kind, description, 1, amount, amount, incident_id, tax_rate=10)


def _invoice(contract: Contract, number: str, lines: list[Line], **fields: object) -> Invoice:
    subtotal = sum(line.amount for line in lines)
    taxes = [TaxSummary(10, subtotal, subtotal // 10)] if lines else []
    return Invoice(contract, MONTH, contract.pricebook, ISSUED, DUE, lines=lines, taxes=taxes,
                   number=number, **fields)  # type: ignore[arg-type]


def annual() -> Invoice:
    """An annual contract: the year's base fee, an incident at its limit awaiting the
    customer's decision (a staff flag the customer must not read)."""
    contract = _contract("C004", "株式会社ヒバリ物流", "aki_sie", "annual",
                         support_range="advanced", fee_limit=20000)
    return _invoice(contract, "INV-202610-0004", [
        _line("annual_base_fee", "年額基本料金 (高度に技術的) 2026/10〜2027/09", 80000),
        _line("incident", "インシデント I-1009 レベル7 (出張)", 20000, "I-1009")],
        statement=[_entry("I-1009", 19, "出張", "出張1回 1日", "倉庫端末の入れ替え", level=7,
                          level_source="出張回数", fee=20000, full_fee=40000,
                          flags=("limit_pending",), note="リミット ¥20,000 適用 (ご判断待ち)")],
        flags=[Flag("limit_pending", "レベル7の料金 ¥40,000 がリミット ¥20,000 に達しました。継続か中止か"
                    "をお客様に確認し、Incidents シートの limit_decision に記録してください (記録までは "
                    "¥20,000 で計算)", "I-1009")])


def monthly() -> Invoice:
    """A monthly contract: the month's fee, a chart, a refused personal use (not billed), an
    urgent incident, and a description that looks like a formula."""
    contract = _contract("C012", "アカツキ食品株式会社", "aki_sie", "monthly",
                         support_range="technical", max_incidents=4)
    return _invoice(contract, "INV-202610-0012", [
        _line("monthly_fee", "月額基本料金 (技術的・月4件まで) 2026-10", 35000),
        _line("chart", "カルテ作成 (鈴木 花子) レベル3 — 年額契約料金", 4000, "I-1019")],
        statement=[
            _entry("I-1019", 6, "メール", "3往復", "=個人PCのウイルス対策", level=1,
                   level_source="往復数", flags=("urgent",)),
            _entry("I-1020", 20, "電話", "8分", "私物タブレットの設定", level=1,
                   level_source="通話・チャット時間", billed=False, flags=("rejected",),
                   note=REFUSED)],
        flags=[Flag("urgent", "お急ぎの依頼です。通常よりレベルが上がるときは level_override にレベルを"
                              "記録してください (自動では上げません)", "I-1019"),
               Flag("rejected", REFUSED, "I-1020")])


REFUSED = ("利用者「伊藤 誠」はこの契約で個人利用できません (個人利用できる人: 鈴木 花子)。"
           "Contracts シートの members_allowed をご確認ください")


def vendor() -> Invoice:
    """Paid support: the annual fee, a pack topped up automatically, the units sheet."""
    contract = _contract("V002", "株式会社ナギサ医療", "vendor_support", "vendor_support",
                         licences=120)
    return _invoice(contract, "INV-202610-0015", [
        _line("vendor_annual_fee", "有料サポート年額基本料金 2026/10〜2027/09 (120ライセンス)", 110000),
        _line("pack_topup", "インシデントパック自動追加 10ユニット × 1口 (2026/10/07, インシデント "
             "I-1026)", 30000, "I-1026")],
        statement=[_entry("I-1026", 7, "電話", "90分", "ライセンス異動 (部署統合)", units=3,
                          flags=("units_topped_up",))],
        packs=[PackBalance(dt.date(2026, 5, 10), dt.date(2027, 5, 9), 10, 8, 2),
               PackBalance(dt.date(2026, 10, 7), dt.date(2027, 10, 6), 10, 0, 1, True)],
        flags=[Flag("units_topped_up", "ユニットが 3ユニット不足したため、10ユニットのパックを 1口 自動で"
                                       "追加しました (¥30,000 を請求)", "I-1026")])


def callcentre() -> Invoice:
    contract = _contract("CC01", "グローバル物産株式会社", "vendor_support", "callcenter",
                         licences=5000, start_date=dt.date(2026, 10, 1))
    return _invoice(contract, "INV-202610-0017", [
        _line("callcenter_initial", "コールセンター初期費用 (5,000ライセンスまで)", 1200000),
        _line("callcenter_monthly", "コールセンター月額費用 (5,000ライセンスまで) 2026-10", 4000000)],
        statement=[_entry("I-1029", 26, "電話", "15分", "導入初日の問い合わせ",
                          note="月額費用に含む")])


def correction() -> Invoice:
    """The annual invoice reissued after the customer chose to continue: the full fee."""
    base = annual()
    lines = [base.lines[0], dataclasses.replace(base.lines[1], unit_price=40000, amount=40000)]
    return dataclasses.replace(
        base, number="INV-202610-0020", lines=lines, taxes=[TaxSummary(10, 120000, 12000)],
        issue_date=dt.date(2026, 11, 16), due_date=dt.date(2026, 12, 16), flags=[],
        statement=[dataclasses.replace(base.statement[0], fee=40000, flags=(),
                                       note="リミット ¥20,000 超過、継続のご判断により全額")],
        kind=CORRECTION, correction=Correction("INV-202610-0004", 100000, 10000, 110000, ISSUED))


def draft() -> Invoice:
    """The annual invoice held as a draft while the limit decision is pending."""
    return dataclasses.replace(annual(), kind=DRAFT, number="")


def statement() -> Invoice:
    """Paid support in a month with nothing to pay: units used from a pack bought earlier."""
    contract = _contract("V001", "東都精機株式会社", "vendor_support", "vendor_support",
                         licences=40, start_date=dt.date(2026, 4, 1))
    return _invoice(contract, "", [], kind=STATEMENT,
                    statement=[_entry("I-1025", 21, "電話", "95分", "サーバー版へのアップグレード",
                                      units=4)],
                    packs=[PackBalance(dt.date(2026, 4, 1), dt.date(2027, 3, 31), 10, 4, 4)])


def cancellation() -> Cancellation:
    base = callcentre()
    return Cancellation(base.number, base.contract, MONTH, ISSUED, base.subtotal, base.tax,
                        base.total, dt.date(2026, 11, 10), "契約開始日の誤りによる請求のため")


INVOICES = {"annual": annual, "monthly": monthly, "vendor": vendor, "callcentre": callcentre,
            "correction": correction, "draft": draft, "statement": statement}
CANCELLATIONS = {"cancellation": cancellation}


def golden_path(name: str) -> Path:
    return FOLDER / f"{name}.xlsx"
