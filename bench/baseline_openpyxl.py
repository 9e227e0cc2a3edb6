"""BASELINE A — the script a typical user writes: openpyxl, one row at a time, plain Python.

    python bench/baseline_openpyxl.py bench/_data/month_100k.xlsx [--month 2026-10]
        [--read-only] [--out summary.xlsx] [--no-check]

NOT part of xlquote. It exists only to measure xlquote against (bench/bench_batch.py). It
re-types the rules of RULES.md the way a clerk's script would: the price lists as constants,
level thresholds as if/elif chains, one pass over the Incidents rows with
``openpyxl.load_workbook(path)`` in its default mode (what a typical user calls; ``--read-only``
gives the faster streaming mode for a stricter comparison), then per-contract totals written
to a summary workbook.

Rules covered: levels (round trips with the one-week condition, call/chat minutes scaled by the
range allowance factor, single/multi-session hours, on-site visits, investigation,
consulting, staff override), incident fees by plan, fee limits and decisions (a fee at or
above a yen limit; a 0 limit is feather only: any level above feather is held at the feather
fee and counts as a feather), absorption, members' personal use (refusals, the chart on a first
use, "pay" or "consume"), the monthly allowance with tier overage, contract months (a month's
fee when its contract month starts on or before the end date; the last days of a contract that
ends mid-month pay only their overage), the annual base fee in the first month of each
contract year that starts before the end, paid support (annual fee, packs bought this month,
oldest-first unit consumption with automatic pack top-ups) and the call centre (initial and
monthly fee by tier). Tax: 10 %, rounded down once per invoice. Simplification: the workbook
is assumed valid (xlquote validates it; ``bench/make_month.py`` writes valid data), so no
error handling.

With the check on (default) it also bills the month with xlquote and prints how many contracts'
totals differ (it must be 0).
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import time
from pathlib import Path
from typing import Any

import openpyxl

# --- the price lists, typed in from the documents (RULES.md) -------------------------------
ANNUAL_BASE = {"normal": 25000, "technical": 40000, "advanced": 80000, "mission_critical": 240000}
MONTHLY_FEES = {"normal": [5000, 15000, 25000, 30000, 35000],
                "technical": [10000, 20000, 30000, 35000, 40000],
                "advanced": [40000, 50000, 60000, 70000, 80000],
                "mission_critical": [60000, 90000, 120000]}
FEE_MONTHLY = [0, 0, 0, 0, 2000, 4000, 8000, 20000, 40000, 80000, 160000]
FEE_ANNUAL = [0, 1000, 2000, 4000, 6000, 10000, 20000, 40000, 80000, 160000, 320000]
TIME_FACTOR = {"normal": 1.0, "technical": 1.5, "advanced": 2.0, "mission_critical": 3.0}
CHART_LEVEL = 3
VENDOR_FIXED, VENDOR_PER_LICENCE = 50000, 500
PACK_UNITS, PACK_PRICE, MINUTES_PER_UNIT = 10, 30000, 30
CALLCENTER = [(100, 300000, 1000000), (500, 600000, 2000000), (1000, 900000, 3000000),
              (5000, 1200000, 4000000), (10000, 1500000, 5000000), (50000, 1800000, 6000000)]
TAX_PERCENT = 10


def as_date(value: Any) -> dt.date | None:
    if value is None or value == "":
        return None
    return value.date() if isinstance(value, dt.datetime) else value


def number(value: Any, default: float = 0) -> float:
    return default if value is None or value == "" else value


def add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = [31, 29 if year % 4 == 0 and (year % 100 or year % 400 == 0) else 28, 31, 30, 31, 30,
            31, 31, 30, 31, 30, 31][month]
    return dt.date(year, month + 1, min(day.day, last))


def level_of(row: dict[str, Any], support_range: str) -> int:
    """The support level of one incident (RULES 2.3), by hand."""
    override = row["level_override"]
    if override is not None and override != "":
        return 0 if override == "feather" else int(override)
    channel = row["channel"]
    level = 0
    if channel in ("email", "dm", "reply"):
        trips = number(row["round_trips"])
        days = row["days_open"]
        if days is None:
            days = (row["closed"] - row["opened"]).days
        if trips > 25:
            level = 6 if days >= 7 else 5
        elif trips > 20:
            level = 5
        elif trips > 15:
            level = 4
        elif trips > 10:
            level = 3
        elif trips > 5:
            level = 2
        elif trips > (5 if channel == "reply" else 2):
            level = 1
    elif channel in ("phone", "skype_call", "skype_chat"):
        minutes = round(number(row["minutes"]) / TIME_FACTOR[support_range], 9)
        sessions = int(number(row["sessions"], 1))
        if channel == "skype_chat":
            steps = [(180, 6), (60, 4), (30, 3), (20, 2), (10, 1)]
        else:
            steps = [(180, 6), (60, 5), (45, 4), (30, 3), (15, 2), (5, 1)]
        for threshold, at in steps:
            if minutes > threshold:
                level = at
                break
        if sessions <= 1:
            if minutes > 300:
                level = max(level, 7)
        else:
            for threshold, at in ((840, 10), (600, 9), (360, 8), (180, 7)):
                if minutes > threshold:
                    level = max(level, at)
                    break
    visits = int(number(row["onsite_visits"]))
    if channel == "onsite":
        visits = max(visits, 1)
    for count, at in ((7, 10), (4, 9), (2, 8), (1, 7)):
        if visits >= count:
            level = max(level, at)
            break
    if row["investigation"] is True:
        level = max(level, 5)
    consulting = row["consulting"]
    if consulting == "specific":
        level = max(level, 5)
    elif consulting == "comprehensive":
        level = max(level, 7)
    return level


class Account:
    """One contract's running totals for the month."""

    def __init__(self, contract: dict[str, Any]) -> None:
        self.contract = contract
        self.incident_amount = 0
        self.counted = 0
        self.billed = 0
        self.members_seen: set[str] = set()
        self.packs: list[list[Any]] = []  # [purchased, expires, units, used]
        self.topup_amount = 0


def load_rows(ws: Any) -> tuple[list[str], Any]:
    """Header and data rows, each padded to the header's width (read-only mode leaves out
    trailing empty cells)."""
    rows = ws.iter_rows(values_only=True)
    header = [str(h) for h in next(rows)]
    width = len(header)
    return header, (row + (None,) * (width - len(row)) for row in rows)


def run_baseline(path: Path, month: str, read_only: bool = False,
                 out: Path | None = None) -> dict[str, tuple[int, int, int]]:
    """{contract_id: (subtotal, tax, total)} of every contract with an invoice this month."""
    year, mon = (int(x) for x in month.split("-"))
    first = dt.date(year, mon, 1)
    last = add_months(first, 1) - dt.timedelta(days=1)
    wb = openpyxl.load_workbook(path, read_only=read_only)

    accounts: dict[str, Account] = {}
    header, rows = load_rows(wb["Contracts"])
    for values in rows:
        c = dict(zip(header, values, strict=False))
        if not c["contract_id"]:
            continue
        c["start_date"], c["end_date"] = as_date(c["start_date"]), as_date(c["end_date"])
        c["support_range"] = c["support_range"] or "normal"
        allowed = c["members_allowed"] or ""
        c["members"] = {m.strip() for m in allowed.split(",") if m.strip()}
        accounts[c["contract_id"]] = Account(c)

    header, rows = load_rows(wb["Packs"])
    for values in rows:
        p = dict(zip(header, values, strict=False))
        purchased = as_date(p["purchased"])
        if p["contract_id"] and purchased <= last:
            expires = add_months(purchased, 12) - dt.timedelta(days=1)
            accounts[p["contract_id"]].packs.append([purchased, expires, int(p["units"]), 0])
    pack_bills = {cid: sum(p[2] for p in a.packs if first <= p[0] <= last) // PACK_UNITS
                  * PACK_PRICE for cid, a in accounts.items()}

    header, rows = load_rows(wb["Incidents"])
    for values in rows:
        row = dict(zip(header, values, strict=False))
        closed = as_date(row["closed"])
        if closed is None or closed > last:
            continue  # still open: billed when it closes
        row["opened"], row["closed"] = as_date(row["opened"]), closed
        account = accounts[row["contract_id"]]
        c = account.contract
        now = closed >= first
        if c["plan"] == "vendor_support":
            consume_units(account, row, closed, now)
            account.billed += now
            continue
        if c["plan"] == "callcenter":
            account.billed += now
            continue
        # Price book B: personal use first (a refused one is not billed at all).
        refused = False
        chart = False
        if row["personal"] is True:
            member = row["member"] or ""
            allowed = "all" in c["members"] or member in c["members"]
            approved = not c["approver"] or row["approved_by"] == c["approver"]
            refused = not member or not allowed or not approved
            if not refused and not c["sole_proprietor_shared_env"] \
                    and member not in account.members_seen:
                account.members_seen.add(member)
                chart = True
        if not now:
            continue
        account.billed += 1
        if refused:
            continue
        level = level_of(row, c["support_range"])
        table = FEE_ANNUAL if c["plan"] == "annual" else FEE_MONTHLY
        fee = table[level]
        counted_level = level
        limit = row["fee_limit"] if row["fee_limit"] is not None else c["fee_limit"]
        if limit is not None and row["limit_decision"] != "continue":
            if limit == 0 and level > 0:  # feather only: held at the feather's fee and count
                fee, counted_level = table[0], 0
            elif limit > 0 and fee >= limit:
                fee = limit
        if row["absorbed_into"]:
            fee = row["absorbed_fee"]  # the incident shows 0, the service is billed instead
        paying = c["plan"] == "annual" or c["karte_payment"] == "pay"
        if chart:
            fee += FEE_ANNUAL[CHART_LEVEL] if paying else FEE_MONTHLY[CHART_LEVEL]
        if c["plan"] == "monthly":
            account.counted += (counted_level >= 1) + (chart and not paying)
        account.incident_amount += fee

    results: dict[str, tuple[int, int, int]] = {}
    for cid, account in accounts.items():
        part = contract_fees(account.contract, first, last) + pack_bills[cid] \
            + account.topup_amount
        c = account.contract
        if c["plan"] == "monthly" and is_active(c, first, last):
            part += monthly_fee(c, account.counted)
            if not contract_month_starts(c, first):  # the last days: overage only
                part -= MONTHLY_FEES[c["support_range"]][c["max_incidents"] - 1]
        if part == 0 and account.billed == 0:
            continue
        subtotal = part + account.incident_amount
        tax = subtotal * TAX_PERCENT // 100
        results[cid] = (subtotal, tax, subtotal + tax)
    if out is not None:
        write_summary(out, accounts, results)
    return results


def consume_units(account: Account, row: dict[str, Any], closed: dt.date, now: bool) -> None:
    """Oldest-expiry-first from the packs valid that day; a shortfall buys new packs."""
    need = math.ceil(round(number(row["minutes"]) / MINUTES_PER_UNIT, 9))
    for pack in sorted(account.packs, key=lambda p: (p[1], p[0])):
        if need == 0:
            break
        if pack[0] <= closed <= pack[1] and pack[2] > pack[3]:
            take = min(need, pack[2] - pack[3])
            pack[3] += take
            need -= take
    if need:
        count = -(-need // PACK_UNITS)
        for _ in range(count):
            take = min(need, PACK_UNITS)
            account.packs.append([closed, add_months(closed, 12) - dt.timedelta(days=1),
                                  PACK_UNITS, take])
            need -= take
        if now:
            account.topup_amount += count * PACK_PRICE


def is_active(c: dict[str, Any], first: dt.date, last: dt.date) -> bool:
    return c["start_date"] <= last and (c["end_date"] is None or c["end_date"] >= first)


def contract_month_starts(c: dict[str, Any], first: dt.date) -> bool:
    """A contract month starts in this calendar month, on or before the end date."""
    elapsed = (first.year - c["start_date"].year) * 12 + first.month - c["start_date"].month
    starts = add_months(c["start_date"], elapsed)
    return elapsed >= 0 and (c["end_date"] is None or starts <= c["end_date"])


def contract_fees(c: dict[str, Any], first: dt.date, last: dt.date) -> int:
    """Fees of the contract itself this month (not tied to an incident), except monthly."""
    if not is_active(c, first, last) or not contract_month_starts(c, first):
        return 0
    elapsed = (first.year - c["start_date"].year) * 12 + first.month - c["start_date"].month
    if c["plan"] == "annual":
        return ANNUAL_BASE[c["support_range"]] if elapsed % 12 == 0 else 0
    if c["plan"] == "vendor_support":
        return VENDOR_FIXED + VENDOR_PER_LICENCE * c["licences"] if elapsed % 12 == 0 else 0
    if c["plan"] == "callcenter":
        for bound, initial, monthly in CALLCENTER:
            if c["licences"] <= bound:
                return monthly + (initial if elapsed == 0 else 0)
    return 0


def monthly_fee(c: dict[str, Any], counted: int) -> int:
    """The plan's tier, or the tier of the incidents used when over the maximum; beyond the top
    tier each incident adds the top tier's last step."""
    fees = MONTHLY_FEES[c["support_range"]]
    used = max(counted, c["max_incidents"])
    if used <= len(fees):
        return fees[used - 1]
    step = fees[-1] - fees[-2]
    return fees[-1] + (used - len(fees)) * step


def write_summary(path: Path, accounts: dict[str, Account],
                  results: dict[str, tuple[int, int, int]]) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Summary"
    ws.append(["contract_id", "customer", "plan", "subtotal", "tax", "total"])
    for cid, (subtotal, tax, total) in results.items():
        c = accounts[cid].contract
        ws.append([cid, c["customer"], c["plan"], subtotal, tax, total])
    wb.save(path)


def xlquote_totals(path: Path, month: str) -> dict[str, tuple[int, int, int]]:
    from xlquote.app.invoice_run import contract_totals_mapper
    from xlquote.engine.billing import bill_month
    from xlquote.readers.workbook import read_invoicing_workbook

    data = read_invoicing_workbook(path)
    run = bill_month(data.contracts, data.incidents, month, data.packs, data.pricebooks(),
                     map_tasks=contract_totals_mapper)
    return {s.contract.contract_id: (s.subtotal, s.tax, s.total) for s in run.summaries}


def mismatches(mine: dict[str, tuple[int, int, int]],
               reference: dict[str, tuple[int, int, int]]) -> list[str]:
    """Contract ids whose (subtotal, tax, total) differ, or that only one side bills."""
    return sorted(cid for cid in mine.keys() | reference.keys()
                  if mine.get(cid) != reference.get(cid))


def check_against_xlquote(label: str, mine: dict[str, tuple[int, int, int]], path: Path,
                          month: str) -> None:
    """Print and assert that a baseline's per-contract totals equal xlquote's."""
    differ = mismatches(mine, xlquote_totals(path, month))
    print(f"mismatches with xlquote: {len(differ)}" + (f" e.g. {differ[:5]}" if differ else ""))
    assert not differ, f"{label} disagrees with xlquote"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workbook", type=Path)
    parser.add_argument("--month", default="2026-10")
    parser.add_argument("--read-only", action="store_true",
                        help="openpyxl's streaming mode instead of the default load")
    parser.add_argument("--out", type=Path, default=None, help="summary workbook to write")
    parser.add_argument("--no-check", action="store_true", help="skip the xlquote comparison")
    args = parser.parse_args()
    out = args.out or args.workbook.with_name(args.workbook.stem + "_baseline_a.xlsx")
    started = time.perf_counter()
    mine = run_baseline(args.workbook, args.month, args.read_only, out)
    elapsed = time.perf_counter() - started
    print(f"baseline A: {len(mine):,} invoices, total {sum(t[2] for t in mine.values()):,} yen "
          f"in {elapsed:.1f} s → {out}")
    if not args.no_check:
        check_against_xlquote("baseline A", mine, args.workbook, args.month)


if __name__ == "__main__":
    main()
