"""Closing settlement periods: metered net Wh per household and period.

A household whose meters all sign their registers (a key registered for each) settles per
settlement period (``period_ms``, a quarter-hour by default) from the *signed boundary values*
only: the energy of [P, P+period) is, per meter, the signed registers at P+period minus those at
P, so consecutive periods chain by construction (one boundary ends one and starts the next).
Readings between boundaries never reach the bill. A period whose signed values are missing at
either end once the grace has passed (the fleet's watermark ``grace`` past the period's end, and
the lacking value not on its way: see :class:`_OnTheWay`), or whose signed
delta exceeds the plausibility cap, is not billed: it is recorded in ``missing_periods`` with the reason (NOT_SIGNED, or NO_READINGS when the
meter reported nothing over the period; IMPLAUSIBLE_ENERGY), and in the same transaction an
unbilled-period record per run of consecutive periods with the same reason is queued for the
ledger, so the invoice gives the reason from the log itself (docs/ledger-spec.md §17.7).

A household with a meter that does not sign (registered before meters had keys) settles as
before, per hour from the counters (ledger format 1, "legacy: not meter-signed"):

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

import dataclasses
import time
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import Table, bindparam, case, func, insert, select, tuple_, update
from sqlalchemy.engine import Connection, Engine

from common import timestamps
from energy.localtime import LOCAL_TZ, local_day
from energy.units import kwh_to_wh
from energy.zones import DEFAULT_ZONE
from energypulse.ledger.v1 import ledger_service_pb2, record_pb2
from ingest_svc.billing.bridge_store import (
    DailyPeakRow,
    HouseholdProgressRow,
    MeterMarkRow,
    MissingPeriodRow,
    SettlementRow,
)
from ingest_svc.billing.outbox import LEDGER_APPEND, enqueue_many
from ingest_svc.billing.ports import Clock, ReadingTables
from ingest_svc.db import insert_ignore

__all__ = ["HOUR_MS", "Closed", "Settler", "hourly_sums", "watermark"]

HOUR_MS = 3_600_000
DEFAULT_MAX_POWER_W = 43_470.0  # 63 A main fuse x 230 V x 3 phases (EP_INGEST_MAX_POWER_W)
_MAX_PERIODS_PER_HOUSEHOLD = 96  # a day of quarter-hours per household and batch (back-logs)
_MAX_UNBILLED_RUN_MS = 24 * HOUR_MS  # the ledger's limit on one unbilled run (spec §17.7)


def watermark(conn: Connection, readings: Table) -> int | None:
    """Newest reading time stored (ix_readings_ts makes this an index lookup)."""
    value = conn.execute(select(func.max(readings.c.ts_ms))).scalar()
    return int(value) if value is not None else None


def hourly_sums(conn: Connection, household_id: str, from_ms: int, to_ms: int) -> dict[int, int]:
    """{hour start: net Wh} of a household's settled periods starting in [from_ms, to_ms]: an
    hourly figure is the sum of its periods (one row for a legacy hour)."""
    s = SettlementRow.__table__.c
    out: dict[int, int] = {}
    for start, wh in conn.execute(
        select(s.hour_start_ms, s.metered_wh).where(
            s.household_id == household_id, s.hour_start_ms >= from_ms, s.hour_start_ms <= to_ms
        )
    ):
        hour = int(start) - int(start) % HOUR_MS
        out[hour] = out.get(hour, 0) + int(wh)
    return out


def _aligned(ms: int, period_ms: int) -> int:
    return ms - ms % period_ms


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
    hour_start_ms: int  # the period start
    metered_wh: int
    period_ms: int = HOUR_MS
    missing: str = ""  # the reason when the period could not be billed


@dataclass(frozen=True)
class _Value:
    boundary_ms: int
    import_wh: int
    export_wh: int
    seq: int
    key_id: str
    signature: bytes

    def proto(self) -> record_pb2.SignedRegisterValue:
        return record_pb2.SignedRegisterValue(
            boundary_time=timestamps.from_ms(self.boundary_ms),
            import_wh=self.import_wh,
            export_wh=self.export_wh,
            seq=self.seq,
            signature=self.signature,
        )


@dataclass(frozen=True)
class _Household:
    zone: str | None
    time_zone: str | None
    meters: tuple[str, ...]  # sorted
    signed: bool  # every meter has a registered signing key


@dataclass(frozen=True)
class _Period:
    start: int
    end: int
    total: int  # net Wh (0 when missing)
    missing: str  # the reason when it cannot be billed, else ""
    detail: str
    meter_values: bytes  # the SettlementRecord with the signed meter periods (settled only)
    meter: str = ""  # the meter that kept it from being billed, if one did


class _OnTheWay:
    """Whether a meter's signed value at a period's end, missing from the batch's values, may still
    come, so the period waits instead of closing unbilled.

    Two ways it may: (1) the meter has not yet reported past the period's end and its newest
    reading arrived within the grace (wall time): it is delivering a back-log (a back-filled demo
    meter whose gateway runs behind the others, a concentrator back after an outage). The fleet's
    watermark cannot tell that from a silent meter: the others' readings move it hours ahead in
    seconds, and the back-log's periods were written off for good while their signed values were
    on the way. A meter counts as silent once nothing of it has arrived for the grace. (2) It has
    reported past the end and the value is stored by now: the batch read its values before that
    batch of readings was committed (each read sees the newest commit), so it is looked up again
    before the period is written off. One or two look-ups per lacking meter, on the (meter, time)
    indexes, only for periods already past the watermark's grace, never on the steady live path."""

    def __init__(self, conn: Connection, tables: ReadingTables, heard_after_ms: int) -> None:
        self._conn = conn
        self._tables = tables
        self._heard_after_ms = heard_after_ms
        self._newest: dict[str, tuple[int, int] | None] = {}

    def __call__(self, meter_id: str, end_ms: int) -> bool:
        if meter_id not in self._newest:
            r = self._tables.readings.c
            row = self._conn.execute(
                select(r.ts_ms, r.received_ms).where(r.meter_id == meter_id).order_by(r.ts_ms.desc()).limit(1)
            ).first()
            self._newest[meter_id] = None if row is None else (int(row[0]), int(row[1]))
        newest = self._newest[meter_id]
        if newest is None:
            return False
        ts_ms, received_ms = newest
        if ts_ms < end_ms:
            return received_ms > self._heard_after_ms
        b = self._tables.boundaries.c
        found = self._conn.execute(
            select(b.boundary_ms).where(b.meter_id == meter_id, b.boundary_ms == end_ms).limit(1)
        ).first()
        return found is not None


class Settler:
    """Closes due household-hours (sync; the bridge runs it in a worker thread)."""

    def __init__(
        self,
        engine: Engine,
        tables: ReadingTables,
        grace_ms: int = 15 * 60_000,
        clock: Clock = time.time,
        period_ms: int = 900_000,
        max_power_w: float = DEFAULT_MAX_POWER_W,
    ) -> None:
        if period_ms < 60_000 or HOUR_MS % period_ms:
            raise ValueError("the settlement period must divide an hour and be at least a minute")
        self.engine = engine
        self.tables = tables
        self.grace_ms = grace_ms
        self._clock = clock
        self.period_ms = period_ms
        self.max_power_w = max_power_w

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
        """Close up to ``limit`` due household-periods, oldest first (by period start, household).

        The signed households of the batch settle together in one transaction: their meters, keys
        and boundary values are read in a few queries for all of them, each household closes as
        many consecutive periods as the watermark allows (up to its share of ``limit``), and the
        rows are written with one statement per table. A legacy (unsigned) household still closes
        one hour per call in a transaction of its own (:meth:`close`)."""
        with self.engine.connect() as conn:
            mark = watermark(conn, self.tables.readings)
            if mark is None:
                return []
            p = HouseholdProgressRow.__table__.c
            due = [
                (str(h), int(t))
                for h, t in conn.execute(
                    select(p.household_id, p.next_hour_ms)
                    .where(p.next_hour_ms + self.period_ms <= mark)
                    .order_by(p.next_hour_ms, p.household_id)
                    .limit(limit)
                )
            ]
        if not due:
            return []
        closed: list[Closed] = []
        legacy: list[tuple[str, int]] = []
        with self.engine.begin() as conn:
            households = self._households(conn, [h for h, _ in due])
            signed: dict[str, int] = {}
            for household_id, start in due:
                found = households.get(household_id)
                if found is None:
                    continue  # progress without a household row: nothing to settle
                if found.signed:
                    signed[household_id] = start
                else:
                    legacy.append((household_id, start))
            if signed:
                share = max(1, min(_MAX_PERIODS_PER_HOUSEHOLD, limit // len(signed)))
                closed += self._close_signed_batch(conn, signed, households, mark, share)
        for household_id, hour_ms in legacy:
            result = self.close(household_id, hour_ms, mark)
            if result is not None:
                closed.append(result)
        closed.sort(key=lambda c: (c.hour_start_ms, c.household_id))
        return closed

    def _households(self, conn: Connection, ids: list[str]) -> dict[str, _Household]:
        """Zone, time zone, meters (sorted) and whether every meter signs, for ``ids`` (3 queries)."""
        h = self.tables.households.c
        m = self.tables.meters.c
        k = self.tables.meter_keys.c
        info = {
            str(x.household_id): (x.zone, x.time_zone)
            for x in conn.execute(select(h.household_id, h.zone, h.time_zone).where(h.household_id.in_(ids)))
        }
        meters: dict[str, list[str]] = defaultdict(list)
        for household_id, meter_id in conn.execute(
            select(m.household_id, m.meter_id).where(m.household_id.in_(ids))
        ):
            meters[str(household_id)].append(str(meter_id))
        for ms in meters.values():
            ms.sort()  # Python's order (the record lists them so), not the database collation's
        every = [meter for ms in meters.values() for meter in ms]
        keyed = (
            {
                str(x)
                for x in conn.execute(select(k.meter_id).where(k.meter_id.in_(every)).distinct()).scalars()
            }
            if every
            else set()
        )
        return {
            household_id: _Household(
                zone,
                time_zone,
                tuple(meters.get(household_id, ())),
                bool(meters.get(household_id)) and all(x in keyed for x in meters[household_id]),
            )
            for household_id, (zone, time_zone) in info.items()
        }

    def _boundary_values(
        self, conn: Connection, signed: dict[str, int], households: dict[str, _Household], share: int
    ) -> dict[tuple[str, int], _Value]:
        """The signed values the batch can use: per group of households at the same next period
        start, one range query over their meters from that period's boundary to ``share`` + 1
        periods on."""
        b = self.tables.boundaries.c
        groups: dict[int, list[str]] = defaultdict(list)
        for household_id, start in signed.items():
            groups[start - start % self.period_ms].extend(households[household_id].meters)
        out: dict[tuple[str, int], _Value] = {}
        for first, meters in groups.items():
            for x in conn.execute(
                select(
                    b.meter_id, b.boundary_ms, b.import_wh, b.export_wh, b.seq, b.key_id, b.signature
                ).where(
                    b.meter_id.in_(meters),
                    b.boundary_ms >= first,
                    b.boundary_ms <= first + (share + 1) * self.period_ms,
                )
            ):
                at = int(x.boundary_ms)
                out[(str(x.meter_id), at)] = _Value(
                    at, int(x.import_wh), int(x.export_wh), int(x.seq), str(x.key_id), bytes(x.signature)
                )
        return out

    def _close_signed_batch(
        self,
        conn: Connection,
        signed: dict[str, int],
        households: dict[str, _Household],
        mark: int,
        share: int,
    ) -> list[Closed]:
        """Close the due periods of signed households (in the caller's transaction): the same
        periods, amounts, missing-period reasons and daily peaks as closing them one at a time."""
        values = self._boundary_values(conn, signed, households, share)
        on_the_way = _OnTheWay(conn, self.tables, int(self._clock() * 1000) - self.grace_ms)
        plans: dict[str, list[_Period]] = {}
        for household_id, first in signed.items():
            periods = self._plan(
                household_id, first, households[household_id], values, mark, share, on_the_way
            )
            if periods:
                plans[household_id] = periods
        if not plans:
            return []
        # The guard first, for all of them in one statement: of two replicas closing the same
        # periods one moves a household's progress row, the other's WHERE no longer matches. On
        # PostgreSQL the rows are locked in household order first, so two batches never deadlock.
        p = HouseholdProgressRow.__table__
        keys = [(h, signed[h]) for h in sorted(plans)]
        guard = tuple_(p.c.household_id, p.c.next_hour_ms).in_(keys)
        list(conn.execute(select(p.c.household_id).where(guard).order_by(p.c.household_id).with_for_update()))
        advanced = set(
            conn.execute(
                update(HouseholdProgressRow)
                .where(guard)
                .values(next_hour_ms=case({h: plans[h][-1].end for h, _ in keys}, value=p.c.household_id))
                .returning(p.c.household_id)
            ).scalars()
        )
        plans = {h: periods for h, periods in plans.items() if h in advanced}
        if not plans:
            return []
        plans = self._silent_meters(conn, plans)
        now = int(self._clock() * 1000)
        settled: list[dict[str, object]] = []
        missing: list[dict[str, object]] = []
        closed: list[Closed] = []
        for household_id, periods in plans.items():
            info = households[household_id]
            for period in periods:
                if period.missing:
                    missing.append(
                        {
                            "household_id": household_id,
                            "period_start_ms": period.start,
                            "period_ms": period.end - period.start,
                            "reason": period.missing,
                            "detail": period.detail[:256],
                            "closed_ms": now,
                        }
                    )
                    closed.append(
                        Closed(household_id, period.start, 0, period.end - period.start, period.missing)
                    )
                    continue
                settled.append(
                    {
                        "household_id": household_id,
                        "hour_start_ms": period.start,
                        "zone": (info.zone or DEFAULT_ZONE).upper(),
                        "time_zone": info.time_zone or LOCAL_TZ,
                        "metered_wh": period.total,
                        "closed_ms": now,
                        "priced": False,
                        "period_ms": self.period_ms,
                        "meter_values": period.meter_values,
                    }
                )
                closed.append(Closed(household_id, period.start, period.total, self.period_ms))
        peaks = self._day_peaks(conn, plans, households)
        if missing:
            conn.execute(insert_ignore(conn, MissingPeriodRow), missing)
            enqueue_many(conn, LEDGER_APPEND, self._unbilled_requests(plans), now)
        if settled:
            conn.execute(insert_ignore(conn, SettlementRow), settled)
        self._write_peaks(conn, peaks)
        return closed

    def _silent_meters(self, conn: Connection, plans: dict[str, list[_Period]]) -> dict[str, list[_Period]]:
        """``plans`` with each NOT_SIGNED period whose meter sent no reading at all in (start, end]
        told NO_READINGS instead: a silent meter is not one whose values failed to verify (those
        readings are stored as plain samples). One query per household with such periods."""
        r = self.tables.readings.c
        out: dict[str, list[_Period]] = {}
        for household_id, periods in plans.items():
            unsigned = [p for p in periods if p.missing == "NOT_SIGNED" and p.meter]
            if not unsigned:
                out[household_id] = periods
                continue
            bucket = (r.ts_ms - 1) - (r.ts_ms - 1) % self.period_ms  # (s, s + period] -> s
            heard = {
                (str(m), int(b))
                for m, b in conn.execute(
                    select(r.meter_id, bucket)
                    .where(
                        r.meter_id.in_(sorted({p.meter for p in unsigned})),
                        r.ts_ms > unsigned[0].start,
                        r.ts_ms <= unsigned[-1].end,
                    )
                    .distinct()
                )
            }
            out[household_id] = [
                dataclasses.replace(
                    p, missing="NO_READINGS", detail=f"no reading of {p.meter} over the period"
                )
                if p in unsigned and (p.meter, p.start - p.start % self.period_ms) not in heard
                else p
                for p in periods
            ]
        return out

    def _unbilled_requests(self, plans: dict[str, list[_Period]]) -> list[tuple[str, bytes]]:
        """The ledger appends for the batch's unbilled periods: per household, one record per run
        of consecutive periods with the same reason, meter and detail (at most a day), so a back-log
        of an outage is a few records (a live pass closes one period, so one record each). The request id (household, run start) makes a re-send append once."""
        calls: list[tuple[str, bytes]] = []
        for household_id, periods in plans.items():
            runs: list[list[_Period]] = []
            for p in (p for p in periods if p.missing):
                last = runs[-1] if runs else None
                if (
                    last is not None
                    and last[-1].end == p.start
                    and (last[-1].missing, last[-1].meter, last[-1].detail) == (p.missing, p.meter, p.detail)
                    and p.end - _aligned(last[0].start, self.period_ms) <= _MAX_UNBILLED_RUN_MS
                ):
                    last.append(p)
                else:
                    runs.append([p])
            for run in runs:
                # A first period that starts mid-period (meters began signing inside it) is the
                # aligned period it lies in: none of that period is billed.
                start = _aligned(run[0].start, self.period_ms)
                record = record_pb2.UnbilledPeriodRecord(
                    household_id=household_id,
                    meter_id=run[0].meter,
                    period_start=timestamps.from_ms(start),
                    period_seconds=self.period_ms // 1000,
                    period_count=(run[-1].end - start) // self.period_ms,
                    reason=run[0].missing,
                    detail=run[0].detail.encode("utf-8")[:256].decode("utf-8", "ignore"),
                )
                request = ledger_service_pb2.AppendRecordsRequest(
                    request_id=f"unbilled:{household_id}:{start}",
                    records=[record_pb2.Record(unbilled_period=record)],
                )
                calls.append((request.request_id, request.SerializeToString()))
        return calls

    def _plan(
        self,
        household_id: str,
        first: int,
        info: _Household,
        values: dict[tuple[str, int], _Value],
        mark: int,
        share: int,
        on_the_way: _OnTheWay,
    ) -> list[_Period]:
        """The consecutive periods of one household that close now, from ``first`` on."""
        meters = info.meters
        cap_wh = self.max_power_w * self.period_ms / HOUR_MS
        out: list[_Period] = []
        start = first
        while len(out) < share and start + self.period_ms <= mark:
            end = start + self.period_ms
            if start % self.period_ms:
                # The household's meters started signing mid-period: its next boundary starts it.
                end = start - start % self.period_ms + self.period_ms
            ends = {m: v for m in meters if (v := values.get((m, end))) is not None}
            if len(ends) < len(meters) and (
                mark < end + self.grace_ms or any(on_the_way(m, end) for m in meters if m not in ends)
            ):
                break
            starts = (
                {m: v for m in meters if (v := values.get((m, start))) is not None}
                if start % self.period_ms == 0
                else {}
            )
            missing = ""
            detail = ""
            lacking = [m for m in meters if m not in starts or m not in ends]
            meter = ""
            if lacking:
                missing, meter = "NOT_SIGNED", lacking[0]
                at = "start" if lacking[0] not in starts else "end"
                detail = f"no signed value of {lacking[0]} at the period {at}"
            else:
                for m in meters:
                    rise = max(
                        ends[m].import_wh - starts[m].import_wh, ends[m].export_wh - starts[m].export_wh
                    )
                    back = ends[m].import_wh < starts[m].import_wh or ends[m].export_wh < starts[m].export_wh
                    if back or (self.max_power_w > 0 and rise > cap_wh):
                        missing, meter = "IMPLAUSIBLE_ENERGY", m
                        detail = f"{m}: signed registers moved {rise} Wh (cap {cap_wh:.0f} Wh)"
                        break
            if start % self.period_ms:
                missing, detail, meter = "NOT_SIGNED", "before the meters' first signed boundary", ""
            if missing:
                out.append(_Period(start, end, 0, missing, detail, b"", meter))
            else:
                record = record_pb2.SettlementRecord(
                    meter_periods=[
                        record_pb2.SignedMeterPeriod(
                            meter_id=m, key_id=ends[m].key_id, start=starts[m].proto(), end=ends[m].proto()
                        )
                        for m in meters  # sorted (_households)
                    ]
                )
                total = sum(
                    (ends[m].import_wh - starts[m].import_wh) - (ends[m].export_wh - starts[m].export_wh)
                    for m in meters
                )
                out.append(_Period(start, end, total, "", "", record.SerializeToString()))
            start = end
        return out

    def _day_peaks(
        self, conn: Connection, plans: dict[str, list[_Period]], households: dict[str, _Household]
    ) -> dict[tuple[str, str], int]:
        """{(household, local day): peak Wh} after the batch's periods, as closing them one at a
        time would leave it: the capacity step is by hourly energy (the sum of the hour's
        periods), and each settled period re-sets its day's peak to the largest hourly sum of the
        day so far (a later quarter that exported can lower an hour's sum). Only the last settled
        period of each day decides, so it alone is computed, over the stored rows of the 26 hours
        before it (read once for the batch) and the batch's own."""
        s = SettlementRow.__table__.c
        lows = min(periods[0].start for periods in plans.values()) - 26 * HOUR_MS
        highs = max(periods[-1].start for periods in plans.values())
        window: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for h, start, wh in conn.execute(
            select(s.household_id, s.hour_start_ms, s.metered_wh).where(
                s.household_id.in_(list(plans)), s.hour_start_ms >= lows, s.hour_start_ms <= highs
            )
        ):
            window[str(h)].append((int(start), int(wh)))
        peaks: dict[tuple[str, str], int] = {}
        for household_id, periods in plans.items():
            tz = households[household_id].time_zone or LOCAL_TZ
            rows = window[household_id]
            last_of_day: dict[str, _Period] = {}
            for period in periods:
                if not period.missing:
                    rows.append((period.start, period.total))
                    last_of_day[local_day(period.start, tz)] = period
            for day, period in last_of_day.items():
                sums: dict[int, int] = {}
                for start, wh in rows:
                    if period.start - 26 * HOUR_MS <= start <= period.start:
                        hour = start - start % HOUR_MS
                        sums[hour] = sums.get(hour, 0) + wh
                peaks[(household_id, day)] = max(
                    (wh for hour, wh in sums.items() if local_day(hour, tz) == day), default=period.total
                )
        return peaks

    @staticmethod
    def _write_peaks(conn: Connection, peaks: dict[tuple[str, str], int]) -> None:
        """Set the daily peaks: one UPDATE for the days that have a row, one INSERT for the rest."""
        if not peaks:
            return
        d = DailyPeakRow.__table__.c
        existing = {
            (str(h), str(day))
            for h, day in conn.execute(
                select(d.household_id, d.local_day).where(
                    tuple_(d.household_id, d.local_day).in_(list(peaks))
                )
            )
        }
        updates = [
            {"k_h": h, "k_day": day, "k_wh": wh} for (h, day), wh in peaks.items() if (h, day) in existing
        ]
        inserts = [
            {"household_id": h, "local_day": day, "peak_wh": wh}
            for (h, day), wh in peaks.items()
            if (h, day) not in existing
        ]
        if updates:
            conn.execute(
                update(DailyPeakRow)
                .where(d.household_id == bindparam("k_h"), d.local_day == bindparam("k_day"))
                .values(peak_wh=bindparam("k_wh")),
                updates,
            )
        if inserts:
            conn.execute(insert(DailyPeakRow), inserts)

    def close(self, household_id: str, hour_ms: int, mark: int) -> Closed | None:
        """Close one household's period starting at ``hour_ms`` if it is due (its own transaction)."""
        r = self.tables.readings.c
        with self.engine.begin() as conn:
            found = self._households(conn, [household_id]).get(household_id)
            if found is None:
                return None
            if found.signed:
                closed = self._close_signed_batch(
                    conn, {household_id: hour_ms}, {household_id: found}, mark, 1
                )
                return closed[0] if closed else None
            meters = list(found.meters)
            info = found
            if hour_ms % HOUR_MS:
                return None  # a meter lost its key mid-hour cannot happen (keys are never removed)
            end = hour_ms + HOUR_MS
            if mark < end:
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
    def _set_peak(conn: Connection, household_id: str, day: str, wh: int) -> None:
        key = (DailyPeakRow.household_id == household_id, DailyPeakRow.local_day == day)
        if conn.execute(update(DailyPeakRow).where(*key).values(peak_wh=wh)).rowcount == 0:
            conn.execute(insert(DailyPeakRow).values(household_id=household_id, local_day=day, peak_wh=wh))

    @staticmethod
    def _raise_peak(conn: Connection, household_id: str, day: str, wh: int) -> None:
        key = (DailyPeakRow.household_id == household_id, DailyPeakRow.local_day == day)
        current = conn.execute(select(DailyPeakRow.peak_wh).where(*key)).scalar()
        if current is None:
            conn.execute(insert(DailyPeakRow).values(household_id=household_id, local_day=day, peak_wh=wh))
        elif wh > current:
            conn.execute(update(DailyPeakRow).where(*key).values(peak_wh=wh))
