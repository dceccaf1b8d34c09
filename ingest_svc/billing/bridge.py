"""The bridge from stored readings to predict_svc and ledger_svc.

Four loops share one asyncio task group (run beside the gRPC server):

1. close hours (:class:`~ingest_svc.billing.settlement.Settler`, database only);
2. price closed hours and queue SETTLEMENT appends (:class:`~ingest_svc.billing.pricing.Pricer`,
   GetMarketPrices);
3. forecast each household once per hour and queue PREDICTION appends
   (:class:`~ingest_svc.billing.predictions.Forecaster`, PredictBatch);
4. send the outbox to the ledger (:class:`OutboxSender`, AppendRecords).

Every call has a deadline; a loop that fails backs off exponentially and carries on, so a
service that is down only delays its part. Channels are made inside the running event loop.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import grpc
from google.protobuf.message import DecodeError
from google.protobuf.timestamp_pb2 import Timestamp
from sqlalchemy.engine import Engine

from common.auth.credentials import ServiceCredentials
from common.channels import make_channel
from common.log import get_logger
from energy.tariff import Tariff
from energypulse.ledger.v1 import ledger_service_pb2, ledger_service_pb2_grpc
from energypulse.prediction.v1 import prediction_service_pb2, prediction_service_pb2_grpc
from ingest_svc.billing.outbox import Outbox, OutboxItem
from ingest_svc.billing.predictions import Forecaster
from ingest_svc.billing.pricing import LEDGER_APPEND, Pricer
from ingest_svc.billing.settlement import Settler
from ingest_svc.config import IngestConfig

__all__ = ["Bridge", "BridgeStats", "OutboxSender", "tariff_from_env"]

log = get_logger(__name__)

# The receiver says the request itself is wrong: retrying cannot help, park the row.
_PERMANENT = {grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.OUT_OF_RANGE}


def tariff_from_env() -> Tariff:
    """The tariff predict_svc uses: read from the same EP_PREDICT_* variables (one setting)."""
    from common.config import from_env
    from predict_svc.config import PredictConfig

    return from_env(PredictConfig).tariff()


@dataclass
class BridgeStats:
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
        self, outbox: Outbox, send: Sender, stats: BridgeStats, page: int = 64, concurrency: int = 8
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
            except grpc.aio.AioRpcError as exc:
                kind = "fail" if exc.code() in _PERMANENT else "retry"
                return kind, f"{exc.code().name}: {exc.details()}"
            except (ValueError, DecodeError) as exc:  # a row we cannot even send
                return "fail", repr(exc)
            except (TimeoutError, OSError) as exc:
                return "retry", repr(exc)


class Bridge:
    def __init__(
        self,
        config: IngestConfig,
        engine: Engine,
        tariff: Tariff | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.engine = engine
        self.tariff = tariff or tariff_from_env()
        self.stats = BridgeStats()
        self.outbox = Outbox(
            engine,
            lease_ms=int(config.outbox_lease_s * 1000),
            backoff_base_ms=config.outbox_backoff_base_ms,
            backoff_max_ms=config.outbox_backoff_max_ms,
            clock=clock,
        )
        self.settler = Settler(engine, grace_ms=int(config.settle_grace_s * 1000), clock=clock)
        self._clock = clock
        self._timeout = config.rpc_timeout_s
        self._creds: ServiceCredentials | None = None
        self._channels: list[grpc.aio.Channel] = []
        self._predict: prediction_service_pb2_grpc.PredictionServiceStub | None = None
        self._ledger: ledger_service_pb2_grpc.LedgerServiceStub | None = None

    # --- clients (made inside the running loop) ---------------------------------------------
    def _connect(self) -> None:
        if self._creds is not None:
            return
        self._creds = ServiceCredentials.for_auth_service(
            self.config.auth_target, self.config.service_username, self.config.effective_service_secret
        )
        predict = make_channel(self.config.predict_target)
        ledger = make_channel(self.config.ledger_target)
        self._channels = [predict, ledger]
        self._predict = prediction_service_pb2_grpc.PredictionServiceStub(predict)
        self._ledger = ledger_service_pb2_grpc.LedgerServiceStub(ledger)

    async def _metadata(self) -> tuple[tuple[str, str], ...]:
        assert self._creds is not None
        try:
            return await self._creds.metadata()
        except grpc.aio.AioRpcError as exc:
            # auth_svc down or refusing: same handling as the call it was for (retry later).
            raise ConnectionError(f"service login failed: {exc.code().name}") from exc

    async def _authed(self, call: Callable[[tuple[tuple[str, str], ...]], Awaitable[object]]) -> object:
        """Run ``call`` with a token; on UNAUTHENTICATED log in again once (token revoked/rotated)."""
        assert self._creds is not None
        try:
            return await call(await self._metadata())
        except grpc.aio.AioRpcError as exc:
            if exc.code() != grpc.StatusCode.UNAUTHENTICATED:
                raise
            self._creds.invalidate()
            return await call(await self._metadata())

    async def fetch_prices(self, zone: str, start_ms: int, end_ms: int) -> dict[int, float]:
        assert self._predict is not None
        start, end = Timestamp(), Timestamp()
        start.FromMilliseconds(start_ms)
        end.FromMilliseconds(end_ms)
        request = prediction_service_pb2.GetMarketPricesRequest(zone=zone, start_time=start, end_time=end)
        stub = self._predict
        try:
            response = await self._authed(
                lambda md: stub.GetMarketPrices(request, timeout=self._timeout, metadata=md)
            )
        except grpc.aio.AioRpcError as exc:
            if exc.code() in _PERMANENT:
                log.warning("market_prices_refused", zone=zone, error=exc.details())
                return {}
            raise
        assert isinstance(response, prediction_service_pb2.GetMarketPricesResponse)
        return {p.hour_start.seconds * 1000: p.price_eur_mwh for p in response.prices}

    async def predict_batch(
        self, request: prediction_service_pb2.PredictBatchRequest
    ) -> prediction_service_pb2.PredictBatchResponse:
        assert self._predict is not None
        stub = self._predict
        response = await self._authed(
            lambda md: stub.PredictBatch(request, timeout=self._timeout, metadata=md)
        )
        assert isinstance(response, prediction_service_pb2.PredictBatchResponse)
        return response

    async def send_item(self, item: OutboxItem) -> None:
        if item.kind != LEDGER_APPEND:
            raise ValueError(f"unknown outbox kind {item.kind!r}")
        assert self._ledger is not None
        stub = self._ledger
        request = ledger_service_pb2.AppendRecordsRequest.FromString(item.payload)
        await self._authed(lambda md: stub.AppendRecords(request, timeout=self._timeout, metadata=md))

    # --- loops ------------------------------------------------------------------------------
    async def run(self) -> None:
        """Run every loop until cancelled."""
        self._connect()
        pricer = Pricer(self.engine, self.tariff, self.fetch_prices, clock=self._clock)
        forecaster = Forecaster(self.engine, self.predict_batch, self.config.predict_batch, clock=self._clock)
        sender = OutboxSender(
            self.outbox, self.send_item, self.stats, self.config.outbox_page, self.config.outbox_concurrency
        )
        log.info("bridge_started", predict=self.config.predict_target, ledger=self.config.ledger_target)
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self._loop("settle", self._settle_pass))
                group.create_task(self._loop("price", lambda: self._drain(pricer.run_once, "priced")))
                group.create_task(
                    self._loop("predict", lambda: self._drain(forecaster.run_once, "predicted", -1))
                )
                group.create_task(self._loop("send", lambda: self._send_pass(sender)))
                group.create_task(self._loop("prune", self._prune_pass, interval=600.0))
        finally:
            for channel in self._channels:
                await channel.close(None)

    async def _settle_pass(self) -> None:
        await asyncio.to_thread(self.settler.start_new_households)
        while True:
            closed = await asyncio.to_thread(self.settler.close_due)
            self.stats.closed += len(closed)
            if not closed:
                return

    async def _drain(self, step: Callable[[], Awaitable[int]], counter: str, floor: int = 0) -> None:
        """Run ``step`` until it returns ``floor`` or less (nothing left), bounded per pass."""
        for _ in range(1000):
            done = await step()
            setattr(self.stats, counter, getattr(self.stats, counter) + max(done, 0))
            if done <= floor:
                return

    async def _send_pass(self, sender: OutboxSender) -> None:
        for _ in range(1000):
            sent, retried = await sender.run_once()
            if sent == 0:
                if retried:
                    raise ConnectionError(f"{retried} ledger appends failed")  # loop backs off
                return

    async def _prune_pass(self) -> None:
        await asyncio.to_thread(self.outbox.prune_sent, int(self.config.outbox_retention_s * 1000))

    async def _loop(
        self, name: str, step: Callable[[], Awaitable[None]], interval: float | None = None
    ) -> None:
        pause = interval if interval is not None else self.config.bridge_interval_s
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
                delay = min(self.config.outbox_backoff_max_ms / 1000, pause * 2 ** min(failures, 10))
                log.warning(
                    "bridge_step_failed", step=name, error=repr(exc)[:300], retry_in_s=round(delay, 2)
                )
                await asyncio.sleep(delay)
