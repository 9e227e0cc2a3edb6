"""zlib's API from zlib-ng where its wheel is installed (~2× faster at inflating, ~3× at
deflating at level 1: the readers' checks, the PDFs' pages, the register's contents); the
standard zlib elsewhere (the browser's Pyodide). Both read and write the same format."""

from __future__ import annotations

try:
    from zlib_ng import zlib_ng as zlib
except ImportError:  # pragma: no cover
    import zlib  # type: ignore[no-redef]

__all__ = ["zlib"]
