"""Memory the process has freed, handed back to the system (by the readers once a big sheet
is read, and by the process executor before it forks workers), where Arrow takes it from, and
the objects a run keeps left out of the cyclic collector's walks.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import os
import sys
import threading
from collections.abc import Iterator

ARROW_POOL_ENV = "ARROW_DEFAULT_MEMORY_POOL"  # read by pyarrow once, when it is imported


def arrow_memory_from_malloc() -> None:
    """Arrow's arrays (the readers' checks, the records' columns) from the C library's malloc,
    not the jemalloc pyarrow bundles, unless the environment chooses. jemalloc hands pages
    back and takes them again as arrays come and go: on a million-row month the read spent
    ~4 s of system time on it (bench/README.md); with malloc, ~1 s, and a lower peak. Only
    before pyarrow is imported: ``xlquote`` calls it on import."""
    if "pyarrow" not in sys.modules:
        os.environ.setdefault(ARROW_POOL_ENV, "system")


def release_freed_memory() -> None:
    """Hand the memory this process has freed back to the system. Arrow's pool keeps what it
    freed for its next arrays (~110 MB after a million-row read); glibc keeps freed blocks in
    its heaps: calamine's grids of a big sheet's bands (~300 MB for a million incidents), the
    billing's (~380 MB). A forked worker starts holding every page its parent holds."""
    arrow = sys.modules.get("pyarrow")  # only where a reader loaded it
    if arrow is not None:
        arrow.default_memory_pool().release_unused()
    try:
        trim = ctypes.CDLL(None).malloc_trim  # glibc's; other C libraries return memory alone
    except (OSError, AttributeError):
        return
    trim(0)


_freezes = 0  # objects_frozen blocks open in this process
_freezes_lock = threading.Lock()


@contextlib.contextmanager
def objects_frozen() -> Iterator[None]:
    """The objects alive when the block starts kept out of the cyclic collector's collections
    until it ends (``gc.freeze``): the modules' and a month's objects, ~200,000, which each
    full collection walks otherwise (~75 ms each, a dozen times in a million-row run). Forked
    workers leave them alone too, and their pages shared. Blocks nest; the last to end
    unfreezes, and a cycle that became garbage meanwhile is collected then."""
    global _freezes
    with _freezes_lock:
        gc.freeze()
        _freezes += 1
    try:
        yield
    finally:
        with _freezes_lock:
            _freezes -= 1
            if not _freezes:
                gc.unfreeze()
