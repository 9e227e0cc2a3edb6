"""The issuer's settings printed on every invoice (適格請求書の記載事項) and the run options,
with the rules a value must follow. Readers hand over what the Settings sheet says."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .closed_days import ClosedDays
from .codes import TAX_ROUNDING, Vocabulary, is_blank
from .columns import CONTROL_CHARACTERS, trimmed
from .dates import closed_days_problem
from .errors import InputError, Problem
from .messages import PRINTED_NAME_CHARS, control_character, cut_short, too_long_to_print

REGISTRATION_NUMBER = re.compile(r"T[0-9]{13}")  # ASCII digits: \d takes any script's
# The invoice register on a server the team shares (PostgreSQL, through psycopg 3).
SERVER_REGISTER_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg")


@dataclass(frozen=True)
class SettingField:
    key: str
    label_ja: str
    required: bool
    help: str
    choices: Vocabulary | None = None  # a setting that names one of a few policies
    max_chars: int | None = None  # printed on every document: PRINTED_NAME_CHARS


# Policies of the month's run (a blank cell means the first code).
ZERO_TOTAL = Vocabulary("zero_total", ("statement", "invoice"),
                        {"明細": "statement", "請求書": "invoice"}, label_ja="指定")
PENDING_DECISION = Vocabulary("pending_decision", ("hold", "issue"),
                              {"保留": "hold", "下書き": "hold", "発行": "issue"}, label_ja="指定")
OPEN_MONTH = Vocabulary("open_month", ("refuse", "allow"),
                        {"作らない": "refuse", "拒否": "refuse", "作る": "allow", "許可": "allow"},
                        label_ja="指定")


SETTINGS_FIELDS: tuple[SettingField, ...] = (
    SettingField("issuer_name", "発行者名", True, "適格請求書発行事業者の氏名又は名称",
                 max_chars=PRINTED_NAME_CHARS),
    SettingField("registration_number", "登録番号", True, "T + 13桁 (例 T1234567890123)"),
    SettingField("issuer_address", "住所", False, "請求書に載せる住所",
                 max_chars=PRINTED_NAME_CHARS),
    SettingField("issuer_contact", "連絡先", False, "電話番号・メールアドレス",
                 max_chars=PRINTED_NAME_CHARS),
    SettingField("bank_account", "振込先", True, "銀行名 支店名 種別 口座番号 口座名義",
                 max_chars=PRINTED_NAME_CHARS),
    SettingField("tax_rounding", "消費税の端数処理", False,
                 "空欄: 料金表どおり (切り捨て) / 切り捨て / 四捨五入 / 切り上げ"),
    SettingField("output_folder", "出力フォルダ", False,
                 "ボタンで作る請求書の保存先 (ブックからの相対パス可); 空欄: invoices"),
    SettingField("closed_days", "休業日", False,
                 "土日祝のほかの休業日 (例: 12/29-1/3, 8/13-8/16, 2026-05-01); 請求日・支払期日と"
                 "対応期限の営業日計算に使います。空欄: なし"),
    SettingField("zero_total", "¥0の月", False,
                 "空欄: 明細 (番号を付けず、ご利用明細として作る) / 請求書 (¥0 の請求書を番号付きで発行)",
                 ZERO_TOTAL),
    SettingField("pending_decision", "判断待ちの請求", False,
                 "料金リミット到達でお客様の判断が未記入の請求。空欄: 保留 (番号なしの下書き) / 発行",
                 PENDING_DECISION),
    SettingField("open_month", "締め前の月", False,
                 "まだ終わっていない月 (日本時間) の請求書。空欄: 作らない / 作る", OPEN_MONTH),
    SettingField("register", "請求番号台帳", False,
                 "空欄: 出力フォルダの register.sqlite3。チームで共有する台帳: "
                 "postgresql://ユーザー@サーバー/データベース (パスワードは書かず、各PCの "
                 "~/.pgpass などに)"),
)


@dataclass(frozen=True)
class Settings:
    """The issuer's details printed on every invoice, and run options."""

    issuer_name: str
    registration_number: str
    bank_account: str
    issuer_address: str = ""
    issuer_contact: str = ""
    tax_rounding: str | None = None  # None: each price book's own rounding
    output_folder: str = "invoices"
    closed_days: ClosedDays = field(default_factory=ClosedDays)  # besides weekends and holidays
    zero_total: str = "statement"  # ZERO_TOTAL: a month with nothing to pay
    pending_decision: str = "hold"  # PENDING_DECISION: an invoice waiting on a decision
    open_month: str = "refuse"  # OPEN_MONTH: invoicing a month that has not ended
    register: str = ""  # a server register's URL (no password); "" for the folder's own file


def settings_from_values(values: Mapping[str, tuple[Any, int | None]], sheet: str = "Settings"
                         ) -> Settings:
    """Settings from ``key → (value, row)`` as found on the Settings sheet (row None: the key
    is not there). Raises InputError naming every missing or malformed setting."""
    problems: list[Problem] = []
    out: dict[str, Any] = {}
    for f in SETTINGS_FIELDS:
        value, row = values.get(f.key, (None, None))
        if is_blank(value):
            if f.required:
                reason = (f"必須の設定 {f.label_ja} が空欄です。B 列に {f.help} を入力してください"
                          if row else f"必須の設定 {f.label_ja} の行がありません。A 列に {f.key}、"
                          f"B 列に {f.help} を書いた行を追加してください")
                problems.append(Problem(row, f.key, value, reason, sheet))
            continue
        text = trimmed(str(value))
        control = CONTROL_CHARACTERS.search(text)
        if control:  # printed on every document
            problems.append(Problem(row, f.key, cut_short(text), control_character(control.group()),
                                    sheet))
            continue
        if f.max_chars is not None and len(text) > f.max_chars:
            problems.append(Problem(row, f.key, cut_short(text), too_long_to_print(f.max_chars),
                                    sheet))
            continue
        if f.key == "registration_number":
            number = re.sub(r"[\s\-‐－]", "", unicodedata.normalize("NFKC", text)).upper()
            if not REGISTRATION_NUMBER.fullmatch(number):
                problems.append(Problem(row, f.key, value, "登録番号は T と 13 桁の数字です "
                                        "(例 T1234567890123)", sheet))
            text = number
        elif f.key == "tax_rounding":
            found = TAX_ROUNDING.lookup(value)
            if found is None:
                problems.append(Problem(row, f.key, value, TAX_ROUNDING.unknown_message(value),
                                        sheet))
                continue
            text = TAX_ROUNDING.codes[found]
        elif f.key == "closed_days":
            try:
                closed = ClosedDays.parse(value)
            except ValueError as exc:
                problems.append(Problem(row, f.key, value, str(exc), sheet))
                continue
            reason = closed_days_problem(closed)
            if reason:
                problems.append(Problem(row, f.key, value, reason, sheet))
                continue
            out[f.key] = closed
            continue
        elif f.key == "register":
            reason = server_register_problem(text)
            if reason:
                # the value is not repeated: it may hold a password
                problems.append(Problem(row, f.key, "…", reason, sheet))
                continue
        elif f.choices is not None:
            found = f.choices.lookup(value)
            if found is None:
                problems.append(Problem(row, f.key, value, f"{f.choices.unknown_message(value)} "
                                        f"({f.help})", sheet))
                continue
            text = f.choices.codes[found]
        out[f.key] = text
    if problems:
        raise InputError(problems)
    return Settings(**out)


REGISTER_PASSWORD_REFUSED = (
    "請求番号台帳の URL にパスワードを書かないでください (ブックやコマンドの履歴はコピーされ、"
    "人の目に触れます)。パスワードは各PCの ~/.pgpass (Windows: %APPDATA%\\postgresql\\"
    "pgpass.conf)、環境変数 PGPASSWORD かサービスファイル (pg_service.conf) に置きます "
    "(docs/TEAM.md)")


def url_has_password(text: str) -> bool:
    """``text`` (a URL) carries a password: ``user:password@`` or a ``password`` (or
    ``sslpassword``) parameter. A URL that cannot be split is not judged here."""
    try:
        parts = urlsplit(text)
        password = parts.password
    except ValueError:
        return False
    return password is not None or any("password" in key.lower()
                                       for key in parse_qs(parts.query))


def server_register_problem(text: str) -> str | None:
    """Why ``text`` cannot name the team's register in a workbook: not a PostgreSQL URL, or
    a password in it (a workbook is copied and mailed; the password belongs in each PC's
    ~/.pgpass, PGPASSWORD or a service file)."""
    scheme = text.split("://", 1)[0].lower() if "://" in text else ""
    if scheme not in SERVER_REGISTER_SCHEMES:
        return ("共有する請求番号台帳は postgresql://ユーザー@サーバー/データベース の形で書いて"
                "ください (空欄: 出力フォルダの register.sqlite3)")
    try:
        urlsplit(text).password  # noqa: B018 — only to see that it splits
    except ValueError:
        return "請求番号台帳の URL を読めません (postgresql://ユーザー@サーバー/データベース)"
    if url_has_password(text):
        return REGISTER_PASSWORD_REFUSED
    return None
