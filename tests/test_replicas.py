"""Replicas in the local run: the replica spec, per-replica ports and env, the generated Procfile,
and Envoy's clusters with one endpoint per replica (validated by Envoy itself)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from devstack.env import allocate_ports, replica_targets, stack_env
from devstack.processes import read_procfile
from devstack.replicas import expand_procfile, parse_replicas, render_procfile

ROOT = Path(__file__).resolve().parents[1]


def test_parse_replicas_accepts_short_names_and_rejects_nonsense() -> None:
    assert parse_replicas("ingest_svc=2, predict=3") == {"ingest_svc": 2, "predict_svc": 3}
    assert parse_replicas("") == {}
    for bad in ("web=2", "ingest_svc", "ingest_svc=zero", "ledger=0", "auth=99"):
        with pytest.raises(ValueError):
            parse_replicas(bad)


def test_each_replica_gets_its_own_ports_and_clients_see_all_of_them(tmp_path: Path) -> None:
    replicas = {"ingest_svc": 2, "predict_svc": 3}
    ports = allocate_ports(prefer_standard=False, replicas=replicas)
    assert len(set(ports.ports.values())) == len(ports.ports), "a port handed out twice"
    env = stack_env(ports, tmp_path, database_url="postgresql+psycopg://u@h/db")
    assert env["EP_PREDICT_GRPC_PORTS"].count(",") == 2
    assert env["EP_PREDICT_TARGET"] == "ipv4:" + ",".join(replica_targets(ports, "predict"))
    assert env["EP_LEDGER_TARGET"] == f"127.0.0.1:{ports['ledger']}"  # one replica: plain host:port
    assert {env[f"EP_{s}_DATABASE_URL"] for s in ("AUTH", "PREDICT", "LEDGER", "INGEST")} == {
        "postgresql+psycopg://u@h/db"
    }


def test_generated_procfile_runs_the_procfile_commands_once_per_replica(tmp_path: Path) -> None:
    replicas = {"ingest_svc": 2, "auth_svc": 2}
    ports = allocate_ports(prefer_standard=False, replicas=replicas)
    commands = expand_procfile(read_procfile(), replicas, ports.ports)
    original = read_procfile()
    assert [n for n in commands if n.startswith("ingest_svc")] == ["ingest_svc", "ingest_svc-2"]
    assert commands["ledger_svc"] == original["ledger_svc"]
    first, second = commands["ingest_svc"], commands["ingest_svc-2"]
    assert first.endswith(original["ingest_svc"]) and second.endswith(original["ingest_svc"])
    assert f"EP_INGEST_GRPC_PORT={ports['ingest']}" in first
    assert f"EP_INGEST_GRPC_PORT={ports['ingest.2']}" in second
    assert "EP_INGEST_CLIENT_ID=ingest-local-1" in first and "EP_INGEST_CLIENT_ID=ingest-local-2" in second
    # Replica 2 waits until replica 1 serves (migrated, seeded) before it starts.
    assert f"devstack.after 127.0.0.1:{ports['ingest']} --" in second
    out = tmp_path / "Procfile.run"
    render_procfile(commands, out)
    assert read_procfile(out) == commands


def test_envoy_cluster_lists_every_replica(tmp_path: Path) -> None:
    ports = allocate_ports(prefer_standard=False, replicas={"predict_svc": 2})
    env = stack_env(ports, tmp_path)
    out = tmp_path / "envoy.yaml"
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
            str(out),
        ],
        check=True,
        env={**os.environ, **env},
    )
    config = yaml.safe_load(out.read_text())
    clusters = {c["name"]: c for c in config["static_resources"]["clusters"]}
    endpoints = clusters["predict"]["load_assignment"]["endpoints"][0]["lb_endpoints"]
    assert [e["endpoint"]["address"]["socket_address"]["port_value"] for e in endpoints] == [
        ports["predict"],
        ports["predict.2"],
    ]
    assert clusters["predict"]["lb_policy"] == "ROUND_ROBIN"
    assert len(clusters["ledger"]["load_assignment"]["endpoints"][0]["lb_endpoints"]) == 1
    result = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "envoy"), "--mode", "validate", "-c", str(out)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-2000:]
