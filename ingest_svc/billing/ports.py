"""What billing needs from the world, as protocols: every dependency is passed in through one.

A test passes fakes; the process passes :mod:`ingest_svc.billing.clients` (gRPC) and intake's
tables. Moving billing into its own process is a change of these implementations only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from sqlalchemy import Table

from energypulse.auth.v1 import auth_service_pb2
from energypulse.ledger.v1 import ledger_service_pb2
from energypulse.prediction.v1 import prediction_service_pb2

__all__ = [
    "AuditLog",
    "Clock",
    "CorrectionLedger",
    "DeliveryFailed",
    "DeliveryRejected",
    "ForecastSource",
    "LedgerSink",
    "PriceForecastSource",
    "PriceSource",
    "ReadingTables",
]

Clock = Callable[[], float]
"""Wall-clock seconds (``time.time``): stamps rows and orders outbox retries."""


class ReadingTables(Protocol):
    """The readings store billing settles from: tables in billing's own database, read only.

    Billing's hour closing, forecasts and running cost read them in the same transaction that
    writes its settlements and outbox rows; that is what makes a ledger append exactly-once. The
    columns read: ``readings(meter_id, seq, ts_ms, received_ms, power_w, import_kwh, export_kwh)``,
    ``meters(meter_id, household_id)``, ``households(household_id, zone, time_zone, residents,
    heating, has_ev, has_solar)``, ``meter_keys(meter_id, key_id, algorithm, public_key,
    registered_ms)`` and ``boundaries(meter_id, boundary_ms, import_wh, export_wh, seq, key_id,
    signature)`` (the signed register values intake verified).
    """

    @property
    def readings(self) -> Table: ...

    @property
    def meters(self) -> Table: ...

    @property
    def households(self) -> Table: ...

    @property
    def meter_keys(self) -> Table: ...

    @property
    def boundaries(self) -> Table: ...


class PriceSource(Protocol):
    """Cleared day-ahead spot prices (today: PredictionService.GetMarketPrices)."""

    async def market_prices(self, zone: str, start_ms: int, end_ms: int) -> dict[int, float]:
        """{hour start ms: EUR/MWh} for the cleared hours in [start_ms, end_ms); {} if refused."""
        ...


class PriceForecastSource(Protocol):
    """Area price forecasts with their band (PredictionService.GetPriceForecast: quarter-hours, 7 days)."""

    async def price_forecast(self, zone: str) -> dict[int, tuple[float, float, float]]:
        """{period start ms: (P10, P50, P90) EUR/MWh}, published periods exact; {} if refused."""
        ...


class ForecastSource(Protocol):
    """Household forecasts (today: PredictionService.PredictBatch)."""

    async def predict_batch(
        self, request: prediction_service_pb2.PredictBatchRequest
    ) -> prediction_service_pb2.PredictBatchResponse: ...


class LedgerSink(Protocol):
    """Where settlement and prediction records go (today: LedgerService.AppendRecords).

    Appends must be idempotent by ``request_id``: the outbox may send a row twice (a lease ran
    out while the first send was in flight). Raise :class:`DeliveryRejected` when the receiver
    refuses the request itself and :class:`DeliveryFailed` (or ``OSError``/``TimeoutError``) when
    a later try may succeed.
    """

    async def append(self, request: ledger_service_pb2.AppendRecordsRequest) -> None: ...


class CorrectionLedger(Protocol):
    """Where an operator's correction goes, now (today: LedgerService.AppendRecords): the caller
    waits for the receipt. Raises the receiver's ``grpc.aio.AioRpcError`` unchanged."""

    async def append_now(
        self, request: ledger_service_pb2.AppendRecordsRequest
    ) -> ledger_service_pb2.AppendRecordsResponse: ...


class AuditLog(Protocol):
    """The installation's audit log (today: AuthService.RecordAuditEvent). Raises the receiver's
    ``grpc.aio.AioRpcError`` unchanged."""

    async def record(self, request: auth_service_pb2.RecordAuditEventRequest) -> None: ...


class DeliveryRejected(Exception):
    """The receiver says the request is wrong: retrying cannot help (the row is parked)."""


class DeliveryFailed(Exception):
    """The append did not happen this time (receiver down, overloaded, login failed): retry."""
