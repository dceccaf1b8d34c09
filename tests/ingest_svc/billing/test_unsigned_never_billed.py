"""A settlement period whose boundaries carry no signed register values is never billed (issue #18).

One signing meter reads every 5 minutes through ingest's real pipeline; from 00:30 to 01:10 its
readings carry no signed boundary values (the meter kept measuring, three times as fast, but
signed nothing), so periods 00:30-00:45 and 00:45-01:00 have no signed value at either end, and
the two periods next to them none at one end. Billing settles, prices and queues the
month for the real ledger_svc (over gRPC), which takes what the queue holds; the invoice the
household then gets from the ledger has a line for each signed period only, lists every other
period as missing with its reason, taken from the unbilled-period record billing queued when it
closed them (spec §17.7), and its total is the signed periods' energy: none of the unsigned
stretch's. On SQLite and PostgreSQL (ingest's database and the ledger's alike).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import select

from common import timestamps
from common.db import make_engine, upgrade
from contracts.mqtt.boundary import KEY_ALGORITHM
from contracts.mqtt.reading import encode_reading
from contracts.mqtt.topics import reading_topic
from energypulse.ledger.v1 import ledger_service_pb2 as pb
from ingest_svc.app import migrate
from ingest_svc.billing.bridge_store import MissingPeriodRow, SettlementRow
from ingest_svc.billing.keys import KeyRecorder
from ingest_svc.billing.outbox import Outbox
from ingest_svc.billing.pricing import Pricer
from ingest_svc.billing.settlement import Settler
from ingest_svc.intake.keys import MeterKeys
from ingest_svc.intake.metrics import IngestMetrics
from ingest_svc.intake.pipeline import IngestPipeline, PipelineLimits
from ingest_svc.intake.store import READING_TABLES, ReadingStore, register_households
from ingest_svc.intake.subscriber import Incoming
from ledger_svc.invoices import NOT_SETTLED
from ledger_svc.server import MIGRATIONS, VERSION_TABLE
from ledger_svc.signing import Signer
from meter_sim.signing import MeterSigner
from tests.conftest import private_database
from tests.ingest_svc.billing.fakes import FakePrices, household
from tests.ledger_svc.ledger_server import running_ledger

Q = 900_000
STEP = 300_000  # a reading every 5 minutes; boundaries at k = 0, 3, 6, ...
B0 = 1_768_003_200_000  # 2026-01-10T00:00Z
STEPS = 25  # to 02:00Z
UNSIGNED = range(6, 15)  # 00:30 to 01:10: readings without signed values (boundaries 6, 9, 12)
MONTH = "2026-01"


def wh(k: int) -> int:
    """The import register at step ``k``: ~1.1 kW, ~3.4 kW while the meter signs nothing."""
    extra = 200 * (min(k, UNSIGNED.stop) - UNSIGNED.start) if k > UNSIGNED.start else 0
    return 1_000_000 + 95 * k + extra


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def urls(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """(ingest database, ledger database), both migrated, on the parameter's engine."""
    if request.param == "sqlite":
        ingest, ledger = f"sqlite:///{tmp_path / 'ingest.db'}", f"sqlite:///{tmp_path / 'ledger.db'}"
        migrate(ingest)
        upgrade(ledger, MIGRATIONS, version_table=VERSION_TABLE)
        yield ingest, ledger
        return
    server = request.getfixturevalue("postgres_url")
    with private_database(server, "ep_unsigned") as ingest, private_database(server, "ep_uledger") as ledger:
        migrate(ingest)
        upgrade(ledger, MIGRATIONS, version_table=VERSION_TABLE)
        yield ingest, ledger


def _through_ingest(url: str, signer: MeterSigner) -> None:
    """Register the household and its meter key, and feed the readings through the pipeline."""
    engine = make_engine(url)
    try:
        hh = household("hh-1", ["m-1"])
        hh["meter_keys"] = [("m-1", signer.key_id, KEY_ALGORITHM, signer.public_key)]
        register_households(engine, [hh], B0)
        pipeline = IngestPipeline(
            ReadingStore(engine),
            IngestMetrics(CollectorRegistry()),
            ack=lambda _batch: None,
            limits=PipelineLimits(max_age_s=10 * 86400.0),
            clock=lambda: (B0 + STEPS * STEP) / 1000,
            keys=MeterKeys(engine, refresh_s=0.0),
        )
        messages = []
        for k in range(STEPS):
            ts = B0 + k * STEP
            signs = ts % Q == 0 and k not in UNSIGNED
            boundary = signer.boundary(ts, wh(k), 0, k) if signs else None
            payload = encode_reading("m-1", k, ts, 230.0, 5.0, 1150.0, 1.0, wh(k) / 1000, 0.0, boundary)
            messages.append(Incoming(reading_topic("m-1"), payload, k + 1, 1, False, 0, ts))
        outcome = pipeline.process(messages)
        assert outcome.stored == STEPS and outcome.dead == []  # unsigned readings are plain samples
    finally:
        engine.dispose()


async def test_an_all_unsigned_period_is_listed_missing_never_billed(
    urls: tuple[str, str], tmp_path: Path
) -> None:
    ingest_url, ledger_url = urls
    signer = MeterSigner.generate("m-1")
    _through_ingest(ingest_url, signer)
    engine = make_engine(ingest_url)
    try:
        settler = Settler(engine, READING_TABLES, grace_ms=0)
        settler.start_new_households()
        closed = []
        while batch := settler.close_due():
            closed += batch
        signed = [0, 5, 6, 7]  # periods with signed values at both ends (00:00, 01:15 .. 02:00)
        assert [(c.hour_start_ms - B0) // Q for c in closed] == list(range(8))
        assert [(c.hour_start_ms - B0) // Q for c in closed if not c.missing] == signed
        for c in closed:
            i = (c.hour_start_ms - B0) // Q
            assert (c.metered_wh, c.missing) == (
                (wh(3 * i + 3) - wh(3 * i), "") if i in signed else (0, "NOT_SIGNED")
            )
        with engine.connect() as conn:
            missing = conn.execute(
                select(
                    MissingPeriodRow.period_start_ms, MissingPeriodRow.reason, MissingPeriodRow.detail
                ).order_by(MissingPeriodRow.period_start_ms)
            ).all()
            settled = conn.execute(select(SettlementRow.hour_start_ms)).scalars().all()
        assert [((int(p) - B0) // Q, r) for p, r, _ in missing] == [(i, "NOT_SIGNED") for i in range(1, 5)]
        assert all("no signed value of m-1" in d for _, _, d in missing)
        assert sorted((int(p) - B0) // Q for p in settled) == signed

        # The month's records go to the ledger exactly as the bridge sends them.
        assert KeyRecorder(engine, READING_TABLES).run_once() == 1
        assert await Pricer(engine, FakePrices(), tables=READING_TABLES).run_once() == len(signed)
        outbox = Outbox(engine)
        items = outbox.claim(100)
        requests = [pb.AppendRecordsRequest.FromString(i.payload) for i in items]
        kinds = [r.records[0].WhichOneof("content") for r in requests]
        # The four unsigned periods: one record for the first (its end is unsigned), one run of three
        # (their starts are), queued when they closed.
        assert sorted(kinds) == sorted(["meter_key"] + ["unbilled_period"] * 2 + ["settlement"] * len(signed))
        runs = [r.records[0].unbilled_period for r in requests if r.records[0].HasField("unbilled_period")]
        assert sorted(
            (
                timestamps.to_ms(u.period_start),
                u.period_seconds,
                u.period_count,
                u.meter_id,
                u.reason,
                u.detail,
            )
            for u in runs
        ) == [
            (B0 + Q, 900, 1, "m-1", "NOT_SIGNED", "no signed value of m-1 at the period end"),
            (B0 + 2 * Q, 900, 3, "m-1", "NOT_SIGNED", "no signed value of m-1 at the period start"),
        ]
    finally:
        engine.dispose()

    async with running_ledger(ledger_url, Signer.from_seed(uuid.uuid4().bytes * 2)) as ledger:
        # The generated stubs are typed for the sync channel; these calls are on an aio one.
        stub: Any = ledger.stub
        service = tuple(ledger.auth("service", ()))
        for request in requests:
            await stub.AppendRecords(request, metadata=service, timeout=10)
        owner = tuple(ledger.auth("user", ("hh-1",)))
        get = pb.GetInvoiceRequest(household_id="hh-1", month=MONTH)
        invoice: pb.Invoice = (await stub.GetInvoice(get, metadata=owner, timeout=10)).invoice
        verdict: pb.VerifyInvoiceResponse = await stub.VerifyInvoice(
            pb.VerifyInvoiceRequest(household_id="hh-1", month=MONTH), metadata=owner, timeout=10
        )

    starts = [
        (timestamps.to_ms(line.transaction.record.settlement.period_start) - B0) // Q
        for line in invoice.lines
    ]
    assert starts == signed and not invoice.legacy
    assert invoice.total_wh == sum(wh(3 * i + 3) - wh(3 * i) for i in signed)
    assert invoice.total_wh < wh(STEPS - 1) - wh(0)  # the unsigned stretch's energy is on no line
    missing_at = {timestamps.to_ms(m.period_start): m for m in invoice.missing_periods}
    first, rest = sorted(invoice.unbilled, key=lambda t: t.record.unbilled_period.period_count)
    for i in range(1, 5):  # the unsigned periods (2 and 3 at both ends): listed, with why, from the log
        m = missing_at[B0 + i * Q]
        assert (m.reason, m.tx_hash) == ("NOT_SIGNED", (first if i == 1 else rest).tx_hash)
        assert m.detail == f"no signed value of m-1 at the period {'end' if i == 1 else 'start'}"
    # The rest of the month closed no period yet: the log says nothing of it.
    assert {m.reason for m in invoice.missing_periods if timestamps.to_ms(m.period_start) >= B0 + 8 * Q} <= {
        NOT_SETTLED
    }
    assert not set(missing_at) & {B0 + i * Q for i in signed}
    # Lines and missing periods account for every period of the month.
    assert invoice.settlement_period_seconds == Q // 1000
    assert invoice.covered_periods == len(signed)
    assert invoice.covered_periods + len(invoice.missing_periods) + invoice.open_periods == (
        invoice.expected_periods
    )
    assert len(verdict.lines) == len(signed) + 2 and all(
        v.hash_valid and v.inclusion_valid for v in verdict.lines
    )
