"""Meter and gateway statuses from the retained ``.../status`` topics (last wills included).

Each replica subscribes to both filters *without* a share group (every replica needs every
status; retained messages are only delivered to non-shared subscriptions). Statuses are written
to ``device_status`` so whichever replica answers GetGridStats sees them. The last message
received wins: a gateway's will carries ``ts_ms = 0`` (it is composed at connect time), so
timestamps cannot order a will against the status it replaces; MQTT's per-topic ordering can.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import orjson
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.sql import Insert

from common.log import get_logger
from contracts.mqtt.topics import parse_status_topic
from ingest_svc.db import dialect_insert
from ingest_svc.intake.store import DeviceStatusRow
from ingest_svc.intake.subscriber import Incoming

__all__ = ["StatusTracker", "parse_status"]

log = get_logger(__name__)


@dataclass(frozen=True)
class Status:
    kind: str  # "meter" | "gateway"
    device_id: str
    status: str
    gateway_id: str
    ts_ms: int


def parse_status(topic: str, payload: bytes) -> Status | None:
    """A status message, or None for anything malformed (logged, never raised)."""
    where = parse_status_topic(topic)
    if where is None:
        return None
    try:
        doc = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(doc, dict) or doc.get("status") not in ("online", "offline"):
        return None
    gateway = doc.get("gateway", "")
    ts = doc.get("ts_ms", 0)
    if not isinstance(gateway, str) or not isinstance(ts, int):
        return None
    return Status(where.kind, where.device_id, doc["status"], gateway[:64], ts)


class StatusTracker:
    """Queues status messages from the MQTT thread; a worker stores them in batches, then acks."""

    def __init__(
        self, engine: Engine, ack: Callable[[Incoming], None], clock: Callable[[], float] = time.time
    ) -> None:
        self.engine = engine
        self._ack = ack
        self._clock = clock
        self._queue: list[Incoming] = []
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @staticmethod
    def is_status(topic: str) -> bool:
        return topic.endswith("/status")

    def submit(self, message: Incoming) -> None:
        with self._cond:
            self._queue.append(message)
            self._cond.notify()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="ingest-status", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not (self._stop.is_set() and not self._queue):
            with self._cond:
                if not self._queue and not self._stop.is_set():
                    self._cond.wait(0.5)
                batch, self._queue = self._queue, []
            if batch:
                self.store(batch)

    def store(self, batch: list[Incoming]) -> None:
        latest: dict[tuple[str, str], Status] = {}
        for message in batch:  # in arrival order: the last one per device wins
            status = parse_status(message.topic, message.payload)
            if status is None:
                log.warning("status_ignored", topic=message.topic[:200])
                continue
            latest[(status.kind, status.device_id)] = status
        now_ms = int(self._clock() * 1000)
        delay = 0.1
        while True:
            try:
                with self.engine.begin() as conn:
                    if latest:
                        # One executemany upsert per batch (performance: a simulator connecting
                        # announces every meter at once, and an UPDATE-then-INSERT statement
                        # per device cost more than storing the readings themselves).
                        conn.execute(
                            _upsert(conn),
                            [
                                {
                                    "kind": s.kind,
                                    "device_id": s.device_id,
                                    "status": s.status,
                                    "gateway_id": s.gateway_id,
                                    "ts_ms": s.ts_ms,
                                    "updated_ms": now_ms,
                                }
                                for s in latest.values()
                            ],
                        )
                break
            except SQLAlchemyError as exc:
                if self._stop.is_set():
                    return  # not acked: the broker redelivers after restart
                log.error("status_store_failed", error=str(exc)[:300])
                time.sleep(delay)
                delay = min(delay * 2, 5.0)
        for message in batch:
            self._ack(message)


def _upsert(conn: Connection) -> Insert:
    """INSERT ... ON CONFLICT (kind, device_id) DO UPDATE: the latest status wins."""
    stmt = dialect_insert(conn, DeviceStatusRow)
    return stmt.on_conflict_do_update(
        index_elements=["kind", "device_id"],
        set_={c: stmt.excluded[c] for c in ("status", "gateway_id", "ts_ms", "updated_ms")},
    )
