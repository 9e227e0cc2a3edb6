"""The exceptions xlquote raises. The engine raises; the UDF layer turns one row's problem into
that cell's ``#VALUE! …`` text; the CLI prints sheet/row/column and exits 2."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class XlquoteError(Exception):
    """Base class of every error xlquote raises on purpose."""


class DataFileError(XlquoteError):
    """A data file is malformed: names the file, the key path and the reason."""

    def __init__(self, file: str, key: str, reason: str) -> None:
        self.file, self.key, self.reason = file, key, reason
        super().__init__(f"{file}: {key}: {reason}")


class PriceBookError(DataFileError):
    """A price-book file is malformed."""


def load_toml(path: str | Path, error: type[DataFileError]) -> dict[str, Any]:
    """A TOML data file as a dict; a missing or malformed file raises ``error`` naming it."""
    path = Path(path)
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise error(path.name, "-", f"file not found: {path}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise error(path.name, "-", f"not valid TOML: {exc}") from None


@dataclass(frozen=True)
class Problem:
    """One bad value: where it is (sheet, row, column), what it was, and why it is refused."""

    row: int | None
    field: str
    value: Any
    reason: str
    sheet: str | None = None

    def __str__(self) -> str:
        where = []
        if self.sheet:  # a record table read from a CSV or Parquet file is named by the file
            file = self.sheet.lower().endswith((".csv", ".parquet", ".pq"))
            where.append(f"{'file' if file else 'sheet'} {self.sheet}")
        if self.row is not None:
            where.append(f"row {self.row}")
        where.append(f"column {self.field}")
        return f"{', '.join(where)}: {self.value!r}: {self.reason}"


class InputError(XlquoteError):
    """Bad input rows. Lists every problem at once, not just the first."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        shown = "\n".join(f"  {p}" for p in self.problems[:50])
        more = f"\n  … and {len(self.problems) - 50} more" if len(self.problems) > 50 else ""
        super().__init__(f"{len(self.problems)} bad value(s):\n{shown}{more}")


class OutputError(XlquoteError):
    """Writing an output (workbook, PDF, register) failed; nothing partial was left behind."""
