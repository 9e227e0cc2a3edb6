"""BASELINE B — the same rules as native spreadsheet formulas, recalculated by LibreOffice.

    python bench/baseline_formulas.py bench/_data/month_100k.xlsx [--month 2026-10]
        [--keep] [--no-check]

NOT part of xlquote; a benchmark opponent (bench/bench_batch.py). It writes a copy of the
invoicing workbook with openpyxl in which every rule is an ordinary formula (MATCH/INDEX
lookups into a Tables sheet holding the price lists, nested IFs for the level thresholds,
SUMIF/SUMIFS/COUNTIFS per contract), has LibreOffice recalculate and save it headless
(``soffice --convert-to xlsx`` with its own profile whose OOXMLRecalcMode=0 forces a full
recalculation on load), reads the cached values back and compares each contract's subtotal,
tax and total with xlquote's summary. Only the soffice run is timed (load, recalculate, save):
that is what a user waits for after pressing recalculate on a workbook built this way.

Simplifications (each holds for every month ``bench/make_month.py`` writes; see its doc):
- first personal use: ``MATCH(key, key column, 0) = this row`` — exact because the log is in
  close-date order;
- pack top-ups: packs bought = ROUNDUP(max(0, units used − units on record) / 10) before and
  at the month's end — exact because every recorded pack is valid for the whole log, so the
  oldest-first order cannot change how many packs a shortfall opens;
- codes are the canonical ones (``email``, ``annual`` …) and names are written exactly as on
  the contract (xlquote also accepts aliases and width/case variants);
- fee limits are yen or 0 (feather only), never a level written as text (L3);
- contracts start on the 1st or the 15th, where "a contract month starts on or before the end
  date" is ``EDATE(start, months) <= end`` (no month-end clamping to read).
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.utils import get_column_letter
from python_calamine import CalamineWorkbook

from xlquote.engine.codes import SUPPORT_RANGES
from xlquote.engine.dates import Month
from xlquote.engine.pricebook import get_pricebook
from xlquote.engine.records import CONTRACT_FIELDS, INCIDENT_FIELDS, PACK_FIELDS, field_names
from xlquote.readers.workbook import normalize_cell
from xlquote.writers.xlsx import DATE_FORMAT

PROFILE = Path(__file__).with_name("_data") / "lo_profile"
RECALC_ALWAYS = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry"
 xmlns:xs="http://www.w3.org/2001/XMLSchema"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode"
 oor:op="fuse"><value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="ODFRecalcMode"
 oor:op="fuse"><value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Misc"><prop oor:name="FirstRun"
 oor:op="fuse"><value>false</value></prop></item>
</oor:items>
"""
T = "Tables"
# Tables sheet layout (absolute addresses used by the formulas)
FIRST, LAST = f"{T}!$B$1", f"{T}!$B$2"
MONTHLY_FEE, ANNUAL_FEE = f"{T}!$B$5:$B$15", f"{T}!$C$5:$C$15"  # levels 0..10
RANGE_CODES, BASE, FACTOR = f"{T}!$A$18:$A$21", f"{T}!$B$18:$B$21", f"{T}!$C$18:$C$21"
TIERS, TOP = f"{T}!$D$18:$H$21", f"{T}!$I$18:$I$21"
CC_BOUND, CC_INITIAL, CC_MONTHLY = f"{T}!$A$24:$A$29", f"{T}!$B$24:$B$29", f"{T}!$C$24:$C$29"
V_FIXED, V_PER, P_UNITS, P_PRICE, V_MINUTES, TAX = (f"{T}!$B${r}" for r in range(31, 37))


def letters(fields: list[str], extra: list[str]) -> dict[str, str]:
    return {name: get_column_letter(i + 1) for i, name in enumerate(fields + extra)}


INCIDENT_HELPERS = ["ci", "plan", "aki", "inmonth", "byend", "days", "sm", "ses", "mlevel",
                    "tlevel", "visits", "level", "fee", "limit", "held", "charged0", "rejected", "key",
                    "chart", "paying", "chartfee", "absorbed", "amount", "counts", "units"]
CONTRACT_HELPERS = ["range_key", "range_row", "factor", "limit", "active", "elapsed", "starts",
                    "incident_amount", "counted", "billed", "annual_fee", "used", "top",
                    "monthly_fee", "vendor_fee", "packs_bought", "recorded_units",
                    "units_before", "units_by_end", "topups", "callcenter", "part", "subtotal",
                    "tax", "total", "has_invoice"]


def incident_formulas(i: dict[str, str], c: dict[str, str], n_contracts: int, n: int
                      ) -> dict[str, str]:
    """One row's formulas with ``{r}`` for the row number."""
    cl = n_contracts + 1

    def contract(name: str) -> str:
        return f"INDEX(Contracts!${c[name]}$2:${c[name]}${cl},{i['ci']}{{r}})"

    def col(name: str) -> str:
        return f"{i[name]}{{r}}"

    ch, rt, sm = col("channel"), f"N({col('round_trips')})", col("sm")
    mail = (f"IF({rt}>25,IF({col('days')}>=7,6,5),IF({rt}>20,5,IF({rt}>15,4,IF({rt}>10,3,"
            f"IF({rt}>5,2,IF({rt}>IF({ch}=\"reply\",5,2),1,0))))))")
    call = (f"IF({sm}>180,6,IF({sm}>60,5,IF({sm}>45,4,IF({sm}>30,3,IF({sm}>15,2,"
            f"IF({sm}>5,1,0))))))")
    chat = f"IF({sm}>180,6,IF({sm}>60,4,IF({sm}>30,3,IF({sm}>20,2,IF({sm}>10,1,0)))))"
    timed = f'OR({ch}="phone",{ch}="skype_call",{ch}="skype_chat")'
    v = col("visits")
    members, approver = contract("members_allowed"), contract("approver")
    key_range = f"${i['key']}$2:${i['key']}${n + 1}"
    return {
        "ci": f"=MATCH({col('contract_id')},Contracts!${c['contract_id']}$2:"
              f"${c['contract_id']}${cl},0)",
        "plan": f"={contract('plan')}",
        "aki": f'=IF(OR({col("plan")}="annual",{col("plan")}="monthly"),1,0)',
        "inmonth": f'=IF({col("closed")}="",0,IF(AND({col("closed")}>={FIRST},'
                   f'{col("closed")}<={LAST}),1,0))',
        "byend": f'=IF({col("closed")}="",0,IF({col("closed")}<={LAST},1,0))',
        "days": f'=IF({col("days_open")}<>"",{col("days_open")},IF({col("closed")}="",0,'
                f'{col("closed")}-{col("opened")}))',
        "sm": f"=ROUND(N({col('minutes')})/{contract('factor')},9)",
        "ses": f'=IF({col("sessions")}="",1,{col("sessions")})',
        "mlevel": f'=IF(OR({ch}="email",{ch}="dm",{ch}="reply"),{mail},'
                  f'IF(OR({ch}="phone",{ch}="skype_call"),{call},IF({ch}="skype_chat",{chat},0)))',
        "tlevel": f"=IF({timed},IF({col('ses')}<=1,IF({sm}>300,7,0),IF({sm}>840,10,"
                  f"IF({sm}>600,9,IF({sm}>360,8,IF({sm}>180,7,0))))),0)",
        "visits": f'=IF({ch}="onsite",MAX(1,N({col("onsite_visits")})),'
                  f'N({col("onsite_visits")}))',
        "level": f'=IF({col("level_override")}<>"",IF({col("level_override")}="feather",0,'
                 f'{col("level_override")}),MAX({col("mlevel")},{col("tlevel")},'
                 f"IF({v}>=7,10,IF({v}>=4,9,IF({v}>=2,8,IF({v}>=1,7,0)))),"
                 f'IF({col("investigation")}=TRUE(),5,0),IF({col("consulting")}="specific",5,'
                 f'IF({col("consulting")}="comprehensive",7,0))))',
        "fee": f'=IF({col("plan")}="annual",INDEX({ANNUAL_FEE},{col("level")}+1),'
               f'IF({col("plan")}="monthly",INDEX({MONTHLY_FEE},{col("level")}+1),0))',
        "limit": f'=IF({col("fee_limit")}<>"",{col("fee_limit")},{contract("limit")})',
        # a 0 limit is feather only: any level above feather is held at the feather's fee
        # (and counts as a feather); a yen limit is reached by a fee at or above it
        "held": f'=IF({col("limit_decision")}="continue",0,IF({col("limit")}=0,'
                f'IF({col("level")}>0,1,0),IF(AND({col("limit")}>0,{col("fee")}>={col("limit")}),'
                f'1,0)))',
        "charged0": f'=IF({col("held")}=1,IF({col("limit")}=0,IF({col("plan")}="annual",'
                    f'INDEX({ANNUAL_FEE},1),INDEX({MONTHLY_FEE},1)),{col("limit")}),{col("fee")})',
        "rejected": f'=IF({col("personal")}=TRUE(),IF({col("member")}="",1,'
                    f'IF(AND({members}<>"all",ISERROR(SEARCH(", "&{col("member")}&",",'
                    f'", "&{members}&","))),1,IF(AND({approver}<>"",'
                    f'{col("approved_by")}<>{approver}),1,0))),0)',
        "key": f'=IF(AND({col("personal")}=TRUE(),{col("rejected")}=0,{col("byend")}=1,'
               f'{contract("sole_proprietor_shared_env")}<>TRUE()),'
               f'{col("contract_id")}&"|"&{col("member")},"")',
        "chart": f'=IF({col("key")}="",0,IF(AND({col("inmonth")}=1,'
                 f"MATCH({col('key')},{key_range},0)=ROW()-1),1,0))",
        "paying": f'=IF(OR({col("plan")}="annual",{contract("karte_payment")}="pay"),1,0)',
        "chartfee": f"=IF({col('chart')}=1,IF({col('paying')}=1,INDEX({ANNUAL_FEE},4),"
                    f"INDEX({MONTHLY_FEE},4)),0)",
        "absorbed": f'=IF(AND({col("absorbed_into")}<>"",{col("aki")}=1),1,0)',
        "amount": f"=IF(OR({col('inmonth')}=0,{col('aki')}=0,{col('rejected')}=1),0,"
                  f"IF({col('absorbed')}=1,{col('absorbed_fee')},{col('charged0')})"
                  f"+{col('chartfee')})",
        "counts": f'=IF(AND({col("inmonth")}=1,{col("plan")}="monthly",{col("rejected")}=0),'
                  f"IF(AND({col('level')}>=1,NOT(AND({col('held')}=1,{col('limit')}=0))),1,0)"
                  f"+IF(AND({col('chart')}=1,{col('paying')}=0),1,0),0)",
        "units": f'=IF(AND({col("plan")}="vendor_support",{col("byend")}=1),'
                 f"ROUNDUP(ROUND(N({col('minutes')})/{V_MINUTES},9),0),0)",
    }


def contract_formulas(c: dict[str, str], i: dict[str, str], p: dict[str, str], n: int,
                      n_packs: int) -> dict[str, str]:
    last, pl = n + 1, max(n_packs, 1) + 1

    def inc(name: str) -> str:
        return f"Incidents!${i[name]}$2:${i[name]}${last}"

    def pack(name: str) -> str:
        return f"Packs!${p[name]}$2:${p[name]}${pl}"

    def col(name: str) -> str:
        return f"{c[name]}{{r}}"

    cid = col("contract_id")
    plan = col("plan")
    used, top, rr = col("used"), col("top"), col("range_row")
    year_start = f"MOD({col('elapsed')},12)=0"
    tier = f'COUNTIF({CC_BOUND},"<"&{col("licences")})+1'
    return {
        "range_key": f'=IF({col("support_range")}="","normal",{col("support_range")})',
        "range_row": f"=MATCH({col('range_key')},{RANGE_CODES},0)",
        "factor": f"=INDEX({FACTOR},{rr})",
        "limit": f'=IF({col("fee_limit")}="",-1,{col("fee_limit")})',
        "active": f'=IF(AND({col("start_date")}<={LAST},OR({col("end_date")}="",'
                  f'{col("end_date")}>={FIRST})),1,0)',
        "elapsed": f"=(YEAR({FIRST})-YEAR({col('start_date')}))*12+MONTH({FIRST})"
                   f"-MONTH({col('start_date')})",
        # a contract month starts this month, on or before the end date
        "starts": f'=IF(AND({col("active")}=1,{col("elapsed")}>=0,OR({col("end_date")}="",'
                  f'EDATE({col("start_date")},{col("elapsed")})<={col("end_date")})),1,0)',
        "incident_amount": f"=SUMIF({inc('contract_id')},{cid},{inc('amount')})",
        "counted": f"=SUMIF({inc('contract_id')},{cid},{inc('counts')})",
        "billed": f"=COUNTIFS({inc('contract_id')},{cid},{inc('inmonth')},1)",
        "annual_fee": f'=IF(AND({plan}="annual",{col("starts")}=1,{year_start}),'
                      f"INDEX({BASE},{rr}),0)",
        "used": f'=MAX({col("counted")},IF({col("max_incidents")}="",1,{col("max_incidents")}))',
        "top": f"=INDEX({TOP},{rr})",
        # the tier used; in the last days of a contract (no contract month starts) the overage only
        "monthly_fee": f'=IF(AND({plan}="monthly",{col("active")}=1),'
                       f"INDEX({TIERS},{rr},MIN({used},{top}))+MAX({used}-{top},0)*"
                       f"(INDEX({TIERS},{rr},{top})-IF({top}>=2,INDEX({TIERS},{rr},{top}-1),0))"
                       f"-IF({col('starts')}=1,0,INDEX({TIERS},{rr},{col('max_incidents')})),0)",
        "vendor_fee": f'=IF(AND({plan}="vendor_support",{col("starts")}=1,{year_start}),'
                      f"{V_FIXED}+{V_PER}*{col('licences')},0)",
        "packs_bought": f'=SUMIFS({pack("units")},{pack("contract_id")},{cid},'
                        f'{pack("purchased")},">="&{FIRST},{pack("purchased")},"<="&{LAST})'
                        f"/{P_UNITS}*{P_PRICE}",
        "recorded_units": f'=SUMIFS({pack("units")},{pack("contract_id")},{cid},'
                          f'{pack("purchased")},"<="&{LAST})',
        "units_before": f'=SUMIFS({inc("units")},{inc("contract_id")},{cid},'
                        f'{inc("closed")},"<"&{FIRST})',
        "units_by_end": f"=SUMIF({inc('contract_id')},{cid},{inc('units')})",
        "topups": f'=IF({plan}="vendor_support",(ROUNDUP(MAX(0,{col("units_by_end")}'
                  f'-{col("recorded_units")})/{P_UNITS},0)-ROUNDUP(MAX(0,{col("units_before")}'
                  f'-{col("recorded_units")})/{P_UNITS},0))*{P_PRICE},0)',
        "callcenter": f'=IF(AND({plan}="callcenter",{col("starts")}=1),INDEX({CC_MONTHLY},'
                      f"{tier})+IF({col('elapsed')}=0,INDEX({CC_INITIAL},{tier}),0),0)",
        "part": "=" + "+".join(col(k) for k in ("annual_fee", "monthly_fee", "vendor_fee",
                                                "packs_bought", "topups", "callcenter")),
        "subtotal": f"={col('part')}+{col('incident_amount')}",
        "tax": f"=INT({col('subtotal')}*{TAX}/100)",
        "total": f"={col('subtotal')}+{col('tax')}",
        "has_invoice": f"=IF(OR({col('part')}>0,{col('billed')}>0),1,0)",
    }


def write_tables(ws: Any, month: Month) -> None:
    aki, vendor = get_pricebook("aki_sie"), get_pricebook("vendor_support")
    rules, v = aki.require_support(), vendor.require_vendor()
    rows: list[list[Any]] = [["month_first", month.first_day], ["month_last", month.last_day], [],
                             ["level", "monthly fee", "annual fee"]]
    for level in range(11):
        rows.append([level, int(rules.incident_fees["monthly"][level]),
                     int(rules.incident_fees["annual"][level])])
    rows += [[], ["range", "annual base", "factor", "1", "2", "3", "4", "5", "top"]]
    for index, code in enumerate(SUPPORT_RANGES.codes):
        top = int(rules.monthly_max_incidents[index])
        tiers = [int(x) for x in rules.monthly_fees[index][:top]]
        rows.append([code, int(rules.annual_base_fee[index]),
                     float(rules.time_allowance_factor[index]), *tiers,
                     *([None] * (5 - top)), top])
    rows += [[], ["licences ≤", "initial", "monthly"]]
    for bound, initial, monthly in zip(v.callcenter_upper_bounds, v.callcenter_initial_fees,
                                       v.callcenter_monthly_fees, strict=True):
        rows.append([int(bound), int(initial), int(monthly)])
    rows += [[], ["vendor fixed", v.annual_fixed_fee], ["per licence", v.annual_fee_per_licence],
             ["pack units", v.pack_units], ["pack price", v.pack_price],
             ["minutes per unit", v.minutes_per_unit], ["tax %", aki.tax.rate_percent]]
    for row in rows:
        ws.append([cell_of(ws, value) for value in row])


def cell_of(ws: Any, value: Any) -> Any:
    if isinstance(value, dt.date):
        cell = WriteOnlyCell(ws, value)
        cell.number_format = DATE_FORMAT
        return cell
    return value


def write_formula_workbook(source: Path, target: Path, month: Month) -> int:
    """The copy with formulas; returns the number of formula cells."""
    book = CalamineWorkbook.from_path(str(source))
    grids = {name: [[normalize_cell(v) for v in row]
                    for row in book.get_sheet_by_name(name).to_python(skip_empty_area=False)]
             for name in ("Contracts", "Incidents", "Packs")}
    c = letters(field_names(CONTRACT_FIELDS), CONTRACT_HELPERS)
    i = letters(field_names(INCIDENT_FIELDS), INCIDENT_HELPERS)
    p = letters(field_names(PACK_FIELDS), [])
    for name, fields in (("Contracts", CONTRACT_FIELDS), ("Incidents", INCIDENT_FIELDS),
                         ("Packs", PACK_FIELDS)):
        assert grids[name][0][:len(fields)] == field_names(fields), f"{name} header differs"
    n_contracts, n, n_packs = (len(grids[k]) - 1 for k in ("Contracts", "Incidents", "Packs"))
    wb = Workbook(write_only=True)
    write_tables(wb.create_sheet(T), month)
    formulas = 0
    for name, fields, helpers, rules in (
            ("Contracts", CONTRACT_FIELDS, CONTRACT_HELPERS,
             contract_formulas(c, i, p, n, n_packs)),
            ("Incidents", INCIDENT_FIELDS, INCIDENT_HELPERS,
             incident_formulas(i, c, n_contracts, n)),
            ("Packs", PACK_FIELDS, [], {})):
        ws = wb.create_sheet(name)
        ws.append(field_names(fields) + helpers)
        width = len(fields)
        templates = [rules[h] for h in helpers]
        for r, row in enumerate(grids[name][1:], start=2):
            values = [cell_of(ws, v) for v in (list(row) + [None] * width)[:width]]
            ws.append(values + [t.replace("{r}", str(r)) for t in templates])
        formulas += len(templates) * (len(grids[name]) - 1)
    wb.save(target)
    return formulas


def recalculate(workbook: Path, outdir: Path) -> Path:
    """LibreOffice loads (recalculating every formula), and saves with the values cached."""
    user = PROFILE / "user"
    user.mkdir(parents=True, exist_ok=True)
    (user / "registrymodifications.xcu").write_text(RECALC_ALWAYS)
    outdir.mkdir(parents=True, exist_ok=True)
    subprocess.run(["soffice", f"-env:UserInstallation={PROFILE.resolve().as_uri()}",
                    "--headless", "--norestore", "--convert-to", "xlsx", "--outdir",
                    str(outdir), str(workbook)], check=True, capture_output=True, timeout=7200)
    result = outdir / workbook.name
    if not result.exists():
        raise RuntimeError(f"LibreOffice wrote no {result}")
    return result


def read_totals(path: Path) -> dict[str, tuple[int, int, int]]:
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("Contracts").to_python()
    header = [str(h) for h in rows[0]]
    at = {name: header.index(name) for name in ("contract_id", "subtotal", "tax", "total",
                                                 "has_invoice")}
    totals = {}
    for row in rows[1:]:
        if row[at["has_invoice"]] != 0:  # an error value counts as a (wrong) invoice too
            cells = [row[at[k]] for k in ("subtotal", "tax", "total")]
            totals[str(row[at["contract_id"]])] = tuple(
                int(v) if isinstance(v, (int, float)) else -1 for v in cells)  # -1: an error
    return totals  # type: ignore[return-value]


def run_baseline(source: Path, month: str, workdir: Path | None = None
                 ) -> tuple[dict[str, tuple[int, int, int]], float, int]:
    """(totals, seconds LibreOffice took, formula count)."""
    own = workdir is None
    work = Path(tempfile.mkdtemp(prefix="baseline_b_")) if own else workdir
    try:
        work.mkdir(parents=True, exist_ok=True)
        formula_book = work / (source.stem + "_formulas.xlsx")
        count = write_formula_workbook(source, formula_book, Month.parse(month))
        started = time.perf_counter()
        result = recalculate(formula_book, work / "recalculated")
        seconds = time.perf_counter() - started
        return read_totals(result), seconds, count
    finally:
        if own:
            shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    from baseline_openpyxl import check_against_xlquote

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workbook", type=Path)
    parser.add_argument("--month", default="2026-10")
    parser.add_argument("--keep", type=Path, default=None,
                        help="keep the formula workbook and LibreOffice's result in this folder")
    parser.add_argument("--no-check", action="store_true")
    args = parser.parse_args()
    totals, seconds, count = run_baseline(args.workbook, args.month, args.keep)
    print(f"baseline B: {count:,} formulas, LibreOffice load+recalculate+save {seconds:.1f} s; "
          f"{len(totals):,} invoices, total {sum(t[2] for t in totals.values()):,} yen")
    if not args.no_check:
        check_against_xlquote("baseline B", totals, args.workbook, args.month)


if __name__ == "__main__":
    main()
