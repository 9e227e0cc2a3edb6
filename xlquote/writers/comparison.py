"""Write a comparison out: JSON, or an xlsx table (through xlquote.writers.xlsx: text stays text, the
file appears whole or not at all)."""

from __future__ import annotations

import json
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.worksheet.worksheet import Worksheet

from ..engine.codes import PLAN_LABELS_JA
from ..engine.compare.table import Comparison
from ..engine.errors import InputError, Problem
from ..engine.money import yen
from .xlsx import YEN_FORMAT, atomic_path, save_atomic, set_text, set_value, setup_a4, use_japanese_font

TABLE_HEADERS = ("順位", "プラン", "plan", "support_range", "max_incidents", "契約月数",
                 "費用 (税別)", "費用 (税込)", "固定費", "利用分", "最安との差", "次との差")
TABLE_WIDTHS = (6, 30, 14, 16, 13, 9, 14, 14, 13, 13, 13, 13)


def write_plan_table(ws: Worksheet, comparison: Comparison, top: int, left: int = 1) -> int:
    """The table of plans with its header at row ``top``; returns the last row written."""
    for offset, title in enumerate(TABLE_HEADERS):
        set_text(ws.cell(top, left + offset), title).font = Font(bold=True)
    for i, row in enumerate(comparison.rows, start=1):
        values = (row.rank, row.label, row.option.plan, row.option.support_range,
                  row.option.max_incidents, row.term_months, row.cost, row.cost_with_tax,
                  row.fixed, row.usage, row.over_cheapest, row.to_next)
        for offset, value in enumerate(values):
            cell = ws.cell(top + i, left + offset)
            if value is None:
                continue
            set_value(cell, value, YEN_FORMAT if offset >= 6 else None)
    return top + len(comparison.rows)


def comparison_workbook(comparison: Comparison) -> Workbook:
    wb = Workbook()
    ws = wb.active
    ws.title = "比較"
    set_text(ws.cell(1, 1), f"契約プラン比較 ({comparison.months}か月, "
                            f"{'実績の再計算' if comparison.source == 'replay' else '利用見込み'})")
    ws.cell(1, 1).font = Font(bold=True, size=14)
    last = write_plan_table(ws, comparison, 3)
    row = last + 2
    for note in comparison.notes + excluded_notes(comparison):
        set_text(ws.cell(row, 2), note)
        row += 1
    for b in comparison.break_even:
        set_text(ws.cell(row, 2), b.describe())
        row += 1
    for i, width in enumerate(TABLE_WIDTHS):
        ws.column_dimensions[chr(ord("A") + i)].width = width
    use_japanese_font(ws)
    setup_a4(ws, landscape=True)
    return wb


def write_comparison(comparison: Comparison, path: str | Path) -> Path:
    """``.json`` or ``.xlsx`` by extension; anything else is refused before writing."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".json":
        with atomic_path(path) as temp:
            temp.write_text(to_json(comparison), encoding="utf-8")
        return path
    if suffix == ".xlsx":
        return save_atomic(comparison_workbook(comparison), path)
    raise InputError([Problem(None, "--out", str(path), ".xlsx か .json のファイル名を指定して"
                                                       "ください")])


def excluded_notes(comparison: Comparison) -> list[str]:
    """The plans left out and why, as a manager reads them."""
    return [f"対象外: {PLAN_LABELS_JA.get(e['plan'], e['plan'])} — {e['reason']}"
            for e in comparison.excluded]


def to_json(comparison: Comparison) -> str:
    return json.dumps(comparison.to_dict(), ensure_ascii=False, indent=2) + "\n"


def to_text(comparison: Comparison) -> str:
    """The terminal table."""
    lines = [f"順位  {_pad('プラン', 42)} 月数  {_pad('費用 (税別)', 13, right=True)}  "
             f"{_pad('税込', 13, right=True)}  {_pad('次との差', 11, right=True)}"]
    for r in comparison.rows:
        step = "" if r.to_next is None else f"+{yen(r.to_next)}"
        lines.append(f"{r.rank:>4}  {_pad(r.label, 42)} {r.term_months:>4}  {yen(r.cost):>13}  "
                     f"{yen(r.cost_with_tax):>13}  {step:>11}")
    lines += excluded_notes(comparison)
    lines += [f"損益分岐 {b.describe()}" for b in comparison.break_even]
    lines += [f"注: {n}" for n in comparison.notes]
    return "\n".join(lines)


def _pad(text: str, width: int, right: bool = False) -> str:
    """Pad to a display width (full-width characters take two columns), on the left where
    ``right`` (a column of amounts)."""
    import unicodedata

    shown = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
    padding = " " * max(width - shown, 0)
    return padding + text if right else text + padding
