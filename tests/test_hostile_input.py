"""Hostile and broken input through ``xlquote invoice``: every case is a clear error
(exit 2, naming what is wrong), never a traceback, in bounded time, and nothing is written."""

from __future__ import annotations

import json
import re
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from xlquote.app.sample import sample_contracts, sample_incidents, sample_packs, sample_settings
from xlquote.app.workbooks.invoicing import write_invoicing_workbook
from xlquote.cli import main

MONTH = "2026-10"
Rows = list[dict[str, Any]]


def sample_book(path: Path, edit: Callable[[Rows, Rows], None] | None = None) -> Path:
    contracts, incidents = sample_contracts(), sample_incidents()
    if edit:
        edit(contracts, incidents)
    return write_invoicing_workbook(path, contracts, incidents, sample_packs(),
                                    sample_settings())


def run_json(book: Path, out: Path, capsys) -> tuple[int, dict[str, Any], str]:
    start = time.perf_counter()
    code = main(["invoice", str(book), "--month", MONTH, "--out", str(out), "--json"])
    assert time.perf_counter() - start < 30
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    return code, json.loads(captured.out), captured.err


def refused(book: Path, tmp_path: Path, capsys) -> list[dict[str, Any]]:
    out = tmp_path / "out"
    code, result, _ = run_json(book, out, capsys)
    assert code == 2 and result["status"] == "invalid"
    assert not out.exists()  # nothing written, not even a folder
    return result["problems"]


def rewrite_part(book: Path, target: Path, part: str,
                 change: Callable[[bytes], bytes] | None = None,
                 add: dict[str, bytes] | None = None) -> Path:
    with zipfile.ZipFile(book) as old, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            data = old.read(info)
            if info.filename == part and change:
                data = change(data)
            new.writestr(info.filename, data)
        for name, data in (add or {}).items():
            new.writestr(name, data)
    return target


def incidents_part(book: Path) -> str:
    wb = openpyxl.load_workbook(book, read_only=True)
    index = wb.sheetnames.index("Incidents") + 1
    return f"xl/worksheets/sheet{index}.xml"


def test_not_an_xlsx(tmp_path, capsys):
    fake = tmp_path / "invoicing.xlsx"
    fake.write_text("contract_id,customer\nC1,x\n", encoding="utf-8")
    (problem,) = refused(fake, tmp_path, capsys)
    assert (problem["column"], problem["value"]) == ("file", "invoicing.xlsx")
    assert "Excel のブック (.xlsx / .xlsm) ではありません" in problem["reason"]


def test_zip_bomb(tmp_path, capsys):
    book = sample_book(tmp_path / "ok.xlsx")
    bomb = rewrite_part(book, tmp_path / "bomb.xlsx", "",
                        add={"xl/media/image1.bin": b"\0" * (200 * 2**20)})
    (problem,) = refused(bomb, tmp_path, capsys)
    assert "xl/media/image1.bin" in problem["reason"] and "zip 爆弾" in problem["reason"]


def test_xml_entity_expansion(tmp_path, capsys):
    book = sample_book(tmp_path / "ok.xlsx")
    lol = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">'
           b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>')
    evil = rewrite_part(book, tmp_path / "evil.xlsx", incidents_part(book),
                        lambda xml: lol + re.sub(rb"^<\?xml[^>]*\?>", b"", xml))
    (problem,) = refused(evil, tmp_path, capsys)
    assert "DTD か XML エンティティ" in problem["reason"]


def test_a_sheet_claiming_a_million_columns(tmp_path, capsys):
    book = sample_book(tmp_path / "ok.xlsx")
    wide = rewrite_part(book, tmp_path / "wide.xlsx", incidents_part(book),
                        lambda xml: re.sub(rb'<dimension ref="[^"]*"',
                                           b'<dimension ref="A1:BDWGN5"', xml))
    (problem,) = refused(wide, tmp_path, capsys)
    assert "1,000,000 列" in problem["reason"]


def test_missing_sheet_and_missing_header(tmp_path, capsys):
    book = sample_book(tmp_path / "ok.xlsx")
    wb = openpyxl.load_workbook(book)
    del wb["Packs"]
    incidents = wb["Incidents"]
    for cell in incidents[1]:
        if cell.value == "channel":
            cell.value = "kanal"
    wb.save(tmp_path / "broken.xlsx")
    problems = refused(tmp_path / "broken.xlsx", tmp_path, capsys)
    found = [(p["sheet"], p["row"], p["column"]) for p in problems]
    assert found == [("Incidents", 1, "channel"), ("Packs", None, "(sheet)")]
    assert "必須の列がありません" in problems[0]["reason"]
    assert "シート Packs がないか、空です" in problems[1]["reason"]


CASES: dict[str, tuple[Callable[[Rows, Rows], None], str, str, str]] = {
    "wrong type": (lambda c, i: i[0].update(minutes="ten"), "Incidents", "minutes",
                   "数値として読めません"),
    "negative": (lambda c, i: i[1].update(round_trips=-3), "Incidents", "round_trips",
                 "0 以上にしてください"),
    "huge": (lambda c, i: i[2].update(minutes=1e15), "Incidents", "minutes",
             "100,000 以下にしてください"),
    "date as text": (lambda c, i: i[0].update(opened="昨日"), "Incidents", "opened",
                     "日付として読めません"),
    "future date": (lambda c, i: i[0].update(closed="2099-01-01"), "Incidents", "closed",
                    "未来の日付です"),
    "duplicate id": (lambda c, i: i[3].update(incident_id=i[2]["incident_id"]), "Incidents",
                     "incident_id", "4行目と重複しています"),
    "unknown contract": (lambda c, i: i[0].update(contract_id="C999"), "Incidents",
                         "contract_id", "契約一覧 (Contracts) にない契約ID"),
    "control character": (lambda c, i: c[0].update(customer="株式会社_x0007_テスト"),
                          "Contracts", "customer", "制御文字 (U+0007)"),
    # at either end too: str.strip() would have dropped these as spaces
    "control character at the end": (lambda c, i: c[0].update(customer="株式会社テスト_x001F_"),
                                     "Contracts", "customer", "制御文字 (U+001F)"),
    "control character at the start": (lambda c, i: c[0].update(customer="_x000B_株式会社テスト"),
                                       "Contracts", "customer", "制御文字 (U+000B)"),
    "negative fee limit": (lambda c, i: c[0].update(fee_limit=-100), "Contracts", "fee_limit",
                           "0 以上にしてください"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_cells_are_named_by_sheet_row_and_column(case, tmp_path, capsys):
    edit, sheet, field, reason = CASES[case]
    problems = refused(sample_book(tmp_path / "bad.xlsx", edit), tmp_path, capsys)
    assert any(p["sheet"] == sheet and p["column"] == field and reason in p["reason"]
               and isinstance(p["row"], int) and p["row"] >= 2 for p in problems), problems


def test_several_bad_rows_are_reported_together(tmp_path, capsys):
    def edit(contracts: Rows, incidents: Rows) -> None:
        for case in ("wrong type", "negative", "duplicate id", "unknown contract"):
            CASES[case][0](contracts, incidents)

    problems = refused(sample_book(tmp_path / "bad.xlsx", edit), tmp_path, capsys)
    assert {p["column"] for p in problems} >= {"minutes", "round_trips", "incident_id"}


def test_formula_looking_text_is_billed_as_text(tmp_path, capsys):
    def edit(contracts: Rows, incidents: Rows) -> None:
        contracts[0]["customer"] = "=cmd|' /C calc'!A0"
        by_id = {row["incident_id"]: row for row in incidents}
        by_id["I-1001"]["description"] = "@SUM(1+1)"  # C001's October incidents
        by_id["I-1002"]["description"] = "+81-3-0000-0000 から電話"

    out = tmp_path / "out"
    code, result, _ = run_json(sample_book(tmp_path / "text.xlsx", edit), out, capsys)
    assert code == 1 and result["invoice_count"] == 17  # C004 held, V001 a statement
    (path,) = (out / MONTH).glob("*_C001_*.xlsx")
    wb = openpyxl.load_workbook(path)
    assert wb["請求書"]["A3"].value == "=cmd|' /C calc'!A0 御中"
    statement = {c.value for row in wb["明細"].iter_rows() for c in row}
    assert "@SUM(1+1)" in statement and "+81-3-0000-0000 から電話" in statement
    for row in wb["明細"].iter_rows():
        for cell in row:
            assert cell.data_type != "f", cell.coordinate  # no formula anywhere


def test_a_pile_of_children_under_one_element_is_dropped_as_it_is_read(tmp_path):
    """Three million children of one dataValidation after sheetData (33 MB of XML in a
    ~0.2 MB file): the cell-by-cell reader drops what has ended after each block it parses
    (they once stayed until their parent ended: 2.5 GB for 200 MB). The month is billed."""
    import random
    import subprocess
    import sys

    book = sample_book(tmp_path / "book.xlsx")
    noise = random.Random(7)  # deflated past the guard's 200× it would be refused as a bomb
    pile = b"<dataValidations><dataValidation>" + b"".join(
        b"<formula2/>" * 99 + b'<formula2 a="%08x"/>' % noise.getrandbits(32)
        for _ in range(30_000)) + b"</dataValidation></dataValidations>"
    piled = rewrite_part(book, tmp_path / "piled.xlsx", incidents_part(book),
                         lambda xml: xml.replace(b"</sheetData>", b"</sheetData>" + pile, 1))
    # the peak of this process's own memory (ru_maxrss would keep the forking parent's)
    script = ("import re, sys; from xlquote.readers.workbook import read_invoicing_workbook;"
              "data = read_invoicing_workbook(sys.argv[1], 'cells'); peak = re.search("
              "r'VmHWM:\\s*(\\d+)', open('/proc/self/status').read()).group(1); "
              "print(len(data.incidents), peak)")
    count, peak_kb = map(int, subprocess.run([sys.executable, "-c", script, str(piled)],
                                             capture_output=True, text=True,
                                             check=True).stdout.split())
    assert count == len(sample_incidents())
    assert peak_kb < 350 * 1024  # the pile alone held ~420 MB


def test_strays_in_sheet_data_are_named_wherever_a_block_ends(tmp_path, capsys, monkeypatch):
    """Elements in sheetData that are not rows are named whether the next row or the end of
    a parsed block comes first (blocks of 64 bytes here: every stray ends a block)."""
    from xlquote.readers import cells

    book = sample_book(tmp_path / "book.xlsx")
    strayed = rewrite_part(book, tmp_path / "strayed.xlsx", incidents_part(book),
                           lambda xml: re.sub(rb"(<row r=\"5\")", rb"<x/><y/>\1", xml, count=1))
    whole = [(p["row"], p["value"]) for p in refused(strayed, tmp_path, capsys)]
    monkeypatch.setattr(cells, "PARSE_BLOCK", 64)
    assert sorted((p["row"], p["value"]) for p in refused(strayed, tmp_path, capsys)) in (
        sorted(whole), sorted([(4, "<x>"), (4, "<y>")]))
    assert whole and {value for _, value in whole} == {"<x>", "<y>"}


def test_a_row_holding_more_elements_than_columns_is_refused(tmp_path, capsys):
    """A row read whole holds at most Excel's 16,384 cells: one holding 40,000 elements is
    refused as it is read (a pile inside a row would otherwise stay until the row ends)."""
    book = sample_book(tmp_path / "book.xlsx")
    crowded = rewrite_part(book, tmp_path / "crowded.xlsx", incidents_part(book),
                           lambda xml: re.sub(rb"(<row r=\"5\"[^>]*>)", rb"\1" + b"<x/>" * 40_000,
                                              xml, count=1))
    [problem] = refused(crowded, tmp_path, capsys)
    assert "<row> の中に 32,768 個を超える要素があります" in problem["reason"]
