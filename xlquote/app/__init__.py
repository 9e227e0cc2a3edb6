"""Jobs shared by the command line and the workbook buttons."""

from .invoice_run import (
    ATTENTION_FLAGS,
    InvoiceRunResult,
    MonthDocument,
    run_invoice_workbook,
    run_invoices,
)
from .void import void_invoice

__all__ = [
    "ATTENTION_FLAGS",
    "InvoiceRunResult",
    "MonthDocument",
    "run_invoice_workbook",
    "run_invoices",
    "void_invoice",
]
