"""The check that lets the typed reader's result be used: the sheet's XML laid out as both
readers read it alike, rows and cells each stored once, in order
(``xlquote/readers/sheet_layout.py``). Every sheet is fed in blocks of many sizes, so that tags
cut at every place between blocks are read the same."""

from __future__ import annotations

import pytest

from xlquote.readers import sheet_layout
from xlquote.readers.sheet_layout import plain_layout

BLOCK_SIZES = (1, 2, 3, 5, 7, 11, 23, 24, 25, 31, 64, 100, 997, 4096, 10**9)


def cell(ref: str, value: str = "1", attributes: str = ' t="n"') -> str:
    return f'<c r="{ref}"{attributes}><v>{value}</v></c>'


def text(ref: str, value: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{value}</t></is></c>'


def sheet(rows: str, before: str = "", after: str = "") -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            f'<dimension ref="A1:Z9"/><cols><col min="1" max="3" width="9"/></cols>{before}'
            f"<sheetData>{rows}</sheetData>{after}<pageMargins left=\"0.7\"/></worksheet>"
            ).encode()


DATE_STYLE = ' s="3" t="n"'
RICH_TEXT = '<r><rPr><color rgb="FF0000"/></rPr><t>x</t></r>'  # '<r' and '<c' of no row or cell


def rich(ref: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is>{RICH_TEXT}<rPh sb="0" eb="1"><t>x</t></rPh></is></c>'


def plain_rows(count: int = 300, start: int = 1) -> str:
    return "".join(f'<row r="{n}" spans="1:3">{text(f"A{n}", f"I-{n}")}{cell(f"B{n}", str(n))}'
                   f'{cell(f"D{n}", "2.5", DATE_STYLE)}{rich(f"E{n}")}</row>'
                   for n in range(start, start + count))


def in_blocks(data: bytes, size: int) -> list[bytes]:
    return [data[i:i + size] for i in range(0, len(data), size)] or [b""]


def verdicts(data: bytes) -> set[bool]:
    return {plain_layout(in_blocks(data, size)) for size in BLOCK_SIZES}


PLAIN = {
    "Excel's row attributes, with the prefix its root declares": sheet(plain_rows(3).replace(
        'spans="1:3"', 'spans="1:3" s="1" customFormat="1" ht="20" customHeight="1" '
        'x14ac:dyDescent="0.25"')).replace(
        b"<worksheet ", b'<worksheet xmlns:x14ac="http://schemas.microsoft.com/office/'
        b'spreadsheetml/2009/9/ac" '),
    "a shared formula with its value": sheet(
        '<row r="1"><c r="A1" s="1"><f t="shared" ref="A1:A2" si="0">B1*2</f><v>4</v></c>'
        '<c r="B1"><v>2</v></c></row>'),
    "plain": sheet(plain_rows()),
    "blank rows left out, an empty row, a row of no cells": sheet(
        f'<row r="2">{cell("A2")}</row><row r="5"/><row r="6"></row>'
        f'<row r="9">{cell("C9")}{cell("Z9")}</row><row r="10">{cell("A10")}</row>'),
    "Excel's last row": sheet(f'<row r="1048575">{cell("A1048575")}</row>'
                              f'<row r="1048576">{cell("A1048576")}{cell("B1048576")}</row>'),
    "rows whose numbers share their first digits": sheet(
        f'<row r="15">{cell("A15")}</row><row r="150">{cell("A150")}</row>'
        f'<row r="1500">{cell("A1500")}</row>'),
    "an empty cell, attributes after r": sheet(
        f'<row r="1" ht="20" customHeight="1"><c r="A1" s="2"/>{cell("B1")}</row>'),
    "no cells at all": sheet(""),
    "an empty sheetData": sheet("").replace(b"<sheetData></sheetData>", b"<sheetData/>"),
    "a formula with its value, a shared string, a boolean": sheet(
        '<row r="1"><c r="A1"><f>1+1</f><v>2</v></c><c r="B1" t="s"><v>0</v></c>'
        '<c r="C1" t="b"><v>1</v></c><c r="D1" t="inlineStr"><is><r><t>a</t></r>'
        '<rPh sb="0" eb="1"><t>x</t></rPh></is></c></row>'),
    "namespaces declared on the root only, extLst after sheetData": sheet(
        plain_rows(2), after='<extLst><ext uri="{1}" xmlns:x14="urn:x14"><x14:a/></ext></extLst>'),
    "character references in text": sheet(
        f'<row r="1">{text("A1", "&#12503;&amp;&#10;&#x9;&#x1F600;")}</row>'),
    "Korean and full-width text (bytes ED, EF)": sheet(
        '<row r="1">' + text("A1", "\ud55c\uae00 \uff21\uff22\uff23 \uffe5") + "</row>"),
    "a byte-order mark": b"\xef\xbb\xbf" + sheet(plain_rows(3)),
    "empty cells (styled, typed, inline) before a text or a value in the rows after": sheet(
        f'<row r="2"><c r="A2" s="7"/><c r="B2" t="n"/><c r="C2" t="inlineStr"/>'
        f'</row><row r="5">{text("A5", "x")}{cell("B5")}</row>'),
    "numbers in a cell of no type as both readers spell them": sheet(
        '<row r="1">' + "".join(cell(f"{c}1", v, "") for c, v in zip(
            "ABCDEFGHIJ", ("2.5E-3", "1.", ".5", "-0", "+1e+5", "INF", "-infinity", "NaN", "", "7"),
            strict=True)) + "</row>"),
    "a run in superscript (vertAlign, as XlsxWriter and openpyxl write it)": sheet(
        '<row r="1"><c r="A1" t="inlineStr"><is><r><t>m</t></r><r><rPr><vertAlign '
        'val="superscript"/></rPr><t>2</t></r></is></c></row>'),
    "attributes after the address in single quotes, on other lines, with other names": sheet(
        '<row r="1" spans=\'1:2\' x14ac:dyDescent="0.25"><c r="A1"\tt=\'n\'\ns = \'3\' cm="1" >'
        '<v>1</v></c><c r="B1" s="7" /></row>'),
    "lines and tabs in a text, space after the root": sheet(
        '<row r="1">' + text("A1", "a\nb\tc") + "</row>") + b"\r\n",
}

NOT_PLAIN = {
    "a row stored twice": sheet(plain_rows(3) + plain_rows(1, start=3)),
    "a row stored twice, further on": sheet(plain_rows(5) + plain_rows(1, start=2)),
    "rows out of order": sheet(plain_rows(1, start=9) + plain_rows(3)),
    "a cell stored twice": sheet(f'<row r="1">{cell("A1")}{cell("B1")}{cell("B1", "9")}</row>'),
    "cells out of order": sheet(f'<row r="1">{cell("C1")}{cell("B1")}</row>'),
    "a cell stored twice across a row's end": sheet(
        f'<row r="1">{cell("A1")}</row><row r="2">{cell("B2")}{cell("B2")}</row>'),
    "a cell addressed to another row": sheet(f'<row r="15">{cell("A15")}{cell("B16")}</row>'
                                             f'<row r="16">{cell("A16")}</row>'),
    "a cell addressed to a row sharing its first digits": sheet(
        f'<row r="15">{cell("A150")}</row>'),
    "a cell addressed to a row its row's number begins": sheet(
        f'<row r="150">{cell("A15")}</row>'),
    "a cell before any row": sheet(cell("A1")),
    "row 0": sheet(f'<row r="0">{cell("A0")}</row>'),
    "a row number of 8 digits": sheet(f'<row r="10485760">{cell("A10485760")}</row>'),
    "a row without r": sheet(f"<row>{cell('A1')}</row>"),
    "a row with another attribute first": sheet(f'<row spans="1:2" r="1">{cell("A1")}</row>'),
    "a cell with another attribute first": sheet('<row r="1"><c t="n" r="A1"><v>1</v></c></row>'),
    "a cell without an address": sheet('<row r="1"><c><v>1</v></c></row>'),
    "a column of two letters": sheet(f'<row r="1">{cell("AA1")}</row>'),
    "a column in small letters": sheet(f'<row r="1">{cell("b1")}</row>'),
    "a comment among the rows": sheet(plain_rows(2) + "<!-- a note -->" + plain_rows(1, 3)),
    "a comment hiding a row": sheet(f'<row r="1"><!-- <row r="5"> -->{cell("B5")}</row>'),
    "CDATA": sheet('<row r="1"><c r="A1" t="str"><v><![CDATA[x]]></v></c></row>'),
    "a processing instruction": sheet(f'<row r="1"><?pi x?>{cell("A1")}</row>'),
    "a comment evened out by a stray end tag, deep in a cell": sheet(
        '<row r="1"><c r="A1" t="inlineStr"><is><r><rPr><!-- x --></b></rPr><t>a</t></r></is>'
        "</c></row>"),
    "no sheetData": b'<worksheet xmlns="x"><dimension ref="A1"/></worksheet>',
    "two sheetData": sheet(plain_rows(2) + "</sheetData><sheetData>" + plain_rows(1, 3)),
    "a row before sheetData": sheet(plain_rows(2), before=f'<row r="50">{cell("A50")}</row>'),
    "a row after sheetData": sheet(plain_rows(2), after=f'<row r="50">{cell("A50")}</row>'),
    "a row inside a row": sheet(f'<row r="1">{cell("A1")}<row r="2">{cell("A2")}</row></row>'),
    "an empty row, then cells outside it": sheet(f'<row r="1"/>{cell("A1")}'),
    "cells wrapped in another element": sheet(f'<row r="1"><x>{cell("A1")}</x></row>'),
    "a value wrapped in another element": sheet('<row r="1"><c r="A1"><x><v>1</v></x></c></row>'),
    "a cell inside a cell": sheet(f'<row r="1"><c r="A1">{cell("B1")}</c></row>'),
    "a namespace declared on a row": sheet(f'<row r="1" xmlns="urn:x">{cell("A1")}</row>'),
    "a namespace declared on a value": sheet('<row r="1"><c r="A1"><v xmlns="urn:x">1</v></c>'
                                             '</row>'),
    "a namespace declared on sheetData": sheet(plain_rows(2)).replace(
        b"<sheetData>", b'<sheetData xmlns="urn:x">'),
    "a character reference in a value": sheet('<row r="1"><c r="A1"><v>&#49;20</v></c></row>'),
    "a boolean written true": sheet('<row r="1"><c r="A1" t="b"><v>true</v></c></row>'),
    "a boolean written 2": sheet('<row r="1"><c r="A1" t="b"><v>2</v></c></row>'),
    "'>' in a text": sheet(f'<row r="1">{text("A1", "a>b")}</row>'),
    "'>' in an attribute": sheet('<row r="1" x="a>b"><c r="A1"><v>1</v></c></row>'),
    "not well-formed: an end tag missing": sheet(plain_rows(3)).replace(b"</worksheet>", b""),
    "not well-formed: an undefined entity": sheet('<row r="1"><c r="A1"><v>&x;</v></c></row>'),
    "not well-formed: something after the root": sheet(plain_rows(2)) + b"<x/>",
    "a row beyond Excel's grid": sheet(f'<row r="1048577">{cell("A1048577")}</row>'),
    "an empty part": b"",
    "not well-formed: text after the root": sheet(plain_rows(2)) + b"x",
    "not well-formed: a second root": sheet(plain_rows(2)) + sheet(""),
    "not well-formed: text before the root": sheet(plain_rows(2)).replace(
        b"?>\n", b"?>\nx", 1),
    "not well-formed: a row closed as a cell": sheet(f'<row r="1">{cell("A1")}</c>'),
    "not well-formed: a cell closed as a row": sheet('<row r="1"><c r="A1"><v>1</v></row>'),
    "an element inside a text": sheet('<row r="1">' + text("A1", RICH_TEXT) + "</row>"),
    "inline text in a number cell": sheet('<row r="1"><c r="A1" t="n"><is><t>5</t></is></c></row>'),
    "inline text in a cell of no type": sheet('<row r="1"><c r="A1"><is><t>5</t></is></c></row>'),
    "a shared string's index with a sign": sheet('<row r="1"><c r="A1" t="s"><v>+1</v></c></row>'),
    "a shared string's index in full-width digits": sheet(
        '<row r="1"><c r="A1" t="s"><v>\uff11</v></c></row>'),
    "a shared string's index past any count": sheet(
        '<row r="1"><c r="A1" t="s"><v>18446744073709551617</v></c></row>'),
    "inline text in a cell of no type, with attributes ending in t or holding t=": sheet(
        '<row r="1"><c r="A1" st="1" x="t=1"><is><t>5</t></is></c></row>'),
    "a value in an inline text cell": sheet('<row r="1"><c r="A1" t="inlineStr"><v>5</v></c></row>'),
    "a TRUE/FALSE type written with spaces around =": sheet(
        '<row r="1"><c r="A1" t = "b"><v>TRUE</v></c></row>'),
    "inline text in a cell of a type beginning in": sheet(
        '<row r="1"><c r="A1" t="inlineStrX"><is><t>x</t></is></c></row>'),
    "inline text in a cell of an empty type": sheet(
        '<row r="1"><c r="A1" t=""><is><t>x</t></is></c></row>'),
    "a reference to a character XML forbids": sheet(
        '<row r="1">' + text("A1", "a&#xFFFE;b&#1;") + "</row>"),
    "inline text after the value of a number cell": sheet(
        '<row r="1"><c r="A1" t="n"><v>5</v><is><t>V002</t></is></c></row>'),
    "inline text in a number cell, its type in single quotes": sheet(
        """<row r="1"><c r="A1" t='n'><is><t>5</t></is></c></row>"""),
    "a value after the inline text of an inline text cell": sheet(
        '<row r="1"><c r="A1" t="inlineStr"><is><t>a</t></is><v>5</v></c></row>'),
    "an end tag with an attribute": sheet(f'<row r="1">{cell("A1")}</row r="1">'),
    "a value tag with an attribute": sheet('<row r="1"><c r="A1"><v x="1">5</v></c></row>'),
    "a character XML forbids": sheet('<row r="1">' + text("A1", "a\ufffeb") + "</row>"),
    "a surrogate half": sheet('<row r="1">' + text("A1", "HALF") + "</row>").replace(
        b"HALF", b"\xed\xa0\x80"),
    "text in the value of a cell of no type (calamine reads it as text)": sheet(
        '<row r="1"><c r="A1" s="1"><v>C001</v></c></row>'),
    "a number cut short in a cell of no type": sheet('<row r="1"><c r="A1"><v>1e+</v></c></row>'),
    "a number with a space in a cell of no type": sheet('<row r="1"><c r="A1"><v> 5</v></c></row>'),
    "INF run on in a cell of no type": sheet('<row r="1"><c r="A1"><v>INFO</v></c></row>'),
    "text after a formula in a cell of no type": sheet(
        '<row r="1"><c r="A1"><f>"a"</f><v>abc</v></c></row>'),
    "two texts in an inline text (calamine reads the first)": sheet(
        '<row r="1"><c r="A1" t="inlineStr"><is><t>C0</t><t>01</t></is></c></row>'),
    "an empty text, then a text": sheet(
        '<row r="1"><c r="A1" t="inlineStr"><is><t/><t>01</t></is></c></row>'),
    "a text after runs": sheet(
        '<row r="1"><c r="A1" t="inlineStr"><is><r><t>C0</t></r><t>01</t></is></c></row>'),
    "a run inside a phonetic guide": sheet(
        '<row r="1"><c r="A1" t="inlineStr"><is><r><t>C0</t></r><rPh sb="0" eb="1"><r><t>01</t>'
        '</r></rPh></is></c></row>'),
    "a phonetic guide inside a guide": sheet(
        '<row r="1"><c r="A1" t="inlineStr"><is><rPh sb="0" eb="1"><rPh sb="0" eb="1"></rPh>'
        '<t>C0</t></rPh><t>01</t></is></c></row>'),
    "a value after a superscript run in an inline text cell": sheet(
        '<row r="1"><c r="A1" t="inlineStr"><is><r><rPr><vertAlign val="superscript"/></rPr>'
        "<t>2</t></r></is><v>5</v></c></row>"),
    "an element inside a value": sheet('<row r="1"><c r="A1"><v><t>5</t></v></c></row>'),
    "not well-formed: a cell's address given twice": sheet(
        '<row r="1"><c r="A1" r="B1"><v>1</v></c></row>'),
    "not well-formed: a cell's type given twice": sheet(
        '<row r="1"><c r="A1" t="n" t="s"><v>1</v></c></row>'),
    "not well-formed: a row's number given twice": sheet(
        f'<row r="1" r="2">{cell("A1")}</row>'),
    "not well-formed: attributes run together": sheet('<row r="1"><c r="A1"t="n"><v>1</v></c></row>'),
    "not well-formed: a value without quotes": sheet('<row r="1"><c r="A1" t=n><v>1</v></c></row>'),
    "not well-formed: a name without a value": sheet('<row r="1"><c r="A1" t><v>1</v></c></row>'),
    "not well-formed: a stray word in a row's tag": sheet(f'<row r="1" junk>{cell("A1")}</row>'),
    "not well-formed: a control character": sheet('<row r="1">' + text("A1", "a\x01b") + "</row>"),
    "not well-formed: another attribute of a cell given twice": sheet(
        '<row r="1"><c r="A1" x="1" x="2"><v>1</v></c></row>'),
    "not well-formed: a row's height given twice": sheet(
        f'<row r="1" ht="15" ht="16">{cell("A1")}</row>'),
    "not well-formed: a formula's type given twice": sheet(
        '<row r="1"><c r="A1"><f t="shared" t="array">1</f><v>1</v></c></row>'),
    "not well-formed: a text's space given twice": sheet(
        '<row r="1"><c r="A1" t="inlineStr"><is><t xml:space="preserve" xml:space="preserve">'
        "C001</t></is></c></row>"),
    "an attribute a cell does not have (lxml judges it)": sheet(
        '<row r="1"><c r="A1" x="1"><v>1</v></c></row>'),
    "a prefixed attribute on a row (its prefix may be undeclared)": sheet(
        f'<row r="1" x:y="1">{cell("A1")}</row>'),
    "not well-formed: an attribute given twice before sheetData": sheet(
        plain_rows(3), before='<sheetFormatPr defaultRowHeight="15" defaultRowHeight="16"/>'),
    "not well-formed: an attribute given twice after sheetData": sheet(
        plain_rows(3), after='<mergeCells count="1" count="2"/>'),
    "not well-formed: a prefix not declared after sheetData": sheet(
        plain_rows(3), after="<x:extra/>"),
    "not well-formed: an undefined entity before sheetData": sheet(
        plain_rows(3), before='<sheetPr codeName="&nbsp;"/>'),
}


@pytest.mark.parametrize("name", sorted(PLAIN))
def test_plain_sheets_pass_whatever_the_blocks(name):
    assert verdicts(PLAIN[name]) == {True}


@pytest.mark.parametrize("name", sorted(NOT_PLAIN))
def test_sheets_read_otherwise_by_either_reader_fail_whatever_the_blocks(name):
    assert verdicts(NOT_PLAIN[name]) == {False}


def test_a_long_section_without_cells_after_sheet_data():
    """4.6 MB of merged cells after sheetData: read in blocks, never carried whole."""
    data = sheet(plain_rows(3), after="<mergeCells>" + '<mergeCell ref="A1:B2"/>' * 200_000
                 + "</mergeCells>")
    assert all(plain_layout(in_blocks(data, size)) for size in (4096, 2**20, 4 * 2**20))


def test_a_long_sheet_in_big_blocks():
    """Many rows per block, cells of a row cut between blocks at every place."""
    data = sheet(plain_rows(20_000))
    assert all(plain_layout(in_blocks(data, size)) for size in (4096, 65_536, 2**20 + 7))
    duplicated = sheet(plain_rows(20_000) + plain_rows(1, start=20_000))
    assert not any(plain_layout(in_blocks(duplicated, size)) for size in (4096, 65_536))


def test_rows_are_reported_plain_only_once_searched(monkeypatch):
    """The band reads wait on what the check reports: bytes are reported plain only after the
    pattern search (gathered over several blocks) has passed them too."""
    monkeypatch.setattr(sheet_layout, "SEARCH_BYTES", 65_536)
    rows = plain_rows(3_000)
    defect = '<c r="B1500" t="n"><v>1500</v></c>'
    assert defect in rows
    data = sheet(rows.replace(defect, '<c r="B1500" t="n"><v>1&#53;00</v></c>'))
    bad_at = data.index(b"&#53;")
    for size in (4096, 65_536, 2**20):
        reported: list[int] = []
        assert not plain_layout(in_blocks(data, size), reported.append)
        assert max(reported, default=0) < bad_at
    clean = sheet(rows)
    reported = []
    assert plain_layout(in_blocks(clean, 4096), reported.append)
    assert reported == sorted(reported) and reported[-1] == len(clean)
    assert len({r for r in reported if r < len(clean)}) > 10  # told as it goes, not at the end
