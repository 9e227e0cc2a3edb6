"""The check that lets the typed reader's result be used: rows and cells each stored once, in
order (``xlquote/readers/cell_order.py``). Every sheet is also fed in blocks of many sizes, so
that tags cut at every place between blocks are read the same."""

from __future__ import annotations

import pytest

from xlquote.readers.cell_order import cells_in_order

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


def plain_rows(count: int = 300, start: int = 1) -> str:
    return "".join(f'<row r="{n}" spans="1:3">{text(f"A{n}", f"I-{n}")}{cell(f"B{n}", str(n))}'
                   f'{cell(f"D{n}", "2.5", DATE_STYLE)}{text(f"E{n}", RICH_TEXT)}</row>'
                   for n in range(start, start + count))


def in_blocks(data: bytes, size: int) -> list[bytes]:
    return [data[i:i + size] for i in range(0, len(data), size)] or [b""]


def verdicts(data: bytes) -> set[bool]:
    return {cells_in_order(in_blocks(data, size)) for size in BLOCK_SIZES}


IN_ORDER = {
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
    "no sheetData": b'<worksheet xmlns="x"><dimension ref="A1"/></worksheet>',
}

NOT_IN_ORDER = {
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
}


@pytest.mark.parametrize("name", sorted(IN_ORDER))
def test_sheets_stored_in_order_pass_whatever_the_blocks(name):
    assert verdicts(IN_ORDER[name]) == {True}


@pytest.mark.parametrize("name", sorted(NOT_IN_ORDER))
def test_rows_or_cells_stored_twice_out_of_order_or_unreadable_fail_whatever_the_blocks(name):
    assert verdicts(NOT_IN_ORDER[name]) == {False}


def test_a_long_sheet_in_big_blocks():
    """Many rows per block, cells of a row cut between blocks at every place."""
    data = sheet(plain_rows(20_000))
    assert all(cells_in_order(in_blocks(data, size)) for size in (4096, 65_536, 2**20 + 7))
    duplicated = sheet(plain_rows(20_000) + plain_rows(1, start=20_000))
    assert not any(cells_in_order(in_blocks(duplicated, size)) for size in (4096, 65_536))
