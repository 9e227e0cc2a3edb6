"""Every workbook committed in workbooks/ is what the code builds now (compared by content).
Rebuild with ``xlquote workbooks`` when this fails."""

from __future__ import annotations

from pathlib import Path

import pytest

from xlquote.app.workbooks import REPO_WORKBOOKS, builders, differences, snapshot

BUILDERS = builders()


@pytest.mark.parametrize("filename", sorted(BUILDERS))
def test_committed_workbook_is_current(filename: str, tmp_path: Path) -> None:
    committed = REPO_WORKBOOKS / filename
    assert committed.exists(), f"{committed} is missing: run `xlquote workbooks`"
    fresh = BUILDERS[filename].build(tmp_path / filename)
    changes = differences(snapshot(fresh), snapshot(committed))
    assert not changes, f"{filename} is stale; run `xlquote workbooks`:\n" + "\n".join(changes)


def test_every_builder_is_checked() -> None:
    assert "quote.xlsx" in BUILDERS
