"""PDF invoices through LibreOffice headless: one ``soffice`` process converts the whole batch.

soffice refuses to start a second instance on a profile that is in use, and a user's own
profile may carry settings that change the output; so every batch gets a private, throw-away
profile whose registrymodifications.xcu makes Calc always recalculate formulas on load.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from ..engine.errors import OutputError

SOFFICE_ENV = "XLQUOTE_SOFFICE"  # path to soffice when it is not on PATH
INSTALL_HINT = ("install LibreOffice (Debian/Ubuntu: apt-get install libreoffice-calc-nogui "
                "fonts-ipaexfont-gothic) or set XLQUOTE_SOFFICE to the soffice program")
KNOWN_LOCATIONS = (
    "/Applications/LibreOffice.app/Contents/MacOS/soffice",
    r"C:\Program Files\LibreOffice\program\soffice.exe",
)
# Always recalculate on load (0 = always) for OOXML and ODF files, and skip the first-run
# wizard.
RECALC_PROFILE_XCU = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" \
xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" \
oor:op="fuse"><value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="ODFRecalcMode" \
oor:op="fuse"><value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Misc"><prop oor:name="FirstRun" \
oor:op="fuse"><value>false</value></prop></item>
</oor:items>
"""


def find_soffice() -> str:
    """The soffice program; OutputError naming what to install when there is none."""
    override = os.environ.get(SOFFICE_ENV)
    if override:
        found = shutil.which(override) or (override if Path(override).is_file() else None)
        if not found:
            raise OutputError(f"{SOFFICE_ENV}={override} is not a program; {INSTALL_HINT}")
        return found
    for name in ("soffice", "libreoffice"):
        found = shutil.which(name)
        if found:
            return found
    for location in KNOWN_LOCATIONS:
        if Path(location).is_file():
            return location
    raise OutputError(f"LibreOffice (soffice) was not found on PATH; {INSTALL_HINT}")


def write_recalc_profile(folder: Path) -> Path:
    user = folder / "user"
    user.mkdir(parents=True, exist_ok=True)
    (user / "registrymodifications.xcu").write_text(RECALC_PROFILE_XCU, encoding="utf-8")
    return folder


def convert_to_pdf(files: Sequence[Path], outdir: Path, soffice: str | None = None,
                   timeout: float | None = None) -> list[Path]:
    """Convert ``files`` to PDFs in ``outdir`` (same stem), all in one soffice run.
    Raises OutputError when soffice is missing, fails, times out, or skips a file."""
    if not files:
        return []
    program = soffice or find_soffice()
    outdir.mkdir(parents=True, exist_ok=True)
    timeout = timeout or 120 + 5 * len(files)
    with tempfile.TemporaryDirectory(prefix="xlquote-soffice-") as profile:
        write_recalc_profile(Path(profile))
        command = [program, "--headless", "--norestore", "--nolockcheck",
                   f"-env:UserInstallation={Path(profile).resolve().as_uri()}",
                   "--convert-to", "pdf", "--outdir", str(outdir),
                   *(str(f) for f in files)]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                                  check=False)
        except FileNotFoundError:
            raise OutputError(f"cannot run {program}; {INSTALL_HINT}") from None
        except subprocess.TimeoutExpired:
            raise OutputError(f"LibreOffice did not finish converting {len(files)} file(s) "
                              f"within {timeout:.0f} s") from None
    pdfs = [outdir / f"{Path(f).stem}.pdf" for f in files]
    missing = [p.name for p in pdfs if not p.is_file()]
    if done.returncode != 0 or missing:
        detail = (done.stderr or done.stdout or "").strip().splitlines()[-3:]
        raise OutputError(f"LibreOffice failed (exit {done.returncode}); no PDF for "
                          f"{', '.join(missing) or 'some files'}: {' / '.join(detail)}")
    return pdfs
