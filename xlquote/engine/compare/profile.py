"""Usage profiles: what a customer expects to use, read from TOML and turned into monthly counts.

A profile gives expected incidents per month by level (feather..10; fractions allowed, e.g.
0.25 = three a year) or an explicit per-month list, plus licences, members and a horizon. The
format is documented by ``example_profile.toml`` next to this module. Every bad key is reported
with its path: ``利用見込み profile.toml の incidents_per_month.4: 0 以上の数値を書いてください ('x'
になっています)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..codes import KARTE_PAYMENT, LEVELS, SUPPORT_RANGES, is_blank
from ..columns import FIELD_MAXIMUM
from ..errors import DataFileError, load_toml
from ..pricebook import LEVEL_COUNT

EXAMPLE_PROFILE = Path(__file__).with_name("example_profile.toml")
MAX_HORIZON_MONTHS = 120  # ten years: beyond that a comparison says nothing useful

# Paid support (price book A) bills minutes, a level-based profile has none: assume a typical
# call length inside each level's band of the range-"normal" call table (RULES 2.3: feather ≤ 5,
# level 2 > 15, 3 > 30, 4 > 45, 5 > 60, 6 > 180 minutes; 7..10 multi-session totals > 180, 360,
# 600, 840). A profile overrides it with [minutes_per_incident]. Not a fee, so not in a price book.
DEFAULT_MINUTES_PER_INCIDENT: tuple[float, ...] = (5, 10, 20, 40, 55, 120, 240, 300, 420, 660, 900)


class ProfileError(DataFileError):
    """A usage profile is malformed: names the file, the key path and the reason."""

    kind_ja = "利用見込み"


def horizon_reason() -> str:
    return f"比べる期間は 1〜{MAX_HORIZON_MONTHS} か月にしてください"


@dataclass(frozen=True)
class UsageProfile:
    """Expected usage of one customer. ``rates[l]``: incidents per month at level l (0 = feather);
    ``per_month``: optional int[k, 11] explicit counts, repeated to fill the horizon."""

    rates: np.ndarray  # float64[11]
    months: int = 12
    licences: int = 0  # 0: price book A plans are not offered
    members: int = 0  # members whose first personal use (chart, カルテ) falls in the horizon
    karte_payment: str = "consume"
    minutes_per_incident: np.ndarray = field(
        default_factory=lambda: np.asarray(DEFAULT_MINUTES_PER_INCIDENT, dtype=np.float64))
    per_month: np.ndarray | None = None
    support_ranges: tuple[str, ...] = SUPPORT_RANGES.codes
    name: str = ""

    def counts(self, horizon: int | None = None) -> np.ndarray:
        """int64[horizon, 11]: incidents per month and level over the horizon."""
        months = self.months if horizon is None else horizon
        if self.per_month is not None:
            reps = -(-months // len(self.per_month))
            return np.tile(self.per_month, (reps, 1))[:months].astype(np.int64)
        return monthly_counts(self.rates, months)


# A fixed low-discrepancy order of the months (golden-ratio sequence), shifted per level: the
# remainder of a fractional rate is placed in the first k months of this order, so raising a rate
# only ever adds incidents to months (monthly fees stay monotone), and levels do not pile up.
_GOLDEN = (5 ** 0.5 - 1) / 2


def _spread_rank(months: int) -> np.ndarray:
    """int64[11, months]: rank of each month in the placement order of each level."""
    offsets = np.arange(LEVEL_COUNT)[:, None] * 0.37
    keys = ((np.arange(months)[None, :] + 0.5) * _GOLDEN + offsets) % 1.0
    return np.argsort(np.argsort(keys, axis=1, kind="stable"), axis=1, kind="stable")


def monthly_counts(rates: np.ndarray, months: np.ndarray | int) -> np.ndarray:
    """Whole incidents per month from expected rates: ``rates[..., 11]`` per month over ``months``
    (broadcast over the leading axes) → int64[..., max(months), 11], zero after each row's
    horizon. A level with rate r gets floor(r) every month plus round(frac(r) × months) extra
    incidents placed in evenly spread months; the horizon holds round(r × months) of them."""
    rates = np.asarray(rates, dtype=np.float64)
    lead = np.broadcast_shapes(rates.shape[:-1], np.shape(months))
    rates = np.broadcast_to(rates, (*lead, LEVEL_COUNT))
    horizon = np.broadcast_to(np.asarray(months, dtype=np.int64), lead)
    width = int(horizon.max()) if horizon.size else 0
    whole = np.floor(rates + 1e-9)
    extra = np.floor((rates - whole) * horizon[..., None] + 0.5 + 1e-9).astype(np.int64)
    out = np.zeros((*lead, width, LEVEL_COUNT), dtype=np.int64)
    for h in np.unique(horizon):
        rows = horizon == h
        rank = _spread_rank(int(h)).T  # [month, level]
        gets_extra = rank[None, :, :] < extra[rows][:, None, :]
        out[rows, : int(h)] = whole[rows][:, None, :].astype(np.int64) + gets_extra
    return out


class _Reader:
    def __init__(self, file: str, data: dict[str, Any]) -> None:
        self.file, self.data = file, data

    def fail(self, key: str, reason: str) -> ProfileError:
        return ProfileError(self.file, key, reason)

    def whole(self, key: str, default: int, minimum: int = 0, maximum: int | None = None) -> int:
        value = self.data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(key, f"整数を書いてください ({value!r} になっています)")
        if value < minimum or (maximum is not None and value > maximum):
            bound = f"{minimum}〜{maximum}" if maximum is not None else f"{minimum} 以上"
            raise self.fail(key, f"{value} は使えません。{bound} にしてください")
        return value

    def level_table(self, key: str, value: Any, maximum: int, integer: bool = False
                    ) -> dict[int, float]:
        if not isinstance(value, dict):
            raise self.fail(key, "「レベル = 数値」の表を書いてください (レベルは feather, 1〜10。"
                                 "例 { feather = 2, 3 = 0.5 })")
        out: dict[int, float] = {}
        for raw_level, number in value.items():
            level = LEVELS.lookup(raw_level)
            if level is None:
                raise self.fail(f"{key}.{raw_level}", "不明なレベルです。feather か 1〜10 にして"
                                                      "ください")
            if (isinstance(number, bool) or not isinstance(number, int | float)
                    or number != number or number < 0 or number == float("inf")):
                raise self.fail(f"{key}.{raw_level}", f"0 以上の数値を書いてください ({number!r} "
                                                      "になっています)")
            if number > maximum:
                raise self.fail(f"{key}.{raw_level}", f"{number!r} は使えません。0〜{maximum:,} "
                                                      "にしてください")
            if integer and number != int(number):
                raise self.fail(f"{key}.{raw_level}", f"件数は整数で書いてください ({number!r} "
                                                      "になっています)")
            out[level] = float(number)
        return out


# A profile's figures stay within what a workbook's cells may hold (no figure may make the
# comparison do work in proportion to it, nor overflow its arrays): incidents a month as a
# monthly contract's max_incidents, minutes as an incident's, licences as a contract's.
MAX_INCIDENTS_PER_MONTH = FIELD_MAXIMUM["max_incidents"]
MAX_MINUTES_PER_INCIDENT = FIELD_MAXIMUM["minutes"]
MAX_LICENCES = FIELD_MAXIMUM["licences"]
MAX_MEMBERS = 10_000

KNOWN_KEYS = {"name", "months", "licences", "members", "karte_payment", "support_ranges",
              "incidents_per_month", "minutes_per_incident", "per_month"}


def parse_profile(data: dict[str, Any], file: str = "profile") -> UsageProfile:
    """Validate parsed TOML into a UsageProfile; ``file`` is named in every error."""
    r = _Reader(file, data)
    unknown = sorted(set(data) - KNOWN_KEYS)
    if unknown:
        raise r.fail(unknown[0], f"不明な項目です。使えるもの: {', '.join(sorted(KNOWN_KEYS))}")
    if "incidents_per_month" not in data and "per_month" not in data:
        raise r.fail("incidents_per_month", "ありません。[incidents_per_month] の表か "
                                            "[[per_month]] のリストを書いてください")
    rates = np.zeros(LEVEL_COUNT)
    for level, rate in r.level_table("incidents_per_month", data.get("incidents_per_month", {}),
                                     MAX_INCIDENTS_PER_MONTH).items():
        rates[level] = rate
    per_month = None
    if "per_month" in data:
        if "incidents_per_month" in data:
            raise r.fail("per_month", "incidents_per_month と per_month の両方があります。どちらか"
                                      "一方にしてください")
        months_list = data["per_month"]
        if not isinstance(months_list, list) or not months_list:
            raise r.fail("per_month", "[[per_month]] の表を 1 つ以上書いてください")
        if len(months_list) > MAX_HORIZON_MONTHS:  # more months than any comparison bills
            raise r.fail("per_month", f"{len(months_list):,} か月分あります。比べられるのは "
                                      f"{MAX_HORIZON_MONTHS} か月までです")
        per_month = np.zeros((len(months_list), LEVEL_COUNT), dtype=np.int64)
        for i, table in enumerate(months_list):
            for level, count in r.level_table(f"per_month[{i}]", table, MAX_INCIDENTS_PER_MONTH,
                                              integer=True).items():
                per_month[i, level] = int(count)
        rates = per_month.mean(axis=0)
    minutes = np.asarray(DEFAULT_MINUTES_PER_INCIDENT, dtype=np.float64)
    for level, value in r.level_table("minutes_per_incident",
                                      data.get("minutes_per_incident", {}),
                                      MAX_MINUTES_PER_INCIDENT).items():
        minutes[level] = value
    karte = data.get("karte_payment", "consume")
    if KARTE_PAYMENT.lookup(karte) is None or is_blank(karte):
        raise r.fail("karte_payment", f"{karte!r}: {KARTE_PAYMENT.unknown_message(karte)}")
    ranges = data.get("support_ranges", list(SUPPORT_RANGES.codes))
    if not isinstance(ranges, list) or not ranges:
        raise r.fail("support_ranges", "サポート範囲のリストを書いてください (例 [\"normal\", "
                                       "\"technical\"])")
    for i, code in enumerate(ranges):
        if is_blank(code) or SUPPORT_RANGES.lookup(code) is None:
            raise r.fail(f"support_ranges[{i}]", f"{code!r}: {SUPPORT_RANGES.unknown_message(code)}")
    return UsageProfile(
        rates=rates,
        months=r.whole("months", 12, 1, MAX_HORIZON_MONTHS),
        licences=r.whole("licences", 0, 0, MAX_LICENCES),
        members=r.whole("members", 0, 0, MAX_MEMBERS),
        karte_payment=KARTE_PAYMENT.canonical(karte),
        minutes_per_incident=minutes,
        per_month=per_month,
        support_ranges=tuple(dict.fromkeys(SUPPORT_RANGES.canonical(c) for c in ranges)),
        name=str(data.get("name", "")),
    )


def load_profile(path: str | Path) -> UsageProfile:
    path = Path(path)
    return parse_profile(load_toml(path, ProfileError), path.name)
