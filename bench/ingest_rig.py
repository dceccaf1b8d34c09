"""Moving parts shared by the ingest benchmarks (bench_ingest, bench_scaling, bench_memory).

Every part is a real process on loopback: a private Mosquitto, ``python -m ingest_svc`` replicas
(bridge off, so only the MQTT -> store path is measured), ``python -m meter_sim`` publishing a
bounded number of readings as fast as it can, and a bare paho subscriber. Progress is read from
ingest's own Prometheus counters, so the measuring process never touches the database.

No port is picked here and bound later by another process (another program may take it in
between): the replicas bind port 0 and report what they got in their start-up log line, and a
broker whose port was taken is started again on another. Every child runs in its own process
group and is stopped, group and all, when the benchmark leaves its block, failure or not.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import orjson
import paho.mqtt.client as mqtt
import psutil
from paho.mqtt.enums import CallbackAPIVersion

from bench import children
from common.mqtt import MqttSettings
from devstack.broker import ensure_dynsec_config, mosquitto_binary, render_mosquitto_conf
from devstack.ports import free_port
from tests.mqtt_identities import (
    HARNESS_PASSWORD,
    HARNESS_USER,
    INGEST_PASSWORD,
    harness_clients,
    harness_roles,
)

__all__ = [
    "BareCounter",
    "IngestReplica",
    "MarkerWatch",
    "Progress",
    "broker",
    "c_subscriber_drain",
    "first_meter_topic",
    "simulator",
    "start_replicas",
    "stop_all",
    "stored_total",
    "wait_stored",
]

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
_COUNTER = re.compile(
    r"^(ingest_readings_stored_total|ingest_dead_letters_total)(?:\{[^}]*\})? ([0-9.e+]+)$", re.M
)


def _env(extra: Mapping[str, str]) -> dict[str, str]:
    return {**os.environ, "EP_LOG_LEVEL": "WARNING", **extra}


BROKER_ATTEMPTS = 3  # Mosquitto cannot bind port 0 and report it: a taken port means another try


@dataclass
class Broker:
    """A private Mosquitto with the shipped settings (devstack.broker) on a port of its own: no
    anonymous access. The simulator, the bare subscribers and the markers log in as the test
    harness (tests/mqtt_identities.py); ingest replicas as the shipped ingest identity."""

    port: int
    proc: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"mqtt://{HARNESS_USER}:{HARNESS_PASSWORD}@127.0.0.1:{self.port}"

    def stop(self) -> None:
        children.stop(self.proc, timeout=10)  # SIGTERM first: Mosquitto writes its persistence


def _listens(proc: subprocess.Popen[bytes], port: int, timeout: float = 10.0) -> bool:
    """Whether ``proc`` itself listens on ``port`` (not merely whether something answers there:
    that could be whoever took the port). False once it exited."""
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            sockets = psutil.Process(proc.pid).net_connections(kind="tcp")
        except psutil.Error:
            return False
        if any(s.status == psutil.CONN_LISTEN and s.laddr.port == port for s in sockets):
            return True
        time.sleep(0.05)
    return False


@contextmanager
def broker(workdir: Path) -> Iterator[Broker]:
    binary = mosquitto_binary()
    if binary is None:
        raise RuntimeError("mosquitto is not installed (scripts/bootstrap installs it)")
    data_dir = workdir / "broker"
    for _attempt in range(BROKER_ATTEMPTS):
        port = free_port()
        conf = data_dir / "mosquitto.conf"
        conf.parent.mkdir(parents=True, exist_ok=True)
        ensure_dynsec_config(data_dir, INGEST_PASSWORD, harness_clients(), harness_roles())
        conf.write_text(render_mosquitto_conf(port, data_dir))
        with open(data_dir / "mosquitto.log", "ab") as log:
            proc = children.spawn([binary, "-c", str(conf)], cwd=workdir, env=dict(os.environ), out=log)
        b = Broker(port, proc)
        try:
            if _listens(proc, port):
                yield b
                return
        finally:
            b.stop()
    raise RuntimeError(
        f"mosquitto did not listen ({BROKER_ATTEMPTS} tries):\n{(data_dir / 'mosquitto.log').read_text()[-2000:]}"
    )


@dataclass
class IngestReplica:
    """One ``python -m ingest_svc`` process (its own gRPC and metrics port, its own MQTT client id)."""

    client_id: str
    proc: subprocess.Popen[bytes]
    log_path: Path
    log_offset: int  # where this process's lines start in ``log_path`` (appended across runs)
    _metrics_port: int | None = None

    @property
    def metrics_port(self) -> int | None:
        """The port its metrics server bound (it asks for port 0), once its start-up line is logged."""
        if self._metrics_port is None:
            with open(self.log_path, "rb") as log:
                log.seek(self.log_offset)
                for line in log:
                    if b'"grpc_server_started"' in line:
                        self._metrics_port = int(orjson.loads(line)["metrics_port"])
                        break
        return self._metrics_port

    def _exited(self) -> RuntimeError:
        return RuntimeError(f"{self.client_id} exited:\n{self.log_path.read_text()[-2000:]}")

    def counters(self) -> tuple[int, int]:
        """(readings stored, messages dead-lettered) from its Prometheus endpoint."""
        port = self.metrics_port
        if port is None:  # the metrics endpoint starts after the subscriber
            if self.proc.poll() is not None:
                raise self._exited()
            return 0, 0
        url = f"http://127.0.0.1:{port}/metrics"
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                text = response.read().decode()
        except OSError:
            if self.proc.poll() is not None:
                raise self._exited() from None
            return 0, 0
        stored = dead = 0.0
        for name, value in _COUNTER.findall(text):
            if name == "ingest_readings_stored_total":
                stored += float(value)
            else:
                dead += float(value)
        return int(stored), int(dead)

    def cpu_seconds(self) -> float:
        """User + system CPU the process has used so far (0 once it is gone)."""
        try:
            times = psutil.Process(self.proc.pid).cpu_times()
        except psutil.Error:
            return 0.0
        return float(times.user + times.system)

    def stop(self) -> None:
        children.stop(self.proc)


def start_replicas(
    broker_url: str,
    db_url: str,
    count: int,
    workdir: Path,
    tag: str,
    extra_env: Mapping[str, str] | None = None,
    wait: bool = True,
    wrap: Sequence[str] = (),
) -> list[IngestReplica]:
    """Start ``count`` ingest replicas on one broker (same shared subscription) and one database.

    ``wait``: one at a time, each until it has subscribed (its retained marker is newer than our
    start), as concurrent first starts would race on the schema migration. Without it (restarts
    onto an existing schema) all start at once and the caller watches the counters. ``wrap``: a
    command the process runs under (bench_signing's ``valgrind --tool=callgrind ...``)."""
    since_ms = int(time.time() * 1000)
    replicas: list[IngestReplica] = []
    try:
        with MarkerWatch(broker_url) as markers:
            for k in range(count):
                client_id = f"bench-{tag}-{k}"
                log_path = workdir / f"{client_id}.log"
                env = _env(
                    {
                        "EP_MQTT_URL": broker_url,
                        "EP_INGEST_DATABASE_URL": db_url,
                        "EP_INGEST_CLIENT_ID": client_id,
                        "EP_INGEST_GRPC_PORT": "0",
                        "EP_INGEST_METRICS_PORT": "0",
                        "EP_INGEST_BRIDGE": "0",
                        # The shipped ingest identity on the broker; the rig registers no meters.
                        "EP_INGEST_MQTT_PASSWORD": INGEST_PASSWORD,
                        "EP_INGEST_REQUIRE_REGISTERED": "0",
                        # INFO for the start-up line naming the bound ports (ingest logs little
                        # else at INFO: connects and shutdown).
                        "EP_LOG_LEVEL": "INFO",
                        **(extra_env or {}),
                    }
                )
                with open(log_path, "ab") as log:
                    offset = log.tell()
                    proc = children.spawn([*wrap, PYTHON, "-m", "ingest_svc"], cwd=ROOT, env=env, out=log)
                replicas.append(IngestReplica(client_id, proc, log_path, offset))
                if wait and not markers.wait_for(client_id, since_ms, timeout=60):
                    raise RuntimeError(f"{client_id} did not subscribe:\n{log_path.read_text()[-2000:]}")
    except BaseException:
        stop_all(replicas)  # the ones started so far
        raise
    return replicas


def stop_all(replicas: list[IngestReplica]) -> None:
    for replica in replicas:
        replica.stop()


def stored_total(replicas: list[IngestReplica]) -> tuple[int, int]:
    stored = dead = 0
    for replica in replicas:
        s, d = replica.counters()
        stored += s
        dead += d
    return stored, dead


class MarkerWatch:
    """Watches ingest's retained "subscribed" markers (see ingest_svc/intake/subscriber.py)."""

    def __init__(self, broker_url: str) -> None:
        settings = MqttSettings.load(broker_url)
        self._seen: dict[str, int] = {}
        self._cond = threading.Condition()
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        settings.configure(self._client)
        self._client.on_message = self._on_message
        self._client.on_connect = lambda c, *_: c.subscribe("energy/ingest/+/subscribed", qos=1)
        self._client.connect(settings.host, settings.port)

    def _on_message(self, _c: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
        client_id = msg.topic.split("/")[2]
        with self._cond:
            self._seen[client_id] = int(orjson.loads(msg.payload)["ts_ms"])
            self._cond.notify_all()

    def wait_for(self, client_id: str, since_ms: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._seen.get(client_id, 0) < since_ms:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def __enter__(self) -> MarkerWatch:
        self._client.loop_start()
        return self

    def __exit__(self, *_: object) -> None:
        self._client.disconnect()
        self._client.loop_stop()


class BareCounter:
    """A bare paho QoS 1 subscriber (auto-ack, no parsing, no storage): the limit of the pipe.

    It notes when the first reading of ``first_topic`` arrives (the start of a live stream, taken
    the same way whether the bare subscriber or ingest is measured) and when it has ``expected``
    messages. ``persistent`` keeps a broker session, so a backlog can be queued while paused.
    """

    def __init__(
        self, broker_url: str, topic_filter: str, first_topic: str, expected: int, persistent: bool = False
    ) -> None:
        self._settings = MqttSettings.load(broker_url)
        self._addr = (self._settings.host, self._settings.port)
        self.topic_filter, self.first_topic, self.expected = topic_filter, first_topic, expected
        self.count = 0
        self.first_at = self.one_at = self.done_at = 0.0
        self.done = threading.Event()
        self._persistent = persistent
        self._client: mqtt.Client | None = None
        self._connect()

    def _connect(self) -> None:
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties

        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = 600 if self._persistent else 0
        props.ReceiveMaximum = 10000  # as ingest's default
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id="bench-bare" if self._persistent else "",
            protocol=mqtt.MQTTv5,
        )
        self._settings.configure(client)
        filters = [(self.topic_filter or self.first_topic, 1)]
        subscribed = threading.Event()
        client.on_connect = lambda c, *_: c.subscribe(filters)
        client.on_subscribe = lambda *_: subscribed.set()
        client.on_message = self._on_message
        client.connect(*self._addr, clean_start=not self._persistent, properties=props)
        client.loop_start()
        if not subscribed.wait(30):
            raise RuntimeError("bare subscriber: no SUBACK")
        self._client = client

    def _on_message(self, _c: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
        now = time.perf_counter()
        if not self.first_at and msg.topic == self.first_topic:
            self.first_at = now
        self.count += 1
        if self.count == 1:
            self.one_at = now
        if self.count >= self.expected and not self.done.is_set():
            self.done_at = now
            self.done.set()

    def pause(self) -> None:
        self.close()

    def resume(self) -> None:
        self._connect()

    def close(self) -> None:
        if self._client is not None:
            self._client.disconnect()
            self._client.loop_stop()


def _mosquitto_sub(broker_url: str, client_id: str, *extra: str) -> list[str]:
    beside = Path(mosquitto_binary() or "mosquitto").with_name("mosquitto_sub")  # same build
    binary = beside if beside.exists() else Path(shutil.which("mosquitto_sub") or "mosquitto_sub")
    s = MqttSettings.load(broker_url)
    args = [str(binary), "-h", s.host, "-p", str(s.port), "-V", "mqttv5", "-q", "1", "-c", "-x", "600"]
    args += ["-i", client_id, "-t", "energy/meters/+"]
    if s.effective_username:
        args += ["-u", s.effective_username, "-P", s.effective_password or ""]
    return [*args, *extra]


def c_subscriber_drain(broker_url: str, queue: Callable[[], None], n: int, timeout: float = 300.0) -> float:
    """Messages/s for the C client (``mosquitto_sub -C n``, persistent session, QoS 1, output to
    /dev/null) draining a backlog of ``n`` that ``queue()`` publishes while it is offline: the
    pipe's own limit on this broker build. Timed from its start to its exit, connect included."""
    client_id = f"bench-csub-{os.getpid()}"
    subprocess.run(_mosquitto_sub(broker_url, client_id, "-E"), check=True, timeout=30, capture_output=True)
    queue()
    started = time.perf_counter()
    proc = subprocess.run(
        _mosquitto_sub(broker_url, client_id, "-C", str(n)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        timeout=timeout,
        check=False,
    )
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"mosquitto_sub exited {proc.returncode}: {proc.stderr.decode()[-500:]}")
    return n / max(wall, 1e-9)


@contextmanager
def simulator(
    broker_url: str,
    meters: int,
    per_meter: int,
    prefix: str,
    interval_s: float = 10.0,
    log_path: Path | None = None,
    extra_env: Mapping[str, str] | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    """``python -m meter_sim`` publishing ``meters * per_meter`` readings as fast as it can, for the
    block (stopped when it ends, also when a wait times out or the benchmark fails).

    The simulated clock starts far enough in the past and runs 10,000x fast, so the fleet (which
    starts at the clock's time once built, up to ~20 s of start-up later) is always behind the
    wall clock: every reading is due at once and the fleet catches up at full speed. Timestamps
    stay a few days old, well inside ingest's age limit."""
    speedup = 10_000.0
    start = time.time() - per_meter * interval_s - 20 * speedup
    args = [
        PYTHON,
        "-m",
        "meter_sim",
        "--mqtt-url",
        broker_url,
        "--count",
        str(meters),
        "--readings-per-meter",
        str(per_meter),
        "--interval-s",
        str(interval_s),
        "--id-prefix",
        prefix,
        "--start",
        time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(start)),
        "--speedup",
        str(speedup),
    ]
    env = _env(
        {
            "EP_METER_STATE_FILE": "",
            "EP_METER_INGEST_ADDR": "",
            "EP_METER_RESUME_HOLD_S": "0",
            **(extra_env or {}),
        }
    )
    if log_path is None:
        with children.running(children.spawn(args, cwd=ROOT, env=env)) as proc:
            yield proc
    else:
        with (
            open(log_path, "ab") as out,
            children.running(children.spawn(args, cwd=ROOT, env=env, out=out)) as proc,
        ):
            yield proc


def first_meter_topic(prefix: str) -> str:
    return f"energy/meters/{prefix}-m000000"


@dataclass
class Progress:
    first_at: float  # perf_counter when something was first seen stored
    first_stored: int  # how many were stored then
    end_at: float
    stored: int
    dead: int
    cpu_first: float = 0.0  # CPU seconds of all replicas at first_at
    cpu_end: float = 0.0  # ... and at end_at

    @property
    def cpu_us_per_reading(self) -> float:
        """Ingest CPU per reading stored between the first and the last observation: what one
        reading costs, whatever else the shared machine is busy with."""
        return (self.cpu_end - self.cpu_first) / max(self.stored - self.first_stored, 1) * 1e6

    @property
    def sustained_rate(self) -> float:
        """Readings/s from the first observation to the last: start-up excluded."""
        return (self.stored - self.first_stored) / max(self.end_at - self.first_at, 1e-9)


def wait_stored(replicas: list[IngestReplica], total: int, timeout: float, poll_s: float = 0.05) -> Progress:
    """Poll ingest's counters until ``total`` messages are stored or dead-lettered (or ``timeout``)."""
    deadline = time.perf_counter() + timeout
    stored = dead = 0
    first: tuple[float, int] | None = None
    cpu_first = 0.0
    while time.perf_counter() < deadline:
        stored, dead = stored_total(replicas)
        if first is None and stored > 0:
            first = (time.perf_counter(), stored)
            cpu_first = sum(r.cpu_seconds() for r in replicas)
        if stored + dead >= total:
            break
        time.sleep(poll_s)
    now = time.perf_counter()
    cpu_end = sum(r.cpu_seconds() for r in replicas)
    if first is None:
        first, cpu_first = (now, 0), cpu_end
    return Progress(first[0], first[1], now, stored, dead, cpu_first, cpu_end)


if __name__ == "__main__":  # pragma: no cover - manual smoke
    print(PYTHON, sys.version)
