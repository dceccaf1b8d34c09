"""Room boundaries: services never import each other; the shared packages import no service.

Parsed with ``ast`` (not grep), so deferred imports inside functions and ``import a.b as c``
count too. Tests and bench may import services; they are not scanned.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SERVICES = (
    "auth_svc",
    "ledger_svc",
    "predict_svc",
    "ingest_svc",
    "meter_sim",
    "verifier",
    "witness_svc",
    "alert_svc",
)
SHARED = ("common", "energy", "contracts")
# The energy modules ingest_svc imports: plain Python, so ingest stays small (no numpy/pandas).
LIGHT_ENERGY = ("fx", "localtime", "ratebook", "units", "zones")  # what ingest imports at start-up


def imported_modules(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """(line, absolute module name) of every import in ``tree`` (relative ones are in-package)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module


def violations(package: str, forbidden: tuple[str, ...], root: Path = ROOT) -> list[str]:
    found = []
    for path in sorted((root / package).rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for line, module in imported_modules(tree):
            top = module.split(".")[0]
            if top in forbidden and top != package:
                found.append(f"{path.relative_to(root)}:{line} imports {module}")
    return found


@pytest.mark.parametrize("package", SERVICES)
def test_a_service_imports_no_other_service(package: str) -> None:
    assert violations(package, SERVICES) == []


@pytest.mark.parametrize("package", SHARED)
def test_shared_packages_import_no_service(package: str) -> None:
    assert violations(package, SERVICES) == []


def test_plumbing_imports_no_domain() -> None:
    # common is plumbing for every package; the energy domain and the contracts build on it, not
    # the other way round (docs/ARCHITECTURE.md).
    assert violations("common", ("energy", "contracts")) == []


def test_the_check_sees_a_violating_import(tmp_path: Path) -> None:
    # The checker itself: a deferred import inside a function is found, an own import is not.
    (tmp_path / "ingest_svc").mkdir()
    (tmp_path / "ingest_svc" / "bridge.py").write_text(
        "import ingest_svc.config\n\ndef tariff():\n    from predict_svc.config import PredictConfig\n"
    )
    assert violations("ingest_svc", SERVICES, tmp_path) == [
        "ingest_svc/bridge.py:4 imports predict_svc.config"
    ]


def test_the_energy_modules_ingest_uses_do_not_import_numpy() -> None:
    for name in LIGHT_ENERGY:
        tree = ast.parse((ROOT / "energy" / f"{name}.py").read_text())
        heavy = [m for _, m in imported_modules(tree) if m.split(".")[0] in ("numpy", "pandas")]
        assert heavy == [], f"energy/{name}.py imports {heavy}"


def test_ingest_starts_without_numpy_or_pandas() -> None:
    # Resident memory per service (BENCHMARKS.md): numpy ~16 MB, pandas + pyarrow ~75 MB.
    code = (
        "import sys, ingest_svc.__main__, ingest_svc.app, ingest_svc.server\n"
        "print(sorted({'numpy', 'pandas'} & set(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
