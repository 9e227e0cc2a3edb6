"""``workbooks/quote.xlsx`` — the sales quote (見積書).

A salesperson fills in the customer, the contract kind, range, max incidents or licences, the
incidents expected per level and the term; the sheet prices each fee with xlquote's Excel
functions (udfs/xlquote_udfs.py) and totals the term with native formulas. Every list and number
that is not typed by the salesperson comes from the package: drop-downs from ``xlquote.engine.codes``,
minimum terms, tax and pack sizes from the price books (on the hidden ``リスト`` sheet). The
sample inputs are RULES.md example 1 (monthly, technical, 2 incidents: 22,000 a month).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from ...engine.codes import LEVELS, PLAN_LABELS_JA, PLANS, SUPPORT_RANGES
from ...engine.pricebook import PriceBook, get_pricebook
from ...writers.xlsx import (
    DATE_FORMAT,
    YEN_FORMAT,
    save_atomic,
    set_formula,
    set_text,
    set_value,
    setup_a4,
    use_japanese_font,
)

FILENAME = "quote.xlsx"
QUOTE = "見積書"
LISTS = "リスト"
CONF = "xlwings.conf"  # read by the classic xlwings add-in: which module holds the UDFs
UDF_MODULE = "xlquote_udfs"
SAMPLE_DATE = dt.date(2026, 10, 1)  # fixed, so that a rebuild is byte-for-byte comparable
ROUNDING_CHOICE = {"floor": 1, "half_up": 2, "ceil": 3}  # CHOOSE(): ROUNDDOWN, ROUND, ROUNDUP
INPUT_FILL = PatternFill("solid", fgColor="FFF2CC")
HEADER_FILL = PatternFill("solid", fgColor="D9E1F2")
THIN = Side(style="thin", color="808080")
COUNT_FORMAT = "#,##0"

# Input cells of the quote sheet, also workbook-level names used by the formulas (workbook
# level: sheet-level names do not survive every formula engine).
NAMES = {
    "Customer": "B3", "QuoteDate": "B4", "ValidDays": "B5", "PriceBookCode": "B7", "Plan": "B8",
    "SupportRange": "B9", "MaxIncidents": "B10", "Licences": "B11", "TermMonths": "B12",
    "MinimumTerm": "B13", "QuoteMonths": "B14", "ContractYears": "B15", "ContractUnit": "B16",
}
LEVEL_FIRST_ROW = 19  # feather .. level 10 on rows 19..29
SAMPLE_COUNTS = {"feather": 1, "2": 1, "4": 1}  # RULES.md example 1
VENDOR_MINUTES, VENDOR_COUNT, VENDOR_UNITS, VENDOR_PACKS = "B33", "B34", "B35", "B37"
LINES_FIRST_ROW = 40
SUBTOTAL, TAX, TOTAL = "E47", "E48", "E49"


def build(path: str | Path) -> Path:
    """Build the quote workbook at ``path`` (written atomically)."""
    wb = Workbook()
    quote = wb.active
    quote.title = QUOTE
    lists = wb.create_sheet(LISTS)
    conf = wb.create_sheet(CONF)
    _lists_sheet(lists, get_pricebook("aki_sie"), get_pricebook("vendor_support"))
    _quote_sheet(quote)
    _conf_sheet(conf)
    for name, ref in NAMES.items():
        wb.defined_names[name] = DefinedName(name, attr_text=_absolute(QUOTE, ref))
    for ws in (quote, lists, conf):
        use_japanese_font(ws)
    lists.sheet_state = "hidden"
    return save_atomic(wb, path)


def _absolute(sheet: str, ref: str, end: str | None = None) -> str:
    def dollar(cell: str) -> str:
        column = cell.rstrip("0123456789")
        return f"${column}${cell[len(column):]}"
    span = dollar(ref) + (f":{dollar(end)}" if end else "")
    return f"'{sheet}'!{span}"


# --- リスト: lookup tables generated from the price books ------------------------------------

PLAN_TABLE = ("A2", "K5")  # plan, label, price book, tax %, rounding, pack units, pack price,
#                            minimum term per range (H..K)
RANGE_TABLE = ("L2", "M5")  # support range, Japanese name
UNIT_TABLE = ("N2", "Q5")  # contract unit per plan (rows as PLAN_TABLE) and range
NOTES_ROW = 54  # the terms the quote is made under, below the totals


def _lists_sheet(ws: Worksheet, support: PriceBook, vendor: PriceBook) -> None:
    header = ("plan", "label", "pricebook", "tax_rate", "tax_rounding", "pack_units",
              "pack_price", *(f"min_term_{code}" for code in SUPPORT_RANGES.codes))
    for column, text in enumerate(header, start=1):
        set_text(ws.cell(1, column), text)
    rules, vendor_rules = support.require_support(), vendor.require_vendor()
    for column, code in enumerate(SUPPORT_RANGES.codes, start=14):
        set_text(ws.cell(1, column), f"unit_{code}")
    for row, plan in enumerate(PLANS.codes, start=2):
        book = support if plan in support.plans else vendor
        terms = book.plan_terms(plan)
        values = (plan, PLAN_LABELS_JA[plan], book.name, book.tax.rate_percent,
                  ROUNDING_CHOICE[book.tax.rounding], vendor_rules.pack_units,
                  vendor_rules.pack_price, *(int(t) for t in terms.minimum_term_months))
        for column, value in enumerate(values, start=1):
            set_value(ws.cell(row, column), value)
        for column, unit in enumerate(terms.contract_unit_months.tolist(), start=14):
            set_value(ws.cell(row, column), int(unit))
    set_text(ws["L1"], "support_range")
    set_text(ws["M1"], "label")
    for row, code in enumerate(SUPPORT_RANGES.codes, start=2):
        set_text(ws.cell(row, 12), code)
        set_text(ws.cell(row, 13), rules.range_names_ja[row - 2])


def _plan_lookup(column: int) -> str:
    """VLOOKUP of the chosen plan in the plan table (column 1 = the plan code)."""
    table = _absolute(LISTS, *PLAN_TABLE)
    return f"VLOOKUP(Plan,{table},{column},FALSE)"


# --- 見積書 --------------------------------------------------------------------------------


def _quote_sheet(ws: Worksheet) -> None:
    _title(ws)
    _inputs(ws)
    _expected_incidents(ws)
    _vendor_usage(ws)
    _fee_lines(ws)
    _totals(ws)
    last = _terms_notes(ws, get_pricebook("aki_sie"), get_pricebook("vendor_support"))
    for column, width in zip("ABCDEF", (30, 16, 14, 8, 16, 4), strict=True):
        ws.column_dimensions[column].width = width
    setup_a4(ws)
    ws.print_area = f"A1:E{last}"


def _title(ws: Worksheet) -> None:
    ws.merge_cells("A1:E1")
    set_text(ws["A1"], "御見積書")
    ws["A1"].font = Font(size=18, bold=True)
    ws["A1"].alignment = Alignment(horizontal="center")


def _label(ws: Worksheet, ref: str, text: str, bold: bool = False) -> None:
    set_text(ws[ref], text)
    if bold:
        ws[ref].font = Font(bold=True)


def _input(ws: Worksheet, ref: str, value: object, number_format: str | None = None) -> None:
    set_value(ws[ref], value, number_format)
    ws[ref].fill = INPUT_FILL
    ws[ref].border = Border(top=THIN, bottom=THIN, left=THIN, right=THIN)


def _list_validation(ws: Worksheet, ref: str, codes: tuple[str, ...], title: str) -> None:
    dv = DataValidation(type="list", formula1='"' + ",".join(codes) + '"', allow_blank=False,
                        showErrorMessage=True, errorTitle=title,
                        error=f"{title}: {' / '.join(codes)}")
    ws.add_data_validation(dv)
    dv.add(ref)


def _whole_validation(ws: Worksheet, ref: str, low: int, high: int, title: str) -> None:
    dv = DataValidation(type="whole", operator="between", formula1=str(low), formula2=str(high),
                        allow_blank=True, showErrorMessage=True, errorTitle=title,
                        error=f"{title}: {low:,}〜{high:,}")
    ws.add_data_validation(dv)
    dv.add(ref)


def _inputs(ws: Worksheet) -> None:
    rows = (
        ("A3", "お客様名"), ("A4", "見積日"), ("A5", "有効日数"), ("A6", "有効期限"),
        ("A7", "価格表"), ("A8", "契約種別"), ("A9", "サポート範囲"),
        ("A10", "月の最大インシデント数 (月額契約)"), ("A11", "契約数 (ライセンス)"),
        ("A12", "契約期間 (月, 空欄: 最低期間)"), ("A13", "最低契約期間 (月)"),
        ("A14", "見積期間 (月, 契約単位に切り上げ)"), ("A15", "契約年数"), ("A16", "契約単位 (月)"),
    )
    for ref, text in rows:
        _label(ws, ref, text)
    _input(ws, "B3", "サンプル株式会社 御中")
    ws.merge_cells("B3:E3")
    _input(ws, "B4", SAMPLE_DATE, DATE_FORMAT)
    _input(ws, "B5", 30)
    set_formula(ws["B6"], "=QuoteDate+ValidDays", DATE_FORMAT)
    set_formula(ws["B7"], f"={_plan_lookup(3)}")
    _input(ws, "B8", "monthly")
    set_formula(ws["C8"], f'=IFERROR({_plan_lookup(2)},"")')
    _input(ws, "B9", "technical")
    set_formula(ws["C9"], f'=IFERROR(VLOOKUP(SupportRange,{_absolute(LISTS, *RANGE_TABLE)},2,FALSE),"")')
    _input(ws, "B10", 2)
    _input(ws, "B11", 40, COUNT_FORMAT)
    _input(ws, "B12", None)
    terms = _absolute(LISTS, "H2", "K5")
    plans = _absolute(LISTS, "A2", "A5")
    ranges = _absolute(LISTS, "L2", "L5")
    set_formula(ws["B13"], f"=INDEX({terms},MATCH(Plan,{plans},0),MATCH(SupportRange,{ranges},0))")
    units = _absolute(LISTS, *UNIT_TABLE)
    set_formula(ws["B16"], f"=INDEX({units},MATCH(Plan,{plans},0),MATCH(SupportRange,{ranges},0))")
    # at least the minimum term, in whole contract units (契約単位)
    set_formula(ws["B14"], "=ROUNDUP(MAX(TermMonths,MinimumTerm)/ContractUnit,0)*ContractUnit")
    set_formula(ws["B15"], "=ROUNDUP(QuoteMonths/12,0)")
    _list_validation(ws, "B8", PLANS.codes, "契約種別")
    _list_validation(ws, "B9", SUPPORT_RANGES.codes, "サポート範囲")
    _whole_validation(ws, "B10", 1, 5, "月の最大インシデント数")
    _whole_validation(ws, "B11", 1, 50_000, "契約数")
    _whole_validation(ws, "B12", 1, 120, "契約期間 (月)")
    _whole_validation(ws, "B5", 1, 365, "有効日数")


def _header_row(ws: Worksheet, row: int, texts: tuple[str, ...]) -> None:
    for column, text in enumerate(texts, start=1):
        cell = ws.cell(row, column)
        set_text(cell, text)
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL


def _expected_incidents(ws: Worksheet) -> None:
    """Incidents expected per month and level; each level's fee comes from INCIDENT_FEE."""
    _label(ws, "A17", "想定インシデント (1か月あたり、年額・月額契約)", bold=True)
    _header_row(ws, LEVEL_FIRST_ROW - 1, ("レベル", "件数/月", "単価", "月額"))
    last = LEVEL_FIRST_ROW + len(LEVELS.codes) - 1
    for row, level in enumerate(LEVELS.codes, start=LEVEL_FIRST_ROW):
        set_value(ws[f"A{row}"], level if level == "feather" else int(level))
        ws[f"A{row}"].alignment = Alignment(horizontal="left")
        _input(ws, f"B{row}", SAMPLE_COUNTS.get(level, 0), COUNT_FORMAT)
        set_formula(ws[f"C{row}"],
                    f'=IF(PriceBookCode="aki_sie",INCIDENT_FEE(A{row},Plan,SupportRange),0)',
                    YEN_FORMAT)
        set_formula(ws[f"D{row}"], f"=B{row}*C{row}", YEN_FORMAT)
    _whole_validation(ws, f"B{LEVEL_FIRST_ROW}:B{last}", 0, 1000, "件数/月")
    total = last + 1
    _label(ws, f"A{total}", "計", bold=True)
    set_formula(ws[f"B{total}"], f"=SUM(B{LEVEL_FIRST_ROW}:B{last})", COUNT_FORMAT)
    set_formula(ws[f"D{total}"], f"=SUM(D{LEVEL_FIRST_ROW}:D{last})", YEN_FORMAT)


def _vendor_usage(ws: Worksheet) -> None:
    """Paid support (price book A): expected handling → units (INCIDENT_UNITS) → packs."""
    _label(ws, "A32", "想定対応 (有料サポート)", bold=True)
    _label(ws, "A33", "1件あたりの対応時間 (分)")
    _input(ws, VENDOR_MINUTES, 60, COUNT_FORMAT)
    _label(ws, "A34", "件数/月")
    _input(ws, VENDOR_COUNT, 1, COUNT_FORMAT)
    _label(ws, "A35", "ユニット/件")
    set_formula(ws[VENDOR_UNITS], f'=IF(Plan="vendor_support",INCIDENT_UNITS({VENDOR_MINUTES}),0)',
                COUNT_FORMAT)
    _label(ws, "A36", "ユニット/年")
    set_formula(ws["B36"], f"={VENDOR_UNITS}*{VENDOR_COUNT}*12", COUNT_FORMAT)
    _label(ws, "A37", "パック数/年")
    set_formula(ws[VENDOR_PACKS], f"=ROUNDUP(B36/{_plan_lookup(6)},0)", COUNT_FORMAT)
    _whole_validation(ws, f"{VENDOR_MINUTES}:{VENDOR_COUNT}", 0, 100_000, "対応時間・件数")


def _fee_lines(ws: Worksheet) -> None:
    """One line per fee: unit price from the UDFs, quantity over the quoted term."""
    _header_row(ws, LINES_FIRST_ROW - 1, ("品目", "単価", "数量", "単位", "金額"))
    lines = (
        ("基本料金 (年額・月額契約)",
         '=IF(PriceBookCode="aki_sie",BASE_FEE(Plan,SupportRange,MaxIncidents),0)',
         '=IF(Plan="annual",ContractYears,IF(Plan="monthly",QuoteMonths,0))',
         '=IF(Plan="annual","年","月")'),
        ("インシデント料金 (想定)", f"=D{LEVEL_FIRST_ROW + len(LEVELS.codes)}",
         '=IF(PriceBookCode="aki_sie",QuoteMonths,0)', "月"),
        ("有料サポート 年額基本料金",
         '=IF(Plan="vendor_support",VENDOR_ANNUAL_FEE(Licences),0)',
         '=IF(Plan="vendor_support",ContractYears,0)', "年"),
        ("インシデントパック (1口)", f"={_plan_lookup(7)}",
         f'=IF(Plan="vendor_support",{VENDOR_PACKS}*ContractYears,0)', "口"),
        ("コールセンター 初期費用",
         '=IF(Plan="callcenter",CALLCENTER_TIER(Licences,"initial"),0)',
         '=IF(Plan="callcenter",1,0)', "回"),
        ("コールセンター 月額費用",
         '=IF(Plan="callcenter",CALLCENTER_TIER(Licences,"monthly"),0)',
         '=IF(Plan="callcenter",QuoteMonths,0)', "月"),
    )
    for row, (item, price, quantity, unit) in enumerate(lines, start=LINES_FIRST_ROW):
        set_text(ws[f"A{row}"], item)
        set_formula(ws[f"B{row}"], price, YEN_FORMAT)
        set_formula(ws[f"C{row}"], quantity, COUNT_FORMAT)
        if unit.startswith("="):
            set_formula(ws[f"D{row}"], unit)
        else:
            set_text(ws[f"D{row}"], unit)
        set_formula(ws[f"E{row}"], f"=B{row}*C{row}", YEN_FORMAT)


def _totals(ws: Worksheet) -> None:
    """Subtotal over the term, tax rounded once (rate and rounding from the price book)."""
    last_line = LINES_FIRST_ROW + 5
    _label(ws, "D47", "小計", bold=True)
    set_formula(ws[SUBTOTAL], f"=SUM(E{LINES_FIRST_ROW}:E{last_line})", YEN_FORMAT)
    set_formula(ws["D48"], f'="消費税 "&{_plan_lookup(4)}&"%"')
    raw = f"{SUBTOTAL}*{_plan_lookup(4)}/100"
    set_formula(ws[TAX], f"=CHOOSE({_plan_lookup(5)},ROUNDDOWN({raw},0),ROUND({raw},0),"
                         f"ROUNDUP({raw},0))", YEN_FORMAT)
    _label(ws, "D49", "合計", bold=True)
    set_formula(ws[TOTAL], f"={SUBTOTAL}+{TAX}", YEN_FORMAT)
    ws[TOTAL].font = Font(bold=True)
    set_formula(ws["A51"], '="見積期間 "&QuoteMonths&"か月 (最低契約期間 "&MinimumTerm'
                           '&"か月) の合計、税別単価。"')
    set_formula(ws["A52"], '="本見積の有効期限: "&TEXT(QuoteDate+ValidDays,"yyyy/mm/dd")')


def _terms_notes(ws: Worksheet, support: PriceBook, vendor: PriceBook) -> int:
    """What the contract terms, fee limits, response targets, the on-site option and unit
    notices mean for the customer (from the price books); returns the last row written."""
    rules = support.require_support()
    annual, monthly = support.plan_terms("annual"), support.plan_terms("monthly")
    names = dict(zip(SUPPORT_RANGES.codes, rules.range_names_ja, strict=True))

    def terms_text(terms: Any) -> str:
        groups: dict[tuple[int, int], list[str]] = {}
        for code, unit, minimum in zip(SUPPORT_RANGES.codes, terms.contract_unit_months.tolist(),
                                       terms.minimum_term_months.tolist(), strict=True):
            groups.setdefault((unit, minimum), []).append(names[code])
        return "、".join(f"{'・'.join(ranges)} {unit}か月単位・最低{minimum}か月"
                        for (unit, minimum), ranges in groups.items())

    channel_names = {"email": "メール", "phone": "お電話の折り返し (時間のご指定がない場合)",
                     "reply": "Twitter リプライ", "dm": "Twitter DM", "skype_chat": "Skype チャット"}
    targets = "、".join(f"{channel_names.get(ch, ch)} {days}営業日"
                       for ch, days in support.response_targets.items())
    onsite = (f"1回 ¥{rules.onsite_fee:,} (税別)" if rules.onsite_fee is not None
              else "料金は別途お見積り")
    paid, center = vendor.plan_terms("vendor_support"), vendor.plan_terms("callcenter")
    notes = (
        f"契約単位・最低契約期間: 年額契約 {terms_text(annual)}; 月額契約 {terms_text(monthly)}; "
        f"有料サポート {int(paid.contract_unit_months[0])}か月単位; コールセンター "
        f"{int(center.contract_unit_months[0])}か月単位。見積期間はこれに合わせて切り上げています。",
        "月額料金・年額料金は契約開始日から数えた契約月・契約年ごとに、その初日が属する月に"
        "請求します (例: 4/15 開始の1年契約は 4月〜翌3月の12回)。",
        "インシデント料金リミット: 金額 (円) またはレベル (フェザー、L3 など) で指定できます。"
        "料金が上限額に達したとき、またはレベルが指定を超えたときにお知らせし、中止か継続かを"
        "お選びいただくまで料金は上限で止めます (フェザーはリミットに達しません)。",
        f"応答目標: {targets} (受付日の翌営業日から数えます。土日祝と弊社休業日を除く)。"
        "月額契約は年額契約より優先して対応します。",
        f"出張サポート (オプション・別料金): {onsite}。",
        "有料サポート: 対応の都度、消化したユニット数と残りユニット・有効期限をお知らせし、"
        "有効期限が30日以内に迫ったユニットもご連絡します。",
    )
    set_text(ws[f"A{NOTES_ROW}"], "ご契約条件").font = Font(bold=True)
    for row, text in enumerate(notes, start=NOTES_ROW + 1):
        ws.merge_cells(f"A{row}:E{row}")
        set_text(ws[f"A{row}"], text).alignment = Alignment(wrap_text=True, vertical="top")
        ws.row_dimensions[row].height = 45
    return NOTES_ROW + len(notes)


# --- xlwings.conf ---------------------------------------------------------------------------


def _conf_sheet(ws: Worksheet) -> None:
    """The classic add-in reads key/value pairs in columns A:B of this sheet."""
    set_text(ws["A1"], "UDF Modules")
    set_text(ws["B1"], UDF_MODULE)
