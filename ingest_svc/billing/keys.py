"""Meter-key records: each registered meter signing key goes on the ledger once, so the key a
settlement's signed values verify with is itself in the log (auditable registration).

Queued through the outbox in the same transaction that marks the key recorded; the request id
``meterkey:<meter>:<key id>`` makes the append idempotent end to end. Keys are queued before the
settlements that use them (the settle pass runs first), and the ledger refuses a settlement whose
key it has not seen yet with FAILED_PRECONDITION, which the outbox retries.
"""

from __future__ import annotations

import time

from sqlalchemy import select
from sqlalchemy.engine import Engine

from common import timestamps
from energypulse.ledger.v1 import ledger_service_pb2, record_pb2
from ingest_svc.billing.bridge_store import RecordedMeterKeyRow
from ingest_svc.billing.outbox import enqueue
from ingest_svc.billing.ports import Clock, ReadingTables
from ingest_svc.billing.pricing import LEDGER_APPEND
from ingest_svc.db import insert_ignore

__all__ = ["KeyRecorder"]


class KeyRecorder:
    def __init__(
        self, engine: Engine, tables: ReadingTables, page: int = 500, clock: Clock = time.time
    ) -> None:
        self.engine = engine
        self.tables = tables
        self.page = page
        self._clock = clock

    def run_once(self) -> int:
        """Queue up to ``page`` keys not yet recorded; returns how many."""
        k = self.tables.meter_keys.c
        m = self.tables.meters.c
        done = RecordedMeterKeyRow.__table__.c
        now = int(self._clock() * 1000)
        queued = 0
        with self.engine.begin() as conn:
            rows = conn.execute(
                select(k.meter_id, k.key_id, k.algorithm, k.public_key, k.registered_ms, m.household_id)
                .join(self.tables.meters, m.meter_id == k.meter_id)
                .outerjoin(RecordedMeterKeyRow, (done.meter_id == k.meter_id) & (done.key_id == k.key_id))
                .where(done.meter_id.is_(None))
                .order_by(k.registered_ms, k.meter_id)
                .limit(self.page)
            ).all()
            for row in rows:
                claimed = conn.execute(
                    insert_ignore(conn, RecordedMeterKeyRow).values(
                        meter_id=row.meter_id, key_id=row.key_id, recorded_ms=now
                    )
                ).rowcount
                if not claimed:
                    continue  # another replica queued it
                request = ledger_service_pb2.AppendRecordsRequest(
                    request_id=f"meterkey:{row.meter_id}:{row.key_id}",
                    records=[
                        record_pb2.Record(
                            meter_key=record_pb2.MeterKeyRecord(
                                household_id=row.household_id,
                                meter_id=row.meter_id,
                                key_id=row.key_id,
                                algorithm=row.algorithm,
                                public_key=bytes(row.public_key),
                                register_time=timestamps.from_ms(int(row.registered_ms)),
                            )
                        )
                    ],
                )
                enqueue(conn, LEDGER_APPEND, request.request_id, request.SerializeToString(), now)
                queued += 1
        return queued
