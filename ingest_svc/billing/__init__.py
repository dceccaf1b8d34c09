"""Billing: settling metered energy, pricing it, forecasts and ledger appends (outbox).

The room's whole public surface is below; intake and telemetry use nothing else (a test checks
the imports). :class:`Billing` is built from the ports in :mod:`~ingest_svc.billing.ports`
(the process passes the gRPC adapters in :mod:`~ingest_svc.billing.clients`, tests pass fakes);
:class:`TodayCost` is the cost-of-today query the telemetry read API answers with,
:class:`MonthCosts` the NOK month bill, its projection and the spot-or-Norgespris comparison. Why billing is
a subpackage of ingest and not its own service: docs/billing.md.
"""

from ingest_svc.billing.bridge import Billing, BillingSettings, BillingStats
from ingest_svc.billing.clients import AuditClient, LedgerClient, PredictionClient, ServiceLogin
from ingest_svc.billing.corrections import CorrectionReceipt, Corrections
from ingest_svc.billing.costs import TodayCost
from ingest_svc.billing.month_cost import MonthCostResult, MonthCosts, contract_columns, load_month_costs
from ingest_svc.billing.ports import (
    AuditLog,
    Clock,
    CorrectionLedger,
    DeliveryFailed,
    DeliveryRejected,
    ForecastSource,
    LedgerSink,
    PriceForecastSource,
    PriceSource,
    ReadingTables,
)
from ingest_svc.billing.rpcs import CorrectionRpcs

__all__ = [
    "AuditClient",
    "AuditLog",
    "Billing",
    "BillingSettings",
    "BillingStats",
    "Clock",
    "CorrectionLedger",
    "CorrectionReceipt",
    "CorrectionRpcs",
    "Corrections",
    "DeliveryFailed",
    "DeliveryRejected",
    "ForecastSource",
    "LedgerClient",
    "LedgerSink",
    "MonthCostResult",
    "MonthCosts",
    "PredictionClient",
    "PriceForecastSource",
    "PriceSource",
    "ReadingTables",
    "ServiceLogin",
    "TodayCost",
    "contract_columns",
    "load_month_costs",
]
