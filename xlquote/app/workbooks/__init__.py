"""The workbooks users open (``workbooks/`` in the repository), built by code.

Each module here that defines ``FILENAME`` and ``build(path)`` builds one workbook.
``xlquote workbooks`` rebuilds them all; ``tests/test_workbooks_current.py`` fails when a
committed workbook differs from what the code builds (compared by content, see ``snapshot``).
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import openpyxl

from ...engine.errors import InputError
from ...readers.guard import check_workbook_file

REPO_WORKBOOKS = Path(__file__).resolve().parents[3] / "workbooks"


def builders() -> dict[str, ModuleType]:
    """FILENAME → builder module, for every builder in this package."""
    found = {}
    for module in pkgutil.iter_modules(__path__):
        if module.name.startswith("_"):
            continue
        loaded = importlib.import_module(f"{__name__}.{module.name}")
        if hasattr(loaded, "FILENAME") and hasattr(loaded, "build"):
            found[loaded.FILENAME] = loaded
    return dict(sorted(found.items()))


def build_all(folder: str | Path = REPO_WORKBOOKS) -> list[Path]:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    built = []
    for filename, module in builders().items():
        build: Callable[[Path], Any] = module.build
        build(folder / filename)
        built.append(folder / filename)
    return built


@dataclass(frozen=True)
class Rebuilt:
    """A workbook compared with what the code builds, and what was done about it."""

    path: Path
    state: str  # created | unchanged | rewritten | differs (compared only)
    changes: list[str] = field(default_factory=list)  # the first differences, if any


def rebuild(filename: str, folder: str | Path, write: bool = True) -> Rebuilt:
    """Build ``filename`` and compare it with the one in ``folder`` (by content, ``snapshot``):
    an unchanged workbook is left as it is; a different or missing one is written when
    ``write`` (else only reported)."""
    folder = Path(folder)
    if write:
        folder.mkdir(parents=True, exist_ok=True)
    target = folder / filename
    # Built beside the target when it is to be written (one rename puts it in place); a
    # check writes nothing into the folder.
    try:
        building = tempfile.TemporaryDirectory(prefix=".build-", dir=folder if write else None)
    except OSError as exc:  # named by the folder the user gave, not the hidden one
        raise OSError(exc.errno, exc.strerror, str(folder)) from None
    with building as temp:
        fresh = Path(builders()[filename].build(Path(temp) / filename))
        if not target.exists():
            state, changes = "created", []
        else:
            changes = _unreadable(target) or differences(snapshot(target), snapshot(fresh))
            if not changes:
                return Rebuilt(target, "unchanged")
            state = "rewritten"
        if not write:
            return Rebuilt(target, "differs" if changes else "missing", changes)
        os.replace(fresh, target)
    return Rebuilt(target, state, changes)


def _unreadable(path: Path) -> list[str]:
    """Why the workbook at ``path`` cannot be compared (it is then rebuilt), or nothing. The
    file guard goes first: what a user left there is read with bounded memory and time."""
    try:
        check_workbook_file(path)
        return []
    except InputError as exc:
        reasons = "; ".join(p.reason for p in exc.problems[:3])
    except OSError as exc:
        reasons = exc.strerror or str(exc)
    return [f"今のブックは読めません ({reasons})"]


def snapshot(path: str | Path) -> dict[str, Any]:
    """Everything a user sees in a workbook, as plain data: per sheet the cell values/formulas
    and number formats, data validations, merged cells, print setup; defined names. Zip
    timestamps and other volatile parts are left out, so two builds compare equal."""
    wb = openpyxl.load_workbook(path, keep_vba=str(path).endswith(".xlsm"))
    sheets = {}
    for ws in wb.worksheets:
        cells = {}
        for row in ws.iter_rows():
            for cell in row:
                if cell.value is not None:
                    cells[cell.coordinate] = (repr(cell.value), cell.number_format,
                                              cell.font.name, bool(cell.font.b))
        sheets[ws.title] = {
            "cells": cells,
            "validations": sorted(
                (str(v.sqref), v.type, v.formula1) for v in ws.data_validations.dataValidation
            ),
            "merged": sorted(str(r) for r in ws.merged_cells.ranges),
            "tables": sorted(ws.tables.items()),
            "charts": len(ws._charts),
            "print": (ws.page_setup.paperSize, ws.page_setup.orientation,
                      str(ws.print_area) if ws.print_area else None),
            "state": ws.sheet_state,
        }
    names = sorted((n, str(d.attr_text)) for n, d in wb.defined_names.items())
    return {"sheets": sheets, "names": names}


SHEET_PARTS_JA = {"validations": "入力規則", "merged": "セルの結合", "tables": "テーブル",
                  "charts": "グラフの数", "print": "印刷設定", "state": "表示"}


def differences(existing: dict[str, Any], built: dict[str, Any]) -> list[str]:
    """Every difference between two snapshots (the workbook there, the one the code builds),
    one line each as a clerk reads it: where, what it is, what the code would make it."""
    out: list[str] = []
    if existing["names"] != built["names"]:
        out.append("名前の定義が違います")
    for sheet in sorted(set(existing["sheets"]) | set(built["sheets"])):
        a, b = existing["sheets"].get(sheet), built["sheets"].get(sheet)
        if a is None or b is None:
            out.append(f"シート {sheet}: " + ("今のブックにありません" if a is None
                                             else "今のブックだけにあります"))
            continue
        for key, label in SHEET_PARTS_JA.items():
            if a[key] != b[key]:
                out.append(f"シート {sheet} の{label}が違います")
        for coord in sorted(set(a["cells"]) | set(b["cells"])):
            was, made = a["cells"].get(coord), b["cells"].get(coord)
            if was == made:
                continue
            if was is not None and made is not None and was[0] == made[0]:
                out.append(f"{sheet}!{coord}: 書式が違います (表示形式・フォント)")
            else:
                out.append(f"{sheet}!{coord}: {_cell_shown(was)} → {_cell_shown(made)}")
    return out


def _cell_shown(cell: tuple[str, str, str, bool] | None) -> str:
    """A snapshot cell's value, cut short: its repr (text quoted, formulas as typed)."""
    if cell is None:
        return "(空)"
    return cell[0] if len(cell[0]) <= 60 else cell[0][:60] + "…"
