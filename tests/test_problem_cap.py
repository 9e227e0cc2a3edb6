"""A file wrong on every row is refused listing the first MAX_LISTED_PROBLEMS problems of each
sheet and counting the rest: memory, time and output stay bounded."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from xlquote.engine import columns, errors
from xlquote.engine.columns import RowChecks
from xlquote.engine.errors import MAX_LISTED_PROBLEMS, MORE_FIELD, InputError
from xlquote.readers import cells, workbook
from xlquote.readers.sheet_table import SheetTable
from xlquote.readers.workbook import read_invoicing_workbook

CORPUS = Path(__file__).parent / "data" / "hostile"


def test_problems_past_the_cap_are_counted_not_listed():
    rows = MAX_LISTED_PROBLEMS + 250
    checks = RowChecks((rows,), sheet="Incidents", row_numbers=np.arange(2, rows + 2),
                       messages=False)
    checks.flag(np.ones(rows, dtype=bool), "minutes", np.full(rows, "x", dtype=object),
                "数値で入力してください")
    assert checks.bad.all()  # every row is still known bad
    with pytest.raises(InputError) as caught:
        checks.raise_if_any()
    listed, (more,) = caught.value.problems[:-1], caught.value.problems[-1:]
    assert len(listed) == MAX_LISTED_PROBLEMS and {p.field for p in listed} == {"minutes"}
    assert (more.sheet, more.field, more.value) == ("Incidents", MORE_FIELD, 250)
    assert "ほかに 250 件の問題があります" in more.reason
    assert str(more) == f"シート Incidents: {more.reason}"
    assert caught.value.count == rows and str(caught.value).startswith(f"入力エラー {rows} 件")


def test_each_bad_row_keeps_its_message_for_a_formula():
    """An Excel function returns each row's message: kept, unless messages=False."""
    checks = RowChecks((3,))
    checks.add(1, "minutes", "x", "数値で入力してください")
    assert checks.message[0] is None and checks.message[2] is None
    assert checks.message[1] == columns.cell_message("minutes", "x", "数値で入力してください")


def test_the_cell_by_cell_reader_counts_its_problems_past_the_cap(monkeypatch):
    monkeypatch.setattr(errors, "MAX_LISTED_PROBLEMS", 0)
    with pytest.raises(InputError) as caught:
        read_invoicing_workbook(CORPUS / "cells_swapped.xlsm", "cells")
    found = [p for p in caught.value.problems if p.sheet == "Incidents"]
    assert [(p.field, p.value) for p in found] == [(MORE_FIELD, 1)]


def test_settings_count_their_problems_past_the_cap(monkeypatch):
    """Settings, read row by row, keep the cap too (a sheet of a million bad settings)."""
    monkeypatch.setattr(errors, "MAX_LISTED_PROBLEMS", 1)
    rows = [["issuer_name", cells.error_value(code)] for code in ("#REF!", "#DIV/0!", "#NULL!")]
    table = SheetTable(["issuer_name", cells.error_value("#N/A")], rows, [2, 3, 4], 1, [])
    with pytest.raises(InputError) as caught:
        workbook.parse_settings(table)
    listed, more = caught.value.problems
    assert (listed.row, listed.value, more.field, more.value) == (1, "#N/A", MORE_FIELD, 3)
    assert caught.value.count == 4


def test_past_the_cap_the_first_refused_cells_are_listed_whatever_their_reasons(monkeypatch):
    """A date column refusing cells for two reasons lists its first refused cells in row order
    (the listing had gone to one reason's cells first, the other's only counted)."""
    monkeypatch.setattr(errors, "MAX_LISTED_PROBLEMS", 3)
    values = np.array(["x", None, "  ", "y", "y", "  "], dtype=object)
    checks = RowChecks(values.shape, sheet="Incidents", row_numbers=np.arange(2, 8),
                       messages=False)
    columns.to_dates(values, "opened", checks, required=False)
    assert [(p.row, p.value) for p in checks.problems] == [(2, "x"), (4, "  "), (5, "y")]
    assert checks.found.unlisted == 2 and checks.bad.tolist() == [
        True, False, True, True, True, True]


def test_moments_equal_in_two_time_zones_are_read_on_their_own_dates():
    """Equal instants, different local dates: each cell is read on its own date (cells read
    once per distinct value must not take another's date)."""
    import datetime as dt

    tokyo, utc = dt.timezone(dt.timedelta(hours=9)), dt.UTC
    values = np.array([dt.datetime(2026, 10, 1, 0, 0, tzinfo=tokyo),
                       dt.datetime(2026, 9, 30, 15, 0, tzinfo=utc), "2026-10-05"], dtype=object)
    dates = columns.to_dates(values, "opened", RowChecks(values.shape), required=True)
    assert dates.astype(str).tolist() == ["2026-10-01", "2026-09-30", "2026-10-05"]


def test_a_missing_required_column_makes_no_message_per_row(monkeypatch):
    """The header's problem names the missing column; its rows make no message each (a file of
    millions of rows without contract_id took minutes and GBs)."""
    from xlquote.engine import records

    made = []
    message = columns.cell_message
    monkeypatch.setattr(columns, "cell_message", lambda *a: made.append(a) or message(*a))
    rows = np.array([[f"I{i}", "2026-10-01", "phone"] for i in range(3_000)], dtype=object)
    with pytest.raises(InputError) as caught:
        records.parse_incidents(["incident_id", "opened", "channel"], rows)
    assert [(p.row, p.field) for p in caught.value.problems] == [(1, "contract_id")]
    assert made == []
