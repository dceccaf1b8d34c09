"""The broker side of provisioning: Mosquitto's dynamic-security plugin, driven over MQTT.

A port (:class:`BrokerAccess`) so the rules in ``service.py`` do not depend on one broker; the
Mosquitto implementation sends the plugin's JSON commands as the ``ingest`` identity. EMQX and
HiveMQ map the same operations onto their own authn/authz APIs (docs/broker-security.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from common.mqtt import MqttSettings
from common.mqtt_auth import ControlError, DynsecControl
from contracts.mqtt.access import device_acls, device_role

__all__ = ["BrokerAccess", "MosquittoDynsec", "NoBrokerControl"]


class BrokerAccess(Protocol):
    def put_device(self, device_id: str, meter_ids: Sequence[str], password: str | None) -> None:
        """Create the device or replace its meters; a new ``password`` also cuts its session."""

    def delete_device(self, device_id: str) -> None:
        """Remove the device: its session is cut and its next connect refused."""

    def close(self) -> None:
        """Release the connection to the broker, if any."""


class NoBrokerControl:
    """EP_INGEST_BROKER_CONTROL=none: the broker's access control is managed elsewhere."""

    def put_device(self, device_id: str, meter_ids: Sequence[str], password: str | None) -> None:
        raise ControlError("EP_INGEST_BROKER_CONTROL=none: this ingest does not manage broker access")

    def delete_device(self, device_id: str) -> None:
        raise ControlError("EP_INGEST_BROKER_CONTROL=none: this ingest does not manage broker access")

    def close(self) -> None:
        pass


class MosquittoDynsec:
    def __init__(self, broker: MqttSettings, client_id: str, timeout_s: float = 10.0) -> None:
        self._control = DynsecControl(broker, client_id, timeout_s)

    def put_device(self, device_id: str, meter_ids: Sequence[str], password: str | None) -> None:
        role = device_role(device_id)
        commands: list[dict[str, object]] = [
            # The role is rebuilt whole: its ACLs are exactly this device's meters.
            {"command": "deleteRole", "rolename": role},
            {"command": "createRole", "rolename": role, "acls": device_acls(device_id, meter_ids)},
        ]
        if password is not None:
            commands += [
                {"command": "createClient", "username": device_id, "password": password},
                # Rotation: the plugin disconnects the session that logged in with the old one.
                {"command": "setClientPassword", "username": device_id, "password": password},
            ]
        commands.append({"command": "addClientRole", "username": device_id, "rolename": role})
        self._control.run(commands, tolerate=("Role not found", "Client already exists"))

    def delete_device(self, device_id: str) -> None:
        self._control.run(
            [
                {"command": "deleteClient", "username": device_id},  # also disconnects it
                {"command": "deleteRole", "rolename": device_role(device_id)},
            ],
            tolerate=("Client not found", "Role not found"),
        )

    def close(self) -> None:
        self._control.close()
