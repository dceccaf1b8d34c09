"""Read side of the telemetry store: aggregated series, summaries, registry, dead letters, stats.

Aggregation happens in the database (GROUP BY on ``ts_ms - ts_ms % bucket``), which both SQLite
and PostgreSQL run from the (meter_id, ts_ms) index. Functions are synchronous; the servicer runs
them in a worker thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from sqlalchemy import BigInteger, FromClause, bindparam, func, select
from sqlalchemy.engine import Connection, Engine, Row
from sqlalchemy.sql import ColumnElement, Select

from common.errors import NotFound
from energy.localtime import local_midnight_ms, resolve_zone
from energypulse.errors.v1 import error_reason_pb2 as reasons
from ingest_svc.intake.store import DeadLetterRow, DeviceStatusRow, HouseholdRow, MeterRow, ReadingRow

__all__ = [
    "BUCKET_MS",
    "DeadLetter",
    "GridSnapshot",
    "HouseholdInfo",
    "SeriesPoint",
    "Summary",
    "TelemetryQueries",
    "ZoneLoadPoint",
]

# Resolution name -> bucket width (0 = raw readings).
BUCKET_MS = {"raw": 0, "minute": 60_000, "quarter_hour": 900_000, "hour": 3_600_000}


@dataclass(frozen=True)
class SeriesPoint:
    meter_id: str
    ts_ms: int
    seq: int
    voltage_v: float
    current_a: float
    power_w: float
    power_factor: float
    import_kwh: float
    export_kwh: float
    samples: int


@dataclass(frozen=True)
class HouseholdInfo:
    household_id: str
    display_name: str
    zone: str
    time_zone: str
    residents: int
    heating: str
    has_ev: bool
    has_solar: bool
    meter_ids: tuple[str, ...]
    grid_company: str = ""
    municipality: str = ""
    price_scheme: str = "spot"
    dwelling: str = "home"
    supplier_markup_ore_per_kwh: float | None = None
    supplier_monthly_fee_nok: float | None = None


@dataclass(frozen=True)
class Summary:
    household_id: str
    current_power_w: float
    today_kwh: float
    last_ts_ms: int
    time_zone: str = "UTC"
    first_ts_ms: int = 0  # the household's first stored reading: where its data starts (0: none)


class ZoneLoadPoint(NamedTuple):
    zone: str
    start_ms: int
    power_w: float
    meters: int


class DeadLetter(NamedTuple):
    """One dead-lettered message, as the listing returns it."""

    id: int
    received_ms: int
    topic: str
    reason: str
    detail: str
    payload: bytes


@dataclass(frozen=True)
class GridSnapshot:
    meters_online: int
    meters_offline: int
    total_power_w: float
    ingest_rate_per_s: float
    dead_letters_by_reason: dict[str, int]


def _online_meters(conn: Connection, heard: set[str]) -> tuple[set[str], set[str]]:
    """(online meters, meters with a known status).

    A meter with a retained status is online iff its status is ``online`` and its gateway's is
    not ``offline`` (a killed simulator's gateways go offline by their last will, even if their
    meters were heard seconds ago). A meter without any status falls back to recent readings.
    """
    gateways = {
        d: st
        for d, st in conn.execute(
            select(DeviceStatusRow.device_id, DeviceStatusRow.status).where(DeviceStatusRow.kind == "gateway")
        )
    }
    online: set[str] = set()
    known: set[str] = set()
    for meter_id, status, gateway in conn.execute(
        select(DeviceStatusRow.device_id, DeviceStatusRow.status, DeviceStatusRow.gateway_id).where(
            DeviceStatusRow.kind == "meter"
        )
    ):
        known.add(meter_id)
        if status == "online" and gateways.get(gateway, "online") == "online":
            online.add(meter_id)
    online |= heard - known
    return online, known


# One raw reading's columns, in SeriesPoint order: (meter_id, ts_ms, seq, voltage_v, current_a,
# power_w, power_factor, import_kwh, export_kwh). The table's columns are untyped in SQLAlchemy;
# this names what they hold (the Mapped types of ReadingRow).
_RawColumns = tuple[
    ColumnElement[str],
    ColumnElement[int],
    ColumnElement[int],
    ColumnElement[float],
    ColumnElement[float],
    ColumnElement[float],
    ColumnElement[float],
    ColumnElement[float],
    ColumnElement[float],
]
_RawRow = Row[str, int, int, float, float, float, float, float, float]


def _raw_columns() -> _RawColumns:
    """One raw reading's columns (raw series and the live stream's poll)."""
    r = ReadingRow.__table__.c
    return (
        r.meter_id,
        r.ts_ms,
        r.seq,
        r.voltage_v,
        r.current_a,
        r.power_w,
        r.power_factor,
        r.import_kwh,
        r.export_kwh,
    )


def _raw_point(row: _RawRow) -> SeriesPoint:
    return SeriesPoint(row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], row[8], samples=1)


def _summary_statement() -> Select[int, float, float, float, float | None, float | None]:
    """Per meter of household ``:household_id``: latest (ts, power, import, export) and the base
    counters of the day starting at ``:midnight_ms``. Built once; executed with those parameters."""
    midnight_ms = bindparam("midnight_ms", type_=BigInteger)
    readings = ReadingRow.__table__
    m = MeterRow.__table__
    cur, base, x, y, z = (readings.alias(n) for n in ("cur", "base", "x", "y", "z"))
    latest_seq = select(func.max(x.c.seq)).where(x.c.meter_id == m.c.meter_id).correlate(m).scalar_subquery()

    def seq_at(
        alias: FromClause, *where: ColumnElement[bool], order: ColumnElement[int]
    ) -> ColumnElement[int]:
        return (
            select(alias.c.seq)
            .where(alias.c.meter_id == m.c.meter_id, *where)
            .order_by(order)
            .limit(1)
            .correlate(m)
            .scalar_subquery()
        )

    before_midnight = seq_at(y, y.c.ts_ms < midnight_ms, order=y.c.ts_ms.desc())
    first_today = seq_at(z, z.c.ts_ms >= midnight_ms, order=z.c.ts_ms)
    return (
        select(
            cur.c.ts_ms,
            cur.c.power_w,
            cur.c.import_kwh,
            cur.c.export_kwh,
            base.c.import_kwh,
            base.c.export_kwh,
        )
        .select_from(
            m.join(cur, (cur.c.meter_id == m.c.meter_id) & (cur.c.seq == latest_seq)).outerjoin(
                base,
                (base.c.meter_id == m.c.meter_id)
                & (base.c.seq == func.coalesce(before_midnight, first_today)),
            )
        )
        .where(m.c.household_id == bindparam("household_id"))
    )


_SUMMARY = _summary_statement()


class TelemetryQueries:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # --- registry -----------------------------------------------------------------------
    def household(self, household_id: str) -> HouseholdInfo:
        found = self.households_by_id([household_id])
        if not found:
            raise NotFound(reasons.HOUSEHOLD_NOT_FOUND, f"household {household_id!r} is not registered")
        return found[0]

    def households_by_id(
        self, ids: Sequence[str] | None, offset: int = 0, limit: int = 0
    ) -> list[HouseholdInfo]:
        stmt = select(HouseholdRow).order_by(HouseholdRow.household_id)
        if ids is not None:
            stmt = stmt.where(HouseholdRow.household_id.in_(list(ids)))
        if limit:
            stmt = stmt.offset(offset).limit(limit)
        with self.engine.connect() as conn:
            households = list(conn.execute(stmt))
            keys = [h.household_id for h in households]
            meters: dict[str, list[str]] = {k: [] for k in keys}
            if keys:
                for m in conn.execute(
                    select(MeterRow.meter_id, MeterRow.household_id)
                    .where(MeterRow.household_id.in_(keys))
                    .order_by(MeterRow.meter_id)
                ):
                    meters[m.household_id].append(m.meter_id)
        return [
            HouseholdInfo(
                h.household_id,
                h.display_name,
                h.zone,
                h.time_zone,
                h.residents,
                h.heating,
                h.has_ev,
                h.has_solar,
                tuple(meters[h.household_id]),
                h.grid_company,
                h.municipality,
                h.price_scheme,
                h.dwelling,
                None if h.supplier_markup_micro_per_kwh is None else h.supplier_markup_micro_per_kwh / 10_000,
                None if h.supplier_fee_nano_per_month is None else h.supplier_fee_nano_per_month / 1e9,
            )
            for h in households
        ]

    def meters_of(self, household_id: str, meter_id: str = "") -> list[str]:
        meters = list(self.household(household_id).meter_ids)
        if meter_id:
            if meter_id not in meters:
                raise NotFound(
                    reasons.METER_NOT_FOUND,
                    f"meter {meter_id!r} does not belong to household {household_id!r}",
                )
            return [meter_id]
        return meters

    # --- series -------------------------------------------------------------------------
    def series(
        self, meter_ids: Sequence[str], start_ms: int, end_ms: int, bucket_ms: int, offset: int, limit: int
    ) -> list[SeriesPoint]:
        r = ReadingRow.__table__.c
        where = (r.meter_id.in_(list(meter_ids)), r.ts_ms >= start_ms, r.ts_ms < end_ms)
        if bucket_ms == 0:
            stmt = (
                select(*_raw_columns())
                .where(*where)
                .order_by(r.ts_ms, r.meter_id, r.seq)
                .offset(offset)
                .limit(limit)
            )
            with self.engine.connect() as conn:
                return [_raw_point(row) for row in conn.execute(stmt)]
        bucket = (r.ts_ms - r.ts_ms % bucket_ms).label("bucket")
        bucketed = (
            select(
                r.meter_id,
                bucket,
                func.max(r.seq),
                func.avg(r.voltage_v),
                func.avg(r.current_a),
                func.avg(r.power_w),
                func.avg(r.power_factor),
                func.max(r.import_kwh),
                func.max(r.export_kwh),
                func.count(),
            )
            .where(*where)
            .group_by(r.meter_id, bucket)
            .order_by(bucket, r.meter_id)
            .offset(offset)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            rows = list(conn.execute(bucketed))
            return [
                SeriesPoint(
                    m, int(b), int(s), float(v), float(c), float(p), float(pf), float(i), float(e), int(n)
                )
                for m, b, s, v, c, p, pf, i, e, n in rows
            ]

    def after_seq(
        self, meter_ids: Sequence[str], cursor: dict[str, int], limit: int = 1000
    ) -> list[SeriesPoint]:
        """Readings newer (by seq) than ``cursor`` per meter: the live stream's poll, PK-indexed."""
        r = ReadingRow.__table__.c
        points: list[SeriesPoint] = []
        with self.engine.connect() as conn:
            for meter_id in meter_ids:
                stmt = (
                    select(*_raw_columns())
                    .where(r.meter_id == meter_id, r.seq > cursor.get(meter_id, -1))
                    .order_by(r.seq)
                    .limit(limit)
                )
                points += [_raw_point(row) for row in conn.execute(stmt)]
        points.sort(key=lambda p: (p.ts_ms, p.meter_id))
        return points

    def latest_seq(self, meter_ids: Sequence[str]) -> dict[str, int]:
        r = ReadingRow.__table__.c
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(r.meter_id, func.max(r.seq))
                .where(r.meter_id.in_(list(meter_ids)))
                .group_by(r.meter_id)
            )
            return {m: int(s) for m, s in rows}

    # --- summary ------------------------------------------------------------------------
    def summary(self, household_id: str, now_ms: int) -> Summary:
        """Current power and energy since local midnight: two statements whatever the meter count.

        Performance: the hottest household read. One statement yields, per meter of the household,
        its latest reading and the counter base of today (the last reading before local midnight,
        else the first one today); each is a correlated lookup on the (meter_id, seq) primary key or
        the (meter_id, ts_ms) index, so the cost does not grow with the stored history.
        """
        with self.engine.connect() as conn:
            found = conn.execute(
                select(HouseholdRow.time_zone).where(HouseholdRow.household_id == household_id)
            ).first()
            if found is None:
                raise NotFound(reasons.HOUSEHOLD_NOT_FOUND, f"household {household_id!r} is not registered")
            time_zone = found.time_zone
            midnight_ms = local_midnight_ms(now_ms, resolve_zone(time_zone, default="UTC"))
            rows = conn.execute(_SUMMARY, {"household_id": household_id, "midnight_ms": midnight_ms}).all()
            first_ts = self._first_ts(conn, household_id)
        power = today = 0.0
        last_ts = 0
        for ts_ms, power_w, imp, exp, base_imp, base_exp in rows:
            power += power_w
            last_ts = max(last_ts, ts_ms)
            if base_imp is not None and base_exp is not None:  # outer join: both or neither
                today += (imp - base_imp) - (exp - base_exp)
        return Summary(household_id, power, today, last_ts, time_zone, first_ts)

    @staticmethod
    def _first_ts(conn: Connection, household_id: str) -> int:
        """Time of the household's earliest reading: each meter's lowest seq (a primary-key
        lookup per meter, whatever the history), the earliest of them."""
        r = ReadingRow.__table__.c
        first_seq = (
            select(r.meter_id, func.min(r.seq).label("seq"))
            .where(r.meter_id.in_(select(MeterRow.meter_id).where(MeterRow.household_id == household_id)))
            .group_by(r.meter_id)
            .subquery()
        )
        found = conn.execute(
            select(func.min(r.ts_ms)).select_from(
                first_seq.join(
                    ReadingRow.__table__, (r.meter_id == first_seq.c.meter_id) & (r.seq == first_seq.c.seq)
                )
            )
        ).scalar()
        return int(found or 0)

    # --- grid ---------------------------------------------------------------------------
    def grid(self, now_ms: int, online_window_ms: int, rate_window_ms: int = 10_000) -> GridSnapshot:
        r = ReadingRow.__table__.c
        with self.engine.connect() as conn:
            latest = (
                select(r.meter_id, func.max(r.seq).label("seq"))
                .where(r.ts_ms >= now_ms - online_window_ms)
                .group_by(r.meter_id)
                .subquery()
            )
            heard = {
                str(m): float(p)
                for m, p in conn.execute(
                    select(r.meter_id, r.power_w).select_from(
                        latest.join(
                            ReadingRow.__table__, (r.meter_id == latest.c.meter_id) & (r.seq == latest.c.seq)
                        )
                    )
                )
            }
            total_power = sum(heard.values())
            online, known = _online_meters(conn, set(heard))
            registered = set(conn.execute(select(MeterRow.meter_id)).scalars())
            recent = conn.execute(
                select(func.count()).where(r.received_ms >= now_ms - rate_window_ms)
            ).scalar_one()
            dead = dict(
                conn.execute(select(DeadLetterRow.reason, func.count()).group_by(DeadLetterRow.reason)).all()
            )
        return GridSnapshot(
            meters_online=len(online),
            meters_offline=len((registered | known | set(heard)) - online),
            total_power_w=float(total_power),
            ingest_rate_per_s=recent / (rate_window_ms / 1000),
            dead_letters_by_reason={str(k): int(v) for k, v in dead.items()},
        )

    def zone_load(self, start_ms: int, end_ms: int, step_ms: int) -> list[ZoneLoadPoint]:
        """Per zone and bucket of ``step_ms`` from ``start_ms``: the sum over meters of each meter's
        mean power in the bucket (W), and how many meters reported. Two GROUP BYs in the database,
        over the (ts_ms) index; a meter without a household row counts in zone ""."""
        r = ReadingRow.__table__.c
        bucket = ((r.ts_ms - start_ms) // step_ms).label("bucket")
        per_meter = (
            select(r.meter_id, bucket, func.avg(r.power_w).label("mean_w"))
            .where(r.ts_ms >= start_ms, r.ts_ms < end_ms)
            .group_by(r.meter_id, bucket)
            .subquery()
        )
        zone = func.coalesce(HouseholdRow.zone, "").label("zone")
        stmt = (
            select(zone, per_meter.c.bucket, func.sum(per_meter.c.mean_w), func.count())
            .select_from(per_meter)
            .outerjoin(MeterRow, MeterRow.meter_id == per_meter.c.meter_id)
            .outerjoin(HouseholdRow, HouseholdRow.household_id == MeterRow.household_id)
            .group_by(zone, per_meter.c.bucket)
            .order_by(zone, per_meter.c.bucket)
        )
        with self.engine.connect() as conn:
            return [
                ZoneLoadPoint(str(z), start_ms + int(b) * step_ms, float(w or 0.0), int(n))
                for z, b, w, n in conn.execute(stmt)
            ]

    # --- dead letters -------------------------------------------------------------------
    def dead_letters(self, reason: str, before_id: int | None, limit: int) -> list[DeadLetter]:
        d = DeadLetterRow
        stmt = (
            select(d.id, d.received_ms, d.topic, d.reason, d.detail, d.payload)
            .order_by(d.id.desc())
            .limit(limit)
        )
        if reason:
            stmt = stmt.where(DeadLetterRow.reason == reason)
        if before_id is not None:
            stmt = stmt.where(DeadLetterRow.id < before_id)
        with self.engine.connect() as conn:
            return [DeadLetter(*row) for row in conn.execute(stmt)]
