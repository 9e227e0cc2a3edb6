"""Regular expressions over bytes with Arrow's engine (RE2): linear in the text searched, and
run without the GIL, so that a check can run beside a reader on another thread."""

from __future__ import annotations

import struct
from typing import Any


def arrow_view(data: bytes, low: int = 0, high: int | None = None) -> Any:
    """data[low:high] as a one-element Arrow array over data's own bytes (no copy)."""
    import pyarrow as pa

    offsets = pa.py_buffer(struct.pack("<qq", low, len(data) if high is None else high))
    return pa.Array.from_buffers(pa.large_binary(), 1, [None, offsets, pa.py_buffer(data)])


def any_match(data: bytes, pattern: str, low: int = 0, high: int | None = None) -> bool:
    """Whether ``pattern`` matches within data[low:high]."""
    import pyarrow.compute as pc

    return bool(pc.any(pc.match_substring_regex(arrow_view(data, low, high), pattern)).as_py())


def matches(data: bytes, pattern: str, low: int = 0, high: int | None = None) -> int:
    """How many times ``pattern`` matches within data[low:high], the matches not overlapping."""
    import pyarrow.compute as pc

    return int(pc.sum(pc.count_substring_regex(arrow_view(data, low, high), pattern)).as_py()
               or 0)
