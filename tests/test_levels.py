"""RULES 2.3: support levels, both sides of every threshold, ranges, overrides and bad rows."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import pricebook_with
from hypothesis import given, settings
from hypothesis import strategies as st

import xlquote
from xlquote import support_level


def level(channel: str, **measures) -> int:
    return int(support_level(channel, **measures))


@pytest.mark.parametrize("channel", ["email", "dm", "メール", " E-Mail "])
@pytest.mark.parametrize(("round_trips", "expected"),
                         [(0, 0), (2, 0), (3, 1), (5, 1), (6, 2), (10, 2), (11, 3), (15, 3),
                          (16, 4), (20, 4), (21, 5), (25, 5), (26, 5)])
def test_email_round_trips(channel: str, round_trips: int, expected: int) -> None:
    assert level(channel, round_trips=round_trips) == expected


def test_email_level_6_needs_a_week_open() -> None:
    assert level("email", round_trips=26, days_open=6) == 5
    assert level("email", round_trips=26, days_open=7) == 6
    assert level("email", round_trips=25, days_open=30) == 5


@pytest.mark.parametrize(("round_trips", "expected"), [(5, 0), (6, 2), (11, 3)])
def test_twitter_reply_feather_is_five_round_trips(round_trips: int, expected: int) -> None:
    assert level("reply", round_trips=round_trips) == expected


@pytest.mark.parametrize("channel", ["phone", "skype_call", "電話"])
@pytest.mark.parametrize(("minutes", "expected"),
                         [(0, 0), (5, 0), (6, 1), (15, 1), (16, 2), (30, 2), (31, 3), (45, 3),
                          (46, 4), (60, 4), (61, 5), (180, 5), (181, 6), (300, 6), (301, 7),
                          (360, 7)])
def test_call_minutes_single_session(channel: str, minutes: int, expected: int) -> None:
    assert level(channel, minutes=minutes) == expected


@pytest.mark.parametrize(("minutes", "expected"),
                         [(10, 0), (11, 1), (20, 1), (21, 2), (30, 2), (31, 3), (60, 3), (61, 4),
                          (180, 4), (181, 6)])
def test_chat_minutes_has_no_level_5_figure(minutes: int, expected: int) -> None:
    assert level("skype_chat", minutes=minutes) == expected


@pytest.mark.parametrize(("minutes", "expected"),
                         [(180, 5), (181, 7), (360, 7), (361, 8), (600, 8), (601, 9), (840, 9),
                          (841, 10)])
def test_two_or_more_sessions_by_total(minutes: int, expected: int) -> None:
    assert level("phone", minutes=minutes, sessions=3) == expected


@pytest.mark.parametrize(("visits", "expected"), [(0, 0), (1, 7), (2, 8), (3, 8), (4, 9), (6, 9),
                                                  (7, 10)])
def test_onsite_visits(visits: int, expected: int) -> None:
    assert level("email", onsite_visits=visits) == expected


def test_onsite_channel_is_at_least_one_visit() -> None:
    assert level("onsite") == 7
    assert level("出張", onsite_visits=2) == 8


def test_investigation_and_consulting() -> None:
    assert level("email", investigation=True) == 5
    assert level("email", investigation="はい") == 5
    assert level("email", consulting="specific") == 5
    assert level("email", consulting="総合コンサルティング") == 7
    assert level("phone", minutes=200, investigation=True) == 6  # highest measure wins


def test_override_wins_both_ways() -> None:
    assert level("phone", minutes=200, level_override=2) == 2
    assert level("email", level_override="feather") == 0
    assert level("email", level_override=9.0) == 9


@pytest.mark.parametrize(("support_range", "minutes", "expected"),
                         [("technical", 7, 0), ("technical", 8, 1), ("technical", 22, 1),
                          ("technical", 23, 2), ("advanced", 30, 1), ("advanced", 31, 2),
                          ("mission_critical", 45, 1), ("mission_critical", 46, 2),
                          ("高度に技術的", 120, 4), ("高度に技術的", 121, 5)])
def test_minutes_scale_with_range_allowance(support_range: str, minutes: int,
                                            expected: int) -> None:
    assert level("phone", minutes=minutes, support_range=support_range) == expected


def test_round_trips_and_visits_do_not_scale() -> None:
    assert level("email", round_trips=6, support_range="mission_critical") == 2
    assert level("onsite", support_range="mission_critical") == 7


def test_allowance_factor_setting_is_honoured() -> None:
    book = pricebook_with("aki_sie", **{"ranges.technical.time_allowance_factor": 2.0})
    assert int(support_level("phone", minutes=23, support_range="technical", pricebook=book)) == 1
    assert int(support_level("phone", minutes=31, support_range="technical", pricebook=book)) == 2


def test_continuous_session_over_six_hours_is_that_rows_error() -> None:
    levels, messages = support_level("phone", minutes=[361, 200, 700], sessions=[1, 1, 2],
                                     errors="mask")
    assert levels.tolist() == [0, 6, 9]
    assert messages[0].startswith("minutes 361: ") and "連続 360 分まで" in messages[0]
    assert messages[1] is None and messages[2] is None


def test_bad_rows_are_listed_together_and_others_compute() -> None:
    channels = ["email", "fax", "phone", "phone", "phone"]
    minutes = [0, 0, -5, 3.5, "abc"]
    levels, messages = support_level(channels, round_trips=[3, 0, 0, 0, 0], minutes=minutes,
                                     errors="mask")
    assert levels[0] == 1
    assert messages[1].startswith("channel 'fax': 不明なチャネルです")
    assert "email（メール）" in messages[1] and "onsite（出張）" in messages[1]
    assert messages[2] == "minutes -5: 0 以上にしてください"
    assert messages[3] is None and levels[3] == 0  # fractional minutes are fine
    assert messages[4].startswith("minutes 'abc': 数値として読めません")
    with pytest.raises(xlquote.InputError) as caught:
        support_level(channels, minutes=minutes)
    assert [(p.row, p.field) for p in caught.value.problems] == [(2, "channel"), (3, "minutes"),
                                                                 (5, "minutes")]


def test_round_trips_must_be_whole() -> None:
    _, messages = support_level("email", round_trips=[3.0, 3.5], errors="mask")
    assert messages.tolist() == [None, "round_trips 3.5: 小数は使えません。整数で入力してください"]


def test_broadcasts_like_numpy() -> None:
    result = support_level(np.array([["email"], ["phone"]]), round_trips=[[0, 6]], minutes=20)
    assert result.shape == (2, 2)
    assert result.tolist() == [[0, 2], [2, 2]]


def test_vectorised_equals_row_by_row() -> None:
    rng = np.random.default_rng(7)
    n = 300
    channels = rng.choice(["email", "dm", "reply", "phone", "skype_call", "skype_chat"], n)
    trips = rng.integers(0, 40, n)
    minutes = rng.integers(0, 300, n)
    sessions = rng.integers(1, 4, n)
    days = rng.integers(0, 15, n)
    ranges = rng.choice(["normal", "technical", "advanced", "mission_critical"], n)
    whole = support_level(channels, trips, minutes, sessions, days, support_range=ranges)
    single = [int(support_level(c, t, m, s, d, support_range=r))
              for c, t, m, s, d, r in zip(channels, trips, minutes, sessions, days, ranges,
                                          strict=True)]
    assert whole.tolist() == single


measures = st.fixed_dictionaries({
    "round_trips": st.integers(0, 40), "minutes": st.integers(0, 300),
    "sessions": st.integers(1, 4), "days_open": st.integers(0, 20),
    "onsite_visits": st.integers(0, 8), "investigation": st.booleans(),
})


@settings(max_examples=200, deadline=None)
@given(channel=st.sampled_from(["email", "dm", "reply", "phone", "skype_call", "skype_chat"]),
       base=measures, grow=st.sampled_from(["round_trips", "minutes", "sessions", "days_open",
                                            "onsite_visits", "investigation"]),
       by=st.integers(1, 60),
       support_range=st.sampled_from(["normal", "technical", "advanced", "mission_critical"]))
def test_level_never_decreases_when_a_measure_grows(channel, base, grow, by, support_range):
    more = dict(base)
    more[grow] = True if grow == "investigation" else base[grow] + by
    if grow == "sessions" and base["sessions"] == 1:
        # going from one continuous session to several is a different measure, not "more"
        return
    before = int(support_level(channel, support_range=support_range, **base))
    after = int(support_level(channel, support_range=support_range, **more))
    assert after >= before
