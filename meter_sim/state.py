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
from meter_sim.backfill import BackfillWindow
from meter_sim.fleet import MeterFleet

__all__ = ["load_backfill", "load_state", "save_state"]

log = get_logger(__name__)


def save_state(path: Path, fleet: MeterFleet, backfill: BackfillWindow | None = None) -> None:
    state: dict[str, object] = {
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
    if backfill is not None:
        state["backfill"] = backfill.to_dict()
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


def load_backfill(path: Path) -> tuple[BackfillWindow | None, bool]:
    """(the back-fill window kept in ``path``, whether the file holds meters' state at all).

    A file from before back-fill existed has meters but no window: those meters have history.
    """
    try:
        state = json.loads(path.read_text())
    except FileNotFoundError:
        return None, False
    except (OSError, ValueError) as exc:
        log.warning("meter_state_unreadable", path=str(path), error=str(exc))
        return None, False
    if not isinstance(state, dict):
        return None, False
    meters = state.get("meters")
    return BackfillWindow.from_dict(state.get("backfill")), bool(isinstance(meters, dict) and meters)
