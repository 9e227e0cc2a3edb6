"""The Excel functions called directly with inputs shaped as xlwings hands them over (2-D object
arrays: floats, None/NaN blanks, text with stray spaces, Japanese codes, datetimes), checked
against the engine."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from helpers import cell_error

import xlquote
from udfs import xlquote_udfs as udfs
from xlquote.app import excel_cells
from xlquote.engine.columns import to_text


def column(*cells: object) -> np.ndarray:
    """A one-column range as xlwings delivers it with ``np.array, ndim=2, dtype=object``."""
    return np.array([[c] for c in cells], dtype=object)


def ints(cells: np.ndarray) -> list[int]:
    return [int(v) for v in np.ravel(cells)]


# --- SUPPORT_LEVEL -------------------------------------------------------------------------


def test_support_level_matches_the_engine_on_messy_cells():
    channel = column(" email ", "電話", "Skype Chat", "dm", "出張", "phone")
    round_trips = column(2.0, None, None, 30.0, None, np.nan)
    minutes = column(None, 25.0, 100.0, None, 0.0, 301.0)
    days_open = column(None, None, None, 9.0, None, None)
    support_range = column("technical", " 技術的 ", "technical", "normal", "通常", None)
    got = udfs.SUPPORT_LEVEL(channel, round_trips, minutes, days_open=days_open,
                             support_range=support_range)
    expected = xlquote.support_level(
        ["email", "phone", "skype_chat", "dm", "onsite", "phone"], [2, 0, 0, 30, 0, 0],
        [0, 25, 100, 0, 0, 301], days_open=[0, 0, 0, 9, 0, 0],
        support_range=["technical", "technical", "technical", "normal", "normal", "normal"])
    assert got.shape == (6, 1)
    assert ints(got) == list(expected)
    # RULES.md example 1 and 2: feather, level 2, level 4; 30 round trips open 9 days → level 6.
    assert ints(got)[:4] == [0, 2, 4, 6]


def test_a_bad_cell_errors_only_its_own_result():
    got = udfs.SUPPORT_LEVEL(column("phone", "phone", "fax", "email", "phone"),
                             column(None, None, None, 3.5, None),
                             column(-1.0, 50.0, 10.0, None, 400.0))
    assert got[0, 0] == "#VALUE! minutes -1: 0 以上にしてください"
    assert got[1, 0] == xlquote.support_level("phone", 0, 50)
    assert cell_error(got[2, 0], "channel", "'fax'", "不明なチャネルです。使えるもの: email（メール）")
    assert cell_error(got[3, 0], "round_trips", "3.5", "整数で入力してください")
    assert cell_error(got[4, 0], "minutes", "400", "連続 360 分まで")
    assert all(type(v) in (int, str) for v in got.ravel())  # writable by every Excel bridge


def test_whole_floats_are_integers_and_optional_arguments_default():
    # Office.js turns an omitted or single empty argument into None.
    assert udfs.SUPPORT_LEVEL("email", 16.0, None)[0, 0] == 4
    assert udfs.SUPPORT_LEVEL("email", 16.0, None, level_override=column(7.0))[0, 0] == 7
    assert udfs.SUPPORT_LEVEL("email", None, None, consulting="総合")[0, 0] == 7
    assert udfs.SUPPORT_LEVEL("email", None, None, investigation=True)[0, 0] == 5
    assert cell_error(udfs.SUPPORT_LEVEL(None, None, None)[0, 0], "channel", "空欄", "必須です")


def test_results_broadcast_like_excel_arrays():
    # A column of minutes against a row of ranges: a 3×4 block.
    minutes = column(20.0, 40.0, 100.0)
    ranges = np.array([["normal", "technical", "advanced", "mission_critical"]], dtype=object)
    got = udfs.SUPPORT_LEVEL("phone", None, minutes, support_range=ranges)
    expected = xlquote.support_level("phone", 0, np.array([[20], [40], [100]]),
                                     support_range=ranges)
    assert got.shape == (3, 4)
    assert got.tolist() == expected.tolist()


def test_shapes_that_do_not_broadcast_give_one_error_cell_not_an_exception():
    got = udfs.SUPPORT_LEVEL(column("email", "phone"), column(1.0, 2.0, 3.0), None)
    assert got.shape == (1, 1)
    assert got[0, 0].startswith("#VALUE! arguments: '2行×1列, 3行×1列, 1セル' — ")
    assert "大きさが合いません" in got[0, 0]


# --- fees ----------------------------------------------------------------------------------


def test_incident_fee_reads_levels_and_plans_as_typed():
    levels = column("feather", 0.0, " フェザー ", 4.0, "レベル7", 10.0, 3.5, None)
    plans = np.array([["annual", " 月額 "]], dtype=object)
    got = udfs.INCIDENT_FEE(levels, plans)
    clean = np.array([[0], [0], [0], [4], [7], [10]])
    expected = xlquote.incident_fee(clean, np.array([["annual", "monthly"]]))
    assert got[:6].tolist() == expected.tolist()
    assert got[4].tolist() == [40_000, 20_000]
    assert cell_error(got[6, 0], "level", "3.5", "feather（フェザー）か 1〜10")
    assert cell_error(got[7, 1], "level", "空欄", "必須です")


def test_callcenter_tier_fields_and_limits():
    licences = column(1.0, 100.0, 101.0, 5000.0, 50_000.0, 50_001.0, 0.0, "12,000")
    fields = np.array([["tier", "initial", "monthly"]], dtype=object)
    got = udfs.CALLCENTER_TIER(licences, fields)
    assert got[3].tolist() == [5_000, 1_200_000, 4_000_000]  # RULES.md example 4
    assert got[:5].tolist() == xlquote.callcenter_tier(
        np.array([[1], [100], [101], [5000], [50_000]]), fields[0]).tolist()
    assert cell_error(got[5, 0], "licences", "50001", "1〜50,000 ライセンス")
    assert got[6, 0] == "#VALUE! licences 0: 1 以上にしてください"
    assert got[7, 2] == 6_000_000  # "12,000" typed as text with a thousands separator
    assert udfs.CALLCENTER_TIER(300.0)[0, 0] == 500  # field omitted → tier


def test_base_fee_per_plan():
    plans = column("annual", "monthly", "年額", "monthly", "monthly", "spot")
    ranges = column("technical", "technical", "mission_critical", "mission_critical", "normal", None)
    maxima = column(None, 2.0, None, 4.0, 5.0, None)
    got = udfs.BASE_FEE(plans, ranges, maxima)
    assert got[0, 0] == xlquote.annual_base_fee("technical") == 40_000
    assert got[1, 0] == xlquote.monthly_base_fee("technical", 2) == 20_000
    assert got[2, 0] == xlquote.annual_base_fee("mission_critical") == 240_000
    assert cell_error(got[3, 0], "max_incidents", "4", "mission_critical では、月の上限件数")
    assert got[4, 0] == xlquote.monthly_base_fee("normal", 5) == 35_000
    assert cell_error(got[5, 0], "plan", "'spot'", "不明な契約プランです")


def test_incident_units_and_vendor_annual_fee():
    minutes = column(0.0, 1.0, 30.0, 31.0, 95.0, None, "abc")
    got = udfs.INCIDENT_UNITS(minutes)
    assert ints(got[:6]) == [0, 1, 1, 2, 4, 0]
    assert ints(got[:6]) == list(xlquote.incident_units([0, 1, 30, 31, 95, 0]))
    assert cell_error(got[6, 0], "minutes", "'abc'", "数値として読めません")
    fees = udfs.VENDOR_ANNUAL_FEE(column(40.0, 1.0, 2.5))
    assert fees[:2].tolist() == [[70_000], [50_500]]
    assert cell_error(fees[2, 0], "licences", "2.5", "整数で入力してください")


# --- MONTHLY_INVOICE -----------------------------------------------------------------------

CONTRACTS = [
    ["contract_id", "customer", "plan", "support_range", "max_incidents", "start_date"],
    ["M-1", "エム株式会社", "月額", " Technical ", 2.0, dt.datetime(2026, 4, 1)],
    ["A-1", "エー商店", "annual", "normal", None, dt.datetime(2026, 7, 1)],
    [1001.0, "数字ID", "annual", "normal", None, dt.datetime(2026, 1, 1)],
    [None, None, None, None, None, None],  # a generously selected range ends in blank rows
]
INCIDENTS = [
    ["incident_id", "contract_id", "opened", "closed", "channel", "round_trips", "minutes",
     "days_open"],
    ["i1", "M-1", dt.datetime(2026, 10, 5), dt.datetime(2026, 10, 5), "メール", 2.0, None, None],
    ["i2", "M-1", dt.datetime(2026, 10, 6), dt.datetime(2026, 10, 6), "phone", None, 25.0, None],
    ["i3", "M-1", dt.datetime(2026, 10, 7), dt.datetime(2026, 10, 7), "skype_chat", None, 100.0,
     None],
    ["i4", "A-1", dt.datetime(2026, 10, 1), dt.datetime(2026, 10, 10), "email", 30.0, None, None],
]


def as_records(table: list[list[object]]) -> list[dict[str, object]]:
    header, *rows = table
    return [dict(zip(header, row, strict=True)) for row in rows if any(v is not None for v in row)]


def test_monthly_invoice_totals_match_the_engine():
    contracts, incidents = np.array(CONTRACTS, dtype=object), np.array(INCIDENTS, dtype=object)
    ids = column("M-1", " A-1 ", 1001.0)
    parts = np.array([["subtotal", "tax", "total"]], dtype=object)
    got = udfs.MONTHLY_INVOICE(ids, "2026-10", contracts, incidents, parts)
    assert got.tolist() == [[22_000, 2_200, 24_200], [20_000, 2_000, 22_000], [0, 0, 0]]
    records = as_records(CONTRACTS)
    for row, contract in zip(got, records, strict=True):
        invoice = xlquote.monthly_invoice(contract, as_records(INCIDENTS), "2026-10")
        assert row.tolist() == [invoice.subtotal, invoice.tax, invoice.total]


@pytest.mark.parametrize("month", ["2026-10", "2026年10月", dt.datetime(2026, 10, 31),
                                   46_296.0])  # 46296 = 2026-10-01 as an Excel serial
def test_monthly_invoice_month_as_text_date_or_serial(month):
    got = udfs.MONTHLY_INVOICE("M-1", month, np.array(CONTRACTS, dtype=object),
                               np.array(INCIDENTS, dtype=object))
    assert got.tolist() == [[24_200]]


def test_monthly_invoice_lines_spill_with_a_header():
    got = udfs.MONTHLY_INVOICE("M-1", "2026-10", np.array(CONTRACTS, dtype=object),
                               np.array(INCIDENTS, dtype=object), "lines")
    invoice = xlquote.monthly_invoice(as_records(CONTRACTS)[0], as_records(INCIDENTS), "2026-10")
    assert tuple(got[0]) == excel_cells.LINE_HEADER
    assert got.shape == (len(invoice.lines) + 1, len(excel_cells.LINE_HEADER))
    amounts = list(got[1:, excel_cells.LINE_HEADER.index("amount")])
    assert amounts == [line.amount for line in invoice.lines]
    assert sum(amounts) == 22_000
    several = udfs.MONTHLY_INVOICE(column("M-1", "A-1"), "2026-10", np.array(CONTRACTS),
                                   np.array(INCIDENTS), "lines")
    (text,) = several.ravel()
    assert cell_error(text, "part", "'lines'", "契約ID 1 つ・月 1 つのときだけ")


def test_a_bad_incident_errors_only_its_contracts_cells():
    incidents = [*INCIDENTS, ["i5", "A-1", dt.datetime(2026, 10, 2), dt.datetime(2026, 10, 3),
                              "phone", None, -5.0, None]]
    got = udfs.MONTHLY_INVOICE(column("M-1", "A-1", "nobody", None), "2026-10",
                               np.array(CONTRACTS, dtype=object),
                               np.array(incidents, dtype=object))
    assert got[0, 0] == 24_200
    # Row 6 of the incidents range (its header is row 1) holds the bad minutes.
    assert got[1, 0] == "#VALUE! シート Incidents 6行目 列 minutes: -5 — 0 以上にしてください"
    assert got[2, 0].startswith("#VALUE! シート Contracts 列 contract_id: 'nobody' — ")
    assert "契約の範囲 (contracts_range) にない" in got[2, 0]
    assert cell_error(got[3, 0], "contract_id", "空欄", "必須です")


def test_a_bad_month_or_part_errors_only_its_cell():
    got = udfs.MONTHLY_INVOICE("M-1", column("2026-10", "someday"), np.array(CONTRACTS),
                               np.array(INCIDENTS), np.array([["total", "grand"]], dtype=object))
    assert got[0, 0] == 24_200
    assert cell_error(got[1, 0], "month", "'someday'", "月として読めません")
    assert cell_error(got[0, 1], "part", "'grand'", "不明な項目です。使えるもの: total（合計）")


def test_grid_shapes_cells_and_ranges_like_excel():
    assert excel_cells.grid(None).tolist() == [[None]]  # omitted, or one empty cell
    assert excel_cells.grid(3.0).tolist() == [[3.0]]
    assert excel_cells.grid([1.0, "a"]).shape == (2, 1)  # a flat list is a column
    mixed = excel_cells.grid(column(1.0, " 2 ", True))
    assert mixed.dtype == object and mixed[2, 0] is True


def test_a_misspelt_header_is_named_as_the_batch_names_it():
    """Read as absent, a ``minute`` column would bill every incident's minutes as blank."""
    incidents = np.array(INCIDENTS, dtype=object)
    incidents[0, list(incidents[0]).index("minutes")] = "minute"
    (text,) = udfs.MONTHLY_INVOICE("M-1", "2026-10", np.array(CONTRACTS, dtype=object),
                                   incidents).ravel()
    assert text.startswith("#VALUE! シート Incidents 1行目 列 minute: 'minute' — "
                           "読まない列の見出しですが、minutes の列がありません")


@pytest.mark.parametrize("month", [2026.1, 100.0, 2_958_465.0])
def test_a_number_that_is_no_billed_month_is_refused(month):
    """2026.10 typed into a General cell is the number 2026.1: as a date serial, July 1905."""
    (text,) = udfs.MONTHLY_INVOICE("M-1", month, np.array(CONTRACTS, dtype=object),
                                   np.array(INCIDENTS, dtype=object)).ravel()
    assert cell_error(text, "month", f"{month:.10g}", "2000年1月〜2999年12月の月を入力してください")


def test_a_range_selected_without_its_header_row_is_named_so():
    """Selected from its first record (A2:X45), the range's values were taken for headers:
    「1行目 列 2026-04-08 00:00:00 — 同じ見出しの列が 2 つあります」."""
    incidents = np.array(INCIDENTS[1:], dtype=object)
    (text,) = udfs.MONTHLY_INVOICE("M-1", "2026-10", np.array(CONTRACTS, dtype=object),
                                   incidents).ravel()
    assert text.startswith("#VALUE! シート Incidents 1行目 列 A: ")
    assert "範囲の1行目が見出しではありません。incident_id などの見出しの行から範囲を" in text


@pytest.mark.parametrize("month", [202610, 201912.0])
def test_a_month_typed_as_yyyymm_is_refused(month):
    """202610 is a date serial of 2454-09: C001 was billed ¥22,000 for that month, no error."""
    (text,) = udfs.MONTHLY_INVOICE("M-1", month, np.array(CONTRACTS, dtype=object),
                                   np.array(INCIDENTS, dtype=object)).ravel()
    assert cell_error(text, "month", f"{month:.10g}", "数値は月として読めません (202610 のような"
                      "数値は日付のシリアル値になります)。2026-10 (YYYY-MM) の形の文字列か、その月の"
                      "日付で入力してください")


@pytest.mark.parametrize("month", ["2026-10", "２０２６－１０", "2026-10-15", "2026/10/31",
                                   "2026年10月14日", dt.datetime(2026, 10, 31), 46300])
def test_a_month_is_taken_as_a_date_column_takes_a_date_in_it(month):
    """Text dates as a date column takes them, and full-width as typed with the IME on."""
    got = udfs.MONTHLY_INVOICE("M-1", month, np.array(CONTRACTS, dtype=object),
                               np.array(INCIDENTS, dtype=object))
    expected = udfs.MONTHLY_INVOICE("M-1", "2026-10", np.array(CONTRACTS, dtype=object),
                                    np.array(INCIDENTS, dtype=object))
    assert isinstance(got.ravel()[0], int | float | np.integer) and (got == expected).all()


def test_many_contracts_and_months_read_the_ranges_once(monkeypatch):
    """Each (contract, month) picked its rows out of the whole ranges again: 100 contracts ×
    12 months × 100,000 incidents took 22 s for one formula. Now each range's contract ids are
    read once per call, however many contracts and months it bills."""
    read = []

    def counted(values: np.ndarray) -> np.ndarray:
        read.append(values.size)
        return to_text(values)

    monkeypatch.setattr(excel_cells, "to_text", counted)
    rows = [[f"I{i}", f"C{i % 20}", dt.datetime(2026, 10, 5), dt.datetime(2026, 10, 5), "email",
             1.0, None, None] for i in range(200)]
    contracts = [CONTRACTS[0], *([f"C{i}", "顧客", "annual", "normal", None,
                                  dt.datetime(2026, 1, 1)] for i in range(20))]
    months = np.array([[f"2026-{m:02d}" for m in range(1, 13)]], dtype=object)
    got = udfs.MONTHLY_INVOICE(column(*(f"C{i}" for i in range(20))), months,
                               np.array(contracts, dtype=object),
                               np.array([INCIDENTS[0], *rows], dtype=object))
    assert got.shape == (20, 12) and got[0, 9] == got[19, 9] == 0
    assert sorted(read) == [20, 200, 240]  # Contracts' ids, Incidents', the 20 × 12 asked for


def test_an_infinity_beside_text_is_named_not_an_exception():
    got = udfs.INCIDENT_FEE(column(float("inf"), "feather"), "annual")
    assert got.tolist() == [["#VALUE! level inf: レベルは feather（フェザー）か 1〜10 で入力してください"],
                            [0]]


def test_a_broadcast_beyond_two_columns_of_cells_is_one_error_cell():
    """A column against a row makes their product: A:A against 1:1 would be 17 billion cells."""
    channel = np.full((2_000, 1), "phone", dtype=object)
    minutes = np.full((1, 2_000), 10.0, dtype=object)
    (text,) = udfs.SUPPORT_LEVEL(channel, None, minutes).ravel()
    assert text.startswith("#VALUE! arguments: '2000行×2000列' — 引数を合わせると 4,000,000 セル")


def test_plan_cost_bounds_usage_and_rows_and_names_every_bad_profile():
    usage = np.array([[0] * 10 + [1e12]], dtype=object)  # wrapped int64 to a negative cost
    (text,) = udfs.PLAN_COST("annual", "mission_critical", None, usage, 120).ravel()
    assert text == ("#VALUE! usage 1000000000000: (レベル10 の件数) 10,000 以下にしてください")
    # More than a thousand bad cells: the last profiles were costed as if their usage were 0.
    bad = np.full((120, 11), "abc", dtype=object)
    got = udfs.PLAN_COST(np.full((120, 1), "annual", dtype=object), "normal", None, bad)
    assert all(str(cell).startswith("#VALUE! usage 'abc'") for cell in got.ravel())
    (text,) = udfs.PLAN_COST(np.full((10_001, 1), "annual", dtype=object), "normal", None,
                             np.zeros((1, 11)), 120).ravel()
    assert "'10,001 件 × 120 か月' — 一度に比べられるのは、プラン (× 利用見込み) の件数 × 月数で " \
        "1,200,000 まで" in text
    assert udfs.PLAN_COST(np.full((10_000, 1), "annual", dtype=object), "normal", None,
                          np.zeros((1, 11)), 120)[0, 0] == 250_000  # ten years of ¥25,000


def test_a_blank_licence_count_is_required_not_the_fee_of_none():
    assert udfs.VENDOR_ANNUAL_FEE(column(40.0, None)).tolist() == [
        [70_000], ["#VALUE! licences 空欄: 必須です。入力してください"]]
    assert udfs.CALLCENTER_TIER(None, None).tolist() == [
        ["#VALUE! licences 空欄: 必須です。入力してください"]]


def test_a_message_repeats_only_the_start_of_a_long_value():
    (text,) = udfs.INCIDENT_FEE("a" * 32_767, "annual").ravel()
    assert len(text) < 200 and text.startswith("#VALUE! level '" + "a" * 40 + "…'")


def test_an_error_value_in_a_header_is_named_not_a_column_left_out():
    """A closed header of #REF! left the column unread: every incident open, nothing billed."""
    incidents = np.array(INCIDENTS, dtype=object)
    incidents[0, list(incidents[0]).index("closed")] = "#REF!"
    (text,) = udfs.MONTHLY_INVOICE("M-1", "2026-10", np.array(CONTRACTS, dtype=object),
                                   incidents).ravel()
    assert text.startswith("#VALUE! シート Incidents 1行目 列 D: '#REF!' — 見出しを読めません")


def test_an_incident_of_a_contract_the_range_lacks_is_named_in_every_cell():
    """The batch refuses it (the id may be mistyped); the function billed every contract."""
    stray = [*INCIDENTS, ["i9", "M-9", dt.datetime(2026, 10, 5), dt.datetime(2026, 10, 5),
                          "phone", None, 25.0, None]]
    got = udfs.MONTHLY_INVOICE(column("M-1", "A-1"), "2026-10", np.array(CONTRACTS, dtype=object),
                               np.array(stray, dtype=object))
    for (text,) in got.tolist():
        assert text == ("#VALUE! シート Incidents 6行目 列 contract_id: 'M-9' — 契約の範囲 "
                        "(contracts_range) にない契約IDです")


@pytest.mark.parametrize(("function", "args", "name", "value", "bound"), [
    ("INCIDENT_UNITS", (1_000_000,), "minutes", "1000000", "100,000"),
    ("VENDOR_ANNUAL_FEE", (100_000_000,), "licences", "100000000", "10,000,000"),
    ("SUPPORT_LEVEL", ("phone", 0, 1_000_000), "minutes", "1000000", "100,000"),
    ("SUPPORT_LEVEL", ("email", 20_000, 0), "round_trips", "20000", "10,000"),
])
def test_a_function_bounds_a_measure_as_its_column_does(function, args, name, value, bound):
    """INCIDENT_UNITS(1,000,000) gave 33,334 and VENDOR_ANNUAL_FEE(100,000,000) ¥50,000,050,000,
    values the sheet's column refuses."""
    (text,) = getattr(udfs, function)(*args).ravel()
    assert cell_error(text, name, value, f"{bound} 以下にしてください")


def test_plan_cost_names_blank_licences_as_blank():
    """A blank licence count was named 「licences 0」."""
    usage = np.array([[1] + [0] * 10], dtype=object)
    (text,) = udfs.PLAN_COST("callcenter", "normal", None, usage, 12, None).ravel()
    assert text.startswith("#VALUE! licences 空欄: ")
