"""The Norwegian household electricity bill, component by component, in integer arithmetic.

:mod:`~energy.bill.calendar` builds the per-period rates of a month (spot at the day's EUR/NOK,
grid day/night, taxes, VAT) from a rule set (:mod:`energy.ratebook`); :mod:`~energy.bill.engine`
settles a batch of households against it (numpy, exact int64); :mod:`~energy.bill.invoice`
rounds the exact components into invoice lines by one rule; :mod:`~energy.bill.compare` answers
"spot or Norgespris" for a month and projects the rest of it with a P10-P90 band.
"""

from energy.bill.calendar import PeriodCalendar, build_calendar
from energy.bill.engine import LINES, HouseholdRows, MonthComponents, settle
from energy.bill.invoice import NANO_PER_MINOR, Contract, Invoice, InvoiceLine, bill, invoices, rows_for

__all__ = [
    "LINES",
    "NANO_PER_MINOR",
    "Contract",
    "HouseholdRows",
    "Invoice",
    "InvoiceLine",
    "MonthComponents",
    "PeriodCalendar",
    "bill",
    "build_calendar",
    "invoices",
    "rows_for",
    "settle",
]
