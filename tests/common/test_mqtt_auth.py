"""Broker password hashes made in Python are the ones Mosquitto 2 itself reads (no mosquitto_passwd)."""

from __future__ import annotations

import getpass
import subprocess
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from common.mqtt_auth import new_secret, password_file_line, pbkdf2_sha512
from devstack.broker import mosquitto_binary
from tests.conftest import wait_for_port
from tests.ingest_svc.helpers import wait_for
from tests.ingest_svc.mqtt_broker import free_port


def _connect(port: int, user: str, password: str) -> str:
    result: list[str] = []
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.username_pw_set(user, password)
    client.on_connect = lambda _c, _u, _f, rc, _p: result.append(str(rc))
    client.connect("127.0.0.1", port)
    client.loop_start()
    wait_for(lambda: bool(result), 5)
    client.disconnect()
    client.loop_stop()
    return result[0] if result else "no answer"


def test_password_file_lines_are_read_by_mosquitto(tmp_path: Path) -> None:
    password = new_secret()
    (tmp_path / "passwd").write_text(password_file_line("meter-1", password) + "\n")
    port = free_port()
    conf = tmp_path / "m.conf"
    conf.write_text(
        f"user {getpass.getuser()}\nlistener {port} 127.0.0.1\nallow_anonymous false\n"
        f"password_file {tmp_path / 'passwd'}\n"
    )
    proc = subprocess.Popen([mosquitto_binary() or "mosquitto", "-c", str(conf)], stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port)
        assert _connect(port, "meter-1", password) == "Success"
        assert _connect(port, "meter-1", password + "x") in ("Not authorized", "Bad user name or password")
    finally:
        proc.terminate()
        proc.wait(10)


def test_hashes_are_salted_and_secrets_random() -> None:
    a, b = pbkdf2_sha512("same"), pbkdf2_sha512("same")
    assert a["salt"] != b["salt"] and a["password"] != b["password"]
    assert pbkdf2_sha512("same", salt=b"0" * 12) == pbkdf2_sha512("same", salt=b"0" * 12)
    assert len({new_secret() for _ in range(100)}) == 100 and len(new_secret()) >= 43
