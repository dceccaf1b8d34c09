"""Which meters are registered: a reading from any other meter is dead-lettered UNKNOWN_METER.

Registered ids are cached; an id not in the cache is looked up once per batch (so a meter
registered a moment ago is found at once, and a flood from an unknown id costs one query per
batch, not one per reading).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.engine import Engine

from ingest_svc.intake.store import MeterRow

__all__ = ["KnownMeters"]


class KnownMeters:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._known: set[str] = set()
        self._lock = threading.Lock()

    def unknown(self, meter_ids: Iterable[str]) -> set[str]:
        """The ids of ``meter_ids`` that are not registered."""
        with self._lock:
            missing = {m for m in meter_ids if m not in self._known}
        if not missing:
            return missing
        with self._engine.connect() as conn:
            found = set(
                conn.execute(select(MeterRow.meter_id).where(MeterRow.meter_id.in_(missing))).scalars()
            )
        with self._lock:
            self._known |= found
        return missing - found
