"""What a clerk, a sales person or a manager reads about bad input: Japanese, naming the place,
the value as typed, what was expected and what to do."""

from __future__ import annotations

import datetime as dt

import pytest

import xlquote
from xlquote.cli import main
from xlquote.engine.codes import CHANNELS, SUPPORT_RANGES
from xlquote.engine.compare.profile import ProfileError, load_profile
from xlquote.engine.errors import InputError, PriceBookError, Problem
from xlquote.engine.messages import shown
from xlquote.engine.settings import settings_from_values

SETTINGS = {"issuer_name": ("x", 2), "registration_number": ("T1234567890123", 3),
            "bank_account": ("b", 4)}


@pytest.mark.parametrize(("problem", "text"), [
    (Problem(5, "minutes", "#N/A", "エラー値は使えません", "Incidents"),
     "シート Incidents 5行目 列 minutes: '#N/A' — エラー値は使えません"),
    (Problem(4, "minutes", "ten", "数値として読めません", "incidents.csv"),
     "ファイル incidents.csv 4行目 列 minutes: 'ten' — 数値として読めません"),
    (Problem(3, "customer", None, "必須です", "Contracts"),
     "シート Contracts 3行目 列 customer: 空欄 — 必須です"),
    (Problem(7, "closed", dt.date(2026, 1, 1), "受付日より前です", "Incidents"),
     "シート Incidents 7行目 列 closed: 2026-01-01 — 受付日より前です"),
    (Problem(None, "file", "old.xls", "古い形式です"), "ファイル old.xls: 古い形式です"),
    (Problem(None, "(sheet)", "Packs", "ないか、空です", "Packs"), "シート Packs: ないか、空です"),
    (Problem(1_048_577, "(row)", None, "最後の行より下です", "Incidents"),
     "シート Incidents 1048577行目: 最後の行より下です"),
    (Problem(None, "month", "2026-13", "そのような月はありません"),
     "month: '2026-13' — そのような月はありません"),
])
def test_a_problem_names_its_place_and_value_once(problem: Problem, text: str) -> None:
    assert str(problem) == text


@pytest.mark.parametrize(("value", "text"), [
    (None, "空欄"), ("", "空欄"), (float("nan"), "空欄"), ("fax", "'fax'"), (True, "TRUE"),
    (25.0, "25"), (2.5, "2.5"), (dt.date(2026, 10, 14), "2026-10-14"),
    (dt.datetime(2026, 10, 14, 9, 30), "2026-10-14 09:30:00"),
])
def test_values_are_shown_as_the_user_typed_them(value: object, text: str) -> None:
    assert shown(value) == text


def test_code_lists_give_the_codes_with_their_first_japanese_alias() -> None:
    assert CHANNELS.choices().startswith("email（メール）, dm（ダイレクトメッセージ）, reply（リプライ）, "
                                         "phone（電話）")
    assert CHANNELS.unknown_message("fax") == f"不明なチャネルです。使えるもの: {CHANNELS.choices()}"
    assert SUPPORT_RANGES.unknown_message(None).startswith("必須です。次のどれかを入力してください: "
                                                           "normal（通常）")
    with pytest.raises(ValueError, match=r"^'fax': 不明なチャネル"):
        CHANNELS.canonical(" fax ")


def test_many_problems_are_summarised_after_fifty() -> None:
    problems = [Problem(row, "minutes", "x", "数値として読めません", "Incidents")
                for row in range(2, 62)]
    text = str(InputError(problems))
    assert text.startswith("入力エラー 60 件:\n  シート Incidents 2行目 列 minutes: 'x'")
    assert text.endswith("\n  … ほか 10 件")


def test_a_missing_or_empty_setting_says_where_to_write_it() -> None:
    with pytest.raises(InputError) as caught:
        settings_from_values({"issuer_name": ("", 2), "bank_account": ("b", 4)})
    empty, missing = caught.value.problems
    assert (empty.row, empty.field) == (2, "issuer_name")
    assert empty.reason.startswith("必須の設定 発行者名 が空欄です。B 列に")
    assert (missing.row, missing.field) == (None, "registration_number")
    assert "A 列に registration_number" in missing.reason


@pytest.mark.parametrize(("text", "phrase"), [
    ("12/32", "にない日付"), ("yesterday", "12/29-1/3, 8/13, 2026-08-14 のように"),
    ("12/29〜2026-01-03", "混ざっています"), ("2026-08-16〜2026-08-13", "終わりが始まりより前"),
])
def test_a_bad_closed_day_is_named_with_how_to_write_one(text: str, phrase: str) -> None:
    with pytest.raises(InputError) as caught:
        settings_from_values({**SETTINGS, "closed_days": (text, 9)})
    (problem,) = caught.value.problems
    assert (problem.row, problem.field, problem.value) == (9, "closed_days", text)
    assert problem.reason.startswith("休業日 ") and phrase in problem.reason



@pytest.mark.parametrize(("key", "text", "phrase"), [
    # digits of another script: \d takes them, the documents' font has no glyph for them
    ("registration_number", "T123456789012\u096b", "登録番号は T と 13 桁の数字です"),
    ("registration_number", "T\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669"
     "\u0660\u0661\u0662\u0663", "登録番号は T と 13 桁の数字です"),
    # a control character is refused at the ends too (str.strip() would drop \x0b, \x1c-\x1f)
    ("issuer_name", "株式会社テスト\x1f", "制御文字 (U+001F)"),
    ("issuer_name", "\x0b株式会社テスト", "制御文字 (U+000B)"),
    ("issuer_name", "株式会社\x07テスト", "制御文字 (U+0007)"),
])
def test_a_setting_the_documents_cannot_print_is_refused(key: str, text: str, phrase: str
                                                         ) -> None:
    with pytest.raises(InputError) as caught:
        settings_from_values({**SETTINGS, key: (text, 7)})
    (problem,) = caught.value.problems
    assert (problem.row, problem.field) == (7, key) and phrase in problem.reason


def test_a_setting_is_trimmed_of_spaces() -> None:
    settings = settings_from_values({**SETTINGS, "issuer_name": ("\u3000株式会社テスト \n", 2)})
    assert settings.issuer_name == "株式会社テスト"

def test_data_file_errors_say_which_file_and_key(tmp_path) -> None:
    profile = tmp_path / "p.toml"
    profile.write_text("months = 3\n[incidents_per_month]\n4 = = 2\n", encoding="utf-8")
    with pytest.raises(ProfileError) as caught:
        load_profile(profile)
    assert str(caught.value).startswith("利用見込み p.toml: TOML の書き方が正しくありません "
                                        "(3 行目 5 文字目で読めません")
    with pytest.raises(PriceBookError) as book:
        xlquote.get_pricebook("aki_sie").plan_terms("callcenter")
    assert str(book.value) == "料金表 aki_sie.toml の plans: この料金表にはプラン callcenter がありません"


def test_a_missing_required_column_is_one_problem_not_one_per_row() -> None:
    from xlquote.engine.records import parse_packs

    with pytest.raises(InputError) as caught:
        parse_packs(["contract_id", "units"], [["V1", 10], ["V1", 20]])
    assert [(p.row, p.field, p.reason) for p in caught.value.problems] == [
        (1, "purchased", "必須の列がありません。見出し行に purchased の列を追加してください")]


def test_cli_options_are_refused_in_japanese_and_dates_take_the_sheets_forms(tmp_path, capsys
                                                                            ) -> None:
    assert main(["compare", "--log", str(tmp_path / "log.xlsx"), "--until", "soon"]) == 2
    assert "xlquote: --until: 'soon': 月として読めません" in capsys.readouterr().err
    from xlquote.cli.invoice import date_argument

    assert date_argument("2026/10/14") == date_argument("2026年10月14日") == dt.date(2026, 10, 14)
    assert main(["compare", "--profile", str(tmp_path / "p.toml"), "--contract", "C1"]) == 2
    assert "--contract: 'C1' — --log と一緒にだけ使えます" in capsys.readouterr().err


@pytest.mark.parametrize("key", ["issuer_name", "issuer_address", "issuer_contact",
                                 "bank_account"])
def test_a_header_setting_longer_than_a_document_prints_is_refused(key: str) -> None:
    """What every page of every document prints is at most 200 characters (a cell-long issuer
    name made each of a month's documents cost tens of times more); 200 are kept."""
    kept = settings_from_values({**SETTINGS, key: ("あ" * 200, 6)})
    assert getattr(kept, key) == "あ" * 200
    with pytest.raises(InputError) as caught:
        settings_from_values({**SETTINGS, key: ("あ" * 201, 6)})
    (problem,) = caught.value.problems
    assert (problem.row, problem.field, problem.value) == (6, key, "あ" * 40 + "…")
    assert problem.reason == "請求書に載せる文字は 200 文字までです。短くしてください"


@pytest.mark.parametrize("reader", ["fastexcel", "cells"])
def test_a_customer_name_longer_than_a_document_prints_is_refused(tmp_path, capsys,
                                                                  reader) -> None:
    """The customer's name (the invoice's 宛名, on every page) is at most 200 characters, on
    every read path; the cell is named, shown cut."""
    import json

    from clerk import workbook

    book = workbook(tmp_path / "wb.xlsx", contracts={"C002": {"customer": "い" * 201},
                                                     "C003": {"customer": "う" * 200}})
    capsys.readouterr()
    code = main(["invoice", str(book), "--month", "2026-10", "--out", str(tmp_path / "out"),
                 "--json", "--reader", reader])
    result = json.loads(capsys.readouterr().out)
    assert code == 2
    assert [(p["sheet"], p["row"], p["column"], p["value"], p["reason"])
            for p in result["problems"]] == [
        ("Contracts", 3, "customer", "い" * 40 + "…",
         "請求書に載せる文字は 200 文字までです。短くしてください")]
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("sheet", "field", "changes"), [
    ("Contracts", "contract_id", {"contracts": {"C002": {"contract_id": "C" * 101}}}),
    ("Incidents", "incident_id", {"incidents": {"I-1002": {"incident_id": "I" * 101}}}),
])
def test_an_id_longer_than_a_document_prints_is_refused(tmp_path, capsys, sheet, field,
                                                        changes) -> None:
    """Ids name the files and every statement row: at most 100 characters."""
    import json

    from clerk import workbook

    book = workbook(tmp_path / "wb.xlsx", **changes)
    capsys.readouterr()
    code = main(["invoice", str(book), "--month", "2026-10", "--out", str(tmp_path / "out"),
                 "--json"])
    problems = json.loads(capsys.readouterr().out)["problems"]
    assert code == 2 and (problems[0]["sheet"], problems[0]["column"]) == (sheet, field)
    assert problems[0]["reason"] == "請求書に載せる文字は 100 文字までです。短くしてください"


@pytest.mark.parametrize("argv", [
    ["invoice", "BOOK", "--month", "9999-12", "--out", "OUT"],
    ["invoice", "BOOK", "--month", "1999-12", "--out", "OUT"],
    ["notices", "BOOK", "--month", "9999-10", "--out", "OUT"],
    ["compare", "--log", "BOOK", "--contract", "C001", "--until", "9999-12"],
])
def test_a_month_far_from_today_is_refused_as_typed(tmp_path, capsys, argv) -> None:
    """Months are 2000-01 to 2999-12: one in 9999 made its contract year or due date run off
    the calendar (a traceback)."""
    from clerk import workbook

    book = workbook(tmp_path / "wb.xlsx")
    argv = [str(book) if a == "BOOK" else str(tmp_path / "out") if a == "OUT" else a
            for a in argv]
    assert main(argv) == 2
    assert "2000年1月〜2999年12月の月を入力してください" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
