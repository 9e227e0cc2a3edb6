"""Run the xlquote CLI with the typed reader's band loaders set to N (``typed_reader.LOADERS``):
the with/without measurement of reading two bands at once.

    farm-bench -n 4 --vs "python bench/with_band_loaders.py 1 invoice BOOK --month M --out B --json" \\
        -- python bench/with_band_loaders.py 2 invoice BOOK --month M --out A --json
"""

from __future__ import annotations

import runpy
import sys

import xlquote.readers.typed_reader as typed_reader

if __name__ == "__main__":
    typed_reader.LOADERS = int(sys.argv.pop(1))
    sys.argv[0] = "xlquote"
    runpy.run_module("xlquote", run_name="__main__")
