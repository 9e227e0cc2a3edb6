"""The Excel functions through xlwings' own Office.js conversion core (xlwings Lite / Server), not
a hand-made imitation. tests/conftest.py sets XLWINGS_ON_SERVER=true and the free noncommercial
key before xlwings is imported, so ``xw.func`` is the Office.js implementation here."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import numpy as np
import pytest
import xlwings as xw
from xlwings.server import custom_functions_call, custom_functions_meta

import xlquote
from udfs import xlquote_udfs

pytestmark = pytest.mark.skipif(os.environ.get("XLWINGS_ON_SERVER") != "true",
                                reason="xlwings was imported without XLWINGS_ON_SERVER")

FUNCTIONS = {
    # name: (required parameters, optional parameters)
    "SUPPORT_LEVEL": (["channel", "round_trips", "minutes"],
                      ["sessions", "days_open", "onsite_visits", "investigation", "consulting",
                       "support_range", "level_override"]),
    "INCIDENT_FEE": (["level", "plan"], ["support_range"]),
    "CALLCENTER_TIER": (["licences"], ["field"]),
    "MONTHLY_INVOICE": (["contract_id", "month", "contracts_range", "incidents_range"],
                        ["part", "packs_range"]),
    "BASE_FEE": (["plan", "support_range"], ["max_incidents"]),
    "INCIDENT_UNITS": (["minutes"], []),
    "VENDOR_ANNUAL_FEE": (["licences"], []),
    "PLAN_COST": (["plan", "support_range", "max_incidents", "usage"],
                  ["months", "licences", "members"]),
}


def call(name: str, *args: Any) -> list[list[Any]]:
    """One Office.js custom-function request: each argument a 2-D list, None when omitted."""
    data = {
        "func_name": name, "args": list(args), "caller_address": "見積書!C19",
        "version": xw.__version__, "client": "Office.js", "runtime": "1.4",
        "culture_info_name": "ja-JP", "date_format": "yyyy/MM/dd",
    }
    return asyncio.run(custom_functions_call(data, xlquote_udfs))


def test_meta_lists_every_function_with_parameters_and_help():
    meta = {f["name"]: f for f in custom_functions_meta(xlquote_udfs)["functions"]}
    assert sorted(meta) == sorted(FUNCTIONS)  # nothing else leaks out of the module
    for name, (required, optional) in FUNCTIONS.items():
        function = meta[name]
        assert function["description"], name
        params = function["parameters"]
        assert [p["name"] for p in params] == required + optional
        assert [p["name"] for p in params if p.get("optional")] == optional
        assert all(p["description"] and p["dimensionality"] == "matrix" for p in params)
        assert function["result"]["dimensionality"] == "matrix"


def test_support_level_over_1000_rows_equals_the_engine():
    rng = np.random.default_rng(7)
    channels = rng.choice(["email", "phone", " Skype Chat ", "dm", "出張", "電話"], 1000)
    minutes = rng.integers(0, 340, 1000).astype(float)
    trips = rng.integers(0, 30, 1000).astype(float)
    ranges = rng.choice(["normal", "technical", "advanced", "mission_critical", ""], 1000)
    blank_minutes = rng.random(1000) < 0.2  # empty cells arrive as None
    minute_cells = [[None if blank else m] for m, blank in zip(minutes, blank_minutes,
                                                              strict=True)]
    got = call("SUPPORT_LEVEL", [[c] for c in channels], [[t] for t in trips], minute_cells,
               None, None, None, None, None, [[r] for r in ranges], None)
    expected = xlquote.support_level(channels, trips, np.where(blank_minutes, 0, minutes),
                                     support_range=np.where(ranges == "", "normal", ranges))
    assert len(got) == 1000 and all(len(row) == 1 for row in got)
    assert [row[0] for row in got] == expected.tolist()


def test_each_function_evaluates():
    assert call("INCIDENT_FEE", [["feather"], [4], [7]], [["annual", "月額"]], None) == \
        [[0, 0], [6_000, 2_000], [40_000, 20_000]]
    assert call("CALLCENTER_TIER", [[5000]], [["tier", "initial", "monthly"]]) == \
        [[5_000, 1_200_000, 4_000_000]]
    assert call("BASE_FEE", [["annual"], ["monthly"]], [["technical"]], [[2]]) == \
        [[40_000], [20_000]]
    assert call("INCIDENT_UNITS", [[0], [30], [31], [95]]) == [[0], [1], [2], [4]]
    assert call("VENDOR_ANNUAL_FEE", [[40]]) == [[70_000]]
    no_use = [[0] * 11]
    assert call("PLAN_COST", [["annual", "monthly"]], [["normal"]], [[None, 1]], no_use,
                None, None, None) == [[25_000, 60_000]]
    contracts = [["contract_id", "customer", "plan", "licences", "start_date"],
                 ["CC-1", "コール株式会社", "callcenter", 5000, 46_296]]  # dates arrive as serials
    incidents = [["incident_id", "contract_id", "opened", "closed", "channel"]]
    assert call("MONTHLY_INVOICE", [["CC-1"]], [[46_296]], contracts, incidents,
                [["subtotal", "tax", "total"]], None) == [[5_200_000, 520_000, 5_720_000]]


def test_bad_cells_come_back_as_readable_text_not_excel_errors():
    got = call("SUPPORT_LEVEL", [["phone"], ["phone"]], [[None], [None]], [[-1], [20]],
               None, None, None, None, None, None, None)
    assert got == [["#VALUE! minutes -1: 0 以上にしてください"], [2]]
    # A single empty cell for a required argument arrives as None: an error cell, no exception.
    assert call("INCIDENT_UNITS", [[None]]) == [[0]]
    assert call("INCIDENT_FEE", [[None]], [["annual"]], None) == [
        ["#VALUE! level 空欄: 必須です。入力してください"]]


NA = {"type": "Error", "basicValue": "#N/A", "errorType": "NotAvailable"}
DIV0 = {"type": "Error", "basicValue": "#DIV/0!", "errorType": "Div0"}


def test_an_error_cell_is_named_not_read_as_a_blank():
    """Excel hands an error value over as such (the functions allow errors); read as a blank it
    would bill ¥0 minutes or the fee of no licences without a word."""
    assert call("SUPPORT_LEVEL", [["phone"], ["phone"]], [[None], [None]], [[100], [NA]],
                None, None, None, None, None, None, None) == [
        [5], ["#VALUE! minutes #N/A: エラー値は使えません"]]
    assert call("INCIDENT_UNITS", [[DIV0]]) == [["#VALUE! minutes #DIV/0!: エラー値は使えません"]]
    assert call("VENDOR_ANNUAL_FEE", [[NA]]) == [["#VALUE! licences #N/A: エラー値は使えません"]]
    assert call("BASE_FEE", [["annual"]], [[NA]], None) == [
        ["#VALUE! support_range #N/A: エラー値は使えません"]]
    contracts = [["contract_id", "customer", "plan", "support_range", "start_date",
                  "max_incidents"], ["M-1", "テスト株式会社", "monthly", "technical", 46113, 2]]
    header = ["incident_id", "contract_id", "opened", "closed", "channel", "minutes"]
    good = [header, ["I-1", "M-1", 46296, 46296, "phone", 100]]
    assert call("MONTHLY_INVOICE", [["M-1"]], [["2026-10"]], contracts, good, None, None) == \
        [[26_400]]
    bad = [header, ["I-1", "M-1", 46296, 46296, "phone", NA]]
    (text,), = call("MONTHLY_INVOICE", [["M-1"]], [["2026-10"]], contracts, bad, None, None)
    assert text.startswith("#VALUE! シート Incidents 2行目 列 minutes: '#N/A' — エラー値は使えません")
    # An incident whose contract is an error value may be this contract's: named, not left out.
    unowned = [header, ["I-1", NA, 46296, 46296, "phone", 100]]
    (text,), = call("MONTHLY_INVOICE", [["M-1"]], [["2026-10"]], contracts, unowned, None, None)
    assert text.startswith("#VALUE! シート Incidents 2行目 列 contract_id: '#N/A'")
    (text,), = call("MONTHLY_INVOICE", [[NA]], [[NA]], contracts, good, None, None)
    assert text == "#VALUE! contract_id #N/A: エラー値は使えません"
