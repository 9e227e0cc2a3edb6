"""Reading the invoicing workbook: sheets → (header, rows) → validated records."""

from .workbook import (
    SETTINGS_FIELDS,
    SETTINGS_SHEET,
    InvoicingData,
    Settings,
    parse_invoicing_tables,
    read_invoicing_workbook,
    read_sheet_tables,
)

__all__ = [
    "SETTINGS_FIELDS",
    "SETTINGS_SHEET",
    "InvoicingData",
    "Settings",
    "parse_invoicing_tables",
    "read_invoicing_workbook",
    "read_sheet_tables",
]
