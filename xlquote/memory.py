"""Memory the process has freed, handed back to the system (by the readers once a big sheet
is read, and by the process executor before it forks workers)."""

from __future__ import annotations

import ctypes
import sys


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
