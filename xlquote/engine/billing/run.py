"""Bill a month: validate the incidents against the contracts, compute every level and charge
at once, then let each contract's plan biller assemble its invoice."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

import numpy as np

from ..codes import SUPPORT_RANGES, normalize_text
from ..columns import RowChecks
from ..dates import Month, due_date, issue_date
from ..errors import InputError, Problem
from ..invoice import (
    MAX_INVOICE_LINES,
    MAX_STATEMENT_ENTRIES,
    Flag,
    Invoice,
    Line,
    StatementEntry,
    invoice_number,
)
from ..levels import compute_levels
from ..messages import UNKNOWN_CONTRACT
from ..money import tax_by_rate
from ..pricebook import PriceBook, get_pricebook
from ..records import (
    Contract,
    ContractPositions,
    IncidentTable,
    Pack,
    contracts_from_records,
    incidents_from_records,
    packs_from_records,
)
from ..terms import term_problems
from . import support_service, vendor
from .context import ContractMonth, ContractPart
from .pricing import book_positions, flag_codes_by_incident, price_incidents

IncidentItems = tuple[list[Line], list[StatementEntry], list[Flag]]


@dataclass(frozen=True)
class Biller:
    """How one plan kind bills: its contract-level fees, and its incident lines/statement."""

    contract_part: Callable[[ContractMonth], ContractPart]
    incident_items: Callable[[ContractMonth], IncidentItems]


# One biller per plan; a new plan kind is a new entry here.
BILLERS: dict[str, Biller] = {
    "annual": Biller(support_service.contract_part, support_service.incident_items),
    "monthly": Biller(support_service.contract_part, support_service.incident_items),
    "vendor_support": Biller(vendor.paid_support_part, vendor.paid_support_items),
    "callcenter": Biller(vendor.callcenter_part, vendor.callcenter_items),
}


def contract_part(ctx: ContractMonth) -> ContractPart:
    """The plan biller's contract-level part, with the flags of the contract's terms when the
    price book bills a contract that breaks them (``term_policy = "flag"``)."""
    part = BILLERS[ctx.contract.plan].contract_part(ctx)
    if ctx.book.term_policy == "flag" and ctx.active():
        c = ctx.contract
        part.flags.extend(Flag(code, message) for code, message in term_problems(
            c.start_date, c.end_date, c.plan, c.support_range, ctx.book))
    return part


def build_invoice(ctx: ContractMonth) -> Invoice:
    biller = BILLERS[ctx.contract.plan]
    part = contract_part(ctx)
    lines, statement, flags = biller.incident_items(ctx)
    invoice = ctx.new_invoice()
    invoice.lines = part.lines + lines
    invoice.statement = statement
    invoice.flags = part.flags + flags
    invoice.packs = part.packs
    return invoice.close(ctx.book.tax)


@dataclass(frozen=True)
class InvoiceSummary:
    """One billed contract's totals and flags, computed without building its lines."""

    contract: Contract
    number: str
    issue_date: dt.date
    due_date: dt.date
    subtotal: int
    tax: int
    incidents: int
    flags: tuple[str, ...]

    @property
    def total(self) -> int:
        return self.subtotal + self.tax


class _Totals(NamedTuple):
    subtotal: int
    tax: int
    incidents: int
    flags: tuple[str, ...]


# How a run computes per-contract work: ``map_tasks(task, count)`` returns
# ``[task(i) for i in range(count)]``. The engine does it in this process; the month's batch
# passes a mapper that spreads the contracts over the machine's cores.
TaskMapper = Callable[[Callable[[int], Any], int], list[Any]]


def serial_map(task: Callable[[int], Any], count: int) -> list[Any]:
    return [task(i) for i in range(count)]


@dataclass
class BillingRun:
    """A month's billing. ``summaries`` are exact and cheap; ``invoices`` builds every invoice
    (lines, statement) on first use; ``contexts`` lets workers build invoices in parallel."""

    month: Month
    contexts: list[ContractMonth] = field(default_factory=list)  # contracts with something due
    summaries: list[InvoiceSummary] = field(default_factory=list)
    _invoices: list[Invoice] | None = None
    every_context: list[ContractMonth] = field(default_factory=list)  # every contract's month

    @property
    def invoices(self) -> list[Invoice]:
        if self._invoices is None:
            self._invoices = [build_invoice(ctx) for ctx in self.contexts]
        return self._invoices

    def __iter__(self) -> Iterator[Invoice]:
        return iter(self.invoices)

    @property
    def total(self) -> int:
        return sum(s.total for s in self.summaries)


def _books(contracts: list[Contract], pricebooks: Mapping[str, PriceBook] | None
           ) -> dict[str, PriceBook]:
    books = dict(pricebooks or {})
    for c in contracts:
        if c.pricebook not in books:
            books[c.pricebook] = get_pricebook(c.pricebook)
    return books


def bill_month(contracts: Iterable[Mapping[str, Any] | Contract],
               incidents: Iterable[Mapping[str, Any]] | IncidentTable,
               month: Month | str,
               packs: Iterable[Mapping[str, Any] | Pack] | None = None,
               pricebooks: Mapping[str, PriceBook] | None = None,
               today: dt.date | None = None, map_tasks: TaskMapper = serial_map) -> BillingRun:
    """Every contract's invoice for ``month``. Validates first: an incident of an unknown
    contract, dated after ``today`` (a typo, not a fact), closed this month outside its
    contract's term, or with a bad measure, raises InputError listing every such row; nothing
    is billed then."""
    month = Month.parse(month)
    contracts = contracts_from_records(contracts)
    table = incidents_from_records(incidents)
    pack_list = packs_from_records(packs)
    books = _books(contracts, pricebooks)
    by_id = ContractPositions(contracts)

    checks = RowChecks((len(table),), sheet="Incidents", row_numbers=table.row)
    owner = by_id.of(table.contract_id)
    checks.flag(owner < 0, "contract_id", table.contract_id,
                f"{UNKNOWN_CONTRACT} (スポット対応はないため、インシデントには契約が必要です)")
    last = np.datetime64(month.last_day, "D")
    first = np.datetime64(month.first_day, "D")
    closed_by_end = ~np.isnat(table.closed) & (table.closed <= last)
    in_month = closed_by_end & (table.closed >= first)
    _check_future(table, today or dt.date.today(), checks)
    _check_terms(contracts, table, owner, in_month, checks)
    _check_absorption(contracts, books, table, owner, in_month, checks)
    level, source = incident_levels(contracts, books, table, owner, checks)
    problems = (checks.problems + _pack_problems(contracts, books, pack_list, by_id)
                + _term_problems(contracts, books, month)
                + _statement_problems(contracts, owner[in_month & (owner >= 0)], month))
    if problems:
        raise InputError(sorted(problems, key=lambda p: (p.sheet or "", p.row or 0)))

    # This month's history per contract, each in close-date order, contiguous.
    relevant = np.flatnonzero(closed_by_end & (owner >= 0))
    order = relevant[np.lexsort((table.row[relevant], table.closed[relevant], owner[relevant]))]
    ordered, owner = table.take(order), owner[order]
    charges = price_incidents(contracts, books, owner, ordered, level[order], source[order],
                              in_month[order])
    starts = np.searchsorted(owner, np.arange(len(contracts) + 1), side="left")
    amounts = np.concatenate([[0], np.cumsum(charges.amount())])
    flag_rows = flag_codes_by_incident(charges, ordered.urgent)
    flag_counts = {code: np.concatenate([[0], np.cumsum(rows)]) for code, rows in flag_rows.items()}
    billed_counts = np.concatenate([[0], np.cumsum(charges.in_month)])
    packs_by_contract: dict[str, list[Pack]] = {}
    for p in pack_list:
        if p.purchased <= month.last_day:
            packs_by_contract.setdefault(p.contract_id, []).append(p)

    contexts = [ContractMonth(contract, books[contract.pricebook], month, ordered, charges,
                              (int(starts[i]), int(starts[i + 1])),
                              packs_by_contract.get(contract.contract_id, []))
                for i, contract in enumerate(contracts)]

    def totals(index: int) -> _Totals | Problem | None:
        """The contract's invoice totals, None when nothing is due this month, or the problem
        of an invoice with more lines than one bills."""
        ctx = contexts[index]
        (a, b), book = ctx.span, ctx.book
        part = contract_part(ctx)
        if len(part.lines) > MAX_INVOICE_LINES:
            ctx.memo.clear()  # the month is refused: its lines (tens of thousands) are not kept
            return _too_many_lines(ctx, part)
        billed = int(billed_counts[b] - billed_counts[a])
        if not part.lines and not billed:
            return None
        flags = {f.code for f in part.flags} | {
            code for code, counts in flag_counts.items() if counts[b] > counts[a]}
        standard = book.tax.rate_percent
        taxes = tax_by_rate([(standard if line.tax_rate is None else line.tax_rate, line.amount)
                             for line in part.lines]
                            + [(standard, int(amounts[b] - amounts[a]))], book.tax.rounding)
        return _Totals(sum(t[1] for t in taxes), sum(t[2] for t in taxes), billed,
                       tuple(sorted(flags)))

    run = BillingRun(month, every_context=contexts)
    issued_by_book = {name: issue_date(month, book.calendar) for name, book in books.items()}
    due_by_book = {name: due_date(issued_by_book[name], book.calendar)
                   for name, book in books.items()}
    # Each contract's totals are independent: ``map_tasks`` may spread them over the cores.
    results = map_tasks(totals, len(contexts))
    too_long = [result for result in results if isinstance(result, Problem)]
    if too_long:
        raise InputError(too_long)
    for ctx, result in zip(contexts, results, strict=True):
        if result is None:
            continue
        contract = ctx.contract
        run.contexts.append(ctx)
        run.summaries.append(InvoiceSummary(
            contract, invoice_number(month, contract.contract_id),
            issued_by_book[contract.pricebook], due_by_book[contract.pricebook], *result))
    return run


def incident_levels(contracts: list[Contract], books: Mapping[str, PriceBook],
                    table: IncidentTable, owner: np.ndarray, checks: RowChecks
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Levels of every support-service incident, under its contract's range and price book."""
    ranges = np.array([SUPPORT_RANGES.codes.index(c.support_range) for c in contracts] or [0])
    measures = replace(table.measures, support_range=ranges[np.maximum(owner, 0)])
    level = np.zeros(len(table), dtype=np.int64)
    source = np.zeros(len(table), dtype=np.int64)
    book_of = book_positions(contracts, books)[np.maximum(owner, 0)]
    for position, book in enumerate(books.values()):
        if book.support is None:
            continue
        rows = np.flatnonzero((owner >= 0) & (book_of == position))
        if not len(rows):
            continue
        sub = replace(measures, **{k: v[rows] for k, v in vars(measures).items()})
        sub_checks = RowChecks((len(rows),), sheet="Incidents", row_numbers=table.row[rows])
        level[rows], source[rows] = compute_levels(sub, book.support, sub_checks)
        checks.problems.extend(sub_checks.problems)
    return level, source


def _pack_problems(contracts: list[Contract], books: Mapping[str, PriceBook], packs: list[Pack],
                   by_id: Mapping[str, int]) -> list[Problem]:
    problems = []
    for p in packs:
        index = by_id.get(p.contract_id)
        if index is None:
            problems.append(Problem(p.row, "contract_id", p.contract_id, UNKNOWN_CONTRACT, "Packs"))
            continue
        rules = books[contracts[index].pricebook].vendor
        if rules is None or contracts[index].plan != "vendor_support":
            problems.append(Problem(p.row, "contract_id", p.contract_id,
                                    "インシデントパックは有料サポート (vendor_support) の契約の"
                                    "ものです。契約IDを確かめてください", "Packs"))
        elif p.units % rules.pack_units:
            problems.append(Problem(p.row, "units", p.units,
                                    f"パックのユニット数は {rules.pack_units} の倍数です", "Packs"))
    return problems


def _term_problems(contracts: list[Contract], books: Mapping[str, PriceBook], month: Month
                   ) -> list[Problem]:
    """Contracts billed this month that break their price book's minimum term or contract
    unit, where the book refuses them (``term_policy = "error"``)."""
    problems = []
    for c in contracts:
        book = books[c.pricebook]
        if book.term_policy != "error" or not c.active_in(month.first_day, month.last_day):
            continue
        for _code, message in term_problems(c.start_date, c.end_date, c.plan, c.support_range,
                                            book):
            problems.append(Problem(c.row, "end_date", c.end_date.isoformat() if c.end_date
                                    else None, message, "Contracts"))
    return problems


def _statement_problems(contracts: list[Contract], owners: np.ndarray, month: Month
                        ) -> list[Problem]:
    """Contracts with more incidents closed in ``month`` (``owners``: their positions) than
    one invoice's statement lists (``MAX_STATEMENT_ENTRIES``)."""
    counts = np.bincount(owners, minlength=len(contracts))
    return [Problem(contracts[i].row, "contract_id", contracts[i].contract_id,
                    f"{month.year}年{month.month}月に終わったインシデントが {int(counts[i]):,} 件"
                    f"あり、1 通の請求書の明細に載せられる {MAX_STATEMENT_ENTRIES:,} 件を超えて"
                    "います。インシデントが重複していないか確かめてください (1 つの契約の明細が"
                    "これより多い月は請求できません)",
                    "Contracts")
            for i in np.flatnonzero(counts > MAX_STATEMENT_ENTRIES).tolist()]


def _too_many_lines(ctx: ContractMonth, part: ContractPart) -> Problem:
    """A contract's month with more invoice lines than one invoice bills."""
    contract, month = ctx.contract, ctx.month
    short = sum(line.kind in vendor.SHORTFALL_LINES for line in part.lines)
    return Problem(contract.row, "contract_id", contract.contract_id,
                   f"{month.year}年{month.month}月の請求書の行が {len(part.lines):,} 行 (うちユニット"
                   f"不足の行 {short:,} 行) あり、1 通の請求書に載せられる {MAX_INVOICE_LINES:,} 行を"
                   "超えています。パックのユニットが足りなくなったインシデントごとに 1 行 (パックの"
                   "自動追加か不足分) が加わります: 購入したパックを Packs シートに記録し、"
                   "インシデントの時間 (minutes) を確かめてください", "Contracts")


def _check_future(table: IncidentTable, today: dt.date, checks: RowChecks) -> None:
    limit = np.datetime64(today, "D")
    for column in ("opened", "closed"):
        dates = getattr(table, column)
        future = ~np.isnat(dates) & (dates > limit)
        if future.any():  # the object copy only when there is something to report
            checks.flag(future, column, dates.astype(object),
                        f"未来の日付です (今日は {today})。日付を確かめてください")


def _check_terms(contracts: list[Contract], table: IncidentTable, owner: np.ndarray,
                 in_month: np.ndarray, checks: RowChecks) -> None:
    """An incident billed this month must lie inside its contract's term (no spot service)."""
    rows = np.flatnonzero(in_month & (owner >= 0))
    if not len(rows):
        return
    starts = np.array([c.start_date for c in contracts], dtype="datetime64[D]")[owner[rows]]
    ends = np.array([c.end_date or dt.date.max for c in contracts],
                    dtype="datetime64[D]")[owner[rows]]
    for column in ("opened", "closed"):
        days = getattr(table, column)[rows]
        outside = ~np.isnat(days) & ((days < starts) | (days > ends))
        for i, day in zip(rows[outside].tolist(), days[outside].tolist(), strict=True):
            if checks.message[i] is not None:
                continue  # one message per row: the opened date already said it
            contract = contracts[owner[i]]
            term = f"{contract.start_date}〜{contract.end_date or ''}"
            state = "まだ始まっていません" if day < contract.start_date else "終わっています"
            checks.add(i, column, day.isoformat(),
                       f"契約 {contract.contract_id} はこの日には{state} (契約期間 {term})。日付か"
                       "契約期間を確かめてください")


def _check_absorption(contracts: list[Contract], books: Mapping[str, PriceBook],
                      table: IncidentTable, owner: np.ndarray, in_month: np.ndarray,
                      checks: RowChecks) -> None:
    for i in np.flatnonzero(in_month & (owner >= 0) & (table.absorbed_into != "")):
        book = books[contracts[owner[i]].pricebook]
        if book.support is None:
            checks.add(int(i), "absorbed_into", table.absorbed_into[i],
                       "吸収 (absorbed_into) はサポートサービス (年額・月額) の契約だけのものです")
            continue
        services = book.support.absorption_services
        known = {normalize_text(k) for k in services} | {normalize_text(v)
                                                          for v in services.values()}
        if normalize_text(table.absorbed_into[i]) not in known:
            checks.add(int(i), "absorbed_into", table.absorbed_into[i],
                       "不明なサービスです。使えるもの: "
                       + ", ".join(f"{code}（{name}）" for code, name in services.items()))


def monthly_invoice(contract: Mapping[str, Any] | Contract,
                    incidents: Iterable[Mapping[str, Any]] | IncidentTable, month: Month | str,
                    packs: Iterable[Mapping[str, Any] | Pack] | None = None,
                    pricebook: PriceBook | str | None = None) -> Invoice:
    """One contract's invoice for ``month`` (an empty invoice when nothing is due). Incidents
    and packs of other contracts are ignored; ``pricebook`` overrides the contract's."""
    (parsed,) = contracts_from_records([contract])
    table = incidents_from_records(incidents)
    mine = table.take(np.flatnonzero(table.contract_id == parsed.contract_id))
    my_packs = [p for p in packs_from_records(packs) if p.contract_id == parsed.contract_id]
    books = None if pricebook is None else {parsed.pricebook: get_pricebook(pricebook)}
    run = bill_month([parsed], mine, month, my_packs, books)
    if run.invoices:
        return run.invoices[0]
    book = (books or {}).get(parsed.pricebook) or get_pricebook(parsed.pricebook)
    issued = issue_date(Month.parse(month), book.calendar)
    return Invoice(parsed, Month.parse(month), book.name, issued,
                   due_date(issued, book.calendar)).close(book.tax)
