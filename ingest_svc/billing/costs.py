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
from ingest_svc.billing.pricing import capacity_basis_at
from ingest_svc.billing.settlement import HOUR_MS
from ingest_svc.intake.store import MeterRow, ReadingRow

__all__ = ["today_cost_eur"]

_R = ReadingRow.__table__.c


def _open_wh(conn: Connection, household_id: str, open_hour_ms: int) -> int:
    total = 0
    for meter_id in conn.execute(
        select(MeterRow.meter_id).where(MeterRow.household_id == household_id)
    ).scalars():
        latest = conn.execute(
            select(_R.import_kwh, _R.export_kwh)
            .where(_R.meter_id == meter_id)
            .order_by(_R.ts_ms.desc())
            .limit(1)
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
                    (kwh_to_wh(r.import_kwh), kwh_to_wh(r.export_kwh))
                    for r in conn.execute(
                        select(_R.import_kwh, _R.export_kwh)
                        .where(_R.meter_id == meter_id, _R.ts_ms < open_hour_ms)
                        .order_by(_R.ts_ms.desc())
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


def today_cost_eur(engine: Engine, household_id: str, time_zone: str, now_ms: int, tariff: Tariff) -> float:
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
            wh = _open_wh(conn, household_id, open_hour)
            hour = max(open_hour, now_ms - now_ms % HOUR_MS)
            hours, days = local_hour_shares(from_ms(hour), tz)
            basis = capacity_basis_at(conn, household_id, hour, tz)
            spot_eur_mwh = micro_eur_per_kwh_to_eur_mwh(int(progress.predicted_p50_micro_eur_per_kwh))
            running = settle_hour_micro(tariff, wh, spot_eur_mwh, basis, hours, days).total_cost_micro_eur
    return micro_to_eur(int(settled) + running)
