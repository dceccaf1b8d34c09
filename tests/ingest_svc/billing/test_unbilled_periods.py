"""The settler tells the ledger why it closed periods unbilled (spec §17.7), on SQLite and PostgreSQL.

One signing meter, quarter-hours from B0: it signs boundaries 0..3, then goes silent (no reading at
all) until boundary 8, then reports every 5 minutes again but signs nothing until boundary 10, and
signs from then on. Closed as a back-log in one pass: periods 3..6 had no reading at all in
(start, end] -> NO_READINGS (one run: the meter's reading at period 3's start lies outside it);
7 (its end reported unsigned), 8 and 9 were reported but not signed -> NOT_SIGNED, one run.
"""

from __future__ import annotations

from sqlalchemy import select

from common import timestamps
from common.db import make_engine
from contracts.mqtt.boundary import KEY_ALGORITHM, SignedBoundary
from energypulse.ledger.v1 import ledger_service_pb2 as pb
from ingest_svc.app import migrate
from ingest_svc.billing.bridge_store import MissingPeriodRow
from ingest_svc.billing.outbox import LEDGER_APPEND, Outbox
from ingest_svc.billing.settlement import Settler
from ingest_svc.intake.store import READING_TABLES, ReadingStore, register_households
from ingest_svc.intake.validation import Reading
from meter_sim.signing import MeterSigner
from tests.conftest import sqlite_or_postgres
from tests.ingest_svc.billing.fakes import H0, household

Q = 900_000
B0 = H0
SILENT = range(4, 8)  # boundaries 4..7: no reading at all (so steps from 3*Q+5min to 8*Q-5min)
UNSIGNED = (8, 9)  # reported, not signed
LAST = 12

db_url = sqlite_or_postgres("ep_unbilled", migrate)


def test_unbilled_periods_are_queued_with_their_reason_in_runs(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        signer = MeterSigner.generate("m-1")
        row = household("hh-1", ["m-1"])
        row["meter_keys"] = [("m-1", signer.key_id, KEY_ALGORITHM, signer.public_key)]
        register_households(engine, [row], B0)
        readings: list[tuple[Reading, int]] = []
        boundaries: list[tuple[SignedBoundary, int]] = []
        for i in range(LAST + 1):
            for step in range(3 if i < LAST else 1):
                if i in SILENT or (i == 3 and step > 0):
                    continue
                ts, wh = B0 + i * Q + step * 300_000, 1_000 + 10 * (3 * i + step)
                readings.append(
                    (Reading("m-1", 3 * i + step, ts, 230.0, 1.0, 230.0, 1.0, wh / 1000, 0.0), ts)
                )
                if step == 0 and i not in UNSIGNED:
                    boundaries.append((SignedBoundary("m-1", ts, wh, 0, i, signer.key_id, b"s" * 64), ts))
        ReadingStore(engine).write_batch(readings, [], boundaries)
        settler = Settler(engine, READING_TABLES, grace_ms=0)
        settler.start_new_households()
        closed = settler.close_due()
        assert [((c.hour_start_ms - B0) // Q, c.missing) for c in closed] == [
            (0, ""),
            (1, ""),
            (2, ""),
            *((i, "NO_READINGS") for i in range(3, 7)),
            (7, "NOT_SIGNED"),
            (8, "NOT_SIGNED"),
            (9, "NOT_SIGNED"),
            (10, ""),
            (11, ""),
        ]
        with engine.connect() as conn:
            stored = conn.execute(
                select(MissingPeriodRow.period_start_ms, MissingPeriodRow.reason).order_by(
                    MissingPeriodRow.period_start_ms
                )
            ).all()
        assert [((int(p) - B0) // Q, r) for p, r in stored] == [
            (i, c.missing) for i, c in enumerate(closed) if c.missing
        ]
        items = [i for i in Outbox(engine).claim(100) if i.request_id.startswith("unbilled:")]
        assert {i.kind for i in items} == {LEDGER_APPEND}
        runs = sorted(
            (
                (timestamps.to_ms(u.period_start) - B0) // Q,
                u.period_count,
                u.period_seconds,
                u.household_id,
                u.meter_id,
                u.reason,
                u.detail,
            )
            for i in items
            for u in [pb.AppendRecordsRequest.FromString(i.payload).records[0].unbilled_period]
        )
        assert runs == [
            (3, 4, 900, "hh-1", "m-1", "NO_READINGS", "no reading of m-1 over the period"),
            (7, 3, 900, "hh-1", "m-1", "NOT_SIGNED", "no signed value of m-1 at the period start"),
        ]
        assert sorted(i.request_id for i in items) == sorted(f"unbilled:hh-1:{B0 + k * Q}" for k in (3, 7))
        # Closing again queues nothing twice (the progress guard; the request id besides).
        assert settler.close_due() == []
    finally:
        engine.dispose()
