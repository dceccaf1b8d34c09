"""Meters' registered signing keys, cached for boundary verification at intake.

A key is looked up per signed boundary (a few per meter and hour), not per sample. The cache is
filled from ``meter_keys`` on a miss, at most once per ``refresh_s`` per (meter, key), so a flood
of readings signed with an unknown key costs one query per refresh, not one per message.
:meth:`MeterKeys.preload` fetches a batch's missing keys in one query (a fleet's first boundaries
arrive together, one per meter: one query per meter would cost more than the signatures).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from sqlalchemy import select
from sqlalchemy.engine import Engine

from contracts.mqtt.boundary import (
    KEY_ALGORITHM,
    BoundaryKey,
    SignedBoundary,
    load_public_key,
    verify_boundary,
)
from ingest_svc.intake.store import MeterKeyRow
from ingest_svc.intake.validation import Rejection

__all__ = ["MeterKeys"]


class MeterKeys:
    def __init__(
        self, engine: Engine, refresh_s: float = 5.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.engine = engine
        self.refresh_s = refresh_s
        self._clock = clock
        self._keys: dict[tuple[str, str], BoundaryKey] = {}
        self._missed: dict[tuple[str, str], float] = {}
        self.verified = 0

    def preload(self, wanted: Iterable[tuple[str, str]]) -> None:
        """Fetch the (meter, key id) pairs not cached (nor missed within ``refresh_s``) at once."""
        now = self._clock()
        missing = {
            pair
            for pair in wanted
            if pair not in self._keys and now - self._missed.get(pair, -1e18) >= self.refresh_s
        }
        if not missing:
            return
        meters = sorted({m for m, _k in missing})
        with self.engine.connect() as conn:
            for chunk in range(0, len(meters), 500):
                rows = conn.execute(
                    select(
                        MeterKeyRow.meter_id,
                        MeterKeyRow.key_id,
                        MeterKeyRow.public_key,
                        MeterKeyRow.algorithm,
                    ).where(MeterKeyRow.meter_id.in_(meters[chunk : chunk + 500]))
                )
                for row in rows:
                    pair = (row.meter_id, row.key_id)
                    if pair in missing and row.algorithm == KEY_ALGORITHM:
                        self._keys[pair] = load_public_key(bytes(row.public_key))
        for pair in missing - self._keys.keys():
            self._missed[pair] = now
        if len(self._missed) > 100_000:
            self._missed.clear()

    def key(self, meter_id: str, key_id: str) -> BoundaryKey | None:
        found = self._keys.get((meter_id, key_id))
        if found is not None:
            return found
        now = self._clock()
        if now - self._missed.get((meter_id, key_id), -1e18) < self.refresh_s:
            return None
        with self.engine.connect() as conn:
            row = conn.execute(
                select(MeterKeyRow.public_key, MeterKeyRow.algorithm).where(
                    MeterKeyRow.meter_id == meter_id, MeterKeyRow.key_id == key_id
                )
            ).first()
        if row is None or row.algorithm != KEY_ALGORITHM:
            self._missed[(meter_id, key_id)] = now
            if len(self._missed) > 100_000:
                self._missed.clear()
            return None
        key = load_public_key(bytes(row.public_key))
        self._keys[(meter_id, key_id)] = key
        return key

    def check(self, boundary: SignedBoundary, period_ms: int) -> Rejection | None:
        """None when ``boundary`` is aligned and signed by a key registered for its meter."""
        if boundary.boundary_ms % period_ms:
            return Rejection(
                "OUT_OF_RANGE",
                f"boundary.t_ms {boundary.boundary_ms} is not a multiple of the {period_ms} ms period",
                boundary.meter_id,
            )
        key = self.key(boundary.meter_id, boundary.key_id)
        if key is None:
            return Rejection(
                "UNKNOWN_METER_KEY",
                f"key {boundary.key_id} is not registered for meter {boundary.meter_id}",
                boundary.meter_id,
            )
        self.verified += 1
        if not verify_boundary(key, boundary):
            return Rejection(
                "BAD_SIGNATURE",
                f"boundary {boundary.boundary_ms} signature does not verify with key {boundary.key_id}",
                boundary.meter_id,
            )
        return None
