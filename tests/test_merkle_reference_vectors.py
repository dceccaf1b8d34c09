"""The three proof verifiers (ledger_svc/merkle.py, verifier/spec.py, the dashboard's merkle.ts)
against the reference implementation's probes (docs/merkle-proof-vectors.json, written by
scripts/gen_merkle_vectors.py from transparency-dev/merkle's test data): each must accept exactly
the probes the reference accepts. The browser's verdicts come from vitest
(dashboard/src/lib/ledger/merkle-vectors.test.ts)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ledger_svc import merkle
from tests.conftest import require
from verifier import spec

ROOT = Path(__file__).resolve().parents[1]
VECTORS = json.loads((ROOT / "docs/merkle-proof-vectors.json").read_text("utf-8"))
H = bytes.fromhex


def _path(p: dict[str, Any]) -> list[bytes]:
    return [H(x) for x in p["proof"]]


def _accepts(check: Callable[[dict[str, Any]], object], probe: dict[str, Any]) -> bool:
    try:
        check(probe)
    except (merkle.ProofError, spec.SpecError):
        return False
    return True


def _spec_inclusion(p: dict[str, Any]) -> None:
    root = spec.root_from_inclusion(int(p["leaf_index"]), int(p["tree_size"]), H(p["leaf_hash"]), _path(p))
    if root != H(p["root"]):
        raise spec.SpecError("root mismatch")


INCLUSION: dict[str, Callable[[dict[str, Any]], object]] = {
    "ledger_svc.merkle": lambda p: merkle.verify_inclusion(
        int(p["leaf_index"]), int(p["tree_size"]), H(p["leaf_hash"]), _path(p), H(p["root"])
    ),
    "verifier.spec": _spec_inclusion,
}
CONSISTENCY: dict[str, Callable[[dict[str, Any]], object]] = {
    "ledger_svc.merkle": lambda p: merkle.verify_consistency(
        int(p["size1"]), int(p["size2"]), H(p["root1"]), H(p["root2"]), _path(p)
    ),
    "verifier.spec": lambda p: spec.check_consistency(
        int(p["size1"]), int(p["size2"]), H(p["root1"]), H(p["root2"]), _path(p)
    ),
}


def test_vectors_file_is_current() -> None:
    run = subprocess.run(
        [sys.executable, str(ROOT / "scripts/gen_merkle_vectors.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr


def test_the_reference_probes_cover_the_edge_cases() -> None:
    descs = [p["desc"] for p in VECTORS["consistency"] if p["want_err"]]
    assert any("size1 is zero" in d for d in descs) and any("meaningless" in d for d in descs)
    assert any("wrong hash size" in p["desc"] and p["want_err"] for p in VECTORS["inclusion"])
    assert sum(not p["want_err"] for p in VECTORS["inclusion"]) == 6  # five proofs + single entry
    assert sum(not p["want_err"] for p in VECTORS["consistency"]) == 6  # five proofs + (1, 1)


@pytest.mark.parametrize("impl", sorted(INCLUSION))
def test_inclusion_verdicts_match_the_reference(impl: str) -> None:
    wrong = [p["desc"] for p in VECTORS["inclusion"] if _accepts(INCLUSION[impl], p) == p["want_err"]]
    assert wrong == []


@pytest.mark.parametrize("impl", sorted(CONSISTENCY))
def test_consistency_verdicts_match_the_reference(impl: str) -> None:
    wrong = [p["desc"] for p in VECTORS["consistency"] if _accepts(CONSISTENCY[impl], p) == p["want_err"]]
    assert wrong == []


def test_the_browser_gives_the_same_verdicts() -> None:
    vitest = ROOT / "dashboard/node_modules/.bin/vitest"
    require(vitest.exists() and shutil.which("node"), "dashboard dependencies (npm ci) and node are needed")
    run = subprocess.run(
        [str(vitest), "run", "src/lib/ledger/merkle-vectors.test.ts", "--reporter=json"],
        cwd=ROOT / "dashboard",
        capture_output=True,
        text=True,
        timeout=300,
    )
    start = run.stdout.find("{")
    report = json.loads(run.stdout[start:])
    results = [a for f in report["testResults"] for a in f["assertionResults"]]
    failed = [a["fullName"] for a in results if a["status"] != "passed"]
    assert failed == [], run.stderr[-2000:]
    expected = len(VECTORS["inclusion"]) + len(VECTORS["consistency"]) + 1
    assert len(results) == expected, f"vitest ran {len(results)} of {expected} probes"
