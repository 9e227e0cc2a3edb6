"""The invoice workbooks are the approved ones in tests/golden/, fact for fact: every cell's
value, type, number format, font, fill, borders and alignment; merges, column widths, row
heights, print setup and print area, headers, tab colours; sheet names and document
properties. An intended change is approved by ``python -m tests.golden.regenerate`` (see
tests/golden/regenerate.py) and committed with the change."""

from __future__ import annotations

import pytest
from golden.cases import CANCELLATIONS, INVOICES, golden_path
from golden.regenerate import write_case
from golden.workbook_facts import differences, workbook_facts


@pytest.mark.parametrize("name", [*INVOICES, *CANCELLATIONS])
def test_workbook_is_the_golden_one(name, tmp_path):
    written = write_case(name, tmp_path / f"{name}.xlsx")
    changed = differences(workbook_facts(golden_path(name)), workbook_facts(written))
    assert not changed, (f"{name}.xlsx differs from tests/golden/{name}.xlsx in {len(changed)} "
                         "fact(s) (if intended: python -m tests.golden.regenerate):\n"
                         + "\n".join(changed[:30]))


def test_a_changed_fact_is_found(tmp_path):
    """The comparison sees a style-only change (a cell no longer bold) and a print setup
    change, not only values."""
    import openpyxl
    from openpyxl.styles import Font

    written = write_case("annual", tmp_path / "annual.xlsx")
    wb = openpyxl.load_workbook(written)
    ws = wb["請求書"]
    ws["D20"].font = Font(name=ws["D20"].font.name, bold=False, size=ws["D20"].font.sz)
    ws.page_setup.orientation = "landscape"
    wb.save(tmp_path / "changed.xlsx")
    changed = differences(workbook_facts(written), workbook_facts(tmp_path / "changed.xlsx"))
    assert any(line.startswith("sheet/請求書/D20/font") for line in changed)
    assert any(line.startswith("sheet/請求書/page") for line in changed)
