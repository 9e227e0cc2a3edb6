"""Hostile or broken workbook files are refused before any reader opens them, quickly."""

from __future__ import annotations

import re
import time
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from helpers import read_records

from xlquote.engine.errors import InputError
from xlquote.readers import guard, workbook
from xlquote.readers.guard import Limits, check_workbook_file
from xlquote.readers.sheet_layout import plain_layout
from xlquote.readers.workbook import REQUIRED_SHEETS


def good_workbook(path: Path) -> Path:
    wb = openpyxl.Workbook()
    wb.active["A1"] = "ok"
    wb.save(path)
    return path


def rewrite(source: Path, target: Path, replace: dict[str, bytes] | None = None,
            add: dict[str, bytes] | None = None) -> Path:
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w",
                                                          zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            data = (replace or {}).get(info.filename, old.read(info))
            new.writestr(info.filename, data)
        for name, data in (add or {}).items():
            new.writestr(name, data)
    return target


def refused(path: Path, limits: Limits | None = None) -> str:
    start = time.perf_counter()
    with pytest.raises(InputError) as caught:
        check_workbook_file(path, limits or Limits())
    assert time.perf_counter() - start < 5
    (problem,) = caught.value.problems
    assert problem.value == path.name
    return problem.reason


def test_a_good_workbook_passes(tmp_path: Path) -> None:
    check_workbook_file(good_workbook(tmp_path / "ok.xlsx"))


def test_not_a_workbook(tmp_path: Path) -> None:
    text = tmp_path / "invoices.xlsx"
    text.write_text("contract_id,customer\nC1,A\n", encoding="utf-8")
    assert "Excel のブック (.xlsx / .xlsm) ではありません" in refused(text)
    assert "ファイルが見つかりません" in refused(tmp_path / "absent.xlsx")
    other_zip = tmp_path / "other.xlsx"
    with zipfile.ZipFile(other_zip, "w") as z:
        z.writestr("readme.txt", "hello")
    assert "xl/workbook.xml がありません" in refused(other_zip)


def test_old_xls_or_encrypted(tmp_path: Path) -> None:
    xls = tmp_path / "old.xls"
    xls.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512)
    assert ".xls、Excel 97-2003" in refused(xls)


def test_zip_bomb(tmp_path: Path) -> None:
    bomb = rewrite(good_workbook(tmp_path / "ok.xlsx"), tmp_path / "bomb.xlsx",
                   add={"xl/media/padding.bin": b"\0" * (64 * 2**20)})
    assert "xl/media/padding.bin" in refused(bomb) and "zip 爆弾" in refused(bomb)


def test_total_size_limit(tmp_path: Path) -> None:
    path = good_workbook(tmp_path / "ok.xlsx")
    assert "上限 100 バイト" in refused(path, Limits(max_uncompressed_bytes=100))


def test_a_sheet_read_past_the_sheet_size_limit(tmp_path: Path) -> None:
    """A sheet xlquote reads is refused past ``max_sheet_bytes`` inflated (naming it); the
    sheets it does not read are not held to it."""
    path = Path(__file__).parent / "data" / "hostile" / "original.xlsm"
    with zipfile.ZipFile(path) as archive:
        limit = archive.getinfo("xl/worksheets/sheet4.xml").file_size - 1  # Incidents, the largest
    with pytest.raises(InputError) as caught:
        check_workbook_file(path, Limits(max_sheet_bytes=limit), sheets=REQUIRED_SHEETS)
    (problem,) = caught.value.problems
    assert problem.reason.startswith("シート Incidents が大きすぎます")
    assert f"上限 {limit:,} バイト" in problem.reason
    check_workbook_file(path, Limits(max_sheet_bytes=limit))  # no sheet read: no limit
    check_workbook_file(path, Limits(max_sheet_bytes=limit + 1), sheets=REQUIRED_SHEETS)


def test_entity_expansion(tmp_path: Path) -> None:
    ok = good_workbook(tmp_path / "ok.xlsx")
    with zipfile.ZipFile(ok) as z:
        sheet = z.read("xl/worksheets/sheet1.xml")
    laughs = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
              b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>')
    evil = rewrite(ok, tmp_path / "evil.xlsx",
                   replace={"xl/worksheets/sheet1.xml": laughs + sheet})
    assert "xl/worksheets/sheet1.xml に DTD か XML エンティティ" in refused(evil)


def test_a_sheet_claiming_a_million_columns(tmp_path: Path) -> None:
    ok = good_workbook(tmp_path / "ok.xlsx")
    with zipfile.ZipFile(ok) as z:
        sheet = z.read("xl/worksheets/sheet1.xml")
    wide = re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:BDWGN1"', sheet)
    assert wide != sheet
    reason = refused(rewrite(ok, tmp_path / "wide.xlsx",
                             replace={"xl/worksheets/sheet1.xml": wide}))
    assert "1 行 × 1,000,000 列" in reason


def test_damaged_archive(tmp_path: Path) -> None:
    ok = good_workbook(tmp_path / "ok.xlsx")
    data = ok.read_bytes()
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(data[: len(data) // 2])
    assert "ブック (.xlsx / .xlsm) ではありません" in refused(broken) or "壊れて" in refused(broken)


def test_a_dtd_after_padding_or_a_broken_workbook_part_is_refused(tmp_path: Path) -> None:
    ok = good_workbook(tmp_path / "ok.xlsx")
    with zipfile.ZipFile(ok) as z:
        workbook_xml = z.read("xl/workbook.xml")
    # a DTD placed after 4 KiB of padding escapes the prologue scan, not the XML parser
    padded = b'<?xml version="1.0"?>' + b"<!--" + b" " * 5000 + b"-->" + \
        b'<!DOCTYPE w [<!ENTITY e "x">]>' + re.sub(rb"^<\?xml[^>]*\?>", b"", workbook_xml)
    evil = rewrite(ok, tmp_path / "evil.xlsx", replace={"xl/workbook.xml": padded})
    assert "xl/workbook.xml に DTD" in refused(evil)
    broken = rewrite(ok, tmp_path / "broken.xlsx", replace={"xl/workbook.xml": b"<workbook"})
    assert "xl/workbook.xml の XML が壊れています" in refused(broken)


def test_parts_read_whole_are_bounded_in_size_elements_and_depth(tmp_path: Path) -> None:
    """[Content_Types].xml, the workbook, its relationships and the styles are parsed whole
    into a tree by every reader: past 16 MiB or 200,000 elements and attributes (600,000 in
    the styles), or nested past libxml2's bound, they are refused before any reader parses
    them (a 1 GB padded part cost 2-3 GB; a 1 MB part nested 20 million deep, 5.7 GB; 2.4
    million attributes on a few elements, 1.24 GB)."""
    ok = good_workbook(tmp_path / "ok.xlsx")
    with zipfile.ZipFile(ok) as z:
        parts = {name: z.read(name) for name in z.namelist()}
    small = Limits(max_whole_part_bytes=len(parts["xl/styles.xml"]) + 100,
                   max_whole_part_nodes=10_000, max_styles_nodes=10_000)
    check_workbook_file(ok, small)
    for part in ("[Content_Types].xml", "xl/workbook.xml", "xl/_rels/workbook.xml.rels",
                 "xl/styles.xml"):
        root_end = parts[part].rindex(b"</")
        padding = b"<!--" + b" " * small.max_whole_part_bytes + b"-->"
        padded = parts[part][:root_end] + padding + parts[part][root_end:]
        reason = refused(rewrite(ok, tmp_path / "big.xlsx", replace={part: padded}), small)
        assert f"部品 {part} が大きすぎます" in reason and "上限" in reason
        for extra in (b"<x/>" * 10_001, b'<x a0="" ' + b" ".join(
                b'a%d=""' % n for n in range(1, 10_001)) + b"/>"):
            many = parts[part][:root_end] + extra + parts[part][root_end:]
            reason = refused(rewrite(ok, tmp_path / "many.xlsx", replace={part: many}),
                             Limits(max_whole_part_nodes=10_000, max_styles_nodes=20_000)
                             if part != "xl/styles.xml" else
                             Limits(max_whole_part_nodes=20_000, max_styles_nodes=10_000))
            assert f"部品 {part} の要素と属性が多すぎます" in reason
    root_end = parts["[Content_Types].xml"].rindex(b"</")
    deep = (parts["[Content_Types].xml"][:root_end] + b"<x>" * 300 + b"</x>" * 300
            + parts["[Content_Types].xml"][root_end:])
    reason = refused(rewrite(ok, tmp_path / "deep.xlsx", replace={"[Content_Types].xml": deep}))
    assert "[Content_Types].xml の XML が壊れています" in reason and "depth" in reason
    # the styles part as the workbook's relationships name it, under another name
    moved = parts["xl/_rels/workbook.xml.rels"].replace(b'Target="styles.xml"',
                                                        b'Target="looks.xml"')
    assert moved != parts["xl/_rels/workbook.xml.rels"]
    styles_end = parts["xl/styles.xml"].rindex(b"</")
    for looks, verdict in ((parts["xl/styles.xml"], None), (
            parts["xl/styles.xml"][:styles_end] + b"<x/>" * 10_001
            + parts["xl/styles.xml"][styles_end:], "部品 xl/looks.xml の要素と属性が多すぎます")):
        renamed = tmp_path / "renamed.xlsx"
        with zipfile.ZipFile(renamed, "w") as z:
            for name, data in parts.items():
                z.writestr("xl/looks.xml" if name == "xl/styles.xml" else name,
                           looks if name == "xl/styles.xml" else
                           moved if name == "xl/_rels/workbook.xml.rels" else data)
        if verdict is None:
            check_workbook_file(renamed, Limits(max_styles_nodes=10_000))
        else:
            assert verdict in refused(renamed, Limits(max_styles_nodes=10_000))


def test_a_doctype_the_declaration_scan_missed_is_still_refused(tmp_path: Path) -> None:
    from xlquote.readers import guard

    with pytest.raises(InputError, match="DTD か XML エンティティ"):
        guard._parse_whole(tmp_path / "x.xlsx", "xl/workbook.xml",
                           b'<!DOCTYPE w [<!ENTITY e "x">]><w>&e;</w>')


SHARED_STRINGS_TYPE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"


def shared_string_workbook(path: Path, cells: int, text: str, cell: str = '<c r="A{row}" '
                           't="s"><v>{index}</v></c>', sst: str | None = None,
                           first_row: str = "") -> Path:
    """A workbook whose first sheet holds ``cells`` cells (``cell``: their XML) referencing
    shared string 1 (``text``; string 0 is 'x')."""
    good_workbook(path)
    with zipfile.ZipFile(path) as archive:
        sheet = archive.read("xl/worksheets/sheet1.xml").decode()
        rels = archive.read("xl/_rels/workbook.xml.rels").decode()
    rows = "".join(f'<row r="{row}">{cell.format(row=row, index=1)}</row>'
                   for row in range(2, cells + 2))
    sheet = re.sub(r"<sheetData>.*</sheetData>|<sheetData/>",
                   f'<sheetData><row r="1">{first_row}<c r="A1" t="s"><v>0</v></c></row>'
                   f"{rows}</sheetData>", sheet, flags=re.S)
    rels = rels.replace("</Relationships>", f'<Relationship Id="rId99" Type="{SHARED_STRINGS_TYPE}"'
                        ' Target="strings/texts.xml"/></Relationships>')
    items = sst or f"<si><t>x</t></si><si><t>{text}</t></si>"
    return rewrite(path, path.with_name("shared.xlsx"), {
        "xl/worksheets/sheet1.xml": sheet.encode(), "xl/_rels/workbook.xml.rels": rels.encode()},
        {"xl/strings/texts.xml": ('<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
                                  f'2006/main">{items}</sst>').encode()})


def survey(path: Path) -> Any:
    return check_workbook_file(path, sheets=["Sheet"])


def test_shared_strings_are_measured_cell_by_cell(tmp_path: Path) -> None:
    # 2,000 cells of a 1 KB string (2 MB expanded, within the budget), and one short.
    checked = survey(shared_string_workbook(tmp_path / "ok.xlsx", 2_000, "a" * 1000))
    assert checked.plain_sheets == {"xl/worksheets/sheet1.xml"}
    assert 2_000 * 1000 <= checked.shared_text < 2_000 * 1000 * 1.01


@pytest.mark.parametrize("cell", [
    '<c r="A{row}" t="s"><v>{index}</v></c>',  # as Excel writes it
    "<c r='A{row}' t = 's' ><v>{index}</v></c>",  # quoted and spaced otherwise
    '<c r="A{row}" t="s" s="0"><v> {index} </v></c>',  # attributes after the type
    '<c r="A{row}" t="s"><f>A1</f><v>{index}</v></c>',  # a formula: read cell by cell
])
def test_a_shared_string_bomb_is_refused_whichever_way_its_cells_are_written(
        tmp_path: Path, cell: str) -> None:
    # 3,000 cells of one 100 KB string: 300 MB once expanded, 100 KB stored.
    book = shared_string_workbook(tmp_path / "bomb.xlsx", 3_000, "あ" * 34_000, cell)
    with pytest.raises(InputError) as caught:
        survey(book)
    (problem,) = caught.value.problems
    assert problem.value == book.name
    assert "シート Sheet までの共有文字列を展開すると 306," in problem.reason
    assert "共有文字列爆弾の疑い" in problem.reason


def test_a_bomb_string_hidden_behind_a_comment_is_measured_as_the_whole_part(
        tmp_path: Path) -> None:
    # The comment could hide or fake where an item starts: every string costs the whole part.
    items = "<si><t>x</t></si><!-- <si> --><si><t>" + "a" * 100_000 + "</t></si>"
    with pytest.raises(InputError, match="共有文字列爆弾"):
        survey(shared_string_workbook(tmp_path / "bomb.xlsx", 3_000, "", sst=items))


def test_items_in_another_namespace_cannot_shift_the_bomb_string(tmp_path: Path) -> None:
    # Items a reader may skip (another namespace) shift the real ones: each is bounded by the
    # longest of it and every later item.
    items = ('<si><t>x</t></si><o:si xmlns:o="urn:other"><t>y</t></o:si><si><t>'
             + "a" * 100_000 + "</t></si>")
    with pytest.raises(InputError, match="共有文字列爆弾"):
        survey(shared_string_workbook(tmp_path / "bomb.xlsx", 3_000, "", sst=items))


def test_a_workbook_without_shared_strings_is_not_measured(tmp_path: Path) -> None:
    checked = survey(good_workbook(tmp_path / "ok.xlsx"))
    assert checked.shared_strings is None and checked.shared_text == 0


def test_the_cells_of_the_sheets_read_are_counted_and_bounded() -> None:
    """The survey counts each sheet's cells: sheets past ``max_sheet_cells`` together are
    refused before any read, naming the one that passes it; past ``max_cell_by_cell``, only
    those to be read cell by cell (a crafted sheet of small cells is read at ~7 µs and ~150
    bytes a cell that way)."""
    path = Path(__file__).parent / "data" / "hostile" / "original.xlsm"
    checked = check_workbook_file(path, sheets=REQUIRED_SHEETS)
    with zipfile.ZipFile(path) as archive:
        incidents = archive.read(checked.sheet_parts["Incidents"])
    cells = len(re.findall(rb"<c[ >/]", incidents))
    assert checked.cells[checked.sheet_parts["Incidents"]] == cells > 100
    total = sum(checked.cells.values())
    with pytest.raises(InputError) as caught:
        check_workbook_file(path, Limits(max_sheet_cells=total - 1), sheets=REQUIRED_SHEETS)
    (problem,) = caught.value.problems
    assert "のセルが多すぎます (" in problem.reason and f"上限 {total - 1:,} 個" in problem.reason
    check_workbook_file(path, Limits(max_sheet_cells=total), sheets=REQUIRED_SHEETS)
    strict = check_workbook_file(path, Limits(max_cell_by_cell=cells), sheets=REQUIRED_SHEETS)
    strict.check_cell_by_cell("Incidents")
    with pytest.raises(InputError) as caught:  # the two together pass it
        strict.check_cell_by_cell("Packs")
    (problem,) = caught.value.problems
    assert (problem.sheet, problem.field) == ("Packs", "(sheet)")
    assert f"1 セルずつ読むシートの合計 {cells + strict.cells[strict.sheet_parts['Packs']]:,} 個" \
        in problem.reason


def test_the_reader_refuses_big_sheets_only_where_it_would_read_them_cell_by_cell(monkeypatch):
    path = Path(__file__).parent / "data" / "hostile" / "original.xlsm"
    checked = check_workbook_file(path, sheets=REQUIRED_SHEETS)
    most = sum(checked.cells.values()) - 1  # every sheet read cell by cell: just past it
    real = workbook.check_workbook_file
    monkeypatch.setattr(workbook, "check_workbook_file", lambda path, limits=None, **given: real(
        path, Limits(max_cell_by_cell=most), **given))
    workbook.read_invoicing_workbook(path, "fastexcel")  # typed but Settings: not held to it
    with pytest.raises(InputError) as caught:
        workbook.read_invoicing_workbook(path, "cells")
    (problem,) = caught.value.problems
    assert problem.field == "(sheet)" and f"上限 {most:,} 個" in problem.reason


def test_shared_strings_past_their_item_or_size_limit_are_refused() -> None:
    """Every reader loads every shared string, whichever cells point at them: a workbook of 19
    million tiny ones (47 MB) took 174 s and 2.6 GB before their count was limited."""
    path = Path(__file__).parent / "data" / "hostile" / "shared_string_phonetic.xlsm"  # 1 item
    checked = check_workbook_file(path, Limits(max_shared_strings=1), sheets=REQUIRED_SHEETS)
    assert checked.shared_strings is not None and checked.shared_strings.items == 1
    with pytest.raises(InputError) as caught:
        check_workbook_file(path, Limits(max_shared_strings=0), sheets=REQUIRED_SHEETS)
    assert "共有文字列が多すぎます" in caught.value.problems[0].reason
    with zipfile.ZipFile(path) as archive:
        size = archive.getinfo("xl/sharedStrings.xml").file_size
    check_workbook_file(path, Limits(max_shared_strings_bytes=size), sheets=REQUIRED_SHEETS)
    with pytest.raises(InputError) as caught:
        check_workbook_file(path, Limits(max_shared_strings_bytes=size - 1), sheets=REQUIRED_SHEETS)
    assert f"{size:,} バイト" in caught.value.problems[0].reason


def test_the_declaration_scan_costs_nothing_per_exclamation_mark(tmp_path: Path) -> None:
    """A part of nothing but '!' (which once cost Python time each: 16 MiB took 9 s, and a
    190 KB workbook of eight such parts 75 s) is scanned at C speed; a declaration after
    them is still found, in UTF-8 or UTF-16."""
    from xlquote.readers.guard import _DeclarationScan

    bangs = b"!" * (8 * 2**20)
    start = time.perf_counter()
    _DeclarationScan(tmp_path / "x.xlsx", "xl/unread.xml").feed(bangs)
    assert time.perf_counter() - start < 1
    for data in (bangs + b"<!ENTITY e 'x'>", ("!" * 1000 + "<!DOCTYPE w>").encode("utf-16")):
        with pytest.raises(InputError, match="DTD か XML エンティティ"):
            _DeclarationScan(tmp_path / "x.xlsx", "xl/unread.xml").feed(data)


def surveyed_along(path: Path, limits: Limits | None = None) -> tuple[Any, Any, bool]:
    """The first sheet checked as the typed reader checks a deferred sheet: surveyed in the
    layout check's pass over it. Returns the check, the survey made along, and whether the pass
    settled the sheet."""
    checked = check_workbook_file(path, limits or Limits(), sheets=["Sheet"], defer=["Sheet"])
    along = checked.survey_along("Sheet")
    assert along is not None and checked.deferred == {"xl/worksheets/sheet1.xml"}
    return checked, along, plain_layout(along.blocks(), None, along.charge) and along.settle()


def test_the_typed_readers_pass_surveys_a_deferred_sheet_as_the_survey_does(
        tmp_path: Path) -> None:
    book = shared_string_workbook(tmp_path / "ok.xlsx", 2_000, "a" * 1000)
    checked, _, settled = surveyed_along(book)
    surveyed = survey(book)
    assert settled and not checked.deferred
    assert checked.plain_sheets == surveyed.plain_sheets == {"xl/worksheets/sheet1.xml"}
    assert checked.cells == surveyed.cells == {"xl/worksheets/sheet1.xml": 2_001}
    assert checked.shared_text == surveyed.shared_text >= 2_000 * 1000


@pytest.mark.parametrize("case", ["a formula", "too many cells", "too much shared text"])
def test_what_the_typed_readers_pass_cannot_settle_is_left_to_the_survey(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str) -> None:
    """A formula, or a limit the sheet would pass: the pass does not settle the sheet, and
    ``check_deferred`` surveys it, refusing it as on every read path."""
    cell = '<c r="A{row}" t="s"><f>A1</f><v>{index}</v></c>' if case == "a formula" else (
        '<c r="A{row}" t="s"><v>{index}</v></c>')
    book = shared_string_workbook(tmp_path / "book.xlsx", 2_000, "a" * 1000, cell)
    limits = Limits(max_sheet_cells=2_000) if case == "too many cells" else Limits()
    if case == "too much shared text":
        monkeypatch.setattr(guard, "SHARED_TEXT_BUDGET", 1_000_000)
    checked, along, settled = surveyed_along(book, limits)
    assert not settled and not along.settle()  # not even when asked again
    assert checked.deferred == {"xl/worksheets/sheet1.xml"}
    assert not checked.plain_sheets and not checked.cells and checked.shared_text == 0
    if case == "a formula":  # read cell by cell
        assert not checked.check_deferred(["Sheet"]).plain_sheets and not checked.deferred
        return
    with pytest.raises(InputError) as caught:
        checked.check_deferred(["Sheet"])
    (problem,) = caught.value.problems
    assert ("のセルが多すぎます (2,001 個" if case == "too many cells"
            else "共有文字列爆弾の疑い") in problem.reason


def test_the_big_sheet_is_surveyed_in_the_typed_readers_own_pass(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Read typed, the Incidents sheet is not surveyed in a pass of its own (one pass of its
    bytes saved); read cell by cell, it is, before the cells are read."""
    path = Path(__file__).parent / "data" / "hostile" / "original.xlsm"
    surveyed: list[str] = []
    real = guard._survey_plain

    def recorded(path: Path, raw: Any, info: zipfile.ZipInfo, *rest: Any) -> Any:
        surveyed.append(info.filename)
        return real(path, raw, info, *rest)

    monkeypatch.setattr(guard, "_survey_plain", recorded)
    incidents = check_workbook_file(path, sheets=REQUIRED_SHEETS).sheet_parts["Incidents"]
    surveyed.clear()
    typed = workbook.read_invoicing_workbook(path, "fastexcel")
    assert surveyed and incidents not in surveyed
    surveyed.clear()
    assert read_records(workbook.read_invoicing_workbook(path, "cells")) == read_records(typed)
    assert incidents in surveyed


@pytest.mark.parametrize("formula_last", [False, True])
def test_a_sheet_of_several_blocks_is_surveyed_along_within_the_surveys_own_counts(
        tmp_path: Path, formula_last: bool) -> None:
    """A sheet inflated in several blocks (~9 MB): the pass along counts every cell and at least
    the shared text the survey counts (it may count a cell cut where blocks meet, which the
    survey leaves out), so that it settles nothing the survey would refuse; a formula in the
    last row, blocks on, leaves the sheet to the survey."""
    book = shared_string_workbook(tmp_path / "big.xlsx", 200_000, "a" * 10)
    if formula_last:
        with zipfile.ZipFile(book) as archive:
            sheet = archive.read("xl/worksheets/sheet1.xml")
        last = sheet.rindex(b'<c r="A200001"')
        sheet = sheet[:last] + b'<c r="A200001" t="s"><f>A1</f><v>1</v></c></row></sheetData>' \
            + sheet[sheet.index(b"</sheetData>") + len(b"</sheetData>"):]
        book = rewrite(book, tmp_path / "formula.xlsx", {"xl/worksheets/sheet1.xml": sheet})
    checked, _, settled = surveyed_along(book)
    surveyed = survey(book)
    part = "xl/worksheets/sheet1.xml"
    assert (part in surveyed.plain_sheets) is (not formula_last) is settled
    if settled:
        assert checked.cells[part] == 200_001 >= surveyed.cells[part] > 199_000
        assert checked.shared_text >= surveyed.shared_text >= 200_000 * 10


@pytest.mark.parametrize(("text", "settled"), [
    ("<t>memo:c x</t>", True),  # the survey's prefix pattern matches inside text: cell by cell
    ("<r><f>x</f><t>a</t></r>", False),  # a formula's name deeper in a cell: not laid out plainly
])
def test_the_pass_along_judges_text_and_deeper_elements(tmp_path: Path, text: str,
                                                        settled: bool) -> None:
    book = shared_string_workbook(tmp_path / "inline.xlsx", 10, "",
                                  '<c r="A{row}" t="inlineStr"><is>' + text + "</is></c>")
    assert not survey(book).plain_sheets
    assert surveyed_along(book)[2] is settled
