"""Replay a real incident log: what would the last N months have cost on each plan?

Each candidate plan becomes a hypothetical contract of the customer, starting on the first day
of the window and running for the plan's committed term; the billing engine (``bill_month``)
then bills it month by month exactly as it bills real contracts. So every incident's level is
computed for the plan's range (the range's time allowance factor), and fee limits, charts,
absorption, overage and pack top-ups all apply as on a real invoice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

import numpy as np

from ..billing import bill_month
from ..codes import normalize_text
from ..dates import Month, add_months
from ..errors import InputError, Problem
from ..messages import UNKNOWN_CONTRACT
from ..money import tax_by_rate
from ..records import Contract, IncidentTable, contracts_from_records, incidents_from_records
from .comparison import check_horizon, common_horizon
from .cost import PricebookArg, committed_months, resolve_books
from .profile import MAX_LICENCES
from .table import Comparison, PlanOption, PlanResult, candidate_plans, ranked

# Invoice lines that are the plan's fixed price; every other line is usage.
FIXED_LINE_KINDS = frozenset({"annual_base_fee", "monthly_fee", "vendor_annual_fee",
                              "callcenter_initial", "callcenter_monthly"})
OUTSIDE_PLAN = frozenset({"absorbed_service"})
# Incidents one replay bills: the window's, repeated to fill the term, once per plan (~22),
# each month of the term. Billed a batch of plans at a time (REPLAY_BATCH copies at most), so
# memory stays bounded; the time grows with the count: 1.6 million took ~25 s.
MAX_REPLAYED_INCIDENTS = 2_000_000
REPLAY_BATCH = 200_000


def pick_contracts(contracts: list[Contract], contract_id: str | None,
                   customer: str | None) -> list[Contract]:
    """The customer's contracts: by id, by customer name, or the only customer in the log."""
    if contract_id:
        chosen = [c for c in contracts if c.contract_id == contract_id]
        if not chosen:
            raise InputError([Problem(None, "contract_id", contract_id, UNKNOWN_CONTRACT,
                                      "Contracts")])
        return chosen
    customers = sorted({c.customer for c in contracts})
    if customer:
        chosen = [c for c in contracts if normalize_text(c.customer) == normalize_text(customer)]
        if not chosen:
            raise InputError([Problem(None, "customer", customer,
                                      f"この名前のお客様の契約がありません。記録にあるお客様: "
                                      f"{', '.join(customers)}", "Contracts")])
        return chosen
    if len(customers) != 1:
        shown = ", ".join(customers[:10]) + (" …" if len(customers) > 10 else "")
        raise InputError([Problem(None, "--customer", None,
                                  f"記録には {len(customers)} 件のお客様がいます ({shown})。"
                                  "--customer か --contract で 1 件を選んでください")])
    return contracts


def replay_window(table: IncidentTable, months: int, until: Month | str | None) -> Month:
    """First month of the window: ``months`` months ending with ``until`` (default: the month
    of the last closed incident)."""
    if until is not None:
        return Month.parse(until).plus(-(months - 1))
    closed = table.closed[~np.isnat(table.closed)]
    if not len(closed):
        raise InputError([Problem(None, "closed", None, "完了日 (closed) のあるインシデントが"
                                  "ありません。料金を比べるには完了したインシデントが必要です",
                                  "Incidents")])
    last = closed.max().astype("datetime64[D]").item()
    return Month(last.year, last.month).plus(-(months - 1))


def compare_log(contracts: Iterable[Mapping[str, Any] | Contract],
                incidents: Iterable[Mapping[str, Any]] | IncidentTable, months: int = 12,
                contract_id: str | None = None, customer: str | None = None,
                until: Month | str | None = None, licences: int | None = None,
                pricebook: PricebookArg = None) -> Comparison:
    """Replay the customer's incidents of the window on every plan that can serve them."""
    horizon = check_horizon(months)
    if licences is not None and (isinstance(licences, bool) or not 0 <= licences <= MAX_LICENCES):
        raise InputError([Problem(None, "licences", licences,
                                  f"ライセンス数は 0〜{MAX_LICENCES:,} にしてください")])
    chosen = pick_contracts(contracts_from_records(contracts), contract_id, customer)
    table = incidents_from_records(incidents)
    ids = {c.contract_id for c in chosen}
    mine = table.take(np.flatnonzero([cid in ids for cid in table.contract_id]))
    start = replay_window(mine, horizon, until)
    first = np.datetime64(start.first_day, "D")
    last = np.datetime64(start.plus(horizon - 1).last_day, "D")
    window = mine.take(np.flatnonzero(~np.isnat(mine.closed) & (mine.closed >= first)
                                      & (mine.closed <= last)))
    # Incidents opened before the window are taken as opened on its first day (the
    # hypothetical contract starts then); days_open was already derived from the real dates.
    window.opened = np.maximum(window.opened, first)

    template = chosen[0]
    seats = licences if licences is not None else max((c.licences or 0) for c in chosen)
    books = resolve_books(pricebook)
    options, excluded = candidate_plans(books, licences=seats)
    # Every plan is billed over the same term; a term longer than the window repeats the
    # window's incidents, as a profile's months repeat.
    term = common_horizon(options, books, horizon)
    replayed = len(window) * -(-term // horizon) * len(options)
    if replayed > MAX_REPLAYED_INCIDENTS:
        raise InputError([Problem(None, "--log", f"{len(window):,} 件", (
            f"{len(window):,} 件の対応を {term} か月分に繰り返し、{len(options)} のプランで請求する"
            f"と {replayed:,} 件になります。再現できるのは {MAX_REPLAYED_INCIDENTS:,} 件まで"
            "です (どのプランも最低契約期間まで請求するため、期間を短くしても件数は減りません)。"
            "--profile で月あたりの件数から比べてください"))])
    in_window = len(window)
    window = _repeated(window, horizon, term)
    terms = committed_months(
        np.array([("annual", "monthly", "vendor_support", "callcenter").index(o.plan)
                  for o in options]),
        np.array([_range_index(o) for o in options]), np.full(len(options), term), books)
    hypothetical = [_contract_for(template, o, i, start, int(terms[i]), seats, books)
                    for i, o in enumerate(options)]

    subtotal = np.zeros(len(options), dtype=np.int64)
    total = np.zeros(len(options), dtype=np.int64)
    fixed = np.zeros(len(options), dtype=np.int64)
    by_id = {c.contract_id: i for i, c in enumerate(hypothetical)}
    by_name = {b.name: b for b in books.values()}
    # The plans in batches whose copies of the incidents stay within REPLAY_BATCH rows (a
    # year's incidents of an ordinary customer: every plan in one batch).
    per_batch = max(1, REPLAY_BATCH // max(len(window), 1))
    for first_plan in range(0, len(options), per_batch):
        batch = range(first_plan, min(first_plan + per_batch, len(options)))
        contracts = [hypothetical[i] for i in batch]
        copies = _incidents_for(window, [c.contract_id for c in contracts],
                                [options[i].plan in ("annual", "monthly") for i in batch])
        for offset in range(int(terms[list(batch)].max())):
            run = bill_month(contracts, copies, start.plus(offset), pricebooks=by_name,
                             today=dt.date.max)  # a hypothetical replay may run into the future
            for invoice in run.invoices:
                i = by_id[invoice.contract.contract_id]
                # A service the incident was absorbed into is billed whatever the plan: not a
                # cost of the plan (its incident line is 0 on support-service plans).
                taxes = tax_by_rate([(int(line.tax_rate or 0), line.amount)
                                     for line in invoice.lines if line.kind not in OUTSIDE_PLAN],
                                    by_name[invoice.pricebook].tax.rounding)
                amount = sum(t[1] for t in taxes)
                subtotal[i] += amount
                total[i] += amount + sum(t[2] for t in taxes)
                fixed[i] += sum(line.amount for line in invoice.lines
                                if line.kind in FIXED_LINE_KINDS)

    names = books["annual"].require_support().range_names_ja
    results = [PlanResult(o, o.label(names, seats), int(terms[i]), int(subtotal[i]),
                          int(total[i]), int(fixed[i]), int(subtotal[i] - fixed[i]))
               for i, o in enumerate(options)]
    notes = [f"{start}〜{start.plus(horizon - 1)} に完了した {in_window} 件の対応 (契約 "
             f"{', '.join(sorted(ids))}) を再現し、どのプランも {term} か月分を請求"
             + (f" ({horizon} か月から、どのプランの最低契約期間・契約単位にも合うよう切り上げ。"
                "期間の対応を繰り返します)" if term != horizon else ""),
             "税込は毎月の請求書の消費税を請求どおりに計算。対応が吸収されたサービス "
             "(RULES 2.5) はプランにかかわらず請求されるため含めていません"]
    return Comparison("replay", term, seats, ranked(results), excluded, notes=notes)


def _range_index(option: PlanOption) -> int:
    from ..codes import SUPPORT_RANGES

    return SUPPORT_RANGES.codes.index(option.support_range or "normal")


def _contract_for(template: Contract, option: PlanOption, index: int, start: Month, term: int,
                  licences: int, books: Mapping[str, Any]) -> Contract:
    begin = start.first_day
    return replace(template, contract_id=f"plan-{index + 1}", pricebook=books[option.plan].name,
                   plan=option.plan, support_range=option.support_range or "normal",
                   max_incidents=option.max_incidents, licences=licences or None,
                   start_date=begin, end_date=add_months(begin, term) - dt.timedelta(days=1),
                   row=None)


def _repeated(window: IncidentTable, months: int, term: int) -> IncidentTable:
    """The window's incidents, then again ``months`` later, … until ``term`` months are filled
    (each repeat's ids get ``#2``, ``#3`` …)."""
    repeats = -(-term // months)
    if repeats == 1 or not len(window):
        return window
    n = len(window)
    out = window.take(np.tile(np.arange(n), repeats))
    opened, closed = window.opened.tolist(), window.closed.tolist()
    out.opened = np.array([add_months(day, r * months) for r in range(repeats) for day in opened],
                          dtype="datetime64[D]")
    out.closed = np.array([add_months(day, r * months) for r in range(repeats) for day in closed],
                          dtype="datetime64[D]")
    out.incident_id = np.array([f"{i}#{r + 1}" if r else i for r in range(repeats)
                                for i in window.incident_id.tolist()], dtype=object)
    return out


def _incidents_for(window: IncidentTable, contract_ids: list[str],
                   support_plans: list[bool]) -> IncidentTable:
    """One copy of the window's incidents per hypothetical contract."""
    n = len(window)
    copies = window.take(np.tile(np.arange(n), len(contract_ids)))
    copies.contract_id = np.repeat(np.array(contract_ids, dtype=object), n)
    vendor = np.repeat(np.array([not support for support in support_plans]), n)
    # Absorption into another service exists on support-service plans only (RULES 2.5).
    copies.absorbed_into = np.where(vendor, "", copies.absorbed_into).astype(object)
    return copies
