"""MQTT side of ingest: a persistent, shared, manually acknowledged QoS 1 subscription.

Design (why each piece):
* ``$share/<group>/energy/meters/+``: replicas split the stream.
* clean_start=False + Session Expiry: the broker queues readings for us while we are down.
* PUBACK only after the reading is committed (or dead-lettered), so kill -9 loses nothing; the
  broker redelivers whatever was not acknowledged.
* Receive Maximum: bounds how many unacknowledged readings the broker sends us, and with it our
  memory; it must exceed the batch size or batches could never fill.
* Our own network thread: acknowledgements are sent from the same thread that notices
  disconnects and reconnects. Packet ids are per connection, so every connection starts a new
  *epoch* and acks from an older epoch are dropped instead of being sent on the new connection,
  where the same id may name a different, not yet stored, message. The broker redelivers those
  messages; they are then recognised as already stored and acked.
* Our own MQTT v5 client (common/mqtt_wire.py) instead of paho: one large recv() yields
  many PUBLISH packets, delivered to the pipeline as one list; PUBACKs of a batch go out in one
  sendall(). paho's per-message reading capped one process below 10,000 readings/s.
"""

from __future__ import annotations

import select
import socket
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from typing import NamedTuple

import orjson

from common.log import get_logger
from common.mqtt import ConnectionLost, MqttSettings, Waker, close_after_peer, open_session
from common.mqtt_wire import (
    DISCONNECT,
    PINGRESP,
    PUBACK,
    SUBACK,
    Control,
    PacketReader,
    ProtocolError,
    Publish,
    decode_reason,
    decode_suback,
    encode_connect,
    encode_disconnect,
    encode_pingreq,
    encode_pubacks,
    encode_publish,
    encode_subscribe,
)
from contracts.mqtt.topics import READINGS_FILTER, consumer_marker_topic

__all__ = ["Incoming", "MqttSubscriber"]

log = get_logger(__name__)

# Retained "I am subscribed" marker, published once our subscription is granted. Mosquitto 2.0
# does not restore *shared* subscriptions from its persistence file after a restart, so readings
# published before we re-subscribe would match no one; publishers that see a marker newer than
# their own reconnect know a consumer is subscribed again (see meter_sim/gateway.py).

RECV_BYTES = 256 * 1024  # one recv() takes ~1,000 readings when a backlog is queued
MAX_PACKET = 2 * 1024 * 1024  # announced to the broker; larger is a protocol error
IO_TIMEOUT_S = 10.0  # a send or a CONNACK that takes longer means the connection is dead


class Incoming(NamedTuple):
    """One received PUBLISH (a NamedTuple: immutable, and ~3x cheaper to build per message than a
    frozen dataclass)."""

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
        broker: MqttSettings,
        client_id: str,
        on_message: Callable[[Incoming], None] | None = None,
        share_group: str = "ingest",
        session_expiry_s: int = 7 * 86400,
        receive_maximum: int = 10000,
        extra_filters: tuple[str, ...] = (),
        on_connected: Callable[[bool], None] | None = None,
        on_batch: Callable[[list[Incoming]], None] | None = None,
    ) -> None:
        """``on_batch`` gets every message of one socket read as a list (preferred: one queue
        operation per read); otherwise ``on_message`` is called per message."""
        if on_batch is None and on_message is None:
            raise ValueError("on_message or on_batch is required")
        self._broker = broker
        self._host, self._port = broker.host, broker.port
        self._ssl: ssl.SSLContext | None = broker.ssl_context()
        self.client_id = client_id
        self._on_message = on_message
        self._on_batch = on_batch
        self._on_connected = on_connected
        self._session_expiry_s = session_expiry_s
        self._receive_maximum = receive_maximum
        self._keepalive_s = broker.keepalive_s
        self.filters = (f"$share/{share_group}/{READINGS_FILTER}", *extra_filters)
        self._marker = consumer_marker_topic(client_id)
        self.epoch = 0
        self.connected = False
        self.subscribed = False
        self._acks: deque[tuple[int, int]] = deque()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._waker = Waker()  # ack() from the pipeline's threads wakes the network thread
        self._next_id = 0
        self._subscribe_id = 0
        self._sock: socket.socket | None = None

    # --- any thread ---------------------------------------------------------------------
    def ack(self, message: Incoming) -> None:
        """Queue the PUBACK; the network thread sends it if the connection is still the same."""
        if message.qos > 0:
            self._acks.append((message.epoch, message.mid))
            self._waker.wake()

    def ack_many(self, messages: Iterable[Incoming]) -> None:
        self._acks.extend((m.epoch, m.mid) for m in messages if m.qos > 0)
        self._waker.wake()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="mqtt-subscriber", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Send the acks still queued, DISCONNECT (the session stays), and end the thread."""
        self._stop.set()
        self._waker.wake()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._waker.close()

    # --- network thread -----------------------------------------------------------------
    def _run(self) -> None:
        delay = 0.2
        while not self._stop.is_set():
            sock: socket.socket | None = None
            opened = time.monotonic()
            try:
                sock, reader, first = self._open()
                self._serve(sock, reader, first)
            except (OSError, ConnectionLost, ProtocolError) as exc:
                log.warning("mqtt_disconnected", reason=str(exc) or type(exc).__name__, epoch=self.epoch)
            except Exception:  # a bug in a callback must not end intake for good
                log.exception("mqtt_session_failed", epoch=self.epoch)
            finally:
                self.connected = False
                self.subscribed = False
                sock, self._sock = sock or self._sock, None  # _open may fail after connecting
                if sock is not None:
                    sock.close()
            if time.monotonic() - opened > 10.0:
                delay = 0.2  # it was up for a while: reconnect quickly (a broker that accepts and
                # drops us at once is not hammered)
            if not self._stop.is_set():
                self._stop.wait(delay)
                delay = min(delay * 2, 2.0)

    def _open(self) -> tuple[socket.socket, PacketReader, list[Publish | Control]]:
        """Connect and wait for CONNACK; returns what arrived after it in the same reads."""
        self.epoch += 1
        self._acks.clear()  # all of them name packet ids of an older connection
        connect = encode_connect(
            self.client_id,
            self._broker.keepalive_s,
            clean_start=False,
            session_expiry_s=self._session_expiry_s,
            receive_maximum=self._receive_maximum,
            maximum_packet_size=MAX_PACKET,
            username=self._broker.effective_username,
            password=self._broker.effective_password,
        )
        reader = PacketReader(MAX_PACKET)
        sock, connack, rest = open_session(
            self._broker, self._ssl, connect, reader, timeout_s=IO_TIMEOUT_S, recv_bytes=RECV_BYTES
        )
        self._sock = sock
        keepalive = connack.properties.get(0x13)  # Server Keep Alive overrides ours
        self._keepalive_s = keepalive if isinstance(keepalive, int) else self._broker.keepalive_s
        self.connected = True
        self._subscribe_id = self._packet_id()
        sock.sendall(encode_subscribe(self._subscribe_id, [(f, 1) for f in self.filters]))
        log.info("mqtt_connected", epoch=self.epoch, session_present=connack.session_present)
        if self._on_connected is not None:
            self._on_connected(connack.session_present)
        return sock, reader, rest

    def _serve(self, sock: socket.socket, reader: PacketReader, first: list[Publish | Control]) -> None:
        self._last_sent = self._last_recv = time.monotonic()
        ping_sent = 0.0
        self._handle(sock, first)
        tls = sock if isinstance(sock, ssl.SSLSocket) else None
        watch: list[socket.socket | Waker] = [sock, self._waker]
        while not self._stop.is_set():
            now = time.monotonic()
            keepalive = self._keepalive_s
            if keepalive:
                if ping_sent and self._last_recv < ping_sent and now - ping_sent > keepalive:
                    raise ConnectionLost(f"no answer to PINGREQ within {keepalive} s")
                if now - self._last_sent >= keepalive:
                    self._send(sock, encode_pingreq())
                    ping_sent = now
                wait = max(0.01, min(1.0, self._last_sent + keepalive - now))
            else:
                wait = 1.0
            if tls is not None and tls.pending():
                ready: Sequence[object] = [sock]  # TLS: decrypted bytes wait inside the SSL object
            else:
                ready = select.select(watch, [], [], wait)[0]
            if self._waker in ready:
                self._waker.drain()
            if sock in ready:
                data = sock.recv(RECV_BYTES)
                if not data:
                    raise ConnectionLost("broker closed the connection")
                self._last_recv = time.monotonic()
                self._handle(sock, reader.feed(data))
            self._flush_acks(sock)
        # Stopping: the pipeline has stored what it took; acknowledge it, then leave the session.
        self._waker.drain()
        self._flush_acks(sock)
        try:
            self._send(sock, encode_disconnect())
            close_after_peer(sock)
        except OSError:
            pass

    def _handle(self, sock: socket.socket, packets: list[Publish | Control]) -> None:
        if not packets:
            return
        epoch, now_ms = self.epoch, int(time.time() * 1000)
        batch: list[Incoming] = []
        for p in packets:
            if isinstance(p, Publish):
                batch.append(Incoming(p.topic, p.payload, p.mid, p.qos, p.dup, epoch, now_ms))
                continue
            if batch:  # keep the order: what came before a DISCONNECT is still delivered
                self._deliver(batch)
                batch = []
            self._control(sock, p)
        if batch:
            self._deliver(batch)

    def _deliver(self, batch: list[Incoming]) -> None:
        if self._on_batch is not None:
            self._on_batch(batch)
        elif self._on_message is not None:
            for message in batch:
                self._on_message(message)

    def _control(self, sock: socket.socket, packet: Control) -> None:
        if packet.kind == SUBACK:
            packet_id, codes = decode_suback(packet.body)
            if packet_id != self._subscribe_id:
                return
            refused = [c for c in codes if c >= 0x80]
            if refused:
                log.error("mqtt_subscribe_refused", filters=self.filters, reasons=codes)
                return
            self.subscribed = True  # granted: from now on the broker routes readings to us
            marker = orjson.dumps({"ts_ms": int(time.time() * 1000)})
            self._send(
                sock, encode_publish(self._marker, marker, qos=1, retain=True, packet_id=self._packet_id())
            )
        elif packet.kind == DISCONNECT:
            raise ConnectionLost(f"broker sent DISCONNECT, reason 0x{decode_reason(packet.body):02x}")
        elif packet.kind == PUBACK:
            if len(packet.body) > 2 and packet.body[2] >= 0x80:
                log.warning("mqtt_marker_refused", reason=packet.body[2])
        elif packet.kind == PINGRESP:
            pass
        else:  # a second CONNACK
            raise ProtocolError(f"unexpected packet type {packet.kind}")

    def _flush_acks(self, sock: socket.socket) -> None:
        acks = self._acks
        if not acks:
            return
        epoch = self.epoch
        mids = []
        while acks:
            ack_epoch, mid = acks.popleft()
            if ack_epoch == epoch:
                mids.append(mid)
        if mids:
            self._send(sock, encode_pubacks(mids))

    def _send(self, sock: socket.socket, data: bytes) -> None:
        sock.sendall(data)
        self._last_sent = time.monotonic()

    def _packet_id(self) -> int:
        self._next_id = self._next_id % 0xFFFF + 1
        return self._next_id
