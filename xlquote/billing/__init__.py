"""Monthly billing: one biller per plan kind behind ``bill_month`` / ``monthly_invoice``."""

from .run import BILLERS, BillingRun, bill_month, monthly_invoice

__all__ = ["BILLERS", "BillingRun", "bill_month", "monthly_invoice"]
