"""The exceptions xlquote raises. The engine raises; the UDF layer turns one row's problem into
that cell's ``#VALUE! …`` text; the CLI prints sheet/row/column and exits 2. Their texts are
Japanese (``messages.py``)."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .messages import FILE_NOT_FOUND, shown


class XlquoteError(Exception):
    """Base class of every error xlquote raises on purpose."""


class DataFileError(XlquoteError):
    """A data file is malformed: names the file, the key path and the reason."""

    kind_ja = "データファイル"  # what the file is, as the message names it

    def __init__(self, file: str, key: str, reason: str) -> None:
        self.file, self.key, self.reason = file, key, reason
        where = f"{self.kind_ja} {file}" + ("" if key == WHOLE_FILE else f" の {key}")
        super().__init__(f"{where}: {reason}")


WHOLE_FILE = "-"  # the key of a problem with the file as a whole (missing, not TOML)


class PriceBookError(DataFileError):
    """A price-book file is malformed."""

    kind_ja = "料金表"


TOML_POSITION = re.compile(r"\(at line (\d+), column (\d+)\)")


MAX_TOML_BYTES = 4 * 2**20  # a price book or a usage profile is a few KB


def load_toml(path: str | Path, error: type[DataFileError]) -> dict[str, Any]:
    """A TOML data file as a dict; a missing or malformed file raises ``error`` naming it."""
    path = Path(path)
    try:
        with path.open("rb") as file:
            data = file.read(MAX_TOML_BYTES + 1)
        if len(data) > MAX_TOML_BYTES:
            raise error(path.name, WHOLE_FILE, f"{MAX_TOML_BYTES // 2**20} MB を超えています。"
                                               "設定のファイルとして大きすぎます")
        return tomllib.loads(data.decode("utf-8"))
    except FileNotFoundError:
        raise error(path.name, WHOLE_FILE, f"{FILE_NOT_FOUND} ({path})") from None
    except IsADirectoryError:
        raise error(path.name, WHOLE_FILE, f"ファイルではなくフォルダです ({path})") from None
    except PermissionError:
        raise error(path.name, WHOLE_FILE, f"読む権限がありません ({path})") from None
    except OSError as exc:  # a file that cannot be read, not one that cannot be written
        raise error(path.name, WHOLE_FILE, f"読めません ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise error(path.name, WHOLE_FILE, "UTF-8 のテキストではありません。UTF-8 で保存し直して"
                                           "ください") from None
    except tomllib.TOMLDecodeError as exc:
        found = TOML_POSITION.search(str(exc))
        at = f"{found[1]} 行目 {found[2]} 文字目で" if found else ""
        raise error(path.name, WHOLE_FILE, f"TOML の書き方が正しくありません ({at}読めません: "
                                           f"{TOML_POSITION.sub('', str(exc)).strip()})") from None


# Problems about a whole file, a sheet or a row name it in ``field``, not a column.
FILE_FIELD, SHEET_FIELD, ROW_FIELD = "file", "(sheet)", "(row)"
MORE_FIELD = "(more)"  # the problems found past MAX_LISTED_PROBLEMS, counted
# Where a check stopped before the end (a file wrong on too many rows): said beside the
# problems, and no problem itself (not counted)
STOPPED_FIELD = "(stopped)"
# Problems listed per sheet (or table): a file wrong on every row is refused listing these and
# counting the rest, so that memory, time and the output stay bounded whatever it holds.
MAX_LISTED_PROBLEMS = 1_000
RECORD_FILE_SUFFIXES = (".csv", ".parquet", ".pq")


@dataclass(frozen=True)
class Problem:
    """One bad value: where it is (sheet, row, column), what it was, and why it is refused.
    ``sheet`` names a sheet, or the file a record table was read from (CSV, Parquet)."""

    row: int | None
    field: str
    value: Any
    reason: str
    sheet: str | None = None

    def __str__(self) -> str:
        """``シート Incidents 5行目 列 minutes: '#N/A' — エラー値は使えません。…``."""
        where = []
        if self.sheet:
            file = self.sheet.lower().endswith(RECORD_FILE_SUFFIXES)
            where.append(f"{'ファイル' if file else 'シート'} {self.sheet}")
        if self.row is not None:
            where.append(f"{self.row}行目")
        if self.field == FILE_FIELD:
            where.append(f"ファイル {self.value}")
        elif self.field == SHEET_FIELD:
            if not self.sheet:
                where.append(f"シート {self.value}")
        elif self.field not in (ROW_FIELD, MORE_FIELD, STOPPED_FIELD):
            # A column of a sheet or file; else an argument or option (month, --out, usage).
            where.append(f"列 {self.field}" if self.sheet or self.row is not None else self.field)
        if self.field in (FILE_FIELD, SHEET_FIELD, ROW_FIELD, MORE_FIELD, STOPPED_FIELD):
            return f"{' '.join(where)}: {self.reason}"
        return f"{' '.join(where)}: {shown(self.value)} — {self.reason}"


class ListedProblems:
    """One sheet's problems as found: the first MAX_LISTED_PROBLEMS listed, the rest counted."""

    def __init__(self, sheet: str | None) -> None:
        self.sheet = sheet
        self.listed: list[Problem] = []
        self.unlisted = 0

    def has_room(self) -> bool:
        """Whether the next problem is listed (make it then); else it is counted here."""
        if len(self.listed) < MAX_LISTED_PROBLEMS:
            return True
        self.unlisted += 1
        return False

    def room(self) -> int:
        """How many more problems are listed; those past it are only counted (``count_more``)."""
        return max(0, MAX_LISTED_PROBLEMS - len(self.listed))

    def count_more(self, count: int) -> None:
        """``count`` problems found past the listed ones, counted without being made."""
        self.unlisted += count

    def counted(self) -> list[Problem]:
        """What stands for the problems past the cap: one (more) problem, or none."""
        if not self.unlisted:
            return []
        return [Problem(None, MORE_FIELD, self.unlisted, f"ほかに {self.unlisted:,} 件の問題があり"
                        f"ます (最初の {MAX_LISTED_PROBLEMS:,} 件だけを挙げています)。上の問題を"
                        "直してから、もう一度実行してください", self.sheet)]


class InputError(XlquoteError):
    """Bad input rows. Lists every problem at once, not just the first (past
    MAX_LISTED_PROBLEMS of a sheet, the rest counted by one problem, field MORE_FIELD)."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        shown_problems = "\n".join(f"  {p}" for p in self.problems[:50])
        more = f"\n  … ほか {len(self.problems) - 50} 件" if len(self.problems) > 50 else ""
        at_least = "以上" if self.stopped else ""
        super().__init__(f"入力エラー {self.count} 件{at_least}:\n{shown_problems}{more}")

    @property
    def stopped(self) -> bool:
        """Whether the check stopped before the end: more problems may follow."""
        return any(p.field == STOPPED_FIELD for p in self.problems)

    @property
    def count(self) -> int:
        """How many problems were found: those listed, and those a (more) problem counts."""
        return sum(p.value if p.field == MORE_FIELD else p.field != STOPPED_FIELD
                   for p in self.problems)


class OutputError(XlquoteError):
    """Writing an output (workbook, PDF, register) failed; nothing partial was left behind."""
