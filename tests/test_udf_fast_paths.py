"""The fast paths behind SUPPORT_LEVEL / INCIDENT_FEE on large ranges keep the per-cell rules: a
block that is not all numbers (or all known codes) still reports each bad cell on its own row,
and the other rows compute exactly as the engine does row by row."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest
from helpers import cell_error

import xlquote
from udfs import xlquote_udfs as udfs
from xlquote.engine.codes import CHANNELS, Vocabulary
from xlquote.engine.columns import RowChecks, to_bools, to_dates, to_ints, to_levels, to_numbers
from xlquote.engine.levels import _thresholds_passed
from xlquote.engine.messages import NOT_A_NUMBER

ROWS = 500


def column(cells: list[object]) -> np.ndarray:
    """A one-column range as xlwings delivers it (``np.array, ndim=2, dtype=object``)."""
    block = np.empty((len(cells), 1), dtype=object)
    block[:, 0] = cells
    return block


def typical_columns(rows: int = ROWS) -> dict[str, list[object]]:
    """All-good cells: floats, None blanks, codes with spaces and Japanese aliases."""
    rng = np.random.default_rng(7)
    return {
        "channel": [["email", " phone ", "Skype Chat", "dm", "電話", "メール"][i]
                    for i in rng.integers(0, 6, rows)],
        "round_trips": [None if r < 0.3 else float(v)
                        for r, v in zip(rng.random(rows), rng.integers(0, 30, rows), strict=True)],
        "minutes": [None if r < 0.3 else float(v)
                    for r, v in zip(rng.random(rows), rng.integers(0, 340, rows), strict=True)],
        "support_range": [["normal", "technical", "技術的", "advanced"][i]
                          for i in rng.integers(0, 4, rows)],
        "plan": [["annual", "monthly", "月額"][i] for i in rng.integers(0, 3, rows)],
    }


def support_levels(cells: dict[str, list[object]]) -> np.ndarray:
    return udfs.SUPPORT_LEVEL(column(cells["channel"]), column(cells["round_trips"]),
                              column(cells["minutes"]),
                              support_range=column(cells["support_range"]))


def one_cell_level(cells: dict[str, list[object]], row: int) -> object:
    """The same row computed alone (a 1x1 range per argument)."""
    single = {name: values[row:row + 1] for name, values in cells.items()}
    return support_levels(single)[0, 0]


def test_bad_cells_in_a_numeric_column_error_only_their_own_rows():
    cells = typical_columns()
    bad = {3: 3.5, 10: True, 11: False, 20: "abc", 30: -2.0, 40: [1, 2], 50: float("inf")}
    for row, cell in bad.items():
        cells["round_trips"][row] = cell
    cells["channel"][3] = cells["channel"][10] = cells["channel"][20] = "email"
    cells["channel"][60], cells["round_trips"][60] = "email", " 4 "  # text read as the number
    got = support_levels(cells)
    assert cell_error(got[3, 0], "round_trips", "3.5", "整数で入力してください")
    for row, shown in ((10, "TRUE"), (11, "FALSE"), (20, "'abc'"), (40, "[1, 2]"),
                       (50, "inf")):
        assert cell_error(got[row, 0], "round_trips", shown, "数値として読めません"), got[row, 0]
    assert got[30, 0] == "#VALUE! round_trips -2: 0 以上にしてください"
    errors = {i for i, v in enumerate(got.ravel()) if isinstance(v, str)}
    assert errors == set(bad)
    for row in range(0, ROWS, 7):
        assert got[row, 0] == one_cell_level(cells, row)
    as_number = {**cells, "round_trips": [*cells["round_trips"][:60], 4.0]}
    assert isinstance(got[60, 0], int) and got[60, 0] == one_cell_level(as_number, 60)


def test_a_float_block_with_one_fraction_keeps_the_other_rows():
    # All floats (the typed path) and one 3.5 where a whole number is needed.
    round_trips = np.arange(ROWS, dtype=np.float64) % 25
    round_trips[123] = 3.5
    got = udfs.SUPPORT_LEVEL(column(["email"] * ROWS), round_trips.reshape(-1, 1).astype(object),
                             column([None] * ROWS))
    expected = xlquote.support_level("email", (np.arange(ROWS) % 25).astype(np.int64))
    assert cell_error(got[123, 0], "round_trips", "3.5", "整数で入力してください")
    assert [v for i, v in enumerate(got.ravel()) if i != 123] == [
        int(v) for i, v in enumerate(expected) if i != 123]


@pytest.mark.parametrize(("odd", "read_as"), [
    (True, None), (False, None), (np.True_, None), (b"3", None), (Decimal("2"), None), ("7", 7),
])
def test_one_odd_cell_in_a_block_of_floats_and_blanks(odd, read_as):
    # Everything else is what the typed path takes (floats, None): the odd cell must still be
    # judged on its own — a boolean is not 1, a Decimal is not a number Excel sends.
    round_trips: list[object] = [float(i % 25) if i % 4 else None for i in range(ROWS)]
    round_trips[77] = odd
    got = udfs.SUPPORT_LEVEL(column(["email"] * ROWS), column(round_trips), None)
    if read_as is None:
        assert got[77, 0].startswith("#VALUE! round_trips ") and "数値として読めません" in got[77, 0]
    else:
        assert got[77, 0] == xlquote.support_level("email", read_as)
    others = [i for i in range(ROWS) if i != 77]
    expected = xlquote.support_level("email", [i % 25 if i % 4 else 0 for i in others])
    assert [got[i, 0] for i in others] == [int(v) for v in expected]


@pytest.mark.parametrize(("odd", "read_as"), [
    (True, None), (np.False_, None), (b"3", None), (2.5, None), ("7", 7), (" feather ", 0),
])
def test_one_odd_cell_in_a_block_of_levels(odd, read_as):
    levels: list[object] = [float(i % 11) for i in range(ROWS)]
    levels[41] = odd
    got = udfs.INCIDENT_FEE(column(levels), "monthly")
    if read_as is None:
        assert got[41, 0].startswith("#VALUE! level ") and "1〜10" in got[41, 0]
    else:
        assert got[41, 0] == xlquote.incident_fee(read_as, "monthly")
    others = [i for i in range(ROWS) if i != 41]
    expected = xlquote.incident_fee([i % 11 for i in others], "monthly")
    assert [got[i, 0] for i in others] == [int(v) for v in expected]


def test_incident_fee_level_column_keeps_bools_and_text_apart_from_numbers():
    levels = [float(i % 11) for i in range(ROWS)]
    levels[5], levels[6], levels[7], levels[8], levels[9] = True, "feather", " 3 ", None, 2.5
    plans = ["annual"] * ROWS
    plans[12] = "weekly"
    got = udfs.INCIDENT_FEE(column(levels), column(plans), column(["normal"] * ROWS))
    assert cell_error(got[5, 0], "level", "TRUE", "1〜10")  # TRUE is not level 1
    assert got[6, 0] == xlquote.incident_fee(0, "annual")
    assert got[7, 0] == xlquote.incident_fee(3, "annual")
    assert cell_error(got[8, 0], "level", "空欄", "必須です")
    assert cell_error(got[9, 0], "level", "2.5", "1〜10")
    assert cell_error(got[12, 0], "plan", "'weekly'", "不明な契約プラン")
    good = [i for i in range(ROWS) if i not in (5, 6, 7, 8, 9, 12)]
    expected = xlquote.incident_fee([i % 11 for i in good], "annual")
    assert [got[i, 0] for i in good] == [int(v) for v in expected]


def test_support_level_then_incident_fee_over_a_large_range_matches_row_by_row():
    cells = typical_columns(2_000)
    cells["support_range"][17] = "premium"
    cells["minutes"][18] = "ten"
    levels = support_levels(cells)
    assert cell_error(levels[17, 0], "support_range", "'premium'", "不明なサポート範囲")
    assert cell_error(levels[18, 0], "minutes", "'ten'", "数値として読めません")
    spilled = np.where([isinstance(v, str) for v in levels.ravel()], None,
                       levels.ravel()).reshape(-1, 1)
    good = [i for i in range(2_000) if i not in (17, 18)]
    fees = udfs.INCIDENT_FEE(np.array([[None if v is None else float(v)] for v in spilled.ravel()],
                                      dtype=object),
                             column(cells["plan"]), column(cells["support_range"]))
    assert fees[17, 0].startswith("#VALUE! ")  # no level, and the range is unknown
    for i in good[::37]:
        assert levels[i, 0] == one_cell_level(cells, i)
        assert fees[i, 0] == udfs.INCIDENT_FEE(float(levels[i, 0]), cells["plan"][i],
                                               cells["support_range"][i])[0, 0]


def test_a_scalar_argument_broadcast_over_a_range_is_checked_once_for_every_row():
    rows = 50
    got = udfs.SUPPORT_LEVEL(column(["email"] * rows), column([3.0] * rows), None,
                             support_range="bogus")
    assert {v for v in got.ravel()} == {
        "#VALUE! support_range 'bogus': 不明なサポート範囲です。使えるもの: normal（通常）, "
        "technical（技術的）, advanced（高度に技術的）, mission_critical（ミッションクリティカル）"}
    # A 1x1 range holding a list (not a number) is that cell's problem, on every row it reaches.
    odd = np.empty((1, 1), dtype=object)
    odd[0, 0] = [1, 2]
    got = udfs.SUPPORT_LEVEL(column(["phone"] * 3), None, odd)
    assert got.ravel().tolist() == [f"#VALUE! minutes [1, 2]: {NOT_A_NUMBER}"] * 3


def test_results_of_broadcast_scalars_are_writable_arrays():
    values, messages = xlquote.incident_fee(np.full(4, 3), "annual", "normal", errors="mask")
    values[0] = 1
    messages[0] = "changed"  # the caller owns what it gets back
    level, messages = xlquote.support_level(["email"] * 3, 30, 0, sessions=2, errors="mask")
    level[0] = 0
    messages[0] = "changed"


def test_converters_fall_back_to_per_cell_checks_for_mixed_blocks():
    block = np.array([[1.0], [None], [True], ["2"], [2.5], ["x"], [np.float64(4.0)]], dtype=object)
    checks = RowChecks(block.shape)
    assert to_numbers(block, "n", checks, default=0, integer=False).ravel().tolist() == [
        1.0, 0.0, 0.0, 2.0, 2.5, 0.0, 4.0]
    assert checks.message.ravel().tolist() == [
        None, None, f"n TRUE: {NOT_A_NUMBER}", None, None, f"n 'x': {NOT_A_NUMBER}", None]
    checks = RowChecks(block.shape)
    assert to_ints(block, "n", checks).ravel().tolist() == [1, 0, 0, 2, 0, 0, 4]
    assert checks.message[4, 0] == "n 2.5: 小数は使えません。整数で入力してください"
    checks = RowChecks(block.shape)
    assert to_levels(block, "level", checks).ravel().tolist() == [1, -1, -1, 2, -1, -1, 4]
    assert checks.bad.ravel().tolist() == [False, False, True, False, True, True, False]


def test_text_is_folded_only_from_full_width_forms():
    """１２０ and ＋３ are numbers typed in another width; ⑳, ² and ⑴ only fold to digits."""
    block = np.array([["１２０"], ["＋３"], ["１，２００"], ["⑳"], ["²"], ["⑴"]], dtype=object)
    checks = RowChecks(block.shape)
    assert to_numbers(block, "n", checks, default=0, integer=False).ravel().tolist() == [
        120.0, 3.0, 1200.0, 0.0, 0.0, 0.0]
    assert checks.bad.ravel().tolist() == [False, False, False, True, True, True]
    dates = np.array([["２０２６年１０月１４日"], ["2026-10-⑭"]], dtype=object)
    checks = RowChecks(dates.shape)
    assert to_dates(dates, "d", checks, required=True).ravel()[0] == np.datetime64("2026-10-14")
    assert checks.bad.ravel().tolist() == [False, True]


def test_a_dash_is_false_in_a_true_false_column():
    """'-' (and its full-width form) is among the words for FALSE; it folded to nothing as a
    code's hyphen does, and was refused."""
    block = np.array([["-"], ["－"], ["○"], ["--"]], dtype=object)
    checks = RowChecks(block.shape)
    assert to_bools(block, "b", checks).ravel().tolist() == [False, False, True, False]
    assert checks.bad.ravel().tolist() == [False, False, False, True]


def test_row_checks_report_bad_rows_once_a_problem_is_added():
    checks = RowChecks((3,))
    assert not checks.bad.any()
    checks.add(1, "f", "v", "is wrong")
    assert checks.bad.tolist() == [False, True, False]
    assert checks.message.tolist() == [None, "f 'v': is wrong", None]


def test_encode_maps_each_cell_and_marks_unknown_and_unhashable_cells():
    cells = np.empty(6, dtype=object)
    cells[:] = ["email", " E-Mail ", None, "fax", float("nan"), "電話"]
    positions, unknown = CHANNELS.encode(cells)
    email, phone = CHANNELS.codes.index("email"), CHANNELS.codes.index("phone")
    assert positions.tolist() == [email, email, -1, -1, -1, phone]
    assert unknown.tolist() == [False, False, True, True, True, False]
    cells[1] = ["email"]  # unhashable: looked up by its text, which names no code
    positions, unknown = CHANNELS.encode(cells)
    assert positions.tolist() == [-1, -1, -1, -1, -1, -1]


def test_a_vocabulary_must_fit_encodes_position_byte():
    with pytest.raises(ValueError, match="one byte"):
        Vocabulary("big", tuple(f"c{i}" for i in range(255)), {})


def test_thresholds_passed_is_searchsorted_left():
    rng = np.random.default_rng(3)
    thresholds = np.array([5.0, 15.0, 15.0, 30.0, 45.0, 60.0, 180.0, np.inf, np.inf, np.inf])
    measure = np.concatenate([rng.integers(0, 400, 2_000).astype(float), thresholds[:7],
                              thresholds[:7] + 1e-9, [0.0, 1e12]])
    assert _thresholds_passed(thresholds, measure).tolist() == np.searchsorted(
        thresholds, measure, side="left").tolist()
    assert _thresholds_passed(thresholds, measure.astype(np.int64)).tolist() == np.searchsorted(
        thresholds, measure.astype(np.int64), side="left").tolist()
