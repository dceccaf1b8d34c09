"""Simulator state across restarts: cumulative counters and next sequence number per meter.

Without it a restarted simulator would start every counter at its seeded initial value again,
and ingest would dead-letter each reading as COUNTER_BACKWARDS. The file is small JSON, written
atomically (temp file + rename) every few seconds and on stop, so a crash loses at most the last
few seconds of counter growth - counters then still never go backwards, because the saved values
are older (lower) than what was published only if the process died between saves; on load we
never lower a counter, and ``seq`` resumes from the schedule or the saved next tick, whichever is
later.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from common.log import get_logger
from meter_sim.fleet import MeterFleet

__all__ = ["load_state", "save_state"]

log = get_logger(__name__)


def save_state(path: Path, fleet: MeterFleet) -> None:
    state = {
        "v": 1,
        "meters": {
            meter_id: {
                "next_seq": int(fleet.tick[i]),
                "import_kwh": float(fleet.import_kwh[i]),
                "export_kwh": float(fleet.export_kwh[i]),
            }
            for i, meter_id in enumerate(fleet.meter_ids)
        },
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as out:
            json.dump(state, out, separators=(",", ":"))
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_state(path: Path, fleet: MeterFleet) -> int:
    """Restore counters and sequence numbers of the meters found in ``path``; returns how many."""
    try:
        state = json.loads(path.read_text())
        meters = state["meters"]
    except FileNotFoundError:
        return 0
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("meter_state_unreadable", path=str(path), error=str(exc))
        return 0
    restored = 0
    for i, meter_id in enumerate(fleet.meter_ids):
        saved = meters.get(meter_id)
        if not isinstance(saved, dict):
            continue
        try:
            fleet.tick[i] = max(int(fleet.tick[i]), int(saved["next_seq"]))
            fleet.import_kwh[i] = max(float(fleet.import_kwh[i]), float(saved["import_kwh"]))
            fleet.export_kwh[i] = max(float(fleet.export_kwh[i]), float(saved["export_kwh"]))
        except (KeyError, TypeError, ValueError):
            continue
        restored += 1
    return restored
