"""gRPC adapters of billing's ports: PredictionService for prices and forecasts, LedgerService for
appends, each call with a service token from auth_svc and a deadline.

Channels are made on the first call, i.e. inside the running event loop; ``close()`` ends them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import grpc

from common.auth.credentials import ServiceCredentials
from common.channels import make_channel
from common.log import get_logger
from common.timestamps import from_ms
from energypulse.auth.v1 import auth_service_pb2, auth_service_pb2_grpc
from energypulse.ledger.v1 import ledger_service_pb2, ledger_service_pb2_grpc
from energypulse.prediction.v1 import forecast_pb2, prediction_service_pb2, prediction_service_pb2_grpc
from ingest_svc.billing.ports import DeliveryFailed, DeliveryRejected

__all__ = ["AuditClient", "LedgerClient", "PredictionClient", "ServiceLogin"]

log = get_logger(__name__)

_T = TypeVar("_T")
Metadata = tuple[tuple[str, str], ...]

# Forecast delivery days after the last published one that the month projection reads: all of
# them (GetPriceForecast serves up to 7). No horizon_hours cut: with tomorrow published the 7th
# forecast day ends up to 216 h from now, beyond the longest cut.
FORECAST_DAYS = 7


def _band(p: forecast_pb2.PricePeriod) -> tuple[float, float, float]:
    """(P10, P50, P90) of a period: a published one is exact; a forecast one its 0.1/0.5/0.9
    quantiles (the nearest levels served, lowest first), the median when a level is missing."""
    if p.kind != forecast_pb2.PRICE_KIND_FORECAST or not p.quantiles:
        return (p.price_eur_mwh, p.price_eur_mwh, p.price_eur_mwh)
    qs = sorted((q.level, q.price_eur_mwh) for q in p.quantiles)
    low = min(qs, key=lambda q: abs(q[0] - 0.1))[1]
    high = min(qs, key=lambda q: abs(q[0] - 0.9))[1]
    return (min(low, p.price_eur_mwh), p.price_eur_mwh, max(high, p.price_eur_mwh))


# The receiver says the request itself is wrong: retrying cannot help.
_PERMANENT = {grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.OUT_OF_RANGE}


class ServiceLogin:
    """The ingest service account's token, shared by both clients (logged in on first use)."""

    def __init__(self, auth_target: str, username: str, secret: str) -> None:
        self._args = (auth_target, username, secret)
        self._creds: ServiceCredentials | None = None

    async def _metadata(self) -> Metadata:
        if self._creds is None:
            self._creds = ServiceCredentials.for_auth_service(*self._args)
        try:
            return await self._creds.metadata()
        except grpc.aio.AioRpcError as exc:
            # auth_svc down or refusing: same handling as the call it was for (retry later).
            raise ConnectionError(f"service login failed: {exc.code().name}") from exc

    async def call(self, rpc: Callable[[Metadata], Awaitable[_T]]) -> _T:
        """Run ``rpc`` with a token; on UNAUTHENTICATED log in again once (token revoked/rotated)."""
        try:
            return await rpc(await self._metadata())
        except grpc.aio.AioRpcError as exc:
            if exc.code() != grpc.StatusCode.UNAUTHENTICATED or self._creds is None:
                raise
            self._creds.invalidate()
            return await rpc(await self._metadata())


class PredictionClient:
    """:class:`~ingest_svc.billing.ports.PriceSource`, ``ForecastSource`` and ``PriceForecastSource``
    over PredictionService."""

    def __init__(self, target: str, login: ServiceLogin, timeout_s: float) -> None:
        self._target = target
        self._login = login
        self._timeout = timeout_s
        self._channel: grpc.aio.Channel | None = None
        self._stub: prediction_service_pb2_grpc.PredictionServiceAsyncStub | None = None

    def _connected(self) -> prediction_service_pb2_grpc.PredictionServiceAsyncStub:
        # The AsyncStub class exists only in the .pyi: the Stub made on an aio channel is one.
        if self._stub is None:
            self._channel = make_channel(self._target)
            self._stub = prediction_service_pb2_grpc.PredictionServiceStub(self._channel)
        return self._stub

    async def market_prices(self, zone: str, start_ms: int, end_ms: int) -> dict[int, float]:
        stub = self._connected()
        request = prediction_service_pb2.GetMarketPricesRequest(
            zone=zone, start_time=from_ms(start_ms), end_time=from_ms(end_ms)
        )
        try:
            response = await self._login.call(
                lambda md: stub.GetMarketPrices(request, timeout=self._timeout, metadata=md)
            )
        except grpc.aio.AioRpcError as exc:
            if exc.code() in _PERMANENT:
                log.warning("market_prices_refused", zone=zone, error=exc.details())
                return {}
            raise
        return {p.hour_start.seconds * 1000: p.price_eur_mwh for p in response.prices}

    async def price_forecast(self, zone: str) -> dict[int, tuple[float, float, float]]:
        """{quarter start ms: (P10, P50, P90) EUR/MWh} from the start of today's delivery day to the
        end of the forecast (the published periods exact, then the 7 delivery days of forecast
        after the last published one, uncut); {} if refused."""
        stub = self._connected()
        request = prediction_service_pb2.GetPriceForecastRequest(
            zone=zone,
            horizon_days=FORECAST_DAYS,
            resolution=forecast_pb2.PRICE_RESOLUTION_QUARTER_HOUR,
        )
        try:
            response = await self._login.call(
                lambda md: stub.GetPriceForecast(request, timeout=self._timeout, metadata=md)
            )
        except grpc.aio.AioRpcError as exc:
            if exc.code() in _PERMANENT:
                log.warning("price_forecast_refused", zone=zone, error=exc.details())
                return {}
            raise
        return {p.start_time.seconds * 1000: _band(p) for p in response.periods}

    async def predict_batch(
        self, request: prediction_service_pb2.PredictBatchRequest
    ) -> prediction_service_pb2.PredictBatchResponse:
        stub = self._connected()
        return await self._login.call(
            lambda md: stub.PredictBatch(request, timeout=self._timeout, metadata=md)
        )

    async def close(self) -> None:
        if self._channel is not None:
            await self._channel.close(None)
            self._channel = self._stub = None


class LedgerClient:
    """:class:`~ingest_svc.billing.ports.LedgerSink` over LedgerService.AppendRecords."""

    def __init__(self, target: str, login: ServiceLogin, timeout_s: float) -> None:
        self._target = target
        self._login = login
        self._timeout = timeout_s
        self._channel: grpc.aio.Channel | None = None
        self._stub: ledger_service_pb2_grpc.LedgerServiceAsyncStub | None = None

    def _connected(self) -> ledger_service_pb2_grpc.LedgerServiceAsyncStub:
        if self._stub is None:
            self._channel = make_channel(self._target)
            self._stub = ledger_service_pb2_grpc.LedgerServiceStub(self._channel)
        return self._stub

    async def append(self, request: ledger_service_pb2.AppendRecordsRequest) -> None:
        stub = self._connected()
        try:
            await self._login.call(lambda md: stub.AppendRecords(request, timeout=self._timeout, metadata=md))
        except grpc.aio.AioRpcError as exc:
            kind = DeliveryRejected if exc.code() in _PERMANENT else DeliveryFailed
            raise kind(f"{exc.code().name}: {exc.details()}") from exc

    async def append_now(
        self, request: ledger_service_pb2.AppendRecordsRequest
    ) -> ledger_service_pb2.AppendRecordsResponse:
        """:class:`~ingest_svc.billing.ports.CorrectionLedger`: the receipts, or the ledger's error."""
        stub = self._connected()
        return await self._login.call(
            lambda md: stub.AppendRecords(request, timeout=self._timeout, metadata=md)
        )

    async def close(self) -> None:
        if self._channel is not None:
            await self._channel.close(None)
            self._channel = self._stub = None


class AuditClient:
    """:class:`~ingest_svc.billing.ports.AuditLog` over AuthService.RecordAuditEvent."""

    def __init__(self, target: str, login: ServiceLogin, timeout_s: float) -> None:
        self._target = target
        self._login = login
        self._timeout = timeout_s
        self._channel: grpc.aio.Channel | None = None
        self._stub: auth_service_pb2_grpc.AuthServiceAsyncStub | None = None

    async def record(self, request: auth_service_pb2.RecordAuditEventRequest) -> None:
        if self._stub is None:
            self._channel = make_channel(self._target)
            self._stub = auth_service_pb2_grpc.AuthServiceStub(self._channel)
        stub = self._stub
        await self._login.call(lambda md: stub.RecordAuditEvent(request, timeout=self._timeout, metadata=md))

    async def close(self) -> None:
        if self._channel is not None:
            await self._channel.close(None)
            self._channel = self._stub = None
