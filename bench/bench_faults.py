"""Time to recover per fault, from the fault suite (tests/faults/test_faults.py): kill -9 of every
service, Envoy and the broker, PostgreSQL stopped for 30 s, a dead-letter flood, each under steady load.

The suite writes test-artifacts/faults.json; this runs it unless ``quick`` is set and a result file
already exists, then turns each fault into figures.
"""

from __future__ import annotations

import json
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
    "to re-subscribe); `stored` = until every reading published during the fault is stored. While a part "
    "is down, calls fail at once with UNAVAILABLE / HTTP 503 (asserted; for PostgreSQL every 5 s of the "
    "30 s, with reason DATABASE_UNAVAILABLE), no ledger append is acknowledged without its database, and "
    "no process but the killed one is restarted.",
]


def figures_from(data: dict[str, Any]) -> list[Figure]:
    load = data.get("load", {})
    how = f"under {load.get('readings_per_s', '?')} readings/s + {load.get('ledger_appends_per_s', '?')} ledger appends/s"
    figures = []
    for fault in data.get("faults", []):
        recover = float(fault["recover_s"])
        flowing = fault.get("load_flowing_s")
        detail = f"{how}; load flowing again after {flowing} s; outage {fault.get('outage_s')} s"
        if "readings_during_fault" in fault:
            detail += (
                f"; {fault['readings_during_fault']} readings published during the fault, "
                f"all stored {fault['readings_stored_s']} s after the restart"
                + (" (here: the flood's start)" if fault.get("outage_s") == 0.0 else "")
            )
        slowest = fault.get("errors_while_down", {}).get("slowest_error_s")
        if slowest is not None:
            detail += f"; slowest error while down {slowest} s"
        figures.append(
            Figure(
                "Faults: time to recover", str(fault["fault"]), recover, "s", "< 60 s", recover < 60, detail
            )
        )
    return figures


def run(quick: bool = False) -> list[Figure]:
    if not (quick and ARTIFACT.exists()):
        ARTIFACT.unlink(missing_ok=True)  # never report an earlier run's figures as this one's
        result = subprocess.run(
            # test_faults.py only: test_replicas_stack.py records no time-to-recover.
            [sys.executable, "-m", "pytest", "tests/faults/test_faults.py", "-q", "-p", "no:cacheprovider"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=900,
        )
        if result.returncode != 0:
            last = (result.stdout.strip().splitlines() or ["(no output)"])[-1]
            NOTES.append(f"- The fault suite FAILED in this run: `{last}`")
    if not ARTIFACT.exists():
        raise RuntimeError("test-artifacts/faults.json was not written (see tests/faults)")
    return figures_from(json.loads(ARTIFACT.read_text()))
