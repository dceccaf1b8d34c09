"""Integrators through the edge alone (docs/CLIENTS.md): the TypeScript SDK in Node and the Python
SDK against the whole stack (login, a unary call, a server stream, an error's ErrorInfo), and the
token rule: only the documented endpoints answer without a token."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import grpc
import pytest

from devstack.stack import Stack
from tests.conftest import require
from tests.demo_accounts import DEMO_USER_PASSWORD

ROOT = Path(__file__).resolve().parents[2]
TS_SDK = ROOT / "sdk" / "typescript"
sys.path.insert(0, str(ROOT / "envoy"))
from generate import load_rpcs  # noqa: E402  (envoy/generate.py is a script, not a package)

# The endpoints docs/CLIENTS.md lists as open (besides the dashboard's static files).
OPEN_DOCUMENTS = ["/healthz", "/livez", "/contracts/openapi.json", "/contracts/energypulse.protoset"]
OPEN_RPCS = {
    "Login",
    "RefreshToken",
    "Logout",
    "GetJwks",
    "GetRevocations",
    "WatchRevocations",
    "GetCheckpoint",
    "CompletePasswordReset",
}
OPEN_STREAMS = {"WatchRevocations"}


def _steps(output: str) -> dict[str, list[dict[str, Any]]]:
    steps: dict[str, list[dict[str, Any]]] = {}
    for line in output.splitlines():
        if line.startswith("{"):
            entry = json.loads(line)
            steps.setdefault(entry["step"], []).append(entry)
    return steps


def _check_quickstart(steps: dict[str, list[dict[str, Any]]]) -> None:
    household = steps["login"][0]["householdId"]
    assert household == "sim-h000000"  # user household-0001's household, found through /me
    assert steps["unary"][0]["householdId"] == household
    assert len(steps["stream"]) == 2 and all(s["meterId"] for s in steps["stream"])
    error = steps["error"][0]
    assert error["reason"] == "HOUSEHOLD_NOT_PERMITTED", error


def test_typescript_sdk_in_node_through_the_edge(stack: Stack) -> None:
    require(
        (TS_SDK / "dist" / "examples" / "quickstart.js").exists(), "sdk/typescript not built (npm ci there)"
    )
    require(shutil.which("node"), "node is not installed")
    run = subprocess.run(
        ["node", "dist/examples/quickstart.js"],
        cwd=TS_SDK,
        env={**os.environ, "EP_EDGE_URL": stack.base_url, "EP_PASSWORD": DEMO_USER_PASSWORD},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    steps = _steps(run.stdout)
    _check_quickstart(steps)
    assert steps["error"][0]["code"] == "PermissionDenied" and steps["error"][0]["domain"] == "energypulse.io"


def test_python_sdk_through_the_edge_stands_alone(stack: Stack, tmp_path: Path) -> None:
    # Only the SDK's own directory on the path (run from elsewhere): its copy of the stubs is used.
    run = subprocess.run(
        [sys.executable, str(ROOT / "sdk" / "python" / "examples" / "quickstart.py")],
        cwd=tmp_path,
        env={
            **os.environ,
            "PYTHONPATH": str(ROOT / "sdk" / "python" / "src"),
            "EP_EDGE": stack.target("edge"),
            "EP_PASSWORD": DEMO_USER_PASSWORD,
        },
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    steps = _steps(run.stdout)
    _check_quickstart(steps)
    assert steps["error"][0]["code"] == "PERMISSION_DENIED"


def _routes() -> list[tuple[str, str, str, str]]:
    """(method name, HTTP verb, a concrete path, gRPC path) of every RPC."""
    found = []
    for rpc in load_rpcs(ROOT / "build" / "energypulse.pb"):
        path = re.sub(r"\{(\w+)\}", lambda m: "2026-01" if m.group(1) == "month" else "x1", rpc.http_path)
        found.append((rpc.method, rpc.http_method, path, rpc.grpc_path))
    return found


def _refused_for_no_token(status: int, body: object) -> bool:
    """Envoy's answer to a missing token (plain "Jwt is missing", or the JSON status whose reason is
    AUTHENTICATION_REQUIRED), as opposed to a service's own answer to a bad request."""
    if status != 401:
        return False
    if isinstance(body, str):
        return "Jwt" in body
    details = body.get("details", []) if isinstance(body, dict) else []
    return any(d.get("reason") == "AUTHENTICATION_REQUIRED" for d in details)


def test_only_the_documented_endpoints_answer_without_a_token(stack: Stack) -> None:
    for path in OPEN_DOCUMENTS:
        assert stack.api("GET", path)[0] == 200, path
    for name, verb, path, grpc_path in _routes():
        if name in OPEN_STREAMS:
            continue  # open and never-ending: its refusal rule is the contract's PUBLIC level
        status, body = stack.api(verb, path, {} if verb == "POST" else None)
        assert _refused_for_no_token(status, body) == (name not in OPEN_RPCS), (path, status, body)
        method = stack.channel("edge").unary_unary(grpc_path)
        try:
            method(b"", timeout=10)
            code = grpc.StatusCode.OK
        except grpc.RpcError as error:
            code = error.code()  # type: ignore[attr-defined]
        if name not in OPEN_RPCS:
            assert code == grpc.StatusCode.UNAUTHENTICATED, (grpc_path, code)
    # Reflection and health through the edge are calls like any other.
    for grpc_path in (
        "/grpc.health.v1.Health/Check",
        "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
        "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
    ):
        with pytest.raises(grpc.RpcError) as denied:
            stack.channel("edge").unary_unary(grpc_path)(b"", timeout=10)
        assert denied.value.code() == grpc.StatusCode.UNAUTHENTICATED, grpc_path  # type: ignore[attr-defined]
