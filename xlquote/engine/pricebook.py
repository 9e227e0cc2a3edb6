"""Price books: TOML data files loaded into validated numpy lookup tables.

The engine knows no price book; everything it needs to bill (fees, thresholds, settings) is read
here from ``xlquote/engine/pricebooks/<name>.toml`` or a user's own file. A malformed file fails with
``PriceBookError("aki_sie.toml", "levels.rules.call.over[3]", "しきい値 30 が前のレベルの 45 以下です…")``.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .closed_days import ClosedDays
from .codes import CHANNELS, PLANS, SUPPORT_RANGES, TAX_ROUNDING, is_blank
from .errors import WHOLE_FILE, PriceBookError, load_toml

PRICEBOOK_DIR = Path(__file__).with_name("pricebooks")
LEVEL_COUNT = 11  # feather (0) and levels 1..10
ROUNDING_MODES = TAX_ROUNDING.codes  # floor (切り捨て) | half_up (四捨五入) | ceil (切り上げ)
DUE_ADJUSTMENTS = ("previous_business_day", "next_business_day", "none")
OVERAGE_POLICIES = ("tier", "flag_only")
TERM_POLICIES = ("error", "flag")
MAX_RESPONSE_DAYS = 365  # a response target in business days (and what service.py packs in a key)


@dataclass(frozen=True)
class TaxRule:
    rate_percent: int
    rounding: str  # one of ROUNDING_MODES


@dataclass(frozen=True)
class CalendarRule:
    due_months_after_issue: int
    due_date_adjust: str  # one of DUE_ADJUSTMENTS
    closed_days: ClosedDays = field(default_factory=ClosedDays)  # Settings 休業日 (年末年始 …)


@dataclass(frozen=True)
class PlanTerms:
    """Contract unit and minimum term of one plan, in months, per support range (SUPPORT_RANGES
    order; plans without ranges repeat one value)."""

    contract_unit_months: np.ndarray  # int64[range]
    minimum_term_months: np.ndarray  # int64[range]


@dataclass(frozen=True)
class LevelRule:
    """Thresholds of one channel group. ``over[l]`` (l = 1..10): the measure reaches level l when
    strictly greater than it (inf: never). ``over[1]`` is the feather maximum."""

    name: str
    channels: tuple[str, ...]
    measure: str  # "round_trips" | "minutes" | "none"
    scales_with_range: bool
    over: np.ndarray  # float64[11], index 0 unused
    min_days_open: dict[int, int]
    single_session_over: dict[int, float]
    multi_session_total_over: dict[int, float]
    implied_onsite_visits: int


@dataclass(frozen=True)
class SupportServiceRules:
    """Price book B: annual / monthly contracts, ranges, levels, incident fees."""

    range_names_ja: tuple[str, ...]  # in SUPPORT_RANGES order
    annual_base_fee: np.ndarray  # int64[range]
    annual_minimum_term_months: np.ndarray  # int64[range]
    monthly_fees: np.ndarray  # int64[range, max tier]; -1 where the tier is not offered
    monthly_max_incidents: np.ndarray  # int64[range]
    monthly_contract_unit_months: np.ndarray
    monthly_minimum_term_months: np.ndarray
    time_allowance_factor: np.ndarray  # float64[range]
    incident_fees: dict[str, np.ndarray]  # plan -> int64[11]
    feather_counts: bool
    overage_policy: str
    default_fee_cap: int | None
    chart_level: int
    chart_pay_fee_plan: str
    reply_max_level: dict[str, int]
    absorption_services: dict[str, str]
    rules: tuple[LevelRule, ...]
    rule_of_channel: np.ndarray  # int64[channel] -> index into rules
    max_continuous_session_minutes: float
    investigation_level: int
    consulting_levels: dict[str, int]
    onsite_visits_at_least: dict[int, int]
    onsite_fee: int | None = None  # per visit; None: no price, visits are flagged for a quote


@dataclass(frozen=True)
class VendorRules:
    """Price book A: paid support in units and packs, and the call centre."""

    annual_fixed_fee: int
    annual_fee_per_licence: int
    unit_price: int
    minutes_per_unit: int
    pack_units: int
    pack_price: int
    pack_valid_months: int
    auto_topup: bool
    bill_recorded_packs: bool
    expiry_notice_days: int  # tell the customer of units expiring within this many days
    callcenter_upper_bounds: np.ndarray  # int64[tier]
    callcenter_initial_fees: np.ndarray
    callcenter_monthly_fees: np.ndarray
    callcenter_service_hours: str


@dataclass(frozen=True)
class PriceBook:
    name: str
    file: str
    title: str
    model: str
    plans: tuple[str, ...]
    tax: TaxRule
    calendar: CalendarRule
    support: SupportServiceRules | None = None
    vendor: VendorRules | None = None
    terms: dict[str, PlanTerms] = field(default_factory=dict)  # plan → its terms
    term_policy: str = "error"  # one of TERM_POLICIES
    response_targets: dict[str, int] = field(default_factory=dict)  # channel → business days
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def plan_terms(self, plan: str) -> PlanTerms:
        if plan not in self.terms:
            raise PriceBookError(self.file, "plans", f"この料金表にはプラン {plan} がありません")
        return self.terms[plan]

    def require_support(self) -> SupportServiceRules:
        if self.support is None:
            raise PriceBookError(self.file, "levels", "この料金表にはサポートサービス (年額・月額) の"
                                 "規定がありません")
        return self.support

    def require_vendor(self) -> VendorRules:
        if self.vendor is None:
            raise PriceBookError(self.file, "paid_support", "この料金表には有料サポート・コール"
                                 "センターの規定がありません")
        return self.vendor


class _Reader:
    """Typed access to the parsed TOML that names file and key path in every error."""

    def __init__(self, file: str, data: dict[str, Any]) -> None:
        self.file, self.data = file, data

    def fail(self, key: str, reason: str) -> PriceBookError:
        return PriceBookError(self.file, key, reason)

    def get(self, key: str, default: Any = ...) -> Any:
        node: Any = self.data
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                if default is ...:
                    raise self.fail(key, "必須の項目がありません。書き足してください")
                return default
            node = node[part]
        return node

    def integer(self, key: str, minimum: int = 0, default: Any = ...) -> int:
        value = self.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(key, f"整数を書いてください ({value!r} になっています)")
        if value < minimum:
            raise self.fail(key, f"{value} は使えません。{minimum} 以上にしてください")
        return value

    def number(self, key: str, minimum: float = 0.0) -> float:
        value = self.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
            raise self.fail(key, f"数値を書いてください ({value!r} になっています)")
        if value <= minimum:
            raise self.fail(key, f"{value} は使えません。{minimum:g} より大きくしてください")
        return float(value)

    def boolean(self, key: str) -> bool:
        value = self.get(key)
        if not isinstance(value, bool):
            raise self.fail(key, f"true か false を書いてください ({value!r} になっています)")
        return value

    def choice(self, key: str, choices: tuple[str, ...]) -> str:
        value = self.get(key)
        if value not in choices:
            raise self.fail(key, f"{value!r} は使えません。使えるもの: {', '.join(choices)}")
        return value

    def fees(self, key: str, length: int | None = None, nondecreasing: bool = False) -> list[int]:
        values = self.get(key)
        if not isinstance(values, list) or not values:
            raise self.fail(key, "金額 (円) のリストを書いてください (例 [1000, 2000])")
        if length is not None and len(values) != length:
            raise self.fail(key, f"{length} 個の金額が必要です ({len(values)} 個あります)")
        for i, value in enumerate(values):
            if isinstance(value, bool) or not isinstance(value, int):
                raise self.fail(f"{key}[{i}]", f"金額は円の整数で書いてください ({value!r} になって"
                                               "います)")
            if value < 0:
                raise self.fail(f"{key}[{i}]", f"金額 {value} は使えません。0 以上にしてください")
            if nondecreasing and i and value < values[i - 1]:
                raise self.fail(f"{key}[{i}]", f"金額 {value} が前の {values[i - 1]} より小さい"
                                               "です。順に高くなるようにしてください")
        return values

    def level_map(self, key: str, default: Any = ...) -> dict[int, float]:
        """A ``{level = threshold}`` table; thresholds must rise with the level."""
        table = self.get(key, default)
        if not isinstance(table, dict):
            raise self.fail(key, "「レベル = しきい値」の表を書いてください (例 { 2 = 15, 3 = 30 })")
        out: dict[int, float] = {}
        for raw_level, threshold in table.items():
            level = _level_key(self, f"{key}.{raw_level}", raw_level)
            if isinstance(threshold, bool) or not isinstance(threshold, int | float):
                raise self.fail(f"{key}[{level}]", f"数値を書いてください ({threshold!r} になって"
                                                   "います)")
            if threshold < 0:
                raise self.fail(f"{key}[{level}]", f"しきい値 {threshold} は使えません。0 以上に"
                                                   "してください")
            out[level] = float(threshold)
        previous: tuple[int, float] | None = None
        for level in sorted(out):
            if previous is not None and out[level] <= previous[1]:
                raise self.fail(
                    f"{key}[{level}]", f"しきい値 {out[level]:g} が前のレベルの {previous[1]:g} "
                                       "以下です。レベルが上がるほど大きくしてください"
                )
            previous = (level, out[level])
        return out


LEVEL_KEY = "レベルは 1〜10 で書いてください"


def _level_key(reader: _Reader, key: str, raw: str) -> int:
    try:
        level = int(raw)
    except ValueError:
        raise reader.fail(key, LEVEL_KEY) from None
    if not 1 <= level <= 10:
        raise reader.fail(key, LEVEL_KEY)
    return level


def _load_support(r: _Reader) -> SupportServiceRules:
    ranges = SUPPORT_RANGES.codes
    for code in ranges:
        r.get(f"ranges.{code}")
    max_tiers = max(len(r.get(f"ranges.{c}.monthly_fees")) for c in ranges)
    monthly = np.full((len(ranges), max_tiers), -1, dtype=np.int64)
    for i, code in enumerate(ranges):
        tiers = r.fees(f"ranges.{code}.monthly_fees", nondecreasing=True)
        monthly[i, : len(tiers)] = tiers
    incident_fees = {}
    for plan in ("monthly", "annual"):
        fees = r.fees(f"incident_fees.{plan}", length=LEVEL_COUNT, nondecreasing=True)
        incident_fees[plan] = np.asarray(fees, dtype=np.int64)

    rules = []
    rule_of_channel = np.full(len(CHANNELS.codes), -1, dtype=np.int64)
    for name, _table in r.get("levels.rules").items():
        key = f"levels.rules.{name}"
        channels = r.get(f"{key}.channels")
        for channel in channels:
            if channel not in CHANNELS.codes:
                raise r.fail(f"{key}.channels", f"{channel!r}: 不明なチャネルです。使えるもの: "
                                                f"{', '.join(CHANNELS.codes)}")
            if rule_of_channel[CHANNELS.codes.index(channel)] >= 0:
                raise r.fail(f"{key}.channels", f"チャネル {channel} の規定が 2 つあります。"
                                                "1 つにしてください")
            rule_of_channel[CHANNELS.codes.index(channel)] = len(rules)
        measure = r.choice(f"{key}.measure", ("round_trips", "minutes", "none"))
        over = np.full(LEVEL_COUNT, np.inf)
        if measure != "none":
            feather_max = r.integer(f"{key}.feather_max")
            levels = r.level_map(f"{key}.over")
            if any(t < feather_max for t in levels.values()):
                raise r.fail(f"{key}.over", f"しきい値は feather_max ({feather_max}) 以上にして"
                                            "ください")
            over[1] = feather_max
            for level, threshold in levels.items():
                over[level] = threshold
        rules.append(
            LevelRule(
                name=name,
                channels=tuple(channels),
                measure=measure,
                scales_with_range=bool(r.get(f"{key}.scales_with_range", False)),
                over=over,
                min_days_open={k: int(v) for k, v in r.level_map(f"{key}.min_days_open", {}).items()},
                single_session_over=r.level_map(f"{key}.single_session_over", {}),
                multi_session_total_over=r.level_map(f"{key}.multi_session_total_over", {}),
                implied_onsite_visits=r.integer(f"{key}.implied_onsite_visits", default=0),
            )
        )
    missing = [CHANNELS.codes[i] for i in np.flatnonzero(rule_of_channel < 0)]
    if missing:
        raise r.fail("levels.rules", f"チャネル {', '.join(missing)} のレベル規定がありません")

    visits = {k: int(v) for k, v in r.level_map("levels.onsite_visits_at_least").items()}
    consulting = r.get("levels.consulting")
    for kind in ("specific", "comprehensive"):
        _level_key(r, f"levels.consulting.{kind}", str(consulting.get(kind, "missing")))
    cap = r.get("fee_limit.default_fee_cap", "")
    if not is_blank(cap) and (isinstance(cap, bool) or not isinstance(cap, int) or cap < 1):
        raise r.fail("fee_limit.default_fee_cap", f"空 (\"\") か 1 円以上の整数を書いてください "
                                                  f"({cap!r} になっています)")
    onsite_fee = r.get("onsite.onsite_fee", "")
    if not is_blank(onsite_fee) and (isinstance(onsite_fee, bool) or not isinstance(onsite_fee, int)
                                     or onsite_fee < 0):
        raise r.fail("onsite.onsite_fee", f"空 (\"\") か 0 円以上の整数を書いてください "
                                          f"({onsite_fee!r} になっています)")
    reply = r.get("reply_channel.max_level")
    for plan in ("monthly", "annual"):
        r.integer(f"reply_channel.max_level.{plan}")
    return SupportServiceRules(
        range_names_ja=tuple(r.get(f"ranges.{c}.name_ja") for c in ranges),
        annual_base_fee=np.asarray([r.integer(f"ranges.{c}.annual_base_fee") for c in ranges]),
        annual_minimum_term_months=np.asarray(
            [r.integer(f"ranges.{c}.annual_minimum_term_months", 1) for c in ranges]
        ),
        monthly_fees=monthly,
        monthly_max_incidents=(monthly >= 0).sum(axis=1).astype(np.int64),
        monthly_contract_unit_months=np.asarray(
            [r.integer(f"ranges.{c}.monthly_contract_unit_months", 1) for c in ranges]
        ),
        monthly_minimum_term_months=np.asarray(
            [r.integer(f"ranges.{c}.monthly_minimum_term_months", 1) for c in ranges]
        ),
        time_allowance_factor=np.asarray(
            [r.number(f"ranges.{c}.time_allowance_factor") for c in ranges]
        ),
        incident_fees=incident_fees,
        feather_counts=r.boolean("monthly_allowance.feather_counts"),
        overage_policy=r.choice("monthly_allowance.overage_policy", OVERAGE_POLICIES),
        default_fee_cap=None if is_blank(cap) else int(cap),
        chart_level=r.integer("chart.level", 1),
        chart_pay_fee_plan=r.choice("chart.pay_fee_plan", ("annual", "monthly")),
        reply_max_level={plan: int(reply[plan]) for plan in ("monthly", "annual")},
        absorption_services=dict(r.get("absorption.services")),
        rules=tuple(rules),
        rule_of_channel=rule_of_channel,
        max_continuous_session_minutes=r.number("levels.max_continuous_session_minutes"),
        investigation_level=_level_key(r, "levels.investigation_level",
                                       str(r.get("levels.investigation_level"))),
        consulting_levels={k: int(consulting[k]) for k in ("specific", "comprehensive")},
        onsite_visits_at_least=visits,
        onsite_fee=None if is_blank(onsite_fee) else int(onsite_fee),
    )


def _load_vendor(r: _Reader) -> VendorRules:
    bounds = r.fees("callcenter.licence_upper_bounds")
    for i in range(1, len(bounds)):
        if bounds[i] <= bounds[i - 1]:
            raise r.fail(
                f"callcenter.licence_upper_bounds[{i}]",
                f"上限 {bounds[i]} が前の段階の {bounds[i - 1]} 以下です。段階ごとに大きくして"
                "ください",
            )
    if bounds[0] < 1:
        raise r.fail("callcenter.licence_upper_bounds[0]", "最初の段階は 1 ライセンスを含むように"
                                                          "してください (1 以上)")
    initial = r.fees("callcenter.initial_fees", length=len(bounds))
    monthly = r.fees("callcenter.monthly_fees", length=len(bounds))
    return VendorRules(
        annual_fixed_fee=r.integer("paid_support.annual_fixed_fee"),
        annual_fee_per_licence=r.integer("paid_support.annual_fee_per_licence"),
        unit_price=r.integer("paid_support.unit_price"),
        minutes_per_unit=r.integer("paid_support.minutes_per_unit", 1),
        pack_units=r.integer("paid_support.pack_units", 1),
        pack_price=r.integer("paid_support.pack_price"),
        pack_valid_months=r.integer("paid_support.pack_valid_months", 1),
        auto_topup=r.boolean("paid_support.auto_topup"),
        bill_recorded_packs=r.boolean("paid_support.bill_recorded_packs"),
        expiry_notice_days=r.integer("paid_support.expiry_notice_days", 0, default=30),
        callcenter_upper_bounds=np.asarray(bounds, dtype=np.int64),
        callcenter_initial_fees=np.asarray(initial, dtype=np.int64),
        callcenter_monthly_fees=np.asarray(monthly, dtype=np.int64),
        callcenter_service_hours=str(r.get("callcenter.service_hours", "")),
    )


def _terms(r: _Reader, model: str, plans: tuple[str, ...]) -> dict[str, PlanTerms]:
    """Each plan's contract unit and minimum term; the minimum must be whole units."""
    ranges = SUPPORT_RANGES.codes
    keys: dict[str, tuple[list[str], list[str]]] = {}
    if model == "support_service":
        for plan in ("annual", "monthly"):
            keys[plan] = ([f"ranges.{c}.{plan}_contract_unit_months" for c in ranges],
                          [f"ranges.{c}.{plan}_minimum_term_months" for c in ranges])
    else:
        for plan, table in (("vendor_support", "paid_support"), ("callcenter", "callcenter")):
            keys[plan] = ([f"{table}.contract_unit_months"] * len(ranges),
                          [f"{table}.minimum_term_months"] * len(ranges))
    terms = {}
    for plan in plans:
        if plan not in keys:
            raise r.fail("plans", f"{plan} は {model} の料金表のプランではありません")
        unit_keys, minimum_keys = keys[plan]
        units = [r.integer(key, 1) for key in unit_keys]
        minima = [r.integer(key, 1) for key in minimum_keys]
        for key, unit, minimum in zip(minimum_keys, units, minima, strict=True):
            if minimum % unit:
                raise r.fail(key, f"最低契約期間 {minimum} か月が契約単位 ({unit} か月) の倍数では"
                                  "ありません")
        terms[plan] = PlanTerms(np.asarray(units, dtype=np.int64),
                                np.asarray(minima, dtype=np.int64))
    return terms


def _response_targets(r: _Reader) -> dict[str, int]:
    table = r.get("response_targets", {})
    if not isinstance(table, dict):
        raise r.fail("response_targets", "「チャネル = 営業日数」の表を書いてください "
                                         "(例 { email = 2, phone = 1 })")
    targets = {}
    for channel in table:
        if channel not in CHANNELS.codes:
            raise r.fail(f"response_targets.{channel}", f"不明なチャネルです。使えるもの: "
                                                        f"{', '.join(CHANNELS.codes)}")
        days = r.integer(f"response_targets.{channel}", 1)
        if days > MAX_RESPONSE_DAYS:
            raise r.fail(f"response_targets.{channel}", f"{days} 営業日は長すぎます。"
                                                        f"{MAX_RESPONSE_DAYS} 以下にしてください")
        targets[channel] = days
    return targets


def parse_pricebook(data: dict[str, Any], file: str, name: str) -> PriceBook:
    """Validate parsed TOML ``data`` into a PriceBook; ``file`` is used in error messages."""
    r = _Reader(file, data)
    model = r.choice("model", ("support_service", "vendor_support"))
    plans = tuple(r.get("plans"))
    for i, plan in enumerate(plans):
        if plan not in PLANS.codes:
            raise r.fail(f"plans[{i}]", f"{plan!r}: 不明なプランです。使えるもの: "
                                        f"{', '.join(PLANS.codes)}")
    rate = r.integer("tax.rate_percent")
    if rate > 100:
        raise r.fail("tax.rate_percent", f"{rate} は税率 (%) として使えません。0〜100 にして"
                                         "ください")
    book = PriceBook(
        name=name,
        file=file,
        title=str(r.get("title", name)),
        model=model,
        plans=plans,
        tax=TaxRule(rate, r.choice("tax.rounding", ROUNDING_MODES)),
        calendar=CalendarRule(
            r.integer("calendar.due_months_after_issue"),
            r.choice("calendar.due_date_adjust", DUE_ADJUSTMENTS),
        ),
        support=_load_support(r) if model == "support_service" else None,
        vendor=_load_vendor(r) if model == "vendor_support" else None,
        terms=_terms(r, model, plans),
        term_policy=r.choice("term_policy", TERM_POLICIES) if "term_policy" in data else "error",
        response_targets=_response_targets(r),
        raw=data,
    )
    return book


def load_pricebook_file(path: str | Path) -> PriceBook:
    """Load and validate a price-book TOML file (a shipped one or the user's own)."""
    path = Path(path)
    return parse_pricebook(load_toml(path, PriceBookError), path.name, path.stem)


@functools.cache
def _shipped(name: str) -> PriceBook:
    return load_pricebook_file(PRICEBOOK_DIR / f"{name}.toml")


@functools.cache
def shipped_pricebooks() -> tuple[str, ...]:
    return tuple(sorted(p.stem for p in PRICEBOOK_DIR.glob("*.toml")))


def get_pricebook(pricebook: PriceBook | str | Path | None, default: str = "aki_sie") -> PriceBook:
    """Resolve a price-book argument: None (the default book), a shipped name, a file path, or a
    PriceBook already loaded."""
    if isinstance(pricebook, PriceBook):
        return pricebook
    if pricebook is None or is_blank(pricebook):
        return _shipped(default)
    text = str(pricebook).strip()
    if text in shipped_pricebooks():
        return _shipped(text)
    if text.endswith(".toml") or "/" in text or "\\" in text:
        return load_pricebook_file(text)
    raise PriceBookError(
        text, WHOLE_FILE, f"不明な料金表です。同梱の料金表 ({', '.join(shipped_pricebooks())}) か、"
                          ".toml ファイルのパスを指定してください"
    )
