"""Ingest CPU per stored reading with billing on: intake, then settling and pricing the NOK bill.

    .venv/bin/python -m bench.bench_bill_ingest [meters] [hours]

In process, on SQLite, the real code: a meter_sim fleet's own readings (10 s interval, Ed25519-signed
registers on the first reading of each quarter-hour, each meter's key registered) go through the
intake pipeline (parse, validate, verify, store); then billing's passes run as in the service:
meter-key records, closing every quarter-hour from the signed boundary values (Settler) and pricing
each closed period with the household's NOK bill (Pricer -> energy.bill.period, batched per clock
hour) and queueing its version-2 ledger record. The price source is an in-process quarter-hour
price table (no gRPC), so the figure is billing's own CPU. Reported: CPU time per stored reading of
intake, of settling (closing periods, meter-key records) and of pricing the NOK bill, as shares of
intake (the issue's bar: billing adds at most
10 % to ingest's CPU per reading). Median of 3 fresh databases. Not part of ``bench.run``; quoted in
BENCHMARKS.md.

Baseline (same run, same readings, a fresh database each): the pre-#17 billing, hourly EUR
settlement: the same Settler closing clock hours (``period_ms`` = 1 h) and each hour priced as
the pre-#17 pricer did, one row at a time with :func:`energy.settlement.settle_hour_micro` (the
capacity basis read per hour, the priced-row update, the version-1 record queued). The issue's bar
is on the added CPU per reading: (settling + NOK pricing) / (settling + EUR pricing) of the
baseline, and per stored reading of ingest (intake + billing).
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

from prometheus_client import CollectorRegistry
from sqlalchemy import select, update

from bench.bench_signing import register_signed, signed_fleet
from common.db import make_engine
from energy.localtime import from_ms, local_hour_shares
from energy.settlement import settle_hour_micro
from energy.tariff import Tariff
from ingest_svc.app import migrate
from ingest_svc.billing.bridge_store import SettlementRow
from ingest_svc.billing.keys import KeyRecorder
from ingest_svc.billing.outbox import enqueue
from ingest_svc.billing.pricing import LEDGER_APPEND, Pricer, Unpriced, capacity_basis_at, settlement_request
from ingest_svc.billing.rules import default_bill_rules
from ingest_svc.billing.settlement import Settler
from ingest_svc.intake.keys import MeterKeys
from ingest_svc.intake.metrics import IngestMetrics
from ingest_svc.intake.pipeline import IngestPipeline, PipelineLimits
from ingest_svc.intake.store import READING_TABLES, ReadingStore
from ingest_svc.intake.subscriber import Incoming

__all__ = ["billing_cost"]

QUARTER_MS = 900_000


class _Prices:
    """Quarter-hour prices that vary (so support and Norgespris both have work to do)."""

    async def market_prices(self, zone: str, start_ms: int, end_ms: int) -> dict[int, float]:
        first = start_ms - start_ms % QUARTER_MS
        return {t: 40.0 + (t // QUARTER_MS) % 96 * 2.5 for t in range(first, end_ms, QUARTER_MS)}


class _HourlyPrices(dict[int, float]):
    """The hourly price of the baseline: the price of the hour's first quarter (as _Prices)."""

    def __missing__(self, hour_ms: int) -> float:
        return 40.0 + (hour_ms // QUARTER_MS) % 96 * 2.5


def _price_eur_hourly(engine: object, tariff: Tariff, prices: dict[int, float], now_s: float) -> int:
    """The pre-#17 pricing pass: every closed hour priced in EUR, one row at a time (v1 record)."""
    from sqlalchemy.engine import Engine

    assert isinstance(engine, Engine)
    s = SettlementRow.__table__.c
    priced = 0
    while True:
        with engine.begin() as conn:
            rows = conn.execute(
                select(s.household_id, s.hour_start_ms, s.zone, s.time_zone, s.metered_wh)
                .where(s.priced.is_(False))
                .order_by(s.hour_start_ms, s.household_id)
                .limit(500)
            ).all()
            if not rows:
                return priced
            for hid, start, zone_, tz, wh in rows:
                row = Unpriced(str(hid), int(start), str(zone_), str(tz), int(wh))
                spot = prices[row.hour_start_ms]
                hours, days = local_hour_shares(from_ms(row.hour_start_ms), row.time_zone)
                basis = capacity_basis_at(conn, row.household_id, row.hour_start_ms, row.time_zone)
                parts = settle_hour_micro(tariff, row.metered_wh, spot, basis, hours, days)
                conn.execute(
                    update(SettlementRow)
                    .where(
                        SettlementRow.household_id == row.household_id,
                        SettlementRow.hour_start_ms == row.hour_start_ms,
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
                )
                request = settlement_request(row, parts)
                enqueue(
                    conn, LEDGER_APPEND, request.request_id, request.SerializeToString(), int(now_s * 1000)
                )
                priced += 1


def _run(
    messages: list[Incoming],
    keys: dict[str, bytes],
    households: list[tuple[str, str]],
    now_s: float,
    eur_hourly: bool = False,
) -> tuple[float, float, float, int, int]:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'ingest.db'}"
        migrate(url)
        engine = make_engine(url)
        # half the fleet on Norgespris
        register_signed(
            engine, keys, households, now_s, price_scheme=lambda i: "norgespris" if i % 2 else "spot"
        )
        pipeline = IngestPipeline(
            ReadingStore(engine),
            IngestMetrics(CollectorRegistry()),
            ack=lambda _b: None,
            limits=PipelineLimits(max_age_s=30 * 86400.0),
            clock=lambda: now_s,
            keys=MeterKeys(engine),
        )
        stored = 0
        cpu = time.process_time()
        for i in range(0, len(messages), 2000):
            stored += pipeline.process(messages[i : i + 2000]).stored
        intake = time.process_time() - cpu
        rules = default_bill_rules()
        settler = Settler(
            engine,
            READING_TABLES,
            grace_ms=0,
            clock=lambda: now_s,
            period_ms=3_600_000 if eur_hourly else QUARTER_MS,
        )
        pricer = Pricer(engine, Tariff(), _Prices(), clock=lambda: now_s, rules=rules, tables=READING_TABLES)
        keys_rec = KeyRecorder(engine, READING_TABLES, clock=lambda: now_s)
        cpu = time.process_time()
        while keys_rec.run_once():
            pass
        settler.start_new_households()
        while settler.close_due():
            pass
        settling = time.process_time() - cpu
        priced = 0
        if eur_hourly:
            priced = _price_eur_hourly(engine, Tariff(), _HourlyPrices(), now_s)
        else:
            while n := asyncio.run(pricer.run_once()):
                priced += n
        pricing = time.process_time() - cpu - settling
        engine.dispose()
        return intake / stored * 1e6, settling / stored * 1e6, pricing / stored * 1e6, stored, priced


def billing_cost(meters: int = 200, hours: float = 2.0) -> dict[str, float]:
    messages, signer, pairs = signed_fleet(meters, hours, "bb")
    now = time.time()
    runs = [_run(messages, signer.public_keys(), pairs, now) for _ in range(3)]
    base = [_run(messages, signer.public_keys(), pairs, now, eur_hourly=True) for _ in range(3)]
    intake = sorted(r[0] for r in runs)[1]
    settling = sorted(r[1] for r in runs)[1]
    pricing = sorted(r[2] for r in runs)[1]
    b_intake = sorted(r[0] for r in base)[1]
    b_settling = sorted(r[1] for r in base)[1]
    b_pricing = sorted(r[2] for r in base)[1]
    v2 = settling + pricing
    v1 = b_settling + b_pricing
    return {
        "baseline_eur_hourly_priced_hours": float(base[0][4]),
        "baseline_cpu_us_per_reading_intake": round(b_intake, 2),
        "baseline_cpu_us_per_reading_settling_hourly": round(b_settling, 2),
        "baseline_cpu_us_per_reading_pricing_eur": round(b_pricing, 2),
        "billing_v2_vs_v1_pct": round((v2 / v1 - 1) * 100, 1),
        # the two settle different spans of the same readings (the last period of each meter
        # stays open: a quarter for v2, an hour for v1): billing CPU per settled household-hour
        "billing_ms_per_settled_hour_v2": round(v2 * runs[0][3] / (runs[0][4] / 4) / 1000, 2),
        "billing_ms_per_settled_hour_v1": round(v1 * base[0][3] / base[0][4] / 1000, 2),
        "ingest_v2_vs_v1_pct": round(((intake + v2) / (b_intake + v1) - 1) * 100, 1),
        "readings": float(runs[0][3]),
        "priced_periods": float(runs[0][4]),
        "cpu_us_per_reading_intake": round(intake, 2),
        "cpu_us_per_reading_settling": round(settling, 2),
        "cpu_us_per_reading_pricing_nok": round(pricing, 2),
        "pricing_pct_of_intake": round(pricing / intake * 100, 1),
        "billing_pct_of_intake": round((settling + pricing) / intake * 100, 1),
    }


if __name__ == "__main__":
    args = [float(a) for a in sys.argv[1:]]
    print(
        json.dumps(billing_cost(int(args[0]) if args else 200, args[1] if len(args) > 1 else 2.0), indent=2)
    )
