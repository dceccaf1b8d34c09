"""The reason registry (energypulse.errors.v1.ErrorReason) matches the source and the docs.

Every reason raised anywhere is registered and comes with the gRPC code its proto comment names;
every registered reason is raised somewhere (or its comment says it is reserved); and
docs/error-reasons.md is what scripts/gen_error_reasons.py writes from the proto.
"""

from __future__ import annotations

import ast
import importlib.util
import sys
from collections import defaultdict
from pathlib import Path
from types import ModuleType

import grpc
import pytest

from common import errors
from energypulse.errors.v1 import error_reason_pb2

ROOT = Path(__file__).resolve().parents[2]
# var/: runtime state and tools the bootstrap installs there (checkov's own venv), not our source.
NOT_SOURCE = {
    "tests",
    "energypulse",
    "build",
    "dashboard",
    "node_modules",
    ".venv",
    "scripts",
    "protos",
    "var",
    "test-artifacts",
}
ERROR_CLASSES = {cls.__name__: cls.code.name for cls in errors.EnergyPulseError.__subclasses__()}
REASON_MODULES = {"reasons", "error_reason_pb2"}


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "gen_error_reasons", ROOT / "scripts" / "gen_error_reasons.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks its module up while being defined
    spec.loader.exec_module(module)
    return module


def _source_files() -> list[Path]:
    return [
        path
        for path in ROOT.rglob("*.py")
        if path.relative_to(ROOT).parts[0] not in NOT_SOURCE and not path.name.startswith(".")
    ]


def _raised() -> tuple[dict[str, set[str]], list[str]]:
    """reason -> gRPC codes it is raised with; and the places whose reason is not a literal."""
    used: dict[str, set[str]] = defaultdict(set)
    opaque: list[str] = []
    for path in _source_files():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = (
                func.id
                if isinstance(func, ast.Name)
                else func.attr
                if isinstance(func, ast.Attribute)
                else ""
            )
            if name not in ERROR_CLASSES or not node.args:
                continue
            arg = node.args[0]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                used[arg.value].add(ERROR_CLASSES[name])
            elif (
                isinstance(arg, ast.Attribute)
                and isinstance(arg.value, ast.Name)
                and arg.value.id in REASON_MODULES
            ):
                used[arg.attr].add(ERROR_CLASSES[name])
            else:
                opaque.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    # Envoy's own replies (envoy/edge_policy.py): (condition, HTTP status, gRPC code, reason).
    spec = importlib.util.spec_from_file_location("edge_policy", ROOT / "envoy" / "edge_policy.py")
    assert spec is not None and spec.loader is not None
    edge = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(edge)
    for _, _, code, reason in edge.LOCAL_REPLIES:
        used[reason].add(next(c for c in grpc.StatusCode if c.value[0] == code).name)
    return used, opaque


@pytest.fixture(scope="module")
def registry() -> dict[str, object]:
    return {e.reason: e for e in _generator().entries()}


def test_the_scan_sees_the_services() -> None:
    used, _ = _raised()
    assert {"INVALID_PAGE_TOKEN", "TOKEN_EXPIRED", "BLOCK_NOT_FOUND", "ZONE_NOT_FOUND"} <= set(used)


def test_every_reason_raised_is_a_literal_registered_reason_with_its_documented_code(
    registry: dict[str, object],
) -> None:
    used, opaque = _raised()
    assert opaque == [], "reasons must be literals or error_reason_pb2 values so this test can check them"
    unregistered = sorted(set(used) - set(registry))
    assert unregistered == [], "add these to protos/energypulse/errors/v1/error_reason.proto"
    wrong = {r: (sorted(codes), registry[r].code) for r, codes in used.items() if codes != {registry[r].code}}  # type: ignore[attr-defined]
    assert wrong == {}, "the code raised differs from the one the proto comment documents"


def test_every_registered_reason_is_raised_or_reserved(registry: dict[str, object]) -> None:
    used, _ = _raised()
    idle = sorted(r for r, e in registry.items() if r not in used and "Reserved" not in e.when)  # type: ignore[attr-defined]
    assert idle == []


def test_the_docs_table_is_generated_from_the_proto() -> None:
    generator = _generator()
    assert (ROOT / "docs" / "error-reasons.md").read_text() == generator.render(generator.entries()), (
        "run .venv/bin/python scripts/gen_protos.py"
    )


def test_an_unregistered_reason_fails_at_construction() -> None:
    assert errors.InvalidArgument(error_reason_pb2.INVALID_PAGE_TOKEN, "m").reason == "INVALID_PAGE_TOKEN"
    assert errors.NotFound("BLOCK_NOT_FOUND", "m").reason == "BLOCK_NOT_FOUND"
    for bad in (
        "PAGE_TOKEN_INVALID",
        "NOT_A_REASON",
        "ERROR_REASON_UNSPECIFIED",
        error_reason_pb2.ERROR_REASON_UNSPECIFIED,
    ):
        with pytest.raises(ValueError):
            errors.InvalidArgument(bad, "m")
