"""Pricing closed hours and queueing their SETTLEMENT records for the ledger.

The spot price comes from PredictionService.GetMarketPrices (one call per zone and page); the
arithmetic is predict_svc's own (:func:`energy.settlement.settle_hour_micro`), so a bill and a
forecast can never disagree on how money is computed. Pricing a row and enqueuing its ledger
append happen in one transaction guarded by ``priced = false``; the request id
``settlement:<household>:<hour>`` makes the append idempotent end to end.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.engine import Connection, Engine

from common import timestamps
from energy.localtime import from_ms, local_day, local_hour_shares
from energy.settlement import HourSettlement, settle_hour_micro
from energy.tariff import Tariff, capacity_basis_kw
from energy.units import wh_to_kwh
from energypulse.ledger.v1 import ledger_service_pb2, record_pb2
from ingest_svc.billing.bridge_store import DailyPeakRow, SettlementRow
from ingest_svc.billing.outbox import enqueue
from ingest_svc.billing.ports import Clock, PriceSource
from ingest_svc.billing.settlement import HOUR_MS, hourly_sums

__all__ = ["LEDGER_APPEND", "Pricer", "hour_iso", "period_price", "settlement_request"]

LEDGER_APPEND = "ledger.append"
_MAX_RANGE_MS = 30 * 24 * HOUR_MS  # GetMarketPrices serves at most 31 days per call


def hour_iso(hour_ms: int) -> str:
    return datetime.fromtimestamp(hour_ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Unpriced:
    household_id: str
    hour_start_ms: int  # the period start
    zone: str
    time_zone: str
    metered_wh: int
    period_ms: int = HOUR_MS
    meter_values: bytes | None = None  # signed values: a version-2 settlement


def period_price(prices: dict[tuple[str, int], float], zone: str, start_ms: int) -> float | None:
    """The spot price (EUR/MWh) of the period starting at ``start_ms``: the period's own price
    when the source has one, else the price of the hour it lies in (an hourly market price
    applies to each of the hour's quarters). The one place that decides it."""
    own = prices.get((zone, start_ms))
    return own if own is not None else prices.get((zone, start_ms - start_ms % HOUR_MS))


# The cost components of a version-2 record, in order (the bill's NOK components extend this).
_COMPONENTS = ("spot", "grid_energy", "capacity", "standing_charge", "vat")


def settlement_request(row: Unpriced, p: HourSettlement) -> ledger_service_pb2.AppendRecordsRequest:
    if row.meter_values is not None:
        return _signed_request(row, p)
    record = record_pb2.SettlementRecord(
        household_id=row.household_id,
        hour_start=timestamps.from_ms(row.hour_start_ms),
        metered_wh=p.metered_wh,
        spot_price_micro_eur_per_kwh=p.spot_price_micro_eur_per_kwh,
        spot_cost_micro_eur=p.spot_cost_micro_eur,
        grid_energy_cost_micro_eur=p.grid_energy_cost_micro_eur,
        capacity_cost_micro_eur=p.capacity_cost_micro_eur,
        standing_charge_micro_eur=p.standing_charge_micro_eur,
        vat_micro_eur=p.vat_micro_eur,
        total_cost_micro_eur=p.total_cost_micro_eur,
    )
    return ledger_service_pb2.AppendRecordsRequest(
        request_id=f"settlement:{row.household_id}:{hour_iso(row.hour_start_ms)}",
        records=[record_pb2.Record(settlement=record)],
    )


def _signed_request(row: Unpriced, p: HourSettlement) -> ledger_service_pb2.AppendRecordsRequest:
    """A version-2 (meter-signed, per settlement period) record (docs/ledger-spec.md §17)."""
    assert row.meter_values is not None
    signed = record_pb2.SettlementRecord.FromString(row.meter_values)
    amounts = (
        p.spot_cost_micro_eur,
        p.grid_energy_cost_micro_eur,
        p.capacity_cost_micro_eur,
        p.standing_charge_micro_eur,
        p.vat_micro_eur,
    )
    record = record_pb2.SettlementRecord(
        household_id=row.household_id,
        format_version=2,
        period_start=timestamps.from_ms(row.hour_start_ms),
        period_seconds=row.period_ms // 1000,
        metered_wh=p.metered_wh,
        spot_price_micro_eur_per_kwh=p.spot_price_micro_eur_per_kwh,
        total_cost_micro_eur=p.total_cost_micro_eur,
        currency="EUR",
        components=[
            record_pb2.CostComponent(name=n, amount_micro=a)
            for n, a in zip(_COMPONENTS, amounts, strict=True)
        ],
        meter_periods=signed.meter_periods,
    )
    return ledger_service_pb2.AppendRecordsRequest(
        request_id=f"settlement:{row.household_id}:{hour_iso(row.hour_start_ms)}",
        records=[record_pb2.Record(settlement=record)],
    )


def capacity_basis_at(conn: Connection, household_id: str, hour_ms: int, tz: str) -> float:
    """Top-three daily peaks of the hour's local month, counting only hours up to ``hour_ms``.

    Earlier days come from ``daily_peaks``; the hour's own day from its settled hours so far, so
    the basis of an hour does not depend on when it was priced.
    """
    day = local_day(hour_ms, tz)
    month_start = day[:8] + "01"
    peaks = [
        int(v)
        for v in conn.execute(
            select(DailyPeakRow.peak_wh).where(
                DailyPeakRow.household_id == household_id,
                DailyPeakRow.local_day >= month_start,
                DailyPeakRow.local_day < day,
            )
        ).scalars()
    ]
    # Hourly energy = the sum of the hour's settlement periods (quarters) settled up to ``hour_ms``.
    today = hourly_sums(conn, household_id, hour_ms - 26 * HOUR_MS + 1, hour_ms)
    same_day = [wh for h, wh in today.items() if local_day(h, tz) == day]
    if same_day:
        peaks.append(max(same_day))
    return capacity_basis_kw([wh_to_kwh(p) for p in peaks])  # Wh in one hour = mean kW


class Pricer:
    def __init__(
        self,
        engine: Engine,
        tariff: Tariff,
        prices: PriceSource,
        page_size: int = 500,
        clock: Clock = time.time,
    ) -> None:
        self.engine = engine
        self.tariff = tariff
        self.prices = prices
        self.page_size = page_size
        self._clock = clock

    def _unpriced(self) -> list[Unpriced]:
        s = SettlementRow.__table__.c
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(
                    s.household_id,
                    s.hour_start_ms,
                    s.zone,
                    s.time_zone,
                    s.metered_wh,
                    s.period_ms,
                    s.meter_values,
                )
                .where(s.priced.is_(False))
                .order_by(s.hour_start_ms, s.household_id)
                .limit(self.page_size)
            )
            return [
                Unpriced(
                    r[0], int(r[1]), r[2], r[3], int(r[4]), int(r[5]), None if r[6] is None else bytes(r[6])
                )
                for r in rows
            ]

    async def run_once(self) -> int:
        """Price one page of closed hours; returns how many were priced (0: nothing to do)."""
        rows = await asyncio.to_thread(self._unpriced)
        if not rows:
            return 0
        by_zone: dict[str, list[Unpriced]] = defaultdict(list)
        for row in rows:
            by_zone[row.zone].append(row)
        prices: dict[tuple[str, int], float] = {}
        for zone, items in by_zone.items():
            start = min(r.hour_start_ms for r in items)
            start -= start % HOUR_MS
            end = max(r.hour_start_ms for r in items) + HOUR_MS
            for chunk in range(start, end, _MAX_RANGE_MS):
                found = await self.prices.market_prices(zone, chunk, min(end, chunk + _MAX_RANGE_MS))
                prices.update({(zone, h): v for h, v in found.items()})
        return await asyncio.to_thread(self._apply, rows, prices)

    def _apply(self, rows: Sequence[Unpriced], prices: dict[tuple[str, int], float]) -> int:
        priced = 0
        now_ms = int(self._clock() * 1000)
        with self.engine.begin() as conn:
            for row in rows:
                spot = period_price(prices, row.zone, row.hour_start_ms)
                if spot is None:
                    continue  # not cleared yet (or no data): retried on a later pass
                hour_ms = row.hour_start_ms - row.hour_start_ms % HOUR_MS
                hours, days = local_hour_shares(from_ms(hour_ms), row.time_zone)
                basis = capacity_basis_at(conn, row.household_id, row.hour_start_ms, row.time_zone)
                # A period carries its share of the day's standing and the month's capacity charge.
                periods = hours * (HOUR_MS // row.period_ms)
                parts = settle_hour_micro(self.tariff, row.metered_wh, spot, basis, periods, days)
                done = conn.execute(
                    update(SettlementRow)
                    .where(
                        SettlementRow.household_id == row.household_id,
                        SettlementRow.hour_start_ms == row.hour_start_ms,
                        SettlementRow.priced.is_(False),
                    )
                    .values(
                        priced=True,
                        spot_price_micro_eur_per_kwh=parts.spot_price_micro_eur_per_kwh,
                        spot_cost_micro_eur=parts.spot_cost_micro_eur,
                        grid_energy_cost_micro_eur=parts.grid_energy_cost_micro_eur,
                        capacity_cost_micro_eur=parts.capacity_cost_micro_eur,
                        standing_charge_micro_eur=parts.standing_charge_micro_eur,
                        vat_micro_eur=parts.vat_micro_eur,
                        total_cost_micro_eur=parts.total_cost_micro_eur,
                    )
                ).rowcount
                if done != 1:
                    continue  # another replica priced it in the meantime
                request = settlement_request(row, parts)
                enqueue(conn, LEDGER_APPEND, request.request_id, request.SerializeToString(), now_ms)
                priced += 1
        return priced
