"""Today's cost of a household: settled hours (as billed) plus the running hour at the forecast price.

Settled hours are summed from ``settlements`` (priced rows: exactly what went to the ledger).
Energy not settled yet (from the household's open hour to its latest reading, counted from the
same counter marks the settlement uses) is valued with predict_svc's tariff at the P50 spot
price of the household's latest forecast; without a forecast yet it is left out.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.engine import Connection, Engine

from energy.localtime import LOCAL_TZ, from_ms, local_hour_shares, local_midnight_ms
from energy.settlement import settle_hour_micro
from energy.tariff import Tariff
from energy.units import kwh_to_wh, micro_eur_per_kwh_to_eur_mwh, micro_to_eur
from ingest_svc.billing.bridge_store import HouseholdProgressRow, MeterMarkRow, SettlementRow
from ingest_svc.billing.ports import ReadingTables
from ingest_svc.billing.pricing import capacity_basis_at
from ingest_svc.billing.settlement import HOUR_MS

__all__ = ["TodayCost", "today_cost_eur"]


def _open_wh(conn: Connection, tables: ReadingTables, household_id: str, open_hour_ms: int) -> int:
    r, m = tables.readings.c, tables.meters.c
    total = 0
    for meter_id in conn.execute(select(m.meter_id).where(m.household_id == household_id)).scalars():
        latest = conn.execute(
            select(r.import_kwh, r.export_kwh).where(r.meter_id == meter_id).order_by(r.ts_ms.desc()).limit(1)
        ).first()
        if latest is None:
            continue
        mark = conn.execute(
            select(MeterMarkRow.import_wh, MeterMarkRow.export_wh).where(MeterMarkRow.meter_id == meter_id)
        ).first()
        base = (
            (int(mark.import_wh), int(mark.export_wh))
            if mark is not None
            else next(
                (
                    (kwh_to_wh(row.import_kwh), kwh_to_wh(row.export_kwh))
                    for row in conn.execute(
                        select(r.import_kwh, r.export_kwh)
                        .where(r.meter_id == meter_id, r.ts_ms < open_hour_ms)
                        .order_by(r.ts_ms.desc())
                        .limit(1)
                    )
                ),
                None,
            )
        )
        if base is None:
            continue
        total += (kwh_to_wh(latest.import_kwh) - base[0]) - (kwh_to_wh(latest.export_kwh) - base[1])
    return total


def today_cost_eur(
    engine: Engine, tables: ReadingTables, household_id: str, time_zone: str, now_ms: int, tariff: Tariff
) -> float:
    """Cost of the household's local day so far in EUR: settled hours plus the running hour."""
    tz = time_zone or LOCAL_TZ
    midnight = local_midnight_ms(now_ms, tz)
    s = SettlementRow.__table__.c
    with engine.connect() as conn:
        settled = conn.execute(
            select(func.coalesce(func.sum(s.total_cost_micro_eur), 0)).where(
                s.household_id == household_id, s.hour_start_ms >= midnight, s.priced.is_(True)
            )
        ).scalar_one()
        progress = conn.execute(
            select(
                HouseholdProgressRow.next_hour_ms, HouseholdProgressRow.predicted_p50_micro_eur_per_kwh
            ).where(HouseholdProgressRow.household_id == household_id)
        ).first()
        running = 0
        if progress is not None and progress.predicted_p50_micro_eur_per_kwh is not None:
            open_hour = int(progress.next_hour_ms)
            wh = _open_wh(conn, tables, household_id, open_hour)
            hour = max(open_hour, now_ms - now_ms % HOUR_MS)
            hours, days = local_hour_shares(from_ms(hour), tz)
            basis = capacity_basis_at(conn, household_id, hour, tz)
            spot_eur_mwh = micro_eur_per_kwh_to_eur_mwh(int(progress.predicted_p50_micro_eur_per_kwh))
            running = settle_hour_micro(tariff, wh, spot_eur_mwh, basis, hours, days).total_cost_micro_eur
    return micro_to_eur(int(settled) + running)


class TodayCost:
    """The cost-of-today query (GetHouseholdSummary's ``today_cost_eur``), bound to its store."""

    def __init__(self, engine: Engine, tables: ReadingTables, tariff: Tariff) -> None:
        self.engine = engine
        self.tables = tables
        self.tariff = tariff

    def today_cost_eur(self, household_id: str, time_zone: str, now_ms: int) -> float:
        """Sync (database work): call it from a worker thread."""
        return today_cost_eur(self.engine, self.tables, household_id, time_zone, now_ms, self.tariff)
