"""xlwings Lite runs the Excel functions in the browser (Pyodide): there the batch's binary
readers are not installed and multiprocessing imports but cannot start a process. Importing
the functions must therefore not import any of them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BATCH_ONLY = ("fastexcel", "pyarrow", "python_calamine", "multiprocessing",
              "concurrent.futures.process")


def test_the_excel_functions_import_nothing_the_browser_lacks() -> None:
    code = ("import sys; import xlquote, udfs.xlquote_udfs; "
            f"print(sorted(set({BATCH_ONLY!r}) & set(sys.modules)))")
    found = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                           text=True, check=True, env={"PATH": "", "XLWINGS_LICENSE_KEY":
                                                       "noncommercial", "PYTHONPATH": str(ROOT)})
    assert found.stdout.strip() == "[]", found.stderr
