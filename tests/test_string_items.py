"""Which strings the typed reader is given: shared and inline strings written as spreadsheet
programs write them (``xlquote/readers/string_items.py``), read alike by calamine and by the
cell-by-cell reader. Parts are fed in blocks of many sizes, so that a block may end anywhere."""

from __future__ import annotations

from pathlib import Path

import pytest

from xlquote.readers.guard import check_workbook_file
from xlquote.readers.string_items import SharedItems, inline_strings_plain
from xlquote.readers.workbook import SHEETS

CORPUS = Path(__file__).parent / "data" / "hostile"
BLOCK_SIZES = (1, 2, 3, 7, 31, 100, 4096, 10**9)
DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
ROOT = ('<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="9" '
        'uniqueCount="9">')
EXCEL_ITEMS = (
    "<si><t>V001</t></si>",
    '<si><t xml:space="preserve"> 前後に空白 </t></si>',
    '<si><r><rPr><b/><sz val="11"/><color theme="1"/><rFont val="游ゴシック"/><family val="3"/>'
    '<charset val="128"/><scheme val="minor"/></rPr><t>太字</t></r><r><t>と普通</t></r></si>',
    '<si><t>山田</t><rPh sb="0" eb="2"><t>ヤマダ</t></rPh><phoneticPr fontId="1"/></si>',
    '<si><t>a&amp;b&#12503;&#x9;</t></si>',
    "<si/>",
    "<si><t></t></si>",
)


def shared_strings(*items: str, root: str = ROOT, end: str = "</sst>") -> bytes:
    return (DECLARATION + root + "".join(items) + end).encode()


def verdicts(part: bytes) -> set[bool]:
    found = set()
    for size in BLOCK_SIZES:
        items = SharedItems()
        for at in range(0, len(part), size):
            items.feed(part[at:at + size])
        found.add(items.finish())
    return found


PLAIN = {
    "Excel's items": shared_strings(*EXCEL_ITEMS),
    "a byte-order mark, lines between items": b"\xef\xbb\xbf" + shared_strings(
        *(item + "\r\n" for item in EXCEL_ITEMS)),
    "no items": shared_strings(root=ROOT[:-1] + "/>", end=""),
    "no items, an end tag": shared_strings(),
}

NOT_PLAIN = {
    "two texts (calamine reads the first)": shared_strings("<si><t>C0</t><t>01</t></si>"),
    "a text, then a run": shared_strings("<si><t>C0</t><r><t>01</t></r></si>"),
    "a run, then a text": shared_strings("<si><r><t>C0</t></r><t>01</t></si>"),
    "a run inside a phonetic guide": shared_strings(
        '<si><r><t>C0</t></r><rPh sb="0" eb="1"><r><t>01</t></r></rPh></si>'),
    "a phonetic guide inside a guide": shared_strings(
        '<si><rPh sb="0" eb="1"><rPh sb="0" eb="1"></rPh><t>C0</t></rPh><t>01</t></si>'),
    "a reference to a character XML forbids": shared_strings("<si><t>a&#1;</t></si>"),
    "a control character": shared_strings("<si><t>a\x01</t></si>"),
    "a namespace declared on a text": shared_strings('<si><t xmlns="urn:x">a</t></si>'),
    "a comment": shared_strings("<si><!-- x --><t>a</t></si>"),
    "items in another namespace": shared_strings(
        "<si><t>a</t></si>", root=ROOT.replace("spreadsheetml/2006/main", "x")),
    "an element after the root": shared_strings("<si><t>a</t></si>", end="</sst><x/>"),
    "an element among the items": shared_strings("<si><t>a</t></si><x/><si><t>b</t></si>"),
    "the root not closed": shared_strings("<si><t>a</t></si>", end=""),
    "an item past any cell's length": shared_strings(f"<si><t>{'a' * 2**21}</t></si>"),
    "in UTF-16": shared_strings("<si><t>a</t></si>").decode().encode("utf-16"),
    "an item inside a run's properties (an XML reader may count it)": shared_strings(
        "<si><r><rPr><si/></rPr><t>a</t></r></si><si><t>b</t></si>"),
    "a namespace declared on the guides' properties": shared_strings(
        '<si><t>ab</t><phoneticPr xmlns="urn:x" fontId="1"/></si>'),
    "a root in no namespace": shared_strings("<si><t>a</t></si>", root='<sst count="1">'),
}


@pytest.mark.parametrize("name", sorted(PLAIN))
def test_shared_strings_as_programs_write_them_are_plain(name):
    assert verdicts(PLAIN[name]) == {True}


@pytest.mark.parametrize("name", sorted(NOT_PLAIN))
def test_shared_strings_read_otherwise_by_either_reader_are_not(name):
    assert verdicts(NOT_PLAIN[name]) == {False}


def test_inline_strings_are_plain_as_programs_write_them():
    cells = "".join(f'<c r="A{n}" t="inlineStr"><is>{item[4:-5]}</is></c>'
                    for n, item in enumerate(EXCEL_ITEMS[:5], start=1)).encode()
    assert inline_strings_plain(cells, 0, len(cells))
    twice = cells.replace(b"<t>V001</t>", b"<t>V0</t><t>01</t>")
    assert not inline_strings_plain(twice, 0, len(twice))


@pytest.mark.parametrize(("case", "plain"), [("shared_string_phonetic", True),
                                             ("shared_string_two_texts", False)])
def test_the_typed_reader_is_given_a_workbook_only_with_plain_shared_strings(case, plain):
    checked = check_workbook_file(CORPUS / f"{case}.xlsm", sheets=SHEETS)
    assert checked.shared_strings is not None and checked.shared_strings.plain is plain
    assert (checked.sheet_parts["Incidents"] in checked.plain_sheets) is plain
