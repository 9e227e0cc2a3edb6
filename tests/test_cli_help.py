"""``xlquote … --help`` speaks Japanese, for every command the parser defines, and names every
flag it takes."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys

import pytest
from rich.cells import cell_len

from xlquote.cli import build_parser, main, wrap_cells

JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
# three English words in a row: a sentence argparse or a help text left untranslated
ENGLISH_PHRASE = re.compile(r"\b[A-Za-z][a-z]+(?: [a-z']{2,}){2,}\b")
ARGPARSE_ENGLISH = ("usage:", "options:", "positional arguments", "show this help",
                    "show program's version", "default:")


def commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
             ) -> list[tuple[tuple[str, ...], argparse.ArgumentParser, str | None]]:
    """Every (command words, parser, its one-line help) below ``parser``, ``parser`` first."""
    found: list[tuple[tuple[str, ...], argparse.ArgumentParser, str | None]] = [
        (path, parser, None)]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            one_line = {choice.dest: choice.help for choice in action._choices_actions}
            for name, sub in action.choices.items():
                below = commands(sub, (*path, name))
                below[0] = (below[0][0], sub, one_line[name])
                found += below
    return found


ALL = commands(build_parser())


def test_every_command_and_action_is_found():
    names = {" ".join(path) for path, _parser, _help in ALL}
    assert {"", "invoice", "demo", "notices", "compare", "workbooks", "register",
            "register list", "register show", "register void"} <= names


@pytest.mark.parametrize(("path", "parser", "one_line"), ALL,
                         ids=[" ".join(path) or "xlquote" for path, _p, _h in ALL])
def test_help_is_japanese_and_names_every_flag(path, parser, one_line, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    with pytest.raises(SystemExit) as exit_:
        main([*path, "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(" ".join(("使い方: xlquote", *path)) + " ")
    assert "\nオプション:\n" in out
    positionals = [a for a in parser._actions if not a.option_strings]
    assert ("\n引数:\n" in out) == bool(positionals)
    assert re.search(r"\n  -h, --help +この説明を表示して終了します\n", out)
    for action in parser._actions:
        if action.help == argparse.SUPPRESS:
            continue
        for flag in action.option_strings:
            assert re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", out), flag
        assert JAPANESE.search(action.help or ""), (action.option_strings, action.help)
    for text in (parser.description, one_line):
        assert text is None or JAPANESE.search(text), text
    for heading in ARGPARSE_ENGLISH:
        assert heading not in out.lower()
    command = " ".join(("xlquote", *path))
    for line in out.splitlines():
        assert not ENGLISH_PHRASE.search(line.replace(command, "")), line
        assert cell_len(line) <= 78, line  # fits the terminal: a Japanese character is 2 wide


def test_the_installed_command_prints_the_same_help():
    shown = subprocess.run([sys.executable, "-m", "xlquote", "register", "void", "-h"],
                           capture_output=True, text=True, env={"COLUMNS": "80"})
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith("使い方: xlquote register void ")
    assert "--reason REASON" in shown.stdout and "取り消す理由" in shown.stdout


def test_a_refused_command_line_shows_the_japanese_usage(capsys):
    assert main(["register", "void", "INV-202610-0001"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("使い方: xlquote register void [-h] --reason REASON")
    assert err.splitlines()[-1] == "xlquote: --reason がありません"


def test_help_wraps_by_display_width_between_japanese_characters():
    assert wrap_cells("請求書を作ります (既定: out)", 12) == ["請求書を作り", "ます (既定:", "out)"]
    assert wrap_cells("今日 (日本時間)。", 7) == ["今日", "(日本時", "間)。"]
    assert wrap_cells("--no-pdf なしで", 6) == ["--no-pdf", "なしで"]
