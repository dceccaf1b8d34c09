"""The environment every process of the local stack gets (see README, "Configuration")."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from devstack.ports import free_port
from devstack.replicas import SCALABLE, replica_port_key
from devstack.secrets import DEFAULT_ORIGIN, installation_secrets, ledger_verifier_key

ROOT = Path(__file__).resolve().parents[1]

__all__ = [
    "SERVICES",
    "StackPorts",
    "allocate_ports",
    "pin_keys",
    "replica_targets",
    "stack_env",
]

# Python services and the key of their ports.
SERVICES = ("auth", "predict", "ledger", "ingest", "alert")
PREFERRED = {
    "edge": 8080,
    "web": 5173,
    "mqtt": 1883,
    "auth": 50051,
    "predict": 50052,
    "ledger": 50053,
    "ingest": 50054,
    "alert": 50055,
    "auth_metrics": 9101,
    "predict_metrics": 9102,
    "ledger_metrics": 9103,
    "ingest_metrics": 9104,
    "meter_metrics": 9105,
    "alert_metrics": 9106,
    "witness_http": 50060,
}


@dataclass(frozen=True)
class StackPorts:
    ports: dict[str, int] = field(default_factory=dict)

    def __getitem__(self, name: str) -> int:
        return self.ports[name]


# Extra replicas (2nd, 3rd, ...) of a service: consecutive ports from here, 10 per service
# (predict_svc-2 on 50112, predict_svc-3 on 50113, ...), metrics likewise from 9200.
_REPLICA_BASE = {"grpc": 50100, "metrics": 9200}


def allocate_ports(prefer_standard: bool, replicas: Mapping[str, int] | None = None) -> StackPorts:
    """The standard ports where free (local run), or all random free ports (tests).

    ``replicas`` (Procfile name -> count) adds ``<svc>.<i>`` and ``<svc>_metrics.<i>`` for i >= 2.
    """
    taken: set[int] = set()
    ports = {name: free_port(port if prefer_standard else None, taken) for name, port in PREFERRED.items()}
    for entry, count in (replicas or {}).items():
        svc = SCALABLE[entry]
        offset = 10 * SERVICES.index(svc)
        for index in range(2, count + 1):
            for metrics, base in ((False, _REPLICA_BASE["grpc"]), (True, _REPLICA_BASE["metrics"])):
                preferred = base + offset + index if prefer_standard else None
                ports[replica_port_key(svc, index, metrics)] = free_port(preferred, taken)
    return StackPorts(ports)


def replica_count(ports: StackPorts, svc: str) -> int:
    count = 1
    while replica_port_key(svc, count + 1) in ports.ports:
        count += 1
    return count


def replica_targets(ports: StackPorts, svc: str) -> list[str]:
    """host:port of every replica of ``svc``."""
    return [f"127.0.0.1:{ports[replica_port_key(svc, i)]}" for i in range(1, replica_count(ports, svc) + 1)]


def _client_target(ports: StackPorts, svc: str) -> str:
    targets = replica_targets(ports, svc)
    # gRPC's ipv4: resolver takes a static address list; make_channel round-robins over it.
    return targets[0] if len(targets) == 1 else "ipv4:" + ",".join(targets)


def pin_keys(var_dir: Path, ports: StackPorts) -> dict[str, str]:
    """The keys clients pin, from the keys on disk (the ledger's, made with the installation's secrets, and the
    witness's own, made here in its own folder): the ledger's note verifier key for the witness,
    the verifier and the dashboard build, and the witness's cosignature key and endpoint."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from common import tlog

    def load(path: Path) -> Ed25519PrivateKey:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        assert isinstance(key, Ed25519PrivateKey), path
        return key

    var_dir = var_dir.resolve()
    witness_dir = var_dir / "witness"
    witness_key = witness_dir / "witness_key.pem"
    if not witness_key.exists():
        witness_dir.mkdir(parents=True, exist_ok=True)
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        fd = os.open(witness_key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(pem)
    origin = os.environ.get("EP_LEDGER_ORIGIN", DEFAULT_ORIGIN)
    witness_name = os.environ.get("EP_WITNESS_NAME", "energypulse.local/witness")
    witness_public = load(witness_key).public_key().public_bytes_raw()
    ledger_vkey = ledger_verifier_key(var_dir / "ledger_signing_key.pem", origin)
    witness_vkey = tlog.verifier_key(witness_name, tlog.ALG_COSIGNATURE_V1, witness_public)
    url = f"http://127.0.0.1:{ports['witness_http']}"
    return {
        "EP_LEDGER_VERIFIER_KEY": ledger_vkey,
        "EP_WITNESS_LEDGER_KEY": ledger_vkey,
        "EP_WITNESS_VERIFIER_KEY": witness_vkey,
        "EP_WITNESS_KEY_FILE": str(witness_key),
        "EP_WITNESS_STATE_FILE": str(witness_dir / "state.json"),
        "EP_WITNESS_HTTP_PORT": str(ports["witness_http"]),
        "EP_WITNESS_URL": url,
        # The dashboard build pins both (Vite exposes VITE_* to the page; never fetched at run time).
        "VITE_EP_LEDGER_VERIFIER_KEY": ledger_vkey,
        "VITE_EP_WITNESS_VERIFIER_KEY": witness_vkey,
        "VITE_EP_WITNESS_URL": url,
    }


# The dashboard's language and number format follow the installation's bill (issues #17, #21):
# a NOK rule set (Norway) is read in Norwegian, an EUR one in English. A household still switches.
LOCALE_OF_CURRENCY = {"NOK": "nb-NO", "EUR": "en-GB"}


def dashboard_locale(env: Mapping[str, str]) -> str:
    """The dashboard build's default locale (VITE_EP_LOCALE) from the rule set's currency
    (``EP_BILL_RULESET``, Norway's when unset): the same rule set every billing service reads."""
    from energy.ratebook import DEFAULT_RULESET, load_ratebook

    ruleset = env.get("EP_BILL_RULESET") or os.environ.get("EP_BILL_RULESET") or ""
    currency = load_ratebook(Path(ruleset) if ruleset else DEFAULT_RULESET).currency
    return LOCALE_OF_CURRENCY.get(currency, "en-GB")


def stack_env(
    ports: StackPorts,
    var_dir: Path,
    demo: bool = True,
    meters: int = 20,
    database_url: str | None = None,
    backfill_days: float = 0.0,
) -> dict[str, str]:
    """Environment variables wiring every process of the stack together.

    ``database_url``: one SQLAlchemy URL every service stores in (PostgreSQL for replicas; the
    services' tables and Alembic version tables do not collide, tests/test_migrations.py checks).
    ``backfill_days``: the meters' back-history at first start (meter_sim/backfill.py); the run
    command's demo asks for 28 days, test stacks for none unless a test wants it.
    """
    var_dir = var_dir.resolve()
    env = {
        "EP_VAR_DIR": str(var_dir),
        "EP_DEMO": "1" if demo else "0",
        "EP_AUTH_DEMO": "1" if demo else "0",
        "EP_AUTH_DEMO_HOUSEHOLDS": str(max(meters, 1)),
        "EP_MQTT_URL": f"mqtt://127.0.0.1:{ports['mqtt']}",
        "EP_MQTT_PORT": str(ports["mqtt"]),
        "EP_EDGE_PORT": str(ports["edge"]),
        "EP_WEB_PORT": str(ports["web"]),
        # The static build the web front serves (./scripts/run: its own pinned build in the state folder).
        "EP_WEB_DIST": str(ROOT / "dashboard" / "dist"),
        # Envoy's admin interface listens on this Unix socket only (mode 0600), never on TCP.
        "EP_ENVOY_ADMIN_SOCKET": str(var_dir / "envoy-admin.sock"),
        "EP_ENVOY_CONFIG": str(var_dir / "envoy.yaml"),
        "EP_METER_COUNT": str(meters),
        "EP_METER_METRICS_PORT": str(ports["meter_metrics"]),
        "EP_METER_BACKFILL_DAYS": f"{backfill_days:g}",
        # glibc makes up to 8 malloc arenas per core, one per thread that contends, and free space
        # in one is not reused by another: two arenas cut ingest_svc's resident memory by ~13 MB
        # at 10,000 meters (bench/bench_memory.py). The Dockerfile sets the same.
        "MALLOC_ARENA_MAX": os.environ.get("MALLOC_ARENA_MAX", "2"),
    }
    for svc in SERVICES:
        upper = svc.upper()
        env[f"EP_{upper}_GRPC_PORT"] = str(ports[svc])
        env[f"EP_{upper}_METRICS_PORT"] = str(ports[f"{svc}_metrics"])
        env[f"EP_{upper}_DATABASE_URL"] = database_url or f"sqlite:///{var_dir / (svc + '.db')}"
        # Every replica's port, for Envoy's cluster (envoy/generate.py, local mode).
        env[f"EP_{upper}_GRPC_PORTS"] = ",".join(t.rsplit(":", 1)[1] for t in replica_targets(ports, svc))
    env["EP_AUTH_TARGET"] = _client_target(ports, "auth")
    env["EP_PREDICT_TARGET"] = _client_target(ports, "predict")
    env["EP_LEDGER_TARGET"] = _client_target(ports, "ledger")
    env["EP_TELEMETRY_TARGET"] = _client_target(ports, "ingest")
    env["EP_ALERT_TARGET"] = _client_target(ports, "alert")  # auth_svc's health monitor probes it
    env["EP_PREDICT_MODEL_DIR"] = str(var_dir / "models")
    env["EP_PREDICT_STATE_DIR"] = str(var_dir / "predict")
    # alert_svc: households' webhooks and brokers must be public addresses; the local run allows
    # none more (tests allow loopback for their receivers through extra_env).
    env["EP_METER_INGEST_ADDR"] = env["EP_TELEMETRY_TARGET"]  # meter_sim registers its households there
    # Random per installation, made on first start in the state folder (never a published value).
    env.update(installation_secrets(var_dir))
    env["EP_METER_STATE_FILE"] = str(var_dir / "meter_sim_state.json")
    # auth_svc believes the client address only from the edge's header (Envoy on loopback).
    env["EP_AUTH_TRUSTED_PROXIES"] = "127.0.0.1"
    return env


def generate_envoy(env: dict[str, str]) -> None:
    """Write Envoy's local config (envoy/generate.py) for the ports in ``env``."""
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "envoy" / "generate.py"),
            "--mode",
            "local",
            "--listen-port",
            env["EP_EDGE_PORT"],
            "--admin-socket",
            env["EP_ENVOY_ADMIN_SOCKET"],
            "--out",
            env["EP_ENVOY_CONFIG"],
        ],
        check=True,
        env={**os.environ, **env},
    )
