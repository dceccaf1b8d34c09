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
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import cast

from google.protobuf.timestamp_pb2 import Timestamp
from sqlalchemy import Table, func, select, update
from sqlalchemy.engine import Connection, Engine

from energy.localtime import local_day
from energy.units import eur_mwh_to_micro_eur_per_kwh, kwh_to_wh, wh_to_kwh
from energy.zones import DEFAULT_ZONE
from energypulse.ledger.v1 import ledger_service_pb2, record_pb2
from energypulse.prediction.v1 import forecast_pb2, prediction_service_pb2
from ingest_svc.billing.bridge_store import DailyPeakRow, HouseholdProgressRow, SettlementRow
from ingest_svc.billing.outbox import enqueue
from ingest_svc.billing.pricing import LEDGER_APPEND, hour_iso
from ingest_svc.billing.settlement import HOUR_MS, watermark
from ingest_svc.intake.store import HouseholdRow, MeterRow, ReadingRow

__all__ = ["Forecaster", "PredictBatchCall"]

PredictBatchCall = Callable[
    [prediction_service_pb2.PredictBatchRequest], Awaitable[prediction_service_pb2.PredictBatchResponse]
]
_R = ReadingRow.__table__.c
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
        predict: PredictBatchCall,
        batch_size: int = 2000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.engine = engine
        self.predict = predict
        self.batch_size = batch_size
        self._clock = clock

    async def run_once(self) -> int:
        """Forecast one page of households due this round; returns records queued (-1: nothing due)."""
        page = await asyncio.to_thread(self._next_page)
        if page is None or not page.inputs:
            return -1
        response = await self.predict(prediction_service_pb2.PredictBatchRequest(households=page.inputs))
        return await asyncio.to_thread(self._record, page, response.predictions)

    # --- inputs ---------------------------------------------------------------------------
    def _next_page(self) -> _Page | None:
        p = HouseholdProgressRow.__table__.c
        with self.engine.connect() as conn:
            mark = watermark(conn)
            if mark is None:
                return None
            round_ms = mark - mark % HOUR_MS
            rows = list(
                conn.execute(
                    select(
                        HouseholdRow.household_id,
                        HouseholdRow.zone,
                        HouseholdRow.time_zone,
                        HouseholdRow.residents,
                        HouseholdRow.heating,
                        HouseholdRow.has_ev,
                        HouseholdRow.has_solar,
                    )
                    .join(
                        HouseholdProgressRow, HouseholdProgressRow.household_id == HouseholdRow.household_id
                    )
                    .where(p.predicted_round_ms < round_ms)
                    .order_by(HouseholdRow.household_id)
                    .limit(self.batch_size)
                )
            )
            if not rows:
                return _Page(round_ms, [])
            ids = [r.household_id for r in rows]
            recent = self._recent_kw(conn, ids, round_ms)
            peaks = self._month_peaks(conn, rows, round_ms)
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
            )
            for r in rows
        ]
        return _Page(round_ms, inputs)

    @staticmethod
    def _recent_kw(conn: Connection, ids: Sequence[str], round_ms: int) -> dict[str, list[float]]:
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
            latest = (
                select(_R.meter_id, func.max(_R.seq).label("seq"))
                .where(_R.meter_id.in_(select(MeterRow.meter_id).where(MeterRow.household_id.in_(missing))))
                .group_by(_R.meter_id)
                .subquery()
            )
            stmt = (
                select(MeterRow.household_id, func.sum(_R.power_w))
                .select_from(latest)
                .join(ReadingRow.__table__, (_R.meter_id == latest.c.meter_id) & (_R.seq == latest.c.seq))
                .join(MeterRow, MeterRow.meter_id == latest.c.meter_id)
                .group_by(MeterRow.household_id)
            )
            for household_id, watts in conn.execute(stmt):
                out[household_id] = [wh_to_kwh(float(watts))]
        return out

    @staticmethod
    def _month_peaks(conn: Connection, rows: Sequence[object], round_ms: int) -> dict[str, list[float]]:
        month_start: dict[str, str] = {}
        for r in rows:
            month_start[r.household_id] = local_day(round_ms, r.time_zone)[:8] + "01"  # type: ignore[attr-defined]
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
        created = Timestamp()
        created.FromMilliseconds(now_ms)
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
                        target_hour=Timestamp(seconds=target // 1000),
                        price_p10_micro_eur_per_kwh=p10,
                        price_p50_micro_eur_per_kwh=p50,
                        price_p90_micro_eur_per_kwh=p90,
                        consumption_wh=kwh_to_wh(x.consumption_kwh),
                        cost_micro_eur=_micro(x.cost_p50_eur),
                        model_version=x.model_version,
                        create_time=created,
                    )
                )
            )
        digest = hashlib.sha256("\n".join(x.household_id for x in preds).encode()).hexdigest()[:32]
        return ledger_service_pb2.AppendRecordsRequest(
            request_id=f"prediction:{hour_iso(target)}:{zone}:{digest}", records=records
        )
