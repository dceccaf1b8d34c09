"""The JSON edge: the same read RPC natively over gRPC and as JSON through Envoy, same run, same
load generator (h2load, HTTP/2 for both) and concurrency. Reports QPS, the QPS ratio and the p50/p99
Envoy adds. Targets: JSON >= 60% of native QPS, < 2 ms added p99."""

from __future__ import annotations

import re
import shutil
import statistics
import subprocess
import tempfile
from pathlib import Path

from bench.report import Figure, median_spread
from devstack.stack import Stack, start_stack

RPC_PATH = "/energypulse.ledger.v1.LedgerService/GetSignedHead"
JSON_PATH = "/api/v1/ledger/head"
CLIENTS = 16
NOTES = [
    "- JSON edge: with 16 connections both paths run the single-process ledger_svc at saturation, and on "
    "2 cores Envoy (JWT check + transcoding) takes CPU from it, so the ratio and added p99 measure CPU "
    "sharing as much as Envoy. Per call, ledger_svc now reuses a signed head for up to 250 ms "
    "(EP_LEDGER_HEAD_MAX_AGE_MS) and the auth interceptor caches verified tokens (revocation still checked "
    "per call); a py-spy profile then shows the remaining time in grpc.aio's own per-call machinery.",
]


def _h2load(
    url: str, token: str, seconds: int, grpc_body: Path | None, log: Path
) -> tuple[float, list[float]]:
    """(requests/s, per-request latencies in ms) for one timed run."""
    command = [
        "h2load",
        "-c",
        str(CLIENTS),
        "-m",
        "1",
        "-D",
        str(seconds),
        "--warm-up-time",
        "1",
        "-H",
        f"authorization: Bearer {token}",
        "--log-file",
        str(log),
    ]
    if grpc_body is not None:
        command += ["-H", "content-type: application/grpc", "-H", "te: trailers", "-d", str(grpc_body)]
    out = subprocess.run(
        [*command, url], capture_output=True, text=True, timeout=seconds + 60, check=True
    ).stdout
    rps = next(float(line.split()[3]) for line in out.splitlines() if line.startswith("finished in"))
    # "requests: N total, N started, N done, N succeeded, F failed, E errored, T timeout"
    counts = next(line for line in out.splitlines() if line.startswith("requests:"))
    failed = sum(int(n) for n, what in re.findall(r"(\d+) (failed|errored|timeout)", counts))
    if failed:
        raise RuntimeError(f"{failed} failed requests against {url}:\n{out}")
    latencies = [int(line.split("\t")[2]) / 1000 for line in log.read_text().splitlines() if line.strip()]
    return rps, latencies


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run(quick: bool = False) -> list[Figure]:
    if shutil.which("h2load") is None:
        raise RuntimeError("h2load not installed (Debian package nghttp2-client; scripts/bench installs it)")
    runs, seconds = (1, 3) if quick else (5, 5)
    with tempfile.TemporaryDirectory() as tmp:
        var = Path(tmp)
        stack: Stack = start_stack(var, ["auth_svc", "ledger_svc", "envoy"], timeout=90)
        try:
            token = stack.login("admin", "admin-demo")
            body = var / "empty.grpc"
            body.write_bytes(b"\x00\x00\x00\x00\x00")  # gRPC frame: not compressed, length 0
            native_url = f"http://{stack.target('ledger')}{RPC_PATH}"
            json_url = f"{stack.base_url}{JSON_PATH}"
            native: list[tuple[float, list[float]]] = []
            edge: list[tuple[float, list[float]]] = []
            for i in range(runs):  # interleaved so drift on a shared machine hits both alike
                native.append(_h2load(native_url, token, seconds, body, var / f"n{i}.log"))
                edge.append(_h2load(json_url, token, seconds, None, var / f"j{i}.log"))
        finally:
            stack.close()
    n_qps = [r for r, _ in native]
    j_qps = [r for r, _ in edge]
    ratios = [j / n for j, n in zip(j_qps, n_qps, strict=True)]
    n_p50 = statistics.median(_percentile(lat, 0.5) for _, lat in native)
    n_p99 = statistics.median(_percentile(lat, 0.99) for _, lat in native)
    j_p50 = statistics.median(_percentile(lat, 0.5) for _, lat in edge)
    j_p99 = statistics.median(_percentile(lat, 0.99) for _, lat in edge)
    n_med, n_lo, n_hi = median_spread(n_qps)
    j_med, j_lo, j_hi = median_spread(j_qps)
    r_med, r_lo, r_hi = median_spread(ratios)
    how = f"h2load, {CLIENTS} connections, {runs} interleaved runs of {seconds} s; GetSignedHead with an admin token"
    return [
        Figure(
            "JSON edge",
            "native gRPC QPS (direct to ledger_svc)",
            n_med,
            "req/s",
            detail=f"{how}; spread {n_lo:,.0f}-{n_hi:,.0f}",
        ),
        Figure(
            "JSON edge", "JSON through Envoy QPS", j_med, "req/s", detail=f"spread {j_lo:,.0f}-{j_hi:,.0f}"
        ),
        Figure(
            "JSON edge",
            "JSON / native QPS ratio",
            r_med * 100,
            "%",
            ">= 60 %",
            r_med >= 0.6,
            f"per-run ratios {r_lo:.0%}-{r_hi:.0%}",
        ),
        Figure(
            "JSON edge",
            "native p50 / p99",
            n_p50,
            f"ms / {n_p99:.2f} ms",
            detail="median over runs of each run's percentile",
        ),
        Figure("JSON edge", "JSON p50 / p99", j_p50, f"ms / {j_p99:.2f} ms"),
        Figure(
            "JSON edge",
            "p99 added by Envoy + transcoding",
            j_p99 - n_p99,
            "ms",
            "< 2 ms",
            (j_p99 - n_p99) < 2.0,
        ),
    ]
