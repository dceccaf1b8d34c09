"""How every EnergyPulse MQTT client reaches the broker (env EP_MQTT_*), in one place.

Everything broker-specific lives here as configuration, none of it in code: the address and
scheme (``mqtt://`` plain TCP, ``mqtts://`` TLS), credentials, the CA and client certificate for
mutual TLS, and the keepalive. The same settings work for a local Mosquitto and for a clustered
broker (EMQX, HiveMQ, VerneMQ) behind a load balancer; see docs/SCALING.md.

A service keeps ``EP_MQTT_URL`` in its own settings (tests and tools override just the address)
and builds the rest with ``MqttSettings.load(url)``.
"""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlparse

from common.config import ConfigError, env_field, from_env
from common.mqtt_wire import CONNACK, Connack, Control, PacketReader, ProtocolError, Publish, decode_connack

if TYPE_CHECKING:
    import paho.mqtt.client as mqtt

__all__ = ["ConnectionLost", "MqttSettings", "Waker", "close_after_peer", "open_session", "parse_mqtt_url"]

_DEFAULT_PORTS = {"mqtt": 1883, "tcp": 1883, "mqtts": 8883, "ssl": 8883}


@dataclass(frozen=True)
class MqttSettings:
    url: str = env_field(
        "EP_MQTT_URL",
        "mqtt://127.0.0.1:1883",
        "Broker: mqtt://host:port (TCP) or mqtts://host:port (TLS); user:password@ may be embedded",
    )
    username: str = env_field("EP_MQTT_USERNAME", "", "Broker user name (overrides one in the URL)")
    password: str = env_field(
        "EP_MQTT_PASSWORD", "", "Broker password (overrides one in the URL)", secret=True
    )
    ca_file: str = env_field("EP_MQTT_CA_FILE", "", "PEM CA bundle for mqtts:// (default: the system's CAs)")
    cert_file: str = env_field("EP_MQTT_CERT_FILE", "", "PEM client certificate for mutual TLS")
    key_file: str = env_field("EP_MQTT_KEY_FILE", "", "PEM key of the client certificate")
    tls_insecure: bool = env_field(
        "EP_MQTT_TLS_INSECURE", False, "Skip the broker's host name check (test brokers only)"
    )
    keepalive_s: int = env_field(
        "EP_MQTT_KEEPALIVE_S", 15, "MQTT keepalive: a dead broker or path is noticed within 1.5x this"
    )

    def __post_init__(self) -> None:
        _split(self.url)  # a bad URL fails here, at start
        if not 5 <= self.keepalive_s <= 65535:
            raise ConfigError("EP_MQTT_KEEPALIVE_S must be 5..65535")
        if (self.cert_file or self.key_file or self.ca_file) and not self.tls:
            raise ConfigError("EP_MQTT_CA_FILE/CERT_FILE/KEY_FILE need a mqtts:// EP_MQTT_URL")
        if bool(self.cert_file) != bool(self.key_file):
            raise ConfigError("EP_MQTT_CERT_FILE and EP_MQTT_KEY_FILE go together")

    @classmethod
    def load(cls, url: str, environ: Mapping[str, str] | None = None) -> MqttSettings:
        """The broker settings from the environment, for the service's own ``EP_MQTT_URL``."""
        return from_env(cls, environ, url=url)

    @property
    def host(self) -> str:
        return _split(self.url)[1]

    @property
    def port(self) -> int:
        return _split(self.url)[2]

    @property
    def tls(self) -> bool:
        return _split(self.url)[0] in ("mqtts", "ssl")

    @property
    def effective_username(self) -> str | None:
        return self.username or _split(self.url)[3] or None

    @property
    def effective_password(self) -> str | None:
        return self.password or _split(self.url)[4] or None

    def ssl_context(self) -> ssl.SSLContext | None:
        """The TLS context for mqtts:// (None for plain TCP); files are read here, so errors show at start."""
        if not self.tls:
            return None
        context = ssl.create_default_context(cafile=self.ca_file or None)
        if self.cert_file:
            context.load_cert_chain(self.cert_file, self.key_file)
        if self.tls_insecure:
            context.check_hostname = False
        return context

    def configure(self, client: mqtt.Client) -> None:
        """Apply credentials and TLS to a paho client (before connect)."""
        if self.effective_username is not None:
            client.username_pw_set(self.effective_username, self.effective_password)
        context = self.ssl_context()
        if context is not None:
            client.tls_set_context(context)
            client.tls_insecure_set(self.tls_insecure)


class Waker:
    """Wakes a network thread blocked in ``select`` from other threads.

    A socket pair whose read end sits in the select set next to the broker socket (with TLS only
    the network thread may touch that socket, so other threads cannot write to it themselves).
    ``fileno`` makes the waker itself selectable. At most one byte is in flight, so calling
    :meth:`wake` per message stays cheap.
    """

    def __init__(self) -> None:
        self._read, self._write = socket.socketpair()
        self._read.setblocking(False)
        self._write.setblocking(False)
        self._pending = False

    def fileno(self) -> int:
        return self._read.fileno()

    def wake(self) -> None:
        if not self._pending:
            self._pending = True
            try:
                self._write.send(b"\0")
            except OSError:  # buffer full (a wake is pending anyway) or closed on shutdown
                pass

    def drain(self) -> None:
        """Consume the wake-ups; the caller looks for work right after."""
        try:
            while self._read.recv(4096):
                pass
        except OSError:  # BlockingIOError: drained
            pass
        # Only after draining: a wake() in between finds _pending still set and sends nothing,
        # which is fine as the caller looks for work next anyway.
        self._pending = False

    def close(self) -> None:
        self._pending = True  # later wake() calls send nothing
        self._read.close()
        self._write.close()


class ConnectionLost(Exception):
    """The connection is gone (closed, refused, timed out, kicked by the broker): reconnect."""


def open_session(
    broker: MqttSettings,
    ssl_context: ssl.SSLContext | None,
    connect_packet: bytes,
    reader: PacketReader,
    *,
    timeout_s: float,
    recv_bytes: int,
) -> tuple[socket.socket, Connack, list[Publish | Control]]:
    """TCP (and TLS) to the broker, CONNECT, and its CONNACK.

    Returns the socket, the CONNACK and the packets that came after it in the same reads. Raises
    ConnectionLost (closed or refused), ProtocolError or OSError; the socket is closed then.
    """
    raw = socket.create_connection((broker.host, broker.port), timeout=timeout_s)
    try:
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock = ssl_context.wrap_socket(raw, server_hostname=broker.host) if ssl_context else raw
    except BaseException:
        raw.close()
        raise
    try:
        sock.sendall(connect_packet)
        packets: list[Publish | Control] = []
        while not packets:
            data = sock.recv(recv_bytes)
            if not data:
                raise ConnectionLost("broker closed the connection before CONNACK")
            packets = reader.feed(data)
        head = packets[0]
        if not isinstance(head, Control) or head.kind != CONNACK:
            raise ProtocolError("first packet from the broker is not CONNACK")
        connack = decode_connack(head.body)
        if connack.reason_code >= 0x80:
            raise ConnectionLost(f"connect refused: reason 0x{connack.reason_code:02x}")
    except BaseException:
        sock.close()
        raise
    return sock, connack, packets[1:]


def _split(url: str) -> tuple[str, str, int, str, str]:
    parsed = urlparse(url)
    scheme = parsed.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parsed.hostname:
        raise ConfigError(f"EP_MQTT_URL={_redact(url)!r}: expected mqtt://host:port or mqtts://host:port")
    try:
        port = parsed.port or _DEFAULT_PORTS[scheme]
    except ValueError as exc:
        raise ConfigError(f"EP_MQTT_URL={_redact(url)!r}: bad port") from exc
    return (
        scheme,
        parsed.hostname,
        port,
        unquote(parsed.username or ""),
        unquote(parsed.password or ""),
    )


def _redact(url: str) -> str:
    parsed = urlparse(url)
    if parsed.password is None:
        return url
    return url.replace(f":{parsed.password}@", ":***@", 1)


def parse_mqtt_url(url: str) -> tuple[str, int]:
    """Host and port of an EP_MQTT_URL (validating it)."""
    _, host, port, _, _ = _split(url)
    return host, port


def close_after_peer(sock: socket.socket, timeout_s: float = 2.0) -> None:
    """Half-close and wait (bounded) for the broker to close its side before ours is closed. A
    close() with bytes still unread here makes the kernel send RST, and a peer that gets RST drops
    what it has received but not yet read: under load the broker lost the PUBACKs queued just
    before DISCONNECT and redelivered messages that were stored and acknowledged. Call it after
    sending DISCONNECT; the caller still closes the socket."""
    sock.shutdown(socket.SHUT_WR)
    deadline = time.monotonic() + timeout_s
    while (left := deadline - time.monotonic()) > 0:
        sock.settimeout(left)
        try:
            if not sock.recv(65536):
                return  # the broker read everything up to our DISCONNECT and closed
        except (TimeoutError, OSError):
            return
