"""Ingest CPU per stored reading with billing on: intake, then settling and pricing the NOK bill.

    .venv/bin/python -m bench.bench_bill_ingest [meters] [hours]

In process, on SQLite, the real code: a meter_sim fleet's own readings (10 s interval, Ed25519-signed
registers on the first reading of each quarter-hour, each meter's key registered) go through the
intake pipeline (parse, validate, verify, store); then billing's passes run as in the service:
meter-key records, closing every quarter-hour from the signed boundary values (Settler) and pricing
each closed period with the household's NOK bill (Pricer -> energy.bill.period, batched per clock
hour) and queueing its version-2 ledger record. The price source is an in-process quarter-hour
price table (no gRPC), so the figure is billing's own CPU. Reported: CPU time per stored reading of
intake, of settling (closing periods, meter-key records) and of pricing the NOK bill, as shares of
intake (the issue's bar: billing adds at most
10 % to ingest's CPU per reading). Median of 3 fresh databases. Not part of ``bench.run``; quoted in
BENCHMARKS.md.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

from prometheus_client import CollectorRegistry

from bench.bench_signing import register_signed, signed_fleet
from common.db import make_engine
from ingest_svc.app import migrate
from ingest_svc.billing.keys import KeyRecorder
from ingest_svc.billing.pricing import Pricer
from ingest_svc.billing.rules import default_bill_rules
from ingest_svc.billing.settlement import Settler
from ingest_svc.intake.keys import MeterKeys
from ingest_svc.intake.metrics import IngestMetrics
from ingest_svc.intake.pipeline import IngestPipeline, PipelineLimits
from ingest_svc.intake.store import READING_TABLES, ReadingStore
from ingest_svc.intake.subscriber import Incoming

__all__ = ["billing_cost"]

QUARTER_MS = 900_000


class _Prices:
    """Quarter-hour prices that vary (so support and Norgespris both have work to do)."""

    async def market_prices(self, zone: str, start_ms: int, end_ms: int) -> dict[int, float]:
        first = start_ms - start_ms % QUARTER_MS
        return {t: 40.0 + (t // QUARTER_MS) % 96 * 2.5 for t in range(first, end_ms, QUARTER_MS)}


def _run(
    messages: list[Incoming], keys: dict[str, bytes], households: list[tuple[str, str]], now_s: float
) -> tuple[float, float, float, int, int]:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'ingest.db'}"
        migrate(url)
        engine = make_engine(url)
        # half the fleet on Norgespris
        register_signed(
            engine, keys, households, now_s, price_scheme=lambda i: "norgespris" if i % 2 else "spot"
        )
        pipeline = IngestPipeline(
            ReadingStore(engine),
            IngestMetrics(CollectorRegistry()),
            ack=lambda _b: None,
            limits=PipelineLimits(max_age_s=30 * 86400.0),
            clock=lambda: now_s,
            keys=MeterKeys(engine),
        )
        stored = 0
        cpu = time.process_time()
        for i in range(0, len(messages), 2000):
            stored += pipeline.process(messages[i : i + 2000]).stored
        intake = time.process_time() - cpu
        rules = default_bill_rules()
        settler = Settler(engine, READING_TABLES, grace_ms=0, clock=lambda: now_s)
        pricer = Pricer(engine, _Prices(), clock=lambda: now_s, rules=rules, tables=READING_TABLES)
        keys_rec = KeyRecorder(engine, READING_TABLES, clock=lambda: now_s)
        cpu = time.process_time()
        while keys_rec.run_once():
            pass
        settler.start_new_households()
        while settler.close_due():
            pass
        settling = time.process_time() - cpu
        priced = 0
        while n := asyncio.run(pricer.run_once()):
            priced += n
        pricing = time.process_time() - cpu - settling
        engine.dispose()
        return intake / stored * 1e6, settling / stored * 1e6, pricing / stored * 1e6, stored, priced


def billing_cost(meters: int = 200, hours: float = 2.0) -> dict[str, float]:
    messages, signer, pairs = signed_fleet(meters, hours, "bb")
    now = time.time()
    runs = [_run(messages, signer.public_keys(), pairs, now) for _ in range(3)]
    intake = sorted(r[0] for r in runs)[1]
    settling = sorted(r[1] for r in runs)[1]
    pricing = sorted(r[2] for r in runs)[1]
    return {
        "readings": float(runs[0][3]),
        "priced_periods": float(runs[0][4]),
        "cpu_us_per_reading_intake": round(intake, 2),
        "cpu_us_per_reading_settling": round(settling, 2),
        "cpu_us_per_reading_pricing_nok": round(pricing, 2),
        "pricing_pct_of_intake": round(pricing / intake * 100, 1),
        "billing_pct_of_intake": round((settling + pricing) / intake * 100, 1),
    }


if __name__ == "__main__":
    args = [float(a) for a in sys.argv[1:]]
    print(
        json.dumps(billing_cost(int(args[0]) if args else 200, args[1] if len(args) > 1 else 2.0), indent=2)
    )
