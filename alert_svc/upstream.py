"""alert_svc's calls to predict_svc (price forecasts with exceed probabilities, cheapest windows)
and ingest_svc
(households, last reading, month cost with the capacity basis), with the alert service account's
token (logged in again once on UNAUTHENTICATED) and a deadline on every call.

Channels are made on first use, i.e. inside the running event loop.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import grpc

from common.auth.credentials import ServiceCredentials
from common.channels import make_channel
from energypulse.prediction.v1 import forecast_pb2, prediction_service_pb2, prediction_service_pb2_grpc
from energypulse.telemetry.v1 import reading_pb2, telemetry_service_pb2, telemetry_service_pb2_grpc

__all__ = ["Upstream"]

_T = TypeVar("_T")
Metadata = tuple[tuple[str, str], ...]


class Upstream:
    def __init__(
        self, predict_target: str, telemetry_target: str, creds: ServiceCredentials, timeout_s: float
    ) -> None:
        self._targets = (predict_target, telemetry_target)
        self._creds = creds
        self._timeout = timeout_s
        self._channels: list[grpc.aio.Channel] = []
        self._predict: prediction_service_pb2_grpc.PredictionServiceAsyncStub | None = None
        self._telemetry: telemetry_service_pb2_grpc.TelemetryServiceAsyncStub | None = None

    def _stubs(
        self,
    ) -> tuple[
        prediction_service_pb2_grpc.PredictionServiceAsyncStub,
        telemetry_service_pb2_grpc.TelemetryServiceAsyncStub,
    ]:
        if self._predict is None or self._telemetry is None:
            self._channels = [make_channel(t) for t in self._targets]
            # The AsyncStub classes exist only in the .pyi: a Stub made on an aio channel is one.
            self._predict = prediction_service_pb2_grpc.PredictionServiceStub(self._channels[0])
            self._telemetry = telemetry_service_pb2_grpc.TelemetryServiceStub(self._channels[1])
        assert self._predict is not None and self._telemetry is not None
        return self._predict, self._telemetry

    async def _call(self, rpc: Callable[[Metadata], Awaitable[_T]]) -> _T:
        try:
            return await rpc(await self._creds.metadata())
        except grpc.aio.AioRpcError as exc:
            if exc.code() != grpc.StatusCode.UNAUTHENTICATED:
                raise
            self._creds.invalidate()
            return await rpc(await self._creds.metadata())

    async def price_forecast(
        self, zone: str, threshold_eur_mwh: float | None, threshold_micro_per_kwh: int | None = None
    ) -> prediction_service_pb2.GetPriceForecastResponse:
        """A micro threshold is compared by predict_svc at each period's day rate (as the bill)."""
        predict, _ = self._stubs()
        request = prediction_service_pb2.GetPriceForecastRequest(
            zone=zone, horizon_hours=48, resolution=forecast_pb2.PRICE_RESOLUTION_QUARTER_HOUR, horizon_days=2
        )
        if threshold_eur_mwh is not None:
            request.price_threshold_eur_mwh = threshold_eur_mwh
        if threshold_micro_per_kwh is not None:
            request.price_threshold_micro_per_kwh = threshold_micro_per_kwh
        return await self._call(
            lambda md: predict.GetPriceForecast(request, metadata=md, timeout=self._timeout)
        )

    async def cheapest_windows(
        self, zone: str, duration_minutes: int, horizon_hours: int
    ) -> prediction_service_pb2.FindCheapestWindowsResponse:
        """The best window and the runner-up (to tell whether they are distinguishable)."""
        predict, _ = self._stubs()
        request = prediction_service_pb2.FindCheapestWindowsRequest(
            zone=zone, duration_minutes=duration_minutes, window_count=2, horizon_hours=horizon_hours
        )
        return await self._call(
            lambda md: predict.FindCheapestWindows(request, metadata=md, timeout=self._timeout)
        )

    async def household(self, household_id: str) -> reading_pb2.Household:
        _, telemetry = self._stubs()
        request = telemetry_service_pb2.GetHouseholdRequest(household_id=household_id)
        response = await self._call(
            lambda md: telemetry.GetHousehold(request, metadata=md, timeout=self._timeout)
        )
        return response.household

    async def last_read_ms(self, household_id: str) -> int | None:
        _, telemetry = self._stubs()
        request = telemetry_service_pb2.GetHouseholdSummaryRequest(household_id=household_id)
        response = await self._call(
            lambda md: telemetry.GetHouseholdSummary(request, metadata=md, timeout=self._timeout)
        )
        if not response.HasField("last_read_time") or response.last_read_time.seconds <= 0:
            return None
        return response.last_read_time.seconds * 1000 + response.last_read_time.nanos // 1_000_000

    async def month_cost(self, household_id: str) -> telemetry_service_pb2.GetMonthCostResponse:
        _, telemetry = self._stubs()
        request = telemetry_service_pb2.GetMonthCostRequest(household_id=household_id)
        return await self._call(
            lambda md: telemetry.GetMonthCost(request, metadata=md, timeout=self._timeout)
        )

    async def close(self) -> None:
        for channel in self._channels:
            await channel.close()
