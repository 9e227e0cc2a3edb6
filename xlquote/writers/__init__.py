"""What a billing run writes: invoice workbooks, the month's summary, and PDFs."""

from .invoice_workbook import write_invoice_workbook
from .pdf import convert_to_pdf, find_soffice
from .summary import SUMMARY_HEADER, SummaryItem, summary_table, write_summary_workbook

__all__ = [
    "SUMMARY_HEADER",
    "SummaryItem",
    "convert_to_pdf",
    "find_soffice",
    "summary_table",
    "write_invoice_workbook",
    "write_summary_workbook",
]
