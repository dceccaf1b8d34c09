"""A back-filled history settles exactly as the live path would have settled the same readings.

The live path gets a meter's readings a period at a time, with billing's settle and price passes
in between; a back-fill delivers days of them at once, long after the fact. Both go through the
same validator (parse_message) and store; this checks the settled periods come out identical
(energy, price, every NOK component) whichever way the same readings arrived.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Engine

from common.config import from_env
from contracts.mqtt.boundary import KEY_ALGORITHM, SignedBoundary, key_id
from ingest_svc.billing import Billing, BillingSettings
from ingest_svc.intake.store import READING_TABLES, ReadingStore, register_households
from ingest_svc.intake.validation import Reading, SchemaChecker, parse_message
from meter_sim.config import MeterSimConfig
from meter_sim.simulator import Simulator
from tests.ingest_svc.billing.fakes import Clock, FakeForecasts, FakeLedger, FakePrices, store

PERIOD_MS = 900_000


def _backfill(tmp_path: Path) -> tuple[Simulator, list[tuple[str, bytes]]]:
    config = from_env(
        MeterSimConfig,
        {},
        count=3,
        seed=11,
        start="2026-01-03T06:02:00Z",
        backfill_days=1.5,
        sign_unregistered=True,
        key_file=str(tmp_path / "keys.json"),
        state_file="",
    )
    sim = Simulator(config)
    assert sim.backfill is not None and sim.backfill_window is not None
    out: list[tuple[str, bytes]] = []
    while sim.backfill.next_due() <= sim.backfill_window.end_s:
        out += [(t, p) for _i, t, p in sim.backfill.produce(sim.backfill_window.end_s, max_rounds=50)]
    return sim, out


def _register(engine: Engine, sim: Simulator) -> None:
    keys = sim.signer.public_keys() if sim.signer else {}
    rows: list[dict[str, object]] = [
        {
            "household_id": h.household_id,
            "display_name": "",
            "zone": "NO1",
            "time_zone": "Europe/Oslo",
            "residents": h.residents,
            "heating": h.heating.value,
            "has_ev": h.has_ev,
            "has_solar": h.has_solar,
            "meter_ids": [h.meter_id],
            "meter_keys": [(h.meter_id, key_id(keys[h.meter_id]), KEY_ALGORITHM, keys[h.meter_id])],
        }
        for h in sim.households
    ]
    register_households(engine, rows, 0)


def _billing(engine: Engine, clock: Clock) -> Billing:
    return Billing(
        engine,
        READING_TABLES,
        prices=FakePrices(),
        forecasts=FakeForecasts(target_ms=0),
        ledger=FakeLedger(),
        settings=BillingSettings(),
        clock=clock,
    )


def _parsed(items: list[tuple[str, bytes]], now_ms: int) -> list[tuple[Reading, SignedBoundary | None]]:
    checker = SchemaChecker()
    out = []
    for topic, payload in items:
        result = parse_message(checker, topic, payload, now_ms, 300_000, 30 * 86_400_000)
        assert isinstance(result, tuple), result
        out.append(result)
    return out


async def _pass(billing: Billing) -> None:
    await billing.settle()
    await billing.price()


def _settled(engine: Engine) -> list[tuple[object, ...]]:
    with engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                text(
                    "select household_id, hour_start_ms, period_ms, metered_wh, priced, currency,"
                    " cost_micro, cost_components, spot_price_micro_eur_per_kwh, meter_values"
                    " from settlements order by household_id, hour_start_ms"
                )
            )
        ]


def test_back_filled_periods_settle_as_the_live_path_would(tmp_path: Path) -> None:
    sim, items = _backfill(tmp_path)
    assert sim.backfill_window is not None
    end_ms = round(sim.backfill_window.end_s * 1000)
    readings = _parsed(items, end_ms + 60_000)
    assert all(b is not None for _r, b in readings)  # one signed boundary per back-fill reading

    # Back-fill: everything at once, days after the fact, then the billing passes.
    bulk = store(tmp_path / "bulk")
    _register(bulk, sim)
    clock = Clock(end_ms / 1000 + 60)
    ReadingStore(bulk).write_batch(
        [(r, end_ms) for r, _b in readings], [], [(b, end_ms) for _r, b in readings if b is not None]
    )
    billing = _billing(bulk, clock)
    asyncio.run(_pass(billing))

    # Live: the same readings a period at a time (in reading-time order), a pass after each.
    live = store(tmp_path / "live")
    _register(live, sim)
    by_period: dict[int, list[tuple[Reading, SignedBoundary | None]]] = defaultdict(list)
    for r, b in readings:
        by_period[r.ts_ms // PERIOD_MS].append((r, b))
    live_clock = Clock()
    live_billing = _billing(live, live_clock)
    live_store = ReadingStore(live)

    async def run_live() -> None:
        for period in sorted(by_period):
            batch = sorted(by_period[period], key=lambda rb: rb[0].ts_ms)
            received = (period + 1) * PERIOD_MS
            live_clock.now = received / 1000  # the live path works as the period ends
            live_store.write_batch(
                [(r, received) for r, _b in batch], [], [(b, received) for _r, b in batch if b is not None]
            )
            await _pass(live_billing)

    asyncio.run(run_live())

    got, want = _settled(bulk), _settled(live)
    assert len(want) >= 3 * (1.5 * 96 - 3)  # every period of the window but the open ends
    assert all(row[4] for row in want)  # priced
    assert {row[2] for row in want} == {PERIOD_MS}  # signed quarter-hours, not legacy hours
    # Past days: the window reaches back a day and a half.
    assert min(int(str(row[1])) for row in want) <= end_ms - 86_400_000
    assert got == want
