"""xlquote — quoting and billing for IT-support businesses, on whole columns at once.

Public API (every argument broadcasts like numpy; money is int64 yen)::

    support_level, incident_fee, annual_base_fee, monthly_base_fee, incident_units,
    vendor_annual_fee, callcenter_tier, monthly_invoice, bill_month
"""

from .engine.billing import BillingRun, bill_month, monthly_invoice
from .engine.dates import Month
from .engine.errors import InputError, OutputError, PriceBookError, Problem, XlquoteError
from .engine.fees import (
    annual_base_fee,
    callcenter_tier,
    incident_fee,
    incident_units,
    monthly_base_fee,
    vendor_annual_fee,
)
from .engine.invoice import Invoice, Line
from .engine.levels import support_level
from .engine.pricebook import PriceBook, get_pricebook, load_pricebook_file
from .memory import arrow_memory_from_malloc

# before the readers import pyarrow (the engine never does: .importlinter in pyproject.toml)
arrow_memory_from_malloc()

__version__ = "0.1.0"

__all__ = [
    "BillingRun",
    "InputError",
    "Invoice",
    "Line",
    "Month",
    "OutputError",
    "PriceBook",
    "PriceBookError",
    "Problem",
    "XlquoteError",
    "annual_base_fee",
    "bill_month",
    "callcenter_tier",
    "get_pricebook",
    "incident_fee",
    "incident_units",
    "load_pricebook_file",
    "monthly_base_fee",
    "monthly_invoice",
    "support_level",
    "vendor_annual_fee",
]
