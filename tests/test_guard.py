"""Hostile or broken workbook files are refused before any reader opens them, quickly."""

from __future__ import annotations

import re
import time
import zipfile
from pathlib import Path

import openpyxl
import pytest

from xlquote.engine.errors import InputError
from xlquote.readers.guard import Limits, check_workbook_file


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


def test_workbook_part_is_parsed_with_defusedxml(tmp_path: Path) -> None:
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
