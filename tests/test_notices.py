"""Notices to customers, response targets, closed days (RULES 2.8, 2.9) and ``xlquote notices``.

Seeds: 000_0e7793dec93ec3cc.txt:96-99 (10単位を1口 … 有効期限は1年間 … サポート対応の都度、ご契約者に
消化インシデント数をご連絡), 004_de71e10344ea06c0.txt:177-179 (上限額に達した時にお知らせし), :101, :105,
:111, :119 (応答は2営業日以内 / 折り返し 2営業日 / Twitter 2営業日 / Skype チャット 3営業日), :149
(月額契約方式は年額契約方式よりも優先して対応).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sqlite3

import openpyxl
import pytest
from helpers import contract, incident

import xlquote
from xlquote import InputError
from xlquote.app.sample import SAMPLE_MONTH, sample_contracts, sample_incidents, sample_packs
from xlquote.app.workbooks import invoicing
from xlquote.cli import main
from xlquote.cli.invoice import date_argument
from xlquote.engine.closed_days import ClosedDays
from xlquote.engine.dates import Month, business_days_after, due_date, issue_date
from xlquote.engine.notices import notices_due
from xlquote.engine.pricebook import CalendarRule
from xlquote.engine.settings import settings_from_values

D = dt.date


# --- business days and closed days ---------------------------------------------------------

@pytest.mark.parametrize(("received", "days", "due"), [
    (D(2026, 10, 30), 2, D(2026, 11, 4)),   # Fri → Mon 11/2, (Tue 11/3 文化の日) → Wed 11/4
    (D(2026, 10, 28), 2, D(2026, 10, 30)),
    (D(2026, 10, 28), 3, D(2026, 11, 2)),   # Skype chat: 3 business days
    (D(2026, 12, 25), 2, D(2027, 1, 4)),    # 12/29-1/3 closed: Mon 12/28, then Mon 1/4
])
def test_due_is_the_nth_business_day_after_receipt(received, days, due) -> None:
    assert business_days_after(received, days, ClosedDays.parse("12/29-1/3")) == due


def test_closed_days_move_invoice_dates_too() -> None:
    rule = CalendarRule(1, "previous_business_day", ClosedDays.parse("12/29〜1/3, 2027-02-01"))
    december = Month(2026, 12)
    assert issue_date(december) == D(2027, 1, 4)  # 1/1 is a holiday; 1/2-3 fall on a weekend
    assert issue_date(Month(2027, 1), rule) == D(2027, 2, 2)  # 2/1 closed that year
    assert due_date(D(2026, 11, 30), rule) == D(2026, 12, 28)  # 12/30 → back to Mon 12/28


@pytest.mark.parametrize("text", ["12/32", "1/3-", "2026-02-30", "yesterday", "12/29〜2026-01-03"])
def test_bad_closed_days_name_the_setting(text) -> None:
    values = {"issuer_name": ("x", 2), "registration_number": ("T1234567890123", 3),
              "bank_account": ("b", 4), "closed_days": (text, 9)}
    with pytest.raises(xlquote.InputError) as caught:
        settings_from_values(values)
    assert [(p.row, p.field) for p in caught.value.problems] == [(9, "closed_days")]



@pytest.mark.parametrize(("text", "phrase"), [
    ("1/1-12/30", "365 日続きます。1 つの期間は 31 日まで"),
    ("2027-01-01〜2035-12-30", "3286 日続きます"),
    ("12/1-1/1", "32 日続きます"),  # over the year's end
    (", ".join(["8/13"] * 201), "201 件あります。書けるのは 200 件まで"),
    ("1/1-1/31, 2/1-2/29, 3/1-3/31", "2027-01-01 から 62 日を超えて営業日がありません"),
    ("12/1-12/31, 1/1-1/31, 2/1-2/20", "2027-12-01 から 62 日を超えて"),
    ("2026-05-01〜2026-05-31, 2026-06-01〜2026-06-30, 7/1-7/31", "2026-05-01 から 62 日を超えて"),
    # an open day every 28 days, a weekday in 2027-2029 but a weekend for two years after
    ("1/5-1/31, 2/2-2/28, 3/2-3/28, 3/30-4/25, 4/27-5/23, 5/25-6/20, 6/22-7/18, 7/20-8/15, "
     "8/17-9/12, 9/14-10/10, 10/12-11/7, 11/9-12/5, 12/7-1/3", "2030-12-07 から 62 日を超えて"),
])
def test_closed_days_that_would_hide_the_business_days_are_refused(text, phrase) -> None:
    """Closed days are days, not seasons: an entry spans at most 31 days, a cell lists at most
    200, and together with weekends and holidays they leave a business day within 62 days
    (else every due date's search walks the season; all closed, it ran off the calendar)."""
    values = {"issuer_name": ("x", 2), "registration_number": ("T1234567890123", 3),
              "bank_account": ("b", 4), "closed_days": (text, 9)}
    with pytest.raises(xlquote.InputError) as caught:
        settings_from_values(values)
    (problem,) = caught.value.problems
    assert (problem.row, problem.field) == (9, "closed_days") and phrase in problem.reason


def test_closed_days_up_to_the_limits_are_kept() -> None:
    """Two months closed in a row (61 days, a business day after them), 200 entries, a range
    of 31 days: accepted, and each day looked up as written."""
    from xlquote.engine.dates import closed_days_problem

    two_months = ClosedDays.parse("2026-08-01〜2026-08-31, 2026-09-01〜2026-09-30")
    assert closed_days_problem(two_months) is None
    assert D(2026, 9, 30) in two_months and D(2026, 10, 1) not in two_months
    assert business_days_after(D(2026, 7, 31), 1, two_months) == D(2026, 10, 1)
    many = ClosedDays.parse(", ".join(f"{1900 + k}-08-13" for k in range(200)))
    assert closed_days_problem(many) is None and D(2099, 8, 13) in many
    assert D(2100, 8, 13) not in many
    month = ClosedDays.parse("12/15-1/14")
    assert closed_days_problem(month) is None
    assert {D(2026, 12, 14) in month, D(2027, 1, 15) in month} == {False}
    assert D(2026, 12, 15) in month and D(2028, 1, 14) in month
    leap = ClosedDays.parse("2/29")
    assert D(2028, 2, 29) in leap and D(2027, 2, 28) not in leap and D(2027, 3, 1) not in leap

# --- the demo month: one notice of each kind, open incidents with their due dates ----------

@pytest.fixture(scope="module")
def sample_report():
    return notices_due(sample_contracts(), sample_incidents(), SAMPLE_MONTH, sample_packs())


def test_demo_month_has_every_kind_of_notice(sample_report) -> None:
    kinds = {(n.kind, n.contract_id, n.incident_id) for n in sample_report.notices}
    assert kinds == {("units_used", "V001", "I-1025"), ("units_used", "V002", "I-1026"),
                     ("units_used", "V003", "I-1027"), ("limit_reached", "C004", "I-1009"),
                     ("limit_reached", "C005", "I-1033"), ("pack_expiring", "V004", None)}


def test_units_used_says_units_left_per_pack_and_expiry(sample_report) -> None:
    # RULES 5.3: 95 minutes → 4 units, 2 left in the pack expiring 2027-03-31
    (v001,) = [n for n in sample_report.notices if n.contract_id == "V001"]
    assert "4 ユニットを消化" in v001.text
    assert "2026/04/01 ご購入分 2 ユニット (有効期限 2027/03/31)" in v001.text
    assert v001.text.startswith("東都精機株式会社 様") and v001.date == D(2026, 10, 21)



def test_units_used_names_five_packs_and_counts_the_rest() -> None:
    """A contract holding many packs: the notice names the five expiring soonest, counts the
    others and gives the total (each notice listed every pack: 49,990 packs and 50,000
    responses passed 16 GB)."""
    packs = [{"contract_id": "V1", "purchased": D(2026, 1, 1) + dt.timedelta(days=k),
              "units": 10} for k in range(200)]
    x = incident("b", "2026-10-06", "V1", opened="2026-10-06", channel="phone", minutes=30)
    c = contract("V1", plan="vendor_support", licences=40, start_date="2025-06-01")
    (notice,) = [n for n in notices_due([c], [x], "2026-10", packs).notices
                 if n.kind == "units_used"]
    listed = [line for line in notice.text.splitlines() if "ご購入分" in line]
    assert listed == [
        "  2026/01/01 ご購入分 9 ユニット (有効期限 2026/12/31)",
        *(f"  2026/01/{day:02d} ご購入分 10 ユニット (有効期限 2027/01/{day - 1:02d})"
          for day in range(2, 6))]
    assert "  ほか 195 パック" in notice.text and "  合計 1,999 ユニット" in notice.text


def test_a_report_of_more_notices_than_one_holds_is_refused(monkeypatch) -> None:
    """Past MAX_NOTICES the report is refused before more are written, naming the contract
    where it passes, and the days can be split with --date / --since."""
    from xlquote.engine import notices

    # the responses of V001, V002, V003 are counted first; then, contracts in their order,
    # C004's limit, V001 … V003, V004's expiring pack; then the open incidents' limits (C005)
    for most, beyond in [(2, "V003"), (4, "V004"), (5, "C005")]:
        monkeypatch.setattr(notices, "MAX_NOTICES", most)
        with pytest.raises(InputError) as caught:
            notices_due(sample_contracts(), sample_incidents(), SAMPLE_MONTH, sample_packs())
        (problem,) = caught.value.problems
        assert (problem.sheet, problem.field, problem.value) == ("Contracts", "contract_id",
                                                                 beyond)
        assert f"{most} 件を超えます" in problem.reason and "--since" in problem.reason
    monkeypatch.setattr(notices, "MAX_NOTICES", 6)
    assert len(notices_due(sample_contracts(), sample_incidents(), SAMPLE_MONTH,
                           sample_packs()).notices) == 6

def test_limit_reached_asks_stop_or_continue(sample_report) -> None:
    (c004,) = [n for n in sample_report.notices if n.contract_id == "C004"]
    assert "リミット ¥20,000 に達しました" in c004.text and "中止" in c004.text
    assert "継続" in c004.text and "¥40,000" in c004.text
    (open_one,) = [n for n in sample_report.notices if n.incident_id == "I-1033"]
    assert "現在の対応状況で" in open_one.text and "レベル2" in open_one.text
    assert open_one.date == D(2026, 10, 31)


def test_pack_expiring_within_30_days(sample_report) -> None:
    (pack,) = [n for n in sample_report.notices if n.kind == "pack_expiring"]
    assert "残り 10 ユニットは、2026年11月16日 に有効期限" in pack.text


def test_open_incidents_monthly_first_then_due_date(sample_report) -> None:
    got = [(o.incident_id, o.plan, o.response_due, o.overdue)
           for o in sample_report.open_incidents]
    assert got == [("I-1032", "monthly", D(2026, 10, 30), True),
                   ("I-1033", "annual", D(2026, 10, 28), False),  # replied 10/27: not overdue
                   ("I-1030", "annual", D(2026, 11, 4), False)]


def test_as_of_date_and_since() -> None:
    mid = notices_due(sample_contracts(), sample_incidents(), SAMPLE_MONTH, sample_packs(),
                      as_of=D(2026, 10, 15), since=D(2026, 10, 10))
    assert [(n.kind, n.incident_id) for n in mid.notices] == [("units_used", "I-1027")]
    # as of 10/15: I-1010 (opened 10/9, closed 10/21) is still open
    assert "I-1010" in {o.incident_id for o in mid.open_incidents}
    assert "I-1009" not in {o.incident_id for o in mid.open_incidents}  # opened 10/19


def test_phone_with_an_agreed_time_is_due_then() -> None:
    c = contract("A1", start_date="2026-07-01")
    x = incident("x", "2026-10-05", "A1", channel="phone", minutes=10)
    x.update(closed=None, response_agreed="2026-10-20")
    y = incident("y", "2026-10-05", "A1", channel="skype_call", minutes=10)
    y.update(closed=None)
    report = notices_due([c], [x, y], "2026-10")
    assert [(o.incident_id, o.response_due) for o in report.open_incidents] == [
        ("x", D(2026, 10, 20)), ("y", None)]  # Skype calls: answered when available


def test_a_level_limit_reached_while_open_is_noticed_once_decided_never() -> None:
    c = contract("M1", plan="monthly", max_incidents=2, fee_limit="feather")
    x = incident("x", "2026-10-05", "M1", round_trips=4)
    x.update(closed=None)
    assert [n.kind for n in notices_due([c], [x], "2026-10").notices] == ["limit_reached"]
    x["limit_decision"] = "continue"
    assert notices_due([c], [x], "2026-10").notices == []


# --- the command ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def workbook(tmp_path_factory):
    return invoicing.build(tmp_path_factory.mktemp("notices") / "invoicing.xlsx")


def test_cli_writes_workbook_json_and_each_notice_once(workbook, tmp_path, capsys) -> None:
    out = tmp_path / "notices"
    assert main(["notices", str(workbook), "--month", SAMPLE_MONTH, "--out", str(out),
                 "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) == {"notices", "open_incidents", "workbook", "json_file", "already_written"}
    assert data["workbook"] == str(out / "お知らせ一覧_2026-10-31.xlsx")
    assert data["json_file"] == str(out / "お知らせ一覧_2026-10-31.json")
    assert data["already_written"] == 0
    data = {key: data[key] for key in ("notices", "open_incidents")}  # the file holds these
    assert {n["kind"] for n in data["notices"]} == {"units_used", "limit_reached",
                                                    "pack_expiring"}
    assert set(data["notices"][0]) == {"kind", "contract_id", "customer", "incident_id", "date",
                                       "text"}
    assert set(data["open_incidents"][0]) == {"incident_id", "contract_id", "plan", "channel",
                                              "opened", "response_due", "overdue"}
    assert data["open_incidents"][0]["response_due"] == "2026-10-30"
    written = out / "お知らせ一覧_2026-10-31.xlsx"
    assert json.loads(written.with_suffix(".json").read_text(encoding="utf-8")) == data
    wb = openpyxl.load_workbook(written)
    assert wb.sheetnames == ["お知らせ一覧", "対応待ち"]
    assert wb["お知らせ一覧"].max_row == 3 + len(data["notices"])
    assert wb["対応待ち"]["B2"].value == "I-1032" and wb["対応待ち"]["H2"].value == "期限超過"

    assert main(["notices", str(workbook), "--month", SAMPLE_MONTH, "--out", str(out),
                 "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["notices"] == [] and again["already_written"] == len(data["notices"])
    assert (out / "お知らせ一覧_2026-10-31_2.xlsx").exists() and written.exists()
    assert main(["notices", str(workbook), "--month", SAMPLE_MONTH, "--out", str(out),
                 "--json", "--again"]) == 0
    assert len(json.loads(capsys.readouterr().out)["notices"]) == len(data["notices"])


def test_what_the_billing_freed_goes_back_before_the_notices_are_made(workbook, tmp_path,
                                                                     monkeypatch) -> None:
    """The notices are made while the month's billing is held (~350 MB at a million
    incidents): what the billing freed is handed back first, the rest once it is gone."""
    import gc

    from xlquote.app import notices_run
    from xlquote.engine.billing import BillingRun
    from xlquote.engine.notices import Notice

    def alive() -> tuple[int, int]:
        gc.collect()
        objects = gc.get_objects()
        return (sum(isinstance(o, BillingRun) for o in objects),
                sum(isinstance(o, Notice) for o in objects))

    before = alive()  # what other tests' fixtures hold
    seen = []
    monkeypatch.setattr(notices_run, "release_freed_memory", lambda: seen.append(alive()))
    result = notices_run.run_notices_workbook(workbook, SAMPLE_MONTH, tmp_path / "n")
    assert result.report.notices
    assert seen[0] == (before[0] + 1, before[1])  # billed, no notice made yet
    assert seen[1][0] == before[0]  # then the billing is gone


def test_cli_bad_input_exits_2_and_writes_nothing(tmp_path, capsys) -> None:
    bad = invoicing.write_invoicing_workbook(
        tmp_path / "bad.xlsx", sample_contracts(),
        [*sample_incidents(), {"incident_id": "I-9999", "contract_id": "C001",
                               "opened": D(2026, 10, 3), "channel": "fax"}],
        sample_packs(), {"issuer_name": "x", "registration_number": "T1234567890123",
                         "bank_account": "b"})
    assert main(["notices", str(bad), "--month", SAMPLE_MONTH, "--out",
                 str(tmp_path / "n")]) == 2
    assert "channel" in capsys.readouterr().err
    assert not (tmp_path / "n").exists()


# --- 対応状況: first replies against the targets in the month's summary -------------------

def test_summary_has_a_response_sheet_per_contract(workbook, tmp_path) -> None:
    from xlquote.app.invoice_run import run_invoice_workbook, summary_filename

    result = run_invoice_workbook(workbook, SAMPLE_MONTH, tmp_path / "out")
    ws = openpyxl.load_workbook(result.folder / summary_filename(result.month))["対応状況"]
    rows = {r[0]: r for r in ws.iter_rows(min_row=2, values_only=True)}
    assert ws["A1"].value == "契約ID" and ws["I1"].value == "未応答で期限超過"
    assert rows["C001"][3:] == (3, 3, 1, 0, 2, 0)   # I-1001 replied the same day: met
    assert rows["C002"][3:] == (1, 1, 0, 1, 0, 0)   # I-1004 due 10/7, replied 10/8: missed
    assert rows["C003"][8] == 1                      # I-1032: call-back due 10/30, still open
    assert rows["V001"][3:5] == (1, 0)               # paid support: no response target


def test_response_targets_are_checked_price_book_data() -> None:
    from helpers import pricebook_with

    assert pricebook_with("aki_sie").response_targets == {
        "email": 2, "phone": 2, "reply": 2, "dm": 2, "skype_chat": 3}
    assert pricebook_with("vendor_support").response_targets == {}
    for bad in ({"fax": 2}, {"email": 0}, {"email": 400}):
        with pytest.raises(xlquote.PriceBookError, match="response_targets"):
            pricebook_with("aki_sie", response_targets=bad)


def test_date_options_take_either_separator() -> None:
    """--since/--date (and invoice's --issue-date) read 2026/10/31 as a clerk writes it."""
    assert date_argument("2026/10/31") == date_argument(" 2026-10-31 ") == D(2026, 10, 31)
    assert date_argument("2026年10月31日") == D(2026, 10, 31)
    with pytest.raises(argparse.ArgumentTypeError, match=r"^'31/10/2026': 日付として読めません"):
        date_argument("31/10/2026")


def test_the_response_report_counts_alike_however_the_months_incidents_stand():
    """The month's incidents side by side (a sheet of one month: taken as views, see
    test_incident_table) or among others' (taken by their positions): the same report."""
    from xlquote.engine.pricebook import get_pricebook
    from xlquote.engine.records import contracts_from_records, incidents_from_records
    from xlquote.engine.service import response_report

    contracts = contracts_from_records(sample_contracts())
    books = {c.pricebook: get_pricebook(c.pricebook) for c in contracts}
    month = Month.parse(SAMPLE_MONTH)
    records = sample_incidents()
    mine = [r for r in records if str(r["opened"]).startswith(SAMPLE_MONTH)]
    others = [r for r in records if not str(r["opened"]).startswith(SAMPLE_MONTH)]
    side_by_side = response_report(contracts, incidents_from_records(others + mine), books, month)
    interleaved = mine[:10] + others + mine[10:]
    apart = response_report(contracts, incidents_from_records(interleaved), books, month)
    assert side_by_side == apart
    assert sum(row.received for row in apart) == len(mine) == 32


def test_a_failed_write_leaves_nothing_and_the_rerun_writes_each_notice_once(
        workbook, tmp_path, monkeypatch, capsys) -> None:
    """The record failed to be written (a full disk): the notices stayed without it, and the
    next run wrote them all again into a second file."""
    from xlquote.app import notices_run

    out = tmp_path / "notices"

    def full_disk(record, rows):
        raise notices_run.WriteFailed("書き込めません: ディスクの空きがありません")

    with monkeypatch.context() as patched:
        patched.setattr(notices_run.NoticesRecord, "add", full_disk)
        assert main(["notices", str(workbook), "--month", SAMPLE_MONTH, "--out", str(out)]) == 3
    assert sorted(p.name for p in out.iterdir()) == [".xlquote.lock"]
    assert main(["notices", str(workbook), "--month", SAMPLE_MONTH, "--out", str(out),
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["notices"]
    assert (out / "お知らせ一覧_2026-10-31.xlsx").exists()
    assert not (out / "お知らせ一覧_2026-10-31_2.xlsx").exists()
    mode = (out / "notices_record.sqlite3").stat().st_mode & 0o777  # shared like the workbook
    assert mode == (out / "お知らせ一覧_2026-10-31.xlsx").stat().st_mode & 0o777


def test_a_run_waits_for_another_on_the_same_folder(workbook, tmp_path, monkeypatch) -> None:
    """Two runs at once each kept only their own notices in the record."""
    from filelock import FileLock

    from xlquote.app import notices_run

    out = tmp_path / "notices"
    out.mkdir()
    monkeypatch.setattr(notices_run, "LOCK_TIMEOUT", 0.2)
    with FileLock(out / ".xlquote.lock"):
        assert main(["notices", str(workbook), "--month", SAMPLE_MONTH, "--out", str(out)]) == 3
    assert sorted(p.name for p in out.iterdir()) == [".xlquote.lock"]


def test_the_terminal_shows_plans_and_channels_in_japanese(workbook, tmp_path, capsys) -> None:
    assert main(["notices", str(workbook), "--month", SAMPLE_MONTH, "--out",
                 str(tmp_path)]) == 0
    shown = capsys.readouterr().out
    assert "I-1032 C003 月額契約 電話" in shown and "monthly" not in shown


def test_a_date_past_the_calendars_years_is_refused(workbook, tmp_path, capsys) -> None:
    assert main(["notices", str(workbook), "--month", SAMPLE_MONTH, "--out", str(tmp_path),
                 "--date", "9999-12-31", "--json"]) == 2
    assert "2000年〜2999年の日付を入力してください" in json.loads(capsys.readouterr().out)["message"]


def test_the_first_records_entries_are_carried_over_and_each_run_looks_up_its_own(
        workbook, tmp_path, capsys) -> None:
    """The record was one JSON file read whole: 1.16 million entries took 1.1 GB to read."""
    from xlquote.app import notices_run

    out = tmp_path / "notices"
    assert main(["notices", str(workbook), "--month", SAMPLE_MONTH, "--out", str(out),
                 "--json"]) == 0
    first = json.loads(capsys.readouterr().out)["notices"]
    record = notices_run.NoticesRecord(out)
    keys = sorted(record.written([f"no-such-{i}" for i in range(1_200)] + ["x"]))
    assert keys == []  # looked up in chunks, beyond SQLite's parameters
    rows = record.connection.execute("SELECT key, kind, file FROM written").fetchall()
    record.close()
    assert len(rows) == len(first) and {r[2] for r in rows} == {"お知らせ一覧_2026-10-31.xlsx"}
    # A folder of the first form: its JSON record is carried over, nothing written twice.
    earlier = tmp_path / "earlier"
    earlier.mkdir()
    (earlier / "notices_record.json").write_text(json.dumps({"version": 1, "written": {
        key: {"kind": kind, "date": "2026-10-31", "file": file} for key, kind, file in rows}}),
        encoding="utf-8")
    assert main(["notices", str(workbook), "--month", SAMPLE_MONTH, "--out", str(earlier),
                 "--json"]) == 0
    run = json.loads(capsys.readouterr().out)
    assert run["notices"] == [] and run["already_written"] == len(first)
    carried = notices_run.NoticesRecord(earlier)
    assert carried.written([r[0] for r in rows]) == {r[0] for r in rows}
    carried.close()


def test_a_damaged_record_is_named_and_nothing_is_written(workbook, tmp_path, capsys) -> None:
    out = tmp_path / "notices"
    out.mkdir()
    (out / "notices_record.sqlite3").write_bytes(b"not a database" * 100)
    assert main(["notices", str(workbook), "--month", SAMPLE_MONTH, "--out", str(out)]) == 2
    assert "お知らせの送付記録が読めません" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == [".xlquote.lock", "notices_record.sqlite3"]


def test_a_carry_over_that_fails_leaves_the_first_record_in_charge(workbook, tmp_path,
                                                                   monkeypatch) -> None:
    """A run that failed while carrying the JSON record over left an empty SQLite record that
    counted as carried over: the next run wrote every earlier notice again."""
    from xlquote.app import notices_run

    earlier = {"version": 1, "written": {f"old-{i}": {"kind": "units_used",
                                                      "date": "2026-09-30", "file": "x.xlsx"}
                                         for i in range(3)}}
    (tmp_path / "notices_record.json").write_text(json.dumps(earlier), encoding="utf-8")
    real = notices_run.NoticesRecord._add

    def fails_half_way(record, connection, rows):
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("CREATE TABLE written (key TEXT PRIMARY KEY, kind TEXT, date TEXT, "
                           "file TEXT)")
        connection.execute("ROLLBACK")
        raise sqlite3.OperationalError("database or disk is full")

    with monkeypatch.context() as patched:
        patched.setattr(notices_run.NoticesRecord, "_add", fails_half_way)
        assert main(["notices", str(workbook), "--month", SAMPLE_MONTH, "--out",
                     str(tmp_path)]) == 3
    assert notices_run.NoticesRecord._add is real
    assert main(["notices", str(workbook), "--month", SAMPLE_MONTH, "--out", str(tmp_path)]) == 0
    record = notices_run.NoticesRecord(tmp_path)
    assert record.written(["old-0", "old-2"]) == {"old-0", "old-2"}
    record.close()


def test_a_record_another_program_holds_is_a_run_to_try_again(workbook, tmp_path,
                                                              capsys) -> None:
    """It was named unreadable (exit 2), advising to move it away: every notice sent again."""
    assert main(["notices", str(workbook), "--month", SAMPLE_MONTH, "--out", str(tmp_path)]) == 0
    holder = sqlite3.connect(tmp_path / "notices_record.sqlite3", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        capsys.readouterr()
        assert main(["notices", str(workbook), "--month", SAMPLE_MONTH, "--out",
                     str(tmp_path), "--again"]) == 3
        assert "は使用中です" in capsys.readouterr().err
    finally:
        holder.execute("ROLLBACK")
        holder.close()
