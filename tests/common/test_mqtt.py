"""Broker settings (common/mqtt.py): URL forms, validation, and TLS + passwords against a real Mosquitto."""

from __future__ import annotations

import datetime as dt
import ipaddress
import select
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from paho.mqtt.enums import CallbackAPIVersion

from common.config import ConfigError
from common.mqtt import MqttSettings, Waker, parse_mqtt_url
from meter_sim.gateway import Gateway
from tests.ingest_svc.helpers import wait_for
from tests.ingest_svc.mqtt_broker import MosquittoBroker


def test_waker_wakes_a_select_from_another_thread_and_drains() -> None:
    waker = Waker()
    try:
        assert select.select([waker], [], [], 0)[0] == []
        thread = threading.Thread(target=lambda: [waker.wake() for _ in range(1000)])
        thread.start()
        assert select.select([waker], [], [], 5)[0] == [waker]
        thread.join()
        waker.drain()
        assert select.select([waker], [], [], 0)[0] == []  # a thousand wakes, one byte, drained
        waker.wake()
        assert select.select([waker], [], [], 0)[0] == [waker]  # drained: the next wake counts again
    finally:
        waker.close()
    waker.wake()  # after close (a late ack on shutdown): silently nothing


def test_url_forms_and_defaults() -> None:
    plain = MqttSettings.load("mqtt://broker.example:1884", {})
    assert (plain.host, plain.port, plain.tls, plain.ssl_context()) == ("broker.example", 1884, False, None)
    assert plain.keepalive_s == 15
    secure = MqttSettings.load("mqtts://broker.example", {})
    assert (secure.port, secure.tls) == (8883, True)
    assert secure.ssl_context() is not None
    assert parse_mqtt_url("tcp://10.0.0.5") == ("10.0.0.5", 1883)


def test_credentials_from_url_and_env_env_wins() -> None:
    in_url = MqttSettings.load("mqtt://meter%40lab:s%3Acret@b:1883", {})
    assert (in_url.effective_username, in_url.effective_password) == ("meter@lab", "s:cret")
    env = MqttSettings.load("mqtt://u:p@b", {"EP_MQTT_USERNAME": "svc", "EP_MQTT_PASSWORD": "pw"})
    assert (env.effective_username, env.effective_password) == ("svc", "pw")
    assert "pw" not in repr(env)  # passwords stay out of logs


@pytest.mark.parametrize(
    ("url", "environ", "fragment"),
    [
        ("http://b:1883", {}, "expected mqtt://host:port"),
        ("mqtt://:1883", {}, "expected mqtt://host:port"),
        ("mqtt://b:99999", {}, "bad port"),
        ("mqtt://b", {"EP_MQTT_CA_FILE": "/ca.pem"}, "need a mqtts://"),
        ("mqtts://b", {"EP_MQTT_CERT_FILE": "/c.pem"}, "go together"),
        ("mqtt://b", {"EP_MQTT_KEEPALIVE_S": "2"}, "KEEPALIVE"),
        ("mqtt://b", {"EP_MQTT_KEEPALIVE_S": "soon"}, "not a valid int"),
    ],
)
def test_bad_settings_fail_at_start_with_a_reason(url: str, environ: dict[str, str], fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        MqttSettings.load(url, environ)


def test_password_in_url_is_not_echoed_in_errors() -> None:
    with pytest.raises(ConfigError) as info:
        MqttSettings.load("http://u:topsecret@b", {})
    assert "topsecret" not in str(info.value)


# --- a TLS + password broker ---------------------------------------------------------------------


def _write_pki(directory: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and a server certificate for 127.0.0.1 signed by it."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "EnergyPulse test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_path, cert_path, key_path = directory / "ca.pem", directory / "server.pem", directory / "server.key"
    ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return ca_path, cert_path, key_path


@pytest.fixture(scope="module")
def secure_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[MosquittoBroker, Path]]:
    workdir = tmp_path_factory.mktemp("secure-broker")
    ca, cert, key = _write_pki(workdir)
    passwords = workdir / "passwd"
    subprocess.run(["mosquitto_passwd", "-b", "-c", str(passwords), "meter", "m3ter-pw"], check=True)
    extra = f"allow_anonymous false\npassword_file {passwords}\ncertfile {cert}\nkeyfile {key}\n"
    broker = MosquittoBroker(workdir, extra_conf=extra, scheme="mqtts")
    broker.start()
    yield broker, ca
    broker.stop()


def _connect_result(settings: MqttSettings) -> str:
    """What the broker answers a paho client configured only through ``settings``."""
    outcome: list[str] = []
    done = threading.Event()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="settings-probe", protocol=mqtt.MQTTv5)
    settings.configure(client)

    def on_connect(_c: mqtt.Client, _u: object, _f: object, reason: object, _p: object) -> None:
        outcome.append(str(reason))
        done.set()

    client.on_connect = on_connect
    try:
        client.connect(settings.host, settings.port, keepalive=settings.keepalive_s)
    except OSError as exc:  # TLS handshake refused (e.g. unknown CA)
        return f"error: {exc}"
    client.loop_start()
    done.wait(5)
    client.disconnect()
    client.loop_stop()
    return outcome[0] if outcome else "no answer"


def test_tls_and_password_only_through_settings(secure_broker: tuple[MosquittoBroker, Path]) -> None:
    broker, ca = secure_broker
    good = {"EP_MQTT_CA_FILE": str(ca), "EP_MQTT_USERNAME": "meter", "EP_MQTT_PASSWORD": "m3ter-pw"}
    assert _connect_result(MqttSettings.load(broker.url, good)) == "Success"
    wrong_password = {**good, "EP_MQTT_PASSWORD": "guess"}
    assert _connect_result(MqttSettings.load(broker.url, wrong_password)) in (
        "Bad user name or password",
        "Not authorized",
    )
    untrusted = {k: v for k, v in good.items() if k != "EP_MQTT_CA_FILE"}
    assert _connect_result(MqttSettings.load(broker.url, untrusted)).startswith("error:")


def test_meter_gateway_publishes_over_tls_with_credentials(
    secure_broker: tuple[MosquittoBroker, Path],
) -> None:
    broker, ca = secure_broker
    settings = MqttSettings.load(
        broker.url, {"EP_MQTT_CA_FILE": str(ca), "EP_MQTT_USERNAME": "meter", "EP_MQTT_PASSWORD": "m3ter-pw"}
    )
    gateway = Gateway("gw-tls", settings, ["m-tls"], buffer_max=100, inflight_max=10)
    gateway.start()
    try:
        assert wait_for(lambda: gateway.connected, timeout=10)
        gateway.enqueue("energy/meters/m-tls", b'{"probe": 1}')
        assert wait_for(lambda: gateway.pump() >= 0 and gateway.idle, timeout=10)
        assert gateway.acked >= 1  # the broker acknowledged the reading (plus retained statuses)
    finally:
        gateway.stop()
