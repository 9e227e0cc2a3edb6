"""A realistic synthetic month for the batch benchmarks, written as an invoicing workbook.

    python bench/make_month.py --contracts 10000 --incidents 1000000 --seed 1 \\
        --out bench/_data/month_1m.xlsx

The workbook has the sheets, headers and Settings of the sample invoicing workbook
(``xlquote.engine.records`` field lists, ``xlquote.app.sample.sample_settings``), so ``xlquote invoice
WORKBOOK --month 2026-10`` accepts it. Everything is drawn from ``--seed`` (same seed, same
file). The incident log covers April–October 2026: ~10 % history (read for packs, first
personal use), ~1 % still open, the rest closed in the billed month (October 2026).

Shares (of contracts): annual 45 %, monthly 35 %, vendor paid support 17 %, call centre 3 %;
ranges normal 50 / technical 30 / advanced 15 / mission-critical 5 %. Channels: e-mail 40 %,
phone 30 %, Skype chat 10 %, DM 8 %, Skype call 7 %, public reply 3 %, on-site 2 %. Measures
are skewed (most incidents are short, a long tail reaches every level). Rare cases: 3 %
investigation, 0.7 % consulting, 0.5 % staff overrides, 1 % urgent, 1 % incident fee limits
(and 10 % of annual contracts with a contract limit), decisions recorded on some, 0.05 %
absorbed into tutoring / system building, members' personal use on contracts that allow it
(a few refused: not allowed or without approval).

Terms are valid: a contract with an end date runs a whole number of its plan's contract units,
at least the minimum term (RULES 2.1); starts are on the 1st or the 15th, so some contracts end
inside the billed month. Incident fee limits are yen or 0 (feather only).

Guarantees the baselines rely on (see bench/README.md): rows are in close-date order (the
log is appended as incidents close; open ones last), every recorded pack of a contract is
valid for the whole log (bought Nov 2025–Mar 2026, or on the start date of a contract that
starts later), and no continuous session exceeds the 6-hour cap.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from pathlib import Path

import numpy as np
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from xlquote.app.sample import sample_settings
from xlquote.engine.dates import add_months
from xlquote.engine.pricebook import get_pricebook
from xlquote.engine.records import CONTRACT_FIELDS, INCIDENT_FIELDS, PACK_FIELDS, field_names
from xlquote.engine.terms import contract_months, plan_terms, term_end
from xlquote.readers.workbook import SETTINGS_FIELDS, SETTINGS_SHEET
from xlquote.writers.xlsx import DATE_FORMAT

MONTH = "2026-10"
LOG_START = dt.date(2026, 4, 1)
MONTH_FIRST, MONTH_LAST = dt.date(2026, 10, 1), dt.date(2026, 10, 31)
HISTORY_LAST = MONTH_FIRST - dt.timedelta(days=1)
EPOCH = np.datetime64("1970-01-01", "D")

PLAN_SHARES = {"annual": 0.45, "monthly": 0.35, "vendor_support": 0.17, "callcenter": 0.03}
# How busy a contract of each plan is, relative to an annual one (call centres serve big
# companies; monthly plans are small customers with a few incidents a month).
PLAN_ACTIVITY = {"annual": 1.0, "monthly": 0.3, "vendor_support": 0.8, "callcenter": 6.0}
RANGE_SHARES = {"normal": 0.50, "technical": 0.30, "advanced": 0.15, "mission_critical": 0.05}
CHANNEL_SHARES = {"email": 0.40, "phone": 0.30, "skype_chat": 0.10, "dm": 0.08,
                  "skype_call": 0.07, "reply": 0.03, "onsite": 0.02}
CALLCENTER_BOUNDS = (1, 100, 500, 1000, 5000, 10000, 50000)
MEMBERS = ("佐藤 健", "鈴木 花子", "高橋 一郎", "田中 美咲", "伊藤 誠", "渡辺 翔", "山本 彩",
           "中村 大輔", "小林 結衣", "加藤 拓也", "吉田 美穂", "山田 太郎")
COMPANY_STEMS = ("アオバ", "カワセミ", "ミナト", "ヒバリ", "さくら", "ツバメ", "ミドリ", "北斗",
                 "コハク", "シラサギ", "アカツキ", "ソラマメ", "イカルガ", "東都", "ナギサ",
                 "みらい", "グローバル", "ひまわり", "若葉", "琥珀", "青空", "浜風", "朝日", "銀河")
COMPANY_KINDS = ("株式会社{}商事", "有限会社{}工房", "{}設計事務所", "株式会社{}物流",
                 "{}ソフト合同会社", "株式会社{}製作所", "{}食品株式会社", "{}システム株式会社")
DESCRIPTIONS = ("ログイン方法の確認", "プリンタ共有の設定", "ファイルサーバーの権限整理",
                "会計ソフトの移行相談", "Wi-Fi がつながらない", "共有フォルダの設定",
                "VPN 接続の不具合", "メールソフトの設定", "バックアップ設定の相談",
                "ライセンス認証エラー", "帳票レイアウトの不具合", "パスワード再設定",
                "Excel マクロの不具合調査", "サーバー監視の設定", "アカウント復旧",
                "インストール手順の確認", "データ移行の手順", "操作方法のお問い合わせ")


def pick(rng: np.random.Generator, shares: dict[str, float], n: int) -> np.ndarray:
    names = np.array(list(shares), dtype=object)
    return names[rng.choice(len(names), size=n, p=np.array(list(shares.values())))]


def to_day(values: np.ndarray) -> np.ndarray:
    return values.astype("datetime64[D]")


def day(value: dt.date) -> np.datetime64:
    return np.datetime64(value, "D")


def make_contracts(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    plan = pick(rng, PLAN_SHARES, n)
    aki = (plan == "annual") | (plan == "monthly")
    support_range = np.where(aki, pick(rng, RANGE_SHARES, n), None)
    top = np.where(support_range == "mission_critical", 3, 5)
    max_incidents = np.where(plan == "monthly",
                             np.minimum(rng.choice([1, 2, 3, 4, 5], size=n,
                                                   p=[0.2, 0.3, 0.25, 0.15, 0.1]), top), -1)
    # Starts: most contracts are older than the log; 10 % start during it (first-month fees).
    old_month = rng.integers(0, 39, size=n)  # 2023-01 .. 2026-03
    start = np.array([np.datetime64("2023-01", "M") + int(m) for m in old_month])
    start = to_day(start) + np.where(rng.random(n) < 0.1, 14, 0)
    new = rng.random(n) < 0.10
    new_month = np.datetime64("2026-04", "M") + rng.integers(0, 7, size=n)
    start = np.where(new, to_day(new_month), start)
    # Ends: 3 % end July–October 2026 (mostly history only; some inside the billed month),
    # 12 % end later, the rest open.
    end = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
    ended = (rng.random(n) < 0.03) & ~new
    ended_month = np.datetime64("2026-07", "M") + rng.integers(0, 4, size=n)  # Jul..Oct
    end[ended] = to_day(ended_month[ended] + 1)[:] - 1  # last day of that month
    later = ~ended & (rng.random(n) < 0.12)
    later_month = np.datetime64("2027-03", "M") + rng.integers(0, 13, size=n)
    end[later] = to_day(later_month[later] + 1) - 1
    end = valid_terms(plan, support_range, start, end)
    # 2 % end inside the billed month after whole units: from the 15th (the month's last days
    # belong to the final contract month: no fee, overage only) or from the 1st.
    ending = ~new & ~ended & ~later & (rng.random(n) < 0.02)
    books = {"aki_sie": get_pricebook("aki_sie"), "vendor_support": get_pricebook("vendor_support")}
    for i in np.flatnonzero(ending):
        book = books["aki_sie" if plan[i] in ("annual", "monthly") else "vendor_support"]
        _unit, minimum = plan_terms(book, str(plan[i]), support_range[i] or "normal")
        first = dt.date(2026, 10, 15) if rng.random() < 0.7 else dt.date(2026, 11, 1)
        begin = add_months(first, -minimum)
        start[i], end[i] = np.datetime64(begin, "D"), np.datetime64(term_end(begin, minimum), "D")

    licences = np.full(n, -1, dtype=np.int64)
    vendor = plan == "vendor_support"
    licences[vendor] = np.clip(rng.lognormal(np.log(40), 1.0, size=vendor.sum()), 1, 5000)
    call = plan == "callcenter"
    tier = rng.choice(6, size=call.sum(), p=[0.25, 0.3, 0.2, 0.15, 0.07, 0.03])
    low, high = np.array(CALLCENTER_BOUNDS[:-1]), np.array(CALLCENTER_BOUNDS[1:])
    licences[call] = rng.integers(low[tier] + (tier > 0), high[tier] + 1)

    fee_limit = np.where((plan == "annual") & (rng.random(n) < 0.10),
                         rng.choice([10000, 20000, 50000], size=n), -1)
    # Members' personal use: "all" with the president's approval, a named list approved by the
    # general-affairs manager, or a sole proprietor sharing the business environment.
    kind = rng.random(n)
    members = np.full(n, None, dtype=object)
    approver = np.full(n, None, dtype=object)
    shared_env = np.full(n, None, dtype=object)
    everyone = aki & (kind < 0.08)
    listed = aki & (kind >= 0.08) & (kind < 0.12)
    sole = aki & (kind >= 0.12) & (kind < 0.14)
    members[everyone], approver[everyone] = "all", "社長"
    for i in np.flatnonzero(listed):
        members[i] = ", ".join(rng.choice(MEMBERS[:-1], size=int(rng.integers(1, 4)),
                                          replace=False))
        approver[i] = "総務部長"
    members[sole], shared_env[sole] = "山田 太郎", True
    karte = np.where((plan == "monthly") & (everyone | listed) & (rng.random(n) < 0.3),
                     "pay", None)
    stems = rng.integers(0, len(COMPANY_STEMS), size=n)
    kinds = rng.integers(0, len(COMPANY_KINDS), size=n)
    customer = np.array([COMPANY_KINDS[k].format(COMPANY_STEMS[s]) + f" {i + 1}"
                         for i, (s, k) in enumerate(zip(stems, kinds, strict=True))], dtype=object)
    return {"contract_id": np.array([f"C{i + 1:05d}" for i in range(n)], dtype=object),
            "customer": customer, "plan": plan, "support_range": support_range,
            "max_incidents": max_incidents, "licences": licences, "start_date": start,
            "end_date": end, "fee_limit": fee_limit, "members_allowed": members,
            "approver": approver, "sole_proprietor_shared_env": shared_env,
            "karte_payment": karte}


def valid_terms(plan: np.ndarray, support_range: np.ndarray, start: np.ndarray,
                end: np.ndarray) -> np.ndarray:
    """Each end date moved to the nearest end of a whole number of the plan's contract units,
    at least its minimum term (xlquote refuses other terms): a contract from the 15th ends on
    the 14th, so some of them end inside the billed month, before their next contract month."""
    books = {"aki_sie": get_pricebook("aki_sie"), "vendor_support": get_pricebook("vendor_support")}
    out = end.copy()  # (the books' terms, not a list of our own)
    for i in np.flatnonzero(~np.isnat(end)):
        book = books["aki_sie" if plan[i] in ("annual", "monthly") else "vendor_support"]
        unit, minimum = plan_terms(book, str(plan[i]), support_range[i] or "normal")
        first, wished = start[i].astype(dt.date), end[i].astype(dt.date)
        months = contract_months(first, wished)
        units = max(-(-minimum // unit), round(months / unit))
        out[i] = np.datetime64(term_end(first, units * unit), "D")
    return out


def make_packs(rng: np.random.Generator, c: dict[str, np.ndarray]) -> list[dict[str, object]]:
    """Recorded packs of vendor contracts, each valid for the whole log (see module doc)."""
    packs = []
    earliest, latest = day(dt.date(2025, 11, 1)), day(dt.date(2026, 3, 31))
    for i in np.flatnonzero(c["plan"] == "vendor_support"):
        start = c["start_date"][i]
        if start >= day(LOG_START):
            dates = [start]
        elif rng.random() < 0.2:
            continue  # no pack on record: every unit comes from automatic top-ups
        else:
            first = max(start, earliest)
            span = int((latest - first).astype(int)) + 1
            dates = sorted(first + rng.integers(0, span, size=int(rng.integers(1, 3))))
        for purchased in dates:
            packs.append({"contract_id": c["contract_id"][i],
                          "purchased": purchased.astype(dt.date),
                          "units": int(rng.choice([10, 20, 30], p=[0.6, 0.3, 0.1]))})
    return packs


def make_incidents(rng: np.random.Generator, c: dict[str, np.ndarray], n: int
                   ) -> dict[str, np.ndarray]:
    count = len(c["plan"])
    weight = rng.lognormal(0.0, 1.0, size=count) * np.array([PLAN_ACTIVITY[p] for p in c["plan"]])
    start, end = c["start_date"], c["end_date"]
    end_or_max = np.where(np.isnat(end), day(MONTH_LAST), end)
    period = rng.choice(3, size=n, p=[0.10, 0.89, 0.01])  # history, billed month, still open
    owner = np.empty(n, dtype=np.int64)
    closed = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
    windows = ((LOG_START, HISTORY_LAST), (MONTH_FIRST, MONTH_LAST), (MONTH_FIRST, MONTH_LAST))
    lower = np.empty(n, dtype="datetime64[D]")
    for p, (first, last) in enumerate(windows):
        rows = np.flatnonzero(period == p)
        lo = np.maximum(start, day(first))
        hi = np.minimum(end_or_max, day(last))
        eligible = np.flatnonzero(hi >= lo)
        w = weight[eligible] / weight[eligible].sum()
        owner[rows] = eligible[rng.choice(len(eligible), size=len(rows), p=w)]
        span = (hi[owner[rows]] - lo[owner[rows]]).astype(np.int64) + 1
        when = lo[owner[rows]] + (rng.random(len(rows)) * span).astype(np.int64)
        if p < 2:
            closed[rows] = when
        lower[rows] = np.maximum(start[owner[rows]], day(LOG_START) - 30)
        if p == 2:
            lower[rows] = when  # opened on ``when``, not closed yet
    plan = c["plan"][owner]
    aki = (plan == "annual") | (plan == "monthly")
    channel = pick(rng, CHANNEL_SHARES, n)
    channel = np.where(aki, channel, np.where(rng.random(n) < 0.6, "phone", "email"))

    mails = np.isin(channel, ("email", "dm", "reply"))
    round_trips = np.where(mails, 1 + rng.negative_binomial(1, 0.3, size=n), -1)
    round_trips = np.where(channel == "reply", np.minimum(round_trips, 1 + rng.poisson(2, n)),
                           round_trips)
    round_trips = np.minimum(round_trips, 40)
    sessions = np.where(rng.random(n) < 0.08, rng.integers(2, 5, size=n), 1)
    timed = np.isin(channel, ("phone", "skype_call", "skype_chat")) | ~aki
    minutes = np.minimum(np.round(rng.lognormal(np.log(12), 1.0, size=n)), 355 * sessions)
    minutes = np.where(timed, np.maximum(minutes, 1), -1)
    onsite = channel == "onsite"
    visits = np.where(onsite, rng.choice([1, 2, 3, 4, 7], size=n,
                                         p=[0.7, 0.2, 0.05, 0.04, 0.01]), -1)
    days_open = np.where(mails, round_trips // 3, 0) + rng.geometric(0.6, size=n) - 1
    opened = np.where(period == 2, lower, closed - days_open)
    opened = np.maximum(opened, lower)

    investigation = np.where(aki & (rng.random(n) < 0.03), True, None)
    consulting = np.where(aki, rng.choice(np.array([None, "specific", "comprehensive"],
                                                   dtype=object), size=n,
                                          p=[0.993, 0.005, 0.002]), None)
    override = np.where(aki & (rng.random(n) < 0.005), rng.integers(1, 9, size=n), -1)
    urgent = np.where(rng.random(n) < 0.01, True, None)
    fee_limit = np.where(aki & (rng.random(n) < 0.01),
                         rng.choice([0, 5000, 10000, 30000], size=n), -1)
    limited = (fee_limit >= 0) | (c["fee_limit"][owner] >= 0)
    decision = np.where(limited & (rng.random(n) < 0.4),
                        rng.choice(np.array(["stop", "continue"], dtype=object), size=n), None)
    absorbed = aki & (period == 1) & (rng.random(n) < 0.0005)
    absorbed_into = np.where(absorbed, rng.choice(np.array(["tutoring", "system_building"],
                                                           dtype=object), size=n), None)
    absorbed_fee = np.where(absorbed, rng.integers(5, 51, size=n) * 10000, -1)

    member, personal, approved = (np.full(n, None, dtype=object) for _ in range(3))
    allowed = c["members_allowed"][owner]
    for i in np.flatnonzero((allowed != None) & (rng.random(n) < 0.05)):  # noqa: E711
        names = allowed[i]
        who = str(rng.choice(MEMBERS) if names == "all" else rng.choice(names.split(", ")))
        personal[i], member[i] = True, who
        approved[i] = c["approver"][owner[i]]
        roll = rng.random()
        if roll < 0.02:
            member[i] = "部外者 一郎"  # not a member who may use the contract: refused
        elif roll < 0.04 and approved[i]:
            approved[i] = None  # approval missing: refused

    # The log is kept in close-date order (open incidents last, by the day they opened).
    order = np.lexsort((opened, np.isnat(closed), closed))
    return {key: value[order] for key, value in {
        "contract_id": c["contract_id"][owner], "opened": opened, "closed": closed,
        "channel": channel, "round_trips": round_trips, "minutes": minutes,
        "sessions": np.where(timed & (sessions > 1), sessions, -1), "onsite_visits": visits,
        "investigation": investigation, "consulting": consulting, "level_override": override,
        "member": member, "personal": personal, "approved_by": approved,
        "fee_limit": fee_limit, "limit_decision": decision, "absorbed_into": absorbed_into,
        "absorbed_fee": absorbed_fee, "urgent": urgent,
        "description": np.array(DESCRIPTIONS, dtype=object)[
            rng.integers(0, len(DESCRIPTIONS), size=n)]}.items()}


def _plain(values: np.ndarray) -> list[object]:
    """Cell values of a column: -1 / NaT / None are blank cells, dates are ``dt.date``."""
    if values.dtype.kind == "M":
        return [None if v is None else v for v in values.astype(object)]
    if values.dtype.kind in "iu":
        return [None if v < 0 else v for v in values.tolist()]
    if values.dtype.kind == "f":
        return [None if v < 0 else int(v) if v.is_integer() else v for v in values.tolist()]
    return values.tolist()


def write_table(ws: WriteOnlyWorksheet, header: list[str], columns: dict[str, list[object]],
                rows: int) -> None:
    ws.append(header)
    date_cells = {}
    for name in header:
        if name in ("opened", "closed", "start_date", "end_date", "purchased"):
            date_cells[name] = WriteOnlyCell(ws)
            date_cells[name].number_format = DATE_FORMAT
    values = [columns.get(name, [None] * rows) for name in header]
    for row in zip(*values, strict=True):
        out = list(row)
        for position, name in enumerate(header):
            if name in date_cells and out[position] is not None:
                cell = date_cells[name]  # one styled cell reused: rows are written at once
                cell.value = out[position]
                out[position] = cell
        ws.append(out)


def write_month(path: Path, contracts: dict[str, np.ndarray], incidents: dict[str, np.ndarray],
                packs: list[dict[str, object]]) -> None:
    wb = Workbook(write_only=True)
    invoices = wb.create_sheet("Invoices")
    invoices.append(["請求書作成"])
    invoices.append(["請求書は `xlquote invoice` で作成します (bench/README.md)。"])
    invoices.append(["請求月", MONTH])
    n_contracts = len(contracts["plan"])
    write_table(wb.create_sheet("Contracts"), field_names(CONTRACT_FIELDS),
                {k: _plain(v) for k, v in contracts.items()}, n_contracts)
    n = len(incidents["channel"])
    ids = [f"I-{i + 1:07d}" for i in range(n)]
    write_table(wb.create_sheet("Incidents"), field_names(INCIDENT_FIELDS),
                {"incident_id": ids, **{k: _plain(v) for k, v in incidents.items()}}, n)
    write_table(wb.create_sheet("Packs"), field_names(PACK_FIELDS),
                {name: [p[name] for p in packs] for name in field_names(PACK_FIELDS)}, len(packs))
    settings = wb.create_sheet(SETTINGS_SHEET)
    settings.append(["key", "value", "項目", "説明"])
    values = sample_settings()
    for f in SETTINGS_FIELDS:
        settings.append([f.key, values.get(f.key) or None, f.label_ja, f.help])
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(path.name + ".partial")
    wb.save(temp)
    temp.replace(path)


def make_month(contracts: int, incidents: int, seed: int, out: Path) -> Path:
    rng = np.random.default_rng(seed)
    c = make_contracts(rng, contracts)
    packs = make_packs(rng, c)
    t = make_incidents(rng, c, incidents)
    write_month(out, c, t, packs)
    return out


def default_path(incidents: int, contracts: int, seed: int) -> Path:
    return Path(__file__).with_name("_data") / f"month_{incidents}_{contracts}_s{seed}.xlsx"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contracts", type=int, default=10_000)
    parser.add_argument("--incidents", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    out = args.out or default_path(args.incidents, args.contracts, args.seed)
    started = time.perf_counter()
    make_month(args.contracts, args.incidents, args.seed, out)
    print(f"{out}: {args.contracts:,} contracts, {args.incidents:,} incidents "
          f"({out.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
