"""Live state of the service: market per zone, hot-reloadable models, forecast cache, accuracy.

* :class:`ZoneMarket` is one zone's hourly market frame in *data time* plus the clock that maps
  real time onto it (replay of historical data, or the synthetic market in real time). Prices
  after the current data hour are hidden from every reader: they are "not yet known".
* :class:`ModelRegistry` holds one immutable :class:`~predict_svc.model.PriceModel` per zone in a
  dict that is replaced, never mutated (copy-on-write). A reload builds the new model completely,
  then swaps one reference, so a request keeps the model it started with and none is dropped.
* :class:`ForecastCache` computes each zone's 24-hour forecast once per (hour, model version);
  every GetPriceForecast in that hour is a dict lookup (the p99 < 5 ms target).
* :class:`AccuracyTracker` keeps the next-hour forecasts issued live and scores them against the
  prices that cleared since.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from common.errors import FailedPrecondition, InvalidArgument, NotFound, Unavailable
from common.log import get_logger
from predict_svc.clock import Clock
from predict_svc.features import MAX_LAG, build_features
from predict_svc.hourly import HourlyFrame, hour64, to_datetime
from predict_svc.model import Forecast, ModelError, PriceModel, load_model

__all__ = [
    "AccuracyScore",
    "AccuracyTracker",
    "ForecastCache",
    "LoadedModel",
    "ModelRegistry",
    "ZoneForecast",
    "ZoneMarket",
]

log = get_logger(__name__)
MAX_HORIZON = 24


@dataclass(frozen=True)
class ZoneMarket:
    """A zone's market columns (hourly UTC, data time) and the clock mapping real time onto it."""

    zone: str
    frame: HourlyFrame
    clock: Clock
    source: str

    def data_now(self) -> datetime:
        """The current hour in data time; its price is known (cleared the day before)."""
        now = self.clock.data_now()
        last = self.frame.last - timedelta(hours=MAX_HORIZON)
        if now > last or now < self.frame.first + timedelta(hours=200):
            raise Unavailable("MARKET_DATA_EXHAUSTED", f"no market data around {now} for zone {self.zone}")
        return now

    def known(self, origin: datetime, history_hours: int | None = None) -> HourlyFrame:
        """The frame as known at ``origin`` (the ``history_hours`` before it, default all, up to
        ``MAX_HORIZON`` after it): prices after ``origin`` are hidden (NaN)."""
        end = self.frame.pos(origin)
        lo = 0 if history_hours is None else end - history_hours
        window = self.frame.rows(lo, end + MAX_HORIZON + 1)
        columns = dict(window.columns)
        price = columns["price"].copy()  # the rest are views of the market: not written to
        price[max(end - max(lo, 0) + 1, 0) :] = np.nan
        columns["price"] = price
        return HourlyFrame(window.start, columns)

    def price_at(self, when: datetime) -> float:
        """The cleared price of the data-time hour ``when`` (NaN when unknown or outside)."""
        return self.frame.value("price", when)


@dataclass(frozen=True)
class LoadedModel:
    model: PriceModel
    path: Path
    mtime_ns: int
    load_time: datetime


class ModelRegistry:
    """Per-zone models loaded from ``<model_dir>/<zone>.json``; swapped atomically on reload."""

    def __init__(self, model_dir: Path, zones: tuple[str, ...]) -> None:
        self.model_dir = Path(model_dir)
        self.zones = tuple(z.upper() for z in zones)
        self._models: dict[str, LoadedModel] = {}
        self._lock = threading.Lock()  # serialises reloads; readers never take it

    def path(self, zone: str) -> Path:
        return self.model_dir / f"{zone.upper()}.json"

    def check_zone(self, zone: str) -> str:
        key = zone.strip().upper()
        if not key:
            raise InvalidArgument("ZONE_REQUIRED", "zone is required (e.g. NO1)")
        if key not in self.zones:
            raise NotFound(
                "ZONE_NOT_FOUND", f"zone {zone!r} is not served; served zones: {', '.join(self.zones)}"
            )
        return key

    def get(self, zone: str) -> LoadedModel:
        key = self.check_zone(zone)
        loaded = self._models.get(key)
        if loaded is None:
            raise Unavailable("MODEL_NOT_READY", f"no price model loaded for zone {key} yet")
        return loaded

    def loaded(self) -> list[LoadedModel]:
        return [self._models[z] for z in self.zones if z in self._models]

    def install(self, zone: str, model: PriceModel, path: Path) -> LoadedModel:
        """Swap in ``model`` for ``zone`` (copy-on-write: readers see the old or the new dict)."""
        mtime = path.stat().st_mtime_ns if path.exists() else 0
        loaded = LoadedModel(model, path, mtime, datetime.now(UTC))
        with self._lock:
            models = dict(self._models)
            models[zone.upper()] = loaded
            self._models = models
        log.info("model_installed", zone=zone, version=model.version)
        return loaded

    def reload(self, zone: str = "", force: bool = True) -> list[LoadedModel]:
        """Load changed artifacts (all when ``force``); a bad artifact keeps the old model.

        Raises FailedPrecondition when an explicitly requested artifact is missing or invalid.
        """
        zones = (self.check_zone(zone),) if zone else self.zones
        errors = []
        for key in zones:
            path = self.path(key)
            try:
                mtime = path.stat().st_mtime_ns
            except FileNotFoundError:
                if zone:
                    errors.append(f"{key}: no artifact at {path}")
                continue
            current = self._models.get(key)
            if not force and current is not None and current.mtime_ns == mtime and current.path == path:
                continue
            try:
                model = load_model(path)
            except ModelError as exc:
                errors.append(f"{key}: {exc}")
                log.warning("model_reload_failed", zone=key, error=str(exc))
                continue
            if model.zone.upper() != key:
                errors.append(f"{key}: artifact was trained for zone {model.zone}")
                continue
            self.install(key, model, path)
        if errors and (zone or force):
            raise FailedPrecondition("MODEL_ARTIFACT_INVALID", "; ".join(errors))
        return self.loaded()


@dataclass(frozen=True)
class ZoneForecast:
    """One zone's forecast issued at ``origin`` (data time) by ``model_version``."""

    zone: str
    origin: datetime
    issue_time: datetime  # real time of the origin hour
    target_times: list[datetime]  # real time, start of each target hour
    forecast: Forecast
    model_version: str


class ForecastCache:
    """At most one computation per zone, hour and model; lookups are O(1)."""

    def __init__(self, capacity: int = 64) -> None:
        self._entries: OrderedDict[tuple[str, datetime, str], ZoneForecast] = OrderedDict()
        self._capacity = capacity
        self._lock = threading.Lock()

    def get(self, market: ZoneMarket, loaded: LoadedModel) -> tuple[ZoneForecast, bool]:
        """The forecast of the current hour; ``True`` when it was computed by this call."""
        origin = market.data_now()
        key = (market.zone, origin, loaded.model.version)
        hit = self._entries.get(key)
        if hit is not None:
            return hit, False
        with self._lock:
            hit = self._entries.get(key)
            if hit is not None:
                return hit, False
            known = market.known(origin, history_hours=MAX_LAG + 1)
            forecast = loaded.model.forecast(known, origin, list(range(1, MAX_HORIZON + 1)))
            clock = market.clock
            result = ZoneForecast(
                zone=market.zone,
                origin=origin,
                issue_time=clock.to_real(origin),
                target_times=[clock.to_real(to_datetime(t)) for t in forecast.target_times],
                forecast=forecast,
                model_version=loaded.model.version,
            )
            self._entries[key] = result
            while len(self._entries) > self._capacity:
                self._entries.popitem(last=False)
            return result, True


@dataclass(frozen=True)
class AccuracyScore:
    """Scored next-hour forecasts: (target, p10, p50, p90, actual, naive) rows, oldest first."""

    hours: int
    mae: float
    coverage: float
    naive_mae: float
    points: list[tuple[datetime, float, float, float, float, float]]


@dataclass
class AccuracyTracker:
    """Next-hour forecasts per zone keyed by target hour (data time), scored when prices clear."""

    capacity_hours: int = 24 * 14
    _by_zone: dict[str, OrderedDict[datetime, tuple[float, float, float]]] = field(default_factory=dict)

    def record(self, zone: str, target: datetime, p10: float, p50: float, p90: float) -> None:
        entries = self._by_zone.setdefault(zone, OrderedDict())
        entries[target] = (p10, p50, p90)
        entries.move_to_end(target)
        while len(entries) > self.capacity_hours:
            entries.popitem(last=False)

    def seed(self, zone: str, market: ZoneMarket, model: PriceModel, hours: int) -> int:
        """Fill the tracker with the next-hour forecasts the model would have issued over the last
        ``hours`` hours, each from data known at its origin (start-up, so accuracy is not empty)."""
        origin = market.data_now()
        window = market.known(origin, history_hours=hours + 200)
        fs = build_features(window, 1)
        targets = fs.target_index
        at = hour64(origin)
        mask = (targets > at - np.timedelta64(hours, "h")) & (targets <= at + np.timedelta64(1, "h"))
        sub = fs.subset(mask)
        lo, mid, hi = model.predict_features(sub, 1)
        for t, a, b, c in zip(sub.target_index, lo, mid, hi, strict=True):
            if np.isfinite(b):
                self.record(zone, to_datetime(t), float(a), float(b), float(c))
        return int(np.isfinite(mid).sum())

    def score(self, market: ZoneMarket, window_hours: int) -> AccuracyScore:
        """MAE, P10-P90 coverage and the same-hour-yesterday MAE over scored hours in the window."""
        now = market.clock.data_now()
        entries = self._by_zone.get(market.zone, OrderedDict())
        rows: list[tuple[datetime, float, float, float, float, float]] = []
        for target, (lo, mid, hi) in list(entries.items()):
            if target > now or target <= now - timedelta(hours=window_hours):
                continue
            actual = market.price_at(target)
            if not np.isfinite(actual):
                continue
            rows.append((target, lo, mid, hi, actual, market.price_at(target - timedelta(hours=24))))
        if not rows:
            return AccuracyScore(0, 0.0, 0.0, 0.0, [])
        arr = np.array([r[1:] for r in rows], dtype=float)
        lo, mid, hi, actual, naive = arr.T
        ok_naive = np.isfinite(naive)
        return AccuracyScore(
            hours=len(rows),
            mae=float(np.mean(np.abs(mid - actual))),
            coverage=float(np.mean((actual >= lo) & (actual <= hi))),
            naive_mae=float(np.mean(np.abs(naive[ok_naive] - actual[ok_naive]))) if ok_naive.any() else 0.0,
            points=rows,
        )
