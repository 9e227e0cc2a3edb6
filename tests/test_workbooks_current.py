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


def test_a_damaged_workbook_in_the_folder_is_rebuilt_not_a_traceback(tmp_path: Path) -> None:
    from xlquote.app.workbooks import rebuild

    (tmp_path / "compare.xlsx").write_text("not a zip", encoding="utf-8")
    checked = rebuild("compare.xlsx", tmp_path, write=False)
    assert checked.state == "differs" and checked.changes[0].startswith("今のブックは読めません")
    assert rebuild("compare.xlsx", tmp_path).state == "rewritten"
    assert not differences(snapshot(tmp_path / "compare.xlsx"),
                           snapshot(REPO_WORKBOOKS / "compare.xlsx"))


def test_a_check_writes_nothing_and_names_differences_in_japanese(tmp_path: Path,
                                                                  capsys) -> None:
    from xlquote.cli import main

    assert main(["workbooks", "--out", str(tmp_path / "a" / "b"), "--check"]) == 1
    assert not (tmp_path / "a").exists()  # it made the folders and a .build-* folder
    assert main(["workbooks", "--out", str(tmp_path)]) == 0
    import openpyxl

    wb = openpyxl.load_workbook(tmp_path / "compare.xlsx")
    wb.create_sheet("メモ")
    wb.save(tmp_path / "compare.xlsx")
    capsys.readouterr()
    assert main(["workbooks", "--out", str(tmp_path), "--check"]) == 1
    shown = capsys.readouterr().out
    assert "シート メモ: 今のブックだけにあります" in shown
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(builders())
