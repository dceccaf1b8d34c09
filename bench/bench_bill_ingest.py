"""Ingest CPU per stored reading with billing on: intake, then settling and pricing the NOK bill.

    .venv/bin/python -m bench.bench_bill_ingest [meters] [hours] [runs]

In process, on SQLite, the real code: a meter_sim fleet's own readings (10 s interval, Ed25519-signed
registers on the first reading of each quarter-hour, each meter's key registered) go through the
intake pipeline (parse, validate, verify, store); then billing's passes run as in the service:
meter-key records, closing every quarter-hour from the signed boundary values (Settler) and pricing
each closed period with the household's NOK bill (Pricer -> energy.bill.period, batched per clock
hour) and queueing its version-2 ledger record. The price source is an in-process quarter-hour
price table (no gRPC), so the figure is billing's own CPU. Reported: CPU time per stored reading of
intake, of settling (closing periods, meter-key records) and of pricing the NOK bill, as shares of
intake, and ingest with billing over ingest without it (the reference arm: the intake alone, same
readings, same runs). Two modes: ``live`` runs billing's passes after every quarter-hour of
readings (as the service keeps up: one period per household and pass), ``backlog`` once after all
of them. Median of ``runs`` (3) fresh databases per mode. Not part of ``bench.run``; quoted in
BENCHMARKS.md.
"""

from __future__ import annotations

import asyncio
import json
import os
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
    messages: list[Incoming],
    keys: dict[str, bytes],
    households: list[tuple[str, str]],
    now_s: float,
    live: bool,
) -> tuple[float, float, float, int, int]:
    """One fresh database: (intake, settling, pricing) CPU µs per stored reading, stored, priced.

    ``live``: billing's passes run after every quarter-hour of readings, as the service does when
    it keeps up (each pass closes one period per household); otherwise once, after all of them
    (a back-log: each household closes several periods per batch)."""
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
        rules = default_bill_rules()
        settler = Settler(engine, READING_TABLES, grace_ms=0, clock=lambda: now_s)
        pricer = Pricer(engine, _Prices(), clock=lambda: now_s, rules=rules, tables=READING_TABLES)
        keys_rec = KeyRecorder(engine, READING_TABLES, clock=lambda: now_s)
        stored = priced = 0
        intake = settling = pricing = 0.0
        # A quarter-hour of the fleet's readings (one per meter every 10 s), or all of them.
        chunk = len(households) * 90 if live else len(messages)
        for first in range(0, len(messages), chunk):
            cpu = time.process_time()
            for i in range(first, min(first + chunk, len(messages)), 2000):
                stored += pipeline.process(messages[i : min(i + 2000, first + chunk)]).stored
            intake += time.process_time() - cpu
            cpu = time.process_time()
            while keys_rec.run_once():
                pass
            settler.start_new_households()
            while settler.close_due():
                pass
            settling += time.process_time() - cpu
            cpu = time.process_time()
            while n := asyncio.run(pricer.run_once()):
                priced += n
            pricing += time.process_time() - cpu
        engine.dispose()
        return intake / stored * 1e6, settling / stored * 1e6, pricing / stored * 1e6, stored, priced


def _median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


def billing_cost(meters: int = 200, hours: float = 2.0, runs: int = 3) -> dict[str, dict[str, object]]:
    """Per mode (live, backlog): medians over ``runs`` fresh databases. The reference arm is
    ingest without billing, measured in the same runs: the intake figure (the same pipeline, the
    same readings; billing's passes are separate calls, timed apart)."""
    messages, signer, pairs = signed_fleet(meters, hours, "bb")
    now = time.time()
    out: dict[str, dict[str, object]] = {}
    for mode in ("live", "backlog"):
        results = [_run(messages, signer.public_keys(), pairs, now, mode == "live") for _ in range(runs)]
        intake = _median([r[0] for r in results])
        settling = _median([r[1] for r in results])
        pricing = _median([r[2] for r in results])
        billing = _median([r[1] + r[2] for r in results])
        out[mode] = {
            "readings": float(results[0][3]),
            "priced_periods": float(results[0][4]),
            "cpu_us_per_reading_intake": round(intake, 2),
            "cpu_us_per_reading_settling": round(settling, 2),
            "cpu_us_per_reading_pricing_nok": round(pricing, 2),
            "cpu_us_per_reading_billing": round(billing, 2),
            "billing_runs_us": [round(r[1] + r[2], 2) for r in results],
            "intake_runs_us": [round(r[0], 2) for r in results],
            "pricing_pct_of_intake": round(pricing / intake * 100, 1),
            "billing_pct_of_intake": round(billing / intake * 100, 1),
            # ingest with billing / ingest without billing (the reference arm), same runs
            "with_over_without_billing": round((intake + billing) / intake, 3),
        }
    return out


if __name__ == "__main__":
    args = [float(a) for a in sys.argv[1:]]
    result = billing_cost(
        int(args[0]) if args else 200, args[1] if len(args) > 1 else 2.0, int(args[2]) if len(args) > 2 else 3
    )
    print(json.dumps({"load_average": list(os.getloadavg()), **result}, indent=2))
