"""The attacks of issue #18 against a real Mosquitto running the shipped configuration.

The broker here has no test harness identity: only what the system ships (no anonymous access,
the ingest role) and what ingest provisions through the dynamic-security plugin.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from common.errors import FailedPrecondition, NotFound
from common.mqtt import MqttSettings
from ingest_svc.app import IngestApp
from meter_sim.gateway import Gateway
from tests.ingest_svc.devices.broker_clients import Probe, connect_result, ingest_on
from tests.ingest_svc.helpers import encode, reading, rows, scalar, wait_for
from tests.ingest_svc.mqtt_broker import MosquittoBroker

METERS = ["m-a", "m-b", "m-victim"]


@pytest.fixture
def app(shipped: MosquittoBroker, tmp_path: Path) -> Iterator[IngestApp]:
    households = [
        {
            "household_id": f"h-{m}",
            "residents": 2,
            "heating": "heat_pump",
            "has_ev": False,
            "has_solar": False,
        }
        | {"meter_ids": [m]}
        for m in METERS
    ]
    with ingest_on(shipped, tmp_path, "ingest-acl", households, int(time.time() * 1000)) as ingest:
        yield ingest


def stored(app: IngestApp, meter_id: str) -> int:
    return int(scalar(app.config.db_url, f"select count(*) from readings where meter_id = '{meter_id}'") or 0)


@pytest.mark.parametrize("protocol", [mqtt.MQTTv311, mqtt.MQTTv5])
def test_anonymous_and_wrong_password_are_refused(shipped: MosquittoBroker, protocol: int) -> None:
    for user, password in ((None, None), ("ingest", "guess"), ("m-a", "")):
        with Probe(shipped, user, password, protocol) as probe:
            assert probe.connect_result in ("Not authorized", "Bad user name or password"), (
                user,
                probe.connect_result,
            )


def test_forged_reading_for_another_meter_is_refused_by_the_broker(
    app: IngestApp, shipped: MosquittoBroker
) -> None:
    issued = app.devices.issue("gw-1", ["m-a", "m-b"])
    assert issued.created and issued.meter_ids == ("m-a", "m-b")
    now = int(time.time() * 1000)
    with (
        Probe(shipped, issued.username, issued.password) as v5,
        Probe(shipped, issued.username, issued.password, mqtt.MQTTv311) as v311,
    ):
        assert v5.connect_result == "Success" and v311.connect_result == "Success"
        assert v5.publish("energy/meters/m-a", encode(reading("m-a", 1, now))) == "Success"
        # The attack: a huge counter jump on the victim's topic, with the payload naming it.
        forged = encode(reading("m-victim", 10**6, now, import_kwh=500.0))
        assert v5.publish("energy/meters/m-victim", forged) == "Not authorized"
        v311.publish("energy/meters/m-victim", forged)  # MQTT 3.1.1 has no refusal code: dropped
        # A payload lying about its meter on the device's own topic is ingest's TOPIC_MISMATCH.
        assert v5.publish("energy/meters/m-b", forged) == "Success"
        assert v5.publish("energy/meters/m-b", encode(reading("m-b", 1, now))) == "Success"
        assert wait_for(lambda: stored(app, "m-b") == 1, 10)
        assert stored(app, "m-a") == 1 and stored(app, "m-victim") == 0
        assert rows(app.config.db_url, "select reason from dead_letters") == [("TOPIC_MISMATCH",)]


def test_nobody_but_ingest_reads_meter_topics(app: IngestApp, shipped: MosquittoBroker) -> None:
    issued = app.devices.issue("gw-2", ["m-a"])
    with Probe(shipped, issued.username, issued.password) as probe:
        for topic in (
            "energy/meters/m-victim",
            "energy/meters/m-a",  # not even its own: readings go to ingest only
            "energy/meters/#",
            "#",
            "$share/ingest/energy/meters/+",
            "$share/ingest/#",
            "$share/other/energy/meters/+",
        ):
            assert probe.subscribe(topic) == "Not authorized", topic
        assert probe.subscribe("energy/ingest/+/subscribed") == "Granted QoS 1"  # consumer markers
        assert (
            probe.publish("energy/meters/m-a", encode(reading("m-a", 1, int(time.time() * 1000))))
            == "Success"
        )
        assert wait_for(lambda: stored(app, "m-a") == 1, 10)
        assert [t for t in probe.messages if t.startswith("energy/meters")] == []
        # Nor can a device change the broker's access control.
        assert probe.publish("$CONTROL/dynamic-security/v1", b'{"commands":[]}') == "Not authorized"


def test_revoked_device_is_cut_off_and_cannot_reconnect(app: IngestApp, shipped: MosquittoBroker) -> None:
    issued = app.devices.issue("gw-3", ["m-a"])
    with Probe(shipped, issued.username, issued.password) as probe:
        assert probe.connect_result == "Success"
        assert app.devices.revoke_device("gw-3") == ("m-a",)
        assert wait_for(lambda: bool(probe.disconnects), 5)  # the live session is cut at once
    with Probe(shipped, issued.username, issued.password) as again:
        assert again.connect_result == "Not authorized"
    with pytest.raises(NotFound):
        app.devices.revoke_device("gw-3")


def test_revoking_one_meter_of_a_gateway(app: IngestApp, shipped: MosquittoBroker) -> None:
    issued = app.devices.issue("gw-4", ["m-a", "m-b"])
    with Probe(shipped, issued.username, issued.password) as probe:
        assert app.devices.revoke_meter("m-b") == ("gw-4", False)
        # The plugin drops sessions whose role changed; the gateway logs in again (same password).
        assert wait_for(lambda: bool(probe.disconnects), 5)
    with Probe(shipped, issued.username, issued.password) as again:
        now = int(time.time() * 1000)
        assert again.connect_result == "Success"
        assert again.publish("energy/meters/m-b", encode(reading("m-b", 1, now))) == "Not authorized"
        assert again.publish("energy/meters/m-a", encode(reading("m-a", 1, now))) == "Success"
        assert app.devices.revoke_meter("m-a") == ("gw-4", True)  # its last meter: device gone
        assert wait_for(lambda: bool(again.disconnects), 5)
    assert connect_result(shipped, issued.username, issued.password) == "Not authorized"
    assert stored(app, "m-b") == 0


def test_meters_must_be_registered_and_move_between_devices(app: IngestApp, shipped: MosquittoBroker) -> None:
    with pytest.raises(FailedPrecondition):
        app.devices.issue("gw-5", ["m-a", "m-never-registered"])
    first = app.devices.issue("gw-5", ["m-a", "m-b"])
    second = app.devices.issue("gw-6", ["m-b"])  # m-b moves: gw-5 loses its topics
    time.sleep(0.2)
    with (
        Probe(shipped, first.username, first.password) as old,
        Probe(shipped, second.username, second.password) as new,
    ):
        now = int(time.time() * 1000)
        assert old.publish("energy/meters/m-b", encode(reading("m-b", 1, now))) == "Not authorized"
        assert new.publish("energy/meters/m-b", encode(reading("m-b", 1, now))) == "Success"
        assert old.publish("energy/meters/m-a", encode(reading("m-a", 1, now))) == "Success"
    devices = {d.device_id: d.meter_ids for d in app.devices.page(None, 10)}
    assert devices == {"gw-5": ("m-a",), "gw-6": ("m-b",)}


def test_rotation_mid_stream_loses_no_reading(app: IngestApp, shipped: MosquittoBroker) -> None:
    issued = app.devices.issue("gw-rot", ["m-a", "m-b"])
    settings = MqttSettings.load(
        shipped.address, {"EP_MQTT_USERNAME": issued.username, "EP_MQTT_PASSWORD": issued.password}
    )
    gateway = Gateway(
        "gw-rot", settings, ["m-a", "m-b"], buffer_max=10_000, inflight_max=50, resume_hold_s=0.5
    )
    gateway.start()
    try:
        assert wait_for(lambda: gateway.connected, 10)
        now = int(time.time() * 1000)
        total = 0
        for seq in range(1, 401):
            for meter in ("m-a", "m-b"):
                gateway.enqueue(f"energy/meters/{meter}", encode(reading(meter, seq, now + seq)))
                total += 1
            gateway.pump()
            if seq == 150:
                rotated = app.devices.issue("gw-rot", ["m-a", "m-b"])  # the broker drops the session
                assert not rotated.created and rotated.password != issued.password
                gateway.set_credentials(rotated.username, rotated.password)
            time.sleep(0.002)
        assert wait_for(lambda: gateway.pump() >= 0 and gateway.idle, 30)
        assert wait_for(lambda: stored(app, "m-a") + stored(app, "m-b") == total, 30)
        assert gateway.connects >= 2 and gateway.refused == 0 and gateway.dropped == 0
        assert scalar(app.config.db_url, "select count(*) from dead_letters") == 0
    finally:
        gateway.stop()
    # The old password no longer works.
    with Probe(shipped, issued.username, issued.password) as old:
        assert old.connect_result == "Not authorized"


@pytest.mark.skipif(shutil.which("mosquitto_pub") is None, reason="mosquitto-clients not installed")
@pytest.mark.parametrize("version", ["mqttv311", "mqttv5"])
def test_mosquitto_pub_readings_with_device_credentials(
    app: IngestApp, shipped: MosquittoBroker, version: str
) -> None:
    issued = app.devices.issue("gw-cli", ["m-a"])
    payload = encode(reading("m-a", 1, int(time.time() * 1000)))
    base = ["mosquitto_pub", "-h", "127.0.0.1", "-p", str(shipped.port), "-V", version, "-q", "1"]
    ok = subprocess.run(
        [
            *base,
            "-u",
            issued.username,
            "-P",
            issued.password,
            "-t",
            "energy/meters/m-a",
            "-m",
            payload.decode(),
        ],
        capture_output=True,
        timeout=20,
    )
    assert ok.returncode == 0, ok.stderr
    assert wait_for(lambda: stored(app, "m-a") == 1, 10)
    anonymous = subprocess.run(
        [*base, "-t", "energy/meters/m-a", "-m", payload.decode()], capture_output=True, timeout=20
    )
    assert anonymous.returncode != 0
    assert b"not authori" in anonymous.stderr.lower() or b"refused" in anonymous.stderr.lower()


@pytest.mark.parametrize("protocol", [mqtt.MQTTv311, mqtt.MQTTv5])
def test_paho_readings_from_mqtt_311_and_5(app: IngestApp, shipped: MosquittoBroker, protocol: int) -> None:
    issued = app.devices.issue("gw-paho", ["m-b"])
    with Probe(shipped, issued.username, issued.password, protocol) as probe:
        now = int(time.time() * 1000)
        for seq in range(1, 6):
            probe.publish("energy/meters/m-b", encode(reading("m-b", seq, now + seq)))
        assert wait_for(lambda: stored(app, "m-b") == 5, 10)
