"""What a reader of a workbook sees, read back with openpyxl as plain data: per sheet every
cell's value, type, number format, font (name, bold, size, colour), fill, borders and
alignment; merges, column widths, row heights, print setup (paper, orientation, fit, centring,
margins, print area, print titles, header/footer with its font), tab colour and whether the
sheet is selected; the sheet the workbook opens on, and the document's author, title and
dates. Two workbooks that give the same facts look and print the same; their bytes may differ
(the golden files were written by XlsxWriter, today's by ``spreadsheetml.py``), which is why
golden files are compared by these facts and not byte for byte."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openpyxl

# Facts left out of the comparison because they differ whatever the writer draws. The writer
# stamps every workbook with the same created/modified date, so none do today; a fact added
# here needs a reason beside it.
IGNORED: frozenset[str] = frozenset()


def _colour(colour: Any) -> str | None:
    if colour is None or colour.type != "rgb" or colour.rgb is None:
        return None
    return str(colour.rgb)[-6:]


def _side(side: Any) -> tuple[Any, Any]:
    if side is None or side.style is None:
        return (None, None)
    return (side.style, _colour(side.color))


def _cell(cell: Any) -> dict[str, Any]:
    font, alignment = cell.font, cell.alignment
    return {
        "value": cell.value,
        "type": cell.data_type if cell.value is not None else None,
        "format": cell.number_format,
        "font": (font.name, bool(font.b), float(font.sz or 11), _colour(font.color)),
        "fill": (cell.fill.fill_type, _colour(cell.fill.fgColor) if cell.fill.fill_type else None),
        "border": tuple(_side(getattr(cell.border, s)) for s in ("left", "right", "top", "bottom")),
        "align": (alignment.horizontal, alignment.vertical, bool(alignment.wrap_text)),
    }


def workbook_facts(path: Path) -> dict[str, Any]:
    """``{"sheet/<name>/<fact>": value, ...}``: one entry per fact, so that a difference names
    sheet, cell and fact."""
    wb = openpyxl.load_workbook(path)
    facts: dict[str, Any] = {"sheets": [ws.title for ws in wb.worksheets],
                             "opens_on": wb.active.title,
                             "props": (wb.properties.creator, wb.properties.lastModifiedBy,
                                       wb.properties.title, wb.properties.created,
                                       wb.properties.modified)}
    for ws in wb.worksheets:
        key = f"sheet/{ws.title}"
        for row in ws.iter_rows():
            for cell in row:
                if cell.has_style or cell.value is not None:
                    for fact, value in _cell(cell).items():
                        facts[f"{key}/{cell.coordinate}/{fact}"] = value
        ps, margins = ws.page_setup, ws.page_margins
        facts |= {
            f"{key}/merged": sorted(str(r) for r in ws.merged_cells.ranges),
            f"{key}/widths": {col: d.width for d in ws.column_dimensions.values()
                              if d.customWidth for col in range(d.min, d.max + 1)},
            f"{key}/heights": {k: d.height for k, d in ws.row_dimensions.items() if d.height},
            f"{key}/page": (ps.paperSize, ps.orientation, ws.sheet_properties.pageSetUpPr.fitToPage,
                            ps.fitToWidth, ps.fitToHeight, ws.print_options.horizontalCentered),
            f"{key}/margins": (margins.left, margins.right, margins.top, margins.bottom,
                               margins.header, margins.footer),
            f"{key}/print_area": ws.print_area,
            f"{key}/print_titles": ws.print_title_rows,
            f"{key}/header_footer": tuple((part.text, part.font, part.size, part.color)
                                          for part in (ws.oddHeader.center, ws.oddFooter.center)),
            f"{key}/tab_colour": _colour(ws.sheet_properties.tabColor),
            f"{key}/selected": bool(ws.sheet_view.tabSelected),
        }
    return facts


def differences(expected: dict[str, Any], actual: dict[str, Any]) -> list[str]:
    """Every fact that is not the same in both, as readable lines."""
    found = []
    for fact in sorted(expected.keys() | actual.keys()):
        if fact in IGNORED or fact.rsplit("/", 1)[-1] in IGNORED:
            continue
        if expected.get(fact, "—") != actual.get(fact, "—"):
            found.append(f"{fact}: golden {expected.get(fact, '—')!r} / now {actual.get(fact, '—')!r}")
    return found
