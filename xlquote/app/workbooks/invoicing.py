"""``workbooks/invoicing.xlsm``: the clerk's invoicing workbook.

Sheets ``Invoices`` (month cell, the 請求書作成 button, status and the run's summary),
``Contracts`` / ``Incidents`` / ``Packs`` (Excel tables whose headers are exactly the record
fields of ``xlquote.engine.records``, with drop-downs from ``xlquote.engine.codes``), ``Settings`` (issuer,
registration number, bank account, options) and ``xlwings.conf``.

It starts from xlwings' standalone template (``quickstart_standalone.xlsm``), which carries the
xlwings VBA module and the macro ``SampleCall``: it runs ``import invoicing; invoicing.main()``
(module named after the workbook), i.e. ``udfs/invoicing.py``. The ``xlwings.conf`` sheet's
PYTHONPATH is a formula giving ``<folder of this workbook>/../udfs``. openpyxl cannot write
shapes, so the button (a rounded rectangle whose macro is ``SampleCall``) is added to the saved
file as a DrawingML part (``add_macro_button``).

The same writer makes plain ``.xlsx`` copies without macros (tests, ``xlquote demo`` data).
"""

from __future__ import annotations

import importlib.util
import re
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import openpyxl
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.workbook import Workbook
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.table import Table, TableStyleInfo
from openpyxl.worksheet.worksheet import Worksheet

from ...engine.codes import LEVELS
from ...readers.workbook import SETTINGS_FIELDS, SETTINGS_SHEET
from ...readers.ooxml import (
    OFFICE_RELATIONSHIPS,
    PACKAGE_RELATIONSHIPS,
    WORKBOOK,
    WORKBOOK_RELATIONSHIPS,
    XML_DECLARATION,
)
from ...engine.records import SHEETS, Field
from ..sample import (
    SAMPLE_MONTH,
    sample_contracts,
    sample_incidents,
    sample_packs,
    sample_settings,
)
from ...writers.xlsx import (
    DATE_FORMAT,
    YEN_FORMAT,
    atomic_path,
    make_reproducible,
    set_formula,
    set_text,
    set_value,
    use_japanese_font,
)

FILENAME = "invoicing.xlsm"
INVOICES_SHEET = "Invoices"
MONTH_CELL = "B3"
# 発行する: the button issues correction invoices for changed issued ones (as --correct), once
CORRECT_CELL = "B4"
CORRECT_ISSUE, CORRECT_REFUSE = "発行する", "発行しない"
STATUS_CELL = "B5"
SUMMARY_TOP_ROW = 7  # the run writes its summary table from A7
BUTTON_MACRO = "SampleCall"  # the template's macro: RunPython "import invoicing; invoicing.main()"
BUTTON_NAME = "xlwings_button"
BUTTON_TEXT = "請求書作成"
NOTICES_SHEET = "Notices"  # お知らせ作成: the notices due (``xlquote notices``)
NOTICES_MONTH_CELL, NOTICES_DATE_CELL, NOTICES_STATUS_CELL = "B3", "B4", "B6"
NOTICES_TOP_ROW = 8  # the run writes its notices from A8
NOTICES_BUTTON_NAME = "notices_button"
NOTICES_BUTTON_TEXT = "お知らせ作成"
VALIDATED_ROWS = 5000  # drop-downs reach this far below the header
XLWINGS_CONF_SHEET = "xlwings.conf"
# <folder of this workbook>/../udfs, with the separator of the platform Excel runs on.
UDFS_PYTHONPATH_FORMULA = (
    '=LEFT(CELL("filename",A1),FIND("[",CELL("filename",A1))-1)'
    '&IF(ISNUMBER(FIND("\\",CELL("filename",A1))),"..\\udfs","../udfs")'
)
HEADER_FILL = PatternFill("solid", fgColor="DDE4EE")


def xlwings_template() -> Path:
    """The template file in the installed xlwings package (found, not imported: the engine
    never imports xlwings)."""
    spec = importlib.util.find_spec("xlwings")
    if spec is None or spec.origin is None:
        raise FileNotFoundError("xlwings is not installed; it ships the workbook template")
    return Path(spec.origin).with_name("quickstart_standalone.xlsm")


def build(path: str | Path) -> Path:
    """The committed workbook: the invoicing workbook with the bundled sample data."""
    return write_invoicing_workbook(path, sample_contracts(), sample_incidents(),
                                    sample_packs(), sample_settings(), SAMPLE_MONTH)


def write_invoicing_workbook(path: str | Path, contracts: Sequence[Mapping[str, Any]],
                             incidents: Sequence[Mapping[str, Any]],
                             packs: Sequence[Mapping[str, Any]], settings: Mapping[str, Any],
                             month: str = SAMPLE_MONTH) -> Path:
    """Write the workbook; ``.xlsm`` gets the xlwings VBA, conf sheet and button."""
    path = Path(path)
    macro = path.suffix.lower() == ".xlsm"
    if macro:
        wb = openpyxl.load_workbook(xlwings_template(), keep_vba=True)
        invoices = wb["Sheet1"]
        invoices.title = INVOICES_SHEET
    else:
        wb = Workbook()
        invoices = wb.active
        invoices.title = INVOICES_SHEET
    _invoices_sheet(invoices, month, macro)
    _notices_sheet(wb.create_sheet(NOTICES_SHEET), month, macro)
    records = {"Contracts": contracts, "Incidents": incidents, "Packs": packs}
    for name, fields in SHEETS.items():
        _record_sheet(wb.create_sheet(name), name, fields, records[name])
    _settings_sheet(wb.create_sheet(SETTINGS_SHEET), settings)
    if macro:
        conf = wb["_xlwings.conf"]
        conf.title = XLWINGS_CONF_SHEET  # active: its settings override the defaults
        _xlwings_conf(conf)
        wb.move_sheet(conf, offset=len(wb.worksheets) - 1 - wb.worksheets.index(conf))
    wb.active = 0
    for ws in wb.worksheets:
        if ws.title != XLWINGS_CONF_SHEET:
            use_japanese_font(ws)
    with atomic_path(path) as temp:
        wb.save(temp)
        if macro:
            add_macro_button(temp, INVOICES_SHEET, BUTTON_MACRO, BUTTON_TEXT, BUTTON_NAME)
            # The same macro: the handler does what the sheet the button sits on asks for.
            add_macro_button(temp, NOTICES_SHEET, BUTTON_MACRO, NOTICES_BUTTON_TEXT,
                             NOTICES_BUTTON_NAME)
        make_reproducible(temp)
    return path


def _invoices_sheet(ws: Worksheet, month: str, macro: bool) -> None:
    set_text(ws["A1"], "請求書作成")
    ws["A1"].font = Font(bold=True, size=16)
    how = ("請求月を入力して「請求書作成」ボタンを押してください。" if macro else
           "請求書は `xlquote invoice` で作成します (docs/INVOICING.md)。")
    set_text(ws["A2"], how + " 請求書は Settings の出力フォルダに月ごとに保存されます。")
    set_text(ws["A3"], "請求月")
    ws["A3"].font = Font(bold=True)
    set_text(ws[MONTH_CELL], month)
    ws[MONTH_CELL].number_format = "@"  # a typed 2026-11 stays text, not a date
    ws[MONTH_CELL].fill = PatternFill("solid", fgColor="FFF2CC")
    ws[MONTH_CELL].alignment = Alignment(horizontal="center")
    set_text(ws["C3"], "YYYY-MM")
    if macro:  # the command has --correct instead
        set_text(ws["A4"], "修正インボイス")
        ws["A4"].font = Font(bold=True)
        ws[CORRECT_CELL].fill = PatternFill("solid", fgColor="FFF2CC")
        ws[CORRECT_CELL].alignment = Alignment(horizontal="center")
        choice = DataValidation(type="list", formula1=f'"{CORRECT_REFUSE},{CORRECT_ISSUE}"',
                                allow_blank=True)
        choice.add(CORRECT_CELL)
        ws.add_data_validation(choice)
        set_text(ws["C4"], f"「{CORRECT_ISSUE}」: 発行済みの請求書の金額や記載事項が変わったとき、"
                           "修正インボイスを発行します (次の実行では空欄に戻ります)")
    set_text(ws["A5"], "状態")
    ws["A5"].font = Font(bold=True)
    ws.column_dimensions["A"].width = 16
    ws.column_dimensions["B"].width = 12
    for letter in "CDEFGHIJKL":
        ws.column_dimensions[letter].width = 13


def _notices_sheet(ws: Worksheet, month: str, macro: bool) -> None:
    set_text(ws["A1"], "お知らせ作成")
    ws["A1"].font = Font(bold=True, size=16)
    how = ("請求月 (と基準日) を入力して「お知らせ作成」ボタンを押してください。" if macro else
           "お知らせは `xlquote notices` で作成します (docs/INVOICING.md)。")
    set_text(ws["A2"], how + " ユニット消化・料金リミット到達・有効期限の近いユニットのお知らせを、"
                             "出力フォルダの notices に一度ずつ作成します。")
    for ref, label in (("A3", "請求月"), ("A4", "基準日"), ("A6", "状態")):
        set_text(ws[ref], label)
        ws[ref].font = Font(bold=True)
    set_text(ws[NOTICES_MONTH_CELL], month)
    ws[NOTICES_MONTH_CELL].number_format = "@"
    ws[NOTICES_DATE_CELL].number_format = DATE_FORMAT
    for ref in (NOTICES_MONTH_CELL, NOTICES_DATE_CELL):
        ws[ref].fill = PatternFill("solid", fgColor="FFF2CC")
        ws[ref].alignment = Alignment(horizontal="center")
    set_text(ws["C3"], "YYYY-MM")
    set_text(ws["C4"], "空欄: 月末 (毎日作る場合はその日)")
    ws.column_dimensions["A"].width = 12
    ws.column_dimensions["B"].width = 14
    ws.column_dimensions["F"].width = 80


def _validation_for(f: Field) -> DataValidation | None:
    if f.vocabulary is not None:
        choices = list(f.vocabulary.codes)
    elif f.kind == "bool":
        choices = ["TRUE", "FALSE"]
    elif f.kind == "level":
        choices = list(LEVELS.codes)
    else:
        return None
    # A warning, not a stop: the Japanese aliases (年額, 電話, …) are accepted too.
    return DataValidation(type="list", formula1='"' + ",".join(choices) + '"', allow_blank=True,
                          showErrorMessage=True, errorStyle="warning", errorTitle=f.name,
                          error=f"{f.name}: {', '.join(choices)} (日本語の別名も可)")


def _record_sheet(ws: Worksheet, name: str, fields: Sequence[Field],
                  records: Sequence[Mapping[str, Any]]) -> None:
    for column, f in enumerate(fields, start=1):
        cell = ws.cell(1, column)
        set_text(cell, f.name)
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
        cell.comment = Comment(f"{f.help}" + (" (必須)" if f.required else ""), "xlquote")
        letter = get_column_letter(column)
        ws.column_dimensions[letter].width = max(11, len(f.name) + 3)
        number_format = {"date": DATE_FORMAT, "yen": YEN_FORMAT, "limit": YEN_FORMAT}.get(f.kind)
        for row, record in enumerate(records, start=2):
            value = record.get(f.name)
            if value is not None:
                set_value(ws.cell(row, column), value, number_format)
        validation = _validation_for(f)
        if validation is not None:
            validation.add(f"{letter}2:{letter}{VALIDATED_ROWS}")
            ws.add_data_validation(validation)
    if name == "Incidents":
        ws.column_dimensions[get_column_letter(len(fields))].width = 34
    last = get_column_letter(len(fields))
    table = Table(displayName=f"tbl{name}", ref=f"A1:{last}{max(len(records), 1) + 1}")
    table.tableStyleInfo = TableStyleInfo(name="TableStyleLight9", showRowStripes=True)
    ws.add_table(table)
    ws.freeze_panes = "B2"


def _settings_sheet(ws: Worksheet, settings: Mapping[str, Any]) -> None:
    for column, title in enumerate(("key", "value", "項目", "説明"), start=1):
        cell = set_text(ws.cell(1, column), title)
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
    for row, f in enumerate(SETTINGS_FIELDS, start=2):
        set_text(ws.cell(row, 1), f.key)
        value = settings.get(f.key)
        if value not in (None, ""):
            set_text(ws.cell(row, 2), value)
        set_text(ws.cell(row, 3), f.label_ja + (" (必須)" if f.required else ""))
        set_text(ws.cell(row, 4), f.help)
    for letter, width in zip("ABCD", (22, 52, 20, 60), strict=True):
        ws.column_dimensions[letter].width = width


def _xlwings_conf(ws: Worksheet) -> None:
    """Point PYTHONPATH at the repository's udfs folder (see docs/INVOICING.md)."""
    for row in range(1, 20):
        if ws.cell(row, 1).value == "PYTHONPATH":
            set_formula(ws.cell(row, 2), UDFS_PYTHONPATH_FORMULA)
            set_text(ws.cell(row, 4), "xlquote: <this workbook's folder>/../udfs — replace with "
                     "the full path of the udfs folder if the workbook is moved")
            return
    raise ValueError("the xlwings template has no PYTHONPATH row")


# --- the button: a DrawingML shape with a macro, added to the saved package -----------------

DRAWING_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.drawing+xml"
DRAWING_REL_TYPE = f"{OFFICE_RELATIONSHIPS}/drawing"
# Elements that follow <drawing> in a worksheet (ECMA-376 CT_Worksheet order).
AFTER_DRAWING = ("<legacyDrawing", "<legacyDrawingHF", "<picture", "<oleObjects", "<controls",
                 "<webPublishItems", "<tableParts", "<extLst", "</worksheet>")


def button_drawing_xml(macro: str, text: str, name: str,
                       cells: tuple[int, int, int, int] = (3, 2, 5, 5)) -> str:
    """A rounded rectangle anchored over columns/rows (0-based from_col, from_row, to_col,
    to_row) that runs ``macro`` when clicked."""
    col1, row1, col2, row2 = cells
    return (
        f'{XML_DECLARATION}'
        '<xdr:wsDr xmlns:xdr="http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing" '
        'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main">'
        '<xdr:twoCellAnchor editAs="absolute">'
        f'<xdr:from><xdr:col>{col1}</xdr:col><xdr:colOff>0</xdr:colOff><xdr:row>{row1}</xdr:row>'
        '<xdr:rowOff>60000</xdr:rowOff></xdr:from>'
        f'<xdr:to><xdr:col>{col2}</xdr:col><xdr:colOff>0</xdr:colOff><xdr:row>{row2}</xdr:row>'
        '<xdr:rowOff>0</xdr:rowOff></xdr:to>'
        f'<xdr:sp macro="[0]!{escape(macro)}" textlink="">'
        f'<xdr:nvSpPr><xdr:cNvPr id="2" name="{escape(name)}" descr="{escape(text)}"/>'
        '<xdr:cNvSpPr/></xdr:nvSpPr>'
        '<xdr:spPr><a:xfrm><a:off x="0" y="0"/><a:ext cx="0" cy="0"/></a:xfrm>'
        '<a:prstGeom prst="roundRect"><a:avLst/></a:prstGeom>'
        '<a:solidFill><a:srgbClr val="2F6EBA"/></a:solidFill><a:ln><a:noFill/></a:ln></xdr:spPr>'
        '<xdr:txBody><a:bodyPr vertOverflow="clip" horzOverflow="clip" rtlCol="0" anchor="ctr"/>'
        '<a:lstStyle/><a:p><a:pPr algn="ctr"/><a:r>'
        '<a:rPr lang="ja-JP" altLang="en-US" sz="1400" b="1">'
        '<a:solidFill><a:srgbClr val="FFFFFF"/></a:solidFill>'
        '<a:latin typeface="IPAexGothic"/><a:ea typeface="IPAexGothic"/></a:rPr>'
        f'<a:t>{escape(text)}</a:t></a:r></a:p></xdr:txBody></xdr:sp>'
        '<xdr:clientData fPrintsWithSheet="0"/></xdr:twoCellAnchor></xdr:wsDr>'
    )


def _sheet_part(files: Mapping[str, bytes], sheet: str) -> str:
    """The zip path of the worksheet named ``sheet``."""
    workbook = files[WORKBOOK].decode()
    match = re.search(rf'<sheet [^>]*name="{re.escape(escape(sheet))}"[^>]*r:id="([^"]+)"',
                      workbook)
    if not match:
        raise ValueError(f"no sheet {sheet} in the workbook")
    rels = files[WORKBOOK_RELATIONSHIPS].decode()
    target = re.search(rf'<Relationship [^>]*Id="{match[1]}"[^>]*Target="([^"]+)"', rels) or \
        re.search(rf'<Relationship [^>]*Target="([^"]+)"[^>]*Id="{match[1]}"', rels)
    if not target:
        raise ValueError(f"sheet {sheet} has no part")
    return target[1].lstrip("/") if target[1].startswith("/xl/") else f"xl/{target[1]}"


def add_macro_button(path: Path, sheet: str, macro: str, text: str, name: str) -> None:
    """Add a macro button to ``sheet`` of the saved workbook at ``path`` (rewritten in place)."""
    with zipfile.ZipFile(path) as package:
        files = {info.filename: package.read(info) for info in package.infolist()}
    part = _sheet_part(files, sheet)
    folder, filename = part.rsplit("/", 1)
    rels_name = f"{folder}/_rels/{filename}.rels"
    sheet_xml = files[part].decode()
    if "<drawing " in sheet_xml:
        raise ValueError(f"sheet {sheet} already has a drawing")
    number = 1
    while f"xl/drawings/drawing{number}.xml" in files:
        number += 1
    drawing = f"xl/drawings/drawing{number}.xml"
    files[drawing] = button_drawing_xml(macro, text, name).encode()

    rels = files.get(rels_name, b"").decode() or (
        f'{XML_DECLARATION}<Relationships '
        f'xmlns="{PACKAGE_RELATIONSHIPS}"></Relationships>')
    rel_id = "rIdButton1"
    rels = rels.replace("</Relationships>", f'<Relationship Id="{rel_id}" Type="{DRAWING_REL_TYPE}" '
                        f'Target="../drawings/drawing{number}.xml"/></Relationships>')
    files[rels_name] = rels.encode()

    position = min(i for i in (sheet_xml.find(tag) for tag in AFTER_DRAWING) if i >= 0)
    if 'xmlns:r="' not in sheet_xml[:sheet_xml.find(">", sheet_xml.find("<worksheet"))]:
        sheet_xml = sheet_xml.replace(
            "<worksheet ", f'<worksheet xmlns:r="{OFFICE_RELATIONSHIPS}" ', 1)
        position = min(i for i in (sheet_xml.find(tag) for tag in AFTER_DRAWING) if i >= 0)
    files[part] = (sheet_xml[:position] + f'<drawing r:id="{rel_id}"/>'
                   + sheet_xml[position:]).encode()

    types = files["[Content_Types].xml"].decode()
    types = types.replace("</Types>", f'<Override PartName="/{drawing}" '
                          f'ContentType="{DRAWING_CONTENT_TYPE}"/></Types>')
    files["[Content_Types].xml"] = types.encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as package:
        for filename_in_zip, data in files.items():
            package.writestr(filename_in_zip, data)
