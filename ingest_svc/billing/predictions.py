"""Hourly forecasts: one PredictBatch call per page of households, PREDICTION records to the ledger.

A *round* is keyed by the data hour (floor of the readings watermark). Each household is asked
for at most once per round (``predicted_round_ms``) and recorded at most once per forecast target
hour: the row update ``WHERE predicted_target_ms < :target ... RETURNING household_id`` picks
exactly the households not yet recorded for that target, and the outbox row (one
AppendRecords per page and target, request id derived from the target and the household ids)
is written in that same transaction.

A forecast cannot be made after the fact: while predict_svc is down, rounds are retried (with
backoff) and the hours that passed meanwhile simply have no forecast. Everything that *was*
forecast reaches the ledger through the outbox.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

from sqlalchemy import Table, func, select, update
from sqlalchemy.engine import Connection, Engine

from common.timestamps import from_ms
from energy.localtime import local_day
from energy.units import eur_mwh_to_micro_eur_per_kwh, kwh_to_wh, wh_to_kwh
from energy.zones import DEFAULT_ZONE
from energypulse.ledger.v1 import ledger_service_pb2, record_pb2
from energypulse.prediction.v1 import forecast_pb2, prediction_service_pb2
from ingest_svc.billing.bridge_store import DailyPeakRow, HouseholdProgressRow, SettlementRow
from ingest_svc.billing.outbox import enqueue
from ingest_svc.billing.ports import Clock, ForecastSource, ReadingTables
from ingest_svc.billing.pricing import LEDGER_APPEND, hour_iso
from ingest_svc.billing.settlement import HOUR_MS, watermark

__all__ = ["Forecaster"]

_PROGRESS = cast(Table, HouseholdProgressRow.__table__)


@dataclass(frozen=True)
class _Page:
    round_ms: int
    inputs: list[forecast_pb2.HouseholdInput]


def _micro(eur: float) -> int:
    return round(eur * 1_000_000)


class Forecaster:
    def __init__(
        self,
        engine: Engine,
        tables: ReadingTables,
        forecasts: ForecastSource,
        batch_size: int = 2000,
        clock: Clock = time.time,
    ) -> None:
        self.engine = engine
        self.tables = tables
        self.forecasts = forecasts
        self.batch_size = batch_size
        self._clock = clock

    async def run_once(self) -> int:
        """Forecast one page of households due this round; returns records queued (-1: nothing due)."""
        page = await asyncio.to_thread(self._next_page)
        if page is None or not page.inputs:
            return -1
        request = prediction_service_pb2.PredictBatchRequest(households=page.inputs)
        response = await self.forecasts.predict_batch(request)
        return await asyncio.to_thread(self._record, page, response.predictions)

    # --- inputs ---------------------------------------------------------------------------
    def _next_page(self) -> _Page | None:
        p = HouseholdProgressRow.__table__.c
        h = self.tables.households.c
        with self.engine.connect() as conn:
            mark = watermark(conn, self.tables.readings)
            if mark is None:
                return None
            round_ms = mark - mark % HOUR_MS
            rows = list(
                conn.execute(
                    select(
                        h.household_id,
                        h.zone,
                        h.time_zone,
                        h.residents,
                        h.heating,
                        h.has_ev,
                        h.has_solar,
                        h.grid_company,
                        h.municipality,
                        h.price_scheme,
                        h.dwelling,
                        h.supplier_markup_micro_per_kwh,
                        h.supplier_fee_nano_per_month,
                    )
                    .join(HouseholdProgressRow, p.household_id == h.household_id)
                    .where(p.predicted_round_ms < round_ms)
                    .order_by(h.household_id)
                    .limit(self.batch_size)
                )
            )
            if not rows:
                return _Page(round_ms, [])
            ids = [r.household_id for r in rows]
            recent = self._recent_kw(conn, ids, round_ms)
            peaks = self._month_peaks(conn, {str(r.household_id): str(r.time_zone) for r in rows}, round_ms)
        inputs = [
            forecast_pb2.HouseholdInput(
                household_id=r.household_id,
                zone=(r.zone or DEFAULT_ZONE).upper(),
                recent_hourly_kw=recent.get(r.household_id, []),
                residents=r.residents,
                heating=r.heating,
                has_ev=r.has_ev,
                has_solar=r.has_solar,
                daily_peaks_kw=peaks.get(r.household_id, []),
                # the registered contract: predict_svc bills the forecast by it (energy.bill)
                contract=forecast_pb2.BillContract(
                    grid_company=r.grid_company or "",
                    municipality=r.municipality or "",
                    price_scheme=r.price_scheme or "",
                    dwelling=r.dwelling or "",
                    supplier_markup_micro_per_kwh=r.supplier_markup_micro_per_kwh,
                    supplier_fee_nano_per_month=r.supplier_fee_nano_per_month,
                ),
            )
            for r in rows
        ]
        return _Page(round_ms, inputs)

    def _recent_kw(self, conn: Connection, ids: Sequence[str], round_ms: int) -> dict[str, list[float]]:
        """Mean kW of the last 24 settled hours (Wh / 1000), oldest first; else the current power."""
        s = SettlementRow.__table__.c
        found: dict[str, list[tuple[int, float]]] = defaultdict(list)
        for household_id, hour, wh in conn.execute(
            select(s.household_id, s.hour_start_ms, s.metered_wh).where(
                s.household_id.in_(list(ids)), s.hour_start_ms >= round_ms - 24 * HOUR_MS
            )
        ):
            found[household_id].append((int(hour), wh_to_kwh(int(wh))))
        out = {h: [kw for _, kw in sorted(v)] for h, v in found.items()}
        missing = [h for h in ids if h not in out]
        if missing:
            # Not one settled hour yet: the latest power of each meter, summed per household.
            readings, meters = self.tables.readings, self.tables.meters
            r, m = readings.c, meters.c
            latest = (
                select(r.meter_id, func.max(r.seq).label("seq"))
                .where(r.meter_id.in_(select(m.meter_id).where(m.household_id.in_(missing))))
                .group_by(r.meter_id)
                .subquery()
            )
            stmt = (
                select(m.household_id, func.sum(r.power_w))
                .select_from(latest)
                .join(readings, (r.meter_id == latest.c.meter_id) & (r.seq == latest.c.seq))
                .join(meters, m.meter_id == latest.c.meter_id)
                .group_by(m.household_id)
            )
            for household_id, watts in conn.execute(stmt):
                out[household_id] = [wh_to_kwh(float(watts))]
        return out

    @staticmethod
    def _month_peaks(conn: Connection, time_zones: dict[str, str], round_ms: int) -> dict[str, list[float]]:
        """Daily peaks (kW) so far in the round's local month, per household {id: time zone}."""
        month_start = {h: local_day(round_ms, tz)[:8] + "01" for h, tz in time_zones.items()}
        earliest = min(month_start.values())
        out: dict[str, list[float]] = defaultdict(list)
        for household_id, day, wh in conn.execute(
            select(DailyPeakRow.household_id, DailyPeakRow.local_day, DailyPeakRow.peak_wh)
            .where(DailyPeakRow.household_id.in_(list(month_start)), DailyPeakRow.local_day >= earliest)
            .order_by(DailyPeakRow.local_day)
        ):
            if day >= month_start[household_id]:
                out[household_id].append(wh_to_kwh(int(wh)))
        return out

    # --- results --------------------------------------------------------------------------
    def _record(self, page: _Page, predictions: Sequence[forecast_pb2.HouseholdPrediction]) -> int:
        now_ms = int(self._clock() * 1000)
        zones = {i.household_id: i.zone for i in page.inputs}
        # One group per (target hour, zone): the zone's price quantiles are shared by its households.
        groups: dict[tuple[int, str], list[forecast_pb2.HouseholdPrediction]] = defaultdict(list)
        for pred in predictions:
            target = pred.hour_start.seconds * 1000
            groups[(target, zones.get(pred.household_id, DEFAULT_ZONE))].append(pred)
        queued = 0
        p = HouseholdProgressRow.__table__.c
        with self.engine.begin() as conn:
            conn.execute(
                update(_PROGRESS)
                .where(p.household_id.in_(list(zones)), p.predicted_round_ms < page.round_ms)
                .values(predicted_round_ms=page.round_ms)
            )
            for (target, zone), preds in sorted(groups.items()):
                p50 = eur_mwh_to_micro_eur_per_kwh(preds[0].price.p50_eur_mwh)
                fresh = set(
                    conn.execute(
                        update(_PROGRESS)
                        .where(
                            p.household_id.in_([x.household_id for x in preds]),
                            p.predicted_target_ms < target,
                        )
                        .values(predicted_target_ms=target, predicted_p50_micro_eur_per_kwh=p50)
                        .returning(p.household_id)
                    ).scalars()
                )
                chosen = sorted((x for x in preds if x.household_id in fresh), key=lambda x: x.household_id)
                if not chosen:
                    continue
                request = self._request(target, zone, chosen, now_ms)
                enqueue(conn, LEDGER_APPEND, request.request_id, request.SerializeToString(), now_ms)
                queued += len(chosen)
        return queued

    @staticmethod
    def _request(
        target: int, zone: str, preds: Sequence[forecast_pb2.HouseholdPrediction], now_ms: int
    ) -> ledger_service_pb2.AppendRecordsRequest:
        created = from_ms(now_ms)
        records = []
        for x in preds:
            p10, p50, p90 = sorted(
                eur_mwh_to_micro_eur_per_kwh(v)
                for v in (x.price.p10_eur_mwh, x.price.p50_eur_mwh, x.price.p90_eur_mwh)
            )
            records.append(
                record_pb2.Record(
                    prediction=record_pb2.PredictionRecord(
                        household_id=x.household_id,
                        zone=zone,
                        target_hour=from_ms(target),
                        price_p10_micro_eur_per_kwh=p10,
                        price_p50_micro_eur_per_kwh=p50,
                        price_p90_micro_eur_per_kwh=p90,
                        consumption_wh=kwh_to_wh(x.consumption_kwh),
                        cost_micro_eur=_micro(x.cost_p50_eur),  # the bill's P50 cost at the day's EUR rate
                        model_version=x.model_version,
                        create_time=created,
                    )
                )
            )
        digest = hashlib.sha256("\n".join(x.household_id for x in preds).encode()).hexdigest()[:32]
        return ledger_service_pb2.AppendRecordsRequest(
            request_id=f"prediction:{hour_iso(target)}:{zone}:{digest}", records=records
        )
