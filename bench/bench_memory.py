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

from bench.report import Figure
from devstack.stack import start_stack

__all__ = ["run", "sample_rss"]

SERVICES = ("auth_svc", "predict_svc", "ledger_svc", "ingest_svc")
OTHERS = ("meter_sim", "broker")
TARGET_MB = 150.0
NOTES: list[str] = [
    "- Memory: a Python service with grpcio, protobuf, SQLAlchemy, numpy and cryptography imported is "
    "~90 MB before it does anything (auth and ledger sit there). predict_svc adds pandas (+pyarrow) and "
    "LightGBM plus the market frames: meeting 150 MB there means a pandas-free serving path. "
    "ingest_svc no longer imports pandas (predict_svc.tariff imports it lazily now; pandas + pyarrow cost "
    "~75 MB at import); it starts at ~93 MB and the rest is anonymous heap (smaps: ~120 MB private dirty) "
    "grown while serving 10,000 meters (registering 10,000 households, 18 threads' malloc arenas; "
    "MALLOC_ARENA_MAX=2 saved ~10 MB in a trial).",
]


def _rss_mb(pid: int) -> float:
    """RSS of the process and its children (the Procfile's `bash -c exec` leaves none, but be safe)."""
    try:
        proc = psutil.Process(pid)
        procs = [proc, *proc.children(recursive=True)]
        return sum(p.memory_info().rss for p in procs) / 2**20
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
