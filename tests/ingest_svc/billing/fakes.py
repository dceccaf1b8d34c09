"""Fakes for billing's ports, and a store with readings written straight into SQLite."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from google.protobuf.timestamp_pb2 import Timestamp
from sqlalchemy.engine import Engine

from common.db import make_engine
from energypulse.ledger.v1 import ledger_service_pb2
from energypulse.prediction.v1 import forecast_pb2, prediction_service_pb2
from ingest_svc.app import migrate
from ingest_svc.billing import DeliveryFailed, DeliveryRejected
from ingest_svc.billing.settlement import Settler
from ingest_svc.intake.store import READING_TABLES, ReadingStore, register_households
from ingest_svc.intake.validation import Reading

HOUR_MS = 3_600_000
H0 = 1_767_225_600_000  # 2026-01-01T00:00Z, 01:00 in Oslo: one local day for the hours below
STEP_MS = 300_000


class Clock:
    """Wall clock the test moves (outbox retries, row stamps)."""

    def __init__(self, now_s: float = H0 / 1000 + 5 * 3600) -> None:
        self.now = now_s

    def __call__(self) -> float:
        return self.now


def store(tmp_path: Path) -> Engine:
    url = f"sqlite:///{tmp_path / 'billing.db'}"
    migrate(url)
    return make_engine(url)


def household(household_id: str, meters: list[str], zone: str = "NO1") -> dict[str, object]:
    return {
        "household_id": household_id,
        "display_name": "",
        "zone": zone,
        "time_zone": "Europe/Oslo",
        "residents": 2,
        "heating": "heat_pump",
        "has_ev": False,
        "has_solar": False,
        "meter_ids": meters,
    }


def write_readings(
    engine: Engine, meter_id: str, steps: range, kwh_per_step: float, start_seq: int = 0
) -> None:
    """One reading per 5 minutes from H0 (step k at H0 + k x 5 min), import growing linearly."""
    rows = [
        (
            Reading(
                meter_id,
                start_seq + k,
                H0 + k * STEP_MS,
                230.0,
                kwh_per_step * 12_000 / 230,
                kwh_per_step * 12_000,
                1.0,
                round(100.0 + k * kwh_per_step, 3),
                5.0,
            ),
            H0 + k * STEP_MS,
        )
        for k in steps
    ]
    ReadingStore(engine).write_batch(rows, [])


def register(engine: Engine, *households: dict[str, object]) -> None:
    register_households(engine, list(households), H0)


def settle_all(engine: Engine) -> int:
    """Start households and close every due hour, as billing's settle pass does; hours closed."""
    settler = Settler(engine, READING_TABLES)
    settler.start_new_households()
    closed = 0
    while batch := settler.close_due():
        closed += len(batch)
    return closed


@dataclass
class FakePrices:
    """A flat price per zone; ``cleared_until_ms`` leaves later hours without a price."""

    eur_mwh: float = 100.0
    cleared_until_ms: int | None = None
    calls: list[tuple[str, int, int]] = field(default_factory=list)

    async def market_prices(self, zone: str, start_ms: int, end_ms: int) -> dict[int, float]:
        self.calls.append((zone, start_ms, end_ms))
        end = min(end_ms, self.cleared_until_ms) if self.cleared_until_ms is not None else end_ms
        return {h: self.eur_mwh for h in range(start_ms - start_ms % HOUR_MS, end, HOUR_MS) if h >= start_ms}


@dataclass
class FakeForecasts:
    """Forecasts the hour after each household's input: ``kwh`` at ``p50`` EUR/MWh (p10/p90 +-20)."""

    target_ms: int
    kwh: float = 0.5
    p50: float = 120.0
    requests: list[prediction_service_pb2.PredictBatchRequest] = field(default_factory=list)

    async def predict_batch(
        self, request: prediction_service_pb2.PredictBatchRequest
    ) -> prediction_service_pb2.PredictBatchResponse:
        self.requests.append(request)
        return prediction_service_pb2.PredictBatchResponse(
            predictions=[
                forecast_pb2.HouseholdPrediction(
                    household_id=h.household_id,
                    hour_start=Timestamp(seconds=self.target_ms // 1000),
                    consumption_kwh=self.kwh,
                    price=forecast_pb2.PricePoint(
                        p10_eur_mwh=self.p50 - 20, p50_eur_mwh=self.p50, p90_eur_mwh=self.p50 + 20
                    ),
                    cost_p50_eur=0.1,
                    model_version="fake-1",
                )
                for h in request.households
            ]
        )


@dataclass
class FakeLedger:
    """An idempotent ledger (by request_id), that can fail the next ``fail_next`` appends."""

    fail_next: int = 0
    reject: set[str] = field(default_factory=set)
    attempts: Counter[str] = field(default_factory=Counter)
    appended: dict[str, ledger_service_pb2.AppendRecordsRequest] = field(default_factory=dict)

    async def append(self, request: ledger_service_pb2.AppendRecordsRequest) -> None:
        self.attempts[request.request_id] += 1
        if request.request_id in self.reject:
            raise DeliveryRejected(f"INVALID_ARGUMENT: {request.request_id}")
        if self.fail_next > 0:
            self.fail_next -= 1
            raise DeliveryFailed("UNAVAILABLE: ledger down")
        self.appended.setdefault(request.request_id, request)

    def settlements(self) -> dict[tuple[str, int], int]:
        """(household, hour ms) -> metered Wh of every SETTLEMENT record appended."""
        return {
            (r.settlement.household_id, r.settlement.hour_start.seconds * 1000): r.settlement.metered_wh
            for req in self.appended.values()
            for r in req.records
            if r.HasField("settlement")
        }
