"""Every shell command in docs/CLIENTS.md and README.md runs against the whole stack.

The ```bash blocks of a document run in order, as one bash script (variables such as $TOKEN carry
from block to block), in a scratch directory that sees the repository's .venv and sdk/; the local
run's default ports in the text are replaced by the stack's. A block preceded by
``<!-- not run by tests/e2e/test_docs_commands.py: <why> -->`` is left out, and must say why.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from devstack.stack import Stack

ROOT = Path(__file__).resolve().parents[2]
SKIP = re.compile(r"<!-- not run by tests/e2e/test_docs_commands\.py: (.+?) -->\s*$")
BLOCK = re.compile(r"^```bash\n(.*?)^```", re.M | re.S)
DEFAULT_PORTS = {"auth": 50051, "predict": 50052, "ledger": 50053, "ingest": 50054}


def bash_blocks(text: str) -> list[tuple[str, str | None]]:
    """Each ```bash block with the reason it is not run (None: it runs)."""
    blocks = []
    for match in BLOCK.finditer(text):
        before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        skipped = SKIP.match(before)
        blocks.append((match.group(1), skipped.group(1) if skipped else None))
    return blocks


def _localise(script: str, stack: Stack) -> str:
    edge = stack.ports["edge"]
    script = re.sub(r"\b(localhost|127\.0\.0\.1):8080\b", f"127.0.0.1:{edge}", script)
    for svc, port in DEFAULT_PORTS.items():
        script = script.replace(f"127.0.0.1:{port}", stack.target(svc))
    return script.replace("-p 1883 ", f"-p {stack.ports['mqtt']} ")


def _run(doc: Path, stack: Stack, scratch: Path) -> str:
    for name in (".venv", "sdk"):
        (scratch / name).symlink_to(ROOT / name)
    # The docs read the demo passwords from the local run's secrets file (`. var/run/secrets.env`):
    # the stack's own, in the same place.
    secrets = scratch / "var" / "run" / "secrets.env"
    secrets.parent.mkdir(parents=True)
    secrets.write_text(
        "".join(
            f"{k}={stack.env[k]}\n" for k in ("EP_AUTH_DEMO_ADMIN_PASSWORD", "EP_AUTH_DEMO_USER_PASSWORD")
        )
    )
    blocks = [block for block, skipped in bash_blocks(doc.read_text()) if skipped is None]
    assert blocks, f"{doc.name} has no runnable bash block"
    script = "set -euo pipefail\n" + "".join(
        f"echo '### block {i}'\n{_localise(block, stack)}\necho\n" for i, block in enumerate(blocks)
    )
    run = subprocess.run(["bash", "-c", script], cwd=scratch, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, (
        f"{doc.name}: exit {run.returncode}\n{run.stdout[-4000:]}\n{run.stderr[-4000:]}"
    )
    return run.stdout


def test_every_skipped_block_says_why() -> None:
    for doc in (ROOT / "README.md", ROOT / "docs" / "CLIENTS.md"):
        for block, skipped in bash_blocks(doc.read_text()):
            assert skipped is None or len(skipped) > 10, (doc.name, block[:80])
    assert all(skipped is None for _, skipped in bash_blocks((ROOT / "docs" / "CLIENTS.md").read_text()))


@pytest.mark.parametrize("doc", ["docs/CLIENTS.md", "README.md"])
def test_the_documented_commands_run(stack: Stack, tmp_path: Path, doc: str) -> None:
    out = _run(ROOT / doc, stack, tmp_path)
    if doc == "README.md":
        assert "energypulse.telemetry.v1.TelemetryService" in out  # grpcurl list through the edge
        assert "data: " in out  # the stream sent at least one event
        return
    # What CLIENTS.md says the commands show.
    assert "HOUSEHOLD_NOT_PERMITTED" in out  # the curl of another household
    assert "energypulse.ledger.v1.LedgerService" in out and '"status": "SERVING"' in out
    assert "rpc GetHouseholdSummary" in out
    assert '"step":"error"' in out and '"reason":"HOUSEHOLD_NOT_PERMITTED"' in out  # the SDK quick starts
    assert "acme-m1" in out.split("### block")[-1]  # the registered meter's reading is listed
