"""Steady load for the fault suite, with exact bookkeeping of what was sent.

* ``ReadingPublisher``: simulated meters publishing QoS 1 readings over MQTT v5 at a fixed rate,
  like meter_sim does: while the broker is unreachable readings are buffered; after a reconnect
  everything the broker never acknowledged is published again (same bytes, so ingest recognises a
  reading it already stored), and new readings wait until ingest has re-subscribed (its retained
  ``energy/ingest/<id>/subscribed`` marker is newer than our reconnect) or a hold time passed,
  because Mosquitto does not restore shared subscriptions after a restart.
* ``LedgerAppender``: AppendRecords through Envoy (native gRPC at the edge) in a loop, each with its
  own request_id, retried with the SAME request_id until it succeeds. Every call has a deadline.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import grpc
import orjson
import paho.mqtt.client as mqtt
from google.protobuf import timestamp_pb2
from paho.mqtt.enums import CallbackAPIVersion

from contracts.mqtt.reading import encode_reading
from contracts.mqtt.topics import reading_topic
from energypulse.ledger.v1 import ledger_service_pb2, ledger_service_pb2_grpc, record_pb2

__all__ = ["LedgerAppender", "ReadingPublisher", "settlement_append"]

MARKERS = "energy/ingest/+/subscribed"


@dataclass
class ReadingPublisher:
    port: int
    meters: int = 10
    period_s: float = 0.1  # per meter: meters / period_s readings per second in total
    prefix: str = "fault-m"
    hold_s: float = 10.0
    username: str | None = None  # the device credentials provisioning issued (no anonymous access)
    password: str | None = None
    published: dict[tuple[str, int], bytes] = field(default_factory=dict)
    acked: set[tuple[str, int]] = field(default_factory=set)
    errors: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._paused = threading.Event()  # set: produce no new readings (the drain at the end)
        self._outbox: deque[tuple[str, int]] = deque()
        self._inflight: dict[int, tuple[str, int]] = {}
        self._early_acks: set[int] = set()
        self._seq = dict.fromkeys(self.meter_ids(), 0)
        self.last_seq = 0  # highest seq produced so far (every meter is at it or one below)
        self._marker_ms = 0
        self._down_ms = 0
        self.crashed: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="fault-publisher", daemon=True)
        self.connects = 0

    def meter_ids(self) -> list[str]:
        return [f"{self.prefix}{i:03d}" for i in range(self.meters)]

    # --- control ----------------------------------------------------------------------
    def start(self) -> None:
        self._thread.start()

    def stop_producing(self) -> None:
        self._paused.set()

    def resume_producing(self) -> None:
        self._paused.clear()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.ident is not None:  # started
            self._thread.join(timeout=15)

    def count(self) -> int:
        """How many readings were produced so far (a position in ``published``'s order)."""
        with self._lock:
            return len(self.published)

    def keys(self, start: int = 0, stop: int | None = None) -> list[tuple[str, int]]:
        """The readings produced between two ``count()`` positions (all by default)."""
        with self._lock:  # the producer thread adds to ``published`` concurrently
            keys = list(self.published)
        return keys[start:stop]

    def unacked(self) -> int:
        with self._lock:
            return len(self.published) - len(self.acked)

    def wait_all_acked(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.unacked() == 0:
                return True
            time.sleep(0.1)
        return False

    # --- network ----------------------------------------------------------------------
    def _produce(self) -> None:
        now_ms = int(time.time() * 1000)
        for meter in self._seq:
            self._seq[meter] += 1
            seq = self._seq[meter]
            # 230 V x 2 A x PF 1 = 460 W; counters grow 1 Wh per reading (never backwards).
            payload = encode_reading(meter, seq, now_ms, 230.0, 2.0, 460.0, 1.0, 100.0 + seq / 1000, 0.0)
            with self._lock:
                self.published[(meter, seq)] = payload
            self._outbox.append((meter, seq))
        self.last_seq = max(self._seq.values())

    def _client(self) -> mqtt.Client:
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"fault-pub-{time.monotonic_ns()}", protocol=mqtt.MQTTv5
        )
        if self.username is not None:
            client.username_pw_set(self.username, self.password)
        client.on_publish = self._on_publish
        client.on_message = self._on_marker
        client.on_disconnect = lambda *_: self._went_down()
        return client

    def _went_down(self) -> None:
        if not self._down.is_set():
            self._down_ms = int(time.time() * 1000)
        self._down.set()

    def _on_publish(self, _c: Any, _u: Any, mid: int, _reason: Any, _p: Any) -> None:
        # Runs in paho's thread while paho holds its own lock: never wait on ours for long, and
        # never call paho while holding ours (that deadlocks, both ways round).
        with self._lock:
            key = self._inflight.pop(mid, None)
            if key is not None:
                self.acked.add(key)
            else:  # acknowledged before publish() returned the mid to us
                self._early_acks.add(mid)

    def _on_marker(self, _c: Any, _u: Any, msg: mqtt.MQTTMessage) -> None:
        try:
            self._marker_ms = max(self._marker_ms, int(orjson.loads(msg.payload)["ts_ms"]))
        except (ValueError, KeyError, TypeError):
            pass

    def _run(self) -> None:
        try:
            self._loop()
        except BaseException as error:  # surfaced by the tests' progress checks
            self.crashed = error
            raise

    def _loop(self) -> None:
        next_tick = time.monotonic()
        client: mqtt.Client | None = None
        gate_until = 0.0
        gate_after_ms = 0
        self._down = threading.Event()
        while not self._stop.is_set():
            now = time.monotonic()
            if now >= next_tick and not self._paused.is_set():
                self._produce()
                next_tick += self.period_s
                if next_tick < now:  # fell behind (machine busy): do not burst to catch up
                    next_tick = now + self.period_s
            if client is None or self._down.is_set():
                if client is not None:
                    client.loop_stop()
                    with self._lock:  # whatever the lost connection never got acked goes again
                        lost = [k for k in self._inflight.values() if k not in self.acked]
                        self._inflight.clear()
                        self._early_acks.clear()
                    self._outbox.extendleft(reversed(lost))
                    client = None
                client = self._connect()
                if client is None:
                    time.sleep(0.2)
                    continue
                if self.connects > 1:  # a reconnect: wait for ingest to be subscribed again
                    gate_after_ms = self._down_ms
                    gate_until = time.monotonic() + self.hold_s
            if gate_until and self._marker_ms < gate_after_ms and time.monotonic() < gate_until:
                time.sleep(0.02)
                continue
            gate_until = 0.0
            while self._outbox and len(self._inflight) < 1000:
                key = self._outbox.popleft()
                with self._lock:
                    if key in self.acked:
                        continue
                    payload = self.published[key]
                info = client.publish(reading_topic(key[0]), payload, qos=1)
                if info.rc != mqtt.MQTT_ERR_SUCCESS:
                    self._outbox.appendleft(key)
                    self._went_down()
                    break
                with self._lock:
                    if info.mid in self._early_acks:
                        self._early_acks.discard(info.mid)
                        self.acked.add(key)
                    else:
                        self._inflight[info.mid] = key
            time.sleep(min(0.01, max(0.0, next_tick - time.monotonic())))
        if client is not None:
            client.loop_stop()
            client.disconnect()

    def _connect(self) -> mqtt.Client | None:
        self._down = threading.Event()
        client = self._client()
        try:
            client.connect("127.0.0.1", self.port, keepalive=5)
        except OSError:
            return None
        connected = threading.Event()

        def on_connect(c: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
            if not reason.is_failure:
                connected.set()
                c.subscribe(MARKERS, qos=1)

        client.on_connect = on_connect
        client.loop_start()
        if not connected.wait(5):
            client.loop_stop()
            return None
        self.connects += 1
        return client


def settlement_append(request_id: str, household_id: str, n: int) -> ledger_service_pb2.AppendRecordsRequest:
    """One settlement record (hour ``n`` after a fixed start) in its own AppendRecords request."""
    hour = timestamp_pb2.Timestamp(seconds=1_700_000_000 // 3600 * 3600 + 3600 * n)
    settlement = record_pb2.SettlementRecord(
        household_id=household_id,
        hour_start=hour,
        metered_wh=n,
        spot_price_micro_eur_per_kwh=100_000,
        spot_cost_micro_eur=7 * n,
        total_cost_micro_eur=7 * n,
    )
    return ledger_service_pb2.AppendRecordsRequest(
        request_id=request_id, records=[record_pb2.Record(settlement=settlement)]
    )


@dataclass
class LedgerAppender:
    """One settlement per request; ``receipts`` maps request_id -> tx hashes once acknowledged."""

    target: str  # Envoy's port: the append goes through the edge like any client's
    token_fn: Any  # () -> str, a service token (re-fetched on UNAUTHENTICATED)
    period_s: float = 0.2
    deadline_s: float = 3.0
    receipts: dict[str, list[str]] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)  # status code name -> count (while parts are down)
    replays: int = 0

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._paused = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fault-appender", daemon=True)
        self.next_id = 0

    def start(self) -> None:
        self._thread.start()

    def stop_producing(self) -> None:
        """Finish the request in hand (retrying until it lands), then send no more."""
        self._paused.set()

    def resume_producing(self) -> None:
        self._paused.clear()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.ident is not None:  # started
            self._thread.join(timeout=30)

    def idle(self) -> bool:
        return self._paused.is_set() and self._in_hand is None

    _in_hand: str | None = None

    def _request(self, n: int) -> ledger_service_pb2.AppendRecordsRequest:
        return settlement_append(f"fault-append-{n:06d}", f"fault-ledger-{n:06d}", n)

    def _run(self) -> None:
        channel = grpc.insecure_channel(self.target)
        stub = ledger_service_pb2_grpc.LedgerServiceStub(channel)
        token = self.token_fn()
        while not self._stop.is_set():
            if self._in_hand is None:
                if self._paused.is_set():
                    time.sleep(0.05)
                    continue
                self._in_hand = f"fault-append-{self.next_id:06d}"
                request = self._request(self.next_id)
                self.next_id += 1
            try:
                reply = stub.AppendRecords(
                    request, metadata=[("authorization", f"Bearer {token}")], timeout=self.deadline_s
                )
                self.receipts[request.request_id] = [r.tx_hash for r in reply.receipts]
                self.replays += int(reply.replayed)
                self._in_hand = None
                time.sleep(self.period_s)
            except grpc.RpcError as error:
                code = error.code().name
                self.failures[code] = self.failures.get(code, 0) + 1
                if error.code() == grpc.StatusCode.UNAUTHENTICATED:
                    try:
                        token = self.token_fn()
                    except Exception:  # noqa: BLE001 - auth may be the part that is down
                        pass
                time.sleep(0.2)  # same request_id next time: a retry, never a second append
        channel.close()
