"""MQTT side of ingest: a persistent, shared, manually acknowledged QoS 1 subscription.

Design (why each piece):
* ``$share/<group>/energy/meters/+``: replicas split the stream.
* clean_start=False + Session Expiry: the broker queues readings for us while we are down.
* manual_ack: PUBACK only after the reading is committed (or dead-lettered), so kill -9 loses
  nothing; the broker redelivers whatever was not acknowledged.
* Receive Maximum: bounds how many unacknowledged readings the broker sends us, and with it our
  memory; it must exceed the batch size or batches could never fill.
* Our own network thread (not paho's loop_start): acknowledgements are sent from the same thread
  that notices disconnects and reconnects. Packet ids are per connection, so every connection
  starts a new *epoch* and acks from an older epoch are dropped instead of being sent on the new
  connection, where the same id may name a different, not yet stored, message. The broker
  redelivers those messages; they are then recognised as already stored and acked.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from common.log import get_logger

__all__ = ["READINGS_FILTER", "Incoming", "MqttSubscriber"]

log = get_logger(__name__)

READINGS_FILTER = "energy/meters/+"
# Retained "I am subscribed" marker, published once our subscription is granted. Mosquitto 2.0
# does not restore *shared* subscriptions from its persistence file after a restart, so readings
# published before we re-subscribe would match no one; publishers that see a marker newer than
# their own reconnect know a consumer is subscribed again (see meter_sim/gateway.py).
SUBSCRIBED_TOPIC = "energy/ingest/{client_id}/subscribed"


@dataclass(frozen=True, slots=True)
class Incoming:
    topic: str
    payload: bytes
    mid: int
    qos: int
    dup: bool
    epoch: int
    received_ms: int


class MqttSubscriber:
    def __init__(
        self,
        host: str,
        port: int,
        client_id: str,
        on_message: Callable[[Incoming], None],
        share_group: str = "ingest",
        session_expiry_s: int = 7 * 86400,
        receive_maximum: int = 10000,
        extra_filters: tuple[str, ...] = (),
        on_connected: Callable[[bool], None] | None = None,
    ) -> None:
        self._host, self._port = host, port
        self._deliver = on_message
        self._on_connected = on_connected
        self.filters = (f"$share/{share_group}/{READINGS_FILTER}", *extra_filters)
        self.epoch = 0
        self.connected = False
        self._acks: deque[tuple[int, int, int]] = deque()
        self._stop = threading.Event()
        self.subscribed = False
        self._thread: threading.Thread | None = None
        self._props = Properties(PacketTypes.CONNECT)
        self._props.SessionExpiryInterval = session_expiry_s
        self._props.ReceiveMaximum = receive_maximum
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5, manual_ack=True
        )
        client.on_connect = self._handle_connect
        client.on_message = self._handle_message
        client.on_disconnect = self._handle_disconnect
        client.on_subscribe = self._handle_subscribe
        self.client = client
        self._marker = SUBSCRIBED_TOPIC.format(client_id=client_id)

    # --- callbacks (network thread) -----------------------------------------------------
    def _handle_connect(self, client: mqtt.Client, _u: Any, flags: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            log.warning("mqtt_connect_refused", reason=str(reason))
            return
        self.connected = True
        client.subscribe([(topic, 1) for topic in self.filters])
        log.info("mqtt_connected", epoch=self.epoch, session_present=bool(flags.session_present))
        if self._on_connected is not None:
            self._on_connected(bool(flags.session_present))

    def _handle_subscribe(self, client: mqtt.Client, _u: Any, _mid: int, reasons: Any, _p: Any) -> None:
        if all(not r.is_failure for r in reasons):
            self.subscribed = True  # granted: from now on the broker routes readings to us
            client.publish(self._marker, orjson.dumps({"ts_ms": int(time.time() * 1000)}), qos=1, retain=True)

    def _handle_disconnect(self, _c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        self.connected = False
        self.subscribed = False
        log.warning("mqtt_disconnected", reason=str(reason))

    def _handle_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        self._deliver(
            Incoming(
                topic=msg.topic,
                payload=bytes(msg.payload),
                mid=msg.mid,
                qos=msg.qos,
                dup=bool(msg.dup),
                epoch=self.epoch,
                received_ms=int(time.time() * 1000),
            )
        )

    # --- any thread ---------------------------------------------------------------------
    def ack(self, message: Incoming) -> None:
        """Queue the PUBACK; the network thread sends it if the connection is still the same."""
        if message.qos > 0:
            self._acks.append((message.epoch, message.mid, message.qos))

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="mqtt-subscriber", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    # --- network thread -----------------------------------------------------------------
    def _flush_acks(self) -> None:
        while self._acks:
            epoch, mid, qos = self._acks.popleft()
            if epoch == self.epoch and self.connected:
                self.client.ack(mid, qos)

    def _connect(self) -> bool:
        self.epoch += 1
        self.connected = False
        try:
            self.client.connect(
                self._host, self._port, keepalive=15, clean_start=False, properties=self._props
            )
            return True
        except OSError as exc:
            log.warning("mqtt_connect_failed", error=str(exc))
            return False

    def _run(self) -> None:
        delay = 0.2
        up = self._connect()
        while not self._stop.is_set():
            if not up:
                self._stop.wait(delay)
                delay = min(delay * 2, 2.0)
                up = self._connect()
                continue
            rc = self.client.loop(timeout=0.005)
            self._flush_acks()
            if rc != mqtt.MQTT_ERR_SUCCESS:
                self.connected = False
                up = False
            elif self.connected:
                delay = 0.2
        self._flush_acks()
        try:
            self.client.disconnect()
        except Exception:  # noqa: BLE001 - best effort on shutdown
            pass
