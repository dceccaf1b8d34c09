"""One MQTT connection publishing for a share of the meters, with a bounded outage buffer.

Why a few shared connections and not one per meter: 10,000 TCP connections (and 10,000 client
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
counted: the cumulative counters in later readings still carry the energy) and are put on the
wire only while connected and while fewer than ``inflight_max`` are unacknowledged. Every
connection is a fresh session (clean start): on a lost connection the unacknowledged readings go
back to the front of ``pending``, so nothing is resent before the consumer-resubscribed gate
opens, and a broker restart loses nothing.

Why our own client (common/mqtt_wire.py) instead of paho: paho's publish() and PUBACK handling
cost ~150 µs of CPU per reading, which capped one simulator process far below 10,000 readings/s.
Here one network thread per gateway owns its socket (so TLS works: one thread per SSL object):
it frames a whole window of readings and writes them with one ``sendall()``, and one ``recv()``
returns hundreds of PUBACKs. The simulator thread only appends to ``pending`` and wakes it.
"""

from __future__ import annotations

import dataclasses
import select
import socket
import ssl
import threading
import time
from collections import deque
from collections.abc import Sequence

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
    Will,
    decode_puback,
    decode_reason,
    decode_suback,
    encode_connect,
    encode_disconnect,
    encode_pingreq,
    encode_pubacks,
    encode_publish_qos1,
    encode_subscribe,
)
from contracts.mqtt.reading import encode_status
from contracts.mqtt.topics import CONSUMER_MARKERS, gateway_status_topic, status_topic

__all__ = ["Gateway"]

RECV_BYTES = 64 * 1024  # ~16,000 PUBACKs
IO_TIMEOUT_S = 10.0  # a connect, a send or a CONNACK that takes longer means the path is dead
MAX_WINDOW = 60_000  # packet ids are 16 bits: keep free ones to hand out
BACKOFF_S = (0.25, 2.0)  # first and longest wait between connection attempts

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
        self._ssl: ssl.SSLContext | None = broker.ssl_context()  # files read here: errors at start
        self._window_max = min(inflight_max, MAX_WINDOW)
        self._window = self._window_max
        self.pending: deque[tuple[str, bytes]] = deque(maxlen=buffer_max)
        self.handed = 0  # publishes put on the wire and not taken back (network thread)
        self.acked = 0  # PUBACKs received (network thread)
        self.dropped = 0  # readings dropped from a full buffer (under _lock)
        self.refused = 0  # PUBACKs with a failure reason code (e.g. not authorised)
        self.connects = 0
        self._connected = False
        self._resume_hold_s = resume_hold_s
        self._disconnected_ms = 0  # wall time of the last lost connection (0: never connected)
        self._held_since = 0.0  # monotonic time readings started being held, 0 when not holding
        self._consumer_seen_ms = 0  # newest consumer subscription marker
        # Publishes not yet acknowledged, by packet id, in the order sent (network thread only).
        self._unacked: dict[int, tuple[str, bytes, bool]] = {}
        self._next_id = 0
        self._subscribe_id = 0
        # enqueue() (simulator thread) against the network thread taking readings out or putting
        # unacknowledged ones back: keeps the drop count exact.
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._stop_deadline = 0.0
        self._thread: threading.Thread | None = None
        self._waker: Waker | None = None  # enqueue()/stop() wake the network thread
        self._last_sent = self._last_recv = 0.0
        self._keepalive_s = broker.keepalive_s
        self._pumped = 0
        self._will = Will(gateway_status_topic(gateway_id), encode_status("offline", gateway_id, 0), 1, True)

    # --- simulator thread ---------------------------------------------------------------
    def set_credentials(self, username: str, password: str) -> None:
        """Log in with these from the next connect on (issued at provisioning; a rotation makes
        the broker drop the current session, and the reconnect uses the new password: readings
        not yet acknowledged go back to the buffer, so none is lost)."""
        self._broker = dataclasses.replace(self._broker, username=username, password=password)

    def start(self) -> None:
        self._waker = Waker()
        self._thread = threading.Thread(target=self._run, name=f"gateway-{self.gateway_id}", daemon=True)
        self._thread.start()

    @property
    def connected(self) -> bool:
        return self._connected

    @property
    def unacked(self) -> int:
        return len(self._unacked)

    @property
    def idle(self) -> bool:
        """Everything handed over has been acknowledged by the broker."""
        return not self.pending and not self._unacked

    def enqueue(self, topic: str, payload: bytes) -> None:
        with self._lock:
            if len(self.pending) == self.pending.maxlen:
                self.dropped += 1  # deque drops the oldest on append
            self.pending.append((topic, payload))

    def pump(self) -> int:
        """Let the network thread send what is buffered; returns how many publishes went on the
        wire since the previous call (statuses included)."""
        if self.pending and self._connected and len(self._unacked) < self._window and not self._held_since:
            # Otherwise the thread wakes by itself: on the next PUBACKs (window full), on a
            # consumer marker or at the end of the hold.
            self._wake()
        sent, self._pumped = self.handed - self._pumped, self.handed
        return max(sent, 0)

    def stop(self, timeout: float = 3.0) -> None:
        """Flush, mark every meter offline (retained), then disconnect cleanly (no will).

        Only while connected: with the broker gone (it often stops together with us) waiting
        cannot help, and what is left unsent is carried by the cumulative counters of later
        readings, which resume from the state file.
        """
        deadline = time.monotonic() + timeout
        self.begin_stop(deadline)
        self.wait_stopped(deadline)

    def begin_stop(self, deadline: float) -> None:
        """Start the shutdown of :meth:`stop` without waiting (gateways then flush in parallel)."""
        # The network thread gives up flushing a little earlier: sending the "offline" statuses
        # and DISCONNECT and closing must fit in the caller's budget too.
        self._stop_deadline = deadline - min(0.25, max(0.0, deadline - time.monotonic()) / 4)
        self._stop.set()
        self._wake()

    def wait_stopped(self, deadline: float) -> None:
        thread = self._thread
        if thread is not None:
            thread.join(max(0.05, deadline - time.monotonic()))
            if thread.is_alive():  # stuck in a connect or send: a daemon, it dies with the process
                log.warning("gateway_stop_timeout", gateway=self.gateway_id)
                return
        if self._waker is not None:
            self._waker.close()
            self._waker = None

    def _wake(self) -> None:
        if self._waker is not None:
            self._waker.wake()

    # --- network thread -----------------------------------------------------------------
    def _run(self) -> None:
        delay = BACKOFF_S[0]
        while not self._stop.is_set():
            sock: socket.socket | None = None
            try:
                sock, reader, first = self._open()
                delay = BACKOFF_S[0]
                self._serve(sock, reader, first)
            except (OSError, ConnectionLost, ProtocolError) as exc:
                log.info(
                    "gateway_disconnected", gateway=self.gateway_id, reason=str(exc) or type(exc).__name__
                )
            except Exception:  # a bug must not end publishing for good
                log.exception("gateway_session_failed", gateway=self.gateway_id)
            finally:
                if self._connected:
                    self._connected = False
                    self._disconnected_ms = int(time.time() * 1000)
                self._take_back()
                if sock is not None:
                    sock.close()
            if not self._stop.is_set():
                self._stop.wait(delay)
                delay = min(delay * 2, BACKOFF_S[1])

    def _open(self) -> tuple[socket.socket, PacketReader, list[Publish | Control]]:
        """Connect, wait for CONNACK, subscribe to the consumer markers and announce ``online``."""
        broker = self._broker
        connect = encode_connect(
            self.gateway_id,
            broker.keepalive_s,
            clean_start=True,
            username=broker.effective_username,
            password=broker.effective_password,
            will=self._will,
        )
        reader = PacketReader()
        sock, connack, rest = open_session(
            broker, self._ssl, connect, reader, timeout_s=IO_TIMEOUT_S, recv_bytes=RECV_BYTES
        )
        try:
            keepalive = connack.properties.get(0x13)  # Server Keep Alive overrides ours
            self._keepalive_s = keepalive if isinstance(keepalive, int) else broker.keepalive_s
            receive_max = connack.properties.get(0x21)  # the broker's limit on our unacked QoS 1
            self._window = min(self._window_max, receive_max if isinstance(receive_max, int) else 65535)
            self.connects += 1
            if self._disconnected_ms:
                self._held_since = time.monotonic()
            self._subscribe_id = self._new_id()
            self._last_sent = self._last_recv = time.monotonic()
            self._send(
                sock,
                encode_subscribe(self._subscribe_id, [(CONSUMER_MARKERS, 1)]) + self._statuses("online"),
            )
        except BaseException:
            sock.close()
            raise
        self._connected = True
        log.info("gateway_connected", gateway=self.gateway_id, connects=self.connects)
        return sock, reader, rest

    def _serve(self, sock: socket.socket, reader: PacketReader, first: list[Publish | Control]) -> None:
        ping_sent = 0.0
        offline_sent = False
        self._handle(sock, first)
        waker = self._waker
        assert waker is not None
        watch: list[socket.socket | Waker] = [sock, waker]
        while True:
            now = time.monotonic()
            if self._stop.is_set():
                # Flush, then the retained "offline" statuses, then DISCONNECT (the will is not sent).
                late = now >= self._stop_deadline
                if not offline_sent and (late or self.idle):
                    self._send(sock, self._statuses("offline"))
                    offline_sent = True
                if offline_sent and (late or not self._unacked):
                    self._send(sock, encode_disconnect())
                    close_after_peer(sock)
                    return
            self._send_pending(sock, now)
            keepalive = self._keepalive_s
            wait = 1.0
            if keepalive:
                if ping_sent and self._last_recv < ping_sent and now - ping_sent > keepalive:
                    raise ConnectionLost(f"no answer to PINGREQ within {keepalive} s")
                if now - self._last_sent >= keepalive:
                    self._send(sock, encode_pingreq())
                    ping_sent = now
                wait = min(wait, max(0.01, self._last_sent + keepalive - now))
            if self._held_since:
                wait = min(wait, max(0.01, self._held_since + self._resume_hold_s - now))
            if self._stop.is_set():
                wait = min(wait, max(0.01, self._stop_deadline - now))
            if isinstance(sock, ssl.SSLSocket) and sock.pending():
                ready: Sequence[object] = [sock]  # TLS: decrypted bytes wait inside the SSL object
            else:
                ready = select.select(watch, [], [], wait)[0]
            if waker in ready:
                waker.drain()  # the loop looks at ``pending`` next
            if sock in ready:
                data = sock.recv(RECV_BYTES)
                if not data:
                    raise ConnectionLost("broker closed the connection")
                self._last_recv = time.monotonic()
                acks, others = reader.feed_acks(data)
                if acks:
                    pop, acked = self._unacked.pop, 0
                    for mid in acks:
                        if pop(mid, None) is not None:
                            acked += 1
                    self.acked += acked
                if others:
                    self._handle(sock, others)

    def _send_pending(self, sock: socket.socket, now: float) -> None:
        """Put buffered readings on the wire, as many as the window allows, in one write."""
        unacked = self._unacked
        room = self._window - len(unacked)
        pending = self.pending
        if room <= 0 or not pending:
            return
        if self._held_since:
            resubscribed = self._consumer_seen_ms >= self._disconnected_ms
            if not resubscribed and now - self._held_since < self._resume_hold_s:
                return
            self._held_since = 0.0
        with self._lock:
            batch = [pending.popleft() for _ in range(min(room, len(pending)))]
        parts = []
        next_id = self._next_id
        for topic, payload in batch:
            next_id = next_id % 0xFFFF + 1
            while next_id in unacked:  # an old publish the broker has not acknowledged yet
                next_id = next_id % 0xFFFF + 1
            unacked[next_id] = (topic, payload, False)
            parts.append(encode_publish_qos1(topic.encode(), payload, next_id))
        self._next_id = next_id
        self.handed += len(batch)
        self._send(sock, b"".join(parts))

    def _statuses(self, status: str) -> bytes:
        """Retained statuses of every meter and of the gateway, registered as unacknowledged."""
        now_ms = int(time.time() * 1000)
        body = encode_status(status, self.gateway_id, now_ms)
        topics = [status_topic(m) for m in self.meter_ids] + [gateway_status_topic(self.gateway_id)]
        parts = []
        for topic in topics:
            mid = self._new_id()
            self._unacked[mid] = (topic, body, True)
            parts.append(encode_publish_qos1(topic.encode(), body, mid, retain=True))
        self.handed += len(topics)
        return b"".join(parts)

    def _handle(self, sock: socket.socket, packets: list[Publish | Control]) -> None:
        unacked = self._unacked
        acked = 0
        for p in packets:
            if type(p) is Control and p.kind == PUBACK:
                mid, reason = decode_puback(p.body)
                if unacked.pop(mid, None) is not None:
                    acked += 1
                    if reason >= 0x80:  # refused (e.g. not authorised): not resent, but counted
                        self.refused += 1
                        if self.refused == 1 or self.refused % 1000 == 0:
                            log.warning("gateway_publish_refused", gateway=self.gateway_id, reason=reason)
            elif isinstance(p, Publish):
                self._on_marker(p.payload)
                if p.qos:
                    self._send(sock, encode_pubacks([p.mid]))
            else:
                self._control(p)
        self.acked += acked

    def _control(self, packet: Control) -> None:
        if packet.kind == SUBACK:
            packet_id, codes = decode_suback(packet.body)
            if packet_id == self._subscribe_id and any(c >= 0x80 for c in codes):
                log.warning("gateway_marker_subscribe_refused", gateway=self.gateway_id, reasons=codes)
        elif packet.kind == DISCONNECT:
            raise ConnectionLost(f"broker sent DISCONNECT, reason 0x{decode_reason(packet.body):02x}")
        elif packet.kind != PINGRESP:  # a second CONNACK
            raise ProtocolError(f"unexpected packet type {packet.kind}")

    def _on_marker(self, payload: bytes) -> None:
        try:
            self._consumer_seen_ms = max(self._consumer_seen_ms, int(orjson.loads(payload)["ts_ms"]))
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            pass

    def _take_back(self) -> None:
        """After a lost connection: unacknowledged readings go back to the buffer's front (the
        statuses are announced afresh on the next connect). If that overflows the buffer, the
        oldest are dropped and counted, as in enqueue()."""
        back = [(t, p) for t, p, retain in self._unacked.values() if not retain]
        self.handed -= len(self._unacked)
        self._unacked.clear()
        if not back:
            return
        with self._lock:
            room = (self.pending.maxlen or 0) - len(self.pending)
            if len(back) > room:
                self.dropped += len(back) - room
                back = back[len(back) - room :] if room > 0 else []
            self.pending.extendleft(reversed(back))

    def _send(self, sock: socket.socket, data: bytes) -> None:
        sock.sendall(data)
        self._last_sent = time.monotonic()

    def _new_id(self) -> int:
        next_id = self._next_id % 0xFFFF + 1
        while next_id in self._unacked:
            next_id = next_id % 0xFFFF + 1
        self._next_id = next_id
        return next_id
