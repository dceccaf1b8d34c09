"""PredictionService RPC handlers (thin: validation, conversion, delegation to the domain).

Households: ingest_svc calls PredictBatch with each household's recent readings and profile;
the latest input per household is kept (:class:`HouseholdBook`) so PredictHousehold, called by
the dashboard with only a household id, can forecast from it. A household never seen through a
batch is NOT_FOUND.
"""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from common import timestamps
from common.errors import InvalidArgument, NotFound
from common.log import get_logger
from energy import localtime
from energy.bills import energy_cost_eur
from energy.tariff import Tariff, capacity_basis_kw
from energypulse.errors.v1 import error_reason_pb2 as reasons
from energypulse.prediction.v1 import forecast_pb2
from energypulse.prediction.v1 import prediction_service_pb2 as pb
from energypulse.prediction.v1 import prediction_service_pb2_grpc as pb_grpc
from predict_svc.hourly import HOUR, floor_hour, hour64, to_datetime, utc
from predict_svc.household import HouseholdBatch, cheapest_hours, exceed_probability, forecast_consumption_kwh
from predict_svc.runtime import (
    AccuracyTracker,
    ForecastCache,
    LoadedModel,
    ModelRegistry,
    ZoneForecast,
    ZoneMarket,
)
from predict_svc.weather import SyntheticWeather, WeatherError, WeatherProvider

__all__ = ["HouseholdBook", "PredictionServicer"]

log = get_logger(__name__)
MAX_RANGE = timedelta(days=31)


class HouseholdBook:
    """Latest batch input per household (bounded, least recently updated evicted first)."""

    def __init__(self, capacity: int = 1_000_000) -> None:
        self._items: OrderedDict[str, forecast_pb2.HouseholdInput] = OrderedDict()
        self._capacity = capacity
        self._lock = threading.Lock()

    def update(self, inputs: list[forecast_pb2.HouseholdInput]) -> None:
        with self._lock:
            items = self._items
            for item in inputs:
                # The request's own message is kept (no copy: PredictBatch is hot). A batch stays
                # in memory until its households are all superseded by later batches.
                items[item.household_id] = item
                items.move_to_end(item.household_id)
            while len(items) > self._capacity:
                items.popitem(last=False)

    def get(self, household_id: str) -> forecast_pb2.HouseholdInput | None:
        return self._items.get(household_id)


@dataclass
class Weather:
    """Temperatures per zone and real hour, from a provider with the synthetic one as fallback."""

    provider: WeatherProvider
    fallback: WeatherProvider = field(default_factory=SyntheticWeather)

    def temperatures(self, zone: str, start: datetime, hours: int) -> np.ndarray:
        end = start + timedelta(hours=hours - 1)
        try:
            frame = self.provider.hourly(zone, start, end)
        except WeatherError as exc:
            log.warning("weather_unavailable", zone=zone, error=str(exc))
            frame = self.fallback.hourly(zone, start, end)
        values = _on_hours(frame["temperature_c"], frame.start, hour64(start), hours)
        if np.isnan(values).any():
            backup_frame = self.fallback.hourly(zone, start, end)
            backup = _on_hours(backup_frame["temperature_c"], backup_frame.start, hour64(start), hours)
            values = np.where(np.isnan(values), backup, values)
        return values


def _on_hours(values: np.ndarray, start: np.datetime64, first: np.datetime64, hours: int) -> np.ndarray:
    """``values`` (hourly from ``start``) at the ``hours`` hours from ``first``, NaN where absent."""
    out = np.full(hours, np.nan)
    offset = int((start - first) // HOUR)
    lo, hi = max(0, offset), min(hours, offset + len(values))
    if hi > lo:
        out[lo:hi] = values[lo - offset : hi - offset]
    return out


class PredictionServicer(pb_grpc.PredictionServiceServicer):
    def __init__(
        self,
        markets: dict[str, ZoneMarket],
        registry: ModelRegistry,
        tariff: Tariff,
        weather: Weather,
        accuracy: AccuracyTracker,
        max_batch: int = 10_000,
    ) -> None:
        self.markets = markets
        self.registry = registry
        self.tariff = tariff
        self.weather = weather
        self.accuracy = accuracy
        self.cache = ForecastCache()
        self.households = HouseholdBook()
        self.max_batch = max_batch
        self._temps: dict[tuple[str, datetime], np.ndarray] = {}
        # Built GetPriceForecast responses per (zone, horizon), valid while the cached forecast
        # object is the same (performance: building 24 PricePoints with Timestamp conversions
        # was most of the call; the response is never mutated after it is returned).
        self._price_responses: dict[tuple[str, int], tuple[ZoneForecast, pb.GetPriceForecastResponse]] = {}

    # -- shared helpers ----------------------------------------------------------------------
    def zone_forecast(self, zone: str) -> tuple[ZoneForecast, LoadedModel]:
        loaded = self.registry.get(zone)
        market = self.markets[loaded.model.zone.upper()]
        forecast, fresh = self.cache.get(market, loaded)
        if fresh:
            f = forecast.forecast
            self.accuracy.record(
                market.zone, to_datetime(f.target_times[0]), float(f.p10[0]), float(f.p50[0]), float(f.p90[0])
            )
        return forecast, loaded

    def _temperatures(self, zone: str, issue: datetime) -> np.ndarray:
        """Temperatures at the issue hour and the 24 hours after it (cached per hour)."""
        key = (zone, issue)
        cached = self._temps.get(key)
        if cached is None:
            cached = self.weather.temperatures(zone, issue, 25)
            if len(self._temps) > 64:
                self._temps.clear()
            self._temps[key] = cached
        return cached

    @staticmethod
    def _horizon(value: int) -> int:
        if value == 0:
            return 24
        if not 1 <= value <= 24:
            raise InvalidArgument(reasons.HORIZON_OUT_OF_RANGE, f"horizon_hours must be 1..24, got {value}")
        return value

    def _model_info(self, loaded: LoadedModel) -> forecast_pb2.ModelInfo:
        model = loaded.model
        return forecast_pb2.ModelInfo(
            zone=model.zone,
            version=model.version,
            train_start=timestamps.from_datetime(utc(model.train_start)),
            train_end=timestamps.from_datetime(utc(model.train_end)),
            features=list(model.features),
            metrics=model.metrics,
            create_time=timestamps.from_datetime(utc(model.created_at)),
            load_time=timestamps.from_datetime(utc(loaded.load_time)),
            data_source=model.source,
        )

    # -- RPCs --------------------------------------------------------------------------------
    async def GetPriceForecast(
        self, request: pb.GetPriceForecastRequest, context: object
    ) -> pb.GetPriceForecastResponse:
        horizon = self._horizon(request.horizon_hours)
        forecast, _ = self.zone_forecast(request.zone)
        key = (forecast.zone, horizon)
        hit = self._price_responses.get(key)
        if hit is not None and hit[0] is forecast:
            return hit[1]
        f = forecast.forecast
        points = [
            forecast_pb2.PricePoint(
                hour_start=timestamps.from_datetime(forecast.target_times[i]),
                horizon_hours=int(f.horizons[i]),
                p10_eur_mwh=float(f.p10[i]),
                p50_eur_mwh=float(f.p50[i]),
                p90_eur_mwh=float(f.p90[i]),
            )
            for i in range(horizon)
        ]
        response = pb.GetPriceForecastResponse(
            zone=forecast.zone,
            issue_time=timestamps.from_datetime(forecast.issue_time),
            points=points,
            model_version=forecast.model_version,
        )
        self._price_responses[key] = (forecast, response)  # bounded: zones x 24 horizons
        return response

    async def GetMarketPrices(
        self, request: pb.GetMarketPricesRequest, context: object
    ) -> pb.GetMarketPricesResponse:
        zone = self.registry.check_zone(request.zone)
        market = self.markets[zone]
        end = timestamps.to_datetime(request.end_time) if request.HasField("end_time") else market.clock.now()
        start = (
            timestamps.to_datetime(request.start_time)
            if request.HasField("start_time")
            else end - timedelta(hours=24)
        )
        if start >= end:
            raise InvalidArgument(reasons.INVALID_TIME_RANGE, "start_time must be before end_time")
        if end - start > MAX_RANGE:
            raise InvalidArgument(reasons.TIME_RANGE_TOO_LONG, "at most 31 days of prices per call")
        first = floor_hour(start)
        real = first if first == utc(start) else first + timedelta(hours=1)  # ceil to the hour
        data_now = market.clock.data_now()
        out = []
        while real < end:
            data = market.clock.to_data(real)
            if data > data_now:
                break
            value = market.price_at(data)
            if np.isfinite(value):
                out.append(
                    forecast_pb2.ActualPrice(hour_start=timestamps.from_datetime(real), price_eur_mwh=value)
                )
            real += timedelta(hours=1)
        return pb.GetMarketPricesResponse(zone=zone, prices=out)

    async def PredictBatch(self, request: pb.PredictBatchRequest, context: object) -> pb.PredictBatchResponse:
        households = request.households
        if len(households) > self.max_batch:
            raise InvalidArgument(
                reasons.BATCH_TOO_LARGE,
                f"at most {self.max_batch} households per call, got {len(households)}",
            )
        response = pb.PredictBatchResponse()
        if not households:
            return response
        # Lists, not the repeated field: indexing a protobuf repeated field is slow.
        rows_all = list(households)
        if not all([h.household_id for h in rows_all]):
            i = next(i for i, h in enumerate(rows_all) if not h.household_id)
            raise InvalidArgument(reasons.HOUSEHOLD_ID_REQUIRED, f"households[{i}] has no household_id")
        zone_names = [h.zone for h in rows_all]
        groups: list[tuple[str, np.ndarray | None]]  # zone, its rows (None: all)
        if len(set(zone_names)) == 1:  # the usual batch: one zone, no grouping
            groups = [(self.registry.check_zone(zone_names[0]), None)]
        else:
            zones = np.array([z.strip().upper() for z in zone_names])
            groups = [(str(zone), np.flatnonzero(zones == zone)) for zone in np.unique(zones)]
        n = len(rows_all)
        kwh_all = np.empty(n)
        costs_all = np.empty((3, n))
        group_of = np.zeros(n, dtype=np.intp)
        templates: list[bytes] = []
        for g, (zone, idx) in enumerate(groups):
            forecast, _ = self.zone_forecast(zone)
            rows = rows_all if idx is None else [rows_all[i] for i in idx.tolist()]
            batch = HouseholdBatch.from_rows(
                [h.recent_hourly_kw for h in rows],
                [h.residents for h in rows],
                [h.heating for h in rows],
                [h.has_ev for h in rows],
                [h.has_solar for h in rows],
            )
            temps = self._temperatures(forecast.zone, forecast.issue_time)
            target = forecast.target_times[0]
            kwh = forecast_consumption_kwh(
                batch, temps[0], temps[1], target.astimezone(localtime.zone()).hour
            )
            f = forecast.forecast
            quantiles = (f.p10[0], f.p50[0], f.p90[0])
            costs = np.sort(np.vstack([energy_cost_eur(self.tariff, kwh, p) for p in quantiles]), axis=0)
            where = slice(None) if idx is None else idx
            kwh_all[where] = kwh
            costs_all[:, where] = costs
            group_of[where] = g
            # What every household of the zone shares, serialised once and merged into each
            # prediction (one call per row instead of building two sub-messages per row).
            templates.append(
                forecast_pb2.HouseholdPrediction(
                    hour_start=timestamps.from_datetime(target),
                    price=forecast_pb2.PricePoint(
                        hour_start=timestamps.from_datetime(target),
                        horizon_hours=1,
                        p10_eur_mwh=float(f.p10[0]),
                        p50_eur_mwh=float(f.p50[0]),
                        p90_eur_mwh=float(f.p90[0]),
                    ),
                    model_version=forecast.model_version,
                ).SerializeToString()
            )
        add = response.predictions.add
        shared = [templates[g] for g in group_of.tolist()]
        for h, kwh_value, c10, c50, c90, template in zip(
            rows_all, kwh_all.tolist(), *costs_all.tolist(), shared, strict=True
        ):
            add(
                household_id=h.household_id,
                consumption_kwh=kwh_value,
                cost_p10_eur=c10,
                cost_p50_eur=c50,
                cost_p90_eur=c90,
            ).MergeFromString(template)
        self.households.update(rows_all)
        return response

    async def PredictHousehold(
        self, request: pb.PredictHouseholdRequest, context: object
    ) -> pb.PredictHouseholdResponse:
        horizon = self._horizon(request.horizon_hours)
        if not request.household_id:
            raise InvalidArgument(reasons.HOUSEHOLD_ID_REQUIRED, "household_id is required")
        if request.cheapest_hours_count < 0 or request.cheapest_hours_count > 24:
            raise InvalidArgument(reasons.CHEAPEST_COUNT_OUT_OF_RANGE, "cheapest_hours_count must be 0..24")
        info = self.households.get(request.household_id)
        if info is None:
            raise NotFound(
                reasons.HOUSEHOLD_NOT_FOUND, f"no recent readings for household {request.household_id}"
            )
        forecast, _ = self.zone_forecast(info.zone)
        f = forecast.forecast
        batch = HouseholdBatch.from_rows(
            [list(info.recent_hourly_kw)], [info.residents], [info.heating], [info.has_ev], [info.has_solar]
        )
        temps = self._temperatures(forecast.zone, forecast.issue_time)
        hours_out = []
        for k in range(horizon):
            target = forecast.target_times[k]
            kwh = float(
                forecast_consumption_kwh(
                    batch, temps[0], temps[k + 1], target.astimezone(localtime.zone()).hour, horizon=k + 1
                )[0]
            )
            costs = sorted(
                float(energy_cost_eur(self.tariff, kwh, p)) for p in (f.p10[k], f.p50[k], f.p90[k])
            )
            parts = self.tariff.breakdown(float(f.p50[k]))
            hours_out.append(
                forecast_pb2.HourlyCost(
                    hour_start=timestamps.from_datetime(target),
                    consumption_kwh=kwh,
                    price=forecast_pb2.RetailPrice(**parts),
                    cost_p10_eur=costs[0],
                    cost_p50_eur=costs[1],
                    cost_p90_eur=costs[2],
                )
            )
        count = request.cheapest_hours_count or 3
        cheapest = cheapest_hours(f.p50[:horizon], min(count, horizon))
        exceed: list[float] = []
        if request.price_threshold_eur_mwh != 0:
            exceed = [
                float(v)
                for v in exceed_probability(
                    request.price_threshold_eur_mwh, f.p10[:horizon], f.p50[:horizon], f.p90[:horizon]
                )
            ]
        basis = capacity_basis_kw(list(info.daily_peaks_kw))
        result = forecast_pb2.HouseholdForecast(
            household_id=info.household_id,
            zone=forecast.zone,
            next_hour=hours_out[0],
            hours=hours_out,
            cheapest_hours=[timestamps.from_datetime(forecast.target_times[int(i)]) for i in cheapest],
            exceed_probability=exceed,
            capacity_charge_eur_month=self.tariff.capacity_eur_month(basis),
            standing_charge_eur_day=self.tariff.standing_eur_day(),
            model_version=forecast.model_version,
        )
        return pb.PredictHouseholdResponse(forecast=result)

    async def GetModelInfo(self, request: pb.GetModelInfoRequest, context: object) -> pb.GetModelInfoResponse:
        return pb.GetModelInfoResponse(model=self._model_info(self.registry.get(request.zone)))

    async def GetAccuracy(self, request: pb.GetAccuracyRequest, context: object) -> pb.GetAccuracyResponse:
        zone = self.registry.check_zone(request.zone)
        window = request.window_hours or 168
        if not 1 <= window <= self.accuracy.capacity_hours:
            raise InvalidArgument(
                reasons.WINDOW_OUT_OF_RANGE,
                f"window_hours must be 1..{self.accuracy.capacity_hours}, got {window}",
            )
        market = self.markets[zone]
        scored = self.accuracy.score(market, window)
        points = [
            pb.AccuracyPoint(
                hour_start=timestamps.from_datetime(market.clock.to_real(t)),
                forecast_p50_eur_mwh=mid,
                forecast_p10_eur_mwh=lo,
                forecast_p90_eur_mwh=hi,
                actual_eur_mwh=actual,
            )
            for t, lo, mid, hi, actual, _naive in scored.points
        ]
        return pb.GetAccuracyResponse(
            zone=zone,
            hours=scored.hours,
            mae_eur_mwh=scored.mae,
            interval_coverage=scored.coverage,
            naive_mae_eur_mwh=scored.naive_mae,
            points=points,
        )

    async def ReloadModel(self, request: pb.ReloadModelRequest, context: object) -> pb.ReloadModelResponse:
        # Loading parses boosters (tens of ms): off the event loop so other calls keep flowing.
        loaded = await asyncio.to_thread(self.registry.reload, request.zone, True)
        return pb.ReloadModelResponse(models=[self._model_info(m) for m in loaded])
