"""The whole system on free ports, started from the Procfile: what ./scripts/run runs."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc

from devstack.env import (
    SERVICES,
    StackPorts,
    allocate_ports,
    generate_envoy,
    pin_keys,
    replica_targets,
    stack_env,
)
from devstack.processes import ProcessGroup, read_procfile
from devstack.readiness import wait_all
from devstack.replicas import SCALABLE, expand_procfile, replica_names

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Stack:
    var_dir: Path
    ports: StackPorts
    env: dict[str, str]
    processes: ProcessGroup
    _channels: dict[str, grpc.Channel] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['edge']}"

    def target(self, service: str) -> str:
        """host:port of a service's own gRPC server ("edge" for Envoy)."""
        return f"127.0.0.1:{self.ports[service]}"

    def channel(self, service: str) -> grpc.Channel:
        if service not in self._channels:
            self._channels[service] = grpc.insecure_channel(self.target(service))
        return self._channels[service]

    def api(
        self,
        method: str,
        path: str,
        body: object = None,
        token: str | None = None,
        raw_body: bytes | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 10.0,
    ) -> tuple[int, Any]:
        """Call the JSON API through Envoy; returns (HTTP status, parsed JSON or text)."""
        data = raw_body if raw_body is not None else (json.dumps(body).encode() if body is not None else None)
        request = urllib.request.Request(self.base_url + path, data=data, method=method)
        if data is not None:
            request.add_header("content-type", "application/json")
        if token:
            request.add_header("authorization", f"Bearer {token}")
        for key, value in (headers or {}).items():
            request.add_header(key, value)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                status, payload = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, payload = error.code, error.read()
        try:
            return status, json.loads(payload) if payload else None
        except ValueError:
            return status, payload.decode(errors="replace")

    def login(self, username: str, password: str) -> str:
        status, body = self.api("POST", "/api/v1/auth/login", {"username": username, "password": password})
        if status != 200:
            raise AssertionError(f"login {username} -> {status} {body}")
        return str(body["tokens"]["accessToken"])

    def close(self) -> None:
        for channel in self._channels.values():
            channel.close()
        self.processes.stop_all()


# The test and benchmark harness's stacks (loopback, free ports, a temporary state folder) sign
# in with these fixed demo passwords, so tests and benchmarks need not read each stack's secrets.
# Never used by ./scripts/run or compose: they generate per installation (devstack/secrets.py;
# tests/test_secrets.py checks the local run's environment).
TEST_STACK_DEMO_PASSWORDS = {
    "EP_AUTH_DEMO_ADMIN_PASSWORD": "admin-demo",
    "EP_AUTH_DEMO_USER_PASSWORD": "demo",
}


# Every Procfile entry of the whole system, in start order (what ./scripts/run starts).
ALL_PARTS = [
    "broker",
    "auth_svc",
    "predict_svc",
    "ledger_svc",
    "witness_svc",
    "ingest_svc",
    "alert_svc",
    "envoy",
    "meter_sim",
    "web",
]


def start_stack(
    var_dir: Path,
    parts: list[str],
    meters: int = 5,
    timeout: float = 120.0,
    replicas: dict[str, int] | None = None,
    database_url: str | None = None,
    extra_env: dict[str, str] | None = None,
) -> Stack:
    """Start the named Procfile entries and wait until each answers its health check.

    ``replicas`` (e.g. ``{"ingest_svc": 2}``) starts that many copies of a part (processes
    ``ingest_svc``, ``ingest_svc-2``, ...); ``database_url`` stores every service there instead of
    SQLite files; ``extra_env`` overrides settings for every process (e.g. a fast meter interval).
    """
    replicas = dict(replicas or {})
    ports = allocate_ports(prefer_standard=False, replicas=replicas)
    env = stack_env(ports, var_dir, demo=True, meters=meters, database_url=database_url)
    env.update(TEST_STACK_DEMO_PASSWORDS)
    env.update(extra_env or {})
    env.update(pin_keys(var_dir, ports))
    generate_envoy(env)
    commands = expand_procfile(read_procfile(), replicas, ports.ports)
    group = ProcessGroup(env=env, log_dir=var_dir / "logs", commands=commands)
    stack = Stack(var_dir=var_dir, ports=ports, env=env, processes=group)
    names = [
        n
        for part in parts
        for n in (replica_names(part, replicas.get(part, 1)) if part in SCALABLE else [part])
    ]
    for name in names:
        group.start(name)
    grpc_targets = {
        name: target
        for svc in SERVICES
        if f"{svc}_svc" in parts
        for name, target in zip(
            replica_names(f"{svc}_svc", replicas.get(f"{svc}_svc", 1)),
            replica_targets(ports, svc),
            strict=True,
        )
    }
    http_urls = {}
    if "envoy" in parts:
        # /healthz is ready only when every service behind the edge is (a partial stack never is);
        # /livez says Envoy itself is up.
        whole = all(f"{svc}_svc" in parts for svc in SERVICES)
        http_urls["envoy"] = f"{stack.base_url}/{'healthz' if whole else 'livez'}"
    if "web" in parts:
        http_urls["web"] = f"http://127.0.0.1:{ports['web']}/"
    if "witness_svc" in parts:  # ready once it has cosigned the ledger's first checkpoint
        http_urls["witness_svc"] = f"{env['EP_WITNESS_URL']}/healthz"
    not_ready = asyncio.run(wait_all(grpc_targets, http_urls, timeout=timeout))
    if not_ready:
        logs = "\n".join(f"--- {name}\n{group.log_tail(name)}" for name in names)
        stack.close()
        raise RuntimeError(f"not ready: {not_ready}\n{logs}")
    return stack
