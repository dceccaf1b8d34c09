"""Evaluation rounds: for each household with rules, ask predict_svc and ingest_svc what the rules
need (once per zone and threshold, or zone and window, per round), raise the alerts that hold (deduplicated and rate
limited by the store) and refresh the Home Assistant price and forecast sensors on its brokers.

An upstream that does not answer skips that part of the round for that household (logged); the
next round tries again. Nothing is raised from a missing answer.

Replicas: households are split into ``shards`` by the CRC-32 of their id. Every tick (a quarter of
the evaluation period) a replica claims, in random order, each shard whose lease has run out
(store.claim_lease, one replica wins) for one period, and evaluates that shard's households; so
every shard is evaluated once a period by one replica, the replicas share the shards between them,
and a replica that stops leaves its shards to the others after at most a period. Alerts are unique
per rule and period in the database as well, so even an EvaluateAlerts call beside a round (or
replicas configured with different shard counts) stores and delivers each alert once.
"""

from __future__ import annotations

import asyncio
import os
import random
import secrets
import socket
import time
import zlib
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Protocol, TypeVar
from zoneinfo import ZoneInfo

import grpc
from prometheus_client import Counter, Histogram

from alert_svc import conditions
from alert_svc.channels import Deliverer
from alert_svc.prices import shown
from alert_svc.rules import condition_of
from alert_svc.signals import AlertSignals
from alert_svc.store import AlertStore, NewAlert, RuleRow
from alert_svc.upstream import Upstream
from common.log import get_logger
from energy.ratebook import RateBook, RateGapError, UnknownGridCompany
from energypulse.alert.v1 import alert_pb2 as pb
from energypulse.prediction.v1 import forecast_pb2, prediction_service_pb2

__all__ = ["Evaluator"]

log = get_logger(__name__)

RAISED = Counter("energypulse_alerts_raised_total", "Alerts raised (after deduplication)", ["kind"])
ROUNDS = Histogram(
    "energypulse_alert_round_seconds",
    "Duration of an evaluation round",
    buckets=(0.1, 0.5, 1, 2.5, 5, 10, 30, 60),
)
UPSTREAM_ERRORS = Counter(
    "energypulse_alert_upstream_errors_total", "Failed calls to other services", ["call"]
)

Forecast = prediction_service_pb2.GetPriceForecastResponse
Window = forecast_pb2.CheapestWindow


class _Priced(Protocol):
    """An answer of predict_svc stating its figures' currency ("" from older servers: EUR)."""

    @property
    def currency(self) -> str: ...


_A = TypeVar("_A", bound=_Priced)
_K = TypeVar("_K")
_V = TypeVar("_V")


class _RoundCache:
    """What one round asked predict_svc (None: it did not answer), shared by its households."""

    def __init__(self) -> None:
        # (zone, threshold, its unit): "eur" EUR/MWh, "micro" µ/kWh of the currency, "" none.
        self.forecasts: dict[tuple[str, float | None, str], Forecast | None] = {}
        self.windows: dict[tuple[str, int, int], list[Window] | None] = {}


def shard_of(household_id: str, shards: int) -> int:
    """The household's evaluation shard: the same in every replica and every run."""
    return zlib.crc32(household_id.encode()) % shards


def replica_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"


class Evaluator:
    def __init__(
        self,
        store: AlertStore,
        upstream: Upstream,
        deliverer: Deliverer,
        book: RateBook,
        tz: ZoneInfo,
        per_hour: int,
        clock: Callable[[], float] = time.time,
        *,
        shards: int = 16,
        signals: AlertSignals | None = None,
        holder: str | None = None,
    ) -> None:
        self.store, self.upstream, self.deliverer, self.book = store, upstream, deliverer, book
        self.tz, self.per_hour, self.clock = tz, per_hour, clock
        self.shards, self.signals = shards, signals
        self.holder = holder or replica_name()
        self._lock = asyncio.Lock()

    async def run_round(self, household_id: str = "") -> tuple[int, int]:
        """Evaluate every household (or one) now, whatever the shards' leases:
        (households evaluated, alerts raised). One round at a time."""
        async with self._lock:
            started = time.perf_counter()
            rules = await asyncio.to_thread(self.store.rules, household_id or None)
            by_household = _by_household(rules)
            cache = _RoundCache()
            raised = 0
            for hh, hh_rules in sorted(by_household.items()):
                raised += await self._household(hh, hh_rules, cache)
            ROUNDS.observe(time.perf_counter() - started)
            return len(by_household), raised

    async def run_due_shards(self, period_s: float) -> tuple[int, int]:
        """Claim each shard with households whose lease ran out (for ``period_s``) and evaluate
        it: (shards evaluated, alerts raised)."""
        async with self._lock:
            started = time.perf_counter()
            rules = await asyncio.to_thread(self.store.rules, None)
            by_shard: dict[int, list[RuleRow]] = defaultdict(list)
            for rule in rules:
                by_shard[shard_of(rule.household_id, self.shards)].append(rule)
            order = list(by_shard)
            random.shuffle(order)  # replicas ticking together take different shards first
            cache = _RoundCache()
            shards = raised = 0
            for shard in order:
                now_ms = int(self.clock() * 1000)
                claimed = await asyncio.to_thread(
                    self.store.claim_lease,
                    f"evaluate:{shard}/{self.shards}",
                    self.holder,
                    now_ms,
                    now_ms + int(period_s * 1000),
                )
                if not claimed:
                    continue
                shards += 1
                for hh, hh_rules in sorted(_by_household(by_shard[shard]).items()):
                    raised += await self._household(hh, hh_rules, cache)
            if shards:
                ROUNDS.observe(time.perf_counter() - started)
            return shards, raised

    async def _forecast(
        self, cache: _RoundCache, zone: str, threshold: float | None, micro: int | None = None
    ) -> Forecast | None:
        unit = "micro" if micro is not None else "eur" if threshold is not None else ""
        key = (zone, float(micro) if micro is not None else threshold, unit)
        return await self._asked(
            cache.forecasts,
            key,
            "GetPriceForecast",
            "forecast",
            zone,
            lambda: self.upstream.price_forecast(zone, threshold, micro),
            lambda answer: answer,
        )

    async def _windows(
        self, cache: _RoundCache, zone: str, c: pb.CheapWindowCondition
    ) -> list[Window] | None:
        return await self._asked(
            cache.windows,
            (zone, c.duration_minutes, c.lookahead_hours),
            "FindCheapestWindows",
            "windows",
            zone,
            lambda: self.upstream.cheapest_windows(zone, c.duration_minutes, c.lookahead_hours),
            lambda answer: list(answer.windows),
        )

    async def _asked(
        self,
        cache: dict[_K, _V | None],
        key: _K,
        call: str,
        what: str,
        zone: str,
        ask: Callable[[], Awaitable[_A]],
        keep: Callable[[_A], _V],
    ) -> _V | None:
        """``cache[key]``, asked of predict_svc once a round: None when it does not answer, or
        answers in another currency than the installation's texts and sensors state."""
        if key not in cache:
            kept = None
            try:
                answer = await ask()
            except (grpc.aio.AioRpcError, OSError) as exc:
                UPSTREAM_ERRORS.labels(call).inc()
                log.warning(f"alert_{what}_unavailable", zone=zone, error=str(exc)[:200])
            else:
                if answer.currency and answer.currency != self.book.currency:
                    log.warning(
                        f"alert_{what}_currency_mismatch",
                        zone=zone,
                        got=answer.currency,
                        expected=self.book.currency,
                    )
                else:
                    kept = keep(answer)
            cache[key] = kept
        return cache[key]

    async def _household(self, hh: str, rules: list[RuleRow], cache: _RoundCache) -> int:
        try:
            zone = (await self.upstream.household(hh)).zone or "NO1"
        except (grpc.aio.AioRpcError, OSError) as exc:
            UPSTREAM_ERRORS.labels("GetHousehold").inc()
            log.warning("alert_household_unavailable", household_id=hh, error=str(exc)[:200])
            return 0
        now_ms = int(self.clock() * 1000)
        found: list[NewAlert] = []
        last_read: int | bool | None = False  # False: not asked yet
        month_cost = None
        for rule in rules:
            c = condition_of(rule)
            try:
                if isinstance(c, pb.PriceSpikeCondition):
                    if c.HasField("threshold_micro_per_kwh"):
                        forecast = await self._forecast(cache, zone, None, c.threshold_micro_per_kwh)
                    else:
                        forecast = await self._forecast(cache, zone, c.threshold_eur_mwh)
                    if forecast is not None:
                        periods = conditions.periods_of(list(forecast.periods))
                        found += conditions.price_spikes(
                            hh, rule.rule_id, c, periods, now_ms, self.tz, self.book.currency
                        )
                elif isinstance(c, pb.CheapWindowCondition):
                    windows = await self._windows(cache, zone, c)
                    if windows is not None:
                        found += conditions.cheap_window(
                            hh, rule.rule_id, c, windows, self.tz, self.book.currency
                        )
                elif isinstance(c, pb.MeterSilentCondition):
                    if last_read is False:
                        last_read = await self.upstream.last_read_ms(hh)
                    found += conditions.meter_silent(hh, rule.rule_id, c, last_read or None, now_ms, self.tz)
                else:
                    if month_cost is None:
                        month_cost = await self.upstream.month_cost(hh)
                    found += self._capacity(hh, rule.rule_id, c, month_cost, now_ms)
            except (grpc.aio.AioRpcError, OSError) as exc:
                UPSTREAM_ERRORS.labels(type(c).__name__).inc()
                log.warning(
                    "alert_rule_inputs_unavailable",
                    household_id=hh,
                    rule_id=rule.rule_id,
                    error=str(exc)[:200],
                )
        raised = 0
        for new in found:
            row = await asyncio.to_thread(self.store.raise_alert, new, now_ms, self.per_hour)
            if row is not None:
                raised += 1
                RAISED.labels(pb.AlertKind.Name(new.kind)).inc()  # type: ignore[arg-type]
                log.info("alert_raised", household_id=hh, rule_id=new.rule_id, period=new.period_key)
        if raised and self.signals is not None:
            self.signals.signal(hh)
        await self._publish_states(hh, zone, cache, now_ms)
        return raised

    def _capacity(
        self, hh: str, rule_id: str, c: pb.CapacityStepCondition, cost: object, now_ms: int
    ) -> list[NewAlert]:
        from energypulse.telemetry.v1 import telemetry_service_pb2

        assert isinstance(cost, telemetry_service_pb2.GetMonthCostResponse)
        today: date = datetime.fromtimestamp(now_ms / 1000, self.tz).date()
        try:
            tariff = self.book.grid(cost.grid_company).at(today)
        except (UnknownGridCompany, RateGapError) as exc:
            log.warning(
                "alert_no_capacity_tariff", household_id=hh, grid_company=cost.grid_company, error=str(exc)
            )
            return []
        basis_wh = round(cost.capacity_basis_kw * 1000)
        return conditions.capacity_step(
            hh,
            rule_id,
            c,
            cost.month,
            cost.capacity_basis_kw,
            tariff.next_step(basis_wh),
            now_ms,
            self.book.currency,
        )

    async def _publish_states(self, hh: str, zone: str, cache: _RoundCache, now_ms: int) -> None:
        subs = [s for s in await asyncio.to_thread(self.store.subscriptions, hh) if s.channel == "mqtt"]
        if not subs:
            return
        forecast = await self._forecast(cache, zone, None)
        if forecast is None:
            return
        current = next(
            (
                p
                for p in forecast.periods
                if p.start_time.seconds * 1000
                <= now_ms
                < p.start_time.seconds * 1000 + p.duration_minutes * 60_000
            ),
            None,
        )
        if current is None:
            return
        currency = self.book.currency
        price_attrs: dict[str, object] = {
            "zone": zone,
            "currency": currency,
            "period_start": datetime.fromtimestamp(current.start_time.seconds, self.tz).isoformat(),
            "published": current.kind == 1,
        }
        nxt = next((p for p in forecast.points if p.horizon_hours == 1), None)
        forecast_attrs: dict[str, object] = {}
        next_hour = _next_hour(forecast, nxt, currency) if nxt is not None else None
        if nxt is not None and next_hour is not None:
            forecast_attrs = {
                "hour_start": datetime.fromtimestamp(nxt.hour_start.seconds, self.tz).isoformat(),
                "p10": round(next_hour[1], 2),
                "p90": round(next_hour[2], 2),
                "currency": currency,
                "model_version": forecast.model_version,
            }
        for sub in subs:
            await asyncio.to_thread(
                self.deliverer.publish_states,
                sub,
                shown(current.spot_micro_per_kwh, current.price_eur_mwh, currency),
                price_attrs,
                next_hour[0] if next_hour is not None else None,
                forecast_attrs,
            )


def _next_hour(
    forecast: Forecast, point: forecast_pb2.PricePoint, currency: str
) -> tuple[float, float, float] | None:
    """The next hour's P50, P10, P90 in the unit of :func:`~alert_svc.prices.price_unit`. EUR/MWh:
    the hourly point as it is. øre/kWh: the mean over the hour's periods of predict_svc's own
    conversions (each period's spot_micro_per_kwh, its quantiles'), the point carrying none."""
    if currency != "NOK":
        return point.p50_eur_mwh, point.p10_eur_mwh, point.p90_eur_mwh
    start = point.hour_start.seconds
    inside = [p for p in forecast.periods if start <= p.start_time.seconds < start + 3600]
    if not inside:
        return None

    def level(p: forecast_pb2.PricePeriod, at: float) -> int:
        q = next((q for q in p.quantiles if abs(q.level - at) < 1e-9), None)
        return q.spot_micro_per_kwh if q is not None else p.spot_micro_per_kwh  # published: exact

    n = len(inside)
    return (
        shown(round(sum(p.spot_micro_per_kwh for p in inside) / n), 0.0, currency),
        shown(round(sum(level(p, 0.1) for p in inside) / n), 0.0, currency),
        shown(round(sum(level(p, 0.9) for p in inside) / n), 0.0, currency),
    )


def _by_household(rules: list[RuleRow]) -> dict[str, list[RuleRow]]:
    out: dict[str, list[RuleRow]] = defaultdict(list)
    for rule in rules:
        out[rule.household_id].append(rule)
    return out


async def evaluate_forever(evaluator: Evaluator, period_s: float) -> None:
    """Every quarter period, evaluate the shards whose lease ran out (see the module docstring)."""
    while True:
        await asyncio.sleep(period_s / 4)
        try:
            shards, raised = await evaluator.run_due_shards(period_s)
            if shards:
                log.debug("alert_round", shards=shards, raised=raised)
        except Exception as exc:  # noqa: BLE001 - one bad round must not stop the next
            log.warning("alert_round_failed", error=repr(exc))
