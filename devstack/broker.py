"""Run the local MQTT broker: Eclipse Mosquitto 2 with the access control the system ships.

    python -m devstack.broker        (port from EP_MQTT_PORT, data under EP_VAR_DIR)

The Mosquitto settings the system ships live in deploy/mosquitto/mosquitto.conf (also used by
compose); this keeps everything but the listener, TLS files and file locations, and listens in
plain MQTT on loopback only. Access control is Mosquitto's dynamic-security plugin
(docs/broker-security.md): its first configuration (the ``ingest`` identity, PBKDF2-SHA512 hash
made in Python, so neither mosquitto_passwd nor mosquitto_ctrl is needed) is written under the
data directory on first start and owned by the broker from then on (ingest provisions devices in
it live). There is no fallback broker: without Mosquitto (and its plugin) this exits with the
command that installs it.
"""

from __future__ import annotations

import getpass
import glob
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from contracts.mqtt.access import dynsec_document

__all__ = [
    "INSTALL_HINT",
    "BrokerMissing",
    "dynsec_plugin",
    "ensure_dynsec_config",
    "mosquitto_binary",
    "render_mosquitto_conf",
    "start_mosquitto",
]

ROOT = Path(__file__).resolve().parents[1]
SHIPPED_CONF = ROOT / "deploy" / "mosquitto" / "mosquitto.conf"
DYNSEC_FILE = "dynamic-security.json"
# Lines of the shipped file that describe the container (compose), replaced for a local instance.
_OWN_KEYS = (
    "listener",
    "port",
    "persistence_location",
    "log_dest",
    "pid_file",
    "user",
    "cafile",
    "certfile",
    "keyfile",
    "require_certificate",
    "tls_version",
    "plugin",
    "plugin_opt_config_file",
)
_PLUGIN_GLOBS = (
    "/usr/lib/*/mosquitto_dynamic_security.so",  # Debian, Ubuntu
    "/usr/lib/mosquitto_dynamic_security.so",  # Alpine, the eclipse-mosquitto image
    "/usr/lib64/mosquitto_dynamic_security.so",  # Fedora, RHEL
    "/usr/local/lib/mosquitto_dynamic_security.so",  # built from source
    "/opt/homebrew/lib/mosquitto_dynamic_security.so",  # Homebrew, Apple silicon
    "/usr/local/opt/mosquitto/lib/mosquitto_dynamic_security.so",  # Homebrew, Intel
)
INSTALL_HINT = (
    "install Eclipse Mosquitto 2 (with its dynamic-security plugin): "
    "Debian/Ubuntu `sudo apt-get install mosquitto mosquitto-clients`, "
    "Fedora `sudo dnf install mosquitto`, macOS `brew install mosquitto`, "
    "or run ./scripts/bootstrap"
)


class BrokerMissing(RuntimeError):
    """Mosquitto or its dynamic-security plugin is not installed."""


def mosquitto_binary() -> str | None:
    return shutil.which("mosquitto") or next(
        (p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if os.access(p, os.X_OK)), None
    )


def dynsec_plugin() -> str | None:
    """Path of mosquitto_dynamic_security.so (EP_MOSQUITTO_DYNSEC_PLUGIN overrides the search)."""
    override = os.environ.get("EP_MOSQUITTO_DYNSEC_PLUGIN", "")
    if override:
        return override if os.path.exists(override) else None
    for pattern in _PLUGIN_GLOBS:
        found = sorted(glob.glob(pattern))
        if found:
            return found[0]
    return None


def _require() -> tuple[str, str]:
    binary, plugin = mosquitto_binary(), dynsec_plugin()
    if binary is None:
        raise BrokerMissing(f"mosquitto is not installed: {INSTALL_HINT}")
    if plugin is None:
        raise BrokerMissing(
            "mosquitto_dynamic_security.so (Mosquitto 2's access-control plugin) was not found; "
            f"set EP_MOSQUITTO_DYNSEC_PLUGIN to its path or {INSTALL_HINT}"
        )
    return binary, plugin


def render_mosquitto_conf(
    port: int, data_dir: Path, host: str = "127.0.0.1", plugin: str | None = None, extra: str = ""
) -> str:
    """The shipped settings plus this instance's listener, plugin and file locations."""
    plugin = plugin or dynsec_plugin()
    if plugin is None:
        raise BrokerMissing(f"mosquitto_dynamic_security.so not found: {INSTALL_HINT}")
    lines: list[str] = []
    for line in SHIPPED_CONF.read_text().splitlines():
        key = line.strip().split(" ", 1)[0]
        if key not in _OWN_KEYS:
            lines.append(line)
    data_dir.mkdir(parents=True, exist_ok=True)
    lines += [
        # Started as root, Mosquitto would switch to user "mosquitto", who cannot write our data dir.
        f"user {getpass.getuser()}",
        f"listener {port} {host}",
        f"persistence_location {data_dir}/",
        "log_dest stderr",
        f"plugin {plugin}",
        f"plugin_opt_config_file {data_dir / DYNSEC_FILE}",
    ]
    return "\n".join(lines) + "\n" + extra


def ensure_dynsec_config(
    data_dir: Path,
    ingest_password: str,
    extra_clients: Sequence[Mapping[str, Any]] = (),
    extra_roles: Sequence[Mapping[str, Any]] = (),
) -> Path:
    """Write the plugin's first configuration unless it exists (the broker keeps it from then on,
    with every device ingest provisioned since)."""
    path = data_dir / DYNSEC_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        document = dynsec_document(ingest_password)
        document["clients"] += list(extra_clients)
        document["roles"] += list(extra_roles)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump(document, out, indent=1)
    return path


def start_mosquitto(
    port: int,
    data_dir: Path,
    log_file: Path | None = None,
    *,
    ingest_password: str,
    extra_clients: Sequence[Mapping[str, Any]] = (),
    extra_roles: Sequence[Mapping[str, Any]] = (),
) -> subprocess.Popen[bytes]:
    """Start a private Mosquitto (tests use this on a free port)."""
    binary, plugin = _require()
    ensure_dynsec_config(data_dir, ingest_password, extra_clients, extra_roles)
    conf = data_dir / "mosquitto.conf"
    conf.write_text(render_mosquitto_conf(port, data_dir, plugin=plugin))
    out = open(log_file, "ab") if log_file else subprocess.DEVNULL
    return subprocess.Popen([binary, "-c", str(conf)], stdout=out, stderr=out)


def main() -> None:
    port = int(os.environ.get("EP_MQTT_PORT", "1883"))
    var_dir = Path(os.environ.get("EP_VAR_DIR", "var"))
    password = os.environ.get("EP_INGEST_MQTT_PASSWORD", "")
    try:
        binary, plugin = _require()
    except BrokerMissing as exc:
        print(f"broker: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
    if not password:
        print("broker: EP_INGEST_MQTT_PASSWORD is not set (./scripts/run generates it)", file=sys.stderr)
        raise SystemExit(1)
    data_dir = (var_dir / "mosquitto").resolve()
    ensure_dynsec_config(data_dir, password)
    conf = data_dir / "mosquitto.conf"
    conf.write_text(render_mosquitto_conf(port, data_dir, plugin=plugin))
    os.execv(binary, [binary, "-c", str(conf)])


if __name__ == "__main__":
    main()
