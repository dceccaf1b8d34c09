"""ingest's MQTT v5 client (ingest_svc/intake/subscriber.py) against the shipped Mosquitto config, and
against a scripted socket peer for what no real broker sends (malformed packets, silence)."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import orjson
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from common.mqtt import MqttSettings
from common.mqtt_wire import PacketReader, Publish
from ingest_svc.intake.subscriber import Incoming, MqttSubscriber
from tests.common.test_mqtt import _write_pki
from tests.ingest_svc.helpers import publish_all, wait_for
from tests.ingest_svc.mqtt_broker import MosquittoBroker
from tests.mqtt_identities import HARNESS_PASSWORD, HARNESS_USER, INGEST_PASSWORD, login

REPO = Path(__file__).resolve().parents[3]


class Collector:
    """Everything a subscriber delivered, in order; acks on demand."""

    def __init__(self) -> None:
        self.messages: list[Incoming] = []
        self.lock = threading.Lock()

    def __call__(self, batch: list[Incoming]) -> None:
        with self.lock:
            self.messages.extend(batch)

    @property
    def count(self) -> int:
        return len(self.messages)

    def payloads(self) -> list[bytes]:
        return [m.payload for m in self.messages]


def _subscriber(
    url: str, client_id: str, collector: Collector, environ: dict[str, str] | None = None, **kw: object
) -> MqttSubscriber:
    return MqttSubscriber(MqttSettings.load(url, environ or {}), client_id, on_batch=collector, **kw)  # type: ignore[arg-type]


@pytest.fixture
def running() -> Iterator[Callable[[MqttSubscriber], MqttSubscriber]]:
    started: list[MqttSubscriber] = []

    def start(sub: MqttSubscriber) -> MqttSubscriber:
        sub.start()
        started.append(sub)
        return sub

    yield start
    for sub in started:
        sub.stop()


def _readings(n: int, start: int = 0) -> list[tuple[str, bytes]]:
    return [(f"energy/meters/m-{i % 7}", f'{{"i":{i}}}'.encode()) for i in range(start, start + n)]


def test_connect_subscribe_receive_and_marker(
    broker: MosquittoBroker, running: Callable[..., MqttSubscriber]
) -> None:
    got = Collector()
    sub = running(_subscriber(broker.url, "ingest-a", got))
    assert wait_for(lambda: sub.subscribed, 10)
    publish_all(broker.port, _readings(500))
    assert wait_for(lambda: got.count == 500, 10)
    assert got.payloads() == [p for _, p in _readings(500)]  # in order, nothing lost
    assert {m.qos for m in got.messages} == {1} and all(m.epoch == sub.epoch for m in got.messages)
    # The retained "subscribed" marker is there for publishers (meter_sim/gateway.py) to see.
    marker = _retained(broker, "energy/ingest/ingest-a/subscribed")
    assert marker is not None and orjson.loads(marker)["ts_ms"] > 0
    sub.ack_many(got.messages)


def _retained(broker: MosquittoBroker, topic: str) -> bytes | None:
    found: list[bytes] = []
    done = threading.Event()
    client = login(mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5))

    def on_message(_c: mqtt.Client, _u: object, message: mqtt.MQTTMessage) -> None:
        found.append(bytes(message.payload))
        done.set()

    client.on_message = on_message
    client.on_connect = lambda c, *_: c.subscribe(topic, qos=1)
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    done.wait(5)
    client.disconnect()
    client.loop_stop()
    return found[0] if found else None


def test_unacked_messages_come_back_acked_ones_do_not(
    broker: MosquittoBroker, running: Callable[..., MqttSubscriber]
) -> None:
    first = Collector()
    sub = _subscriber(broker.url, "ingest-b", first)
    sub.start()
    assert wait_for(lambda: sub.subscribed, 10)
    publish_all(broker.port, _readings(100))
    assert wait_for(lambda: first.count == 100, 10)
    sub.ack_many(first.messages[:60])  # "committed": the first 60 only
    sub.stop()  # the queued acks go out before DISCONNECT; the session stays
    again = Collector()
    sub = running(_subscriber(broker.url, "ingest-b", again))
    assert wait_for(lambda: again.count == 40, 10)
    assert again.payloads() == first.payloads()[60:]
    assert all(m.dup for m in again.messages)  # the broker marks redeliveries


def test_kill_9_before_ack_loses_nothing(
    broker: MosquittoBroker, running: Callable[..., MqttSubscriber]
) -> None:
    """A subscriber process killed with SIGKILL after receiving (never acking): all redelivered."""
    script = (
        "import sys, time\n"
        "from common.mqtt import MqttSettings\n"
        "from ingest_svc.intake.subscriber import MqttSubscriber\n"
        "seen = []\n"
        "sub = MqttSubscriber(MqttSettings.load(sys.argv[1], {}), 'ingest-k', on_batch=seen.extend)\n"
        "sub.start()\n"
        "while not sub.subscribed: time.sleep(0.02)\n"
        "print('subscribed', flush=True)\n"
        "while len(seen) < 200: time.sleep(0.02)\n"
        "print('received', flush=True)\n"
        "time.sleep(60)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script, broker.url], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "subscribed"
        publish_all(broker.port, _readings(200))
        assert proc.stdout.readline().strip() == "received"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    got = Collector()
    sub = running(_subscriber(broker.url, "ingest-k", got))
    assert wait_for(lambda: got.count == 200, 10)
    assert sorted(got.payloads()) == sorted(p for _, p in _readings(200))
    sub.ack_many(got.messages)


def test_acks_of_an_older_connection_are_dropped(
    broker: MosquittoBroker, running: Callable[..., MqttSubscriber]
) -> None:
    got = Collector()
    sub = _subscriber(broker.url, "ingest-e", got)
    sub.start()
    assert wait_for(lambda: sub.subscribed, 10)
    publish_all(broker.port, _readings(30))
    assert wait_for(lambda: got.count == 30, 10)
    old_epoch = sub.epoch
    broker.restart()  # Mosquitto persists the session with its 30 unacknowledged messages
    assert wait_for(lambda: sub.connected and sub.epoch > old_epoch, 15)
    assert wait_for(lambda: got.count == 60, 10)  # the same 30 again, on the new connection
    # Acks of the first delivery name packet ids of the old connection: they must not be sent,
    # even though the redeliveries happen to carry the same ids.
    sub.ack_many(got.messages[:30])
    sub.stop()
    again = Collector()
    sub = _subscriber(broker.url, "ingest-e", again)
    sub.start()
    assert wait_for(lambda: again.count == 30, 10)  # still unacknowledged
    assert sorted(again.payloads()) == sorted(p for _, p in _readings(30))
    sub.ack_many(again.messages)  # current epoch: these count
    sub.stop()
    last = Collector()
    sub = running(_subscriber(broker.url, "ingest-e", last))
    assert wait_for(lambda: sub.subscribed, 10)
    publish_all(broker.port, [("energy/meters/sentinel", b"end")])
    assert wait_for(lambda: last.count >= 1, 10)
    assert last.payloads() == [b"end"]  # nothing of the 30 came back a third time
    sub.ack_many(last.messages)


def test_reconnects_after_broker_restart(
    broker: MosquittoBroker, running: Callable[..., MqttSubscriber]
) -> None:
    got = Collector()
    sub = running(_subscriber(broker.url, "ingest-r", got))
    assert wait_for(lambda: sub.subscribed, 10)
    epoch = sub.epoch
    broker.stop()
    assert wait_for(lambda: not sub.connected, 10)
    broker.start()
    assert wait_for(lambda: sub.subscribed and sub.epoch > epoch, 15)
    publish_all(broker.port, _readings(50))
    assert wait_for(lambda: got.count == 50, 10)
    sub.ack_many(got.messages)


def test_shared_subscription_splits_the_stream(
    broker: MosquittoBroker, running: Callable[..., MqttSubscriber]
) -> None:
    a, b = Collector(), Collector()
    sa = running(_subscriber(broker.url, "ingest-s1", a))
    sb = running(_subscriber(broker.url, "ingest-s2", b))
    assert wait_for(lambda: sa.subscribed and sb.subscribed, 10)
    publish_all(broker.port, _readings(400))
    assert wait_for(lambda: a.count + b.count == 400, 10)
    assert a.count > 0 and b.count > 0  # both got a share
    assert sorted(a.payloads() + b.payloads()) == sorted(p for _, p in _readings(400))  # none twice
    sa.ack_many(a.messages)
    sb.ack_many(b.messages)


def test_tls_with_password(tmp_path: Path, running: Callable[..., MqttSubscriber]) -> None:
    ca, cert, key = _write_pki(tmp_path)
    extra = f"certfile {cert}\nkeyfile {key}\n"
    broker = MosquittoBroker(tmp_path / "tls", extra_conf=extra, scheme="mqtts")
    broker.start()
    try:
        # The shipped ingest identity (its role: the shared subscription) over TLS.
        env = {"EP_MQTT_CA_FILE": str(ca), "EP_MQTT_USERNAME": "ingest", "EP_MQTT_PASSWORD": INGEST_PASSWORD}
        got = Collector()
        sub = running(_subscriber(broker.url, "ingest-tls", got, env))
        assert wait_for(lambda: sub.subscribed, 10)
        wrong = running(_subscriber(broker.url, "ingest-bad", Collector(), {**env, "EP_MQTT_PASSWORD": "no"}))
        settings = MqttSettings.load(broker.url, {"EP_MQTT_CA_FILE": str(ca)})  # the harness publishes
        publisher = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        settings.configure(publisher)
        publisher.connect(settings.host, settings.port)
        publisher.loop_start()
        for topic, payload in _readings(300):
            publisher.publish(topic, payload, qos=1)
        assert wait_for(lambda: got.count == 300, 15)  # TLS records split packets anywhere
        publisher.disconnect()
        publisher.loop_stop()
        assert got.payloads() == [p for _, p in _readings(300)]
        assert not wrong.connected and wrong.epoch >= 1  # refused, retrying with backoff
        sub.ack_many(got.messages)
    finally:
        broker.stop()


# --- a scripted peer: what a real broker never does --------------------------------------------


class ScriptedBroker:
    """Accepts connections; each is handed to ``script(conn, index)`` in its own thread."""

    def __init__(self, script: Callable[[socket.socket, int], None]) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.url = f"mqtt://127.0.0.1:{self.port}"
        self.connections = 0
        self._script = script
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn, self.connections), daemon=True).start()

    def _serve(self, conn: socket.socket, index: int) -> None:
        with conn:
            try:
                read_packet(conn)  # CONNECT
                self._script(conn, index)
            except OSError:
                pass

    def close(self) -> None:
        self._closed = True
        self._listener.close()


def read_packet(conn: socket.socket, timeout: float = 10.0) -> bytes:
    """One raw packet from the client (first byte + body)."""
    conn.settimeout(timeout)
    first = conn.recv(1)
    if not first:
        raise OSError("closed")
    length = shift = 0
    while True:
        byte = conn.recv(1)[0]
        length |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            break
    body = b""
    while len(body) < length:
        chunk = conn.recv(length - len(body))
        if not chunk:
            raise OSError("closed")
        body += chunk
    return first + body


CONNACK_OK = b"\x20\x03\x00\x00\x00"


@pytest.mark.parametrize(
    "garbage",
    [
        b"\x30\xff\xff\xff\xff\x01",  # remaining length of 5 bytes
        b"\x30\xff\xff\xff\x7f",  # 256 MiB announced: over our 2 MiB maximum
        b"\x36\x05\x00\x01t\x00\x01",  # QoS 3
        b"\x10\x01\x00",  # CONNECT from the broker
    ],
)
def test_malformed_packet_drops_the_connection_not_the_process(
    garbage: bytes, running: Callable[..., MqttSubscriber]
) -> None:
    def script(conn: socket.socket, index: int) -> None:
        conn.sendall(CONNACK_OK)
        subscribe = read_packet(conn)
        if index == 1:
            conn.sendall(b"\x32\x08\x00\x01t\x00\x01\x00ok" + garbage)  # a good message, then garbage
        else:
            conn.sendall(b"\x90\x04" + subscribe[1:3] + b"\x00\x01")  # SUBACK: its packet id, granted
        while conn.recv(4096):  # until the client hangs up
            pass

    peer = ScriptedBroker(script)
    try:
        got = Collector()
        sub = running(_subscriber(peer.url, "ingest-m", got))
        assert wait_for(lambda: peer.connections >= 2 and sub.subscribed, 10)  # dropped, reconnected
        assert got.count == 0  # nothing of the poisoned read: unacked, a broker redelivers it
        assert sub.epoch == 2
    finally:
        peer.close()


def test_keepalive_pings_and_a_silent_broker_is_left(running: Callable[..., MqttSubscriber]) -> None:
    seen: dict[int, list[int]] = {}

    def script(conn: socket.socket, index: int) -> None:
        conn.sendall(b"\x20\x06\x00\x00\x03\x13\x00\x01")  # CONNACK, Server Keep Alive = 1 s
        while True:
            packet = read_packet(conn, timeout=10)
            seen.setdefault(index, []).append(packet[0])
            if packet[0] == 0xC0 and index > 1:
                conn.sendall(b"\xd0\x00")  # the second connection answers PINGREQ; the first never

    peer = ScriptedBroker(script)
    try:
        sub = running(_subscriber(peer.url, "ingest-p", Collector()))
        assert wait_for(lambda: peer.connections >= 2, 10)  # no PINGRESP: the client gave up on it
        assert 0xC0 in seen[1]  # it did ping
        assert wait_for(lambda: seen.get(2, []).count(0xC0) >= 3, 10)  # answered pings: it stays
        assert peer.connections == 2 and sub.connected
    finally:
        peer.close()


def test_reader_handles_what_mosquitto_sends_in_bulk(broker: MosquittoBroker) -> None:
    """A raw socket + PacketReader against Mosquitto: thousands of PUBLISH per read, nothing lost."""
    from common.mqtt_wire import encode_connect, encode_subscribe

    sock = socket.create_connection(("127.0.0.1", broker.port))
    sock.sendall(
        encode_connect("raw", 30, clean_start=True, username=HARNESS_USER, password=HARNESS_PASSWORD)
        + encode_subscribe(1, [("energy/meters/+", 0)])
    )
    reader = PacketReader()
    got: list[Publish] = []
    sock.settimeout(5)
    while not any(getattr(p, "kind", 0) == 9 for p in reader.feed(sock.recv(65536))):  # until SUBACK
        pass
    publish_all(broker.port, _readings(3000))
    while len(got) < 3000:
        got += [p for p in reader.feed(sock.recv(65536)) if isinstance(p, Publish)]
    sock.close()
    assert [p.payload for p in got] == [p for _, p in _readings(3000)]
