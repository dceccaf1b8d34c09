"""Signed boundary values at intake, and billing from them only (SQLite, real pipeline and store).

A reading whose boundary signature is bad, or signed with a key not registered for the meter, is
dead-lettered and never billed (its period is listed missing); a counter jump past the
plausibility cap is dead-lettered; the signed periods settle as version-2 ledger records.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import orjson
from prometheus_client import CollectorRegistry
from sqlalchemy import select

from contracts.mqtt.boundary import SignedBoundary, verify_boundary
from contracts.mqtt.reading import encode_reading
from contracts.mqtt.topics import reading_topic
from energypulse.ledger.v1 import ledger_service_pb2
from ingest_svc.billing.bridge_store import MissingPeriodRow, SettlementRow
from ingest_svc.billing.keys import KeyRecorder
from ingest_svc.billing.outbox import Outbox
from ingest_svc.billing.pricing import Pricer
from ingest_svc.billing.settlement import Settler
from ingest_svc.intake.keys import MeterKeys
from ingest_svc.intake.metrics import IngestMetrics
from ingest_svc.intake.pipeline import IngestPipeline, PipelineLimits
from ingest_svc.intake.store import READING_TABLES, BoundaryRow, DeadLetterRow, ReadingStore
from ingest_svc.intake.subscriber import Incoming
from meter_sim.signing import MeterSigner
from tests.ingest_svc.billing.fakes import FakePrices, household, register, store

QUARTER = 900_000
B0 = 1_767_225_600_000  # 2026-01-01T00:00Z
STEP = 300_000  # a reading every 5 minutes


def _pipeline(engine: object, now_ms: int) -> IngestPipeline:
    return IngestPipeline(
        ReadingStore(engine),  # type: ignore[arg-type]
        IngestMetrics(CollectorRegistry()),
        ack=lambda _batch: None,
        limits=PipelineLimits(max_age_s=10 * 86400.0),
        clock=lambda: now_ms / 1000,
        keys=MeterKeys(engine, refresh_s=0.0),  # type: ignore[arg-type]
    )


def _message(payload: bytes, meter: str = "m-1") -> Incoming:
    return Incoming(reading_topic(meter), payload, 1, 1, False, 0, B0)


def _reading(
    signer: MeterSigner | None, k: int, import_wh: int, boundary: dict[str, object] | None = None
) -> bytes:
    ts = B0 + k * STEP
    if boundary is None and signer is not None and ts % QUARTER == 0:
        boundary = signer.boundary(ts, import_wh, 0, k)
    return encode_reading("m-1", k, ts, 230.0, 5.0, 1150.0, 1.0, import_wh / 1000, 0.0, boundary)


def test_only_verified_boundaries_are_stored_and_only_they_are_billed(tmp_path: Path) -> None:
    engine = store(tmp_path)
    signer = MeterSigner.generate("m-1")
    stranger = MeterSigner.generate("m-1")  # a key nobody registered
    hh = household("hh-1", ["m-1"])
    hh["meter_keys"] = [("m-1", signer.key_id, "ed25519", signer.public_key)]
    register(engine, hh)
    wh = [1_000_000 + 95 * k for k in range(16)]  # ~1.1 kW
    messages = [_reading(signer, k, wh[k]) for k in range(16)]
    # 00:30 (k=6): a forged register value under the real key id; 00:45 (k=9): an unregistered key.
    forged = signer.boundary(B0 + 6 * STEP, wh[6], 0, 6)
    messages[6] = _reading(signer, 6, wh[6], {**forged, "import_wh": wh[6] - 900})
    messages[9] = _reading(signer, 9, wh[9], stranger.boundary(B0 + 9 * STEP, wh[9], 0, 9))
    # k=14: a counter jump of 500 kWh in 5 minutes (a forged reading with a large jump).
    messages[14] = _reading(signer, 14, wh[14] + 500_000)
    pipeline = _pipeline(engine, B0 + 16 * STEP)
    outcome = pipeline.process([_message(p) for p in messages])

    reasons = sorted(d.reason for d in outcome.dead)
    assert reasons == ["BAD_SIGNATURE", "IMPLAUSIBLE_ENERGY", "UNKNOWN_METER_KEY"]
    assert outcome.stored == 13 and pipeline.keys.verified == 5  # per boundary, not per sample
    with engine.connect() as conn:
        boundaries = [
            int(t)
            for t in conn.execute(select(BoundaryRow.boundary_ms).order_by(BoundaryRow.boundary_ms)).scalars()
        ]
        stored_reasons = sorted(conn.execute(select(DeadLetterRow.reason)).scalars())
    assert boundaries == [B0, B0 + QUARTER, B0 + 4 * QUARTER, B0 + 5 * QUARTER]  # 00:00, 00:15, 01:00, 01:15
    assert stored_reasons == reasons

    settler = Settler(engine, READING_TABLES, grace_ms=0)
    settler.start_new_households()
    closed = []
    while batch := settler.close_due():
        closed += batch
    assert [(c.hour_start_ms - B0, c.metered_wh, c.missing) for c in closed] == [
        (0, wh[3] - wh[0], ""),  # 00:00-00:15: signed at both ends, 3 readings' worth
        (QUARTER, 0, "NOT_SIGNED"),  # 00:15-00:30: its end was forged: never billed
        (2 * QUARTER, 0, "NOT_SIGNED"),  # 00:30-00:45: both ends missing
        (3 * QUARTER, 0, "NOT_SIGNED"),  # 00:45-01:00: signed by an unknown key
        (4 * QUARTER, wh[15] - wh[12], ""),  # 01:00-01:15: the dead-lettered 500 kWh jump is not in it
    ]
    with engine.connect() as conn:
        missing = conn.execute(select(MissingPeriodRow.period_start_ms, MissingPeriodRow.reason)).all()
        settled = conn.execute(select(SettlementRow.hour_start_ms, SettlementRow.period_ms)).all()
    assert len(missing) == 3 and sorted(settled) == [(B0, QUARTER), (B0 + 4 * QUARTER, QUARTER)]

    # The meter key goes on the ledger, then the period as a version-2 record with its signed values.
    assert KeyRecorder(engine, READING_TABLES).run_once() == 1
    assert KeyRecorder(engine, READING_TABLES).run_once() == 0  # once per key
    priced = asyncio.run(Pricer(engine, FakePrices(), tables=READING_TABLES).run_once())
    assert priced == 2
    items = Outbox(engine).claim(10)
    requests = [ledger_service_pb2.AppendRecordsRequest.FromString(i.payload) for i in items]
    # Queued when the periods closed: why each of the three was not billed (spec §17.7).
    told = [r.records[0].unbilled_period for r in requests if r.records[0].HasField("unbilled_period")]
    assert sorted(
        (u.period_start.ToMilliseconds() + k * QUARTER - B0, u.reason, u.meter_id, u.detail)
        for u in told
        for k in range(u.period_count)
    ) == [
        (QUARTER, "NOT_SIGNED", "m-1", "no signed value of m-1 at the period end"),
        (2 * QUARTER, "NOT_SIGNED", "m-1", "no signed value of m-1 at the period start"),
        (3 * QUARTER, "NOT_SIGNED", "m-1", "no signed value of m-1 at the period start"),
    ]
    requests = [r for r in requests if not r.records[0].HasField("unbilled_period")]
    assert [r.records[0].WhichOneof("content") for r in requests] == ["meter_key", "settlement", "settlement"]
    record = requests[1].records[0].settlement
    assert record.format_version == 2 and record.period_seconds == 900 and record.metered_wh == wh[3] - wh[0]
    assert sum(c.amount_micro for c in record.components) == record.total_cost_micro_eur
    assert record.currency == "NOK" and {c.name for c in record.components} >= {
        "spot_energy",
        "grid_energy",
        "vat",
    }
    m = record.meter_periods[0]
    for value in (m.start, m.end):
        assert verify_boundary(
            _public(signer),
            SignedBoundary(
                "m-1",
                value.boundary_time.ToMilliseconds(),
                value.import_wh,
                value.export_wh,
                value.seq,
                m.key_id,
                value.signature,
            ),
        )


def test_a_reading_without_a_boundary_is_a_plain_sample(tmp_path: Path) -> None:
    engine = store(tmp_path)
    register(engine, household("hh-1", ["m-1"]))
    payload = _reading(None, 1, 1_000_000)
    assert "boundary" not in orjson.loads(payload)
    outcome = _pipeline(engine, B0 + 2 * STEP).process([_message(payload)])
    assert outcome.stored == 1 and outcome.dead == []


def test_a_boundary_for_a_meter_without_a_key_is_dead_lettered(tmp_path: Path) -> None:
    engine = store(tmp_path)
    register(engine, household("hh-1", ["m-1"]))
    signer = MeterSigner.generate("m-1")
    outcome = _pipeline(engine, B0 + STEP).process([_message(_reading(signer, 0, 1_000_000))])
    assert [d.reason for d in outcome.dead] == ["UNKNOWN_METER_KEY"]


def _public(signer: MeterSigner):  # type: ignore[no-untyped-def]
    from contracts.mqtt.boundary import load_public_key

    return load_public_key(signer.public_key)
