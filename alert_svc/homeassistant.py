"""MQTT delivery to a household's own broker, in Home Assistant's MQTT discovery format.

Discovery (https://www.home-assistant.io/integrations/mqtt/#mqtt-discovery, single-component
payloads): one retained JSON config per entity on
``<discovery_prefix>/<component>/<node_id>/<object_id>/config``, where node_id and object_id use
only ``[a-zA-Z0-9_-]``; each config has a ``unique_id``, a ``device`` (``identifiers``, ``name``,
``manufacturer``, ``model``) shared by the household's three entities, the ``state_topic`` and
``unit_of_measurement``, and an ``origin`` naming this software. The entities:

* ``sensor`` ``price``: the spot price of the current period (published or forecast), ex VAT;
* ``sensor`` ``forecast``: the next hour's median forecast, with P10/P90 as attributes;

both in the installation's unit (:func:`alert_svc.prices.price_unit`: øre/kWh on a NOK
installation, as its home page; EUR/MWh on an EUR one), which is their ``unit_of_measurement``;
* ``sensor`` ``alert``: the newest alert's title, its fields as attributes.

States are retained too, so Home Assistant shows the last value after a restart. Connections go
to the address the target policy checked; with TLS the broker's certificate must match the host
name (which a rebound name cannot present for an internal address).
"""

from __future__ import annotations

import json
import re
import ssl
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from alert_svc.targets import TargetPolicy
from alert_svc.webhook import DeliveryError

__all__ = [
    "BrokerTarget",
    "Message",
    "alert_messages",
    "discovery_messages",
    "publish",
    "state_messages",
]

MANUFACTURER = "EnergyPulse"
_ID_CHARS = re.compile(r"[^a-zA-Z0-9_-]")


@dataclass(frozen=True)
class BrokerTarget:
    host: str
    port: int
    tls: bool
    username: str
    password: str
    discovery_prefix: str
    base_topic: str


@dataclass(frozen=True)
class Message:
    topic: str
    payload: bytes
    retain: bool


def node_id(household_id: str) -> str:
    return "energypulse_" + _ID_CHARS.sub("_", household_id)


def base_topic(target: BrokerTarget, household_id: str) -> str:
    return target.base_topic or f"energypulse/{_ID_CHARS.sub('_', household_id)}"


def _json(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":"), sort_keys=True).encode()


def discovery_messages(target: BrokerTarget, household_id: str, version: str, unit: str) -> list[Message]:
    """``unit``: of the price and forecast states (state_messages' values)."""
    node = node_id(household_id)
    base = base_topic(target, household_id)
    device = {
        "identifiers": [node],
        "name": f"EnergyPulse {household_id}",
        "manufacturer": MANUFACTURER,
        "model": "Household price and alert feed",
        "sw_version": version,
    }
    origin = {"name": "energypulse-alert_svc", "sw_version": version}
    entities = {
        "price": {
            "name": "Spot price",
            "unit_of_measurement": unit,
            "state_class": "measurement",
            "icon": "mdi:cash",
            "json_attributes_topic": f"{base}/price/attributes",
        },
        "forecast": {
            "name": "Next hour price forecast",
            "unit_of_measurement": unit,
            "state_class": "measurement",
            "icon": "mdi:chart-bell-curve",
            "json_attributes_topic": f"{base}/forecast/attributes",
        },
        "alert": {
            "name": "Latest alert",
            "icon": "mdi:bell-alert",
            "json_attributes_topic": f"{base}/alert/attributes",
        },
    }
    out = []
    for object_id, extra in entities.items():
        config = {
            "unique_id": f"{node}_{object_id}",
            "state_topic": f"{base}/{object_id}/state",
            "device": device,
            "origin": origin,
            **extra,
        }
        topic = f"{target.discovery_prefix or 'homeassistant'}/sensor/{node}/{object_id}/config"
        out.append(Message(topic, _json(config), retain=True))
    return out


def state_messages(
    target: BrokerTarget,
    household_id: str,
    price: float,
    price_attributes: dict[str, object],
    forecast: float | None,
    forecast_attributes: dict[str, object],
) -> list[Message]:
    """``price``, ``forecast``: in the unit discovery_messages announced."""
    base = base_topic(target, household_id)
    out = [
        Message(f"{base}/price/attributes", _json(price_attributes), retain=True),
        Message(f"{base}/price/state", f"{price:.2f}".encode(), retain=True),
    ]
    if forecast is not None:
        out += [
            Message(f"{base}/forecast/attributes", _json(forecast_attributes), retain=True),
            Message(f"{base}/forecast/state", f"{forecast:.2f}".encode(), retain=True),
        ]
    return out


def alert_messages(target: BrokerTarget, household_id: str, alert: dict[str, object]) -> list[Message]:
    base = base_topic(target, household_id)
    title = str(alert.get("title", ""))[:250]  # Home Assistant keeps states up to 255 characters
    return [
        Message(f"{base}/alert/attributes", _json(alert), retain=True),
        Message(f"{base}/alert/state", title.encode(), retain=True),
        # Not retained: one message per alert for automations that trigger on the topic.
        Message(f"{base}/alerts", _json(alert), retain=False),
    ]


def publish(
    target: BrokerTarget,
    client_id: str,
    messages: Sequence[Message],
    policy: TargetPolicy,
    timeout: float,
) -> None:
    """Connect, publish every message at QoS 1, wait for the acknowledgements, disconnect.
    DeliveryError when the broker refuses or does not answer. Sync: run in a thread."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    address = policy.check(target.host, target.port)
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv311)
    if target.username:
        client.username_pw_set(target.username, target.password or None)
    if target.tls:
        client.tls_set_context(ssl.create_default_context())
    connected = threading.Event()
    outcome: list[str] = []

    def on_connect(_c: object, _u: object, _f: object, reason: object, _p: object = None) -> None:
        outcome.append(str(reason))
        connected.set()

    client.on_connect = on_connect
    try:
        # TLS checks the certificate against the name; plain TCP goes to the checked address.
        client.connect(target.host if target.tls else address, target.port, keepalive=30)
    except (OSError, ValueError) as exc:
        raise DeliveryError(f"broker unreachable: {exc}") from None
    client.loop_start()
    try:
        if not connected.wait(timeout):
            raise DeliveryError("broker did not answer CONNECT")
        if outcome[0] != "Success":
            raise DeliveryError(f"broker refused the connection: {outcome[0]}")
        infos = [client.publish(m.topic, m.payload, qos=1, retain=m.retain) for m in messages]
        for info in infos:
            info.wait_for_publish(timeout)
            if not info.is_published():
                raise DeliveryError("broker did not acknowledge a message")
    except RuntimeError as exc:  # paho: publish on a connection that dropped
        raise DeliveryError(str(exc)) from None
    finally:
        client.disconnect()
        client.loop_stop()
