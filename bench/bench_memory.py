"""Resident memory of every service at steady state with 10,000 simulated meters.

The stack is started exactly as the local run starts it (devstack.stack.start_stack, the
Procfile's commands) with EP_METER_COUNT=10000 and a 10 s reading interval (1,000 readings/s);
after it settles, RSS is sampled with psutil every second for a while. Target: < 150 MB per service.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import psutil

from bench.children import start_stack
from bench.report import Figure

__all__ = ["run", "sample_rss"]

SERVICES = ("auth_svc", "predict_svc", "ledger_svc", "ingest_svc")
OTHERS = ("meter_sim", "broker")
TARGET_MB = 150.0
NOTES: list[str] = [
    "- Memory: a Python service with grpcio (~28 MB), SQLAlchemy (~22 MB), numpy (~16 MB) and "
    "cryptography imported is ~85 MB before it does anything (auth and ledger sit near there). "
    "predict_svc adds pandas (+pyarrow) and LightGBM plus the market frames. Alembic (+Mako, ~11 MB) "
    "is no longer loaded in any service: common.db.upgrade runs the migrations in a short-lived "
    "child process. ingest_svc imports at ~97 MB (no numpy at start-up; energy.bill loads it on the first bill) and grows "
    "~45 MB while serving 10,000 meters: Python objects ~37 MB in use (registering 10,000 households "
    "is a transient peak), SQLite page and statement caches of the pooled connections ~6-11 MB, the "
    "rest malloc. glibc gave its 19 threads 16 malloc arenas holding ~20 MB free between them; "
    "MALLOC_ARENA_MAX=2 (devstack/env.py, Dockerfile) keeps that to ~5 MB (-13 MB measured).",
]


def _rss_mb(pid: int) -> float:
    """RSS of the process and its children (the Procfile's `bash -c exec` leaves none, but be safe)."""
    try:
        proc = psutil.Process(pid)
        procs = [proc, *proc.children(recursive=True)]
        return sum(int(p.memory_info().rss) for p in procs) / 2**20
    except psutil.NoSuchProcess:
        return float("nan")


def sample_rss(
    meters: int = 10_000, settle_s: float = 60.0, sample_s: float = 20.0
) -> dict[str, list[float]]:
    with tempfile.TemporaryDirectory() as tmp:
        stack = start_stack(
            Path(tmp),
            ["broker", "auth_svc", "predict_svc", "ledger_svc", "ingest_svc", "meter_sim"],
            meters=meters,
            timeout=180,
            extra_env={"EP_METER_INTERVAL_S": "10", "EP_LOG_LEVEL": "WARNING"},
        )
        try:
            time.sleep(settle_s)
            samples: dict[str, list[float]] = {name: [] for name in (*SERVICES, *OTHERS)}
            deadline = time.monotonic() + sample_s
            while time.monotonic() < deadline:
                for name in samples:
                    proc = stack.processes.procs.get(name)
                    if proc is not None and proc.poll() is None:
                        samples[name].append(_rss_mb(proc.pid))
                time.sleep(1.0)
            dead = [n for n in (*SERVICES, "meter_sim") if stack.processes.procs[n].poll() is not None]
            if dead:
                logs = "\n".join(f"--- {n}\n{stack.processes.log_tail(n)}" for n in dead)
                raise RuntimeError(f"exited during the run: {dead}\n{logs}")
        finally:
            stack.close()
    return samples


def run(quick: bool = False) -> list[Figure]:
    settle, window = (20.0, 5.0) if quick else (45.0, 15.0)
    samples = sample_rss(settle_s=settle, sample_s=window)
    how = f"10,000 meters at 10 s intervals; after {settle:.0f} s, {window:.0f} s of 1 s psutil samples"
    figures = []
    for name in (*SERVICES, *OTHERS):
        values = [v for v in samples[name] if v == v]
        if not values:
            continue
        med, peak = statistics.median(values), max(values)
        is_service = name in SERVICES
        figures.append(
            Figure(
                "Memory (steady state, 10,000 meters)",
                f"{name} resident memory",
                med,
                "MB",
                f"< {TARGET_MB:.0f} MB" if is_service else "",
                (peak < TARGET_MB) if is_service else None,
                f"median, peak {peak:.0f} MB; {how}"
                + ("" if is_service else " (not a service: informational)"),
            )
        )
    return figures
