"""End to end against a real Mosquitto (shipped config): simulator -> broker -> ingest -> SQLite."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from common.config import from_env
from common.db import make_engine
from contracts.mqtt.boundary import KEY_ALGORITHM, key_id
from ingest_svc.app import IngestApp
from ingest_svc.config import IngestConfig
from ingest_svc.intake.store import register_households
from meter_sim.config import MeterSimConfig
from meter_sim.profiles import Household
from meter_sim.simulator import Simulator
from tests.ingest_svc.helpers import rows, scalar, wait_for
from tests.ingest_svc.mqtt_broker import MosquittoBroker

REPO = Path(__file__).resolve().parents[2]


def make_app(broker: MosquittoBroker, db_url: str, client_id: str = "ingest-test") -> IngestApp:
    config = from_env(
        IngestConfig,
        {},
        mqtt_url=broker.url,
        db_url=db_url,
        client_id=client_id,
        batch_wait_ms=20,
        bridge=False,
    )
    return IngestApp(config, registry=CollectorRegistry())


def sim_config(broker: MosquittoBroker, **over: object) -> MeterSimConfig:
    values: dict[str, Any] = {"mqtt_url": broker.url, "connections": 2, "seed": 7, "state_file": ""}
    values.update(over)
    return from_env(MeterSimConfig, {}, **values)


def registrar(db_url: str) -> Callable[[Sequence[Household], Mapping[str, bytes]], None]:
    """Registers the simulated households and their meters' signing keys straight into ingest's
    tables (as RegisterHouseholds does): readings of unregistered meters are dead-lettered
    UNKNOWN_METER, boundaries signed with an unregistered key UNKNOWN_METER_KEY."""

    def run(households: Sequence[Household], keys: Mapping[str, bytes]) -> None:
        rows: list[dict[str, object]] = [
            {
                "household_id": h.household_id,
                "residents": h.residents,
                "heating": h.heating.value,
                "has_ev": h.has_ev,
                "has_solar": h.has_solar,
                "meter_ids": [h.meter_id],
                "meter_keys": [(h.meter_id, key_id(keys[h.meter_id]), KEY_ALGORITHM, keys[h.meter_id])]
                if h.meter_id in keys
                else [],
            }
            for h in households
        ]
        engine = make_engine(db_url)
        register_households(engine, rows, int(time.time() * 1000))
        engine.dispose()

    return run


def run_sim_in_thread(config: MeterSimConfig, db_url: str) -> tuple[Simulator, threading.Thread]:
    sim = Simulator(config, registrar=registrar(db_url))
    thread = threading.Thread(target=sim.run, daemon=True)
    thread.start()
    return sim, thread


def assert_exactly_once(db_url: str, meters: int, per_meter: int) -> None:
    assert scalar(db_url, "select count(*) from readings") == meters * per_meter
    per = rows(
        db_url, "select meter_id, count(*), count(distinct seq), max(seq) - min(seq) from readings group by 1"
    )
    assert len(per) == meters
    for meter_id, n, distinct, span in per:
        # Every meter: per_meter distinct, consecutive sequence numbers - none lost, none twice.
        assert (n, distinct, span) == (per_meter, per_meter, per_meter - 1), meter_id


def mqtt_connected_metric(app: IngestApp) -> float:
    """ingest_mqtt_connected as a scrape would read it."""
    return float(next(iter(app.metrics.mqtt_connected.collect())).samples[0].value)


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'ingest.db'}"


def test_every_reading_stored_exactly_once_in_order(broker: MosquittoBroker, db_url: str) -> None:
    app = make_app(broker, db_url)
    app.start()
    try:
        assert wait_for(lambda: app.subscriber.subscribed, 10)
        stats = Simulator(
            sim_config(broker, count=50, interval_s=0.05, readings_per_meter=40), registrar=registrar(db_url)
        ).run()
        assert stats.produced == 2000 and stats.dropped == 0
        assert wait_for(lambda: scalar(db_url, "select count(*) from readings") == 2000, 30)
        assert_exactly_once(db_url, 50, 40)
        # In order per meter: insertion order (rowid) follows seq for every meter.
        order = rows(db_url, "select meter_id, seq from readings order by rowid")
        last: dict[str, int] = {}
        for meter_id, seq in order:
            assert seq > last.get(meter_id, -1)
            last[meter_id] = seq
        assert scalar(db_url, "select count(*) from dead_letters") == 0
        assert app.metrics.stored._value.get() == 2000
    finally:
        app.stop()


def test_kill_9_mid_stream_loses_and_duplicates_nothing(
    broker: MosquittoBroker, db_url: str, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "EP_MQTT_URL": broker.url,
        "EP_INGEST_DATABASE_URL": db_url,
        "EP_INGEST_GRPC_PORT": "0",
        "EP_INGEST_METRICS_PORT": "-1",
        "EP_INGEST_CLIENT_ID": "ingest-killed",
        "EP_INGEST_BRIDGE": "0",
        "EP_INGEST_BATCH_WAIT_MS": "20",
        "EP_LOG_LEVEL": "WARNING",
    }
    log = open(tmp_path / "ingest.log", "ab")

    def spawn() -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", "ingest_svc"], cwd=REPO, env=env, stdout=log, stderr=log
        )

    proc = spawn()
    try:
        # The persistent session must exist before readings flow: wait for the first start.
        assert wait_for(lambda: b"ingest-killed" in (broker.log_path.read_bytes()), 20)
        _sim, thread = run_sim_in_thread(
            sim_config(broker, count=40, interval_s=0.02, readings_per_meter=150), db_url
        )
        assert wait_for(lambda: (scalar(db_url, "select count(*) from readings") or 0) > 500, 30)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        killed_at = scalar(db_url, "select count(*) from readings")
        thread.join(60)  # the simulator keeps publishing while ingest is dead
        assert killed_at < 6000, "kill should land mid-stream"
        proc = spawn()
        assert wait_for(lambda: scalar(db_url, "select count(*) from readings") == 6000, 60)
        time.sleep(0.5)  # any late redelivery would show up as a duplicate now
        assert_exactly_once(db_url, 40, 150)
        assert scalar(db_url, "select count(*) from dead_letters") == 0
    finally:
        proc.kill()
        proc.wait()


def test_broker_restart_mid_stream_reconnects_and_loses_nothing(broker: MosquittoBroker, db_url: str) -> None:
    app = make_app(broker, db_url)
    app.start()
    try:
        assert wait_for(lambda: app.subscriber.subscribed, 10)
        sim, thread = run_sim_in_thread(
            sim_config(broker, count=40, interval_s=0.05, readings_per_meter=100), db_url
        )
        assert wait_for(lambda: (scalar(db_url, "select count(*) from readings") or 0) > 800, 30)
        assert mqtt_connected_metric(app) == 1.0
        broker.stop()  # readings made meanwhile wait in the simulator's buffer
        assert wait_for(lambda: mqtt_connected_metric(app) == 0.0, 10)
        time.sleep(1.0)
        broker.start()
        assert wait_for(lambda: mqtt_connected_metric(app) == 1.0, 30)
        thread.join(60)
        assert not thread.is_alive()
        assert wait_for(lambda: scalar(db_url, "select count(*) from readings") == 4000, 30)
        assert_exactly_once(db_url, 40, 100)
        stats = sim.stats()
        assert stats.dropped == 0
        assert all(g.connects >= 2 for g in sim.gateways), "every gateway reconnected unaided"
    finally:
        app.stop()


def test_two_replicas_split_the_stream_without_duplicates(broker: MosquittoBroker, db_url: str) -> None:
    apps = [make_app(broker, db_url, client_id=f"ingest-replica-{i}") for i in range(2)]
    for app in apps:
        app.start()
    try:
        assert wait_for(lambda: all(a.subscriber.subscribed for a in apps), 10)
        time.sleep(0.3)  # both subscriptions in place
        Simulator(
            sim_config(broker, count=40, interval_s=0.03, readings_per_meter=50), registrar=registrar(db_url)
        ).run()
        assert wait_for(lambda: scalar(db_url, "select count(*) from readings") == 2000, 30)
        assert_exactly_once(db_url, 40, 50)
        shares = [a.metrics.stored._value.get() for a in apps]
        assert sum(shares) == 2000
        assert min(shares) > 2000 * 0.2, f"load not split: {shares}"
        assert sum(a.metrics.duplicates._value.get() for a in apps) == 0
    finally:
        for app in apps:
            app.stop()
