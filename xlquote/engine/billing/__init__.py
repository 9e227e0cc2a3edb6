"""Monthly billing: prices every incident at once (``pricing``), then one biller per plan kind
(``BILLERS``) assembles each contract's invoice."""

from .run import BILLERS, BillingRun, InvoiceSummary, bill_month, build_invoice, monthly_invoice

__all__ = ["BILLERS", "BillingRun", "InvoiceSummary", "bill_month", "build_invoice",
           "monthly_invoice"]
