"""Ingest CPU per stored reading with signed-boundary verification on and off (a figure, not a test).

    .venv/bin/python -m bench.bench_signing [meters] [hours]
    .venv/bin/python -m bench.bench_signing --instructions [meters] [hours]
    .venv/bin/python -m bench.bench_signing --instruction-pairs [pairs] [meters] [hours]
    .venv/bin/python -m bench.bench_signing --cpu-pairs [pairs] [meters] [readings per meter]
    .venv/bin/python -m bench.bench_signing --process-instruction-pairs [pairs] [meters] \
        [readings per meter] [warm-up meters] [--profile] [--first=K]

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

``--process-instruction-pairs`` (what the bar names, counted load-free): the whole ``python -m
ingest_svc`` process (its own MQTT v5 client receiving from the shipped, authenticated Mosquitto,
parse, validate, verify, store, PUBACK) under callgrind, all threads, in interleaved on/off pairs
(arm order alternating, both arms of a pair the same fleets). One process per arm, counted in
three dumps (``callgrind_control -d``): start-up plus a first fleet's backlog queued while ingest
was offline (warm-up: imports, migrations, connecting, the first batches' code paths); an idle
window (``IDLE_S``: what waiting alone costs per second: timers, keep-alive, the gRPC server);
then a second fleet's readings (new meters, 1 signed boundary in 90 as live), published as fast
as meter_sim can while ingest, at callgrind's speed, drains them far slower: a backlog at the
broker too. The last dump over the readings it stored is the cost per reading; the figure takes
the idle rate times the phase's length off (``idle_included`` keeps it). Progress is read from the
SQLite file from outside, so the watching costs ingest nothing. ``--profile`` keeps the files;
``--first=K`` numbers the pairs from K (their fleets and arm order), so two runs can share the
pairs out.
"""

from __future__ import annotations

import json
import os
import pickle
import re
import sqlite3
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


PROCESS_TIMEOUT_S = 1800.0  # a drain under callgrind runs ~50x slower than natively
IDLE_S = 10.0  # the idle window after the first backlog, to measure what waiting alone costs


def _stored_so_far(db_path: Path) -> int:
    """Readings stored plus messages dead-lettered, read from the outside (WAL: never blocks
    ingest's writer), so the measured process does no work for the watching."""
    try:
        conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=5)
    except sqlite3.Error:
        return 0
    try:
        return sum(
            int(conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]) for t in ("readings", "dead_letters")
        )
    except sqlite3.Error:
        return 0
    finally:
        conn.close()


def _dump_totals(pid: int, out: Path, n: int) -> int:
    """Ask callgrind (``callgrind_control -d``) to dump the counts since the last dump, as file
    ``out.<n>``; its total instructions (all threads)."""
    subprocess.run(["callgrind_control", "-d", str(pid)], check=True, capture_output=True, timeout=300)
    dumped = Path(f"{out}.{n}")
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if dumped.exists():
            found = re.search(r"^(?:summary|totals): (\d+)", dumped.read_text(errors="replace"), re.M)
            if found is not None:
                return int(found.group(1))
        time.sleep(0.2)
    raise TimeoutError(f"callgrind wrote no {dumped}")


def _wait_stored(db_path: Path, total: int, proc: subprocess.Popen[bytes], log: Path) -> float:
    started = time.monotonic()
    while _stored_so_far(db_path) < total:
        if proc.poll() is not None:
            raise RuntimeError(f"ingest under callgrind exited:\n{log.read_text()[-2000:]}")
        if time.monotonic() - started > PROCESS_TIMEOUT_S:
            raise TimeoutError(f"{_stored_so_far(db_path)} of {total} stored after {PROCESS_TIMEOUT_S} s")
        time.sleep(0.25)
    return time.monotonic() - started


def _process_arm(
    tmp: Path, tag: str, arm: str, pair: int, warm: int, meters: int, per_meter: int, keep: Path
) -> dict[str, float]:
    """One ``python -m ingest_svc`` under callgrind (all threads) on its own shipped,
    authenticated Mosquitto. Phase 1: a first fleet's backlog (``warm`` meters), queued while
    ingest is offline, drained from start-up on; dump. Phase 2: ``IDLE_S`` of waiting; dump (the
    idle rate). Phase 3: a second fleet (``meters`` new meters x ``per_meter`` readings) published
    as fast as meter_sim can; at callgrind's speed ingest drains it far slower than it arrives, so
    it too is a backlog at the broker; dump. Phase 3's count over its readings is the cost per
    reading with start-up, imports, migrations and connecting left in phase 1; its idle share
    (the idle rate times its length) is reported and taken off."""
    from bench import children
    from bench import ingest_rig as rig
    from bench.bench_ingest import _register_keys

    work = tmp / tag
    work.mkdir(parents=True)
    db_path = work / "ingest.db"
    db = f"sqlite:///{db_path}"
    # As in _callgrind: a fixed hash seed, no OpenBLAS worker threads.
    env = {
        "EP_INGEST_VERIFY_SIGNATURES": "1" if arm == "on" else "0",
        "PYTHONHASHSEED": "0",
        "OPENBLAS_NUM_THREADS": "1",
    }
    # The same fleets (ids, keys, hence the same simulated readings) in both arms of a pair.
    fleets = ((f"pw{pair}", warm, per_meter), (f"pm{pair}", meters, per_meter))
    sim_envs: list[dict[str, str]] = []
    with rig.broker(work) as b:
        rig.stop_all(rig.start_replicas(b.url, db, 1, work, tag, env))  # session + schema, natively
        for prefix, count, _n in fleets:
            key_file = tmp / f"keys-{prefix}.json"
            sim_env = {"EP_METER_SIGN": "0"}
            if arm == "on":
                _register_keys(db, key_file, prefix, count)
                sim_env = {"EP_METER_SIGN_UNREGISTERED": "1", "EP_METER_KEY_FILE": str(key_file)}
            sim_envs.append(sim_env)
        with rig.simulator(b.url, warm, per_meter, fleets[0][0], extra_env=sim_envs[0]) as sim:
            sim.wait(300.0)  # queued for the offline persistent session
        out = keep / f"callgrind.{tag}"
        wrap = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"]
        replica = rig.start_replicas(b.url, db, 1, work, tag, env, wait=False, wrap=wrap)[0]
        pid = replica.proc.pid
        try:
            _wait_stored(db_path, warm * per_meter, replica.proc, replica.log_path)
            _dump_totals(pid, out, 1)  # start-up and the first backlog
            idle_started = time.monotonic()
            time.sleep(IDLE_S)
            idle = _dump_totals(pid, out, 2)
            idle_rate = idle / (time.monotonic() - idle_started)
            phase_started = time.monotonic()
            with rig.simulator(b.url, meters, per_meter, fleets[1][0], extra_env=sim_envs[1]) as sim:
                drained = _wait_stored(db_path, (warm + meters) * per_meter, replica.proc, replica.log_path)
                sim.wait(300.0)
            measured = _dump_totals(pid, out, 3)
            phase_s = time.monotonic() - phase_started
        finally:
            children.stop(replica.proc, timeout=600)  # SIGTERM: ingest drains and exits
    conn = sqlite3.connect(db_path)
    try:
        stored, dead, boundaries = (
            int(conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0])
            for t in ("readings", "dead_letters", "meter_boundaries")
        )
        warm_boundaries = int(
            conn.execute(
                "SELECT count(*) FROM meter_boundaries WHERE meter_id LIKE ?", (f"{fleets[0][0]}-%",)
            ).fetchone()[0]
        )
    finally:
        conn.close()
    readings = stored - warm * per_meter
    return {
        "per_reading": round((measured - idle_rate * phase_s) / readings),
        "per_reading_idle_included": round(measured / readings),
        "idle_share_pct": round(idle_rate * phase_s / measured * 100, 2),
        "readings": float(readings),
        "boundaries": float(boundaries - warm_boundaries),
        "dead": float(dead),
        "phase_s": round(phase_s, 1),
        "drained_s": round(drained, 1),
    }


def process_instruction_pairs(
    pairs: int = 5,
    meters: int = 50,
    per_meter: int = 90,
    warm: int = 10,
    keep: Path | None = None,
    first: int = 0,
) -> dict[str, object]:
    """Interleaved on/off pairs by instructions of the whole ``python -m ingest_svc`` process
    (``_process_arm``), arm order alternating, each pair its own fleets (pair numbers from
    ``first``: runs in parallel with distinct fleets)."""
    rows: list[dict[str, float]] = []
    loads: list[float] = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        files = keep or tmp
        files.mkdir(parents=True, exist_ok=True)
        for i in range(first, first + pairs):
            loads.append(os.getloadavg()[0])
            row: dict[str, float] = {}
            for arm in ("on", "off") if i % 2 == 0 else ("off", "on"):
                run = _process_arm(tmp, f"{arm}{i}", arm, i, warm, meters, per_meter, files)
                print(json.dumps({"pair": i, "arm": arm, **run}), file=sys.stderr, flush=True)
                assert run["dead"] == 0 and run["readings"] == meters * per_meter, run
                row[arm] = run.pop("per_reading")
                row.update({f"{arm}_{k}": v for k, v in run.items()})
            assert row["off_boundaries"] == 0 and row["on_boundaries"] > 0, row
            row["ratio"] = row["on"] / row["off"]
            row["ratio_idle_included"] = (
                row["on_per_reading_idle_included"] / row["off_per_reading_idle_included"]
            )
            rows.append(row)
            print(json.dumps({"pair": i, **row}), file=sys.stderr, flush=True)
        loads.append(os.getloadavg()[0])
    return {
        "pairs": rows,
        "on_median": statistics.median(r["on"] for r in rows),
        "off_median": statistics.median(r["off"] for r in rows),
        **_spread([r["ratio"] for r in rows]),
        "idle_included": _spread([r["ratio_idle_included"] for r in rows]),
        "load_1min_min": min(loads),
        "load_1min_max": max(loads),
    }


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        _child(Path(sys.argv[2]))
        sys.exit(0)
    if sys.argv[1:2] == ["--process-instruction-pairs"]:
        flags = [a for a in sys.argv[2:] if a.startswith("--")]
        given = [int(a) for a in sys.argv[2:] if not a.startswith("--")]
        first = next((int(f.removeprefix("--first=")) for f in flags if f.startswith("--first=")), 0)
        defaults = [5, 50, 90, 10]
        n, meters, per_meter, warm = given + defaults[len(given) :]
        keep = Path("bench/callgrind") if "--profile" in flags else None
        print(json.dumps(process_instruction_pairs(n, meters, per_meter, warm, keep, first), indent=2))
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
