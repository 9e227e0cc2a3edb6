"""Support level of an incident (RULES 2.3), computed on whole columns.

The level is the highest level any measure reaches (round trips, call/chat minutes, sessions,
on-site visits, investigation, consulting); an explicit override written by staff wins. Every
threshold comes from the price book; "over" is strictly greater (超), hence ``side="left"``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .codes import CHANNELS, CONSULTING, SUPPORT_RANGES
from .columns import (
    FIELD_MAXIMUM,
    ErrorMode,
    RowChecks,
    broadcast,
    to_bools,
    to_codes,
    to_ints,
    to_levels,
    to_numbers,
)
from .pricebook import PriceBook, SupportServiceRules, get_pricebook

FEATHER = 0
# What decided an incident's level, for the statement's "why" column.
SOURCE_NAMES = ("feather", "round_trips", "minutes", "sessions", "onsite_visits",
                "investigation", "consulting", "override")
SOURCE_LABELS_JA = ("フェザー", "往復数", "通話・チャット時間", "複数回の累計時間", "出張回数",
                    "調査", "コンサルティング", "担当者指定")


@dataclass(frozen=True)
class IncidentMeasures:
    """Parsed, validated measure columns of incidents (one entry per incident)."""

    channel: np.ndarray  # int64 positions in CHANNELS
    round_trips: np.ndarray  # int64
    minutes: np.ndarray  # float64
    sessions: np.ndarray  # int64 ≥ 1
    days_open: np.ndarray  # int64
    onsite_visits: np.ndarray  # int64
    investigation: np.ndarray  # bool
    consulting: np.ndarray  # int64 positions in CONSULTING
    support_range: np.ndarray  # int64 positions in SUPPORT_RANGES
    level_override: np.ndarray  # int64, -1 = none


def parse_measures(channel: Any, round_trips: Any, minutes: Any, sessions: Any, days_open: Any,
                   onsite_visits: Any, investigation: Any, consulting: Any, support_range: Any,
                   level_override: Any, checks: RowChecks | None = None
                   ) -> tuple[IncidentMeasures, RowChecks]:
    columns = broadcast(channel, round_trips, minutes, sessions, days_open, onsite_visits,
                        investigation, consulting, support_range, level_override)
    shape = columns[0].shape
    checks = checks or RowChecks(shape)
    (ch, rt, mins, sess, days, visits, inv, cons, rng, override) = columns
    measures = IncidentMeasures(
        channel=to_codes(ch, CHANNELS, "channel", checks),
        round_trips=to_ints(rt, "round_trips", checks, maximum=FIELD_MAXIMUM["round_trips"]),
        minutes=to_numbers(mins, "minutes", checks, default=0, integer=False,
                           maximum=FIELD_MAXIMUM["minutes"]),
        sessions=to_ints(sess, "sessions", checks, default=1, minimum=1,
                         maximum=FIELD_MAXIMUM["sessions"]),
        days_open=to_ints(days, "days_open", checks, maximum=FIELD_MAXIMUM["days_open"]),
        onsite_visits=to_ints(visits, "onsite_visits", checks,
                              maximum=FIELD_MAXIMUM["onsite_visits"]),
        investigation=to_bools(inv, "investigation", checks),
        consulting=to_codes(cons, CONSULTING, "consulting", checks),
        support_range=to_codes(rng, SUPPORT_RANGES, "support_range", checks),
        level_override=to_levels(override, "level_override", checks),
    )
    return measures, checks


def _monotone(over: np.ndarray) -> np.ndarray:
    """Thresholds for levels 1..10 made non-decreasing: a level with no figure takes the next
    level's threshold, so a count of thresholds passed skips it (chat has no level-5 figure)."""
    thresholds = over[1:].copy()
    for i in range(len(thresholds) - 2, -1, -1):
        thresholds[i] = min(thresholds[i], thresholds[i + 1])
    return thresholds


def _thresholds_passed(thresholds: np.ndarray, measure: np.ndarray) -> np.ndarray:
    """Per row, how many of the non-decreasing ``thresholds`` the measure is over (超: strictly
    greater) — the level it reaches. Same as ``searchsorted(side="left")``, but a few compares
    over the column are ~3x faster than a binary search per row."""
    passed = np.zeros(measure.shape, dtype=np.int8)  # levels fit a byte
    for threshold in thresholds[thresholds < np.inf]:  # nothing is over an absent (inf) figure
        passed += measure > threshold
    return passed


def compute_levels(m: IncidentMeasures, rules: SupportServiceRules,
                   checks: RowChecks) -> tuple[np.ndarray, np.ndarray]:
    """(level, source) per incident; rows with problems get level 0. ``source`` indexes
    SOURCE_NAMES (a byte per row). Flags an over-long continuous session as that row's problem."""
    shape = m.channel.shape
    level = np.zeros(shape, dtype=np.int64).ravel()
    source = np.zeros(shape, dtype=np.int8).ravel()
    # reshape, not ravel: a constant argument stays a zero-stride view instead of a new column
    flat = {name: value.reshape(-1) for name, value in vars(m).items()}

    def raise_to(rows: np.ndarray, candidate: np.ndarray, why: np.ndarray | int) -> None:
        """Raise the level of ``rows`` to ``candidate`` where that is higher. Writes only the
        raised rows: whole-column temporaries cost page faults on 100,000-row ranges."""
        higher = candidate > level[rows]
        if not higher.any():
            return
        raised = rows[higher]
        level[raised] = candidate[higher]
        source[raised] = why[higher] if isinstance(why, np.ndarray) else why

    visits = flat["onsite_visits"]  # copied below only when a channel implies visits
    rule_index = rules.rule_of_channel.astype(np.int8)[flat["channel"]]  # a byte per row
    for index, rule in enumerate(rules.rules):
        rows = np.flatnonzero(rule_index == index)  # row numbers gather ~5x faster than a mask
        if not len(rows):
            continue
        if rule.implied_onsite_visits:
            if visits is flat["onsite_visits"]:
                visits = visits.copy()
            visits[rows] = np.maximum(visits[rows], rule.implied_onsite_visits)
        if rule.measure == "none":
            continue
        measure = flat["round_trips" if rule.measure == "round_trips" else "minutes"][rows]
        scaled = measure  # whole counts compare with the float thresholds as they are
        if rule.scales_with_range:
            # Compare measure/scale with unscaled thresholds; rounding keeps 45/1.5 == 30 exact.
            factor = rules.time_allowance_factor[flat["support_range"][rows]]
            scaled = np.round(measure / factor, 9)
        candidate = _thresholds_passed(_monotone(rule.over), scaled)
        for at_level, days in sorted(rule.min_days_open.items(), reverse=True):
            short = (candidate >= at_level) & (flat["days_open"][rows] < days)
            candidate[short] = at_level - 1
        why = np.full(candidate.shape, 1 if rule.measure == "round_trips" else 2, dtype=np.int8)
        if rule.measure == "minutes":
            sessions = flat["sessions"][rows]
            single = sessions <= 1
            for at_level, threshold in rule.single_session_over.items():
                hit = single & (scaled > threshold) & (candidate < at_level)
                candidate[hit], why[hit] = at_level, 2
            for at_level, threshold in rule.multi_session_total_over.items():
                hit = ~single & (scaled > threshold) & (candidate < at_level)
                candidate[hit], why[hit] = at_level, 3
            cap = rules.max_continuous_session_minutes
            too_long = measure > cap * sessions
            if too_long.any():
                where = np.zeros(level.shape, dtype=bool)
                where[rows[too_long]] = True
                checks.flag(where.reshape(shape), "minutes", m.minutes,
                            f"1 回の通話・チャットは連続 {cap:g} 分までです (連続上限)。何回かに"
                            "分けたなら sessions に回数を入力してください")
        # The rules split the rows by channel, so this is each row's first measure: set it.
        level[rows] = candidate
        source[rows] = np.where(candidate > 0, why, 0)

    # Visits, investigation and consulting raise only the rows that have them (usually few).
    counts = sorted(rules.onsite_visits_at_least.items(), key=lambda item: item[1])
    visit_levels = np.array([0] + [lvl for lvl, _ in counts], dtype=np.int64)
    visit_counts = np.array([count for _, count in counts])
    rows = np.flatnonzero(visits)
    raise_to(rows, visit_levels[np.searchsorted(visit_counts, visits[rows], side="right")], 4)
    rows = np.flatnonzero(flat["investigation"])
    raise_to(rows, np.full(len(rows), rules.investigation_level), 5)
    consulting_level = np.array(
        [0] + [rules.consulting_levels[c] for c in CONSULTING.codes[1:]], dtype=np.int64
    )
    rows = np.flatnonzero(flat["consulting"])  # position 0 is "none"
    raise_to(rows, consulting_level[flat["consulting"][rows]], 6)

    override = flat["level_override"]
    overridden = override >= 0
    level[overridden] = override[overridden]
    source[overridden] = 7
    level[np.ravel(checks.bad)] = 0
    return level.reshape(shape), source.reshape(shape)


def support_level(channel: Any, round_trips: Any = 0, minutes: Any = 0, sessions: Any = 1,
                  days_open: Any = 0, onsite_visits: Any = 0, investigation: Any = False,
                  consulting: Any = "", support_range: Any = "normal",
                  level_override: Any = None, pricebook: PriceBook | str | None = None,
                  errors: ErrorMode = "raise") -> Any:
    """Support level per incident: 0 = feather, 1..10 (RULES 2.3). Arguments broadcast like numpy.

    ``consulting`` is "", "specific" (level 5) or "comprehensive" (level 7). ``errors="mask"``
    returns ``(levels, messages)`` with a message for each bad row instead of raising.
    """
    rules = get_pricebook(pricebook).require_support()
    measures, checks = parse_measures(channel, round_trips, minutes, sessions, days_open,
                                      onsite_visits, investigation, consulting, support_range,
                                      level_override)
    level, _ = compute_levels(measures, rules, checks)
    return checks.finish(level, errors)
