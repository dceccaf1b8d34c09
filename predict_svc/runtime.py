"""Live state of the service: market per zone, hot-reloadable models, price paths, accuracy.

* :class:`ZoneMarket` is one zone's market in *data time* (hourly frame for the model,
  quarter-hour prices for serving) plus the clock that maps real time onto it and the market
  calendar (:mod:`energy.market_calendar`) saying which delivery days are published. Prices of
  unpublished delivery days are hidden from the model: they are "not yet known".
* :class:`ModelRegistry` holds one immutable :class:`~predict_svc.model.PriceModel` per zone in a
  dict that is replaced, never mutated (copy-on-write). A reload builds the new model completely,
  then swaps one reference, so a request keeps the model it started with and none is dropped.
* :class:`PricePath` is what the API serves: every period from the start of today, published
  ones exact, then ``model.forecast`` from the first unpublished period over 7 whole delivery
  days. :class:`ForecastCache` computes it once per (day, publication, model version); every
  request in between is a dict lookup.
* :class:`AccuracyStore` keeps the issued forecasts in SQLite and scores them per horizon day
  against the published prices, beside the naive baseline; a restart keeps the history.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Protocol

import numpy as np

from common.errors import FailedPrecondition, InvalidArgument, NotFound, Unavailable
from common.log import get_logger
from energy.localtime import shift_local
from energy.market_calendar import QUARTER, MarketCalendar
from energy.zones import ZONES
from predict_svc.clock import Clock
from predict_svc.features import MAX_LAG
from predict_svc.fundamentals import FileFundamentals, temperature_series
from predict_svc.hourly import HourlyFrame, floor_hour, to_datetime, utc
from predict_svc.model import Forecast, ModelError, PriceModel, load_model
from predict_svc.quantiles import BAND_LEVELS
from predict_svc.quarters import QuarterSeries
from predict_svc.weekahead import HISTORY_DAYS, FeatureMissingError, hours_of

__all__ = [
    "LIVE_GRID_LEAD",
    "QUANTILE_LEVELS",
    "AccuracyStore",
    "ForecastCache",
    "HorizonScore",
    "LoadedModel",
    "ModelRegistry",
    "PricePath",
    "Substitution",
    "TemperatureSource",
    "ZoneMarket",
    "build_path",
    "exogenous_known",
    "forecast_hours",
    "grow_grid",
    "substitution_notes",
    "substitutions",
]

log = get_logger(__name__)
# Hours after the current one the market data must reach: the week-ahead path runs to the end of
# the 7th delivery day after the last published one (8 days from now after the auction).
MAX_HORIZON = 24 * 9
# A live market's grid runs this far past now + MAX_HORIZON (NaN rows: not yet published), so it
# is grown a few times a week, not on every request.
LIVE_GRID_LEAD = timedelta(days=3)
_ZONE_CODE = re.compile(r"^[A-Z]{2}[0-9]{0,2}(_[A-Z]{2})?$")  # NO1, SE3, DK1, DE_LU


MarketData = tuple[HourlyFrame, QuarterSeries]


class TemperatureSource(Protocol):
    """Where a market's temperature feature comes from at runtime (live: the Open-Meteo daily
    forecast, :class:`predict_svc.weather.ForecastTemperature`)."""

    def series(self, zone: str, hours: np.ndarray, origin: datetime, now: datetime) -> np.ndarray:
        """The feature for ``hours`` (datetime64[h], UTC) as known at data time ``origin``."""
        ...


@dataclass(frozen=True)
class ZoneMarket:
    """A zone's market columns (hourly UTC, data time), its quarter-hour prices, the clock mapping
    real time onto them and the market calendar saying which delivery days are published.

    ``live`` markets (data arriving as the market publishes it) count a day as published when
    all its periods are present; replay and synthetic markets, whose data exists in advance,
    publish each delivery day whole at its scheduled publication time.

    A live market changes while it serves (a published day is written in, the grid grows past
    now). Its data is never written in place: :meth:`update` builds new arrays and swaps the
    (frame, quarters) pair as one reference, so a request working on a :meth:`snapshot` sees
    the market before or after a publication, never half of one (the registry's copy-on-write
    for models, applied to data)."""

    zone: str
    frame: HourlyFrame
    clock: Clock
    source: str
    quarters: QuarterSeries | None = None
    calendar: MarketCalendar = field(default_factory=MarketCalendar.default)
    live: bool = False
    # Daily fundamentals (weather, reservoirs, closes) for models configured with them; the same
    # provider the zone's model was trained from.
    fundamentals: FileFundamentals | None = None
    # The temperature feature's runtime source; None: the fundamentals' observation files.
    temperature: TemperatureSource | None = None
    # The current (frame, quarters): one reference, swapped whole by update().
    _data: MarketData = field(init=False, repr=False, compare=False)
    # Serialises writers (a publication, the grid growing); readers never take it.
    _write_lock: threading.Lock = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.quarters is None:
            object.__setattr__(self, "quarters", QuarterSeries.from_hourly(self.frame))
        assert self.quarters is not None
        object.__setattr__(self, "_data", (self.frame, self.quarters))
        object.__setattr__(self, "_write_lock", threading.Lock())

    @property
    def q(self) -> QuarterSeries:
        assert self.quarters is not None
        return self.quarters

    def snapshot(self) -> ZoneMarket:
        """The market as it is now, frozen: a request works on one snapshot so every read sees
        the same publication state. A live market's grid is grown first when now has come
        close to its end."""
        if self.live:
            self._ensure_grid(self.clock.data_now())
        frame, quarters = self._data  # one read: a consistent pair
        return replace(self, frame=frame, quarters=quarters)

    def update(self, change: Callable[[HourlyFrame, QuarterSeries], MarketData | None]) -> bool:
        """Apply ``change`` to the current data (it returns new arrays, never writes the ones it
        is given; None: no change) and swap the result in. True when swapped."""
        with self._write_lock:
            frame, quarters = self._data
            new = change(frame, quarters)
            if new is None:
                return False
            self._swap(new)
            return True

    def _swap(self, data: MarketData) -> None:
        frame, quarters = data
        if len(quarters) and quarters.start != self._data[1].start:
            raise ValueError("a market's quarter grid keeps its start")
        object.__setattr__(self, "_data", data)  # readers of snapshots: one atomic reference
        object.__setattr__(self, "frame", frame)  # direct readers: each attribute whole
        object.__setattr__(self, "quarters", quarters)

    def _ensure_grid(self, now: datetime) -> None:
        """Grow a live market's grid (NaN rows) to reach ``now`` + MAX_HORIZON + LIVE_GRID_LEAD
        when it ends before ``now`` + MAX_HORIZON: a live market's data ends with the last
        published day, and the serving path needs rows to forecast into."""
        frame, quarters = self._data
        reach = now + timedelta(hours=MAX_HORIZON)
        if frame.last >= reach and quarters.end >= np.datetime64(floor_hour(reach).replace(tzinfo=None), "m"):
            return
        until = now + timedelta(hours=MAX_HORIZON) + LIVE_GRID_LEAD
        self.update(lambda frame, quarters: grow_grid(frame, quarters, until))

    def data_now(self) -> datetime:
        """The current hour in data time; its price is known (cleared the day before)."""
        now = self.clock.data_now()
        if self.live:
            self._ensure_grid(now)
        frame = self._data[0]
        last = frame.last - timedelta(hours=MAX_HORIZON)
        if now > last or now < frame.first + timedelta(hours=200):
            raise Unavailable("MARKET_DATA_EXHAUSTED", f"no market data around {now} for zone {self.zone}")
        return now

    def published_day(self, now: datetime | None = None) -> date:
        """The last published delivery day at data time ``now`` (default: the clock's)."""
        at = self.clock.to_data(self.clock.now()) if now is None else now
        if not self.live:
            return self.calendar.published_through_schedule(at)
        cal = self.calendar
        day = cal.published_through_data(at, lambda d: self.q.complete(cal.day_start(d), cal.day_end(d)))
        if day is None:
            raise Unavailable(
                "MARKET_DATA_EXHAUSTED", f"today's prices for zone {self.zone} have not arrived"
            )
        return day

    def published_end(self, now: datetime | None = None) -> datetime:
        """End (data time, UTC) of the last published delivery day: prices before it are known."""
        return self.calendar.day_end(self.published_day(now))

    def known(
        self, origin: datetime, history_hours: int | None = None, hours_after: int = MAX_HORIZON
    ) -> HourlyFrame:
        """The frame as known at ``origin`` (the ``history_hours`` before it, default all, up to
        ``hours_after`` after it): prices after ``origin`` are hidden (NaN)."""
        end = self.frame.pos(origin)
        lo = 0 if history_hours is None else end - history_hours
        window = self.frame.rows(lo, end + hours_after + 1)
        columns = dict(window.columns)
        price = columns["price"].copy()  # the rest are views of the market: not written to
        price[max(end - max(lo, 0) + 1, 0) :] = np.nan
        columns["price"] = price
        return HourlyFrame(window.start, columns)

    def price_at(self, when: datetime) -> float:
        """The cleared price of the data-time hour ``when`` (NaN when unknown or outside)."""
        return self.frame.value("price", when)


def grow_grid(frame: HourlyFrame, quarters: QuarterSeries, until: datetime) -> MarketData | None:
    """``frame`` and ``quarters`` extended with NaN rows (not published yet) through the hour
    holding ``until`` (the quarters at least as far as the frame); None when both reach it
    already. New arrays: the given ones are unchanged."""
    rows = max(frame.pos(until) + 1, len(frame))
    n_q = max(quarters.pos(to_datetime(frame.start) + timedelta(hours=rows)), len(quarters))
    if rows == len(frame) and n_q == len(quarters):
        return None
    pad = rows - len(frame)
    grown = HourlyFrame(
        frame.start, {k: np.concatenate([v, np.full(pad, np.nan)]) for k, v in frame.columns.items()}
    )
    extra = n_q - len(quarters)
    q = QuarterSeries(
        quarters.start,
        np.concatenate([quarters.values, np.full(extra, np.nan)]),
        np.concatenate([quarters.hourly, np.zeros(extra, dtype=bool)]),
    )
    return grown, q


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
        if key not in self.zones and key not in ZONES and not _ZONE_CODE.match(key):
            raise InvalidArgument(
                "ZONE_INVALID",
                f"zone {zone!r} is not a bidding zone code; served zones: {', '.join(self.zones)}",
            )
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


def forecast_hours(
    model: PriceModel,
    known: HourlyFrame,
    origin: datetime,
    hours: int,
    temperature: np.ndarray | None = None,
) -> Forecast:
    """Quantiles for the ``hours`` hours after ``origin`` from the hourly groups of ``model``
    (models without a week-ahead section; ``temperature`` has one value per row of ``known``).

    When the model reaches that far (``model.max_horizon >= hours``) this is one call. A model
    of shorter reach is chained: each step forecasts ``max_horizon`` hours, its medians are
    written into the frame as the next step's history, and each chained step's band is widened
    by the square root of the number of steps (errors of successive steps add up). This keeps a
    week ahead answerable with a 24-hour model until a week-ahead model is deployed; its bands
    are then the model's own (:func:`forecast_path`).
    """
    step = max(1, min(model.max_horizon, hours))
    if step >= hours:
        return model.forecast(known, origin, list(range(1, hours + 1)), temperature)
    columns = dict(known.columns)
    price = columns["price"].copy()
    columns["price"] = price
    frame = HourlyFrame(known.start, columns)
    at = frame.pos(origin)
    parts: list[Forecast] = []
    done, k = 0, 0
    while done < hours:
        m = min(step, hours - done)
        here = origin + timedelta(hours=done)
        f = model.forecast(frame, here, list(range(1, m + 1)), temperature)
        widen = float(np.sqrt(k + 1))
        lo = f.p50 - (f.p50 - f.p10) * widen
        hi = f.p50 + (f.p90 - f.p50) * widen
        parts.append(Forecast(f.target_times, f.horizons + done, lo, f.p50, hi))
        a, b = at + done + 1, at + done + 1 + m
        if b <= len(price):
            price[a:b] = f.p50
        done, k = done + m, k + 1
    return Forecast(
        np.concatenate([p.target_times for p in parts]),
        np.concatenate([p.horizons for p in parts]),
        np.concatenate([p.p10 for p in parts]),
        np.concatenate([p.p50 for p in parts]),
        np.concatenate([p.p90 for p in parts]),
    )


def runtime_temperature(
    market: ZoneMarket, model: PriceModel, frame: HourlyFrame, origin: datetime
) -> np.ndarray | None:
    """The temperature feature for the rows of ``frame`` when ``model`` is configured with it,
    else None: from the market's temperature source (live: the Open-Meteo forecast), else from
    its fundamentals files (replay: the observations training used).

    Raises :class:`FeatureMissingError` when the model needs it and none is available."""
    if "temperature" not in model.features:
        return None
    if market.temperature is not None:
        series = market.temperature.series(market.zone, frame.times, origin, market.clock.data_now())
    elif market.fundamentals is not None:
        series = temperature_series(market.fundamentals, market.zone, frame.times)
    else:
        raise FeatureMissingError(
            f"model {model.version} is configured with the temperature feature, but zone"
            f" {market.zone} has no weather source at runtime"
        )
    if not np.isfinite(series[frame.pos(origin) + 1 :]).any():
        raise FeatureMissingError(
            f"configured feature temperature entirely missing at runtime for zone {market.zone}"
            " (no value for any forecast hour)"
        )
    return series


EXOGENOUS_COLUMNS = ("load_forecast", "wind_onshore", "wind_offshore", "solar")


def _release_pending(market: ZoneMarket, published_end: datetime, now: datetime | None) -> bool:
    """A replay/synthetic market holds every forecast in advance: whether the first unpublished
    day's day-ahead load (and wind/solar) forecast is still unreleased at data time ``now`` (after
    the auction until 10:00 CET the next morning, :meth:`MarketCalendar.load_forecast_release`).
    A live market holds only what has arrived: never (presence decides)."""
    if market.live or now is None:
        return False
    cal = market.calendar
    return now < cal.load_forecast_release(cal.delivery_day(published_end))


def _without_unreleased(frame: HourlyFrame, published_end: datetime, hours: int) -> HourlyFrame:
    """The rows around ``published_end`` with the exogenous forecasts from it on hidden (NaN):
    what a forecaster knew before they were released (a window, copied: the market is not
    written)."""
    at = frame.pos(published_end)
    lo = at - 24 * (HISTORY_DAYS + 2)
    window = frame.rows(lo, at + hours + 48)
    columns = dict(window.columns)
    cut = at - max(lo, 0)
    for name in EXOGENOUS_COLUMNS:
        if name in columns:
            values = columns[name].copy()
            values[max(cut, 0) :] = np.nan
            columns[name] = values
    return HourlyFrame(window.start, columns)


def forecast_path(
    market: ZoneMarket, model: PriceModel, published_end: datetime, hours: int, now: datetime | None = None
) -> Forecast:
    """The ``hours`` hours from ``published_end`` (the first unpublished period), from what is
    known then: the week-ahead model when the artifact has one (direct per horizon day, bands
    calibrated per horizon day), else the hourly groups chained (:func:`forecast_hours`).

    Raises FailedPrecondition ``MODEL_FEATURE_MISSING`` when a feature the model is configured
    with has no value at runtime (the guard training applies, on the serving path).

    ``now`` (data time of the issue): on a replay/synthetic market the first unpublished day's
    exogenous forecasts are hidden until their release time (the week-ahead model then uses the
    day before's, as live), so the replayed answer uses only what was known at ``now``."""
    try:
        if model.week_ahead is not None:
            frame = market.frame
            if _release_pending(market, published_end, now):
                frame = _without_unreleased(frame, published_end, hours)
            w = model.week_ahead.forecast(frame, published_end, hours, market.fundamentals, market.zone)
            if w.substituted:
                # The k = 0 day's forecast is not out yet (live: after the auction until ~10:00
                # CET the next day): answered from the day before's, said in the response.
                log.info(
                    "exogenous_forecast_substituted",
                    zone=market.zone,
                    version=model.version,
                    day_start=published_end.isoformat(),
                    series=list(w.substituted),
                    substitute="latest known day-ahead forecast, one day older",
                )
            return Forecast(hours_of(w), np.arange(1, hours + 1), w.p10, w.p50, w.p90, w.upper, w.substituted)
        origin = published_end - timedelta(hours=1)
        known = market.known(origin, history_hours=MAX_LAG + 1, hours_after=hours)
        temperature = runtime_temperature(market, model, known, origin)
        return forecast_hours(model, known, origin, hours, temperature)
    except FeatureMissingError as exc:
        log.error("model_feature_missing", zone=market.zone, version=model.version, error=str(exc))
        raise FailedPrecondition("MODEL_FEATURE_MISSING", str(exc)) from exc


@dataclass(frozen=True)
class PricePath:
    """A zone's prices from the start of today's delivery day: published, then forecast.

    Quarter-hour arrays (``q_*``) are the served resolution; forecast quarters repeat their
    hour (``q_derived``). Hourly arrays are the mean of each hour's quarters (published) or the
    model's hour (forecast). All times here are data time (UTC); :attr:`q_real` maps each
    quarter to real time. Published periods carry their price in all three quantiles.
    """

    zone: str
    today: date  # data-time delivery day of the issue
    published_day: date  # last published delivery day
    start: datetime  # start of today (data, UTC)
    published_end: datetime  # first unpublished period (data, UTC)
    end: datetime  # end of the last forecast delivery day (data, UTC)
    q_published: np.ndarray
    q_derived: np.ndarray
    q_p10: np.ndarray
    q_p50: np.ndarray
    q_p90: np.ndarray
    q_real: list[datetime]
    q_day: list[date]  # real-time delivery day of each quarter
    h_published: np.ndarray
    h_p10: np.ndarray
    h_p50: np.ndarray
    h_p90: np.ndarray
    forecast: Forecast  # the model's hourly forecast from published_end
    model_version: str
    issue_time: datetime  # real time of the data hour the path was computed at
    # The levels above P90 the model has (quarters and hours as q_p90 / h_p90), else empty.
    q_upper: dict[float, np.ndarray] = field(default_factory=dict)
    h_upper: dict[float, np.ndarray] = field(default_factory=dict)

    @property
    def quantile_levels(self) -> tuple[float, ...]:
        return (*QUANTILE_LEVELS, *self.q_upper)

    def hour_index(self, data_hour: datetime) -> int:
        return int((data_hour - self.start) // timedelta(hours=1))


QUANTILE_LEVELS = BAND_LEVELS


def build_path(
    market: ZoneMarket,
    model: PriceModel,
    now: datetime,
    forecast_days: int = 7,
    forecasts: dict[tuple[str, datetime, str, bool], Forecast] | None = None,
) -> PricePath:
    """The price path at data time ``now``: today's and the published days' quarters as
    published, then ``forecast_days`` whole delivery days forecast by ``model``."""
    cal = market.calendar
    today = cal.delivery_day(now)
    published_day = market.published_day(now)
    start = cal.day_start(today)
    published_end = cal.day_end(published_day)
    last_day = published_day + timedelta(days=forecast_days)
    end = cal.day_end(last_day)
    hours = int((end - published_end) // timedelta(hours=1))
    origin = published_end - timedelta(hours=1)  # the last published hour: every price through it is known
    key = (market.zone, origin, model.version, exogenous_known(market, published_end, now))
    f = forecasts.get(key) if forecasts is not None else None
    if f is None or len(f.p50) != hours:
        f = forecast_path(market, model, published_end, hours, now)
        if forecasts is not None:  # the same origin after midnight: the forecast is unchanged
            if len(forecasts) > 16:
                forecasts.clear()
            forecasts[key] = f
    n_pub_h = int((published_end - start) // timedelta(hours=1))
    pub_h = market.frame.rows(market.frame.pos(start), market.frame.pos(start) + n_pub_h)["price"]
    pub_h = np.concatenate([pub_h, np.full(n_pub_h - len(pub_h), np.nan)])
    pub_q, pub_flags = market.q.window(start, published_end)
    h_pub = np.concatenate([np.ones(n_pub_h, dtype=bool), np.zeros(hours, dtype=bool)])
    q_pub = np.repeat(h_pub, 4)
    fq = [np.repeat(np.asarray(a, dtype=float), 4) for a in (f.p10, f.p50, f.p90)]
    q_p50 = np.concatenate([pub_q, fq[1]])
    q_p10 = np.concatenate([pub_q, fq[0]])
    q_p90 = np.concatenate([pub_q, fq[2]])
    q_derived = np.concatenate([pub_flags, np.ones(4 * hours, dtype=bool)])
    q_data = [start + i * QUARTER for i in range(len(q_p50))]
    clock = market.clock
    q_real = [clock.to_real(t) for t in q_data]
    q_day = [cal.delivery_day(t) for t in q_real]
    return PricePath(
        zone=market.zone,
        today=today,
        published_day=published_day,
        start=start,
        published_end=published_end,
        end=end,
        q_published=q_pub,
        q_derived=q_derived,
        q_p10=q_p10,
        q_p50=q_p50,
        q_p90=q_p90,
        q_real=q_real,
        q_day=q_day,
        h_published=h_pub,
        h_p10=np.concatenate([pub_h, f.p10]),
        h_p50=np.concatenate([pub_h, f.p50]),
        h_p90=np.concatenate([pub_h, f.p90]),
        forecast=f,
        model_version=model.version,
        issue_time=clock.to_real(floor_hour(now)),
        q_upper={
            lv: np.concatenate([pub_q, np.repeat(np.asarray(v, dtype=float), 4)]) for lv, v in f.upper.items()
        },
        h_upper={lv: np.concatenate([pub_h, v]) for lv, v in f.upper.items()},
    )


@dataclass(frozen=True)
class Substitution:
    """One input of a forecast that was not yet known at the issue, and the day used instead."""

    series: str  # market column, e.g. "load_forecast"
    missing_day: date  # delivery day whose forecast of the series was not yet published
    used_day: date  # the day whose forecast stood in for it (one day older)


def substitutions(path: PricePath) -> list[Substitution]:
    """The inputs of ``path``'s forecast that were substituted, in the forecast's order: the
    response's typed ``notes`` (and, as prose, ``forecast_notes``)."""
    missing = path.published_day + timedelta(days=1)
    return [Substitution(series, missing, path.published_day) for series in path.forecast.substituted]


def substitution_notes(path: PricePath) -> list[str]:
    """One English line per substituted input: the response's deprecated ``forecast_notes``,
    kept word for word for clients that read it."""
    return [
        f"{s.series} of {s.missing_day.isoformat()} not yet published: the latest known day-ahead "
        f"forecast, one day older ({s.used_day.isoformat()}), used"
        for s in substitutions(path)
    ]


def exogenous_known(market: ZoneMarket, published_end: datetime, now: datetime | None = None) -> bool:
    """Whether the load forecast of the first unpublished day (from ``published_end``) is known
    at data time ``now``: in the market (live: it arrived, ~10:00 CET the day before it) and, on
    a replay/synthetic market, released by ``now``. When it becomes known the forecast made
    without it (:func:`predict_svc.weekahead.substitute_unknown_day`) is recomputed."""
    if _release_pending(market, published_end, now):
        return False
    frame = market.frame
    lo = frame.pos(published_end)
    values = frame.rows(max(lo, 0), max(lo + 24, 0))["load_forecast"]
    return bool(np.isfinite(values).any())


def _path_key(market: ZoneMarket, loaded: LoadedModel, now: datetime) -> tuple[str, date, date, str, bool]:
    published = market.published_day(now)
    return (
        market.zone,
        market.calendar.delivery_day(now),
        published,
        loaded.model.version,
        exogenous_known(market, market.calendar.day_end(published), now),
    )


class ForecastCache:
    """One price path per zone, delivery day, publication state and model: the forecast is
    recomputed when a day is published (or today rolls over, or the model changes), and every
    request in between is a dict lookup."""

    def __init__(self, capacity: int = 64) -> None:
        self._entries: OrderedDict[tuple[str, date, date, str, bool], PricePath] = OrderedDict()
        self._forecasts: dict[tuple[str, datetime, str, bool], Forecast] = {}
        self._capacity = capacity
        # One lock per zone: a path takes seconds to compute, and a request for one zone must not
        # queue behind another zone's computation (start-up warms every zone at once).
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    def _zone_lock(self, zone: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(zone, threading.Lock())

    def peek(self, market: ZoneMarket, loaded: LoadedModel) -> PricePath | None:
        """The current path when it is computed already (no model call), else None."""
        market = market.snapshot()
        market.data_now()
        now = market.clock.to_data(market.clock.now())
        key = _path_key(market, loaded, now)
        return self._entries.get(key)

    def get(self, market: ZoneMarket, loaded: LoadedModel) -> tuple[PricePath, bool]:
        """The current path; ``True`` when it was computed by this call."""
        market = market.snapshot()  # one publication state for the key and the path
        market.data_now()  # raises when the data does not reach now
        now = market.clock.to_data(market.clock.now())
        key = _path_key(market, loaded, now)
        hit = self._entries.get(key)
        if hit is not None:
            return hit, False
        with self._zone_lock(market.zone):
            hit = self._entries.get(key)
            if hit is not None:
                return hit, False
            result = build_path(market, loaded.model, now, forecasts=self._forecasts)
            with self._locks_guard:  # the dicts are shared by every zone's computation
                self._entries[key] = result
                while len(self._entries) > self._capacity:
                    self._entries.popitem(last=False)
            return result, True


class AccuracyStore:
    """Live forecasts per zone, origin and target hour in SQLite, scored per horizon day.

    Horizon day ``k`` is the ``k``-th delivery day after the last published one at issue
    (``k = 1``: the forecast of tomorrow made before its auction). Each row also stores the
    naive forecast known at issue: the same local hour on the last published day. Rows survive
    a restart (the file lives under the service's state directory)."""

    def __init__(self, path: Path | str, capacity_hours: int = 24 * 14) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self.capacity_hours = capacity_hours
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=10.0)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS forecasts (zone TEXT NOT NULL, origin INTEGER NOT NULL,"
            " target INTEGER NOT NULL, horizon_day INTEGER NOT NULL, p10 REAL NOT NULL,"
            " p50 REAL NOT NULL, p90 REAL NOT NULL, naive REAL, model_version TEXT NOT NULL,"
            " PRIMARY KEY (zone, origin, target))"
        )
        self._db.execute("CREATE INDEX IF NOT EXISTS forecasts_target ON forecasts (zone, target)")
        self._db.commit()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def record(self, market: ZoneMarket, path: PricePath) -> int:
        """Store the forecast hours of ``path`` (once per origin; a repeat is ignored)."""
        cal = market.calendar
        origin = _epoch_hour(path.published_end)
        rows = []
        f = path.forecast
        for t, lo, mid, hi in zip(f.target_times, f.p10, f.p50, f.p90, strict=True):
            target = to_datetime(t)
            day = cal.delivery_day(target)
            k = (day - path.published_day).days
            if not np.isfinite(mid) or k < 1:
                continue
            naive = market.price_at(shift_local(target, -timedelta(days=k)))
            rows.append(
                (
                    market.zone,
                    origin,
                    _epoch_hour(target),
                    k,
                    float(lo),
                    float(mid),
                    float(hi),
                    float(naive) if np.isfinite(naive) else None,
                    path.model_version,
                )
            )
        with self._lock:
            cur = self._db.executemany(
                "INSERT OR IGNORE INTO forecasts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows
            )
            oldest = origin - self.capacity_hours - 24 * 8
            self._db.execute("DELETE FROM forecasts WHERE zone = ? AND target < ?", (market.zone, oldest))
            self._db.commit()
            return int(cur.rowcount)

    def seed(self, market: ZoneMarket, model: PriceModel, days: int) -> int:
        """Issue the forecasts the model would have made at each publication of the last ``days``
        days, from data known then (first start: accuracy is not empty). Idempotent."""
        market = market.snapshot()
        now = market.data_now()
        cal = market.calendar
        stored = 0
        last = market.published_day(now)
        for back in range(days, 0, -1):
            day = last - timedelta(days=back)
            at = cal.expected_publication(day)
            if at < market.frame.first + timedelta(hours=MAX_LAG + 24) or self.has_origin(
                market.zone, cal.day_end(day)
            ):
                continue  # too early in the data, or issued before (a restart computes nothing again)
            stored += self.record(market, build_path(market, model, at))
        return stored

    def has_origin(self, zone: str, published_end: datetime) -> bool:
        with self._lock:
            row = self._db.execute(
                "SELECT 1 FROM forecasts WHERE zone = ? AND origin = ? LIMIT 1",
                (zone, _epoch_hour(published_end)),
            ).fetchone()
        return row is not None

    def score(self, market: ZoneMarket, window_hours: int) -> list[HorizonScore]:
        """Per horizon day: scored hours whose targets are published and inside the window."""
        market = market.snapshot()
        now = market.clock.data_now()
        published_end = market.published_end(now)
        hi = min(_epoch_hour(now), _epoch_hour(published_end) - 1)
        lo = _epoch_hour(now) - window_hours
        with self._lock:
            rows = self._db.execute(
                "SELECT horizon_day, target, p10, p50, p90, naive FROM forecasts"
                " WHERE zone = ? AND target > ? AND target <= ? ORDER BY horizon_day, target, origin",
                (market.zone, lo, hi),
            ).fetchall()
        by_day: dict[int, list[tuple[datetime, float, float, float, float, float]]] = {}
        for k, target, p10, p50, p90, naive in rows:
            when = _from_epoch_hour(int(target))
            actual = market.price_at(when)
            if not np.isfinite(actual):
                continue
            by_day.setdefault(int(k), []).append(
                (
                    when,
                    float(p10),
                    float(p50),
                    float(p90),
                    actual,
                    float("nan") if naive is None else float(naive),
                )
            )
        out = []
        for k in sorted(by_day):
            points = by_day[k]
            arr = np.array([p[1:] for p in points], dtype=float)
            p10, p50, p90, actual, naive = arr.T
            ok = np.isfinite(naive)
            mae = float(np.mean(np.abs(p50 - actual)))
            naive_mae = float(np.mean(np.abs(naive[ok] - actual[ok]))) if ok.any() else 0.0
            out.append(
                HorizonScore(
                    horizon_day=k,
                    hours=len(points),
                    mae=mae,
                    naive_mae=naive_mae,
                    coverage=float(np.mean((actual >= p10) & (actual <= p90))),
                    points=points,
                )
            )
        return out


@dataclass(frozen=True)
class HorizonScore:
    """Scored forecasts of one horizon day: (target, p10, p50, p90, actual, naive) rows."""

    horizon_day: int
    hours: int
    mae: float
    naive_mae: float
    coverage: float
    points: list[tuple[datetime, float, float, float, float, float]]

    @property
    def relative_mae(self) -> float:
        return self.mae / self.naive_mae if self.naive_mae > 0 else 0.0


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _epoch_hour(when: datetime) -> int:
    return int((utc(when) - _EPOCH) // timedelta(hours=1))


def _from_epoch_hour(hours: int) -> datetime:
    return _EPOCH + timedelta(hours=hours)
