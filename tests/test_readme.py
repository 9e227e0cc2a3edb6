"""README's Python examples run as written and give the values README shows beside them."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import numpy as np

README = Path(__file__).resolve().parent.parent / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


def shown_values(block: str) -> list[tuple[str, str]]:
    """(expression, value) for each expression statement whose value README shows: in a
    comment at the end of its last line, or on the comment line right below it."""
    pairs, lines = [], block.splitlines()
    for statement in ast.parse(block).body:
        if not isinstance(statement, ast.Expr):
            continue
        comments = [lines[statement.end_lineno - 1].partition("#")[2].strip()]
        if statement.end_lineno < len(lines):
            below = lines[statement.end_lineno].strip()
            comments.append(below[1:].strip() if below.startswith("#") else "")
        for comment in comments:
            if comment and _is_value(comment):
                pairs.append((ast.get_source_segment(block, statement) or "", comment))
                break
    return pairs


def _is_value(text: str) -> bool:
    try:
        ast.parse(text.replace("array(", "("), mode="eval")
    except SyntaxError:
        return False
    return text[0] in "([{'\"0123456789" or text.startswith("array(")


def test_the_python_examples_run_and_show_their_values() -> None:
    blocks = python_blocks()
    assert blocks, "README has Python examples"
    checked = 0
    for block in blocks:
        namespace: dict[str, object] = {}
        exec(compile(block, str(README), "exec"), namespace)
        for expression, value in shown_values(block):
            got = eval(expression, namespace)
            expected = eval(value, {"array": np.array})
            if isinstance(got, np.ndarray):
                assert got.tolist() == list(expected), expression
            else:
                assert got == expected, expression
            checked += 1
    assert checked >= 6
