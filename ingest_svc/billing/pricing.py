"""Pricing closed periods and queueing their SETTLEMENT records for the ledger.

The spot price comes from PredictionService.GetMarketPrices (one call per zone and page).

* A meter-signed period (version-2 record) is priced with the household's bill
  (:func:`energy.bill.period.price_hour`: the month bill's own arithmetic on the period's clock
  hour, in the rule set's currency, NOK): the record carries ``currency`` and the bill's parts as
  ``components`` (spot energy, supplier markup and fee share, grid energy, capacity share,
  elavgift, Enova, stromstotte, Norgespris, export credit, VAT), whose sum is its total. Periods of
  the same clock hour, grid company and location are priced in one batch.
* A legacy hour (version-1 record, "legacy: not meter-signed": a meter that does not sign) is
  priced by the same bill: its version-1 record carries that bill in the format's five fixed parts
  and its currency, micro-EUR (:func:`energy.bill.period.version1_parts`: the components summed
  per part, converted at the day's EUR/NOK). The household's bill is the NOK month bill all the
  same (:mod:`.month_cost` bills every settled period by the rule set).

Pricing a row and enqueuing its ledger append happen in one transaction guarded by
``priced = false``; the request id ``settlement:<household>:<period>`` makes the append
idempotent end to end.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import bindparam, case, func, select, tuple_, update
from sqlalchemy.engine import Connection, Engine

from common import timestamps
from common.log import get_logger
from energy.fx import MissingFxRate
from energy.localtime import LOCAL_TZ, from_ms, local_day
from energy.localtime import zone as tz_zone
from energy.ratebook import RateGapError, UnknownGridCompany
from energypulse.ledger.v1 import ledger_service_pb2, record_pb2
from ingest_svc.billing.bridge_store import DailyPeakRow, SettlementRow
from ingest_svc.billing.outbox import LEDGER_APPEND, enqueue_many
from ingest_svc.billing.ports import Clock, PriceSource, ReadingTables
from ingest_svc.billing.rules import BillRules, default_bill_rules, household_contracts
from ingest_svc.billing.settlement import HOUR_MS, hourly_sums

if TYPE_CHECKING:
    from energy.bill import Contract
    from energy.bill.period import PeriodCost, Version1Parts

__all__ = ["LEDGER_APPEND", "Pricer", "hour_iso", "period_price", "settlement_request", "signed_request"]

log = get_logger(__name__)

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


def settlement_request(
    row: Unpriced, spot_micro_eur_per_kwh: int, p: Version1Parts
) -> ledger_service_pb2.AppendRecordsRequest:
    """The version-1 (legacy, hourly, micro-EUR) record of an hour."""
    record = record_pb2.SettlementRecord(
        household_id=row.household_id,
        hour_start=timestamps.from_ms(row.hour_start_ms),
        metered_wh=row.metered_wh,
        spot_price_micro_eur_per_kwh=spot_micro_eur_per_kwh,
        spot_cost_micro_eur=p.spot_cost,
        grid_energy_cost_micro_eur=p.grid_energy_cost,
        capacity_cost_micro_eur=p.capacity_cost,
        standing_charge_micro_eur=p.standing_charge,
        vat_micro_eur=p.vat,
        total_cost_micro_eur=p.total,
    )
    return ledger_service_pb2.AppendRecordsRequest(
        request_id=f"settlement:{row.household_id}:{hour_iso(row.hour_start_ms)}",
        records=[record_pb2.Record(settlement=record)],
    )


def signed_request(row: Unpriced, cost: PeriodCost) -> ledger_service_pb2.AppendRecordsRequest:
    """A version-2 (meter-signed, per settlement period) record with the bill's components in
    the rule set's currency (docs/ledger-spec.md §17.2)."""
    assert row.meter_values is not None
    signed = record_pb2.SettlementRecord.FromString(row.meter_values)
    record = record_pb2.SettlementRecord(
        household_id=row.household_id,
        format_version=2,
        period_start=timestamps.from_ms(row.hour_start_ms),
        period_seconds=row.period_ms // 1000,
        metered_wh=row.metered_wh,
        spot_price_micro_eur_per_kwh=cost.spot_micro_per_kwh,
        total_cost_micro_eur=cost.total_micro,
        currency=cost.currency,
        components=[record_pb2.CostComponent(name=n, amount_micro=a) for n, a in cost.components],
        meter_periods=signed.meter_periods,
    )
    return ledger_service_pb2.AppendRecordsRequest(
        request_id=f"settlement:{row.household_id}:{hour_iso(row.hour_start_ms)}",
        records=[record_pb2.Record(settlement=record)],
    )


def month_peaks_wh(conn: Connection, household_id: str, hour_ms: int, tz: str) -> list[int]:
    """Daily hourly peaks (Wh) of the hour's local month, counting only hours up to ``hour_ms``.

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
    return peaks


def month_imports_before(conn: Connection, household_id: str, start_ms: int) -> int:
    """Imported Wh of the household's priced periods of ``start_ms``'s local month before it
    (what the support and Norgespris volume caps have counted so far)."""
    s = SettlementRow.__table__.c
    tz = tz_zone(LOCAL_TZ)
    local = from_ms(start_ms).astimezone(tz)
    month_start = int(datetime(local.year, local.month, 1, tzinfo=tz).timestamp() * 1000)
    value = conn.execute(
        select(func.coalesce(func.sum(case((s.metered_wh > 0, s.metered_wh), else_=0)), 0)).where(
            s.household_id == household_id,
            s.priced.is_(True),
            s.hour_start_ms >= month_start,
            s.hour_start_ms < start_ms,
        )
    ).scalar_one()
    return int(value)


@dataclass(frozen=True)
class _HourState:
    """What the periods of one clock hour need from the month so far, read in three queries for
    all its households (instead of three per period): the same figures as
    :func:`month_imports_before` and :func:`month_peaks_wh` (tests/ingest_svc/billing/test_pricing.py)."""

    imports_before_hour: dict[str, int]  # priced imports of the month before the hour
    earlier_peaks: dict[str, list[tuple[str, int]]]  # (local day, peak Wh) of daily_peaks rows
    window: dict[str, list[tuple[int, int, bool]]]  # (start, Wh, priced) from hour - 26 h to its end

    @staticmethod
    def read(conn: Connection, households: list[str], hour_ms: int) -> _HourState:
        s = SettlementRow.__table__.c
        tz = tz_zone(LOCAL_TZ)
        local = from_ms(hour_ms).astimezone(tz)
        month_start = int(datetime(local.year, local.month, 1, tzinfo=tz).timestamp() * 1000)
        imports = {
            str(h): int(v)
            for h, v in conn.execute(
                select(s.household_id, func.sum(case((s.metered_wh > 0, s.metered_wh), else_=0)))
                .where(
                    s.household_id.in_(households),
                    s.priced.is_(True),
                    s.hour_start_ms >= month_start,
                    s.hour_start_ms < hour_ms,
                )
                .group_by(s.household_id)
            )
        }
        peaks: dict[str, list[tuple[str, int]]] = defaultdict(list)
        first_day = from_ms(month_start - 12 * HOUR_MS).astimezone(tz).date().isoformat()  # any tz's month
        for h, day, wh in conn.execute(
            select(DailyPeakRow.household_id, DailyPeakRow.local_day, DailyPeakRow.peak_wh).where(
                DailyPeakRow.household_id.in_(households), DailyPeakRow.local_day >= first_day
            )
        ):
            peaks[str(h)].append((str(day), int(wh)))
        window: dict[str, list[tuple[int, int, bool]]] = defaultdict(list)
        for h, start, wh, priced in conn.execute(
            select(s.household_id, s.hour_start_ms, s.metered_wh, s.priced).where(
                s.household_id.in_(households),
                s.hour_start_ms > hour_ms - 26 * HOUR_MS,
                s.hour_start_ms < hour_ms + HOUR_MS,
            )
        ):
            window[str(h)].append((int(start), int(wh), bool(priced)))
        return _HourState(imports, peaks, window)

    def imports_before(self, household_id: str, start_ms: int) -> int:
        hour = start_ms - start_ms % HOUR_MS
        return self.imports_before_hour.get(household_id, 0) + sum(
            max(wh, 0)
            for t, wh, priced in self.window.get(household_id, [])
            if priced and hour <= t < start_ms
        )

    def peaks(self, household_id: str, start_ms: int, tz: str) -> tuple[int, ...]:
        day = local_day(start_ms, tz)
        month_start = day[:8] + "01"
        out = [wh for d, wh in self.earlier_peaks.get(household_id, []) if month_start <= d < day]
        hourly: dict[int, int] = {}
        for t, wh, _priced in self.window.get(household_id, []):
            if t <= start_ms:
                hourly[t - t % HOUR_MS] = hourly.get(t - t % HOUR_MS, 0) + wh
        same_day = [wh for h, wh in hourly.items() if local_day(h, tz) == day]
        if same_day:
            out.append(max(same_day))
        return tuple(out)


class Pricer:
    def __init__(
        self,
        engine: Engine,
        prices: PriceSource,
        page_size: int = 500,
        clock: Clock = time.time,
        *,
        tables: ReadingTables,
        rules: BillRules | None = None,
    ) -> None:
        self.engine = engine
        self.prices = prices
        self.page_size = page_size
        self._clock = clock
        self.rules = rules or default_bill_rules()
        self.tables = tables  # the households table: each household's contract

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
            by_hour: dict[int, list[Unpriced]] = defaultdict(list)
            for row in rows:
                by_hour[row.hour_start_ms - row.hour_start_ms % HOUR_MS].append(row)
            contracts: dict[str, Contract] = {}
            for hour in sorted(by_hour):  # in time order: a period's caps count the ones before it
                priced += self._apply_hour(conn, hour, by_hour[hour], prices, contracts, now_ms)
        return priced

    def _apply_hour(
        self,
        conn: Connection,
        hour_ms: int,
        rows: list[Unpriced],
        prices: dict[tuple[str, int], float],
        contracts: dict[str, Contract],
        now_ms: int,
    ) -> int:
        """Price the periods of one clock hour in the bill's currency, batched by zone, period
        length, grid company and location (one calendar each); a legacy hour is one 60-minute
        period (its version-1 record keeps the format's EUR parts, :meth:`_legacy_request`)."""
        from energy.bill.period import PeriodRow, price_hour

        book = self.rules.book
        groups: dict[tuple[str, int, str, bool, bool], list[tuple[Unpriced, PeriodRow]]] = defaultdict(list)
        hour_rows: dict[tuple[str, int], list[float]] = {}
        ids = sorted({r.household_id for r in rows})
        contracts.update(
            household_contracts(conn, self.tables, self.rules, [i for i in ids if i not in contracts])
        )
        for missing in sorted(set(ids) - set(contracts)):
            log.error("period_unpriceable", household_id=missing, error="household is not registered")
        state = _HourState.read(conn, ids, hour_ms)
        for row in sorted(rows, key=lambda r: (r.household_id, r.hour_start_ms)):
            key = (row.zone, row.period_ms)
            if key not in hour_rows:
                found = [
                    period_price(prices, row.zone, t)
                    for t in range(hour_ms, hour_ms + HOUR_MS, row.period_ms)
                ]
                hour_rows[key] = [p for p in found if p is not None] if None not in found else []
            if not hour_rows[key]:
                continue  # the hour's prices are not all cleared yet: retried on a later pass
            c = contracts.get(row.household_id)
            if c is None:
                continue  # not registered (any more): nothing to bill it by; logged below
            earlier = sum(
                max(r.metered_wh, 0)
                for r, _ in groups.get(self._group(row, c), [])
                if r.household_id == row.household_id
            )
            period = PeriodRow(
                start_ms=row.hour_start_ms,
                net_wh=row.metered_wh,
                contract=c,
                cap_used_wh=state.imports_before(row.household_id, row.hour_start_ms) + earlier,
                peaks_wh=state.peaks(row.household_id, row.hour_start_ms, row.time_zone),
            )
            groups[self._group(row, c)].append((row, period))
        done: list[tuple[Unpriced, PeriodCost, int]] = []
        for (zone_, period_ms, grid, _vat, _el), items in groups.items():
            try:
                costs = price_hour(
                    book,
                    self.rules.fx,
                    grid,
                    items[0][1].contract.municipality,
                    hour_ms,
                    period_ms,
                    hour_rows[(zone_, period_ms)],
                    [p for _, p in items],
                    self.rules.support_period,
                )
            except (UnknownGridCompany, RateGapError, MissingFxRate) as exc:
                # never a silent zero: the periods stay unpriced (retried) and the reason is logged
                log.error("period_unpriceable", hour_ms=hour_ms, grid_company=grid, error=str(exc))
                continue
            for (row, _period), cost in zip(items, costs, strict=True):
                spot_micro_eur = round(
                    hour_rows[(zone_, period_ms)][(row.hour_start_ms - hour_ms) // period_ms] * 1000
                )
                done.append((row, cost, spot_micro_eur))
        return self._write_priced(conn, done, now_ms)

    def _write_priced(
        self, conn: Connection, done: list[tuple[Unpriced, PeriodCost, int]], now_ms: int
    ) -> int:
        """Mark the hour's priced periods and queue their ledger appends (in the caller's
        transaction), a statement per table for all of them: the guard ``priced = false`` claims
        the rows first (locked in key order on PostgreSQL, so two replicas never deadlock); a row
        another replica priced in the meantime is left to it."""
        if not done:
            return 0
        s = SettlementRow.__table__.c
        guard = (
            tuple_(s.household_id, s.hour_start_ms).in_(
                sorted((r.household_id, r.hour_start_ms) for r, _, _ in done)
            ),
            s.priced.is_(False),
        )
        list(
            conn.execute(
                select(s.household_id)
                .where(*guard)
                .order_by(s.household_id, s.hour_start_ms)
                .with_for_update()
            )
        )
        claimed = {
            (str(h), int(t))
            for h, t in conn.execute(
                update(SettlementRow)
                .where(*guard)
                .values(priced=True)
                .returning(s.household_id, s.hour_start_ms)
            )
        }
        mine = [item for item in done if (item[0].household_id, item[0].hour_start_ms) in claimed]
        if not mine:
            return 0
        conn.execute(
            update(SettlementRow)
            .where(s.household_id == bindparam("k_h"), s.hour_start_ms == bindparam("k_t"))
            .values(
                spot_price_micro_eur_per_kwh=bindparam("k_spot"),  # the market's EUR price
                currency=bindparam("k_currency"),
                cost_micro=bindparam("k_cost"),
                cost_components=bindparam("k_components"),
            ),
            [
                {
                    "k_h": row.household_id,
                    "k_t": row.hour_start_ms,
                    "k_spot": spot,
                    "k_currency": cost.currency,
                    "k_cost": cost.total_micro,
                    "k_components": json.dumps([list(c) for c in cost.components]),
                }
                for row, cost, spot in mine
            ],
        )
        calls: list[tuple[str, bytes]] = []
        for row, cost, spot in mine:
            request = (
                signed_request(row, cost)
                if row.meter_values is not None
                else self._legacy_request(conn, row, cost, spot)
            )
            calls.append((request.request_id, request.SerializeToString()))
        enqueue_many(conn, LEDGER_APPEND, calls, now_ms)
        return len(mine)

    def _group(self, row: Unpriced, c: Contract) -> tuple[str, int, str, bool, bool]:
        loc = self.rules.book.location
        return (
            row.zone,
            row.period_ms,
            c.grid_company,
            loc.vat_exempt(c.municipality),
            loc.elavgift_exempt(c.municipality),
        )

    def _legacy_request(
        self, conn: Connection, row: Unpriced, cost: PeriodCost, spot_micro_eur: int
    ) -> ledger_service_pb2.AppendRecordsRequest:
        """The version-1 record of a legacy hour: the period's bill in the format's five parts,
        micro-EUR (:func:`energy.bill.period.version1_parts`, at the day's EUR/NOK)."""
        from energy.bill.period import version1_parts

        day = from_ms(row.hour_start_ms).astimezone(tz_zone(LOCAL_TZ)).date()
        rate = Decimal(1) if cost.currency == "EUR" else self.rules.fx.rate_on(day)
        parts = version1_parts(cost, rate)
        conn.execute(
            update(SettlementRow)
            .where(
                SettlementRow.household_id == row.household_id,
                SettlementRow.hour_start_ms == row.hour_start_ms,
            )
            .values(
                spot_cost_micro_eur=parts.spot_cost,
                grid_energy_cost_micro_eur=parts.grid_energy_cost,
                capacity_cost_micro_eur=parts.capacity_cost,
                standing_charge_micro_eur=parts.standing_charge,
                vat_micro_eur=parts.vat,
                total_cost_micro_eur=parts.total,
            )
        )
        return settlement_request(row, spot_micro_eur, parts)
