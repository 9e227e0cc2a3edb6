"""Jobs shared by the command line and the workbook buttons."""

from .invoice_run import (
    ATTENTION_FLAGS,
    InvoiceFile,
    InvoiceRunResult,
    run_invoice_workbook,
    run_invoices,
)

__all__ = [
    "ATTENTION_FLAGS",
    "InvoiceFile",
    "InvoiceRunResult",
    "run_invoice_workbook",
    "run_invoices",
]
