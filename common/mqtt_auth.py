"""Broker access-control plumbing: password hashes and Mosquitto's dynamic-security control API.

What the roles allow is the topic contract's business (contracts/mqtt/access.py). In short
(docs/broker-security.md):

* ``ingest`` (every ingest replica, one identity): subscribes to the meter topics, alone, and is the
  only member of ``$share/ingest``; publishes its retained consumer markers; administers the
  broker's clients and roles through ``$CONTROL/dynamic-security/v1`` (provisioning, revocation).
* a device (a meter, or a gateway speaking for several meters; username = device id): publishes
  only to the reading and status topics of its own meters and to its own gateway status (its last
  will), and reads the consumer markers. One role per device, named ``device:<device id>``.
* nobody else: there is no anonymous access and the default ACL denies publishing and subscribing.

The first configuration is a JSON document the plugin reads (contracts/mqtt/access.py, with the
password hashes made here: PBKDF2-SHA512, the format Mosquitto 2 reads, so no ``mosquitto_passwd``
or ``mosquitto_ctrl`` is needed); afterwards ingest changes it live with :class:`DynsecControl`.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from common.mqtt import MqttSettings

__all__ = [
    "CONTROL_TOPIC",
    "ControlError",
    "DynsecControl",
    "new_secret",
    "password_file_line",
    "pbkdf2_sha512",
]

CONTROL_TOPIC = "$CONTROL/dynamic-security/v1"
# Iterations of PBKDF2-SHA512 for broker passwords (Mosquitto's own tools default to 101 in 2.0,
# 1000 later): every device connect pays one hash in the broker, so not the 600k an interactive
# login would use; the passwords are 32 random bytes, which no iteration count could strengthen.
ITERATIONS = 1000
_SALT_BYTES = 12


def new_secret(nbytes: int = 32) -> str:
    """A random secret: URL-safe, no padding, usable in env files, URLs and JSON unchanged."""
    return secrets.token_urlsafe(nbytes)


def pbkdf2_sha512(password: str, salt: bytes | None = None, iterations: int = ITERATIONS) -> dict[str, Any]:
    """The dynamic-security client fields ``password``/``salt``/``iterations`` for ``password``."""
    salt = salt if salt is not None else secrets.token_bytes(_SALT_BYTES)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations, dklen=64)
    return {
        "password": base64.b64encode(digest).decode(),
        "salt": base64.b64encode(salt).decode(),
        "iterations": iterations,
    }


def password_file_line(username: str, password: str, salt: bytes | None = None) -> str:
    """A ``password_file`` line in Mosquitto 2's ``$7$`` (PBKDF2-SHA512) format, for operators who
    prefer password_file + acl_file to the plugin (docs/broker-security.md)."""
    fields = pbkdf2_sha512(password, salt, 101)
    return f"{username}:$7${fields['iterations']}${fields['salt']}${fields['password']}"


class ControlError(Exception):
    """The broker refused or did not answer a dynamic-security command."""


@dataclass(frozen=True)
class _Answer:
    command: str
    error: str | None


class DynsecControl:
    """Sends dynamic-security commands to the broker as ``ingest`` and waits for the answers.

    One MQTT v5 connection (paho) kept open; each call publishes one batch of commands with a
    correlation id and waits for the matching response. Thread-safe (one call at a time).
    """

    def __init__(self, broker: MqttSettings, client_id: str, timeout_s: float = 10.0) -> None:
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        self._timeout_s = timeout_s
        self._lock = threading.Lock()
        self._cond = threading.Condition()
        self._answers: dict[str, list[_Answer]] = {}
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5, clean_session=None
        )
        broker.configure(self._client)
        self._client.on_message = self._on_message
        self._client.on_connect = self._on_connect
        self._subscribed = threading.Event()
        self._broker = broker
        self._started = False

    def _start(self) -> None:
        """Connect on first use (paho reconnects by itself after that)."""
        if not self._started:
            self._started = True
            self._client.connect_async(
                self._broker.host, self._broker.port, keepalive=self._broker.keepalive_s
            )
            self._client.loop_start()

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if not reason.is_failure:
            client.subscribe(f"{CONTROL_TOPIC}/response", qos=1)
            self._subscribed.set()

    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        try:
            body = orjson.loads(message.payload)
        except orjson.JSONDecodeError:
            return
        # Each command carries a correlationData that its response echoes (Mosquitto 2.0).
        with self._cond:
            for r in body.get("responses", []):
                correlation = r.get("correlationData")
                if isinstance(correlation, str):
                    self._answers.setdefault(correlation.split(":", 1)[0], []).append(
                        _Answer(r.get("command", ""), r.get("error"))
                    )
            self._cond.notify_all()

    def run(self, commands: Sequence[Mapping[str, Any]], tolerate: Iterable[str] = ()) -> None:
        """Run commands in order; an error other than those in ``tolerate`` raises ControlError."""
        if not commands:
            return
        allowed = set(tolerate)
        with self._lock:
            self._start()
            if not self._subscribed.wait(self._timeout_s):
                raise ControlError("not connected to the broker's dynamic-security control topic")
            correlation = uuid.uuid4().hex
            tagged = [{**c, "correlationData": f"{correlation}:{i}"} for i, c in enumerate(commands)]
            self._client.publish(CONTROL_TOPIC, orjson.dumps({"commands": tagged}), qos=1)
            with self._cond:
                done = lambda: len(self._answers.get(correlation, ())) >= len(tagged)  # noqa: E731
                if not self._cond.wait_for(done, self._timeout_s):
                    raise ControlError("the broker did not answer the dynamic-security command")
                answers = self._answers.pop(correlation)
        for answer in answers:
            if answer.error and answer.error not in allowed:
                raise ControlError(f"{answer.command}: {answer.error}")

    def close(self) -> None:
        if self._started:
            self._client.disconnect()
            self._client.loop_stop()
