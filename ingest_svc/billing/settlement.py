"""Closing hours: metered net Wh per household and hour, from the cumulative counters.

An hour H of a household closes when every one of its meters has reported a reading at or after
H+1h, or when the fleet's *watermark* (the newest reading time stored) is ``grace`` past H+1h (a
silent meter does not hold its household's bill back forever). Time is reading time, not wall
time, so a sped-up or replayed fleet settles exactly like a live one.

Energy comes from the counters, never from integrating power: the hour's amount is the counter
at the end (last reading before H+1h) minus the counter at the start, where the start is the
*mark* stored when the previous hour closed. Marks make hourly amounts telescope: a late reading
(meter buffered during an outage) lands in the next open hour, nothing is lost or billed twice.

Closing is one transaction per household-hour that first advances ``household_progress`` with a
``WHERE next_hour_ms = H`` guard: of two replicas closing the same hour one updates the row, the
other sees rowcount 0 and writes nothing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import Table, func, insert, select, update
from sqlalchemy.engine import Connection, Engine

from energy.localtime import LOCAL_TZ, local_day
from energy.units import kwh_to_wh
from energy.zones import DEFAULT_ZONE
from ingest_svc.billing.bridge_store import DailyPeakRow, HouseholdProgressRow, MeterMarkRow, SettlementRow
from ingest_svc.billing.ports import Clock, ReadingTables
from ingest_svc.db import insert_ignore

__all__ = ["HOUR_MS", "Settler", "watermark"]

HOUR_MS = 3_600_000


def watermark(conn: Connection, readings: Table) -> int | None:
    """Newest reading time stored (ix_readings_ts makes this an index lookup)."""
    value = conn.execute(select(func.max(readings.c.ts_ms))).scalar()
    return int(value) if value is not None else None


def _counters_before(
    conn: Connection, readings: Table, meter_id: str, before_ms: int
) -> tuple[int, int] | None:
    r = readings.c
    row = conn.execute(
        select(r.import_kwh, r.export_kwh)
        .where(r.meter_id == meter_id, r.ts_ms < before_ms)
        .order_by(r.ts_ms.desc(), r.seq.desc())
        .limit(1)
    ).first()
    return (kwh_to_wh(row.import_kwh), kwh_to_wh(row.export_kwh)) if row is not None else None


def _first_counters(conn: Connection, readings: Table, meter_id: str) -> tuple[int, int] | None:
    r = readings.c
    row = conn.execute(
        select(r.import_kwh, r.export_kwh).where(r.meter_id == meter_id).order_by(r.ts_ms, r.seq).limit(1)
    ).first()
    return (kwh_to_wh(row.import_kwh), kwh_to_wh(row.export_kwh)) if row is not None else None


@dataclass(frozen=True)
class Closed:
    household_id: str
    hour_start_ms: int
    metered_wh: int


class Settler:
    """Closes due household-hours (sync; the bridge runs it in a worker thread)."""

    def __init__(
        self,
        engine: Engine,
        tables: ReadingTables,
        grace_ms: int = 15 * 60_000,
        clock: Clock = time.time,
    ) -> None:
        self.engine = engine
        self.tables = tables
        self.grace_ms = grace_ms
        self._clock = clock

    def _meter_ids(self, conn: Connection, household_id: str) -> list[str]:
        m = self.tables.meters.c
        return [
            str(x) for x in conn.execute(select(m.meter_id).where(m.household_id == household_id)).scalars()
        ]

    def start_new_households(self, limit: int = 1000) -> int:
        """Progress rows for households whose meters started reporting: first hour = first reading's."""
        p = HouseholdProgressRow.__table__.c
        h = self.tables.households.c
        r = self.tables.readings.c
        started = 0
        with self.engine.begin() as conn:
            ids = list(
                conn.execute(
                    select(h.household_id)
                    .outerjoin(HouseholdProgressRow, p.household_id == h.household_id)
                    .where(p.household_id.is_(None))
                    .order_by(h.household_id)
                    .limit(limit)
                ).scalars()
            )
            for household_id in ids:
                firsts = [
                    conn.execute(select(func.min(r.ts_ms)).where(r.meter_id == m)).scalar()
                    for m in self._meter_ids(conn, household_id)
                ]
                known = [int(f) for f in firsts if f is not None]
                if not known:
                    continue
                conn.execute(
                    insert_ignore(conn, HouseholdProgressRow).values(
                        household_id=household_id,
                        next_hour_ms=min(known) - min(known) % HOUR_MS,
                        predicted_round_ms=0,
                        predicted_target_ms=0,
                    )
                )
                started += 1
        return started

    def close_due(self, limit: int = 2000) -> list[Closed]:
        """Close up to ``limit`` due household-hours, oldest first."""
        with self.engine.connect() as conn:
            mark = watermark(conn, self.tables.readings)
            if mark is None:
                return []
            p = HouseholdProgressRow.__table__.c
            due = list(
                conn.execute(
                    select(p.household_id, p.next_hour_ms)
                    .where(p.next_hour_ms + HOUR_MS <= mark)
                    .order_by(p.next_hour_ms, p.household_id)
                    .limit(limit)
                )
            )
        closed: list[Closed] = []
        for household_id, hour_ms in due:
            result = self.close(household_id, int(hour_ms), mark)
            if result is not None:
                closed.append(result)
        return closed

    def close(self, household_id: str, hour_ms: int, mark: int) -> Closed | None:
        end = hour_ms + HOUR_MS
        h = self.tables.households.c
        r = self.tables.readings.c
        with self.engine.begin() as conn:
            info = conn.execute(select(h.zone, h.time_zone).where(h.household_id == household_id)).first()
            meters = self._meter_ids(conn, household_id)
            if info is None:
                return None
            latest = [conn.execute(select(func.max(r.ts_ms)).where(r.meter_id == m)).scalar() for m in meters]
            all_in = bool(meters) and all(t is not None and t >= end for t in latest)
            if not all_in and mark < end + self.grace_ms:
                return None
            # The guard first: it also takes the row lock on PostgreSQL, so a second replica waits
            # here and then finds nothing to do.
            advanced = conn.execute(
                update(HouseholdProgressRow)
                .where(
                    HouseholdProgressRow.household_id == household_id,
                    HouseholdProgressRow.next_hour_ms == hour_ms,
                )
                .values(next_hour_ms=end)
            ).rowcount
            if advanced != 1:
                return None
            total = 0
            for meter_id in meters:
                total += self._meter_hour(conn, meter_id, hour_ms, end)
            tz = info.time_zone or LOCAL_TZ
            conn.execute(
                insert_ignore(conn, SettlementRow).values(
                    household_id=household_id,
                    hour_start_ms=hour_ms,
                    zone=(info.zone or DEFAULT_ZONE).upper(),
                    time_zone=tz,
                    metered_wh=total,
                    closed_ms=int(self._clock() * 1000),
                    priced=False,
                )
            )
            self._raise_peak(conn, household_id, local_day(hour_ms, tz), total)
        return Closed(household_id, hour_ms, total)

    def _meter_hour(self, conn: Connection, meter_id: str, hour_ms: int, end: int) -> int:
        """Net Wh of one meter in [hour_ms, end), moving its mark to ``end``."""
        stored = conn.execute(
            select(MeterMarkRow.import_wh, MeterMarkRow.export_wh, MeterMarkRow.boundary_ms).where(
                MeterMarkRow.meter_id == meter_id
            )
        ).first()
        if stored is not None:
            start: tuple[int, int] | None = (int(stored.import_wh), int(stored.export_wh))
        else:
            # First settled hour of this meter: from its last reading before the hour, or (new
            # meter) from its very first reading; energy before a meter's first reading is unknown.
            readings = self.tables.readings
            start = _counters_before(conn, readings, meter_id, hour_ms) or _first_counters(
                conn, readings, meter_id
            )
        if start is None:
            return 0
        finish = _counters_before(conn, self.tables.readings, meter_id, end) or start
        if finish[0] < start[0] or finish[1] < start[1]:
            finish = start  # the mark is newer than every reading before `end`: nothing new yet
        values = {"boundary_ms": end, "import_wh": finish[0], "export_wh": finish[1]}
        if stored is None:
            conn.execute(insert(MeterMarkRow).values(meter_id=meter_id, **values))
        else:
            conn.execute(update(MeterMarkRow).where(MeterMarkRow.meter_id == meter_id).values(**values))
        return (finish[0] - start[0]) - (finish[1] - start[1])

    @staticmethod
    def _raise_peak(conn: Connection, household_id: str, day: str, wh: int) -> None:
        key = (DailyPeakRow.household_id == household_id, DailyPeakRow.local_day == day)
        current = conn.execute(select(DailyPeakRow.peak_wh).where(*key)).scalar()
        if current is None:
            conn.execute(insert(DailyPeakRow).values(household_id=household_id, local_day=day, peak_wh=wh))
        elif wh > current:
            conn.execute(update(DailyPeakRow).where(*key).values(peak_wh=wh))
