"""The writer classifies the next batch while the store thread commits the last (real SQLite store).

A reading redelivered without the DUP flag while its first copy is still being written is a
duplicate (not a replay), each batch is acknowledged only after its own commit, in order.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

from prometheus_client import CollectorRegistry
from sqlalchemy import func, select

from contracts.mqtt.boundary import SignedBoundary
from contracts.mqtt.reading import encode_reading
from contracts.mqtt.topics import reading_topic
from ingest_svc.intake.keys import MeterKeys
from ingest_svc.intake.metrics import IngestMetrics
from ingest_svc.intake.pipeline import IngestPipeline, PipelineLimits
from ingest_svc.intake.store import DeadLetter, DeadLetterRow, ReadingRow, ReadingStore
from ingest_svc.intake.subscriber import Incoming
from ingest_svc.intake.validation import Reading
from tests.ingest_svc.billing.fakes import household, register, store
from tests.ingest_svc.helpers import wait_for

B0 = 1_767_225_600_000
STEP = 60_000  # a reading a minute, none on a quarter-hour boundary below


class GatedStore(ReadingStore):
    """The real store, holding its first write until the test lets it go."""

    def __init__(self, engine: object) -> None:
        super().__init__(engine)  # type: ignore[arg-type]
        self.entered = threading.Event()
        self.release = threading.Event()
        self.committed: list[int] = []  # readings per committed batch, in commit order

    def write_batch(
        self,
        readings: Sequence[tuple[Reading, int]],
        dead: Sequence[DeadLetter],
        boundaries: Sequence[tuple[SignedBoundary, int]] = (),
    ) -> int:
        self.entered.set()
        assert self.release.wait(30)
        n = super().write_batch(readings, dead, boundaries)
        self.committed.append(len(readings))
        return n


def _message(k: int, dup: bool = False) -> Incoming:
    payload = encode_reading("m-1", k, B0 + k * STEP, 230.0, 5.0, 1150.0, 1.0, 1.0 + k / 100, 0.0, None)
    return Incoming(reading_topic("m-1"), payload, k, 1, dup, 0, B0)


def test_next_batch_is_classified_during_the_commit_and_a_redelivery_in_flight_is_a_duplicate(
    tmp_path: Path,
) -> None:
    engine = store(tmp_path)
    register(engine, household("hh-1", ["m-1"]))
    gated = GatedStore(engine)
    acked: list[list[int]] = []
    committed_when_acked: list[int] = []

    def ack(batch: Sequence[Incoming]) -> None:
        committed_when_acked.append(len(gated.committed))
        acked.append([m.mid for m in batch])

    registry = CollectorRegistry()
    metrics = IngestMetrics(registry)
    pipeline = IngestPipeline(
        gated,
        metrics,
        ack=ack,
        limits=PipelineLimits(batch_wait_ms=0, max_age_s=10 * 86400.0),
        clock=lambda: (B0 + 10 * STEP) / 1000,
        keys=MeterKeys(engine, refresh_s=0.0),
    )
    pipeline.start()
    try:
        pipeline.submit_many([_message(1), _message(2), _message(4)])
        assert gated.entered.wait(30)  # the first batch is being written, not yet committed
        # Reading 2 again without the DUP flag (not stored yet), and a new one.
        pipeline.submit_many([_message(2), _message(5)])
        # The second batch is classified and waits for the store thread: the two overlap.
        assert wait_for(lambda: pipeline._handoff.full(), timeout=30)
        assert acked == []  # nothing acknowledged before its commit
        gated.release.set()
        assert wait_for(lambda: len(acked) == 2, timeout=30)
    finally:
        gated.release.set()
        pipeline.stop()
    assert acked == [[1, 2, 4], [2, 5]]
    assert committed_when_acked == [1, 2]  # each batch acknowledged after its own commit
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(ReadingRow)).scalar_one() == 4
        assert conn.execute(select(func.count()).select_from(DeadLetterRow)).scalar_one() == 0
    assert registry.get_sample_value("ingest_readings_duplicate_total") == 1
