"""Batching core of ingest: classify each message, store a batch in one transaction, then ack.

Two threads share the work: the writer classifies a batch (parse, validate, sequence checks) and
hands it to the store thread, which writes it in one transaction and only then acknowledges it;
meanwhile the writer classifies the next batch. A database on another process (PostgreSQL)
works while ingest parses instead of after it. Batches are written and acknowledged in the order
they were read; at most one waits while one is written.

Every message ends in exactly one of: stored (new), duplicate (already stored: a redelivery),
dead-lettered (with a reason). Only then is it acknowledged to the broker. Nothing a message
contains can raise out of here: a poison row that the database itself refuses is isolated and
dead-lettered, and a database that is down is retried (the broker keeps the unacked messages).
"""

from __future__ import annotations

import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy.exc import DataError, IntegrityError, SQLAlchemyError

from common.log import get_logger
from contracts.mqtt.boundary import SignedBoundary
from contracts.mqtt.topics import reading_topic
from ingest_svc.intake.keys import MeterKeys
from ingest_svc.intake.metrics import IngestMetrics
from ingest_svc.intake.store import DeadLetter, ReadingStore
from ingest_svc.intake.subscriber import Incoming
from ingest_svc.intake.validation import Reading, Rejection, SchemaChecker, SequenceTracker, parse_message

__all__ = ["BatchOutcome", "IngestPipeline", "PipelineLimits"]

log = get_logger(__name__)

Acker = Callable[[Sequence[Incoming]], None]  # acknowledges a whole batch at once
StoredListener = Callable[[Sequence[Reading]], None]
UnknownMeters = Callable[[Sequence[str]], set[str]]  # the ids of the given ones not registered


@dataclass(frozen=True)
class PipelineLimits:
    batch_max: int = 2000
    batch_wait_ms: int = 50
    max_future_skew_s: float = 300.0
    max_age_s: float = 30 * 86400.0
    # Settlement period (its boundaries carry the signed register values) and the plausibility
    # cap: at most this much power between two readings of one meter (0: no cap).
    period_s: float = 900.0
    max_power_w: float = 43_470.0
    verify_signatures: bool = True  # off only to measure its cost (bench/)


@dataclass
class BatchOutcome:
    stored: int = 0
    duplicates: int = 0
    dead: list[DeadLetter] = field(default_factory=list)


@dataclass
class _Classified:
    batch: Sequence[Incoming]
    started: float
    good: list[tuple[Reading, int]]
    dead: list[DeadLetter]
    duplicates: int
    boundaries: list[tuple[SignedBoundary, int]]


class IngestPipeline:
    def __init__(
        self,
        store: ReadingStore,
        metrics: IngestMetrics,
        ack: Acker,
        limits: PipelineLimits = PipelineLimits(),
        checker: SchemaChecker | None = None,
        clock: Callable[[], float] = time.time,
        on_stored: StoredListener | None = None,
        unknown_meters: UnknownMeters | None = None,
        keys: MeterKeys | None = None,
    ) -> None:
        self.store = store
        self.metrics = metrics
        self._ack = ack
        self.limits = limits
        self.checker = checker or SchemaChecker()
        self.tracker = SequenceTracker(limits.max_power_w)
        self.keys = keys if keys is not None else MeterKeys(store.engine)
        self._clock = clock
        self._on_stored = on_stored
        # Given: readings from meters it names are dead-lettered UNKNOWN_METER (known_meters.py).
        self._unknown_meters = unknown_meters
        self._queue: deque[Incoming] = deque()
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # Classified batches on their way to the store thread (None: the writer has stopped).
        self._handoff: queue.Queue[_Classified | None] = queue.Queue(maxsize=1)
        # Good readings of batches classified but not yet committed, oldest first: a redelivery
        # of one of them (no DUP flag) is a duplicate, not a replay, though it is not stored yet.
        self._uncommitted: deque[list[tuple[Reading, int]]] = deque()
        self._uncommitted_lock = threading.Lock()
        self.last_batch_ms = 0

    # --- intake (MQTT network thread) ---------------------------------------------------
    def submit(self, message: Incoming) -> None:
        self.submit_many((message,))

    def submit_many(self, messages: Sequence[Incoming]) -> None:
        """Queue what one socket read brought (one lock round trip, not one per message)."""
        with self._cond:
            was_empty = not self._queue
            self._queue.extend(messages)
            if was_empty or len(self._queue) >= self.limits.batch_max:
                self._cond.notify()
        self.metrics.received.inc(len(messages))

    @property
    def backlog(self) -> int:
        return len(self._queue)

    # --- worker thread ------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="ingest-writer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _take_batch(self) -> list[Incoming]:
        wait_s = self.limits.batch_wait_ms / 1000.0
        with self._cond:
            while not self._queue and not self._stop.is_set():
                self._cond.wait(0.5)
            # The wait counts from when the oldest queued message was read, not from now: when
            # the writer is behind, what queued up during the last batch has waited long enough.
            # (Capped at wait_s per round, so a wall-clock step cannot stall the writer.)
            while len(self._queue) < self.limits.batch_max and not self._stop.is_set():
                left = min(wait_s, self._queue[0].received_ms / 1000.0 + wait_s - time.time())
                if left <= 0:
                    break
                self._cond.wait(left)
            n = min(len(self._queue), self.limits.batch_max)
            return [self._queue.popleft() for _ in range(n)]

    def _run(self) -> None:
        store = threading.Thread(target=self._run_store, name="ingest-store", daemon=True)
        store.start()
        try:
            while not (self._stop.is_set() and not self._queue):
                batch = self._take_batch()
                if batch:
                    classified = self._prepare(batch)
                    with self._uncommitted_lock:
                        self._uncommitted.append(classified.good)
                    self._handoff.put(classified)  # waits while the store thread is behind
                self.metrics.backlog.set(len(self._queue))
        finally:
            self._handoff.put(None)
            store.join()

    def _run_store(self) -> None:
        while (classified := self._handoff.get()) is not None:
            self._commit(classified)
            with self._uncommitted_lock:
                self._uncommitted.popleft()

    # --- the work -----------------------------------------------------------------------
    def process(self, batch: Sequence[Incoming]) -> BatchOutcome:
        """Classify, store and acknowledge one batch on the calling thread."""
        return self._commit(self._prepare(batch))

    def _prepare(self, batch: Sequence[Incoming]) -> _Classified:
        started = time.monotonic()
        good, dead, duplicates, boundaries = self._classify(batch)
        return _Classified(batch, started, good, dead, duplicates, boundaries)

    def _commit(self, classified: _Classified) -> BatchOutcome:
        batch, started, good = classified.batch, classified.started, classified.good
        outcome = self._write(good, classified.dead, classified.boundaries)
        outcome.duplicates += classified.duplicates
        self._ack(batch)
        self.metrics.stored.inc(outcome.stored)
        self.metrics.duplicates.inc(outcome.duplicates)
        for d in outcome.dead:
            self.metrics.dead_letters.labels(d.reason).inc()
        self.metrics.batch_size.observe(len(batch))
        self.metrics.batch_seconds.observe(time.monotonic() - started)
        self.last_batch_ms = int(self._clock() * 1000)
        if self._on_stored is not None and good:
            self._on_stored([r for r, _ in good])
        return outcome

    def _classify(
        self, batch: Sequence[Incoming]
    ) -> tuple[list[tuple[Reading, int]], list[DeadLetter], int, list[tuple[SignedBoundary, int]]]:
        now_ms = int(self._clock() * 1000)
        future_ms = int(self.limits.max_future_skew_s * 1000)
        age_ms = int(self.limits.max_age_s * 1000)
        period_ms = int(self.limits.period_s * 1000)
        good: list[tuple[Reading, int]] = []
        dead: list[DeadLetter] = []
        boundaries: list[tuple[SignedBoundary, int]] = []
        suspects: list[tuple[Reading, Incoming, Rejection]] = []
        duplicates = 0
        parsed = [
            (message, parse_message(self.checker, message.topic, message.payload, now_ms, future_ms, age_ms))
            for message in batch
        ]
        if self.limits.verify_signatures:  # one query for the batch's keys not cached yet
            self.keys.preload(
                (p[1].meter_id, p[1].key_id)
                for _, p in parsed
                if not isinstance(p, Rejection) and p[1] is not None
            )
        # A meter this process has not accepted a reading of yet (ingest just started): its
        # tracker state is empty, so a replayed old reading would pass the sequence check and
        # become the meter's last state, and its next genuine reading would look implausible.
        # Such readings are first looked up in the store, one query per batch (only after start).
        fresh = self.store.existing(
            {
                (p[0].meter_id, p[0].seq)
                for _, p in parsed
                if not isinstance(p, Rejection) and not self.tracker.knows(p[0].meter_id)
            }
        )
        unknown: set[str] = set()
        if self._unknown_meters is not None:
            unknown = self._unknown_meters([p[0].meter_id for _, p in parsed if not isinstance(p, Rejection)])
        for message, outcome in parsed:
            if isinstance(outcome, Rejection):
                dead.append(_dead(message, outcome))
                continue
            result, boundary = outcome
            if result.meter_id in unknown:
                rejection = Rejection("UNKNOWN_METER", "meter is not registered", result.meter_id)
                dead.append(_dead(message, rejection))
                continue
            if boundary is not None and self.limits.verify_signatures:
                # Once per period boundary and meter, not per sample. A message whose signed
                # values fail is dead-lettered whole: its sample must not be trusted either.
                bad = self.keys.check(boundary, period_ms)
                if bad is not None:
                    dead.append(_dead(message, bad))
                    continue
            stored_before = fresh.get((result.meter_id, result.seq))
            if stored_before is not None and not self.tracker.knows(result.meter_id):
                if stored_before.same_measurement(result):
                    duplicates += 1  # a redelivery of what the previous process stored
                else:
                    detail = f"seq {result.seq} is already stored: a different reading"
                    dead.append(_dead(message, Rejection("SEQ_REPLAYED", detail, result.meter_id)))
                continue
            problem = self.tracker.check(result, boundary)
            if problem is None:
                self.tracker.accept(result, boundary)
                good.append((result, message.received_ms))
                if boundary is not None:
                    boundaries.append((boundary, message.received_ms))
            elif problem.reason == "SEQ_NOT_INCREASING" and message.dup:
                # A redelivery the broker flagged as such: ON CONFLICT makes it a no-op if stored.
                good.append((result, message.received_ms))
                if boundary is not None:
                    boundaries.append((boundary, message.received_ms))
            elif problem.reason == "SEQ_NOT_INCREASING":
                suspects.append((result, message, problem))
            else:
                dead.append(_dead(message, problem))
        if suspects:
            # The batches not yet committed first, then the database: one committed (and let
            # go) in between is found in the database.
            with self._uncommitted_lock:
                pending = list(self._uncommitted)
            in_batch = {(r.meter_id, r.seq): r for rows in (*pending, good) for r, _ in rows}
            stored = self.store.existing((r.meter_id, r.seq) for r, _, _ in suspects)
            for reading, message, problem in suspects:
                key = (reading.meter_id, reading.seq)
                original = stored.get(key) or in_batch.get(key)
                if original is not None and original.same_measurement(reading):
                    duplicates += 1  # redelivered without the DUP flag: harmless
                else:
                    what = "a different reading" if original is not None else "an out-of-order reading"
                    dead.append(
                        _dead(
                            message, Rejection("SEQ_REPLAYED", f"{problem.detail}: {what}", reading.meter_id)
                        )
                    )
        return good, dead, duplicates, boundaries

    def _write(
        self,
        good: list[tuple[Reading, int]],
        dead: list[DeadLetter],
        boundaries: Sequence[tuple[SignedBoundary, int]] = (),
    ) -> BatchOutcome:
        delay = 0.1
        while True:
            try:
                inserted = self.store.write_batch(good, dead, boundaries)
                return BatchOutcome(stored=inserted, duplicates=len(good) - inserted, dead=dead)
            except (IntegrityError, DataError) as exc:
                log.warning("batch_rejected_isolating", error=str(exc)[:300], size=len(good))
                return self._write_one_by_one(good, dead, boundaries)
            except SQLAlchemyError as exc:
                # Database unavailable or locked: keep the batch (nothing is acked) and retry.
                self.metrics.store_errors.inc()
                log.error("store_failed_retrying", error=str(exc)[:300], retry_in_s=delay)
                time.sleep(delay)
                delay = min(delay * 2, 5.0)

    def _write_one_by_one(
        self,
        good: list[tuple[Reading, int]],
        dead: list[DeadLetter],
        boundaries: Sequence[tuple[SignedBoundary, int]] = (),
    ) -> BatchOutcome:
        outcome = BatchOutcome(dead=list(dead))
        self.store.write_batch([], dead, boundaries)
        for reading, received in good:
            try:
                n = self.store.write_batch([(reading, received)], [])
                outcome.stored += n
                outcome.duplicates += 1 - n
            except (IntegrityError, DataError) as exc:
                letter = DeadLetter(
                    received,
                    reading_topic(reading.meter_id),
                    reading.meter_id,
                    "STORE_REJECTED",
                    str(exc)[:500],
                    repr(reading).encode(),
                )
                self.store.write_batch([], [letter])
                outcome.dead.append(letter)
        return outcome


def _dead(message: Incoming, rejection: Rejection) -> DeadLetter:
    return DeadLetter(
        received_ms=message.received_ms,
        topic=message.topic,
        meter_id=rejection.meter_id,
        reason=rejection.reason,
        detail=rejection.detail,
        payload=message.payload,
    )
