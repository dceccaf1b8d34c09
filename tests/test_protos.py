"""The contracts: every RPC has a JSON route and an access rule; buf lint/format are clean."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
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
        "energypulse.alert.v1.AlertService",
        "energypulse.auth.v1.AuthService",
        "energypulse.ledger.v1.LedgerService",
        "energypulse.ops.v1.OpsService",
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


def test_contracts_are_a_named_module_without_googleapis_inside() -> None:
    modules = yaml.safe_load((ROOT / "protos" / "buf.yaml").read_text())["modules"]
    named = [m for m in modules if m.get("name") == "buf.build/energypulse/contracts"]
    assert len(named) == 1 and named[0]["includes"] == ["energypulse"]
    assert [m["includes"] for m in modules if "name" not in m] == [["google"]]
    listed = subprocess.run(
        [_buf(), "ls-files"], cwd=ROOT / "protos", capture_output=True, text=True, check=True
    ).stdout.split()
    # The error details (google.rpc.ErrorInfo, Status) are in the workspace: importable from our protos.
    assert {"google/rpc/error_details.proto", "google/rpc/status.proto"} <= set(listed)


def test_every_contract_file_sets_the_options_other_languages_need() -> None:
    fds = descriptor_pb2.FileDescriptorSet.FromString(DESCRIPTOR.read_bytes())
    files = [f for f in fds.file if f.package.startswith("energypulse.")]
    assert len(files) >= 10
    for file in files:
        short = file.package.split(".")[1]
        assert file.options.go_package.endswith(f"/energypulse/{short}/v1;{short}v1"), file.name
        assert file.options.java_package == f"io.{file.package}", file.name
        assert file.options.java_multiple_files, file.name
        assert file.options.csharp_namespace == f"EnergyPulse.{short.capitalize()}.V1", file.name


def _old_layout(tmp_path: Path, *, break_a_field: bool) -> Path:
    """protos/ as it was before the workspace: one module, no language options."""
    old = tmp_path / "old"
    shutil.copytree(ROOT / "protos", old)
    (old / "buf.yaml").write_text("version: v2\nmodules:\n  - path: .\n")
    for proto in (old / "energypulse").rglob("*.proto"):
        text = re.sub(
            r"^option (go_package|java_package|java_multiple_files|csharp_namespace) = .*\n",
            "",
            proto.read_text(),
            flags=re.M,
        )
        if break_a_field and proto.name == "auth_service.proto":
            text = text.replace("string username = 1;", "string user_name = 1;", 1)
        proto.write_text(text)
    return old


@pytest.mark.parametrize("break_a_field", [False, True])
def test_breaking_check_compares_across_buf_layouts(tmp_path: Path, break_a_field: bool) -> None:
    """scripts/buf_breaking.py (scripts/test's check): the two-module workspace against a
    one-module tree passes, added language options are no break, a renamed field still is."""
    _buf()
    against = _old_layout(tmp_path, break_a_field=break_a_field)
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "buf_breaking.py"), str(against)],
        capture_output=True,
        text=True,
    )
    if break_a_field:
        assert result.returncode != 0 and "changed name from" in result.stdout, result.stdout + result.stderr
    else:
        assert result.returncode == 0, result.stdout + result.stderr
