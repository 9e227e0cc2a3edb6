"""``workbooks/compare.xlsx``: the contract comparison sheet a salesperson edits.

Inputs (yellow): horizon, licences, members, the chart's support range, and expected incidents
per month by level. The table lists every plan, cheapest first, with the engine's cost for the
inputs the file was built with (useful without Excel's add-in, e.g. printed), and a live
``=PLAN_COST(...)`` column that Excel recalculates through the xlwings UDFs when the inputs
change. The chart (a native Excel line chart) shows the cost of the chosen range's annual and
monthly plans against total incidents per month at the same level mix.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from openpyxl import Workbook
from openpyxl.chart import LineChart, Reference
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.pagebreak import Break

from ...engine.codes import SUPPORT_RANGES
from ...engine.compare import UsageProfile, compare_profile, cost_curves
from ...engine.compare.cost import resolve_books
from ...engine.terms import plan_terms
from ...writers.comparison import TABLE_HEADERS, write_plan_table
from ...writers.xlsx import YEN_FORMAT, save_atomic, set_formula, set_text, set_value, setup_a4, use_japanese_font

FILENAME = "compare.xlsx"
SHEET = "比較"
UDF_NAME = "PLAN_COST"  # the Excel name of xlquote.engine.compare.plan_cost (udfs/)
DEFAULT_USAGE = (1, 0.5, 0.5, 0.5, 0.5, 0.5, 1, 0.25, 0, 0, 0)  # feather..10 per month
DEFAULT_MONTHS, DEFAULT_LICENCES, DEFAULT_MEMBERS, DEFAULT_RANGE = 12, 40, 0, "normal"
CHART_RATES = tuple(range(11))  # total incidents per month on the chart's x axis
CHART_TITLE = "利用量と費用 (Cost by incidents per month)"
X_TITLE = "インシデント件数/月 (incidents per month)"
Y_TITLE = "期間の費用 円 (cost over the horizon, yen)"
INPUT_FILL = PatternFill("solid", fgColor="FFF2CC")
LEVEL_LABELS = ("feather", *(str(n) for n in range(1, 11)))

# Input cells and the names the formulas use.
INPUTS = {"months": "C4", "licences": "C5", "members": "C6", "chart_range": "C7"}
HORIZON_CELL = "C8"  # the common horizon every plan is ranked over (a formula of the months)
USAGE_ROW, USAGE_FIRST_COL = 10, 3  # feather..10 in C..M
TABLE_TOP = 12
CHART_ROWS = 24  # rows the chart covers (11 cm at the default row height)
COLUMN_WIDTHS = (6, 40, 14, 16, 14, 14, 14, 14, 14, 14, 14, 14, 18)  # A..M


def build(path: str | Path) -> Path:
    profile = UsageProfile(np.asarray(DEFAULT_USAGE, dtype=np.float64), DEFAULT_MONTHS,
                           DEFAULT_LICENCES, DEFAULT_MEMBERS)
    comparison = compare_profile(profile)
    wb = Workbook()
    ws = wb.active
    ws.title = SHEET
    set_text(ws["A1"], "契約プラン比較 (xlquote)").font = Font(bold=True, size=14)
    set_text(ws["A2"], "黄色のセルを編集すると「再計算」列 (PLAN_COST, Excel + xlwings) が更新されます。"
                       "「費用」列とグラフは既定の入力で計算した値です (xlquote compare で再計算)。")
    _inputs(ws, wb)
    _horizon(ws, wb, comparison)
    last = write_plan_table(ws, comparison, TABLE_TOP)
    _live_column(ws, TABLE_TOP, last)
    row = last + 2
    set_text(ws.cell(row, 1), "補足").font = Font(bold=True)
    for text in ([b.describe() for b in comparison.break_even]
                 + [f"対象外: {e['plan']} — {e['reason']}" for e in comparison.excluded]
                 + comparison.notes):
        row += 1
        set_text(ws.cell(row, 2), text)
    _chart(ws, profile, row + 2)
    for i, width in enumerate(COLUMN_WIDTHS):
        ws.column_dimensions[chr(ord("A") + i)].width = width
    use_japanese_font(ws)
    setup_a4(ws, landscape=True)
    return save_atomic(wb, path)


def _inputs(ws, wb: Workbook) -> None:
    labels = {"months": "期間 (月)", "licences": "ライセンス数 (有料サポート・コールセンター)",
              "members": "カルテ作成の人数 (メンバーの初回個人利用)",
              "chart_range": "グラフのサポート範囲 (作成時)"}
    values = {"months": DEFAULT_MONTHS, "licences": DEFAULT_LICENCES, "members": DEFAULT_MEMBERS,
              "chart_range": DEFAULT_RANGE}
    for key, ref in INPUTS.items():
        row = ws[ref].row
        set_text(ws.cell(row, 2), labels[key])
        set_value(ws[ref], values[key]).fill = INPUT_FILL
        if key != "chart_range":
            wb.defined_names[f"compare_{key}"] = DefinedName(
                f"compare_{key}", attr_text=f"'{SHEET}'!${ref[0]}${ref[1:]}")
    ranges = DataValidation(type="list", formula1='"' + ",".join(SUPPORT_RANGES.codes) + '"',
                            allow_blank=False)
    ranges.add(INPUTS["chart_range"])
    numbers = DataValidation(type="decimal", operator="greaterThanOrEqual", formula1="0")
    numbers.add(f"C{USAGE_ROW}:M{USAGE_ROW}")
    whole = DataValidation(type="whole", operator="between", formula1="1", formula2="120")
    whole.add(INPUTS["months"])
    for validation in (ranges, numbers, whole):
        ws.add_data_validation(validation)
    set_text(ws.cell(USAGE_ROW - 1, 2), "レベル")
    set_text(ws.cell(USAGE_ROW, 2), "インシデント件数/月 (見込み)")
    for i, (label, value) in enumerate(zip(LEVEL_LABELS, DEFAULT_USAGE, strict=True)):
        set_text(ws.cell(USAGE_ROW - 1, USAGE_FIRST_COL + i), label).font = Font(bold=True)
        cell = set_value(ws.cell(USAGE_ROW, USAGE_FIRST_COL + i), value)
        cell.fill = INPUT_FILL
    wb.defined_names["compare_usage"] = DefinedName(
        "compare_usage", attr_text=f"'{SHEET}'!$C${USAGE_ROW}:$M${USAGE_ROW}")


def _horizon(ws, wb: Workbook, comparison) -> None:
    """比較期間: the months asked, rounded up so that every plan of the table can be contracted
    for that long (its minimum term, whole contract units) — as the engine ranks them."""
    books = resolve_books(None)
    units, minima = zip(*(plan_terms(books[r.option.plan], r.option.plan, r.option.support_range)
                          for r in comparison.rows), strict=True)
    step, longest = math.lcm(*units), max(minima)
    set_text(ws.cell(8, 2), "比較期間 (月, 最低契約期間・契約単位に合わせて切り上げ)")
    set_formula(ws[HORIZON_CELL], f"=ROUNDUP(MAX(compare_months,{longest})/{step},0)*{step}")
    wb.defined_names["compare_horizon"] = DefinedName(
        "compare_horizon", attr_text=f"'{SHEET}'!${HORIZON_CELL[0]}${HORIZON_CELL[1:]}")


def _live_column(ws, top: int, last: int) -> None:
    """=PLAN_COST per row; IFERROR shows — where the add-in is absent (e.g. LibreOffice)."""
    column = len(TABLE_HEADERS) + 1
    set_text(ws.cell(top, column), "再計算 (PLAN_COST)").font = Font(bold=True)
    plan, support_range, max_incidents = (ws.cell(top, c).column_letter for c in (3, 4, 5))
    for row in range(top + 1, last + 1):
        formula = (f"=IFERROR({UDF_NAME}({plan}{row},{support_range}{row},{max_incidents}{row},"
                   "compare_usage,compare_horizon,compare_licences,compare_members),\"—\")")
        set_formula(ws.cell(row, column), formula, YEN_FORMAT).alignment = Alignment(
            horizontal="right")


def _chart(ws, profile: UsageProfile, top: int) -> None:
    """The line chart anchored at ``top`` and, below it, its data (engine values)."""
    options, costs = cost_curves(profile.rates, np.asarray(CHART_RATES, dtype=np.float64),
                                 profile.months, DEFAULT_RANGE, profile.members)
    data_top, first_col = top + CHART_ROWS + 1, 2
    set_text(ws.cell(data_top, first_col), f"グラフのデータ ({DEFAULT_RANGE}): 件数/月")
    for j, option in enumerate(options):
        title = "年額" if option.plan == "annual" else f"月額 月{option.max_incidents}件"
        set_text(ws.cell(data_top, first_col + 1 + j), title)
    for i, rate in enumerate(CHART_RATES):
        set_value(ws.cell(data_top + 1 + i, first_col), rate)
        for j in range(len(options)):
            set_value(ws.cell(data_top + 1 + i, first_col + 1 + j), int(costs[i, j]), YEN_FORMAT)
    chart = LineChart()
    chart.title = CHART_TITLE
    chart.x_axis.title = X_TITLE
    chart.y_axis.title = Y_TITLE
    chart.y_axis.number_format = "#,##0"
    chart.add_data(Reference(ws, min_col=first_col + 1, max_col=first_col + len(options),
                             min_row=data_top, max_row=data_top + len(CHART_RATES)),
                   titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=first_col, min_row=data_top + 1,
                                   max_row=data_top + len(CHART_RATES)))
    # LibreOffice draws curved lines and hides the axes unless told otherwise.
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    for series in chart.series:
        series.smooth = False
    chart.width, chart.height = 26, 11
    ws.add_chart(chart, f"B{top}")
    ws.row_breaks.append(Break(id=top - 1))  # the chart prints whole, on its own page
