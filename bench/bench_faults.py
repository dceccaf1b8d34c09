"""Time to recover per fault, from the fault suite (tests/faults/): kill -9 of every service, Envoy
and the broker, PostgreSQL stopped, a dead-letter flood, each under steady load.

The suite writes test-artifacts/faults.json; this runs it (``pytest tests/faults``) unless
``quick`` is set and a result file already exists, then turns each fault into figures.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench.report import Figure

__all__ = ["ARTIFACT", "figures_from", "run"]

ROOT = Path(__file__).resolve().parents[1]
ARTIFACT = ROOT / "test-artifacts" / "faults.json"
NOTES = [
    "- Faults: `recover` = from restarting the part (or PostgreSQL) to health SERVING and calls through "
    "Envoy succeeding; `load flowing` = until readings published after the restart are stored and a new "
    "ledger append is acknowledged (includes publishers' reconnect and, for the broker, waiting for ingest "
    "to re-subscribe). While a part is down, calls fail at once with UNAVAILABLE / HTTP 503 (asserted).",
]


def figures_from(data: dict[str, Any]) -> list[Figure]:
    load = data.get("load", {})
    how = f"under {load.get('readings_per_s', '?')} readings/s + {load.get('ledger_appends_per_s', '?')} ledger appends/s"
    figures = []
    for fault in data.get("faults", []):
        recover = float(fault["recover_s"])
        flowing = fault.get("load_flowing_s")
        detail = f"{how}; load flowing again after {flowing} s; outage {fault.get('outage_s')} s"
        figures.append(
            Figure(
                "Faults: time to recover", str(fault["fault"]), recover, "s", "< 60 s", recover < 60, detail
            )
        )
    return figures


def run(quick: bool = False) -> list[Figure]:
    if not (quick and ARTIFACT.exists()):
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "tests/faults", "-q", "-p", "no:cacheprovider"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        if result.returncode != 0:
            NOTES.append(f"- The fault suite FAILED in this run: `{result.stdout.strip().splitlines()[-1]}`")
    if not ARTIFACT.exists():
        raise RuntimeError("test-artifacts/faults.json was not written (see tests/faults)")
    return figures_from(json.loads(ARTIFACT.read_text()))
