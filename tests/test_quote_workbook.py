"""The sales quote (workbooks/quote.xlsx) evaluated headlessly: native formulas by the ``formulas``
engine, the UDFs standing in as the very functions of udfs/xlquote_udfs.py. Its numbers must be
the engine's."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import openpyxl
import pytest

os.environ.setdefault("TQDM_DISABLE", "1")
formulas = pytest.importorskip("formulas")
from formulas.functions import replace_empty, wrap_func  # noqa: E402

import xlquote  # noqa: E402
from udfs import xlquote_udfs  # noqa: E402
from xlquote.app.workbooks import quote  # noqa: E402
from xlquote.engine.codes import PLANS, SUPPORT_RANGES  # noqa: E402
from xlquote.engine.money import consumption_tax  # noqa: E402

UDF_NAMES = ("SUPPORT_LEVEL", "INCIDENT_FEE", "CALLCENTER_TIER", "BASE_FEE", "INCIDENT_UNITS",
             "VENDOR_ANNUAL_FEE", "MONTHLY_INVOICE")
LEVEL_ROWS = range(quote.LEVEL_FIRST_ROW, quote.LEVEL_FIRST_ROW + 11)


def as_excel_function(udf: Any) -> Any:
    """The UDF as a ``formulas`` function: ranges arrive as 2-D object arrays with an 'empty'
    marker, which becomes None as in xlwings; a 1×1 result is one cell."""
    def call(*args: Any) -> Any:
        cells = [np.asarray(replace_empty(a, None), dtype=object) if isinstance(a, np.ndarray)
                 else a for a in args]
        result = np.asarray(udf(*cells), dtype=object)
        return result[0, 0] if result.shape == (1, 1) else result
    return wrap_func(call)


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Any:
    functions = formulas.get_functions()
    for name in UDF_NAMES:  # registered before loading: formulas binds names at parse time
        functions[name] = as_excel_function(getattr(xlquote_udfs, name))
    path = quote.build(tmp_path_factory.mktemp("quote") / quote.FILENAME)
    return formulas.ExcelModel().loads(str(path)).finish()


def key(ref: str) -> str:
    return f"'[{quote.FILENAME}]{quote.QUOTE.upper()}'!{ref}"


def evaluate(model: Any, **inputs: Any) -> dict[str, Any]:
    """Cell values of the quote sheet after setting named input cells (e.g. Plan="annual")."""
    solution = model.calculate(inputs={key(quote.NAMES[n]): v for n, v in inputs.items()})

    def value(ref: str) -> Any:
        cell = solution[key(ref)].value[0, 0]
        return cell.item() if isinstance(cell, np.generic) else cell
    refs = [f"{c}{r}" for c in "ABCDE" for r in range(1, 53)]
    return {ref: value(ref) for ref in refs if key(ref) in solution}


def test_sample_quote_prices_spec_example_1_with_the_engines_numbers(model):
    cells = evaluate(model)
    fees = xlquote.incident_fee(["feather", *range(1, 11)], "monthly", "technical")
    assert [cells[f"C{r}"] for r in LEVEL_ROWS] == fees.tolist()
    counts = np.array([cells[f"B{r}"] for r in LEVEL_ROWS])
    base = xlquote.monthly_base_fee("technical", 2)
    assert cells["B40"] == base == 20_000
    # One month of the sample is RULES.md example 1 as the engine bills it: 22,000.
    example = xlquote.monthly_invoice(
        {"contract_id": "Q", "customer": "見積", "plan": "monthly", "support_range": "technical",
         "max_incidents": 2, "start_date": "2026-10-01"},
        [{"incident_id": f"i{n}", "contract_id": "Q", "opened": "2026-10-05",
          "closed": "2026-10-05", **measures} for n, measures in enumerate(
            [{"channel": "email", "round_trips": 2}, {"channel": "phone", "minutes": 25},
             {"channel": "skype_chat", "minutes": 100}])], "2026-10")
    assert base + int(counts @ fees) == example.subtotal == 22_000
    assert cells["B14"] == 12  # minimum term of a monthly technical contract
    assert cells["E47"] == 12 * example.subtotal
    assert cells["E48"] == consumption_tax(cells["E47"], 10, "floor") == 26_400
    assert cells["E49"] == 290_400
    assert cells["B7"] == "aki_sie" and cells["C8"] == "月額契約"


def test_annual_mission_critical_quotes_its_three_year_minimum(model):
    cells = evaluate(model, Plan="annual", SupportRange="mission_critical")
    assert cells["B13"] == cells["B14"] == 36 and cells["B15"] == 3
    assert cells["B40"] == xlquote.annual_base_fee("mission_critical") == 240_000
    assert cells["E40"] == 3 * 240_000
    fees = xlquote.incident_fee(["feather", *range(1, 11)], "annual")
    counts = np.array([cells[f"B{r}"] for r in LEVEL_ROWS])
    assert cells["E41"] == 36 * int(counts @ fees)
    assert cells["E47"] == 3 * 240_000 + 36 * int(counts @ fees)


def test_callcenter_quote(model):
    cells = evaluate(model, Plan="callcenter", Licences=5000)
    initial = xlquote.callcenter_tier(5000, "initial")
    monthly = xlquote.callcenter_tier(5000, "monthly")
    assert (cells["E44"], cells["E45"]) == (initial, 12 * monthly) == (1_200_000, 48_000_000)
    assert cells["E40"] == cells["E41"] == cells["E42"] == cells["E43"] == 0
    assert cells["E47"] == 49_200_000
    assert cells["E49"] == 49_200_000 + consumption_tax(49_200_000, 10, "floor")


def test_paid_support_quote_counts_units_and_packs(model):
    cells = evaluate(model, Plan="vendor_support", Licences=40)
    units = int(xlquote.incident_units(60))  # the sample: one 60-minute incident a month
    assert cells["B35"] == units == 2
    assert cells["B37"] == -(-units * 12 // 10) == 3  # packs of 10 units, valid one year
    assert cells["E42"] == xlquote.vendor_annual_fee(40) == 70_000
    assert cells["E43"] == 3 * 30_000
    assert cells["E47"] == 70_000 + 90_000


def test_a_bad_input_shows_the_udfs_message(model):
    cells = evaluate(model, MaxIncidents=9)
    assert cells["B40"].startswith("#VALUE! max_incidents 9: ") and "1〜5 件" in cells["B40"]


def test_dropdowns_conf_sheet_fonts_and_print_setup(tmp_path):
    path = quote.build(tmp_path / quote.FILENAME)
    wb = openpyxl.load_workbook(path)
    ws = wb[quote.QUOTE]
    lists = {str(v.sqref): v.formula1 for v in ws.data_validations.dataValidation
             if v.type == "list"}
    assert lists == {"B8": '"' + ",".join(PLANS.codes) + '"',
                     "B9": '"' + ",".join(SUPPORT_RANGES.codes) + '"'}
    conf = wb[quote.CONF]
    assert (conf["A1"].value, conf["B1"].value) == ("UDF Modules", "xlquote_udfs")
    assert (Path(xlquote_udfs.__file__).stem) == quote.UDF_MODULE
    assert int(ws.page_setup.paperSize) == int(ws.PAPERSIZE_A4) and ws.print_area == "'見積書'!$A$1:$E$60"
    assert {c.font.name for row in ws.iter_rows() for c in row if c.value is not None} == \
        {"IPAexGothic"}
    assert all(ws[ref].number_format == '"¥"#,##0;-"¥"#,##0' for ref in
               ("C19", "B40", "E40", "E47", "E48", "E49"))
    assert "INCIDENT_FEE(" in ws["C19"].value and "BASE_FEE(" in ws["B40"].value
    assert wb[quote.LISTS].sheet_state == "hidden"


@pytest.mark.parametrize(("term", "months", "years"), [(6, 12, 1), (24, 24, 2), (30, 30, 3),
                                                     (13, 18, 2)])
def test_a_typed_term_never_goes_below_the_minimum(model, term, months, years):
    # monthly: at least 1 year, in 6-month contract units (004_de71e10344ea06c0.txt:139, 223)
    cells = evaluate(model, TermMonths=term)
    assert (cells["B14"], cells["B15"], cells["B16"]) == (months, years, 6)
    assert cells["E47"] == months * 22_000


@pytest.mark.parametrize(("plan", "support_range", "term", "months"), [
    ("annual", "normal", 13, 24),            # 契約単位 1年 (004_de71e10344ea06c0.txt:217)
    ("annual", "mission_critical", 40, 48),  # 最低 3年, then whole years (004_…:220)
    ("monthly", "mission_critical", 37, 39),  # 3-month units, 3-year minimum (004_…:238)
    ("callcenter", "normal", 5, 12),         # 1年単位 (000_0e7793dec93ec3cc.txt:170)
])
def test_quote_term_is_rounded_up_to_whole_contract_units(model, plan, support_range, term,
                                                          months):
    cells = evaluate(model, Plan=plan, SupportRange=support_range, TermMonths=term,
                     Licences=5000)
    assert cells["B14"] == months


def test_quote_states_the_contract_terms(tmp_path):
    ws = openpyxl.load_workbook(quote.build(tmp_path / quote.FILENAME))[quote.QUOTE]
    notes = " ".join(str(ws[f"A{r}"].value) for r in range(quote.NOTES_ROW, 61))
    for words in ("6か月単位・最低12か月", "ミッションクリティカル 3か月単位・最低36か月",
                  "上限額に達したとき", "メール 2営業日", "Skype チャット 3営業日",
                  "出張サポート (オプション・別料金): 料金は別途お見積り", "有効期限が30日以内"):
        assert words in notes
