"""The run command pins an installation's ledger and witness keys into a build of its own (spec §16),
in its state folder: the plain build in dashboard/dist, which the test stacks serve, never carries
an installation's keys (it did, and every e2e invoice test after a local run then failed "The
signed head could not be trusted")."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from devstack.env import ROOT, allocate_ports, stack_env
from devstack.up import build_pinned_dashboard

DIST = ROOT / "dashboard" / "dist"
# A key of the spec's shape that no installation has: its presence in a bundle proves the pin.
LEDGER_KEY = "energypulse.local/ledger+0badc0de+AQOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4"


def _tree_digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(path.relative_to(folder).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


@pytest.mark.slow
def test_the_run_builds_its_pinned_dashboard_in_its_state_folder(tmp_path: Path) -> None:
    if not (ROOT / "dashboard" / "node_modules").exists():
        pytest.skip("dashboard dependencies not installed (scripts/test installs them)")
    before = _tree_digest(DIST) if DIST.exists() else None
    env = stack_env(allocate_ports(prefer_standard=False), tmp_path, demo=True)
    assert env["EP_WEB_DIST"] == str(DIST)  # what a test stack serves unless told otherwise
    env["VITE_EP_LEDGER_VERIFIER_KEY"] = LEDGER_KEY

    build_pinned_dashboard(env, tmp_path)

    served = Path(env["EP_WEB_DIST"])
    assert served == tmp_path.resolve() / "web"
    assert (served / "index.html").exists()
    assert any(LEDGER_KEY in p.read_text() for p in (served / "assets").glob("*.js"))
    after = _tree_digest(DIST) if DIST.exists() else None
    assert after == before, "the pinned build must not touch dashboard/dist"
