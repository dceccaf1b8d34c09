"""Ingest CPU per stored reading with signed-boundary verification on and off (a figure, not a test).

    .venv/bin/python -m bench.bench_signing [meters] [hours]

In process, on SQLite: the real pipeline (parse, validate, verify, store in one transaction per
batch) over a meter_sim fleet's own readings (10 s interval; Ed25519-signed registers on the first
reading of each quarter-hour), each meter's key registered. The same messages go through a fresh
database twice, verification on and then off (EP_INGEST_VERIFY_SIGNATURES), and the CPU time of
``process()`` per stored reading is compared: signatures are per period boundary (1 reading in 90),
not per sample, which is why the difference is small. Not part of ``bench.run`` (seconds, not
minutes); quoted in BENCHMARKS.md.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

from prometheus_client import CollectorRegistry
from sqlalchemy.engine import Engine

from common.db import make_engine
from ingest_svc.app import migrate
from ingest_svc.intake.keys import MeterKeys
from ingest_svc.intake.metrics import IngestMetrics
from ingest_svc.intake.pipeline import IngestPipeline, PipelineLimits
from ingest_svc.intake.store import ReadingStore, register_households
from ingest_svc.intake.subscriber import Incoming
from meter_sim.consumption import FleetModel
from meter_sim.fleet import MeterFleet
from meter_sim.profiles import ProfileMix, draw_households
from meter_sim.signing import FleetSigner
from meter_sim.weather import ZoneWeather

__all__ = ["register_signed", "signature_cost", "signed_fleet"]


def register_signed(
    engine: Engine, keys: dict[str, bytes], households: list[tuple[str, str]], now_s: float, **extra: object
) -> None:
    """Register one household per (household, meter), the meter's key with it; ``extra`` columns
    (e.g. ``price_scheme``) are a function of the index when callable."""
    from contracts.mqtt.boundary import key_id

    register_households(
        engine,
        [
            {
                "household_id": h,
                "display_name": "",
                "zone": "NO1",
                "time_zone": "Europe/Oslo",
                "residents": 2,
                "heating": "heat_pump",
                "has_ev": False,
                "has_solar": False,
                "meter_ids": [m],
                "meter_keys": [(m, key_id(keys[m]), "ed25519", keys[m])],
                **{k: v(i) if callable(v) else v for k, v in extra.items()},
            }
            for i, (h, m) in enumerate(households)
        ],
        int(now_s * 1000),
    )


def signed_fleet(
    meters: int, hours: float, tag: str
) -> tuple[list[Incoming], FleetSigner, list[tuple[str, str]]]:
    """A meter_sim fleet's readings of the last ``hours`` (10 s interval, signed quarter-hour
    registers), its signer and the (household, meter) pairs."""
    households = draw_households(meters, ProfileMix(), 7, tag)
    signer = FleetSigner.load_or_create([h.meter_id for h in households], None)
    start = time.time() - hours * 3600 - 600
    fleet = MeterFleet(households, FleetModel(households, ZoneWeather(7), 7), 10.0, start, 7, signer=signer)
    messages = [
        Incoming(topic, payload, 1, 1, False, 0, 0)
        for _i, topic, payload in fleet.produce(start + hours * 3600, max_rounds=10**6)
    ]
    return messages, signer, [(h.household_id, h.meter_id) for h in households]


def _run(
    messages: list[Incoming],
    keys: dict[str, bytes],
    households: list[tuple[str, str]],
    verify: bool,
    now_s: float,
) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'ingest.db'}"
        migrate(url)
        engine = make_engine(url)

        register_signed(engine, keys, households, now_s)
        pipeline = IngestPipeline(
            ReadingStore(engine),
            IngestMetrics(CollectorRegistry()),
            ack=lambda _b: None,
            limits=PipelineLimits(max_age_s=30 * 86400.0, verify_signatures=verify),
            clock=lambda: now_s,
            keys=MeterKeys(engine),
        )
        stored = 0
        cpu = time.process_time()
        for i in range(0, len(messages), 2000):
            outcome = pipeline.process(messages[i : i + 2000])
            stored += outcome.stored
            assert not outcome.dead, outcome.dead[:3]
        spent = time.process_time() - cpu
        engine.dispose()
        return spent / stored * 1e6


def signature_cost(meters: int = 300, hours: float = 2.0) -> dict[str, float]:
    messages, signer, pairs = signed_fleet(meters, hours, "bs")
    signed = sum(1 for m in messages if b'"boundary"' in m.payload)
    now = time.time()
    on = [_run(messages, signer.public_keys(), pairs, True, now) for _ in range(3)]
    off = [_run(messages, signer.public_keys(), pairs, False, now) for _ in range(3)]
    on_us, off_us = sorted(on)[1], sorted(off)[1]
    return {
        "readings": float(len(messages)),
        "signed_readings": float(signed),
        "cpu_us_per_reading_verify_on": round(on_us, 2),
        "cpu_us_per_reading_verify_off": round(off_us, 2),
        "overhead_pct": round((on_us / off_us - 1) * 100, 1),
    }


if __name__ == "__main__":
    args = [float(a) for a in sys.argv[1:]]
    print(
        json.dumps(signature_cost(int(args[0]) if args else 300, args[1] if len(args) > 1 else 2.0), indent=2)
    )
