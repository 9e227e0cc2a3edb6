"""What a billing run writes: invoice documents (workbook and PDF, drawn from one layout), the
notice cancelling an invoice, the month's summary."""

from .invoice_layout import cancellation_document, invoice_document
from .invoice_pdf import (
    cancellation_document_pdf_bytes,
    cancellation_pdf_bytes,
    invoice_document_pdf_bytes,
    invoice_pdf_bytes,
    write_cancellation_pdf,
    write_invoice_pdf,
)
from .invoice_workbook import (
    cancellation_document_workbook_bytes,
    cancellation_workbook_bytes,
    invoice_document_workbook_bytes,
    invoice_workbook_bytes,
    write_cancellation_workbook,
    write_invoice_workbook,
)
from .summary import SUMMARY_HEADER, SummaryItem, summary_table, write_summary_workbook

__all__ = [
    "SUMMARY_HEADER",
    "SummaryItem",
    "cancellation_document",
    "cancellation_document_pdf_bytes",
    "cancellation_document_workbook_bytes",
    "cancellation_pdf_bytes",
    "cancellation_workbook_bytes",
    "invoice_document",
    "invoice_document_pdf_bytes",
    "invoice_document_workbook_bytes",
    "invoice_pdf_bytes",
    "invoice_workbook_bytes",
    "summary_table",
    "write_cancellation_pdf",
    "write_cancellation_workbook",
    "write_invoice_pdf",
    "write_invoice_workbook",
    "write_summary_workbook",
]
