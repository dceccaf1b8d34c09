"""The contracts: every RPC has a JSON route and an access rule; buf lint/format are clean."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from google.api import annotations_pb2
from google.protobuf import descriptor_pb2

from energypulse.options.v1 import options_pb2
from tests.conftest import require

ROOT = Path(__file__).resolve().parents[1]
DESCRIPTOR = ROOT / "build" / "energypulse.pb"
BUF = ROOT / "dashboard" / "node_modules" / ".bin" / "buf"


def _methods() -> list[tuple[str, descriptor_pb2.MethodDescriptorProto]]:
    fds = descriptor_pb2.FileDescriptorSet.FromString(DESCRIPTOR.read_bytes())
    return [
        (f"{f.package}.{s.name}", m)
        for f in fds.file
        if f.package.startswith("energypulse.")
        for s in f.service
        for m in s.method
    ]


def test_one_versioned_package_per_service() -> None:
    services = sorted({svc for svc, _ in _methods()})
    assert services == [
        "energypulse.auth.v1.AuthService",
        "energypulse.ledger.v1.LedgerService",
        "energypulse.prediction.v1.PredictionService",
        "energypulse.telemetry.v1.TelemetryService",
    ]


def test_every_rpc_has_an_http_rule_under_api_v1_and_an_access_rule() -> None:
    routes = set()
    for svc, method in _methods():
        rule = method.options.Extensions[annotations_pb2.http]
        pattern = rule.WhichOneof("pattern")
        assert pattern in ("get", "post"), f"{svc}/{method.name} has no GET/POST rule"
        path = getattr(rule, pattern)
        assert path.startswith("/api/v1/"), path
        if pattern == "get":
            assert rule.body == "", f"{svc}/{method.name}: GET takes no body"
        else:
            assert rule.body == "*", f"{svc}/{method.name}: POST takes body '*'"
        access = method.options.Extensions[options_pb2.access]
        assert access.level != options_pb2.ACCESS_LEVEL_UNSPECIFIED, f"{svc}/{method.name} has no access rule"
        routes.add((pattern, path))
    assert len(routes) >= 18


def test_household_scoped_routes_declare_the_household_field() -> None:
    for svc, method in _methods():
        rule = method.options.Extensions[annotations_pb2.http]
        path = getattr(rule, rule.WhichOneof("pattern"))
        access = method.options.Extensions[options_pb2.access]
        if "{household_id}" in path and access.level != options_pb2.ACCESS_LEVEL_ADMIN:
            assert access.household_field == "household_id", f"{svc}/{method.name}"


def _buf() -> str:
    found = str(BUF) if BUF.exists() else shutil.which("buf")
    require(found, "buf is not installed (dashboard/node_modules/.bin/buf comes with npm ci in dashboard/)")
    assert found is not None
    return found


def test_buf_lint_and_format_are_clean() -> None:
    buf = _buf()
    lint = subprocess.run([buf, "lint"], cwd=ROOT / "protos", capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    fmt = subprocess.run(
        [buf, "format", "-d", "--exit-code"], cwd=ROOT / "protos", capture_output=True, text=True
    )
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr
