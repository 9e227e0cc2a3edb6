"""Reordering or slicing the incident table picks each column only when it is read; every way
of reading, re-taking, slicing or replacing a column must give what an eager copy gives."""

from __future__ import annotations

import numpy as np
import pytest

from xlquote.app.sample import sample_incidents
from xlquote.engine.records import INCIDENT_TABLE_COLUMNS, IncidentTable, incidents_from_records


@pytest.fixture
def table() -> IncidentTable:
    return incidents_from_records(sample_incidents())


def eager(table: IncidentTable, index: np.ndarray) -> dict[str, list]:
    """What each column holds at ``index``, read straight from the source table."""
    out = {}
    for name in INCIDENT_TABLE_COLUMNS:
        value = getattr(table, name)
        if name == "measures":
            out.update({f"measures.{k}": v[index].tolist() for k, v in vars(value).items()})
        else:
            out[name] = value[index].tolist()
    return out


def columns(table: IncidentTable) -> dict[str, list]:
    return eager(table, np.arange(len(table)))


def test_take_picks_a_column_when_it_is_read(table: IncidentTable) -> None:
    order = np.arange(len(table))[::-1].copy()
    taken = table.take(order)
    assert len(taken) == len(table)
    assert not set(INCIDENT_TABLE_COLUMNS) & set(vars(taken)), "columns copied by take"
    assert taken.description.tolist() == table.description[order].tolist()
    assert "description" in vars(taken) and "incident_id" not in vars(taken)
    assert columns(taken) == eager(table, order)


def test_a_slice_picks_views(table: IncidentTable) -> None:
    part = table.take(np.arange(len(table))).slice(2, 7)
    assert len(part) == 5
    closed = part.slice(1, 3).closed
    assert closed.tolist() == table.closed[3:5].tolist()
    source = table.slice(2, 7)
    assert np.shares_memory(source.closed, table.closed)
    assert np.shares_memory(source.slice(1, 3).measures.minutes, table.measures.minutes)


def test_take_of_a_take_and_slices_compose_positions(table: IncidentTable) -> None:
    rng = np.random.default_rng(7)
    first = rng.permutation(len(table))
    second = rng.permutation(len(table))[: len(table) // 2]
    twice = table.take(first).take(second)
    assert columns(twice) == eager(table, first[second])
    part = table.take(first).slice(3, 9)
    assert columns(part) == eager(table, first[3:9])
    # A slice of the source is a view; a take of that view still picks the right rows.
    assert columns(table.slice(2, 12).take(np.array([4, 0, 9]))) == eager(table, np.array([6, 2, 11]))


def test_a_mask_picks_its_true_rows(table: IncidentTable) -> None:
    mask = np.arange(len(table)) % 3 == 0
    taken = table.take(mask)
    assert len(taken) == mask.sum()
    assert columns(taken) == eager(table, np.flatnonzero(mask))


def test_an_assigned_column_wins_over_the_deferred_one(table: IncidentTable) -> None:
    taken = table.take(np.arange(len(table)))
    taken.contract_id = np.full(len(table), "plan-1", dtype=object)
    assert set(taken.contract_id) == {"plan-1"}
    assert set(taken.take(np.array([0, 1])).contract_id) == {"plan-1"}


def test_an_unknown_attribute_is_still_an_attribute_error(table: IncidentTable) -> None:
    taken = table.take(np.arange(3))
    with pytest.raises(AttributeError):
        taken.no_such_column  # noqa: B018


def test_one_measure_is_picked_alone(table: IncidentTable) -> None:
    order = np.arange(len(table))[::-1].copy()
    taken = table.take(order).slice(1, 20)
    assert taken.measure("channel").tolist() == table.measures.channel[order][1:20].tolist()
    assert "measures" not in vars(taken)  # the other nine columns not copied
    assert taken.measure("onsite_visits").tolist() == taken.measures.onsite_visits.tolist()
    assert taken.measure("minutes").tolist() == table.measures.minutes[order][1:20].tolist()
    assert table.measure("channel") is table.measures.channel


def test_pricing_a_month_picks_no_whole_measures() -> None:
    from xlquote import bill_month
    from xlquote.app.sample import sample_contracts, sample_packs

    run = bill_month(sample_contracts(), sample_incidents(), "2026-10", sample_packs())
    ordered = run.every_context[0].all_incidents
    assert "measures" not in vars(ordered) and "channel" in vars(ordered)["_measures_picked"]
    assert sum(1 for _ in run) == len(run.summaries)  # every invoice built all the same


def test_positions_side_by_side_are_taken_as_views(table: IncidentTable) -> None:
    """A month's incidents that stand side by side in the sheet (positions or a mask) are taken
    as a slice: a million rows' columns are not copied."""
    mask = np.zeros(len(table), dtype=bool)
    mask[3:12] = True
    for index in (np.arange(3, 12), mask):
        taken = table.take(index)
        assert np.shares_memory(taken.opened, table.opened)
        assert np.shares_memory(taken.measures.channel, table.measures.channel)
        assert columns(taken) == eager(table, np.arange(3, 12))
    for apart in (np.array([3, 5, 4, 6]), np.array([-2, -1]), np.array([7])):
        taken = table.take(apart)
        assert not np.shares_memory(taken.opened, table.opened)
        assert columns(taken) == eager(table, apart)
