"""Ingest benchmarks (figures, not tests): each function returns a dict of numbers.

    .venv/bin/python -m bench.bench_ingest          # runs all three, prints JSON

* ``throughput``: end-to-end readings/s (publish -> validated -> stored on SQLite -> acked) next to
  a bare paho subscriber draining the same queued backlog, in the same run and broker.
* ``latency``: p50/p99 publish-to-stored latency at a fixed offered rate.
* ``simulator_memory``: RSS of a 10,000-meter simulator and its publish rate.
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import psutil
from paho.mqtt.enums import CallbackAPIVersion
from prometheus_client import CollectorRegistry
from sqlalchemy import create_engine, text

from common.config import from_env
from ingest_svc.app import IngestApp
from ingest_svc.config import IngestConfig
from meter_sim.config import MeterSimConfig
from meter_sim.simulator import Simulator
from tests.ingest_svc.helpers import encode, publish_all, reading
from tests.ingest_svc.mqtt_broker import MosquittoBroker

__all__ = ["latency", "simulator_memory", "throughput"]


def _count(db_url: str) -> int:
    engine = create_engine(db_url)
    with engine.connect() as conn:
        n = int(conn.execute(text("select count(*) from readings")).scalar_one())
    engine.dispose()
    return n


def _backlog(port: int, n: int, meters: int = 1000) -> None:
    now = int(time.time() * 1000)
    publish_all(
        port,
        (
            (f"energy/meters/b-{i % meters}", encode(reading(f"b-{i % meters}", i // meters, now)))
            for i in range(n)
        ),
        timeout=300,
    )


def _bare_drain(port: int, n: int) -> float:
    """Readings/s for a bare paho QoS 1 subscriber draining a queued backlog of ``n``."""
    got = [0]
    done = threading.Event()

    def on_message(_c: Any, _u: Any, _m: Any) -> None:
        got[0] += 1
        if got[0] >= n:
            done.set()

    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = 600
    props.ReceiveMaximum = 10000
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bare", protocol=mqtt.MQTTv5)
    client.on_message = on_message
    client.connect("127.0.0.1", port, clean_start=True, properties=props)
    client.subscribe("energy/meters/+", qos=1)
    client.loop_start()
    time.sleep(0.5)
    client.disconnect()
    client.loop_stop()
    _backlog(port, n)  # queued for the offline persistent session
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bare", protocol=mqtt.MQTTv5)
    client.on_message = on_message
    started = time.perf_counter()
    client.connect("127.0.0.1", port, clean_start=False, properties=props)
    client.loop_start()
    done.wait(300)
    elapsed = time.perf_counter() - started
    client.disconnect()
    client.loop_stop()
    return got[0] / elapsed


def throughput(n: int = 100_000) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        broker = MosquittoBroker(Path(tmp) / "broker")
        broker.start()
        try:
            bare = _bare_drain(broker.port, n)
            db_url = f"sqlite:///{tmp}/bench.db"
            config = from_env(IngestConfig, {}, mqtt_url=broker.url, db_url=db_url, client_id="bench-ingest")
            app = IngestApp(config, registry=CollectorRegistry())
            app.start()
            time.sleep(1.0)
            app.stop()  # session + subscription exist; now queue a backlog while it is away
            _backlog(broker.port, n)
            app = IngestApp(config, registry=CollectorRegistry())
            started = time.perf_counter()
            app.start()
            while _count(db_url) < n and time.perf_counter() - started < 600:
                time.sleep(0.2)
            elapsed = time.perf_counter() - started
            app.stop()
            return {
                "readings": n,
                "ingest_readings_per_s": n / elapsed,
                "bare_paho_drain_per_s": bare,
                "ingest_vs_bare": (n / elapsed) / bare,
            }
        finally:
            broker.stop()


def latency(rate_per_s: int = 2000, seconds: float = 10.0) -> dict[str, float]:
    """Publish at a fixed rate; latency = received_ms (stored row) ... commit seen by polling."""
    with tempfile.TemporaryDirectory() as tmp:
        broker = MosquittoBroker(Path(tmp) / "broker")
        broker.start()
        db_url = f"sqlite:///{tmp}/lat.db"
        app = IngestApp(
            from_env(IngestConfig, {}, mqtt_url=broker.url, db_url=db_url, client_id="lat"),
            registry=CollectorRegistry(),
        )
        sent_at: dict[tuple[str, int], float] = {}
        stored_at: dict[tuple[str, int], float] = {}
        app.pipeline._on_stored = lambda rs: [
            stored_at.setdefault((r.meter_id, r.seq), time.time()) for r in rs
        ]
        app.start()
        time.sleep(1.0)
        client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        client.connect("127.0.0.1", broker.port)
        client.loop_start()
        total = int(rate_per_s * seconds)
        started = time.perf_counter()
        for i in range(total):
            target = started + i / rate_per_s
            delay = target - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            meter = f"l-{i % 500}"
            key = (meter, i // 500)
            sent_at[key] = time.time()
            client.publish(f"energy/meters/{meter}", encode(reading(meter, key[1])), qos=1)
        deadline = time.time() + 30
        while len(stored_at) < total and time.time() < deadline:
            time.sleep(0.1)
        client.disconnect()
        client.loop_stop()
        app.stop()
        broker.stop()
        lat = sorted((stored_at[k] - sent_at[k]) * 1000 for k in stored_at if k in sent_at)
        return {
            "rate_per_s": rate_per_s,
            "samples": len(lat),
            "p50_ms": statistics.median(lat),
            "p99_ms": lat[int(len(lat) * 0.99) - 1],
        }


def simulator_memory(
    meters: int = 10_000, readings_per_meter: int = 3, interval_s: float = 2.0
) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        broker = MosquittoBroker(Path(tmp) / "broker")
        broker.start()
        try:
            process = psutil.Process(os.getpid())
            before = process.memory_info().rss
            sim = Simulator(
                from_env(
                    MeterSimConfig,
                    {},
                    mqtt_url=broker.url,
                    count=meters,
                    interval_s=interval_s,
                    readings_per_meter=readings_per_meter,
                )
            )
            started = time.perf_counter()
            stats = sim.run()
            elapsed = time.perf_counter() - started
            return {
                "meters": meters,
                "rss_mb": process.memory_info().rss / 2**20,
                "rss_growth_mb": (process.memory_info().rss - before) / 2**20,
                "readings": stats.produced,
                "seconds": elapsed,
                "dropped": stats.dropped,
            }
        finally:
            broker.stop()


if __name__ == "__main__":
    print(
        json.dumps(
            {"throughput": throughput(), "latency": latency(), "simulator": simulator_memory()}, indent=2
        )
    )
