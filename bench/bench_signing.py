"""Ingest CPU per stored reading with signed-boundary verification on and off (a figure, not a test).

    .venv/bin/python -m bench.bench_signing [meters] [hours]
    .venv/bin/python -m bench.bench_signing --instructions [meters] [hours]

In process, on SQLite: the real pipeline (parse, validate, verify, store in one transaction per
batch) over a meter_sim fleet's own readings (10 s interval; Ed25519-signed registers on the first
reading of each quarter-hour), each meter's key registered. The same messages go through a fresh
database twice, verification on and then off (EP_INGEST_VERIFY_SIGNATURES), and the CPU time of
``process()`` per stored reading is compared: signatures are per period boundary (1 reading in 90),
not per sample, which is why the difference is small. Not part of ``bench.run`` (seconds, not
minutes); quoted in BENCHMARKS.md.

``--instructions`` counts instructions instead of seconds (valgrind's callgrind; ``perf stat -e
instructions`` is not supported on the shared machine), which does not depend on the machine's load.
Instructions are not CPU time (instructions per cycle differ between Ed25519's field arithmetic
and the interpreter): the count is the repeatable measure, seconds are what the bar names. Each arm runs twice in a child process under callgrind,
over the first half and over all of the same messages; the difference of the two totals is the
cost of the second half's readings alone (start-up, imports, migrations, key registration and
message loading cancel out), divided by the readings stored in it. Three arms: "on" (signed fleet,
every boundary verified), "off, same messages" (verification off: parse and boundary rows still
happen, so this isolates Ed25519 and the key lookup) and "off, unsigned fleet" (the same readings
without a ``boundary`` object, verification off: the whole feature's cost, what the
``python -m ingest_svc`` pairs in bench_ingest compare). ``--profile`` keeps the callgrind files
for ``callgrind_annotate``.
"""

from __future__ import annotations

import json
import os
import pickle
import re
import subprocess
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

__all__ = ["instruction_cost", "register_signed", "signature_cost", "signed_fleet"]

BATCH = 2000  # EP_INGEST_BATCH_MAX's default


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


def _run(
    messages: list[Incoming],
    keys: dict[str, bytes],
    households: list[tuple[str, str]],
    verify: bool,
    now_s: float,
    count: int | None = None,
) -> tuple[float, int]:
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
        todo = messages if count is None else messages[:count]
        for i in range(0, len(todo), BATCH):
            outcome = pipeline.process(todo[i : i + BATCH])
            stored += outcome.stored
            assert not outcome.dead, outcome.dead[:3]
        spent = time.process_time() - cpu
        engine.dispose()
        return spent / max(stored, 1) * 1e6, stored


def signed_fleet(
    meters: int, hours: float, tag: str, signed: bool = True
) -> tuple[list[Incoming], FleetSigner, list[tuple[str, str]]]:
    """A meter_sim fleet's readings of the last ``hours`` (10 s interval; signed quarter-hour
    registers unless ``signed`` is false), its signer and the (household, meter) pairs."""
    households = draw_households(meters, ProfileMix(), 7, tag)
    signer = FleetSigner.load_or_create([h.meter_id for h in households], None)
    # Whole quarter-hours, so that each half of the messages holds the same share of boundaries.
    start = (time.time() - hours * 3600 - 3600) // 900 * 900
    fleet = MeterFleet(
        households,
        FleetModel(households, ZoneWeather(7), 7),
        10.0,
        start,
        7,
        signer=signer if signed else None,
    )
    messages = [
        Incoming(topic, payload, 1, 1, False, 0, 0)
        for _i, topic, payload in fleet.produce(start + hours * 3600, max_rounds=10**6)
    ]
    return messages, signer, [(h.household_id, h.meter_id) for h in households]


def signature_cost(meters: int = 300, hours: float = 2.0) -> dict[str, float]:
    messages, signer, pairs = signed_fleet(meters, hours, "bs")
    signed = sum(1 for m in messages if b'"boundary"' in m.payload)
    now = time.time()
    on = [_run(messages, signer.public_keys(), pairs, True, now)[0] for _ in range(3)]
    off = [_run(messages, signer.public_keys(), pairs, False, now)[0] for _ in range(3)]
    on_us, off_us = sorted(on)[1], sorted(off)[1]
    return {
        "readings": float(len(messages)),
        "signed_readings": float(signed),
        "cpu_us_per_reading_verify_on": round(on_us, 2),
        "cpu_us_per_reading_verify_off": round(off_us, 2),
        "overhead_pct": round((on_us / off_us - 1) * 100, 1),
    }


def _child(spec: Path) -> None:
    """Under callgrind: one arm over the first ``count`` messages of ``spec``; prints stored."""
    job = pickle.loads(spec.read_bytes())
    messages = [Incoming(*m) for m in job["messages"]]
    _spent, stored = _run(messages, job["keys"], job["pairs"], job["verify"], job["now"], job["count"])
    print(json.dumps({"stored": stored}))


def _callgrind(spec: Path, out: Path) -> tuple[int, int]:
    """(instructions executed by the whole child process, readings it stored)."""
    # Fixed hash seed; no OpenBLAS worker threads (numpy, imported by meter_sim), whose spinning
    # otherwise adds a load-dependent count.
    env = dict(os.environ, PYTHONHASHSEED="0", OPENBLAS_NUM_THREADS="1")
    proc = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={out}",
            sys.executable,
            "-m",
            "bench.bench_signing",
            "--child",
            str(spec),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    stored = int(json.loads(proc.stdout.strip().splitlines()[-1])["stored"])
    found = re.search(r"^(?:summary|totals): (\d+)", out.read_text(errors="replace"), re.M)
    assert found is not None, f"no totals in {out}"
    return int(found.group(1)), stored


def instruction_cost(meters: int = 20, hours: float = 1.0, keep: Path | None = None) -> dict[str, float]:
    signed, signer, pairs = signed_fleet(meters, hours, "bs")
    unsigned, _signer, _pairs = signed_fleet(meters, hours, "bs", signed=False)
    assert len(signed) == len(unsigned)
    half = len(signed) // 2 // BATCH * BATCH or len(signed) // 2
    now = time.time()
    out: dict[str, float] = {
        "readings_measured": float(len(signed) - half),
        "signed_readings_measured": float(sum(1 for m in signed[half:] if b'"boundary"' in m.payload)),
    }
    with tempfile.TemporaryDirectory() as tmp:
        where = keep or Path(tmp)
        where.mkdir(parents=True, exist_ok=True)
        arms = {"on": (signed, True), "off_same_messages": (signed, False), "off_unsigned": (unsigned, False)}
        for arm, (messages, verify) in arms.items():
            totals = []
            for count in (half, len(messages)):
                spec = Path(tmp) / f"{arm}-{count}.pickle"
                spec.write_bytes(
                    pickle.dumps(
                        {
                            "messages": [tuple(m) for m in messages],
                            "keys": signer.public_keys(),
                            "pairs": pairs,
                            "verify": verify,
                            "now": now,
                            "count": count,
                        }
                    )
                )
                totals.append(_callgrind(spec, where / f"callgrind.{arm}.{count}"))
            (i_half, s_half), (i_all, s_all) = totals
            out[f"{arm}_instructions_per_reading"] = round((i_all - i_half) / (s_all - s_half))
        on = out["on_instructions_per_reading"]
        for arm in ("off_same_messages", "off_unsigned"):
            out[f"on_vs_{arm}_pct"] = round((on / out[f"{arm}_instructions_per_reading"] - 1) * 100, 2)
    return out


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        _child(Path(sys.argv[2]))
        sys.exit(0)
    if sys.argv[1:2] in (["--instructions"], ["--profile"]):
        keep = Path("bench/callgrind") if sys.argv[1] == "--profile" else None
        rest = [float(a) for a in sys.argv[2:]]
        print(
            json.dumps(
                instruction_cost(int(rest[0]) if rest else 20, rest[1] if len(rest) > 1 else 1.0, keep),
                indent=2,
            )
        )
        sys.exit(0)
    args = [float(a) for a in sys.argv[1:]]
    print(
        json.dumps(signature_cost(int(args[0]) if args else 300, args[1] if len(args) > 1 else 2.0), indent=2)
    )
