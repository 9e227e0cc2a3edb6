"""What the clerk's tests share: the sample workbook with a few cells changed, the CLI run
in-process, and the files of a folder by content."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import openpyxl
from registers import register_args

from xlquote.app.sample import sample_contracts, sample_incidents, sample_packs, sample_settings
from xlquote.app.workbooks.invoicing import write_invoicing_workbook
from xlquote.cli import main

MONTH = "2026-10"
ISSUED = "2026-11-02"  # the sample month's issue date: runs pass it so files do not vary by day


def workbook(path: Path, incidents: dict[str, dict[str, Any]] | None = None,
             settings: dict[str, str] | None = None,
             contracts: dict[str, dict[str, Any]] | None = None) -> Path:
    """The sample workbook, with ``{incident_id: {field: value}}`` and
    ``{contract_id: {field: value}}`` changes and Settings overrides."""
    rows = sample_incidents()
    for row in rows:
        row.update((incidents or {}).get(row["incident_id"], {}))
    parties = sample_contracts()
    for row in parties:
        row.update((contracts or {}).get(row["contract_id"], {}))
    return write_invoicing_workbook(path, parties, rows, sample_packs(),
                                    sample_settings() | (settings or {}))


def invoice(book: Path, out: Path, *args: str, month: str = MONTH) -> int:
    """``xlquote invoice`` on ``out`` (with the register of the test's backend, unless
    ``args`` name one)."""
    if "--issue-date" not in args:
        args = (*args, "--issue-date", ISSUED)
    if "--register" not in args:
        args = (*args, *register_args(out))
    return main(["invoice", str(book), "--month", month, "--out", str(out), *args])


def invoice_json(capsys, book: Path, out: Path, *args: str, month: str = MONTH
                 ) -> tuple[int, dict[str, Any]]:
    capsys.readouterr()
    code = invoice(book, out, "--json", *args, month=month)
    return code, json.loads(capsys.readouterr().out)


def files(folder: Path) -> dict[str, str]:
    """Every file of ``folder`` (not hidden) → its SHA-256."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.iterdir()) if p.is_file() and not p.name.startswith(".")}


def every_file(folder: Path) -> dict[str, str]:
    """Every file under ``folder``, hidden ones and a register file included: its path
    relative to ``folder`` → its SHA-256."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def one(folder: Path, pattern: str) -> Path:
    (found,) = folder.glob(pattern)
    return found


def cell_right_of(path: Path, label: str, sheet: str | None = None) -> Any:
    """The value right of ``label`` on the workbook's first (or named) sheet."""
    wb = openpyxl.load_workbook(path)
    ws = wb[sheet] if sheet else wb.worksheets[0]
    for row in ws.iter_rows():
        for cell in row:
            if cell.value == label:
                for right in row[cell.column:]:
                    if right.value is not None:
                        return right.value
    raise AssertionError(f"no {label!r} in {path.name}")


def summary_rows(out: Path, month: str = MONTH) -> list[tuple[Any, ...]]:
    ws = openpyxl.load_workbook(out / month / f"請求一覧_{month}.xlsx")["請求一覧"]
    return [r for r in ws.iter_rows(min_row=4, values_only=True) if r[0] is not None]
