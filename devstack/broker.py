"""Run the local MQTT broker: Eclipse Mosquitto when installed, else amqtt from PyPI.

    python -m devstack.broker        (port from EP_MQTT_PORT, data under EP_VAR_DIR)

The Mosquitto settings the system ships live in deploy/mosquitto/mosquitto.conf (also used by
compose); this adds the listener and persistence location of this instance.
"""

from __future__ import annotations

import getpass
import os
import shutil
import subprocess
import sys
from pathlib import Path

__all__ = ["mosquitto_binary", "render_mosquitto_conf", "start_mosquitto"]

ROOT = Path(__file__).resolve().parents[1]
SHIPPED_CONF = ROOT / "deploy" / "mosquitto" / "mosquitto.conf"
_OWN_KEYS = ("listener", "port", "persistence_location", "log_dest", "pid_file", "user")


def mosquitto_binary() -> str | None:
    return shutil.which("mosquitto") or next(
        (p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if os.access(p, os.X_OK)), None
    )


def render_mosquitto_conf(port: int, data_dir: Path, host: str = "127.0.0.1") -> str:
    """The shipped settings plus this instance's listener and persistence directory."""
    lines: list[str] = []
    if SHIPPED_CONF.exists():
        for line in SHIPPED_CONF.read_text().splitlines():
            key = line.strip().split(" ", 1)[0]
            if key not in _OWN_KEYS:
                lines.append(line)
    else:
        lines += ["allow_anonymous true", "persistence true", "max_queued_messages 0"]
    data_dir.mkdir(parents=True, exist_ok=True)
    lines += [
        # Started as root, Mosquitto would switch to user "mosquitto", who cannot write our data dir.
        f"user {getpass.getuser()}",
        f"listener {port} {host}",
        f"persistence_location {data_dir}/",
        "log_dest stderr",
    ]
    return "\n".join(lines) + "\n"


def start_mosquitto(port: int, data_dir: Path, log_file: Path | None = None) -> subprocess.Popen[bytes]:
    """Start a private Mosquitto (tests use this on a free port)."""
    binary = mosquitto_binary()
    if binary is None:
        raise FileNotFoundError("mosquitto is not installed (scripts/bootstrap installs it)")
    conf = data_dir / "mosquitto.conf"
    data_dir.mkdir(parents=True, exist_ok=True)
    conf.write_text(render_mosquitto_conf(port, data_dir))
    out = open(log_file, "ab") if log_file else subprocess.DEVNULL
    return subprocess.Popen([binary, "-c", str(conf)], stdout=out, stderr=out)


def main() -> None:
    port = int(os.environ.get("EP_MQTT_PORT", "1883"))
    var_dir = Path(os.environ.get("EP_VAR_DIR", "var"))
    binary = mosquitto_binary()
    if binary is not None:
        data_dir = var_dir / "mosquitto"
        data_dir.mkdir(parents=True, exist_ok=True)
        conf = data_dir / "mosquitto.conf"
        conf.write_text(render_mosquitto_conf(port, data_dir))
        os.execv(binary, [binary, "-c", str(conf)])
    # Fallback: amqtt, a complete MQTT 3.1.1 broker from PyPI (no MQTT 5 shared subscriptions,
    # so run a single ingest replica with it).
    config = var_dir / "amqtt.yaml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(
        f"listeners:\n  default:\n    type: tcp\n    bind: 127.0.0.1:{port}\n"
        "plugins:\n  amqtt.plugins.authentication.AnonymousAuthPlugin:\n    allow_anonymous: true\n"
    )
    print("mosquitto not found: running amqtt (single ingest replica only)", file=sys.stderr)
    os.execv(sys.executable, [sys.executable, "-m", "amqtt.scripts.broker_script", "-c", str(config)])


if __name__ == "__main__":
    main()
