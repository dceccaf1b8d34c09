"""Status topics and last will against a real Mosquitto, plus the outage buffer."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import orjson
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from common.config import from_env
from common.mqtt import MqttSettings
from meter_sim.config import MeterSimConfig
from meter_sim.gateway import Gateway
from meter_sim.simulator import Simulator
from tests.ingest_svc.helpers import wait_for
from tests.ingest_svc.mqtt_broker import MosquittoBroker, free_port
from tests.mqtt_identities import login

REPO = Path(__file__).resolve().parents[2]


def retained(port: int, topic_filter: str, settle: float = 0.7) -> dict[str, dict[str, object]]:
    found: dict[str, dict[str, object]] = {}
    client = login(mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5))
    client.on_message = lambda _c, _u, m: (
        found.__setitem__(m.topic, orjson.loads(m.payload)) if m.retain else None
    )
    client.connect("127.0.0.1", port)
    client.subscribe(topic_filter, qos=1)
    client.loop_start()
    time.sleep(settle)
    client.disconnect()
    client.loop_stop()
    return found


def test_clean_shutdown_marks_meters_offline(broker: MosquittoBroker) -> None:
    config = from_env(
        MeterSimConfig,
        {},
        mqtt_url=broker.url,
        count=6,
        connections=2,
        interval_s=0.05,
        readings_per_meter=5,
        state_file="",
    )
    sim = Simulator(config)
    stats = sim.run()
    assert stats.produced == 30 and stats.acked == stats.handed
    statuses = retained(broker.port, "energy/#")
    meters = {t: s for t, s in statuses.items() if t.startswith("energy/meters/")}
    assert len(meters) == 6 and all(s["status"] == "offline" for s in meters.values())
    gateways = {s["gateway"] for s in meters.values()}
    assert gateways == {"sim-gw-0", "sim-gw-1"}


def test_killed_simulator_gateway_goes_offline_by_last_will(broker: MosquittoBroker, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "EP_MQTT_URL": broker.url,
        "EP_METER_COUNT": "4",
        "EP_METER_CONNECTIONS": "1",
        "EP_METER_INTERVAL_S": "0.2",
        "EP_LOG_LEVEL": "WARNING",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "meter_sim"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(tmp_path / "sim.log", "wb"),
    )
    try:
        assert wait_for(
            lambda: (
                retained(broker.port, "energy/meters/+/status", 0.3)
                .get("energy/meters/sim-m000000/status", {})
                .get("status")
                == "online"
            ),
            20,
        )
        assert (
            retained(broker.port, "energy/gateways/+/status")["energy/gateways/sim-gw-0/status"]["status"]
            == "online"
        )
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        # The per-meter topic still says online (one will per connection): the gateway's will
        # flips, and "meter online = meter online AND gateway online" is the documented rule.
        assert wait_for(
            lambda: (
                retained(broker.port, "energy/gateways/+/status", 0.3)
                .get("energy/gateways/sim-gw-0/status", {})
                .get("status")
                == "offline"
            ),
            40,
        )
    finally:
        proc.kill()
        proc.wait()


def test_buffer_is_bounded_and_drops_oldest_while_broker_unreachable(broker: MosquittoBroker) -> None:
    gateway = Gateway("gw-test", MqttSettings.load(broker.url), ["m1"], buffer_max=100, inflight_max=10)
    for i in range(250):  # never started: the broker is unreachable from its point of view
        gateway.enqueue("energy/meters/m1", orjson.dumps({"i": i}))
    assert len(gateway.pending) == 100 and gateway.dropped == 150
    assert orjson.loads(gateway.pending[0][1]) == {"i": 150}  # the newest 100 are kept
    got: list[int] = []
    sub = login(mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5))
    sub.on_message = lambda _c, _u, m: (
        got.append(orjson.loads(m.payload)["i"]) if not m.retain and "status" not in m.topic else None
    )
    sub.connect("127.0.0.1", broker.port)
    sub.subscribe("energy/meters/m1", qos=1)
    sub.loop_start()
    time.sleep(0.3)
    gateway.start()
    stop = threading.Event()
    assert wait_for(lambda: gateway.pump() >= 0 and gateway.idle, 10, 0.01)
    stop.set()
    gateway.stop()
    assert wait_for(lambda: len(got) == 100, 10)
    assert got == list(range(150, 250))
    sub.disconnect()
    sub.loop_stop()


def test_lost_connection_returns_unacked_to_the_front_and_holds_until_a_consumer_resubscribed(
    broker: MosquittoBroker,
) -> None:
    """The broker freezes with a full window in flight and dies: those readings go back to the
    front of the buffer, the new session (clean start) resends nothing on its own, and readings
    flow again only once a consumer marker newer than the disconnect is retained."""
    got: list[int] = []
    subscribed = threading.Event()
    sub = login(mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5))
    sub.reconnect_delay_set(0.1, 0.5)
    sub.on_connect = lambda c, _u, _f, _r, _p: (c.subscribe("energy/meters/m1", qos=1), subscribed.set())
    sub.on_message = lambda _c, _u, m: got.append(orjson.loads(m.payload)["i"])
    sub.connect("127.0.0.1", broker.port)
    sub.loop_start()
    gateway = Gateway(
        "gw-loss", MqttSettings.load(broker.url), ["m1"], buffer_max=1000, inflight_max=20, resume_hold_s=600
    )
    gateway.start()
    try:
        assert wait_for(lambda: gateway.connected and subscribed.is_set(), 10)
        for i in range(10):
            gateway.enqueue("energy/meters/m1", orjson.dumps({"i": i}))
        assert wait_for(lambda: gateway.pump() >= 0 and gateway.idle, 10, 0.01)
        assert wait_for(lambda: len(got) == 10, 10)

        proc = broker._proc
        assert proc is not None
        proc.send_signal(signal.SIGSTOP)  # no more PUBACKs: the window fills and stays full
        for i in range(10, 60):
            gateway.enqueue("energy/meters/m1", orjson.dumps({"i": i}))
        assert wait_for(lambda: gateway.pump() >= 0 and gateway.unacked == 20, 10, 0.01)
        assert len(gateway.pending) == 30
        proc.kill()
        proc.wait()
        subscribed.clear()
        broker.start()  # same port, nothing retained: no consumer marker yet

        assert wait_for(lambda: gateway.connects == 2 and gateway.connected, 20)
        assert wait_for(lambda: gateway.unacked == 0, 10)  # the "online" statuses went through
        assert len(gateway.pending) == 50 and gateway.dropped == 0
        assert [orjson.loads(p)["i"] for _, p in gateway.pending] == list(range(10, 60))
        assert got == list(range(10))  # held: nothing resent before a consumer is back

        assert wait_for(lambda: subscribed.is_set(), 20)
        marker = orjson.dumps({"ts_ms": int(time.time() * 1000)})
        sub.publish("energy/ingest/test/subscribed", marker, qos=1, retain=True).wait_for_publish(5)
        assert wait_for(lambda: gateway.pump() >= 0 and gateway.idle, 10, 0.01)
        assert wait_for(lambda: len(got) == 60, 10)
        assert got == list(range(60))  # in order, none lost, none twice
    finally:
        gateway.stop()
        sub.disconnect()
        sub.loop_stop()


def test_stop_without_a_broker_ends_the_network_thread_and_keeps_the_buffer() -> None:
    """Nothing listens: the gateway keeps retrying in the background; stop() does not wait for a
    broker that is gone (the readings stay buffered, the counters in later readings carry them)."""
    port = free_port()
    gateway = Gateway("gw-down", MqttSettings.load(f"mqtt://127.0.0.1:{port}"), ["m1"], 100, 10)
    gateway.start()
    for i in range(5):
        gateway.enqueue("energy/meters/m1", orjson.dumps({"i": i}))
    assert gateway.pump() == 0
    gateway.stop(timeout=3.0)
    assert gateway._thread is not None and not gateway._thread.is_alive()
    assert not gateway.connected and gateway.connects == 0
    assert len(gateway.pending) == 5 and gateway.handed == gateway.acked == 0
