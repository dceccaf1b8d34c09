"""docker-compose.yml mirrors the local run: same services, same commands, only the edge published."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import yaml

from devstack.processes import read_procfile
from tests.conftest import require

ROOT = Path(__file__).resolve().parents[1]
PYTHON_SERVICES = ("auth_svc", "predict_svc", "ledger_svc", "witness_svc", "ingest_svc", "meter_sim")


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_every_python_service_runs_the_procfile_command() -> None:
    procfile = read_procfile()
    services = _compose()["services"]
    for name in PYTHON_SERVICES:
        assert name in procfile, f"{name} missing from Procfile"
        assert services[name]["command"] == procfile[name], name


def test_only_the_edge_publishes_host_ports_and_services_are_scalable() -> None:
    for name, service in _compose()["services"].items():
        if name != "envoy":
            assert "ports" not in service, f"{name} publishes a host port"
        assert "container_name" not in service, f"{name} has a fixed container name (breaks --scale)"


def test_python_services_have_grpc_healthchecks_and_wait_for_healthy_dependencies() -> None:
    services = _compose()["services"]
    for name in ("auth_svc", "predict_svc", "ledger_svc", "ingest_svc"):
        check = services[name]["healthcheck"]["test"]
        assert check[:4] == ["CMD", "python", "-m", "devstack.healthcheck"], name
        for dep_name, dep in services[name].get("depends_on", {}).items():
            # init is one-shot (it generates the installation's secrets): it completes, never serves.
            want = "service_completed_successfully" if dep_name == "init" else "service_healthy"
            assert dep["condition"] == want, name


def test_docker_compose_config_validates() -> None:
    binary = shutil.which("docker-compose")
    require(binary, "docker-compose is not installed (scripts/test installs it with apt-get)")
    assert binary is not None
    result = subprocess.run(
        [binary, "-f", "docker-compose.yml", "config", "-q"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
