"""Today's bill of a household: its settled periods since local midnight, in the bill's currency.

Each settled period was priced once for the ledger (:mod:`.pricing`: every component of the NOK
bill, VAT included, in micro-units); today's cost is their sum, rounded once to the minor unit
(ore, half away from zero). Periods not settled yet are not in it: the running estimate is the
month projection's (GetMonthCost), never a second arithmetic. This replaces the retired EUR
model's ``today_cost_eur`` (settled hours plus the running hour at the forecast price, in EUR).
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from energy.localtime import LOCAL_TZ, local_midnight_ms
from energy.units import div_round
from ingest_svc.billing.bridge_store import SettlementRow

__all__ = ["MICRO_PER_MINOR", "TodayCost"]

MICRO_PER_MINOR = 10_000  # 1 ore = 10^4 micro-NOK


class TodayCost:
    """The cost-of-today query (GetHouseholdSummary's ``today_cost_minor``), bound to its store."""

    def __init__(self, engine: Engine, currency: str) -> None:
        self.engine = engine
        self.currency = currency

    def today_cost_minor(self, household_id: str, time_zone: str, now_ms: int) -> int:
        """Sync (database work): call it from a worker thread."""
        midnight = local_midnight_ms(now_ms, time_zone or LOCAL_TZ)
        s = SettlementRow.__table__.c
        with self.engine.connect() as conn:
            total = conn.execute(
                select(func.coalesce(func.sum(s.cost_micro), 0)).where(
                    s.household_id == household_id,
                    s.hour_start_ms >= midnight,
                    s.priced.is_(True),
                    s.currency == self.currency,
                )
            ).scalar_one()
        return div_round(int(total), MICRO_PER_MINOR)
