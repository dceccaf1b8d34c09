"""PredictionService RPC handlers (thin: validation, conversion, delegation to the domain).

Households: ingest_svc calls PredictBatch with each household's recent readings and profile;
the latest input per household is kept (:class:`HouseholdBook`) so PredictHousehold, called by
the dashboard with only a household id, can forecast from it. A household never seen through a
batch is NOT_FOUND.
"""

from __future__ import annotations

import asyncio
import calendar
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

import numpy as np

from common import timestamps
from common.errors import EnergyPulseError, InvalidArgument, NotFound
from common.log import get_logger
from energy import localtime
from energy.billrules import BillRules
from energypulse.errors.v1 import error_reason_pb2 as reasons
from energypulse.prediction.v1 import forecast_pb2
from energypulse.prediction.v1 import prediction_service_pb2 as pb
from energypulse.prediction.v1 import prediction_service_pb2_grpc as pb_grpc
from predict_svc.costs import HouseholdCosts, SpotConverter
from predict_svc.hourly import HOUR, floor_hour, hour64, utc
from predict_svc.household import HouseholdBatch, cheapest_hours, forecast_consumption_kwh
from predict_svc.quantiles import BAND_LEVELS, exceed_probability
from predict_svc.quarters import floor_quarter
from predict_svc.runtime import (
    AccuracyStore,
    ForecastCache,
    LoadedModel,
    ModelRegistry,
    PricePath,
    ZoneMarket,
    substitution_notes,
    substitutions,
)
from predict_svc.weather import SyntheticWeather, WeatherError, WeatherProvider
from predict_svc.windows import cheapest_windows, window_message

__all__ = ["HouseholdBook", "PredictionServicer", "forecast_notes"]

log = get_logger(__name__)
HOUR_TD = timedelta(hours=1)
MAX_RANGE = timedelta(days=31)
MAX_FORECAST_HOURS = 192
MAX_FORECAST_DAYS = 7
_RESOLUTIONS = {
    forecast_pb2.PRICE_RESOLUTION_UNSPECIFIED: 15,
    forecast_pb2.PRICE_RESOLUTION_QUARTER_HOUR: 15,
    forecast_pb2.PRICE_RESOLUTION_HOUR: 60,
}
_EXCEED_STATUS = {
    1: forecast_pb2.EXCEED_STATUS_WITHIN_QUANTILES,
    2: forecast_pb2.EXCEED_STATUS_ABOVE_TOP_QUANTILE,
    3: forecast_pb2.EXCEED_STATUS_BELOW_BOTTOM_QUANTILE,
}


def _resolution(value: int) -> int:
    """Minutes per served period of a PriceResolution value (INVALID_ARGUMENT otherwise)."""
    minutes = _RESOLUTIONS.get(value)  # type: ignore[call-overload]
    if minutes is None:
        raise InvalidArgument(
            reasons.RESOLUTION_INVALID, f"resolution must be QUARTER_HOUR or HOUR, got {value}"
        )
    return int(minutes)


# Market columns a forecast can substitute (predict_svc.weekahead.SUBSTITUTABLE) as typed inputs.
_FORECAST_INPUTS = {
    "load_forecast": forecast_pb2.FORECAST_INPUT_LOAD_FORECAST,
    "wind_solar_forecast": forecast_pb2.FORECAST_INPUT_WIND_SOLAR_FORECAST,
}


def forecast_notes(path: PricePath) -> list[forecast_pb2.ForecastNote]:
    """The typed notes of ``path``'s forecast (GetPriceForecastResponse.notes), one per
    substituted input, in the order of the prose ``forecast_notes``."""
    return [
        forecast_pb2.ForecastNote(
            code=forecast_pb2.FORECAST_NOTE_CODE_INPUT_SUBSTITUTED,
            input=_FORECAST_INPUTS.get(s.series, forecast_pb2.FORECAST_INPUT_UNSPECIFIED),
            missing_day=s.missing_day.isoformat(),
            used_day=s.used_day.isoformat(),
        )
        for s in substitutions(path)
    ]


def _resolution_enum(minutes: int) -> forecast_pb2.PriceResolution.ValueType:
    return forecast_pb2.PRICE_RESOLUTION_HOUR if minutes == 60 else forecast_pb2.PRICE_RESOLUTION_QUARTER_HOUR


@dataclass(frozen=True)
class ServedPeriods:
    """A path's periods at one resolution, from index ``lo``: real starts and values."""

    starts: list[datetime]
    minutes: int
    published: np.ndarray
    derived: np.ndarray
    p10: np.ndarray
    p50: np.ndarray
    p90: np.ndarray
    days: list[str]
    offsets: list[int]
    upper: dict[float, np.ndarray] = field(default_factory=dict)  # levels above P90 (0.95 .. 0.999)

    def quantiles(self, sel: slice) -> tuple[np.ndarray, tuple[float, ...]]:
        """The periods' quantiles (rows x levels, lowest first) and their levels."""
        cols = [self.p10[sel], self.p50[sel], self.p90[sel], *(v[sel] for v in self.upper.values())]
        return np.column_stack(cols), (*BAND_LEVELS, *self.upper)


def served_periods(path: PricePath, minutes: int) -> ServedPeriods:
    """The path at quarter-hour (15) or hourly (60) resolution; hours are means of quarters."""
    if minutes == 15:
        pub, der, p10, p50, p90 = path.q_published, path.q_derived, path.q_p10, path.q_p50, path.q_p90
        upper = dict(path.q_upper)
        starts, days = path.q_real, path.q_day
    else:
        n = len(path.q_p50) // 4

        def hours(a: np.ndarray) -> np.ndarray:
            mean: np.ndarray = np.asarray(a[: n * 4], dtype=float).reshape(n, 4).mean(axis=1)
            return mean

        pub = path.q_published[: n * 4 : 4]
        der = np.asarray(path.q_derived[: n * 4].reshape(n, 4).all(axis=1), dtype=bool)
        p10, p50, p90 = hours(path.q_p10), hours(path.q_p50), hours(path.q_p90)
        upper = {lv: hours(v) for lv, v in path.q_upper.items()}
        starts, days = path.q_real[: n * 4 : 4], path.q_day[: n * 4 : 4]
    real_today = days[0]
    return ServedPeriods(
        starts=list(starts),
        minutes=minutes,
        published=np.asarray(pub, dtype=bool),
        derived=np.asarray(der, dtype=bool),
        p10=p10,
        p50=p50,
        p90=p90,
        days=[d.isoformat() for d in days],
        offsets=[(d - real_today).days for d in days],
        upper=upper,
    )


def _ceil_to(when: datetime, step: timedelta) -> datetime:
    """``when`` rounded up to a multiple of ``step`` since the epoch (UTC)."""
    epoch = datetime(1970, 1, 1, tzinfo=when.tzinfo)
    rest = (when - epoch) % step
    return when if not rest else when + (step - rest)


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


@dataclass(frozen=True)
class _HoursAhead:
    starts: list[datetime]
    p10: np.ndarray
    p50: np.ndarray
    p90: np.ndarray
    horizons: np.ndarray
    published: np.ndarray
    upper: dict[float, np.ndarray] = field(default_factory=dict)  # levels above P90


class PredictionServicer(pb_grpc.PredictionServiceServicer):
    def __init__(
        self,
        markets: dict[str, ZoneMarket],
        registry: ModelRegistry,
        rules: BillRules,
        weather: Weather,
        accuracy: AccuracyStore,
        max_batch: int = 10_000,
    ) -> None:
        self.markets = markets
        self.registry = registry
        self.costs = HouseholdCosts(rules)  # the household's bill (energy.bill), its currency
        self.weather = weather
        self.accuracy = accuracy
        self.cache = ForecastCache()
        self.households = HouseholdBook()
        self.max_batch = max_batch
        self._temps: dict[tuple[str, datetime], np.ndarray] = {}
        # Built GetPriceForecast responses per (zone, horizon), valid while the cached forecast
        # object is the same (performance: building 24 PricePoints with Timestamp conversions
        # was most of the call; the response is never mutated after it is returned).
        self._price_responses: dict[bytes, tuple[PricePath, datetime, pb.GetPriceForecastResponse]] = {}

    # -- shared helpers ----------------------------------------------------------------------
    def market(self, zone: str) -> ZoneMarket:
        """The zone's market as it is now (a snapshot: a live market may publish a day while this
        request runs; the request keeps one consistent state)."""
        return self.markets[zone].snapshot()

    def zone_path(self, zone: str) -> tuple[PricePath, LoadedModel]:
        """The zone's current price path (computed when a day is published or the model changes;
        each new one is recorded for live accuracy)."""
        loaded = self.registry.get(zone)
        market = self.market(loaded.model.zone.upper())
        path, fresh = self.cache.get(market, loaded)
        if fresh:
            self.accuracy.record(market, path)
        return path, loaded

    async def path_for(self, zone: str) -> PricePath:
        """:meth:`zone_path` off the event loop when the path must be computed (model calls take
        seconds for a week ahead); a cached path is returned inline."""
        loaded = self.registry.get(zone)
        market = self.market(loaded.model.zone.upper())
        cached = self.cache.peek(market, loaded)
        if cached is not None:
            return cached
        path, _ = await asyncio.to_thread(self.zone_path, zone)
        return path

    def hours_ahead(self, path: PricePath, count: int) -> _HoursAhead:
        """The ``count`` hours after the current one: real starts and P10/P50/P90 (published hours
        carry their price in all three)."""
        market = self.market(path.zone)
        first = path.hour_index(market.clock.data_now()) + 1
        idx = np.arange(first, min(first + count, len(path.h_p50)))
        return _HoursAhead(
            starts=[path.q_real[4 * int(i)] for i in idx],
            p10=path.h_p10[idx],
            p50=path.h_p50[idx],
            p90=path.h_p90[idx],
            horizons=(idx - first + 1).astype(int),
            published=path.h_published[idx],
            upper={lv: v[idx] for lv, v in path.h_upper.items()},
        )

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
    def _period_messages(
        self,
        served: ServedPeriods,
        lo: int,
        hi: int,
        threshold: float | None,
        spot: SpotConverter,
        threshold_micro: int | None = None,
    ) -> list[forecast_pb2.PricePeriod]:
        """The periods ``[lo, hi)``; with ``threshold`` (EUR/MWh) or ``threshold_micro`` (µ of the
        bill's currency per kWh, compared at each period's rate), each one's exceed probability."""
        sel = slice(lo, hi)
        pub = served.published[sel]
        p50 = served.p50[sel]
        quantiles, levels = served.quantiles(sel)
        rows = quantiles.tolist()
        rates = [spot.rate(served.days[i], served.offsets[i]) for i in range(lo, hi)]
        micro = [spot.micro(float(v), r) for v, r in zip(p50, rates, strict=True)]
        limit: float | np.ndarray | None = threshold
        if threshold_micro is not None:
            limit = np.array([spot.eur_mwh(threshold_micro, r) for r in rates], dtype=float)
        prob = status = None
        if limit is not None and hi > lo:
            prob, status = exceed_probability(limit, quantiles, levels)
        out = []
        for j in range(hi - lo):
            i = lo + j
            period = forecast_pb2.PricePeriod(
                start_time=timestamps.from_datetime(served.starts[i]),
                duration_minutes=served.minutes,
                kind=forecast_pb2.PRICE_KIND_PUBLISHED if pub[j] else forecast_pb2.PRICE_KIND_FORECAST,
                price_eur_mwh=float(p50[j]),
                derived=bool(served.derived[i]),
                delivery_day=served.days[i],
                day_offset=served.offsets[i],
                spot_micro_per_kwh=micro[j],
            )
            if not pub[j]:
                period.quantiles.extend(
                    forecast_pb2.Quantile(
                        level=lv, price_eur_mwh=float(v), spot_micro_per_kwh=spot.micro(float(v), rates[j])
                    )
                    for lv, v in zip(levels, rows[j], strict=True)
                )
            if limit is not None:
                assert prob is not None and status is not None
                if pub[j]:
                    above = micro[j] > threshold_micro if threshold_micro is not None else p50[j] > limit
                    period.exceed_probability = 1.0 if above else 0.0
                    period.exceed_status = forecast_pb2.EXCEED_STATUS_EXACT
                else:
                    period.exceed_probability = float(prob[j])
                    period.exceed_status = _EXCEED_STATUS[int(status[j])]
            out.append(period)
        return out

    @staticmethod
    def _cheapest(
        served: ServedPeriods, lo: int, hi: int, count: int, spot: SpotConverter
    ) -> list[forecast_pb2.CheapestPeriod]:
        """The ``count`` cheapest periods of each delivery day within ``[lo, hi)``."""
        out: list[forecast_pb2.CheapestPeriod] = []
        if count <= 0:
            return out
        by_day: dict[str, list[int]] = {}
        for i in range(lo, hi):
            by_day.setdefault(served.days[i], []).append(i)
        for day, idx in by_day.items():
            values = served.p50[idx]
            for k in cheapest_hours(values, min(count, len(idx))):
                i = idx[int(k)]
                certain = bool(served.published[i])
                out.append(
                    forecast_pb2.CheapestPeriod(
                        start_time=timestamps.from_datetime(served.starts[i]),
                        duration_minutes=served.minutes,
                        price_eur_mwh=float(served.p50[i]),
                        certainty=forecast_pb2.CHEAPEST_CERTAINTY_CERTAIN
                        if certain
                        else forecast_pb2.CHEAPEST_CERTAINTY_LIKELY,
                        delivery_day=day,
                        spot_micro_per_kwh=spot.micro(
                            float(served.p50[i]), spot.rate(day, served.offsets[i])
                        ),
                    )
                )
        out.sort(key=lambda c: (c.delivery_day, c.price_eur_mwh))
        return out

    def _day_status(
        self, path: PricePath, days: list[str], offsets: list[int], spot: SpotConverter
    ) -> list[forecast_pb2.DeliveryDayStatus]:
        cal = self.market(path.zone).calendar
        published_real = path.q_day[4 * path.hour_index(path.published_end - HOUR_TD) + 3]
        out = []
        offset_of = dict(zip(days, offsets, strict=True))
        for text in dict.fromkeys(days):
            day = date.fromisoformat(text)
            out.append(
                forecast_pb2.DeliveryDayStatus(
                    delivery_day=text,
                    published=day <= published_real,
                    gate_closure_time=timestamps.from_datetime(cal.gate_closure(day)),
                    expected_publication_time=timestamps.from_datetime(cal.expected_publication(day)),
                    market_periods=len(cal.periods(day)),
                    market_period_minutes=cal.period_minutes(day),
                    eur_rate=str(spot.rate(text, offset_of[text])),
                )
            )
        return out

    async def GetPriceForecast(
        self, request: pb.GetPriceForecastRequest, context: object
    ) -> pb.GetPriceForecastResponse:
        horizon = request.horizon_hours or 24
        if not 1 <= horizon <= MAX_FORECAST_HOURS:
            raise InvalidArgument(
                reasons.HORIZON_OUT_OF_RANGE,
                f"horizon_hours must be 1..{MAX_FORECAST_HOURS}, got {request.horizon_hours}",
            )
        days = request.horizon_days or MAX_FORECAST_DAYS
        if not 1 <= days <= MAX_FORECAST_DAYS:
            raise InvalidArgument(
                reasons.HORIZON_OUT_OF_RANGE, f"horizon_days must be 1..{MAX_FORECAST_DAYS}, got {days}"
            )
        minutes = _resolution(request.resolution)
        threshold: float | None = None
        if request.HasField("price_threshold_eur_mwh"):
            threshold = request.price_threshold_eur_mwh
            if not np.isfinite(threshold):
                raise InvalidArgument(reasons.THRESHOLD_INVALID, "price_threshold_eur_mwh must be finite")
        threshold_micro: int | None = None
        if request.HasField("price_threshold_micro_per_kwh"):
            if threshold is not None:
                raise InvalidArgument(
                    reasons.PRICE_THRESHOLD_CONFLICT,
                    "give price_threshold_eur_mwh or price_threshold_micro_per_kwh, not both",
                )
            threshold_micro = request.price_threshold_micro_per_kwh
        count = request.cheapest_count or (3 if minutes == 60 else 12)
        if not 0 <= count <= 24 * 4:
            raise InvalidArgument(reasons.CHEAPEST_COUNT_OUT_OF_RANGE, "cheapest_count must be 0..96")
        self.registry.check_zone(request.zone)
        path = await self.path_for(request.zone)
        market = self.market(path.zone)
        # The answer changes with the path (a publication, a new model) and the current quarter
        # hour (the next hours, the remaining cheapest periods): cached per both.
        quarter = floor_quarter(market.clock.now())
        key = request.SerializeToString(deterministic=True)
        hit = self._price_responses.get(key)
        if hit is not None and hit[0] is path and hit[1] == quarter:
            return hit[2]
        ahead = self.hours_ahead(path, horizon)
        points = [
            forecast_pb2.PricePoint(
                hour_start=timestamps.from_datetime(ahead.starts[i]),
                horizon_hours=int(ahead.horizons[i]),
                p10_eur_mwh=float(ahead.p10[i]),
                p50_eur_mwh=float(ahead.p50[i]),
                p90_eur_mwh=float(ahead.p90[i]),
            )
            for i in range(len(ahead.starts))
        ]
        served = served_periods(path, minutes)
        per_hour = 60 // minutes
        last_day = path.published_day + timedelta(days=days)
        end_data = min(market.calendar.day_end(last_day), path.end)
        hi = int((end_data - path.start) // timedelta(minutes=minutes))
        if request.horizon_hours:
            now_index = path.hour_index(market.clock.data_now()) + 1
            hi = min(hi, (now_index + horizon) * per_hour)
        hi = min(hi, len(served.starts))
        now_real = market.clock.now()
        now_period = next(
            (i for i in range(hi) if served.starts[i] + timedelta(minutes=minutes) > now_real), hi
        )
        first_forecast = int((path.published_end - path.start) // timedelta(minutes=minutes))
        spot = self.costs.spot()
        response = pb.GetPriceForecastResponse(
            zone=path.zone,
            issue_time=timestamps.from_datetime(path.issue_time),
            points=points,
            model_version=path.model_version,
            periods=self._period_messages(served, 0, hi, threshold, spot, threshold_micro),
            resolution=_resolution_enum(minutes),
            forecast_start_time=timestamps.from_datetime(
                served.starts[first_forecast] if first_forecast < len(served.starts) else path.q_real[-1]
            ),
            cheapest_periods=self._cheapest(served, now_period, hi, count, spot),
            delivery_days=self._day_status(path, served.days[:hi], served.offsets[:hi], spot),
            quantile_levels=list(path.quantile_levels),
            price_threshold_eur_mwh=threshold or 0.0,
            currency=spot.currency,
            price_threshold_micro_per_kwh=threshold_micro or 0,
            forecast_notes=substitution_notes(path),
            notes=forecast_notes(path),
        )
        if len(self._price_responses) > 256:
            self._price_responses.clear()
        self._price_responses[key] = (path, quarter, response)
        return response

    async def FindCheapestWindows(
        self, request: pb.FindCheapestWindowsRequest, context: object
    ) -> pb.FindCheapestWindowsResponse:
        duration = request.duration_minutes
        if not (15 <= duration <= 1440 and duration % 15 == 0):
            raise InvalidArgument(
                reasons.CHEAPEST_WINDOW_DURATION_INVALID,
                f"duration_minutes must be a multiple of 15 from 15 to 1440, got {duration}",
            )
        count = request.window_count or 3
        if not 1 <= count <= 10:
            raise InvalidArgument(
                reasons.CHEAPEST_WINDOW_RANGE_INVALID, f"window_count must be 0..10, got {count}"
            )
        if not 0 <= request.horizon_hours <= MAX_FORECAST_HOURS:
            raise InvalidArgument(
                reasons.CHEAPEST_WINDOW_RANGE_INVALID,
                f"horizon_hours must be 0..{MAX_FORECAST_HOURS}, got {request.horizon_hours}",
            )
        self.registry.check_zone(request.zone)
        path = await self.path_for(request.zone)
        market = self.market(path.zone)
        served = served_periods(path, 15)
        # Windows start at the next quarter-hour boundary: one that has begun cannot be used whole.
        start = _ceil_to(market.clock.now(), timedelta(minutes=15))
        lo = next((i for i, t in enumerate(served.starts) if t >= start), len(served.starts))
        hi = len(served.starts)
        if request.horizon_hours:
            hi = min(hi, lo + request.horizon_hours * 4)
        length = duration // 15
        found = cheapest_windows(
            served.p10[lo:hi], served.p50[lo:hi], served.p90[lo:hi], served.published[lo:hi], length, count
        )
        step = timedelta(minutes=15)
        first_forecast = int((path.published_end - path.start) // step)
        spot = self.costs.spot()

        def rate(w_start: int) -> Decimal:
            return spot.rate(served.days[lo + w_start], served.offsets[lo + w_start])

        windows = []
        for w in found:
            message = window_message(w, served.starts[lo + w.start], step)
            message.mean_spot_micro_per_kwh = spot.micro(w.mean, rate(w.start))
            message.low_spot_micro_per_kwh = spot.micro(w.low, rate(w.start))
            message.high_spot_micro_per_kwh = spot.micro(w.high, rate(w.start))
            windows.append(message)
        return pb.FindCheapestWindowsResponse(
            zone=path.zone,
            duration_minutes=duration,
            model_version=path.model_version,
            forecast_start_time=timestamps.from_datetime(
                served.starts[first_forecast] if first_forecast < len(served.starts) else path.q_real[-1]
            ),
            windows=windows,
            currency=spot.currency,
        )

    async def GetMarketPrices(
        self, request: pb.GetMarketPricesRequest, context: object
    ) -> pb.GetMarketPricesResponse:
        zone = self.registry.check_zone(request.zone)
        minutes = _resolution(request.resolution)
        market = self.market(zone)
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
        data_now = market.clock.data_now()
        published_end_real = market.clock.to_real(market.published_end())
        # Hourly published prices (the original field): every published hour of the range.
        first = floor_hour(start)
        real = first if first == utc(start) else first + timedelta(hours=1)  # ceil to the hour
        out = []
        spot = self.costs.spot()
        today = market.calendar.delivery_day(market.clock.now())
        while real < end and real < published_end_real:
            value = market.price_at(market.clock.to_data(real))
            if np.isfinite(value):
                day = market.calendar.delivery_day(real)
                out.append(
                    forecast_pb2.ActualPrice(
                        hour_start=timestamps.from_datetime(real),
                        price_eur_mwh=value,
                        spot_micro_per_kwh=spot.micro(
                            float(value), spot.rate(day.isoformat(), (day - today).days)
                        ),
                    )
                )
            real += timedelta(hours=1)
        # Periods: published ones of the range before today (history, from the quarter series),
        # then the current path (today's published periods and the forecast).
        step = timedelta(minutes=minutes)
        periods: list[forecast_pb2.PricePeriod] = []
        path: PricePath | None = None
        try:
            path = await self.path_for(zone)
        except EnergyPulseError:
            if market.clock.to_data(end) > data_now:
                raise
        path_start_real = path.q_real[0] if path is not None else published_end_real
        t = real_start = _ceil_to(start, step)
        history_end = min(end, path_start_real)
        while t < history_end:
            data = market.clock.to_data(t)
            q, flags = market.q.window(data, data + step)
            if len(q) and np.isfinite(q).all():
                day = market.calendar.delivery_day(t)
                offset = (day - today).days
                periods.append(
                    forecast_pb2.PricePeriod(
                        start_time=timestamps.from_datetime(t),
                        duration_minutes=minutes,
                        kind=forecast_pb2.PRICE_KIND_PUBLISHED,
                        price_eur_mwh=float(q.mean()),
                        derived=bool(flags.all()) and minutes == 15,
                        delivery_day=day.isoformat(),
                        day_offset=offset,
                        spot_micro_per_kwh=spot.micro(float(q.mean()), spot.rate(day.isoformat(), offset)),
                    )
                )
            t += step
        if path is not None and end > path_start_real:
            served = served_periods(path, minutes)
            idx = [i for i, s0 in enumerate(served.starts) if real_start <= s0 < end]
            if idx:
                periods.extend(self._period_messages(served, idx[0], idx[-1] + 1, None, spot))
        return pb.GetMarketPricesResponse(
            zone=zone,
            prices=out,
            periods=periods,
            resolution=_resolution_enum(minutes),
            currency=spot.currency,
        )

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
        costs_all = np.empty((3, n), dtype=np.int64)
        rate_all = np.empty(n)
        group_of = np.zeros(n, dtype=np.intp)
        templates: list[bytes] = []
        for g, (zone, idx) in enumerate(groups):
            path = await self.path_for(zone)
            ahead = self.hours_ahead(path, 1)
            rows = rows_all if idx is None else [rows_all[i] for i in idx.tolist()]
            batch = HouseholdBatch.from_rows(
                [h.recent_hourly_kw for h in rows],
                [h.residents for h in rows],
                [h.heating for h in rows],
                [h.has_ev for h in rows],
                [h.has_solar for h in rows],
            )
            target = ahead.starts[0]
            temps = self._temperatures(path.zone, target - timedelta(hours=1))
            kwh = forecast_consumption_kwh(
                batch, temps[0], temps[1], target.astimezone(localtime.zone()).hour
            )
            quantiles = (ahead.p10[0], ahead.p50[0], ahead.p90[0])
            hour_ms = timestamps.to_ms(timestamps.from_datetime(target))
            costs = self.costs.costs(self.costs.contracts(rows), hour_ms, quantiles, kwh)
            where = slice(None) if idx is None else idx
            kwh_all[where] = kwh
            costs_all[:, where] = costs
            rate_all[where] = float(self.costs.eur_rate(hour_ms)) * 1e6  # µ of the bill per EUR
            group_of[where] = g
            # What every household of the zone shares, serialised once and merged into each
            # prediction (one call per row instead of building two sub-messages per row).
            templates.append(
                forecast_pb2.HouseholdPrediction(
                    hour_start=timestamps.from_datetime(target),
                    price=forecast_pb2.PricePoint(
                        hour_start=timestamps.from_datetime(target),
                        horizon_hours=1,
                        p10_eur_mwh=float(ahead.p10[0]),
                        p50_eur_mwh=float(ahead.p50[0]),
                        p90_eur_mwh=float(ahead.p90[0]),
                    ),
                    model_version=path.model_version,
                ).SerializeToString()
            )
        add = response.predictions.add
        shared = [templates[g] for g in group_of.tolist()]
        eur_all = costs_all / rate_all  # the bill's costs at the day's EUR rate
        currency = self.costs.currency
        for h, kwh_value, c10, c50, c90, e10, e50, e90, template in zip(
            rows_all, kwh_all.tolist(), *costs_all.tolist(), *eur_all.tolist(), shared, strict=True
        ):
            add(
                household_id=h.household_id,
                consumption_kwh=kwh_value,
                cost_p10_eur=e10,
                cost_p50_eur=e50,
                cost_p90_eur=e90,
                currency=currency,
                cost_p10_micro=c10,
                cost_p50_micro=c50,
                cost_p90_micro=c90,
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
        path = await self.path_for(info.zone)
        f = self.hours_ahead(path, horizon)
        horizon = min(horizon, len(f.starts))
        batch = HouseholdBatch.from_rows(
            [list(info.recent_hourly_kw)], [info.residents], [info.heating], [info.has_ev], [info.has_solar]
        )
        temps = self._temperatures(path.zone, f.starts[0] - timedelta(hours=1))
        contract = self.costs.contract(info)
        alone = ([contract], np.zeros(1, dtype=np.int64))  # one household, its contract
        hours_out = []
        for k in range(horizon):
            target = f.starts[k]
            start = timestamps.from_datetime(target)
            hour_ms = timestamps.to_ms(start)
            kwh = float(
                forecast_consumption_kwh(
                    batch, temps[0], temps[k + 1], target.astimezone(localtime.zone()).hour, horizon=k + 1
                )[0]
            )
            band = (float(f.p10[k]), float(f.p50[k]), float(f.p90[k]))
            costs = [int(c) for c in self.costs.costs(alone, hour_ms, band, np.array([kwh]))[:, 0]]
            billed = self.costs.price(contract, hour_ms, band[1])
            per_eur = float(self.costs.eur_rate(hour_ms)) * 1e6  # µ of the bill per EUR
            energy, grid, taxes, support, vat, total = (
                int(getattr(billed, name)[0])
                for name in ("energy", "grid", "taxes", "support", "vat", "total")
            )
            hours_out.append(
                forecast_pb2.HourlyCost(
                    hour_start=start,
                    consumption_kwh=kwh,
                    price=forecast_pb2.RetailPrice(
                        spot_eur_kwh=energy / per_eur,
                        grid_energy_eur_kwh=(grid + taxes + support) / per_eur,
                        vat_eur_kwh=vat / per_eur,
                        total_eur_kwh=total / per_eur,
                    ),
                    cost_p10_eur=costs[0] / per_eur,
                    cost_p50_eur=costs[1] / per_eur,
                    cost_p90_eur=costs[2] / per_eur,
                    currency=billed.currency,
                    cost_p10_micro=costs[0],
                    cost_p50_micro=costs[1],
                    cost_p90_micro=costs[2],
                    billed_price=forecast_pb2.BilledPrice(
                        currency=billed.currency,
                        spot_micro_per_kwh=int(billed.spot[0]),
                        energy_micro_per_kwh=energy,
                        grid_micro_per_kwh=grid,
                        taxes_micro_per_kwh=taxes,
                        support_micro_per_kwh=support,
                        vat_micro_per_kwh=vat,
                        total_micro_per_kwh=total,
                    ),
                )
            )
        count = request.cheapest_hours_count or 3
        cheapest = cheapest_hours(f.p50[:horizon], min(count, horizon))
        exceed: list[float] = []
        if request.price_threshold_eur_mwh != 0:
            # Published hours: exactly 0 or 1; forecast hours: from the quantiles.
            quantiles = np.column_stack(
                [f.p10[:horizon], f.p50[:horizon], f.p90[:horizon], *(v[:horizon] for v in f.upper.values())]
            )
            modelled, _status = exceed_probability(
                request.price_threshold_eur_mwh, quantiles, (*BAND_LEVELS, *f.upper)
            )
            exact = (f.p50[:horizon] > request.price_threshold_eur_mwh).astype(float)
            exceed = [float(v) for v in np.where(f.published[:horizon], exact, modelled)]
        now_ms = timestamps.to_ms(timestamps.from_datetime(f.starts[0]))
        peaks_wh = [round(p * 1000) for p in info.daily_peaks_kw if np.isfinite(p)]  # Wh in an hour = mean W
        capacity, fee = self.costs.fixed(contract, now_ms, peaks_wh)
        per_eur = float(self.costs.eur_rate(now_ms)) * 1e6
        local = f.starts[0].astimezone(localtime.zone())
        days = calendar.monthrange(local.year, local.month)[1]
        result = forecast_pb2.HouseholdForecast(
            household_id=info.household_id,
            zone=path.zone,
            next_hour=hours_out[0],
            hours=hours_out,
            cheapest_hours=[timestamps.from_datetime(f.starts[int(i)]) for i in cheapest],
            exceed_probability=exceed,
            capacity_charge_eur_month=capacity / per_eur,
            standing_charge_eur_day=fee / days / per_eur,
            model_version=path.model_version,
            currency=self.costs.currency,
            capacity_charge_micro_per_month=capacity,
            supplier_fee_micro_per_month=fee,
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
        market = self.market(zone)
        scores = await asyncio.to_thread(self.accuracy.score, market, window)
        first = next((sc for sc in scores if sc.horizon_day == 1), None)
        spot = self.costs.spot()
        today = market.calendar.delivery_day(market.clock.now())
        rate_now = spot.rate(today.isoformat(), 0)

        def micro(value: float, rate: Decimal) -> int:  # 0 where a score is not available (NaN)
            return spot.micro(float(value), rate) if np.isfinite(value) else 0

        points = []
        for t, lo, mid, hi, actual, _naive in first.points if first else []:
            real = market.clock.to_real(t)
            rate = spot.rate(market.calendar.delivery_day(real).isoformat(), 0)  # a scored hour is past
            points.append(
                pb.AccuracyPoint(
                    hour_start=timestamps.from_datetime(real),
                    forecast_p50_eur_mwh=mid,
                    forecast_p10_eur_mwh=lo,
                    forecast_p90_eur_mwh=hi,
                    actual_eur_mwh=actual,
                    forecast_p50_micro_per_kwh=micro(mid, rate),
                    forecast_p10_micro_per_kwh=micro(lo, rate),
                    forecast_p90_micro_per_kwh=micro(hi, rate),
                    actual_micro_per_kwh=micro(actual, rate),
                )
            )
        return pb.GetAccuracyResponse(
            zone=zone,
            hours=first.hours if first else 0,
            mae_eur_mwh=first.mae if first else 0.0,
            interval_coverage=first.coverage if first else 0.0,
            naive_mae_eur_mwh=first.naive_mae if first else 0.0,
            currency=spot.currency,
            eur_rate=str(rate_now),
            mae_micro_per_kwh=micro(first.mae, rate_now) if first else 0,
            naive_mae_micro_per_kwh=micro(first.naive_mae, rate_now) if first else 0,
            points=points,
            by_horizon_day=[
                forecast_pb2.HorizonDayAccuracy(
                    horizon_day=sc.horizon_day,
                    hours=sc.hours,
                    mae_eur_mwh=sc.mae,
                    naive_mae_eur_mwh=sc.naive_mae,
                    relative_mae=sc.relative_mae,
                    interval_coverage=sc.coverage,
                    mae_micro_per_kwh=micro(sc.mae, rate_now),
                    naive_mae_micro_per_kwh=micro(sc.naive_mae, rate_now),
                )
                for sc in scores
            ],
        )

    async def ReloadModel(self, request: pb.ReloadModelRequest, context: object) -> pb.ReloadModelResponse:
        # Loading parses boosters (tens of ms): off the event loop so other calls keep flowing.
        loaded = await asyncio.to_thread(self.registry.reload, request.zone, True)
        return pb.ReloadModelResponse(models=[self._model_info(m) for m in loaded])
