"""The clients of the device tests against a real Mosquitto: ingest itself, on the broker with
only the shipped ingest identity, and a paho probe recording what the broker answers a device."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from prometheus_client import CollectorRegistry

from common.config import from_env
from ingest_svc.app import IngestApp
from ingest_svc.config import IngestConfig
from ingest_svc.intake.store import register_households
from tests.ingest_svc.helpers import wait_for
from tests.ingest_svc.mqtt_broker import MosquittoBroker


@contextmanager
def ingest_on(
    broker: MosquittoBroker,
    tmp_path: Path,
    client_id: str,
    households: list[dict[str, Any]],
    registered_ms: int,
    registry: CollectorRegistry | None = None,
) -> Iterator[IngestApp]:
    """Ingest on ``broker`` as the shipped ingest identity (nothing more), on its own SQLite
    database with ``households`` registered; subscribed to the meter topics when it yields."""
    config = from_env(
        IngestConfig,
        {},
        mqtt_url=broker.ingest_url,
        db_url=f"sqlite:///{tmp_path / 'ingest.db'}",
        client_id=client_id,
        batch_wait_ms=20,
        bridge=False,
    )
    ingest = IngestApp(config, registry=registry or CollectorRegistry())
    register_households(ingest.engine, households, registered_ms)
    ingest.start()
    try:
        assert wait_for(lambda: ingest.subscriber.subscribed, 10)
        yield ingest
    finally:
        ingest.stop()


class Probe:
    """A paho client recording what the broker answers."""

    def __init__(
        self, broker: MosquittoBroker, user: str | None, password: str | None, protocol: int = mqtt.MQTTv5
    ) -> None:
        self.connect_result: str | None = None
        self.disconnects: list[str] = []
        self.published: dict[int, str] = {}
        self.suback: list[str] = []
        self.messages: list[str] = []
        self._event = threading.Event()
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"probe-{time.monotonic_ns()}", protocol=protocol
        )
        if user is not None:
            client.username_pw_set(user, password)
        client.on_connect = self._on_connect
        client.on_disconnect = lambda _c, _u, _f, rc, _p: self.disconnects.append(str(rc))
        client.on_publish = lambda _c, _u, mid, rc, _p: self.published.__setitem__(mid, str(rc))
        client.on_subscribe = lambda _c, _u, _mid, rcs, _p: self.suback.extend(str(r) for r in rcs)
        client.on_message = lambda _c, _u, m: self.messages.append(m.topic)
        client.reconnect_delay_set(30, 30)  # one attempt is what the test looks at
        self.client = client
        client.connect("127.0.0.1", broker.port)
        client.loop_start()
        wait_for(lambda: self.connect_result is not None, 5)

    def _on_connect(self, _c: mqtt.Client, _u: object, _f: object, rc: object, _p: object) -> None:
        self.connect_result = str(rc)

    def publish(self, topic: str, payload: bytes) -> str:
        info = self.client.publish(topic, payload, qos=1)
        assert wait_for(lambda: info.mid in self.published, 5)
        return self.published[info.mid]

    def subscribe(self, topic: str) -> str:
        before = len(self.suback)
        self.client.subscribe(topic, qos=1)
        assert wait_for(lambda: len(self.suback) > before, 5)
        return self.suback[-1]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def __enter__(self) -> Probe:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def connect_result(broker: MosquittoBroker, user: str, password: str) -> str | None:
    """What the broker answers a fresh login (the probe is closed after)."""
    with Probe(broker, user, password) as probe:
        return probe.connect_result
