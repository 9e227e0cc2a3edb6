"""Price books load, carry every number of RULES.md's tables, and refuse malformed files clearly."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import pricebook_with, raw_pricebook

import xlquote
from xlquote.engine.pricebook import get_pricebook, load_pricebook_file, parse_pricebook


def test_shipped_books_load_with_spec_tables() -> None:
    b = get_pricebook("aki_sie").require_support()
    assert b.annual_base_fee.tolist() == [25000, 40000, 80000, 240000]
    assert b.annual_minimum_term_months.tolist() == [12, 12, 12, 36]
    assert b.monthly_fees.tolist() == [
        [5000, 15000, 25000, 30000, 35000],
        [10000, 20000, 30000, 35000, 40000],
        [40000, 50000, 60000, 70000, 80000],
        [60000, 90000, 120000, -1, -1],
    ]
    assert b.monthly_contract_unit_months.tolist() == [6, 6, 6, 3]
    assert b.monthly_minimum_term_months.tolist() == [12, 12, 12, 36]
    assert b.incident_fees["monthly"].tolist() == [0, 0, 0, 0, 2000, 4000, 8000, 20000, 40000,
                                                   80000, 160000]
    assert b.incident_fees["annual"].tolist() == [0, 1000, 2000, 4000, 6000, 10000, 20000,
                                                  40000, 80000, 160000, 320000]
    assert b.time_allowance_factor.tolist() == [1.0, 1.5, 2.0, 3.0]
    v = get_pricebook("vendor_support").require_vendor()
    assert (v.annual_fixed_fee, v.annual_fee_per_licence, v.unit_price, v.pack_units,
            v.pack_price) == (50000, 500, 3000, 10, 30000)
    assert v.callcenter_upper_bounds.tolist() == [100, 500, 1000, 5000, 10000, 50000]
    assert v.callcenter_initial_fees.tolist() == [300000, 600000, 900000, 1200000, 1500000,
                                                  1800000]
    assert v.callcenter_monthly_fees.tolist() == [1000000, 2000000, 3000000, 4000000, 5000000,
                                                  6000000]


@pytest.mark.parametrize(
    ("change", "key", "reason"),
    [
        ({"levels.rules.call.over": {"2": 15, "3": 50, "4": 45}},
         "levels.rules.call.over[4]", "しきい値 45 が前のレベルの 50 以下"),
        ({"incident_fees.annual": [0, 1000, 2000, 4000, 6000, 10000, 20000, 40000, 80000,
                                   -160000, 320000]},
         "incident_fees.annual[9]", "金額 -160000 は使えません"),
        ({"incident_fees.monthly": [0, 0, 0, 0, 2000]},
         "incident_fees.monthly", "11 個の金額が必要です (5 個あります)"),
        ({"tax.rounding": "bankers"}, "tax.rounding", "'bankers' は使えません。使えるもの: floor"),
        ({"ranges.normal.time_allowance_factor": 0}, "ranges.normal.time_allowance_factor",
         "0 より大きく"),
    ],
)
def test_malformed_support_book_names_file_key_and_reason(change: dict, key: str,
                                                          reason: str) -> None:
    with pytest.raises(xlquote.PriceBookError) as caught:
        pricebook_with("aki_sie", **change)
    assert (caught.value.file, caught.value.key) == ("aki_sie.toml", key)
    assert reason in caught.value.reason
    assert str(caught.value) == f"料金表 aki_sie.toml の {key}: {caught.value.reason}"


def test_missing_level_key_is_reported() -> None:
    data = raw_pricebook("aki_sie")
    del data["ranges"]["advanced"]
    with pytest.raises(xlquote.PriceBookError,
                       match=r"aki_sie.toml の ranges.advanced: 必須の項目がありません"):
        parse_pricebook(data, "aki_sie.toml", "aki_sie")


def test_level_out_of_range_is_reported() -> None:
    with pytest.raises(xlquote.PriceBookError, match=r"levels.rules.call.over.11: レベルは 1〜10"):
        pricebook_with("aki_sie", **{"levels.rules.call.over": {"2": 15, "11": 900}})


def test_callcenter_tier_gap_is_reported() -> None:
    with pytest.raises(xlquote.PriceBookError,
                       match=r"callcenter.licence_upper_bounds\[2\]: 上限 500 が前の段階の 500 以下"):
        pricebook_with("vendor_support",
                       **{"callcenter.licence_upper_bounds": [100, 500, 500, 5000, 10000, 50000]})


def test_user_pricebook_file_is_used(tmp_path) -> None:
    text = (get_pricebook("aki_sie").file and
            (xlquote.engine.pricebook.PRICEBOOK_DIR / "aki_sie.toml").read_text(encoding="utf-8"))
    custom = tmp_path / "my_book.toml"
    custom.write_text(text.replace("annual_base_fee = 25000", "annual_base_fee = 27000"),
                      encoding="utf-8")
    assert xlquote.annual_base_fee("normal", pricebook=str(custom)).tolist() == 27000
    assert load_pricebook_file(custom).name == "my_book"


def test_unknown_and_broken_files_fail_clearly(tmp_path) -> None:
    with pytest.raises(xlquote.PriceBookError, match=r"不明な料金表です。同梱の料金表 .*aki_sie"):
        get_pricebook("nope")
    broken = tmp_path / "broken.toml"
    broken.write_text("title = 'x'\nmodel = = 1\n", encoding="utf-8")
    with pytest.raises(xlquote.PriceBookError,
                       match=r"^料金表 broken\.toml: TOML の書き方が正しくありません \(2 行目 9 文字目"):
        load_pricebook_file(broken)
    with pytest.raises(xlquote.PriceBookError, match=r"^料金表 absent\.toml: ファイルが見つかりません"):
        load_pricebook_file(tmp_path / "absent.toml")


def test_every_shipped_book_bills_zero_usage_at_zero() -> None:
    """Common check on every price book: no usage costs nothing beyond the fixed fees."""
    assert np.all(xlquote.incident_fee("feather", ["annual", "monthly"]) == 0)
    assert xlquote.incident_units(0).tolist() == 0
