"""The environment every process of the local stack gets (see README, "Configuration")."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from devstack.ports import free_port

__all__ = ["StackPorts", "allocate_ports", "stack_env", "SERVICES"]

# Python services and the key of their ports.
SERVICES = ("auth", "predict", "ledger", "ingest")
PREFERRED = {
    "edge": 8080,
    "web": 5173,
    "mqtt": 1883,
    "envoy_admin": 9901,
    "auth": 50051,
    "predict": 50052,
    "ledger": 50053,
    "ingest": 50054,
    "auth_metrics": 9101,
    "predict_metrics": 9102,
    "ledger_metrics": 9103,
    "ingest_metrics": 9104,
    "meter_metrics": 9105,
}


@dataclass(frozen=True)
class StackPorts:
    ports: dict[str, int] = field(default_factory=dict)

    def __getitem__(self, name: str) -> int:
        return self.ports[name]


def allocate_ports(prefer_standard: bool) -> StackPorts:
    """The standard ports where free (local run), or all random free ports (tests)."""
    taken: set[int] = set()
    return StackPorts(
        {name: free_port(port if prefer_standard else None, taken) for name, port in PREFERRED.items()}
    )


def stack_env(ports: StackPorts, var_dir: Path, demo: bool = True, meters: int = 20) -> dict[str, str]:
    """Environment variables wiring every process of the stack together."""
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
        "EP_ENVOY_ADMIN_PORT": str(ports["envoy_admin"]),
        "EP_ENVOY_CONFIG": str(var_dir / "envoy.yaml"),
        "EP_METER_COUNT": str(meters),
        "EP_METER_METRICS_PORT": str(ports["meter_metrics"]),
    }
    for svc in SERVICES:
        upper = svc.upper()
        env[f"EP_{upper}_GRPC_PORT"] = str(ports[svc])
        env[f"EP_{upper}_METRICS_PORT"] = str(ports[f"{svc}_metrics"])
        env[f"EP_{upper}_DATABASE_URL"] = f"sqlite:///{var_dir / (svc + '.db')}"
    env["EP_AUTH_TARGET"] = f"127.0.0.1:{ports['auth']}"
    env["EP_PREDICT_TARGET"] = f"127.0.0.1:{ports['predict']}"
    env["EP_LEDGER_TARGET"] = f"127.0.0.1:{ports['ledger']}"
    env["EP_TELEMETRY_TARGET"] = f"127.0.0.1:{ports['ingest']}"
    env["EP_PREDICT_MODEL_DIR"] = str(var_dir / "models")
    env["EP_METER_INGEST_ADDR"] = env["EP_TELEMETRY_TARGET"]  # meter_sim registers its households there
    if demo:  # the published demo secrets auth_svc seeds its service accounts with
        env["EP_INGEST_SERVICE_SECRET"] = "ingest-demo-secret"
        env["EP_METER_SERVICE_SECRET"] = "meter_sim-demo-secret"
    env["EP_METER_STATE_FILE"] = str(var_dir / "meter_sim_state.json")
    return env
