"""Rewrite the golden workbooks from the current writer, on purpose:

    python -m tests.golden.regenerate

run from the repository root, then review what it prints (every fact that changed) and the
files with ``git diff --stat tests/golden``; commit them with the change that made them differ.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from xlquote.writers import write_cancellation_workbook, write_invoice_workbook

from .cases import CANCELLATIONS, INVOICES, SETTINGS, golden_path
from .workbook_facts import differences, workbook_facts


def write_case(name: str, path: Path) -> Path:
    if name in INVOICES:
        return write_invoice_workbook(INVOICES[name](), SETTINGS, path)
    return write_cancellation_workbook(CANCELLATIONS[name](), SETTINGS, path)


def main() -> int:
    for name in [*INVOICES, *CANCELLATIONS]:
        target = golden_path(name)
        with tempfile.TemporaryDirectory() as folder:
            fresh = write_case(name, Path(folder) / target.name)
            changed = (differences(workbook_facts(target), workbook_facts(fresh))
                       if target.exists() else ["new"])
            if changed:
                target.write_bytes(fresh.read_bytes())
        print(f"{target.name}: {len(changed)} fact(s) changed" if changed else f"{target.name}: same")
        for line in changed[:20]:
            print(f"  {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
