"""xlquote's Excel functions: SUPPORT_LEVEL, INCIDENT_FEE, CALLCENTER_TIER, MONTHLY_INVOICE,
BASE_FEE, INCIDENT_UNITS, VENDOR_ANNUAL_FEE and PLAN_COST.

One module for every Excel front end: the classic xlwings add-in (desktop Excel on Windows) and,
with ``XLWINGS_ON_SERVER`` set before xlwings is imported, xlwings Lite / Server (Office.js), where
the same decorators register the functions with Office.js. Each function is one call into the
engine (``xlquote``); the conversions between cells and engine arguments live in
``xlquote.app.excel_cells``. Every argument may be a cell or a block; the result has the broadcast
shape and spills. A bad cell turns only its own result into text like
``#VALUE! minutes -5: 0 以上にしてください``.

Parameters carry no type hints on purpose: xlwings reads hints as converters.
Only the decorated functions below may be public names here: xlwings registers what it finds.
"""

import numpy as np
import xlwings as xw

import xlquote as _xlquote
from xlquote.app import excel_cells as _cells
from xlquote.engine.compare import plan_cost_grid as _plan_cost_grid


def _block(name, doc):
    """A range argument as xlwings delivers it: a 2-D object array (mixed types survive), error
    values as their text (#N/A), which ``excel_cells.grid`` names instead of reading blank."""
    return xw.arg(name, np.array, ndim=2, dtype=object, err_to_str=True, doc=doc)


@xw.func
@_block("channel", "email, dm, reply, phone, skype_call, skype_chat or onsite (メール, 電話, …)")
@_block("round_trips", "e-mail / DM / reply round trips (往復数); blank = 0")
@_block("minutes", "call or chat minutes, total over all sessions; blank = 0")
@_block("sessions", "optional: number of call/chat sessions; blank = 1")
@_block("days_open", "optional: days the incident stayed open; blank = 0")
@_block("onsite_visits", "optional: on-site visits (出張); blank = 0")
@_block("investigation", "optional: TRUE when troubleshooting needed investigation (調査)")
@_block("consulting", "optional: blank, specific (特定, level 5) or comprehensive (総合, level 7)")
@_block("support_range", "optional: normal, technical, advanced or mission_critical; blank = normal")
@_block("level_override", "optional: level set by staff (feather or 1..10); wins when given")
@xw.ret(index=False)
def SUPPORT_LEVEL(channel, round_trips, minutes, sessions=None, days_open=None, onsite_visits=None,
                  investigation=None, consulting=None, support_range=None, level_override=None):
    """Support level of each incident: 0 = feather, 1..10 (Aki SIE price book)."""
    return _cells.masked(_xlquote.support_level, channel, round_trips, minutes, sessions=sessions,
                         days_open=days_open, onsite_visits=onsite_visits,
                         investigation=investigation, consulting=consulting,
                         support_range=support_range, level_override=level_override)


@xw.func
@_block("level", "support level: feather (or 0) or 1..10")
@_block("plan", "annual (年額) or monthly (月額)")
@_block("support_range", "optional: normal, technical, advanced or mission_critical")
@xw.ret(index=False)
def INCIDENT_FEE(level, plan, support_range=None):
    """Incident fee in yen for a support level under an annual or monthly contract."""
    return _cells.masked(_xlquote.incident_fee, level, plan, support_range=support_range)


@xw.func
@_block("licences", "number of contracted licences (契約数), 1..50,000")
@_block("field", 'optional: "tier" (upper bound of the tier, default), "initial" or "monthly" (fee)')
@xw.ret(index=False)
def CALLCENTER_TIER(licences, field=None):
    """Call-centre tier for a licence count, or that tier's initial or monthly fee in yen."""
    return _cells.masked(_xlquote.callcenter_tier, licences, field=field)


@xw.func
@_block("plan", "annual (年額: fee per year) or monthly (月額: fee per month)")
@_block("support_range", "normal, technical, advanced or mission_critical; blank = normal")
@_block("max_incidents", "optional: monthly plans, maximum incidents per month; blank = 1")
@xw.ret(index=False)
def BASE_FEE(plan, support_range, max_incidents=None):
    """Base fee in yen: per year for an annual contract, per month for a monthly one."""
    return _cells.masked(_cells.support_base_fee, plan, support_range, max_incidents=max_incidents)


@xw.func
@_block("minutes", "minutes of handling")
@xw.ret(index=False)
def INCIDENT_UNITS(minutes):
    """Paid-support units consumed: one per started 30 minutes (0 minutes = 0 units)."""
    return _cells.masked(_xlquote.incident_units, minutes)


@xw.func
@_block("licences", "number of contracted licences (契約数)")
@xw.ret(index=False)
def VENDOR_ANNUAL_FEE(licences):
    """Annual base fee of paid support in yen: 50,000 + 500 per licence."""
    return _cells.masked(_xlquote.vendor_annual_fee, licences)


@xw.func
@_block("contract_id", "contract ID(s) (契約ID)")
@_block("month", "billed month: 2026-10 or any date in it")
@_block("contracts_range", "Contracts table including its header row")
@_block("incidents_range", "Incidents table including its header row")
@_block("part", 'optional: "total" (default), "subtotal", "tax" or "lines" (spills a table)')
@_block("packs_range", "optional: Packs table with header (paid-support unit packs)")
@xw.ret(index=False)
def MONTHLY_INVOICE(contract_id, month, contracts_range, incidents_range, part=None,
                    packs_range=None):
    """A contract's invoice for a month: total, subtotal or tax in yen, or its lines."""
    return _cells.invoice_cells(contract_id, month, contracts_range, incidents_range, part,
                                packs_range)


@xw.func
@_block("plan", "annual (年額), monthly (月額), vendor_support (有料サポート) or callcenter (コールセンター)")
@_block("support_range", "normal, technical, advanced or mission_critical; blank = normal")
@_block("max_incidents", "monthly plans: maximum incidents per month (1..5; mission_critical 1..3)")
@_block("usage", "expected incidents per month at feather, 1..10: 11 cells, or one row of 11 per plan")
@_block("months", "optional: horizon in months, 1..120; blank = 12")
@_block("licences", "optional: licences (契約数) for vendor_support and callcenter")
@_block("members", "optional: members whose first personal use needs a chart (カルテ)")
@xw.ret(index=False)
def PLAN_COST(plan, support_range, max_incidents, usage, months=None, licences=None, members=None):
    """Cost in yen (tax-exclusive) of each plan over the horizon, minimum terms included."""
    return _cells.masked(_plan_cost_grid, plan, support_range, max_incidents, usage,
                         months=months, licences=licences, members=members)
