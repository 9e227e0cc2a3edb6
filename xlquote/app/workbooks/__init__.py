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
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / filename
    with tempfile.TemporaryDirectory(prefix=".build-", dir=folder) as temp:
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


def differences(expected: dict[str, Any], actual: dict[str, Any], limit: int = 20) -> list[str]:
    """Human-readable differences between two snapshots (first ``limit``)."""
    out: list[str] = []
    if expected["names"] != actual["names"]:
        out.append(f"defined names: {expected['names']} != {actual['names']}")
    for sheet in sorted(set(expected["sheets"]) | set(actual["sheets"])):
        a, b = expected["sheets"].get(sheet), actual["sheets"].get(sheet)
        if a is None or b is None:
            out.append(f"sheet {sheet}: only in {'actual' if a is None else 'expected'}")
            continue
        for key in ("validations", "merged", "tables", "charts", "print", "state"):
            if a[key] != b[key]:
                out.append(f"{sheet} {key}: {a[key]} != {b[key]}")
        for coord in sorted(set(a["cells"]) | set(b["cells"])):
            if a["cells"].get(coord) != b["cells"].get(coord):
                out.append(f"{sheet}!{coord}: {a['cells'].get(coord)} != {b['cells'].get(coord)}")
    return out[:limit]
