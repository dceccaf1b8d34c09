"""`python -m devstack.broker` (the Procfile's broker): no fallback broker, a clear error instead."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("EP_")}
    return subprocess.run(
        [sys.executable, "-m", "devstack.broker"],
        cwd=ROOT,
        env={**base, "EP_VAR_DIR": str(tmp_path), "EP_MQTT_PORT": "1", **env},
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_without_the_access_control_plugin_it_says_how_to_install(tmp_path: Path) -> None:
    done = _run(
        tmp_path, EP_MOSQUITTO_DYNSEC_PLUGIN=str(tmp_path / "missing.so"), EP_INGEST_MQTT_PASSWORD="x" * 32
    )
    assert done.returncode == 1
    assert "mosquitto_dynamic_security.so" in done.stderr and "apt-get install mosquitto" in done.stderr
    assert "amqtt" not in done.stderr


def test_without_ingest_password_it_refuses_to_start_an_open_broker(tmp_path: Path) -> None:
    done = _run(tmp_path)
    assert done.returncode == 1 and "EP_INGEST_MQTT_PASSWORD" in done.stderr
    assert not (tmp_path / "mosquitto" / "dynamic-security.json").exists()
