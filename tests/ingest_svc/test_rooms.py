"""The rooms of ingest_svc import each other only through the doors docs/billing.md describes.

intake imports nothing of billing or telemetry; telemetry imports billing's public names only
(``ingest_svc.billing.__all__``, from the package itself); billing imports nothing of intake or
telemetry (it reads intake's tables through the ReadingTables port it is handed).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import ingest_svc.billing

PACKAGE = Path(ingest_svc.billing.__file__).resolve().parents[1]


def _imports(room: str) -> list[tuple[str, str, list[str]]]:
    """(file, module, names) of every import in the room; names empty for ``import x``."""
    found = []
    for path in sorted((PACKAGE / room).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.append((path.name, node.module, [a.name for a in node.names]))
            elif isinstance(node, ast.Import):
                found.extend((path.name, a.name, []) for a in node.names)
    return found


def _inside(module: str, room: str) -> bool:
    return module == f"ingest_svc.{room}" or module.startswith(f"ingest_svc.{room}.")


@pytest.mark.parametrize("room", ["intake", "telemetry", "billing", "devices"])
def test_every_room_is_checked(room: str) -> None:
    assert _imports(room), f"no imports found in ingest_svc/{room}: wrong path?"


def test_intake_imports_neither_billing_nor_telemetry() -> None:
    crossing = [i for i in _imports("intake") if _inside(i[1], "billing") or _inside(i[1], "telemetry")]
    assert crossing == []


def test_devices_import_neither_billing_nor_telemetry() -> None:
    # devices reads intake's meters table (which meters are registered) and nothing else.
    crossing = [i for i in _imports("devices") if _inside(i[1], "billing") or _inside(i[1], "telemetry")]
    assert crossing == []
    assert not [i for i in _imports("intake") if _inside(i[1], "devices")]


def test_billing_imports_neither_intake_nor_telemetry() -> None:
    crossing = [i for i in _imports("billing") if _inside(i[1], "intake") or _inside(i[1], "telemetry")]
    assert crossing == []


def test_telemetry_uses_only_billings_public_names() -> None:
    public = set(ingest_svc.billing.__all__)
    used = [i for i in _imports("telemetry") if _inside(i[1], "billing")]
    assert used, "telemetry no longer uses billing: drop this test's premise"
    wrong = [i for i in used if i[1] != "ingest_svc.billing" or not set(i[2]) <= public]
    assert wrong == []


def test_billing_public_names_exist() -> None:
    assert all(hasattr(ingest_svc.billing, name) for name in ingest_svc.billing.__all__)
