"""Billing's loops, from stored readings to ledger records.

Four loops share one asyncio task group (run beside the gRPC server):

1. close hours (:class:`~ingest_svc.billing.settlement.Settler`, database only);
2. price closed hours and queue SETTLEMENT appends (:class:`~ingest_svc.billing.pricing.Pricer`,
   the price source);
3. forecast each household once per hour and queue PREDICTION appends
   (:class:`~ingest_svc.billing.predictions.Forecaster`, the forecast source);
4. send the outbox to the ledger sink (:class:`OutboxSender`).

Each loop's pass is a public method, so a test drives them one at a time. A loop that fails
backs off exponentially and carries on, so a service that is down only delays its part.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from google.protobuf.message import DecodeError
from sqlalchemy.engine import Engine

from common.log import get_logger
from energypulse.ledger.v1 import ledger_service_pb2
from ingest_svc.billing.costs import TodayCost
from ingest_svc.billing.keys import KeyRecorder
from ingest_svc.billing.outbox import Outbox, OutboxItem
from ingest_svc.billing.ports import (
    Clock,
    DeliveryFailed,
    DeliveryRejected,
    ForecastSource,
    LedgerSink,
    PriceSource,
    ReadingTables,
)
from ingest_svc.billing.predictions import Forecaster
from ingest_svc.billing.pricing import LEDGER_APPEND, Pricer
from ingest_svc.billing.rules import BillRules
from ingest_svc.billing.settlement import Settler

__all__ = ["Billing", "BillingSettings", "BillingStats", "OutboxSender"]

log = get_logger(__name__)


@dataclass(frozen=True)
class BillingSettings:
    """Billing's knobs (the process fills them from EP_INGEST_*; see ingest_svc/config.py)."""

    settle_grace_s: float = 900.0
    interval_s: float = 2.0
    predict_batch: int = 2000
    outbox_page: int = 64
    outbox_concurrency: int = 8
    outbox_lease_s: float = 30.0
    outbox_backoff_base_ms: int = 500
    outbox_backoff_max_ms: int = 60_000
    outbox_retention_s: float = 7 * 86400.0
    settlement_period_s: int = 900
    max_power_w: float = 43_470.0  # plausibility cap on signed deltas (EP_INGEST_MAX_POWER_W)


@dataclass
class BillingStats:
    closed: int = 0
    priced: int = 0
    predicted: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    max_claimed: int = 0  # largest page held in memory at once
    errors: dict[str, int] = field(default_factory=dict)


Sender = Callable[[OutboxItem], Awaitable[None]]


class OutboxSender:
    """Claims pages of the outbox, sends them with bounded concurrency, records the outcome."""

    def __init__(
        self, outbox: Outbox, send: Sender, stats: BillingStats, page: int = 64, concurrency: int = 8
    ) -> None:
        self.outbox = outbox
        self.send = send
        self.stats = stats
        self.page = page
        self._slots = asyncio.Semaphore(concurrency)

    async def run_once(self) -> tuple[int, int]:
        """One page: (sent, failed-to-retry). (0, 0) when nothing was due."""
        items = await asyncio.to_thread(self.outbox.claim, self.page)
        if not items:
            return 0, 0
        self.stats.max_claimed = max(self.stats.max_claimed, len(items))
        results = await asyncio.gather(*(self._one(item) for item in items))
        sent = [item.id for item, error in zip(items, results, strict=True) if error is None]
        retry = [
            (item, err[1]) for item, err in zip(items, results, strict=True) if err and err[0] == "retry"
        ]
        dead = [(item, err[1]) for item, err in zip(items, results, strict=True) if err and err[0] == "fail"]
        await asyncio.to_thread(self.outbox.mark_sent, sent)
        await asyncio.to_thread(self.outbox.retry_later, retry)
        await asyncio.to_thread(self.outbox.park_failed, dead)
        self.stats.sent += len(sent)
        self.stats.retried += len(retry)
        self.stats.failed += len(dead)
        for item, error in dead:
            log.error("outbox_row_rejected", request_id=item.request_id, error=error)
        return len(sent), len(retry)

    async def _one(self, item: OutboxItem) -> tuple[str, str] | None:
        async with self._slots:
            try:
                await self.send(item)
                return None
            except DeliveryRejected as exc:
                return "fail", str(exc)
            except DeliveryFailed as exc:
                return "retry", str(exc)
            except (ValueError, DecodeError) as exc:  # a row we cannot even send
                return "fail", repr(exc)
            except (TimeoutError, OSError) as exc:
                return "retry", repr(exc)


class Billing:
    """The billing room: settle, price, forecast and deliver, from explicit ports.

    ``engine`` is the database that holds billing's tables and the readings ``readings`` names.
    """

    def __init__(
        self,
        engine: Engine,
        readings: ReadingTables,
        prices: PriceSource,
        forecasts: ForecastSource,
        ledger: LedgerSink,
        settings: BillingSettings | None = None,
        clock: Clock = time.time,
        rules: BillRules | None = None,
    ) -> None:
        self.settings = settings = settings or BillingSettings()
        self.ledger = ledger
        self.stats = BillingStats()
        self.outbox = Outbox(
            engine,
            lease_ms=int(settings.outbox_lease_s * 1000),
            backoff_base_ms=settings.outbox_backoff_base_ms,
            backoff_max_ms=settings.outbox_backoff_max_ms,
            clock=clock,
        )
        self.settler = Settler(
            engine,
            readings,
            grace_ms=int(settings.settle_grace_s * 1000),
            clock=clock,
            period_ms=settings.settlement_period_s * 1000,
            max_power_w=settings.max_power_w,
        )
        self.keys = KeyRecorder(engine, readings, clock=clock)
        self.pricer = Pricer(engine, prices, clock=clock, rules=rules, tables=readings)
        self.forecaster = Forecaster(engine, readings, forecasts, settings.predict_batch, clock=clock)
        self.sender = OutboxSender(
            self.outbox, self._send, self.stats, settings.outbox_page, settings.outbox_concurrency
        )
        self.costs = TodayCost(engine, self.pricer.rules.book.currency)

    async def _send(self, item: OutboxItem) -> None:
        if item.kind != LEDGER_APPEND:
            raise ValueError(f"unknown outbox kind {item.kind!r}")
        await self.ledger.append(ledger_service_pb2.AppendRecordsRequest.FromString(item.payload))

    # --- one pass of each loop --------------------------------------------------------------
    async def settle(self) -> None:
        """Queue new meter-key records, start households that began reporting, then close every
        due period."""
        while await asyncio.to_thread(self.keys.run_once):
            pass
        await asyncio.to_thread(self.settler.start_new_households)
        while True:
            closed = await asyncio.to_thread(self.settler.close_due)
            self.stats.closed += len(closed)
            if not closed:
                return

    async def price(self) -> None:
        """Price closed hours and queue their SETTLEMENT appends, until none is left to price."""
        await self._drain(self.pricer.run_once, "priced")

    async def forecast(self) -> None:
        """Forecast the households due this round and queue their PREDICTION appends."""
        await self._drain(self.forecaster.run_once, "predicted", -1)

    async def deliver(self) -> None:
        """Send due outbox rows; raises ConnectionError if some failed (the loop backs off)."""
        for _ in range(1000):
            sent, retried = await self.sender.run_once()
            if sent == 0:
                if retried:
                    raise ConnectionError(f"{retried} ledger appends failed")
                return

    async def prune(self) -> None:
        """Delete sent outbox rows older than the retention."""
        await asyncio.to_thread(self.outbox.prune_sent, int(self.settings.outbox_retention_s * 1000))

    async def _drain(self, step: Callable[[], Awaitable[int]], counter: str, floor: int = 0) -> None:
        """Run ``step`` until it returns ``floor`` or less (nothing left), bounded per pass."""
        for _ in range(1000):
            done = await step()
            setattr(self.stats, counter, getattr(self.stats, counter) + max(done, 0))
            if done <= floor:
                return

    # --- loops ------------------------------------------------------------------------------
    async def run(self) -> None:
        """Run every loop until cancelled."""
        log.info("bridge_started")
        async with asyncio.TaskGroup() as group:
            group.create_task(self._loop("settle", self.settle))
            group.create_task(self._loop("price", self.price))
            group.create_task(self._loop("predict", self.forecast))
            group.create_task(self._loop("send", self.deliver))
            group.create_task(self._loop("prune", self.prune, interval=600.0))

    async def _loop(
        self, name: str, step: Callable[[], Awaitable[None]], interval: float | None = None
    ) -> None:
        pause = interval if interval is not None else self.settings.interval_s
        failures = 0
        while True:
            try:
                await step()
                failures = 0
                await asyncio.sleep(pause)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - one failing dependency must not stop the others
                failures += 1
                self.stats.errors[name] = self.stats.errors.get(name, 0) + 1
                delay = min(self.settings.outbox_backoff_max_ms / 1000, pause * 2 ** min(failures, 10))
                log.warning(
                    "bridge_step_failed", step=name, error=repr(exc)[:300], retry_in_s=round(delay, 2)
                )
                await asyncio.sleep(delay)
