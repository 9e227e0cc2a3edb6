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
import contextlib
import importlib
import json
import os
import pkgutil
import re
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from typing import Any, NoReturn

from rich.cells import cell_len
from rich.console import Console

from ..engine.errors import InputError, OutputError, Problem, XlquoteError

EXIT_OK, EXIT_ATTENTION, EXIT_INPUT, EXIT_WRITE = 0, 1, 2, 3
EXIT_OUTPUT_CLOSED = 141  # as a shell reports a command its closed pipe stopped (128 + SIGPIPE)


class ReportConsole(Console):
    """rich's console for what a command prints on stdout. A reader that stopped (``| head``)
    raises BrokenPipeError to ``main``, as a plain print does: rich would exit 1 on its own,
    the code of a run that needs attention."""

    def __init__(self) -> None:
        super().__init__(highlight=False, soft_wrap=True)

    def on_broken_pipe(self) -> None:
        raise BrokenPipeError


def package_version() -> str:
    try:
        return version("xlquote")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "unknown"


# argparse's own complaints, in the clerk's language (first match wins; the last one keeps
# the reason of an option's type check, already Japanese, after the option's name)
USAGE_MESSAGES_JA: tuple[tuple[str, str], ...] = (
    (r"the following arguments are required: (.+)", r"\1 がありません"),
    (r"one of the arguments (.+) is required", r"\1 のどれかを指定してください"),
    (r"unrecognized arguments: (.+)", r"使えない引数です: \1"),
    (r"ambiguous option: (\S+) could match (.+)", r"\1 はどれのことか分かりません (候補: \2)"),
    (r"argument (\S+): not allowed with argument (\S+)", r"\1 と \2 は一緒に指定できません"),
    (r"argument (\S+): expected (?:one|at least one) argument", r"\1 の値がありません"),
    (r"argument (\S+): ignored explicit argument (.+)", r"\1 は値を取りません (\2)"),
    (r"argument (\S+): invalid choice: (.+) \(choose from (.+)\)",
     r"\1: \2 は選べません (選べるもの: \3)"),
    (r"argument (\S+): invalid \S+ value: (.+)", r"\1: \2 は使えない値です"),
    (r"argument (\S+): (.+)", r"\1: \2"),
)


def usage_message_ja(message: str) -> str:
    """argparse's ``message`` in Japanese (unchanged if it is not one of the known ones)."""
    for pattern, replacement in USAGE_MESSAGES_JA:
        if re.fullmatch(pattern, message, flags=re.DOTALL):
            return re.sub(pattern, replacement, message, count=1, flags=re.DOTALL)
    return message


class UsageError(Exception):
    """The command line was refused by ``parser`` (``message``: Japanese)."""

    def __init__(self, parser: argparse.ArgumentParser, message: str) -> None:
        super().__init__(message)
        self.parser, self.message = parser, message


USAGE_HEADING = "使い方: "
# a help line breaks between any two Japanese characters, never inside an ASCII word (a flag,
# a path), never after an opening bracket nor before a closing mark
HELP_TOKEN = re.compile(r"\s+|[(「『（]*(?:[!-~]+|.)[、。」』）)]*")


def wrap_cells(text: str, width: int) -> list[str]:
    """``text`` folded into lines of at most ``width`` terminal cells (a Japanese character
    takes two)."""
    lines, line = [], ""
    for token in HELP_TOKEN.findall(" ".join(text.split())):
        if line.strip() and cell_len(line + token.rstrip()) > width:
            lines.append(line.rstrip())
            line = token.lstrip()
        else:
            line += token
    return [*lines, line.rstrip()]


class HelpFormatter(argparse.HelpFormatter):
    """argparse's help with a Japanese usage heading, wrapped by display width."""

    def _format_usage(self, usage: str | None, actions: Any, groups: Any,
                      prefix: str | None) -> str:
        if prefix is not None:
            return super()._format_usage(usage, actions, groups, prefix)
        # laid out behind blanks as wide as the heading, so that wrapped lines align under it
        blanks = " " * cell_len(USAGE_HEADING)
        return USAGE_HEADING + super()._format_usage(usage, actions, groups, blanks)[len(blanks):]

    def _split_lines(self, text: str, width: int) -> list[str]:
        return wrap_cells(text, width)

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        return "\n".join(indent + line for line in wrap_cells(text, width - len(indent)))


class Parser(argparse.ArgumentParser):
    """An argument parser whose help is Japanese (headings, -h) and that hands its refusal to
    ``main`` instead of exiting, so that it is reported like any bad input (in Japanese; as
    JSON under ``--json``). Its subcommands' parsers are of the same class."""

    def __init__(self, *args: Any, add_help: bool = True, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, add_help=False, **kwargs)
        self._positionals.title = "引数"
        self._optionals.title = "オプション"
        if add_help:
            self.add_argument("-h", "--help", action="help", help="この説明を表示して終了します")

    def error(self, message: str) -> NoReturn:
        raise UsageError(self, usage_message_ja(message))


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="xlquote", description="IT サポート事業の見積と請求: 月の請求書、"
                    "請求番号台帳、顧客へのお知らせ、料金プランの比較。")
    parser.add_argument("--version", action="version", version=f"xlquote {package_version()}",
                        help="バージョンを表示して終了します")
    subcommands = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND",
        help="実行するコマンド (それぞれの説明: xlquote COMMAND --help)")
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


def input_error_message(count: int, source: object = None, at_least: bool = False) -> str:
    """The line that introduces bad input's problems (nothing was written); ``at_least``: the
    check stopped before the end."""
    return (f"{source}: " if source else "") + (
        f"入力エラー {count} 件{'以上' if at_least else ''}。何も書き出していません。"
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
    try:
        return _run(sys.argv[1:] if argv is None else list(argv))
    except BrokenPipeError:  # what reads the output stopped (| head): the job itself is done
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        with contextlib.suppress(OSError):  # stderr may be that pipe too (2>&1 | head)
            print("xlquote: 出力を読む側が先に終了しました。処理は終わっています (結果は出力"
                  "フォルダと台帳で確かめてください)", file=sys.stderr)
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stderr.fileno())
        return EXIT_OUTPUT_CLOSED


def _run(arguments: list[str]) -> int:
    try:
        args = build_parser().parse_args(arguments)
    except UsageError as exc:
        as_json = "--json" in arguments  # the run did not happen, but its caller wants JSON
        if not as_json:
            exc.parser.print_usage(sys.stderr)
        return fail(as_json, EXIT_INPUT, "invalid", exc.message)
    as_json = bool(getattr(args, "json", False))
    try:
        return int(args.run(args) or 0)
    except InputError as exc:
        message = input_error_message(exc.count, at_least=exc.stopped)
        return fail(as_json, EXIT_INPUT, "invalid", message, exc.problems)
    except OutputError as exc:
        return fail(as_json, EXIT_WRITE, "write_failed", str(exc))
    except XlquoteError as exc:
        return fail(as_json, EXIT_INPUT, "refused", str(exc))
    except BrokenPipeError:
        raise  # main's, wherever it happens
    except OSError as exc:  # a write the job did not expect to fail
        from ..app.publishing import describe_os_error

        return fail(as_json, EXIT_WRITE, "write_failed", describe_os_error(exc))
    except KeyboardInterrupt:
        print("xlquote: 中断しました。次の実行で、途中の処理を終えるか元に戻します",
              file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
