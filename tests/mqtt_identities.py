"""Who the tests' brokers let in: the shipped identities plus one test harness.

Every test broker runs the shipped configuration (deploy/mosquitto/mosquitto.conf, the
dynamic-security plugin, no anonymous access) with ``ingest`` as the system ships it. Tests that
are not about access control publish and subscribe as ``test-harness``, whose role allows every
topic; the access-control tests (tests/ingest_svc/devices/test_broker_acl.py) use only the
shipped roles. Passwords are random per test session.
"""

from __future__ import annotations

import os
from typing import Any

import paho.mqtt.client as mqtt

from common.mqtt_auth import new_secret, pbkdf2_sha512
from contracts.mqtt.access import device_acls, device_role

__all__ = [
    "HARNESS_PASSWORD",
    "HARNESS_USER",
    "INGEST_PASSWORD",
    "device_client",
    "harness_clients",
    "harness_roles",
    "login",
]

# Random per session; put in the environment so that child processes (a publisher spawned by a
# benchmark, an ingest started as a process) importing this module log in with the same ones.
INGEST_PASSWORD = os.environ.setdefault("EP_TEST_MQTT_INGEST_PASSWORD", new_secret())
HARNESS_USER = "test-harness"
HARNESS_PASSWORD = os.environ.setdefault("EP_TEST_MQTT_HARNESS_PASSWORD", new_secret())


def _allow(acltype: str, topic: str) -> dict[str, Any]:
    return {"acltype": acltype, "topic": topic, "priority": 0, "allow": True}


def harness_clients() -> list[dict[str, Any]]:
    return [
        {"username": HARNESS_USER, "roles": [{"rolename": HARNESS_USER}]} | pbkdf2_sha512(HARNESS_PASSWORD)
    ]


def harness_roles() -> list[dict[str, Any]]:
    acls = []
    for topic in ("#", "$share/#", "$CONTROL/#"):
        acls += [
            _allow("publishClientSend", topic),
            _allow("publishClientReceive", topic),
            _allow("subscribePattern", topic),
        ]
    return [{"rolename": HARNESS_USER, "acls": acls}]


def device_client(
    device_id: str, password: str, meter_ids: list[str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A device exactly as provisioning makes it (client, role), for a broker's first config."""
    role = device_role(device_id)
    client = {"username": device_id, "roles": [{"rolename": role}]} | pbkdf2_sha512(password)
    return client, {"rolename": role, "acls": device_acls(device_id, meter_ids)}


def login(client: mqtt.Client) -> mqtt.Client:
    """Log a paho client in as the test harness."""
    client.username_pw_set(HARNESS_USER, HARNESS_PASSWORD)
    return client
