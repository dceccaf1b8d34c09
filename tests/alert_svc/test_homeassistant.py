"""Home Assistant MQTT discovery, checked field by field against the documented format
(https://www.home-assistant.io/integrations/mqtt/#mqtt-discovery), as a broker delivers it."""

from __future__ import annotations

import json
import re
import threading

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from alert_svc import homeassistant
from alert_svc.homeassistant import BrokerTarget
from alert_svc.targets import TargetPolicy
from tests.conftest import Broker
from tests.mqtt_identities import HARNESS_PASSWORD, HARNESS_USER, login

# <discovery_prefix>/<component>/[<node_id>/]<object_id>/config; ids from [a-zA-Z0-9_-].
TOPIC = re.compile(
    r"^(?P<prefix>[^/]+)/(?P<component>[a-z_]+)/(?P<node>[a-zA-Z0-9_-]+)/(?P<object>[a-zA-Z0-9_-]+)/config$"
)
SENSOR_KEYS = {  # documented options of an MQTT sensor (full names) this feed may use
    "name",
    "unique_id",
    "state_topic",
    "unit_of_measurement",
    "state_class",
    "device_class",
    "icon",
    "json_attributes_topic",
    "device",
    "origin",
    "value_template",
    "availability_topic",
}
DEVICE_KEYS = {"identifiers", "name", "manufacturer", "model", "sw_version", "hw_version", "connections"}
ORIGIN_KEYS = {"name", "sw_version", "support_url"}


def _retained(broker: Broker, filters: list[str], count: int) -> dict[str, tuple[bytes, bool]]:
    got: dict[str, tuple[bytes, bool]] = {}
    done = threading.Event()
    client = login(mqtt.Client(CallbackAPIVersion.VERSION2, client_id="ha-check"))

    def on_message(_c: object, _u: object, msg: mqtt.MQTTMessage) -> None:
        got[msg.topic] = (msg.payload, bool(msg.retain))
        if len(got) >= count:
            done.set()

    client.on_message = on_message
    client.on_connect = lambda c, *_: c.subscribe([(f, 1) for f in filters])
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    done.wait(15)
    client.disconnect()
    client.loop_stop()
    return got


@pytest.mark.parametrize(
    ("unit", "price", "forecast", "state"),
    [
        # A NOK installation: øre/kWh, as its home page (115 øre = 100 EUR/MWh at 11.50 NOK/EUR).
        ("øre/kWh", 115.0, 161.0, (b"115.00", b"161.00")),
        ("EUR/MWh", 42.5, 40.0, (b"42.50", b"40.00")),  # an EUR installation keeps EUR/MWh
    ],
)
def test_discovery_configs_follow_the_documented_format(
    mosquitto: Broker, unit: str, price: float, forecast: float, state: tuple[bytes, bytes]
) -> None:
    import ipaddress

    target = BrokerTarget(
        "127.0.0.1", mosquitto.port, False, HARNESS_USER, HARNESS_PASSWORD, "homeassistant", ""
    )
    household = "sim-h000000"
    messages = homeassistant.discovery_messages(target, household, "1", unit)
    messages += homeassistant.state_messages(
        target, household, price, {"zone": "NO1"}, forecast, {"p10": 30.0, "p90": 55.0}
    )
    policy = TargetPolicy((ipaddress.ip_network("127.0.0.0/8"),))
    homeassistant.publish(target, "ep-test", messages, policy, timeout=10)
    # Retained: a Home Assistant that subscribes later (or restarts) still gets every config and state.
    got = _retained(mosquitto, ["homeassistant/#", "energypulse/#"], count=len(messages))
    configs = {t: json.loads(p) for t, (p, _) in got.items() if t.endswith("/config")}
    assert len(configs) == 3 and all(got[t][1] for t in got)

    devices = []
    for topic, config in configs.items():
        m = TOPIC.match(topic)
        assert m, topic
        assert (m["prefix"], m["component"], m["node"]) == (
            "homeassistant",
            "sensor",
            "energypulse_sim-h000000",
        )
        assert m["object"] in {"price", "forecast", "alert"}
        assert set(config) <= SENSOR_KEYS, set(config) - SENSOR_KEYS
        assert config["unique_id"] == f"energypulse_sim-h000000_{m['object']}"
        assert config["name"] and isinstance(config["name"], str)
        assert config["state_topic"] == f"energypulse/sim-h000000/{m['object']}/state"
        assert config["json_attributes_topic"] == f"energypulse/sim-h000000/{m['object']}/attributes"
        assert set(config["device"]) <= DEVICE_KEYS and set(config["origin"]) <= ORIGIN_KEYS
        assert config["device"]["identifiers"] == ["energypulse_sim-h000000"]
        assert config["device"]["manufacturer"] == "EnergyPulse" and config["origin"]["name"]
        devices.append(json.dumps(config["device"], sort_keys=True))
        if m["object"] in ("price", "forecast"):
            # The unit of the states published below (HA shows and records them in it).
            assert config["unit_of_measurement"] == unit and config["state_class"] == "measurement"
        else:
            assert "unit_of_measurement" not in config  # a text state has no unit
    assert len(set(devices)) == 1  # one device groups the three entities
    assert len({c["unique_id"] for c in configs.values()}) == 3

    assert got["energypulse/sim-h000000/price/state"][0] == state[0]
    assert got["energypulse/sim-h000000/forecast/state"][0] == state[1]
    # A state is a plain number HA parses for a sensor with a unit (no unit or text in it).
    assert [float(s.decode()) for s in state] == [price, forecast]
    assert json.loads(got["energypulse/sim-h000000/forecast/attributes"][0]) == {"p10": 30.0, "p90": 55.0}


def test_household_ids_become_valid_node_ids_and_alert_states_fit() -> None:
    target = BrokerTarget("h", 1883, False, "", "", "", "")
    [config, *_] = homeassistant.discovery_messages(target, "odd id/with+chars#", "1", "øre/kWh")
    assert TOPIC.match(config.topic) and "odd_id_with_chars_" in config.topic
    long = homeassistant.alert_messages(target, "h1", {"title": "x" * 400})
    state = next(m for m in long if m.topic.endswith("/alert/state"))
    assert len(state.payload) <= 255  # Home Assistant's limit for a state


def test_a_refused_login_is_a_delivery_error(mosquitto: Broker) -> None:
    import ipaddress

    from alert_svc.webhook import DeliveryError

    target = BrokerTarget("127.0.0.1", mosquitto.port, False, HARNESS_USER, "wrong", "homeassistant", "")
    with pytest.raises(DeliveryError, match="refused"):
        homeassistant.publish(
            target, "ep-bad", [], TargetPolicy((ipaddress.ip_network("127.0.0.0/8"),)), timeout=10
        )
