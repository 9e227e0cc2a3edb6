"""What a person reads about bad input, in Japanese (the clerk, sales staff, a manager).

A problem says where it is (シート・行・列, or ファイル・行・列), the value as typed, what was
expected and what to do. Reasons never repeat the value: ``Problem`` and the Excel functions'
``#VALUE! …`` text show it beside them. Column names stay the sheets' headers (English field
names on purpose) and codes stay the codes a user may type.

A reason that one check alone gives is written at that check. What several places say is
defined here, once: how a value is shown, the text of one cell's problem, and the reasons
shared by the records, the Excel functions, the comparison and the readers.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np

# --- how a value and one cell's problem are written -------------------------------------


def shown(value: Any) -> str:
    """A value as a message shows it: text quoted as typed ('fax'), a blank as 空欄, a date as
    2026-10-14, a whole float without '.0', TRUE/FALSE as Excel shows them."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or (isinstance(value, str) and value == "") or (
            isinstance(value, float) and value != value):
        return "空欄"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, str):  # a cell holds 32,767 characters: a message repeats a few
        return repr(cut_short(value) if len(value) > SHOWN_TEXT else value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


SHOWN_TEXT = 100  # characters of a text value a message repeats whole


class ElapsedTime(dt.timedelta):
    """A number in an elapsed-time format ([h]:mm:ss), written as Excel shows it (600:00:00 for
    25 days), in messages and JSON alike."""

    def __str__(self) -> str:
        seconds = round(self.total_seconds())
        sign, seconds = ("-" if seconds < 0 else ""), abs(seconds)
        return f"{sign}{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def cut_short(text: str) -> str:
    """Text too long to repeat in a message: its first 40 characters and an ellipsis."""
    return text[:40] + "…"


def cell_message(field: str, value: Any, reason: str) -> str:
    """One cell's problem where the cell itself is the place (an Excel function's result):
    ``minutes -5: 0 以上にしてください``."""
    return f"{field} {shown(value)}: {reason}"


# --- reasons several checks give ---------------------------------------------------------

REQUIRED = "必須です。入力してください"
NOT_A_NUMBER = "数値として読めません。数字だけで入力してください (単位や記号は付けません)"
SPACES_ONLY = "空白 (スペース) だけが入っています。値を入力するか、セルを空にしてください"
NOT_WHOLE = "小数は使えません。整数で入力してください"
NOT_A_DATE = "日付として読めません。2026-10-14 (2026/10/14, 2026年10月14日) の形で入力してください"
DATE_REQUIRED = "必須です。日付を 2026-10-14 の形で入力してください"


def at_least(minimum: float) -> str:
    return f"{minimum:g} 以上にしてください"


def at_most(maximum: float) -> str:
    return f"{maximum:,.0f} 以下にしてください"


LICENCES_REQUIRED = ("有料サポート (vendor_support)・コールセンター (callcenter) の契約には "
                     "licences (ライセンス数、1 以上) が必要です")


# The longest name, address or account a document prints in its header: every page of every
# document repeats it, so a cell-long name (32,767 characters) multiplied the cost of a month.
PRINTED_NAME_CHARS = 200
# The longest contract or incident id: ids are printed on every statement row and name the
# files, and 3,000 ids of 32,767 characters took one statement past 1 GiB.
PRINTED_ID_CHARS = 100


def too_long_to_print(most: int) -> str:
    return f"請求書に載せる文字は {most:,} 文字までです。短くしてください"


def callcenter_licences(top: int) -> str:
    return f"コールセンターは 1〜{top:,} ライセンスの契約です。licences をその範囲にしてください"


def monthly_max_incidents(support_range: str, offered: int) -> str:
    return (f"月額契約の {support_range} では、月の上限件数 (max_incidents) は 1〜{offered} 件"
            "です")


UNKNOWN_CONTRACT = ("契約一覧 (Contracts) にない契約IDです。契約IDを確かめるか、Contracts に"
                    "契約を追加してください")

# --- files ------------------------------------------------------------------------------------

FILE_NOT_FOUND = "ファイルが見つかりません。パスを確かめてください"
# For a workbook refused for holding too much: the records can still come as files.
AS_RECORD_FILES = "CSV か Parquet に書き出して --incidents などで指定してください"


def file_too_large(size: int, limit: int) -> str:
    return f"ファイルが大きすぎます ({size:,} バイト。上限は {limit:,} バイト)"


# A header naming one field twice (a sheet's, or a CSV or Parquet file's): which column holds
# the values cannot be told.
DUPLICATE_HEADER = "同じ見出しの列が 2 つあります。一方の見出しを消すか直してください"


def control_character(character: str) -> str:
    """A control character (other than tab and line breaks): no workbook cell can hold one."""
    return f"制御文字 (U+{ord(character):04X}) が入っています。取り除いてください"
