"""Who may publish and subscribe where: the broker roles of the topic layout (topics.json).

* ``ingest`` (every ingest replica, one identity): subscribes to the meter and status topics,
  alone, and is the only member of ``$share/ingest``; publishes its retained consumer markers;
  administers clients and roles over ``$CONTROL/dynamic-security/v1`` (provisioning, revocation).
* a device (a meter, or a gateway speaking for several meters; username = device id): publishes
  only to its meters' reading and status topics and its own gateway status (its last will), and
  reads the consumer markers. One role per device, ``device:<device id>``.
* nobody else: no anonymous access; the default ACL denies publishing, subscribing and receiving.

Written for Mosquitto's dynamic-security plugin (:func:`dynsec_document` is its first
configuration); docs/broker-security.md maps the same rules onto EMQX and HiveMQ.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from common.mqtt_auth import CONTROL_TOPIC, pbkdf2_sha512
from contracts.mqtt.topics import (
    CONSUMER_MARKERS,
    READINGS_FILTER,
    STATUS_FILTERS,
    gateway_status_topic,
    reading_topic,
    status_topic,
)

__all__ = ["INGEST_ROLE", "INGEST_USERNAME", "device_acls", "device_role", "dynsec_document", "ingest_acls"]

INGEST_USERNAME = "ingest"
INGEST_ROLE = "ingest"


def _acl(acltype: str, topic: str, allow: bool = True) -> dict[str, Any]:
    return {"acltype": acltype, "topic": topic, "priority": 0, "allow": allow}


def ingest_acls(share_group: str = "ingest") -> list[dict[str, Any]]:
    """What the ingest identity may do (the consumer and the provisioner)."""
    filters = (READINGS_FILTER, *STATUS_FILTERS)
    acls = []
    for topic_filter in filters:
        # Mosquitto checks a shared subscription against its whole filter, $share prefix included.
        acls.append(_acl("subscribePattern", f"$share/{share_group}/{topic_filter}"))
        acls.append(_acl("subscribePattern", topic_filter))
    acls += [
        _acl("publishClientReceive", "energy/#"),
        _acl("publishClientSend", CONSUMER_MARKERS),
        _acl("publishClientSend", CONTROL_TOPIC),
        _acl("subscribeLiteral", f"{CONTROL_TOPIC}/response"),
        _acl("publishClientReceive", f"{CONTROL_TOPIC}/response"),
    ]
    return acls


def device_role(device_id: str) -> str:
    return f"device:{device_id}"


def device_acls(device_id: str, meter_ids: Iterable[str]) -> list[dict[str, Any]]:
    """A device publishes its meters' readings and statuses and its own status; reads markers."""
    acls = []
    for meter_id in sorted(set(meter_ids)):
        acls.append(_acl("publishClientSend", reading_topic(meter_id)))
        acls.append(_acl("publishClientSend", status_topic(meter_id)))
    acls += [
        _acl("publishClientSend", gateway_status_topic(device_id)),
        _acl("subscribePattern", CONSUMER_MARKERS),
        _acl("publishClientReceive", CONSUMER_MARKERS),
    ]
    return acls


def dynsec_document(
    ingest_password: str,
    devices: Mapping[str, tuple[str, Sequence[str]]] | None = None,
    share_group: str = "ingest",
) -> dict[str, Any]:
    """The plugin's first configuration: the ingest identity and optionally some devices
    (``device id -> (password, meter ids)``; tests and tools only, production provisions them)."""
    clients = [
        {"username": INGEST_USERNAME, "textname": "ingest_svc", "roles": [{"rolename": INGEST_ROLE}]}
        | pbkdf2_sha512(ingest_password)
    ]
    roles = [{"rolename": INGEST_ROLE, "acls": ingest_acls(share_group)}]
    for device_id, (password, meters) in (devices or {}).items():
        role = device_role(device_id)
        clients.append({"username": device_id, "roles": [{"rolename": role}]} | pbkdf2_sha512(password))
        roles.append({"rolename": role, "acls": device_acls(device_id, meters)})
    return {
        "defaultACLAccess": {
            "publishClientSend": False,
            "publishClientReceive": False,
            "subscribe": False,
            "unsubscribe": True,
        },
        "clients": clients,
        "groups": [],
        "roles": roles,
    }
