"""Bounded load through Envoy: a fixed rate of JSON reads (1,000 req/s for 60 s; quick: 200 req/s
for 10 s) over a route mix, with h2load's per-client rate limit (``--rps``). Reports the achieved
rate, errors (any non-2xx, failed, errored or timed-out request) and p50/p99 latency.

The whole stack runs (broker, the four services, Envoy, meter_sim) on SQLite, as ./scripts/run
starts it; the load generator shares the 2 cores with it. Because other work on the machine caps
the achieved rate, the run also reports the CPU time the stack and h2load spent per request (a
figure that noise barely moves) and how busy the whole machine was meanwhile.
"""

from __future__ import annotations

import os
import re
import resource
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.children import start_stack
from bench.report import Figure
from devstack.stack import Stack

__all__ = ["ROUTES", "LoadResult", "run", "run_load"]

PARTS = ["broker", "auth_svc", "predict_svc", "ledger_svc", "ingest_svc", "envoy", "meter_sim"]
# The read mix a dashboard produces (one of each, round robin).
ROUTES = [
    "/api/v1/ledger/head",
    "/api/v1/ledger/blocks?pageSize=5",
    "/api/v1/households/sim-h000000/summary",
    "/api/v1/zones/NO1/price-forecast?horizonHours=6",
    "/api/v1/grid/stats",
]
NOTES = [
    "- Load: `h2load -c C --rps R -D S` over the route mix above (ledger head and blocks, household "
    "summary, price forecast, grid stats) with an admin token; any non-2xx, failed or timed-out request is an error.",
    "- Load: at this rate the hot reads come from short-lived caches (household summary 2 s, grid stats 1 s, "
    "ledger head and newest blocks 250 ms: EP_INGEST_SUMMARY_CACHE_S, EP_INGEST_GRID_CACHE_S, "
    "EP_LEDGER_HEAD_MAX_AGE_MS) with concurrent identical reads coalesced, so the mix measures the "
    "serving path (Envoy, gRPC, auth) more than the database.",
]


@dataclass(frozen=True)
class LoadResult:
    target_rps: float
    achieved_rps: float
    requests: int
    errors: int
    status_counts: dict[str, int]
    p50_ms: float
    p99_ms: float
    seconds: int
    cpu_ms_per_request: float = float("nan")  # the given processes plus h2load, user + system
    machine_busy_cores: float = float("nan")  # every process on the machine, during the run
    cpu_ms_by_process: dict[str, float] | None = None  # cpu_ms_per_request split by process


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


_TICK = os.sysconf("SC_CLK_TCK")


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of ``pid`` so far (Linux /proc; a gone process counts 0)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICK


def _children_cpu_s() -> float:
    """CPU seconds of this process's finished children (here: the h2load run just reaped)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _machine_busy_s() -> float:
    """CPU seconds every core spent not idle so far (/proc/stat)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(values) - values[3] - values[4]) / _TICK


def run_load(stack: Stack, token: str, rps: int, seconds: int, log: Path, clients: int = 20) -> LoadResult:
    """Drive ``rps`` requests/s (``clients`` connections x rps/clients each) for ``seconds``."""
    if shutil.which("h2load") is None:
        raise RuntimeError("h2load not installed (Debian package nghttp2-client)")
    per_client = max(1, round(rps / clients))
    urls = [stack.base_url + route for route in ROUTES]
    command = [
        "h2load",
        "-c",
        str(clients),
        "-m",
        # Streams a client may have in flight: enough that the offered rate is not capped by
        # latency (20 x 16 at ~100 ms latency is still > 3,000 req/s).
        "16",
        "--rps",
        str(per_client),
        "-D",
        str(seconds),
        "-H",
        f"authorization: Bearer {token}",
        "--log-file",
        str(log),
        *urls,
    ]
    pids = {name: p.pid for name, p in stack.processes.procs.items()}
    cpu_before = {name: _cpu_s(pid) for name, pid in pids.items()}
    before = (_machine_busy_s(), _children_cpu_s(), time.monotonic())
    out = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 120, check=True).stdout
    after = (_machine_busy_s(), _children_cpu_s(), time.monotonic())
    cpu = {name: _cpu_s(pid) - cpu_before[name] for name, pid in pids.items()}
    machine_cpu, cpu["h2load"], elapsed = (b - a for a, b in zip(before, after, strict=True))
    finished = re.search(r"finished in ([\d.]+)(m?s), ([\d.]+) req/s", out)
    counts = re.search(
        r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout",
        out,
    )
    codes = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", out)
    if not (finished and counts and codes):
        raise RuntimeError(f"cannot parse h2load output:\n{out}")
    total, _started, done, _ok, failed, errored, timeout = (int(x) for x in counts.groups())
    c2, c3, c4, c5 = (int(x) for x in codes.groups())
    latencies = [int(line.split("\t")[2]) / 1000 for line in log.read_text().splitlines() if line.strip()]
    errors = failed + errored + timeout + c3 + c4 + c5 + (total - done)
    return LoadResult(
        target_rps=per_client * clients,
        achieved_rps=float(finished.group(3)),
        requests=total,
        errors=errors,
        status_counts={"2xx": c2, "3xx": c3, "4xx": c4, "5xx": c5, "failed": failed, "timeout": timeout},
        p50_ms=_percentile(latencies, 0.5),
        p99_ms=_percentile(latencies, 0.99),
        seconds=seconds,
        cpu_ms_per_request=sum(cpu.values()) * 1000 / max(1, done),
        machine_busy_cores=machine_cpu / elapsed,
        cpu_ms_by_process={name: s * 1000 / max(1, done) for name, s in cpu.items()},
    )


def run(quick: bool = False) -> list[Figure]:
    rps, seconds = (200, 10) if quick else (1000, 60)
    with tempfile.TemporaryDirectory() as tmp:
        var = Path(tmp)
        stack = start_stack(var, PARTS, meters=5, timeout=300)  # predict trains its models first
        try:
            token = stack.login("admin", "admin-demo")
            # Warm-up (connections, caches, JWKS) so the measured minute is steady state.
            run_load(stack, token, 100, 3, var / "warmup.log")
            result = run_load(stack, token, rps, seconds, var / "load.log")
            alone = {route: _route_capacity(stack, token, route, 500 if quick else 3000) for route in ROUTES}
        finally:
            stack.close()
    how = f"h2load, 20 connections x {result.target_rps // 20:.0f} req/s, {seconds} s, {len(ROUTES)}-route read mix"
    return [
        Figure(
            "Load (JSON via Envoy)",
            "achieved rate",
            result.achieved_rps,
            "req/s",
            f">= {rps * 0.98:.0f} req/s",
            result.achieved_rps >= rps * 0.98,
            f"target {result.target_rps} req/s; {how}; machine {result.machine_busy_cores:.2f} of "
            f"{os.cpu_count()} cores busy during the run (this stack and h2load: "
            f"{result.cpu_ms_per_request * result.achieved_rps / 1000:.2f})",
        ),
        Figure(
            "Load (JSON via Envoy)",
            "errors",
            float(result.errors),
            "requests",
            "0",
            result.errors == 0,
            f"of {result.requests:,}; {result.status_counts}",
        ),
        Figure(
            "Load (JSON via Envoy)",
            "CPU per request",
            result.cpu_ms_per_request,
            "ms",
            detail="user + system time of every stack process and h2load over the run, per request done: "
            f"1,000 req/s needs {result.cpu_ms_per_request:.2f} cores of the {os.cpu_count()}; "
            + ", ".join(f"{k} {v:.2f}" for k, v in sorted((result.cpu_ms_by_process or {}).items())),
        ),
        Figure("Load (JSON via Envoy)", "latency p50", result.p50_ms, "ms", detail="all routes together"),
        Figure("Load (JSON via Envoy)", "latency p99", result.p99_ms, "ms", detail="all routes together"),
    ] + [
        Figure(
            "Load (JSON via Envoy)",
            f"capacity of {route} alone",
            value,
            "req/s",
            detail="closed loop, 10 connections x 4 streams; shows which service limits the mix",
        )
        for route, value in alone.items()
    ]


def _route_capacity(stack: Stack, token: str, route: str, requests: int) -> float:
    """Most requests/s one route serves (no rate limit): where the mix saturates first."""
    out = subprocess.run(
        [
            "h2load",
            "-c",
            "10",
            "-m",
            "4",
            "-n",
            str(requests),
            "-H",
            f"authorization: Bearer {token}",
            stack.base_url + route,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    ).stdout
    finished = re.search(r"finished in [\d.]+m?s, ([\d.]+) req/s", out)
    return float(finished.group(1)) if finished else float("nan")
