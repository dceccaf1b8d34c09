"""One MQTT connection publishing for a share of the meters, with a bounded outage buffer.

Why a few shared connections and not one per meter: 10,000 TCP connections (and 10,000 paho
threads) would cost far more than the readings themselves. The price is the last will: MQTT gives
each *connection* one will message, not each meter. So:

* each connection ("gateway", like a data concentrator in a real AMI network) has a retained
  status on ``energy/gateways/<gateway_id>/status``, set ``online`` on connect and ``offline`` by
  its last will when the connection dies uncleanly (process killed, network lost);
* each meter has a retained status on ``energy/meters/<meter_id>/status`` naming its gateway,
  ``online`` on every (re)connect and ``offline`` on clean shutdown;
* a meter is online iff its own status is ``online`` AND its gateway's status is ``online``
  (ingest_svc's status tracker applies exactly this rule).

After a reconnect, readings are held until a consumer shows it has re-subscribed (a retained
``energy/ingest/<id>/subscribed`` marker newer than our disconnect) or ``resume_hold_s`` passes:
Mosquitto 2.0 does not restore shared subscriptions from persistence after a broker restart, so
readings published in the gap would match nobody and vanish.

Delivery: readings go into ``pending`` (bounded; when full, the oldest reading is dropped and
counted: the cumulative counters in later readings still carry the energy) and are handed to paho
only while connected and while fewer than ``inflight_max`` are unacknowledged. paho keeps those
few in its session and resends them after a reconnect, so a broker restart loses nothing.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Sequence
from typing import Any

import orjson
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from common.log import get_logger
from common.mqtt import MqttSettings
from meter_sim.payload import encode_status, gateway_status_topic, status_topic

__all__ = ["CONSUMER_MARKERS", "Gateway"]

CONSUMER_MARKERS = "energy/ingest/+/subscribed"

log = get_logger(__name__)


class Gateway:
    def __init__(
        self,
        gateway_id: str,
        broker: MqttSettings,
        meter_ids: Sequence[str],
        buffer_max: int,
        inflight_max: int,
        resume_hold_s: float = 10.0,
    ) -> None:
        self.gateway_id = gateway_id
        self.meter_ids = list(meter_ids)
        self._broker = broker
        self._window = inflight_max
        self.pending: deque[tuple[str, bytes]] = deque(maxlen=buffer_max)
        self.handed = 0  # publishes given to paho (main thread only)
        self.acked = 0  # PUBACKs received (paho thread only)
        self.dropped = 0
        self.connects = 0
        self._connected = threading.Event()
        self._announce = False
        self._resume_hold_s = resume_hold_s
        self._disconnected_ms = 0  # wall time of the last lost connection (0: never connected)
        self._held_since = 0.0  # monotonic time readings started being held, 0 when not holding
        self._consumer_seen_ms = 0  # newest consumer subscription marker
        # Publishes not yet acknowledged, by packet id: on a lost connection they go back to the
        # front of ``pending`` and a fresh client is made, so that paho does not resend them the
        # instant it reconnects, ahead of the consumer-resubscribed gate below.
        self._unacked: dict[int, tuple[str, bytes, bool]] = {}
        self._early_acks: set[int] = set()
        self._lock = threading.Lock()
        self._last_attempt = 0.0
        self.client = self._make_client()

    def _make_client(self) -> mqtt.Client:
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.gateway_id,
            protocol=mqtt.MQTTv5,
            reconnect_on_failure=False,
        )
        client.will_set(
            gateway_status_topic(self.gateway_id),
            encode_status("offline", self.gateway_id, 0),
            qos=1,
            retain=True,
        )
        self._broker.configure(client)
        # Our own window bounds paho's queue; let paho put all of them on the wire.
        client.max_inflight_messages_set(0)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.on_message = self._on_marker
        return client

    # --- paho thread -------------------------------------------------------------------
    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            log.warning("gateway_connect_refused", gateway=self.gateway_id, reason=str(reason))
            return
        self.connects += 1
        client.subscribe(CONSUMER_MARKERS, qos=1)
        if self._disconnected_ms:
            self._held_since = time.monotonic()
        self._announce = True
        self._connected.set()
        log.info("gateway_connected", gateway=self.gateway_id, connects=self.connects)

    def _on_disconnect(self, _c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        self._connected.clear()
        self._disconnected_ms = int(time.time() * 1000)
        log.info("gateway_disconnected", gateway=self.gateway_id, reason=str(reason))

    def _on_marker(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        try:
            self._consumer_seen_ms = max(self._consumer_seen_ms, int(orjson.loads(msg.payload)["ts_ms"]))
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            pass

    def _on_publish(self, client: mqtt.Client, _u: Any, mid: int, _reason: Any, _p: Any) -> None:
        # Called with paho's own lock held: take ours only briefly, never call paho under it.
        if client is not self.client:
            return
        with self._lock:
            if self._unacked.pop(mid, None) is None:
                self._early_acks.add(mid)
        self.acked += 1

    # --- main thread -------------------------------------------------------------------
    def start(self) -> None:
        self._last_attempt = time.monotonic()
        self.client.connect_async(
            self._broker.host, self._broker.port, keepalive=self._broker.keepalive_s, clean_start=True
        )
        self.client.loop_start()

    def _recycle(self) -> None:
        """Replace a dead connection: unacknowledged publishes go back to the buffer's front."""
        old = self.client
        old.loop_stop()
        with self._lock:
            back = [(t, p) for t, p, retain in self._unacked.values() if not retain]
            self._unacked.clear()
            self._early_acks.clear()
        self.pending.extendleft(reversed(back))
        self.handed = self.acked = 0
        self.client = self._make_client()
        self.start()

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    @property
    def unacked(self) -> int:
        return len(self._unacked)

    @property
    def idle(self) -> bool:
        """Everything handed over has been acknowledged by the broker."""
        return not self.pending and self.unacked == 0

    def enqueue(self, topic: str, payload: bytes) -> None:
        if len(self.pending) == self.pending.maxlen:
            self.dropped += 1  # deque drops the oldest on append
        self.pending.append((topic, payload))

    def _publish(self, topic: str, payload: bytes, retain: bool = False) -> None:
        info = self.client.publish(topic, payload, qos=1, retain=retain)
        with self._lock:
            if info.mid in self._early_acks:
                self._early_acks.discard(info.mid)
            else:
                self._unacked[info.mid] = (topic, payload, retain)
        self.handed += 1

    def _publish_statuses(self, status: str) -> None:
        now_ms = int(time.time() * 1000)
        for meter_id in self.meter_ids:
            self._publish(status_topic(meter_id), encode_status(status, self.gateway_id, now_ms), retain=True)
        self._publish(
            gateway_status_topic(self.gateway_id), encode_status(status, self.gateway_id, now_ms), retain=True
        )

    def pump(self) -> int:
        """Hand buffered readings to paho while connected and the window allows; returns how many."""
        if not self.connected:
            if time.monotonic() - self._last_attempt > 1.0:
                self._recycle()
            return 0
        if self._announce:
            self._announce = False
            self._publish_statuses("online")
        if self._held_since:
            resubscribed = self._consumer_seen_ms >= self._disconnected_ms
            if not resubscribed and time.monotonic() - self._held_since < self._resume_hold_s:
                return 0
            self._held_since = 0.0
        sent = 0
        room = self._window - self.unacked
        while room > 0 and self.pending:
            topic, payload = self.pending.popleft()
            self._publish(topic, payload)
            room -= 1
            sent += 1
        return sent

    def stop(self, timeout: float = 3.0) -> None:
        """Flush, mark every meter offline (retained), then disconnect cleanly (no will).

        Only while connected: with the broker gone (it often stops together with us) waiting
        cannot help, and what is left unsent is carried by the cumulative counters of later
        readings, which resume from the state file.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.connected and not self.idle:
            self.pump()
            time.sleep(0.01)
        if self.connected:
            self._publish_statuses("offline")
            while time.monotonic() < deadline and self.unacked > 0:
                time.sleep(0.01)
        self.client.disconnect()
        self.client.loop_stop()
