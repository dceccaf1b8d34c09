"""Live market data: price and weather providers and the publication poller.

Off by default (the demo stays on replay/synthetic). Live, a delivery day counts as published
when its results have arrived, not at a clock time: :class:`PublicationPoller` asks a
:class:`PriceProvider` for day D from the calendar's expected publication time on, with
exponential backoff, until a *complete* day arrives (every period of the 23/24/25-hour day), and
only then marks it published and calls back (the service re-forecasts there).

The exogenous forecasts arrive on their own schedule: the day-ahead load (and wind/solar)
forecast of day X at ~10:00 CET on X-1, *after* X-1's prices were published. A
:class:`ForecastWatcher` re-reads the forecast files when they change (between publications),
so the first unpublished day's forecast is used from the moment it arrives; until then the
week-ahead model uses the latest known day's (see :mod:`predict_svc.weekahead`).

Providers:

- :class:`FilePrices`: ``day_ahead_prices_<NO_1>.csv`` (``datetime,price_eur_mwh``, the
  downloader's format) in a directory; a day not (fully) in the file is not published yet.
- :class:`EntsoePrices`: the Transparency Platform A44 query (:mod:`predict_svc.entsoe_api`);
  token from ``ENTSOE_API_KEY``, URL from ``EP_ENTSOE_API_URL``. No token is in the repository
  and none is needed unless this provider is chosen.
- :class:`OpenMeteoDaily` (in :mod:`predict_svc.weather`, read on the serving path): the Open-Meteo ``/v1/forecast`` *daily* response
  (``temperature_2m_mean``) for the zone's reference city, mapped to the model's temperature
  feature (the daily mean of the day before each hour, as
  :func:`predict_svc.fundamentals.temperature_series` does on the observation files).

Errors never crash and never yield a wrong price: HTTP 401 (``unauthorized``, retried slowly: a
token fix needs no restart), 429 (``rate_limited``, honours ``Retry-After``), 5xx
(``server_error``), malformed XML/JSON (``malformed``), an acknowledgement refusal
(``refused``), a day with periods missing (``incomplete``) and transport failures
(``unreachable``) are logged, counted in :attr:`PublicationPoller.errors` and retried; nothing
of such an answer is marked published.
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Protocol

import numpy as np
import pandas as pd

from common.log import get_logger
from energy.market_calendar import MarketCalendar
from predict_svc.entsoe_api import DEFAULT_URL, EIC, EntsoeError, parse_a44
from predict_svc.hourly import HourlyFrame
from predict_svc.market import COLUMNS, SERIES, MarketDataError, file_suffix, load_market_hourly
from predict_svc.providers import HttpAnswer, ProviderError, check_status, http_get
from predict_svc.quarters import QuarterSeries
from predict_svc.runtime import LIVE_GRID_LEAD, MAX_HORIZON, ZoneMarket, grow_grid
from predict_svc.weather import DailyTemperature, OpenMeteoDaily

__all__ = [
    "DailyTemperature",
    "EntsoePrices",
    "FilePrices",
    "ForecastWatcher",
    "HttpAnswer",
    "LiveFeed",
    "OpenMeteoDaily",
    "PriceProvider",
    "ProviderError",
    "PublicationPoller",
    "apply_day",
    "http_get",
    "price_provider",
    "publish_day",
    "refresh_forecasts",
    "start_live_feed",
]

log = get_logger("predict_svc.live")


def _complete(prices: pd.Series, calendar: MarketCalendar, day: date) -> pd.Series | None:
    """The day's prices at the calendar's periods if every period is there (hourly documents
    of a quarter-hour day are not complete: that would invent quarters); None if none is;
    ``incomplete`` if some are."""
    start, end = calendar.day_start(day), calendar.day_end(day)
    index = prices.index.tz_convert("UTC") if len(prices) else prices.index
    inside = prices[(index >= pd.Timestamp(start)) & (index < pd.Timestamp(end))]
    if not len(inside):
        return None
    expected = pd.DatetimeIndex([pd.Timestamp(t) for t in calendar.periods(day)])
    got = inside.copy()
    got.index = got.index.tz_convert("UTC")
    got = got[~got.index.duplicated(keep="last")]
    missing = expected.difference(got.index)
    if len(missing):
        raise ProviderError(
            "incomplete", f"{day}: {len(missing)} of {len(expected)} periods missing (first {missing[0]})"
        )
    if not np.all(np.isfinite(got.reindex(expected).to_numpy())):
        raise ProviderError("malformed", f"{day}: non-finite price")
    return got.reindex(expected)


class PriceProvider(Protocol):
    def day_prices(self, zone: str, day: date) -> pd.Series | None:
        """Day ``day``'s prices (EUR/MWh, index = period starts UTC, every period of the day), or
        None if not published yet; :class:`ProviderError` if the answer is unusable."""
        ...


@dataclass(frozen=True)
class FilePrices:
    directory: Path
    calendar: MarketCalendar = field(default_factory=MarketCalendar.default)

    def day_prices(self, zone: str, day: date) -> pd.Series | None:
        path = Path(self.directory) / f"day_ahead_prices_{zone[:2]}_{zone[2:]}.csv"
        if not path.exists():
            return None
        try:
            frame = pd.read_csv(path)
            index = pd.DatetimeIndex(pd.to_datetime(frame["datetime"], utc=True))
            prices = pd.Series(frame["price_eur_mwh"].astype(float).to_numpy(), index=index)
        except (KeyError, ValueError, pd.errors.ParserError) as exc:
            raise ProviderError("malformed", f"{path}: {exc}") from exc
        return _complete(prices, self.calendar, day)


@dataclass(frozen=True)
class EntsoePrices:
    token: str = field(default_factory=lambda: os.environ.get("ENTSOE_API_KEY", ""))
    base_url: str = field(default_factory=lambda: os.environ.get("EP_ENTSOE_API_URL", DEFAULT_URL))
    calendar: MarketCalendar = field(default_factory=MarketCalendar.default)
    get: Callable[[str, Mapping[str, str]], HttpAnswer] = http_get

    def day_prices(self, zone: str, day: date) -> pd.Series | None:
        eic = EIC.get(zone.replace("_", "").upper())
        if eic is None:
            raise ProviderError("refused", f"no EIC code for zone {zone}")
        if not self.token:
            raise ProviderError("unauthorized", "ENTSOE_API_KEY is not set")
        fmt = "%Y%m%d%H%M"
        params = {
            "documentType": "A44",
            "in_Domain": eic,
            "out_Domain": eic,
            "periodStart": self.calendar.day_start(day).strftime(fmt),
            "periodEnd": self.calendar.day_end(day).strftime(fmt),
            "securityToken": self.token,
        }
        answer = self.get(self.base_url, params)
        check_status(answer, "ENTSO-E")
        try:
            prices = parse_a44(answer.body)
        except EntsoeError as exc:
            reason = "refused" if "refused" in str(exc) else "malformed"
            raise ProviderError(reason, str(exc)) from exc
        return _complete(prices, self.calendar, day)


@dataclass
class PublicationPoller:
    """Waits for each delivery day's results per zone and calls ``on_published(zone, day,
    prices)`` once they are complete. :meth:`poll` is one step (clock injected, for tests and
    the service thread alike); :meth:`run` loops it until ``stop`` is set."""

    provider: PriceProvider
    zones: tuple[str, ...]
    next_day: dict[str, date]
    on_published: Callable[[str, date, pd.Series], None]
    calendar: MarketCalendar = field(default_factory=MarketCalendar.default)
    first_retry_s: float = 60.0
    max_retry_s: float = 900.0
    unauthorized_retry_s: float = 1800.0
    errors: Counter[tuple[str, str]] = field(default_factory=Counter)
    published: dict[str, list[date]] = field(default_factory=dict)
    _attempts: dict[str, int] = field(default_factory=dict)
    _not_before: dict[str, datetime] = field(default_factory=dict)

    def due(self, zone: str) -> datetime:
        day = self.next_day[zone]
        return max(
            self.calendar.expected_publication(day),
            self._not_before.get(zone, datetime.min.replace(tzinfo=UTC)),
        )

    def poll(self, now: datetime) -> datetime:
        """Ask for every zone whose next day is due; returns when to poll next."""
        for zone in self.zones:
            while now >= self.due(zone) and self._poll_zone(zone, now):
                pass
        return min(self.due(zone) for zone in self.zones)

    def _poll_zone(self, zone: str, now: datetime) -> bool:
        day = self.next_day[zone]
        attempt = self._attempts.get(zone, 0)
        wait = min(self.first_retry_s * 2**attempt, self.max_retry_s)
        try:
            prices = self.provider.day_prices(zone, day)
        except ProviderError as exc:
            self.errors[(zone, exc.reason)] += 1
            if exc.reason == "unauthorized":
                wait = self.unauthorized_retry_s
            elif exc.retry_after is not None:
                wait = max(wait, exc.retry_after)
            log.warning(
                "prices_not_usable", zone=zone, day=str(day), reason=exc.reason, error=str(exc), retry_s=wait
            )
            self._retry(zone, now, wait, attempt)
            return False
        except Exception:  # a provider bug must not stop the poller
            self.errors[(zone, "internal")] += 1
            log.exception("prices_provider_failed", zone=zone, day=str(day), retry_s=wait)
            self._retry(zone, now, wait, attempt)
            return False
        if prices is None:
            log.info("prices_not_published_yet", zone=zone, day=str(day), attempt=attempt + 1, retry_s=wait)
            self._retry(zone, now, wait, attempt)
            return False
        self.published.setdefault(zone, []).append(day)
        self.next_day[zone] = day + timedelta(days=1)
        self._attempts.pop(zone, None)
        self._not_before.pop(zone, None)
        log.info("prices_published", zone=zone, day=str(day), periods=len(prices))
        self.on_published(zone, day, prices)
        return True

    def _retry(self, zone: str, now: datetime, wait: float, attempt: int) -> None:
        self._attempts[zone] = attempt + 1
        self._not_before[zone] = now + timedelta(seconds=wait)

    def run(self, stop: threading.Event, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        while not stop.is_set():
            upcoming = self.poll(clock())
            stop.wait(max((upcoming - clock()).total_seconds(), 1.0))


def apply_day(market: ZoneMarket, day: date, prices: pd.Series) -> bool:
    """Publish a complete day into a live market: its quarters and the hourly mean. The market's
    arrays are never written in place (RPC threads read them): new ones are built, the grid grown
    when the day (or now + the forecast reach) lies past its end, and the pair swapped whole
    (:meth:`ZoneMarket.update`). The market then counts the day as published and the forecast
    cache, keyed by the publication, re-forecasts on its next use. False (logged) when the day
    lies before the market's grid or its periods do not fit the day."""
    cal = market.calendar
    start, end = cal.day_start(day), cal.day_end(day)
    step = cal.period_minutes(day) // 15
    values = np.repeat(prices.to_numpy(dtype=float), step)
    reach = max(end, market.clock.data_now()) + timedelta(hours=MAX_HORIZON)
    outcome: list[str] = []

    def publish(frame: HourlyFrame, quarters: QuarterSeries) -> tuple[HourlyFrame, QuarterSeries] | None:
        if grow_grid(frame, quarters, reach) is not None:  # short of the day's forecast reach
            frame, quarters = grow_grid(frame, quarters, reach + LIVE_GRID_LEAD) or (frame, quarters)
        lo, hi = quarters.pos(start), quarters.pos(end)
        rows_lo, rows_hi = frame.pos(start), frame.pos(end)
        if lo < 0 or rows_lo < 0 or hi > len(quarters) or rows_hi > len(frame):
            outcome.append("outside")
            return None
        if len(values) != hi - lo:
            outcome.append("mismatch")
            return None
        q_values, q_hourly = quarters.values.copy(), quarters.hourly.copy()
        q_values[lo:hi] = values
        q_hourly[lo:hi] = step == 4
        price = np.array(frame["price"], dtype=float)  # a copy: readers keep the old array
        price[rows_lo:rows_hi] = values.reshape(-1, 4).mean(axis=1)
        return (
            HourlyFrame(frame.start, {**frame.columns, "price": price}),
            QuarterSeries(quarters.start, q_values, q_hourly),
        )

    if market.update(publish):
        return True
    if outcome == ["mismatch"]:
        log.warning("prices_not_applied", zone=market.zone, day=str(day), quarters=len(values))
    else:
        log.warning("prices_outside_grid", zone=market.zone, day=str(day))
    return False


def refresh_forecasts(market: ZoneMarket, directory: Path | str) -> bool:
    """Re-read the zone's forecast series (load, wind, solar: out before the prices of their
    day) from ``directory`` and swap them into the live market, the grid grown to their end
    (copy-on-write, as :func:`apply_day`). Prices are left as published. A live market read its
    files once at start: without this every day after the files' end at start has no load
    forecast, and the week-ahead model refuses to forecast it. False (logged) when the files
    cannot be read."""
    try:
        fresh = load_market_hourly(directory, market.zone, through_forecasts=True)
    except MarketDataError as exc:
        log.warning("forecasts_not_refreshed", zone=market.zone, error=str(exc))
        return False

    def merge(frame: HourlyFrame, quarters: QuarterSeries) -> tuple[HourlyFrame, QuarterSeries] | None:
        frame, quarters = grow_grid(frame, quarters, fresh.last) or (frame, quarters)
        offset = frame.pos(fresh.first)
        lo, hi = max(offset, 0), min(offset + len(fresh), len(frame))
        if hi <= lo:
            return None
        columns = dict(frame.columns)
        for name in COLUMNS:
            if name == "price" or name not in fresh:
                continue
            values = np.array(columns[name], dtype=float)  # a copy: readers keep the old array
            new = fresh[name][lo - offset : hi - offset]
            known = np.isfinite(new)  # a value missing from the file keeps what the market had
            values[lo:hi][known] = new[known]
            columns[name] = values
        return HourlyFrame(frame.start, columns), quarters

    market.update(merge)
    return True


@dataclass
class ForecastWatcher:
    """Re-reads a live market's forecast files (load, wind/solar; not the prices, the poller's)
    from ``directory`` when their size or modification time changed since the last read: the
    downloader appends the next day's forecasts at ~10:00 CET, between two publications, and
    the market otherwise saw them only at the next publication (by then a day too late for
    the first unpublished day). :meth:`poll` is one step (tests); :meth:`run` loops it."""

    directory: Path
    markets: Mapping[str, ZoneMarket]
    _seen: dict[str, tuple[tuple[str, int, int], ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.directory = Path(self.directory)
        for zone in self.markets:  # the markets were read from these files at start
            self._seen[zone] = self._stamp(zone)

    def _stamp(self, zone: str) -> tuple[tuple[str, int, int], ...]:
        out = []
        for spec in SERIES:
            if spec.required:  # the price file: published days come through the poller
                continue
            path = self.directory / f"{spec.prefix}_{file_suffix(zone)}.csv"
            try:
                st = path.stat()
            except OSError:
                continue
            out.append((path.name, st.st_mtime_ns, st.st_size))
        return tuple(out)

    def poll(self) -> list[str]:
        """Refresh every zone whose files changed; returns those refreshed."""
        done = []
        for zone, market in self.markets.items():
            stamp = self._stamp(zone)
            if stamp == self._seen.get(zone):
                continue
            if refresh_forecasts(market, self.directory):
                self._seen[zone] = stamp
                done.append(zone)
                log.info("forecasts_refreshed", zone=zone, files=[name for name, _, _ in stamp])
        return done

    def run(self, stop: threading.Event, interval_s: float) -> None:
        while not stop.wait(interval_s):
            try:
                self.poll()
            except Exception:  # a bug here must not stop the watcher
                log.exception("forecast_watch_failed")


def publish_day(
    market: ZoneMarket, day: date, prices: pd.Series, forecast_dir: Path | str | None = None
) -> bool:
    """What the live feed does with a published day: refresh the forecast series from
    ``forecast_dir`` (when given) and apply the day's prices (:func:`apply_day`)."""
    if forecast_dir:
        refresh_forecasts(market, forecast_dir)
    return apply_day(market, day, prices)


def price_provider(kind: str, directory: str, calendar: MarketCalendar) -> PriceProvider | None:
    """The configured provider (``EP_PREDICT_PRICE_PROVIDER``): none, file or entsoe."""
    if kind in ("", "none"):
        return None
    if kind == "file":
        return FilePrices(Path(directory), calendar)
    if kind == "entsoe":
        return EntsoePrices(calendar=calendar)
    raise ValueError(f"EP_PREDICT_PRICE_PROVIDER must be none, file or entsoe, not {kind!r}")


def _has_day(market: ZoneMarket, day: date) -> bool:
    return market.q.complete(market.calendar.day_start(day), market.calendar.day_end(day))


@dataclass
class LiveFeed:
    """The running poller of a live service (stop it with ``stop.set()``)."""

    poller: PublicationPoller
    thread: threading.Thread
    stop: threading.Event


def start_live_feed(
    kind: str,
    directory: str,
    markets: Mapping[str, ZoneMarket],
    now: Callable[[], datetime],
    forecast_dir: str = "",
    forecast_watch_s: float = 60.0,
) -> LiveFeed | None:
    """Poll ``kind``'s provider for the live markets' next delivery days and write each complete
    day into its market (the next request or warm-up then re-forecasts from it), the forecast
    series re-read from ``forecast_dir`` first (the market's data directory), and between
    publications every ``forecast_watch_s`` seconds when those files changed
    (:class:`ForecastWatcher`; 0 disables). None when no provider is configured or no market is
    live (the default: replay/synthetic)."""
    live = {zone: m for zone, m in markets.items() if m.live}
    if not live:
        return None
    calendar = next(iter(live.values())).calendar
    provider = price_provider(kind, directory, calendar)
    if provider is None:
        return None
    at = now().astimezone(UTC)
    next_day: dict[str, date] = {}
    for zone, market in live.items():
        last = calendar.published_through_data(at, partial(_has_day, market))
        next_day[zone] = (last or calendar.delivery_day(at)) + timedelta(days=1)

    def applied(zone: str, day: date, prices: pd.Series) -> None:
        if not publish_day(live[zone], day, prices, forecast_dir or None):
            poller.errors[(zone, "outside_grid")] += 1

    poller = PublicationPoller(provider, tuple(live), next_day, applied, calendar)
    stop = threading.Event()
    thread = threading.Thread(
        target=poller.run, args=(stop, lambda: now().astimezone(UTC)), name="live-prices", daemon=True
    )
    thread.start()
    if forecast_dir and forecast_watch_s > 0:
        watcher = ForecastWatcher(Path(forecast_dir), live)
        threading.Thread(
            target=watcher.run, args=(stop, forecast_watch_s), name="live-forecasts", daemon=True
        ).start()
    log.info(
        "live_prices_polling",
        provider=kind,
        zones=list(live),
        next_days={z: str(d) for z, d in next_day.items()},
    )
    return LiveFeed(poller, thread, stop)
