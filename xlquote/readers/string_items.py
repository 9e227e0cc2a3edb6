"""Whether strings, shared (sharedStrings.xml) or inline (a cell's <is>), are written so plainly
that calamine (under fastexcel) reads each one's text as the cell-by-cell reader does.

calamine joins a string's texts by the tags it meets, not by the standard's structure: after
a text standing alone it skips the rest of the item (a second text, runs), it reads a run put
inside a phonetic guide, and a nested guide ends its skipping early. The cell-by-cell reader
refuses a string whose elements stand otherwise than the standard orders them (cells._text).
So the typed reader is given a workbook only where every string is in the form spreadsheet
programs write: a text, or runs (each its properties, then its text), then phonetic guides
(each one text) and their properties, nothing else inside; texts hold characters and the
five entities or character references; no namespace is declared within. Other strings send
the sheets to the cell-by-cell reader, which reads them or names the cell holding one.
"""

from __future__ import annotations

from .arrow_search import any_match, matches

SPACE = r"[ \t\r\n]"
WS = SPACE + "*"
# A character reference to a character XML forbids: a control character but tab, LF and CR,
# a surrogate half, U+FFFE, U+FFFF, or past U+10FFFF (lxml refuses the file; calamine reads it).
FORBIDDEN_REFERENCE = (
    r"&#0*(?:[0-8]|1[124-9]|2[0-9]|3[01]|5529[6-9]|55[3-9][0-9]{2}|56[0-9]{3}|57[0-2][0-9]{2}"
    r"|573[0-3][0-9]|5734[0-3]|6553[45]|[0-9]{7,});"
    r"|&#x0*(?:[0-8bcefBCEF]|1[0-9a-fA-F]|[dD][89a-fA-F][0-9a-fA-F]{2}|[fF]{3}[eEfF]"
    r"|[0-9a-fA-F]{6,}|1[1-9a-fA-F][0-9a-fA-F]{4}|[2-9a-fA-F][0-9a-fA-F]{5});")
# A text's characters: no markup but the predefined entities and character references, no
# control character but tab, LF and CR.
CHARACTERS = r"(?:[^<&\x00-\x08\x0b\x0c\x0e-\x1f]|&(?:amp|lt|gt|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);)*"
TEXT = rf'<t(?:{SPACE}+xml:space="(?:preserve|default)")?{WS}>{CHARACTERS}</t>'
# A run's font properties (ECMA-376 18.4.7), each an empty element of the attributes it takes.
FONT = ("(?:rFont|charset|family|b|i|strike|outline|shadow|condense|extend|color|sz|u|vertAlign"
        "|scheme)")
FONT_ATTRIBUTES = rf'(?:{SPACE}+(?:val|rgb|theme|tint|indexed|auto)="[^"<>&]*")*{WS}'
RUN = (rf"<r>{WS}(?:<rPr>{WS}(?:<{FONT}{FONT_ATTRIBUTES}/>{WS})*</rPr>{WS}|<rPr{WS}/>{WS})?"
       rf"{TEXT}{WS}</r>")
GUIDE = rf'<rPh(?:{SPACE}+(?:sb|eb)="[0-9]+")*{WS}>{WS}{TEXT}{WS}</rPh>'
GUIDE_PROPERTIES = rf'<phoneticPr(?:{SPACE}+(?:fontId|type|alignment)="[^"<>&]*")*{WS}/>'

CONTENT = rf"{WS}(?:{TEXT}{WS}|(?:{RUN}{WS})*)(?:{GUIDE}{WS})*(?:{GUIDE_PROPERTIES}{WS})?"
INLINE_STRING = rf"<is>{CONTENT}</is>"
SHARED_ITEMS = rf"^(?:(?:<si>{CONTENT}</si>|<si{WS}/>){WS})*"  # whole items, one after another
SHARED_HEAD = (  # what may stand before the first item: Excel's declaration and root
    rf"^(?:\xef\xbb\xbf)?(?:<\?xml[^<>]*\?>)?{WS}<sst"
    rf'{SPACE}+xmlns="http://schemas\.openxmlformats\.org/spreadsheetml/2006/main"'
    rf'(?:{SPACE}+(?:count|uniqueCount)="[0-9]+")*{WS}>{WS}$')
MAX_ITEM = 2**20  # no plain item is this long (a cell holds 32,767 characters)


def inline_strings_plain(data: bytes, low: int, high: int) -> bool:
    """Whether every inline string (<is>) in data[low:high] is plain (each is whole within)."""
    return matches(data, "<is>", low, high) == matches(data, INLINE_STRING, low, high)


class SharedItems:
    """Checks a shared strings part fed block by block: ``plain`` stays True while it is laid
    out plainly (the declaration, the root <sst> in the main namespace, plain items)."""

    def __init__(self) -> None:
        self.pending: list[bytes] = []  # from the last item's start: checked once it ends
        self.size = 0  # of the pending bytes
        self.tail = b""  # the last bytes fed: an item's start cut between blocks is found
        self.head = True  # before the first item
        self.plain = True

    def feed(self, block: bytes) -> None:
        if not self.plain:
            return
        self.pending.append(block)
        self.size += len(block)
        seen, self.tail = self.tail + block, (self.tail + block)[-2:]
        if b"<si" not in seen:  # the item goes on: gathered, not searched again
            self.plain = self.size <= MAX_ITEM
            return
        data = b"".join(self.pending)
        if self.head:
            first = data.find(b"<si")
            self.plain = any_match(data, SHARED_HEAD, 0, first)
            self.head, data = False, data[first:]
        cut = max(data.rfind(b"<si"), 0)  # the items before the last are whole
        self.plain = self.plain and _items_plain(data[:cut])
        self.pending = [data[cut:]]
        self.size = len(self.pending[0])
        self.plain = self.plain and self.size <= MAX_ITEM

    def finish(self) -> bool:
        """Whether the whole part was plain (the items, then </sst> and whitespace)."""
        data = b"".join(self.pending).rstrip(b" \t\r\n")
        if self.head:  # no item: an empty <sst/> or <sst></sst>
            empty = data.endswith(b"/>") and any_match(data[:-2] + b">", SHARED_HEAD)
            closed = data.endswith(b"</sst>") and any_match(data[:-6], SHARED_HEAD)
            return self.plain and (empty or closed)
        return (self.plain and data.endswith(b"</sst>")
                and _items_plain(data[:-len(b"</sst>")]))


def _items_plain(data: bytes) -> bool:
    """Whether ``data`` is whole plain items one after another, no forbidden reference."""
    return not data or (any_match(data, SHARED_ITEMS + "$")
                        and not any_match(data, FORBIDDEN_REFERENCE))
