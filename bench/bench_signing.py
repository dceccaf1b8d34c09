"""Ingest CPU per stored reading with signed-boundary verification on and off (a figure, not a test).

    .venv/bin/python -m bench.bench_signing [meters] [hours]
    .venv/bin/python -m bench.bench_signing --instructions [meters] [hours]
    .venv/bin/python -m bench.bench_signing --instruction-pairs [pairs] [meters] [hours]
    .venv/bin/python -m bench.bench_signing --cpu-pairs [pairs] [meters] [readings per meter]

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

The workload is meter_sim's own: its default cadence (``MeterSimConfig.interval_s``, 10 s) and
settlement period (``EP_SETTLEMENT_PERIOD_S``, 900 s), so 1 reading in 90 carries a signed
boundary and the telemetry samples between carry none. The measured second half starts at a
period boundary and spans whole periods, so it holds exactly that share (asserted).

``--instruction-pairs`` (the bar's figure, load-free): >= 9 interleaved pairs, "on" vs "off,
unsigned fleet", each pair its own fleet (seed, ids, keys), alternating which arm runs first; the
median ratio and its spread. ``--cpu-pairs``: the same pairs in seconds, with the whole
``python -m ingest_svc`` (MQTT receive, authenticated broker) draining a queued backlog
(``bench_ingest._signing_pair``), and the 1-minute load average at each pair's start and end.
"""

from __future__ import annotations

import json
import os
import pickle
import re
import statistics
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
from meter_sim.config import MeterSimConfig
from meter_sim.consumption import FleetModel
from meter_sim.fleet import MeterFleet
from meter_sim.profiles import ProfileMix, draw_households
from meter_sim.signing import FleetSigner
from meter_sim.weather import ZoneWeather

__all__ = [
    "cpu_pairs",
    "instruction_cost",
    "instruction_pairs",
    "register_signed",
    "signature_cost",
    "signed_fleet",
]

BATCH = 2000  # EP_INGEST_BATCH_MAX's default
# The simulator's own defaults (not a copy of them): its reading cadence and the settlement period
# at whose boundaries its meters sign.
INTERVAL_S = float(MeterSimConfig.interval_s)
PERIOD_S = float(MeterSimConfig.settlement_period_s)
READINGS_PER_PERIOD = round(PERIOD_S / INTERVAL_S)


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
    split: int = 0,
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
        # Batches over [0, split) and then over [split, end): a run over the first ``split``
        # messages does exactly what a longer run does first, so their difference is the rest.
        for part in (todo[:split], todo[split:]):
            for i in range(0, len(part), BATCH):
                outcome = pipeline.process(part[i : i + BATCH])
                stored += outcome.stored
                assert not outcome.dead, outcome.dead[:3]
        spent = time.process_time() - cpu
        engine.dispose()
        return spent / max(stored, 1) * 1e6, stored


def signed_fleet(
    meters: int, hours: float, tag: str, signed: bool = True, seed: int = 7
) -> tuple[list[Incoming], FleetSigner, list[tuple[str, str]]]:
    """A meter_sim fleet's readings of the last ``hours`` (the simulator's default cadence; signed
    registers at each settlement-period boundary unless ``signed`` is false), its signer and the
    (household, meter) pairs. The messages come round by round (one reading per meter each), the
    first round at a period boundary, and end just before one: ``hours`` whole periods, exactly
    one signed boundary per meter and period."""
    households = draw_households(meters, ProfileMix(), seed, tag)
    signer = FleetSigner.load_or_create([h.meter_id for h in households], None)
    start = (time.time() - hours * 3600 - 3600) // PERIOD_S * PERIOD_S
    fleet = MeterFleet(
        households,
        FleetModel(households, ZoneWeather(seed), seed),
        INTERVAL_S,
        start,
        seed,
        signer=signer if signed else None,
        period_s=PERIOD_S,
    )
    end = start + round(hours * 3600 / PERIOD_S) * PERIOD_S - 1e-3
    messages = [
        Incoming(topic, payload, 1, 1, False, 0, 0)
        for _i, topic, payload in fleet.produce(end, max_rounds=10**6)
    ]
    return messages, signer, [(h.household_id, h.meter_id) for h in households]


def _signed(messages: list[Incoming]) -> int:
    return sum(1 for m in messages if b'"boundary"' in m.payload)


def signature_cost(meters: int = 300, hours: float = 2.0) -> dict[str, float]:
    messages, signer, pairs = signed_fleet(meters, hours, "bs")
    signed = _signed(messages)
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
    _spent, stored = _run(
        messages, job["keys"], job["pairs"], job["verify"], job["now"], job["count"], job["split"]
    )
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


def _halves(messages: list[Incoming], meters: int) -> int:
    """Where the measured second half starts: a period boundary, whole periods on either side."""
    rounds = len(messages) // meters
    periods = rounds // READINGS_PER_PERIOD
    assert periods >= 2 and rounds == periods * READINGS_PER_PERIOD, (rounds, periods)
    half = periods // 2 * READINGS_PER_PERIOD * meters
    want = meters * (periods - periods // 2)
    got = _signed(messages[half:])
    assert got in (0, want), f"{got} signed readings in the measured half, {want} expected"
    return half


def _arm_instructions(
    tmp: Path,
    name: str,
    messages: list[Incoming],
    keys: dict[str, bytes],
    pairs: list[tuple[str, str]],
    verify: bool,
    now: float,
    half: int,
    keep: Path | None = None,
) -> int:
    """Instructions per stored reading of the messages after ``half`` (two callgrind children)."""
    totals = []
    for count in (half, len(messages)):
        spec = tmp / f"{name}-{count}.pickle"
        spec.write_bytes(
            pickle.dumps(
                {
                    "messages": [tuple(m) for m in messages],
                    "keys": keys,
                    "pairs": pairs,
                    "verify": verify,
                    "now": now,
                    "count": count,
                    "split": half,
                }
            )
        )
        totals.append(_callgrind(spec, (keep or tmp) / f"callgrind.{name}.{count}"))
    (i_half, s_half), (i_all, s_all) = totals
    return round((i_all - i_half) / (s_all - s_half))


def instruction_cost(meters: int = 20, hours: float = 1.0, keep: Path | None = None) -> dict[str, float]:
    signed, signer, pairs = signed_fleet(meters, hours, "bs")
    unsigned, _signer, _pairs = signed_fleet(meters, hours, "bs", signed=False)
    assert len(signed) == len(unsigned)
    half = _halves(signed, meters)
    now = time.time()
    out: dict[str, float] = {
        "readings_measured": float(len(signed) - half),
        "signed_readings_measured": float(_signed(signed[half:])),
    }
    with tempfile.TemporaryDirectory() as tmp:
        if keep is not None:
            keep.mkdir(parents=True, exist_ok=True)
        arms = {"on": (signed, True), "off_same_messages": (signed, False), "off_unsigned": (unsigned, False)}
        for arm, (messages, verify) in arms.items():
            out[f"{arm}_instructions_per_reading"] = _arm_instructions(
                Path(tmp), arm, messages, signer.public_keys(), pairs, verify, now, half, keep
            )
        on = out["on_instructions_per_reading"]
        for arm in ("off_same_messages", "off_unsigned"):
            out[f"on_vs_{arm}_pct"] = round((on / out[f"{arm}_instructions_per_reading"] - 1) * 100, 2)
    return out


def _spread(ratios: list[float]) -> dict[str, float]:
    """Median, min, max and quartiles of per-pair ratios, as % over "off"."""
    q = statistics.quantiles(ratios, n=4, method="inclusive")
    return {
        "median_pct": round((statistics.median(ratios) - 1) * 100, 2),
        "min_pct": round((min(ratios) - 1) * 100, 2),
        "max_pct": round((max(ratios) - 1) * 100, 2),
        "q1_pct": round((q[0] - 1) * 100, 2),
        "q3_pct": round((q[2] - 1) * 100, 2),
    }


def instruction_pairs(pairs: int = 9, meters: int = 20, hours: float = 1.0) -> dict[str, object]:
    """Interleaved on/off pairs by instruction count: "on" (signed fleet, every boundary verified)
    vs "off" (the same fleet unsigned, verification off), each pair its own fleet."""
    rows: list[dict[str, float]] = []
    loads: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(pairs):
            signed, signer, hh = signed_fleet(meters, hours, f"bp{i}", seed=7 + i)
            unsigned, _signer, _hh = signed_fleet(meters, hours, f"bp{i}", signed=False, seed=7 + i)
            assert len(signed) == len(unsigned)
            half = _halves(signed, meters)
            now = time.time()
            loads.append(os.getloadavg()[0])
            row: dict[str, float] = {"signed_measured": float(_signed(signed[half:]))}
            row["readings_measured"] = float(len(signed) - half)
            for arm in ("on", "off") if i % 2 == 0 else ("off", "on"):
                messages, verify = (signed, True) if arm == "on" else (unsigned, False)
                row[arm] = float(
                    _arm_instructions(
                        Path(tmp), f"{arm}{i}", messages, signer.public_keys(), hh, verify, now, half
                    )
                )
            row["ratio"] = row["on"] / row["off"]
            rows.append(row)
            print(json.dumps({"pair": i, **row}), file=sys.stderr, flush=True)
        loads.append(os.getloadavg()[0])
    return {
        "pairs": rows,
        "on_median": statistics.median(r["on"] for r in rows),
        "off_median": statistics.median(r["off"] for r in rows),
        **_spread([r["ratio"] for r in rows]),
        "load_1min_min": min(loads),
        "load_1min_max": max(loads),
    }


def cpu_pairs(pairs: int = 9, meters: int = 500, per_meter: int = 90) -> dict[str, object]:
    """Interleaved on/off pairs in CPU seconds of the real ``python -m ingest_svc`` process."""
    from bench.bench_ingest import _signing_pair

    rows: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(pairs):
            before = os.getloadavg()[0]
            row = _signing_pair(Path(tmp), i, meters, per_meter)
            row.update(
                load_start=before, load_end=os.getloadavg()[0], ratio=row["on_cpu_us"] / row["off_cpu_us"]
            )
            rows.append(row)
            print(json.dumps({"pair": i, **row}), file=sys.stderr, flush=True)
    assert all(r["on_dead"] == r["off_dead"] == 0 and r["on_boundaries"] > 0 for r in rows), rows
    return {
        "pairs": rows,
        "on_cpu_us_median": statistics.median(r["on_cpu_us"] for r in rows),
        "off_cpu_us_median": statistics.median(r["off_cpu_us"] for r in rows),
        **_spread([r["ratio"] for r in rows]),
        "load_1min_min": min(min(r["load_start"], r["load_end"]) for r in rows),
        "load_1min_max": max(max(r["load_start"], r["load_end"]) for r in rows),
    }


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        _child(Path(sys.argv[2]))
        sys.exit(0)
    if sys.argv[1:2] in (["--instruction-pairs"], ["--cpu-pairs"]):
        rest = [float(a) for a in sys.argv[2:]]
        n = int(rest[0]) if rest else 9
        if sys.argv[1] == "--cpu-pairs":
            result = cpu_pairs(
                n, int(rest[1]) if len(rest) > 1 else 500, int(rest[2]) if len(rest) > 2 else 90
            )
        else:
            result = instruction_pairs(
                n, int(rest[1]) if len(rest) > 1 else 20, rest[2] if len(rest) > 2 else 1.0
            )
        print(json.dumps(result, indent=2))
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
