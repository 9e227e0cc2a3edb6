"""The ``xlquote`` command. Each module in this package that defines ``register(subparsers)``
adds one subcommand; the handler it sets as ``run`` returns the exit status.

Exit status, the same for every subcommand: 0 done; 1 done, but something needs attention
(flags, a PDF that could not be made); 2 bad input or a refusal, nothing written; 3 could not
write (disk full, permissions, a file where a folder should be, a name too long, a busy
register), nothing changed. Failures print one line on stderr (bad input: one line per
problem) and, under ``--json``, a JSON object on stdout — never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from ..engine.errors import InputError, OutputError, Problem, XlquoteError

EXIT_OK, EXIT_ATTENTION, EXIT_INPUT, EXIT_WRITE = 0, 1, 2, 3


def package_version() -> str:
    try:
        return version("xlquote")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="xlquote", description="Quoting and billing for IT-support businesses.")
    parser.add_argument("--version", action="version", version=f"xlquote {package_version()}")
    subcommands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if module.name.startswith("_"):
            continue
        loaded = importlib.import_module(f"{__name__}.{module.name}")
        if hasattr(loaded, "register"):
            loaded.register(subcommands)
    return parser


def problem_dict(problem: Problem) -> dict[str, Any]:
    return {"sheet": problem.sheet, "row": problem.row, "column": problem.field,
            "value": problem.value, "reason": problem.reason, "text": str(problem)}


def input_error_message(count: int, source: object = None) -> str:
    """The line that introduces bad input's problems (nothing was written)."""
    return (f"{source}: " if source else "") + (f"入力エラー {count} 件。何も書き出していません。"
                                                "次の箇所を直してから、もう一度実行してください:")


def fail(as_json: bool, code: int, status: str, message: str,
         problems: Sequence[Problem] = ()) -> int:
    """Report a run that did not happen: one line (and the problems) on stderr, JSON on
    stdout under ``--json``."""
    print(f"xlquote: {message}", file=sys.stderr)
    for problem in problems:
        print(f"  {problem}", file=sys.stderr)
    if as_json:
        data: dict[str, Any] = {"status": status, "exit_code": code, "message": message}
        if problems:
            data["problems"] = [problem_dict(p) for p in problems]
        print(json.dumps(data, ensure_ascii=False, indent=2, default=str))
    return code


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    as_json = bool(getattr(args, "json", False))
    try:
        return int(args.run(args) or 0)
    except InputError as exc:
        return fail(as_json, EXIT_INPUT, "invalid", input_error_message(len(exc.problems)),
                    exc.problems)
    except OutputError as exc:
        return fail(as_json, EXIT_WRITE, "write_failed", str(exc))
    except XlquoteError as exc:
        return fail(as_json, EXIT_INPUT, "refused", str(exc))
    except OSError as exc:  # a write the job did not expect to fail
        from ..app.publishing import describe_os_error

        return fail(as_json, EXIT_WRITE, "write_failed", describe_os_error(exc))
    except KeyboardInterrupt:
        print("xlquote: 中断しました。次の実行で、途中の処理を終えるか元に戻します",
              file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
