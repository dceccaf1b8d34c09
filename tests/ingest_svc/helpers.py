"""Shared helpers for ingest tests: valid readings, a raw publisher, DB polling."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import create_engine, text

from tests.mqtt_identities import login


def reading(
    meter_id: str, seq: int, ts_ms: int | None = None, power_w: float = 1150.0, **over: Any
) -> dict[str, Any]:
    voltage, pf = 230.0, 0.95
    doc: dict[str, Any] = {
        "v": 1,
        "meter_id": meter_id,
        "seq": seq,
        "ts_ms": ts_ms if ts_ms is not None else int(time.time() * 1000),
        "voltage_v": voltage,
        "current_a": round(abs(power_w) / (voltage * pf), 3),
        "power_w": power_w,
        "power_factor": pf,
        # 1 Wh per reading: plausible however close together a test stamps them (the cap,
        # EP_INGEST_MAX_POWER_W, allows 2 Wh of rounding even between equal timestamps).
        "import_kwh": round(100.0 + seq * 0.001, 3),
        "export_kwh": 5.0,
    }
    doc.update(over)
    return doc


def publish_all(port: int, items: Iterable[tuple[str, bytes]], timeout: float = 60.0) -> int:
    """Publish QoS 1 and wait until the broker acknowledged every message."""
    client = login(mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5))
    acked = [0]
    done = threading.Event()
    client.on_publish = lambda *_a: acked.__setitem__(0, acked[0] + 1)
    client.max_inflight_messages_set(1000)
    client.connect("127.0.0.1", port)
    client.loop_start()
    sent = 0
    for topic, payload in items:
        client.publish(topic, payload, qos=1)
        sent += 1
    deadline = time.monotonic() + timeout
    while acked[0] < sent and time.monotonic() < deadline:
        done.wait(0.02)
    client.disconnect()
    client.loop_stop()
    assert acked[0] == sent, f"broker acked {acked[0]} of {sent}"
    return sent


def encode(doc: dict[str, Any]) -> bytes:
    # stdlib json: writes anything a hostile publisher could (ints over 64 bits included).
    return json.dumps(doc, separators=(",", ":")).encode()


def wait_for(predicate: Callable[[], bool], timeout: float = 30.0, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def scalar(db_url: str, sql: str) -> Any:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql)).scalar()
    finally:
        engine.dispose()


def rows(db_url: str, sql: str) -> list[Any]:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(sql)))
    finally:
        engine.dispose()
