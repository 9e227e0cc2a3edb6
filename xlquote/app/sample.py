"""Realistic, deterministic sample data for ``xlquote demo``, the invoicing workbook and tests.

Twenty-one contracts over both price books and every plan kind, and an incident log from April to
October 2026. October 2026 (``SAMPLE_MONTH``) exercises every rule of RULES.md: feathers, an
overage, a fee limit waiting for the customer's decision, absorption into tutoring, a chart fee,
a pack top-up, a call centre's first month, and the public worked examples (RULES 5) as the
contracts C001, C002, V001 and CC01. Its notices (``xlquote notices``) hold one of each kind: units
used after every paid-support response, a fee limit reached (closed I-1009, and I-1033 still
open), units of V004's pack expiring in November; open incidents with their response due dates
(I-1032 of a monthly contract is overdue); first replies met and missed (対応状況). Records
are plain dicts keyed by the sheet headers (``xlquote.engine.records`` field names).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

SAMPLE_MONTH = "2026-10"
Record = dict[str, Any]


def _d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def sample_settings() -> dict[str, str]:
    return {
        "issuer_name": "Aki SIE サポートサービス株式会社",
        "registration_number": "T1234567890123",
        "issuer_address": "〒100-0001 東京都千代田区千代田1-1 サンプルビル5F",
        "issuer_contact": "TEL 03-0000-0000 / billing@example.jp",
        "bank_account": "みずなみ銀行 本店営業部 普通 1234567 アキシーサポート(カ",
        "tax_rounding": "",
        "output_folder": "invoices",
        "closed_days": "12/29-1/3",
    }


def _contract(contract_id: str, customer: str, plan: str, start: str, **fields: Any) -> Record:
    record: Record = {"contract_id": contract_id, "customer": customer, "plan": plan,
                      "start_date": _d(start)}
    for key, value in fields.items():
        record[key] = _d(value) if key == "end_date" else value
    return record


def sample_contracts() -> list[Record]:
    c = _contract
    return [
        # Price book B (Aki SIE), monthly and annual contracts
        c("C001", "株式会社アオバ商事", "monthly", "2026-04-01", support_range="technical",
          max_incidents=2),  # RULES 5.1
        c("C002", "有限会社カワセミ工房", "annual", "2026-07-01"),  # RULES 5.2
        c("C003", "ミナト設計事務所", "monthly", "2026-01-01", max_incidents=2),  # overage
        c("C004", "株式会社ヒバリ物流", "annual", "2025-10-01", support_range="advanced",
          fee_limit=20000),  # new contract year + a limit waiting for a decision
        c("C005", "さくらソフト合同会社", "annual", "2026-02-01",
          support_range="technical"),  # absorption into tutoring
        c("C006", "株式会社ツバメ製作所", "monthly", "2025-11-01", max_incidents=3,
          members_allowed="all", approver="社長"),  # members' personal use, chart
        c("C007", "山田デザイン事務所", "annual", "2026-03-01", members_allowed="山田 太郎",
          sole_proprietor_shared_env=True),  # sole proprietor: no chart
        c("C008", "株式会社ミドリ不動産", "monthly", "2024-10-01",
          support_range="mission_critical", max_incidents=1, end_date="2027-09-30"),
        c("C009", "北斗システム株式会社", "annual", "2025-04-01",
          support_range="mission_critical", end_date="2028-03-31", fee_limit=50000),
        c("C010", "株式会社コハク", "monthly", "2026-06-01", support_range="advanced",
          max_incidents=5),  # a public reply beyond what it may settle
        c("C011", "有限会社シラサギ", "annual", "2025-10-01",
          end_date="2026-09-30"),  # ended: history only, no October invoice
        c("C012", "アカツキ食品株式会社", "monthly", "2026-03-01", support_range="technical",
          max_incidents=4, members_allowed="鈴木 花子, 高橋 一郎", approver="総務部長",
          karte_payment="pay"),  # chart paid at the annual level-3 fee
        c("C013", "ソラマメ株式会社", "annual", "2026-10-01"),  # first month of an annual plan
        c("C014", "株式会社イカルガ", "monthly", "2026-05-01", max_incidents=1,
          end_date="2027-04-30"),  # feathers only
        c("C015", "Nakamura & Partners 合同会社", "annual", "2026-01-15",
          support_range="technical"),
        # Price book A (software vendor): paid support in units and packs, and the call centre
        c("V001", "東都精機株式会社", "vendor_support", "2026-04-01", licences=40),  # RULES 5.3
        c("V002", "株式会社ナギサ医療", "vendor_support", "2025-10-01",
          licences=120),  # new contract year + pack top-up
        c("V003", "みらい教育サービス株式会社", "vendor_support", "2026-10-01",
          licences=10),  # first month: annual fee and a pack
        c("CC01", "グローバル物産株式会社", "callcenter", "2026-10-01",
          licences=5000),  # RULES 5.4: call centre's first month
        c("CC02", "株式会社ひまわり保険サービス", "callcenter", "2026-03-01", licences=800,
          end_date="2027-02-28"),
        c("V004", "株式会社ユキワリ印刷", "vendor_support", "2025-11-17",
          licences=20),  # no invoice in October; its unused pack expires 2026-11-16
    ]


def _incident(incident_id: str, contract_id: str, opened: str, closed: str | None,
              channel: str, **fields: Any) -> Record:
    return {"incident_id": incident_id, "contract_id": contract_id, "opened": _d(opened),
            "closed": _d(closed) if closed else None, "channel": channel, **fields}


def sample_incidents() -> list[Record]:
    i = _incident
    history = [
        # April–September: read for pack balances, first personal use and term checks.
        i("I-0401", "V001", "2026-04-08", "2026-04-08", "phone", minutes=50,
          description="ライセンス認証エラー"),
        i("I-0402", "V001", "2026-06-02", "2026-06-03", "phone", minutes=45,
          description="インストール手順の確認"),
        i("I-0403", "C003", "2026-04-14", "2026-04-14", "email", round_trips=4,
          description="バックアップ設定の相談"),
        i("I-0501", "V002", "2026-05-12", "2026-05-12", "phone", minutes=120,
          description="データ移行の手順"),
        i("I-0502", "V002", "2026-07-01", "2026-07-02", "skype_call", minutes=110,
          description="帳票レイアウトの不具合"),
        i("I-0601", "C006", "2026-06-10", "2026-06-10", "phone", minutes=12,
          member="佐藤 健", personal=True, approved_by="社長", description="自宅PCの設定"),
        i("I-0602", "C011", "2026-06-20", "2026-06-22", "email", round_trips=6,
          description="メールソフトの設定"),
        i("I-0701", "C002", "2026-07-15", "2026-07-15", "email", round_trips=2,
          description="請求書の送付先変更"),
        i("I-0801", "C009", "2026-08-03", "2026-08-05", "skype_chat", minutes=45,
          description="サーバー監視の設定"),
        i("I-0901", "C004", "2026-09-08", "2026-09-09", "phone", minutes=40,
          description="VPN 接続の不具合"),
        i("I-0902", "C010", "2026-09-17", "2026-09-17", "dm", round_trips=3,
          description="アカウント復旧"),
        i("I-0903", "CC02", "2026-09-24", "2026-09-24", "phone", minutes=18,
          description="操作方法のお問い合わせ"),
    ]
    october = [
        # RULES 5.1: feather e-mail, level-2 call (included), level-4 chat (2,000).
        i("I-1001", "C001", "2026-10-02", "2026-10-02", "email", round_trips=2,
          first_response=_d("2026-10-02"), description="ログイン方法の確認"),
        i("I-1002", "C001", "2026-10-06", "2026-10-06", "phone", minutes=25,
          description="プリンタ共有の設定"),
        i("I-1003", "C001", "2026-10-14", "2026-10-14", "skype_chat", minutes=100,
          description="ファイルサーバーの権限整理"),
        # RULES 5.2: 30 round trips over 9 days → level 6.
        i("I-1004", "C002", "2026-10-05", "2026-10-14", "email", round_trips=30,
          first_response=_d("2026-10-08"),  # due 10/07 (2 business days): missed
          description="会計ソフトの移行相談"),
        # C003: 3 counted incidents on a 2-incident plan → overage; one feather.
        i("I-1005", "C003", "2026-10-01", "2026-10-01", "phone", minutes=4,
          description="再起動の確認"),
        i("I-1006", "C003", "2026-10-07", "2026-10-07", "phone", minutes=20,
          description="Wi-Fi がつながらない"),
        i("I-1007", "C003", "2026-10-15", "2026-10-16", "email", round_trips=7,
          description="共有フォルダの設定"),
        i("I-1008", "C003", "2026-10-27", "2026-10-27", "skype_call", minutes=35,
          description="CAD ソフトのライセンス移行"),
        # C004: level 7 on-site visit, 40,000 over the contract's 20,000 limit, no decision yet.
        i("I-1009", "C004", "2026-10-19", "2026-10-20", "onsite", onsite_visits=1,
          description="倉庫端末の入れ替え"),
        # C005: investigation (level 5) absorbed into tutoring (RULES 2.5).
        i("I-1010", "C005", "2026-10-09", "2026-10-21", "email", round_trips=12,
          investigation=True, absorbed_into="tutoring", absorbed_fee=100000,
          description="社内向け操作研修へ移行"),
        # C006: a member's first personal use (chart, consumes one incident); 佐藤's second use.
        i("I-1011", "C006", "2026-10-08", "2026-10-08", "phone", minutes=10, member="田中 美咲",
          personal=True, approved_by="社長", description="私物スマートフォンのメール設定"),
        i("I-1012", "C006", "2026-10-22", "2026-10-22", "dm", round_trips=2, member="佐藤 健",
          personal=True, approved_by="社長", description="自宅ルーターの再設定"),
        i("I-1013", "C006", "2026-10-23", "2026-10-23", "skype_call", minutes=70,
          description="基幹システムの帳票エラー"),
        # C007: the owner's personal use with a shared environment: no chart.
        i("I-1014", "C007", "2026-10-12", "2026-10-12", "phone", minutes=16, member="山田 太郎",
          personal=True, description="デザイン用 PC のフォント"),
        # C009: comprehensive consulting (level 7), an urgent request whose level staff raised,
        # and two on-site visits (level 8) over the 50,000 limit, continued by the customer.
        i("I-1015", "C009", "2026-10-05", "2026-10-09", "skype_call", minutes=200, sessions=2,
          consulting="comprehensive", description="冗長化構成の設計相談"),
        i("I-1016", "C009", "2026-10-28", "2026-10-28", "phone", minutes=30, urgent=True,
          level_override=5, description="本番サーバー停止 (お急ぎ)"),
        i("I-1017", "C009", "2026-10-29", "2026-10-30", "onsite", onsite_visits=2,
          limit_decision="continue", description="ラック移設の立ち会い"),
        # C010: a public Twitter reply that went beyond level 1.
        i("I-1018", "C010", "2026-10-13", "2026-10-13", "reply", round_trips=8,
          description="Twitter でのお問い合わせ"),
        # C012: chart paid at the annual level-3 fee; a request by a member not allowed.
        i("I-1019", "C012", "2026-10-06", "2026-10-06", "email", round_trips=3,
          member="鈴木 花子", personal=True, approved_by="総務部長",
          description="個人PCのウイルス対策"),
        i("I-1020", "C012", "2026-10-20", "2026-10-20", "phone", minutes=8,
          member="伊藤 誠", personal=True, approved_by="総務部長",
          description="私物タブレットの設定"),
        # C013: first month of an annual contract, one feather.
        i("I-1021", "C013", "2026-10-16", "2026-10-16", "email", round_trips=1,
          description="サポート窓口の確認"),
        # C014: feathers only, none counted.
        i("I-1022", "C014", "2026-10-03", "2026-10-03", "dm", round_trips=1,
          description="営業時間の確認"),
        i("I-1023", "C014", "2026-10-24", "2026-10-24", "phone", minutes=5,
          description="パスワード再設定"),
        # C015: two chat sessions, 200 minutes in total.
        i("I-1024", "C015", "2026-10-19", "2026-10-20", "skype_chat", minutes=200,
          sessions=2, description="Excel マクロの不具合調査"),
        # RULES 5.3: 95 minutes → 4 units from the pack that has 6 left.
        i("I-1025", "V001", "2026-10-21", "2026-10-21", "phone", minutes=95,
          description="サーバー版へのアップグレード"),
        # V002: 90 minutes → 3 units, the pack has 2 left → a new pack is added.
        i("I-1026", "V002", "2026-10-07", "2026-10-07", "phone", minutes=90,
          description="ライセンス異動 (部署統合)"),
        # V003: first month.
        i("I-1027", "V003", "2026-10-15", "2026-10-15", "email", minutes=25,
          description="初期設定の質問"),
        # Call centre: incidents are covered by the monthly fee.
        i("I-1028", "CC02", "2026-10-09", "2026-10-09", "phone", minutes=22,
          description="操作方法のお問い合わせ"),
        i("I-1029", "CC01", "2026-10-26", "2026-10-26", "phone", minutes=15,
          description="導入初日の問い合わせ"),
        # Still open at the month's end: not billed yet.
        i("I-1030", "C015", "2026-10-30", None, "email", round_trips=3,
          description="データ復旧のご相談 (対応中)"),
        # Still open: a monthly contract's call-back due 10/30, not made by the month's end.
        i("I-1032", "C003", "2026-10-28", None, "phone", minutes=0,
          description="複合機のスキャン設定 (折り返し待ち)"),
        # Still open: its 12 round trips so far (level 3) reach the incident's own limit L2.
        i("I-1033", "C005", "2026-10-26", None, "email", round_trips=12, fee_limit="L2",
          first_response=_d("2026-10-27"), description="基幹システムの権限設計 (対応中)"),
    ]
    return history + october


def sample_packs() -> list[Record]:
    return [
        {"contract_id": "V001", "purchased": _d("2026-04-01"), "units": 10},
        {"contract_id": "V002", "purchased": _d("2026-05-10"), "units": 10},
        {"contract_id": "V003", "purchased": _d("2026-10-01"), "units": 10},
        {"contract_id": "V004", "purchased": _d("2025-11-17"), "units": 10},
    ]
