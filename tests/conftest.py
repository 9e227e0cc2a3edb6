"""Test setup. xlwings reads these at import: its Office.js core (the xlwings Lite / Server
path) is what tests can drive on Linux. The noncommercial key is set here, in tests only."""

import os

os.environ.setdefault("XLWINGS_ON_SERVER", "true")
os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")
os.environ.setdefault("TQDM_DISABLE", "1")

from postgres_server import postgres_dsn, postgres_server  # noqa: F401 — fixtures
from registers import current_registers, registers  # noqa: F401 — fixtures

# A machine's own register or cluster never reaches the tests: they name theirs.
for variable in ("XLQUOTE_REGISTER", "XLQUOTE_DASK_SCHEDULER"):
    os.environ.pop(variable, None)
