"""Witness lag under load: how long after the ledger's head reaches a size the witness has cosigned
a checkpoint at least that large, while the load run's read mix (bench_load, 1,000 req/s through
Envoy; quick: 200 req/s) runs and the billing service's account appends settlements through the
edge (20 appends/s). Samples the ledger's public checkpoint and the witness's endpoint every 50 ms;
the lag of a sample is the time until the witness's size reaches the ledger size then seen."""

from __future__ import annotations

import statistics
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from bench.bench_load import PARTS as LOAD_PARTS
from bench.bench_load import run_load
from bench.children import start_stack
from bench.report import Figure
from devstack.stack import Stack
from energypulse.ledger.v1 import ledger_service_pb2 as pb
from energypulse.ledger.v1 import ledger_service_pb2_grpc
from tests.ledger_records import settlement_v1

__all__ = ["run", "witness_lag"]

PARTS = [*LOAD_PARTS, "witness_svc"]
NOTES = [
    "- Witness: polls the ledger's public checkpoint every EP_WITNESS_POLL_MS (1 s), checks the "
    "consistency proof from its last cosigned size, cosigns (Ed25519, cosignature/v1) and stores the "
    "note atomically; its lag is bounded by the poll interval plus one round trip and one fsync.",
]


def _sizes(stack: Stack) -> tuple[int, int]:
    _status, body = stack.api("GET", "/api/v1/ledger/checkpoint", timeout=5)
    with urllib.request.urlopen(stack.env["EP_WITNESS_URL"] + "/checkpoint", timeout=5) as reply:
        witnessed = int(reply.read().decode().split("\n")[1])
    return int(body["treeSize"]), witnessed


def witness_lag(stack: Stack, seconds: float, appends_per_s: float = 20.0) -> dict[str, float]:
    ingest = stack.login("ingest", stack.env["EP_INGEST_SERVICE_SECRET"])
    stub = ledger_service_pb2_grpc.LedgerServiceStub(stack.channel("edge"))
    stop = threading.Event()

    def append() -> None:
        n = 0
        while not stop.is_set():
            started = time.monotonic()
            stub.AppendRecords(
                pb.AppendRecordsRequest(
                    request_id=f"bench-witness-{n}",
                    records=[settlement_v1(f"bench-w{n % 50:03d}", n // 50, 500 + n % 700)],
                ),
                metadata=(("authorization", f"Bearer {ingest}"),),
                timeout=10,
            )
            n += 1
            stop.wait(max(1 / appends_per_s - (time.monotonic() - started), 0))

    appender = threading.Thread(target=append, daemon=True)
    appender.start()
    samples: list[tuple[float, int, int]] = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        samples.append((time.monotonic(), *_sizes(stack)))
        time.sleep(0.05)
    stop.set()
    appender.join(timeout=15)
    deadline = time.monotonic() + 30  # let the witness catch up with the last samples
    while time.monotonic() < deadline and samples[-1][2] < samples[-1][1]:
        samples.append((time.monotonic(), *_sizes(stack)))
        time.sleep(0.05)
    lags = []
    for i, (t, ledger_size, _w) in enumerate(samples):
        caught = next((t2 for t2, _l, w2 in samples[i:] if w2 >= ledger_size), None)
        if caught is not None:
            lags.append(caught - t)
    lags.sort()
    p99 = lags[min(len(lags) - 1, int(len(lags) * 0.99))]
    return {
        "p50_s": statistics.median(lags),
        "p99_s": p99,
        "max_s": lags[-1],
        "samples": float(len(lags)),
        "unmatched": float(len(samples) - len(lags)),
        "final_size": float(samples[-1][1]),
    }


def run(quick: bool = False) -> list[Figure]:
    rps, seconds = (200, 10) if quick else (1000, 60)
    with tempfile.TemporaryDirectory() as tmp:
        var = Path(tmp)
        stack = start_stack(var, PARTS, meters=5, timeout=300)
        try:
            token = stack.login("admin", "admin-demo")
            load = threading.Thread(
                target=run_load, args=(stack, token, rps, seconds, var / "load.log"), daemon=True
            )
            load.start()
            lag = witness_lag(stack, seconds)
            load.join(timeout=seconds + 60)
        finally:
            stack.close()
    return [
        Figure(
            "Witness",
            f"witness lag behind the ledger head, p99 ({rps:,} req/s read load + 20 appends/s)",
            lag["p99_s"],
            "s",
            "< 5 s",
            lag["p99_s"] < 5,
            f"{lag['samples']:.0f} samples every 50 ms over {seconds} s; p50 {lag['p50_s']:.2f} s, "
            f"max {lag['max_s']:.2f} s; head reached {lag['final_size']:.0f} transactions; "
            f"{lag['unmatched']:.0f} samples never caught up",
        )
    ]
