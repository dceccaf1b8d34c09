"""Evaluation rounds: for each household with rules, ask predict_svc and ingest_svc what the rules
need (once per zone and threshold per round), raise the alerts that hold (deduplicated and rate
limited by the store) and refresh the Home Assistant price and forecast sensors on its brokers.

An upstream that does not answer skips that part of the round for that household (logged); the
next round tries again. Nothing is raised from a missing answer.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import date, datetime
from zoneinfo import ZoneInfo

import grpc
from prometheus_client import Counter, Histogram

from alert_svc import conditions
from alert_svc.channels import Deliverer
from alert_svc.rules import condition_of
from alert_svc.store import AlertStore, NewAlert, RuleRow
from alert_svc.upstream import Upstream
from common.log import get_logger
from energy.ratebook import RateBook, RateGapError, UnknownGridCompany
from energypulse.alert.v1 import alert_pb2 as pb
from energypulse.prediction.v1 import prediction_service_pb2

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
    ) -> None:
        self.store, self.upstream, self.deliverer, self.book = store, upstream, deliverer, book
        self.tz, self.per_hour, self.clock = tz, per_hour, clock
        self._lock = asyncio.Lock()

    async def run_round(self, household_id: str = "") -> tuple[int, int]:
        """(households evaluated, alerts raised). One round at a time."""
        async with self._lock:
            started = time.perf_counter()
            rules = await asyncio.to_thread(self.store.rules, household_id or None)
            by_household: dict[str, list[RuleRow]] = defaultdict(list)
            for rule in rules:
                by_household[rule.household_id].append(rule)
            forecasts: dict[tuple[str, float | None], Forecast | None] = {}
            raised = 0
            for hh, hh_rules in sorted(by_household.items()):
                raised += await self._household(hh, hh_rules, forecasts)
            ROUNDS.observe(time.perf_counter() - started)
            return len(by_household), raised

    async def _forecast(
        self, cache: dict[tuple[str, float | None], Forecast | None], zone: str, threshold: float | None
    ) -> Forecast | None:
        key = (zone, threshold)
        if key not in cache:
            try:
                cache[key] = await self.upstream.price_forecast(zone, threshold)
            except (grpc.aio.AioRpcError, OSError) as exc:
                UPSTREAM_ERRORS.labels("GetPriceForecast").inc()
                log.warning("alert_forecast_unavailable", zone=zone, error=str(exc)[:200])
                cache[key] = None
        return cache[key]

    async def _household(
        self, hh: str, rules: list[RuleRow], cache: dict[tuple[str, float | None], Forecast | None]
    ) -> int:
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
                    forecast = await self._forecast(cache, zone, c.threshold_eur_mwh)
                    if forecast is not None:
                        periods = conditions.periods_of(list(forecast.periods))
                        found += conditions.price_spikes(hh, rule.rule_id, c, periods, now_ms, self.tz)
                elif isinstance(c, pb.CheapWindowCondition):
                    forecast = await self._forecast(cache, zone, None)
                    if forecast is not None:
                        periods = conditions.periods_of(list(forecast.periods))
                        found += conditions.cheap_window(hh, rule.rule_id, c, periods, now_ms, self.tz)
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

    async def _publish_states(
        self, hh: str, zone: str, cache: dict[tuple[str, float | None], Forecast | None], now_ms: int
    ) -> None:
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
        price_attrs: dict[str, object] = {
            "zone": zone,
            "period_start": datetime.fromtimestamp(current.start_time.seconds, self.tz).isoformat(),
            "published": current.kind == 1,
        }
        nxt = next((p for p in forecast.points if p.horizon_hours == 1), None)
        forecast_attrs: dict[str, object] = {}
        if nxt is not None:
            forecast_attrs = {
                "hour_start": datetime.fromtimestamp(nxt.hour_start.seconds, self.tz).isoformat(),
                "p10": round(nxt.p10_eur_mwh, 2),
                "p90": round(nxt.p90_eur_mwh, 2),
                "model_version": forecast.model_version,
            }
        for sub in subs:
            await asyncio.to_thread(
                self.deliverer.publish_states,
                sub,
                current.price_eur_mwh,
                price_attrs,
                nxt.p50_eur_mwh if nxt is not None else None,
                forecast_attrs,
            )


async def evaluate_forever(evaluator: Evaluator, period_s: float) -> None:
    while True:
        await asyncio.sleep(period_s)
        try:
            households, raised = await evaluator.run_round()
            log.debug("alert_round", households=households, raised=raised)
        except Exception as exc:  # noqa: BLE001 - one bad round must not stop the next
            log.warning("alert_round_failed", error=repr(exc))
