"""Billing end to end with the REAL auth_svc, predict_svc and ledger_svc (in-process, loopback)
and a real Mosquitto: readings over MQTT -> settled hours and forecasts -> ledger records.

Readings carry simulated timestamps (two closed hours a few hours ago), so no test waits for
the wall clock; the bridge settles by reading time.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
from prometheus_client import CollectorRegistry

from common.config import from_env
from energy.bill.period import PeriodCost, version1_parts
from ingest_svc.app import IngestApp
from ingest_svc.config import IngestConfig
from ingest_svc.intake.store import register_households
from ledger_svc.canonical import Prediction, Settlement
from tests.conftest import Broker
from tests.ingest_svc.helpers import encode, publish_all, reading, rows, scalar
from tests.ingest_svc.services import SERVICE_SECRETS, Services, ledger_records

REPO = Path(__file__).resolve().parents[2]
HOUR_MS = 3_600_000
STEP_MS = 300_000  # one reading per 5 minutes
H0 = (int(time.time() * 1000) // HOUR_MS - 4) * HOUR_MS  # two closed hours: H0 and H0 + 1h


def household(i: int, meters: int = 1) -> dict[str, object]:
    return {
        "household_id": f"hh-{i:04d}",
        "display_name": "",
        "zone": "NO1",
        "time_zone": "Europe/Oslo",
        "residents": 2,
        "heating": "heat_pump",
        "has_ev": False,
        "has_solar": False,
        "meter_ids": [f"m-{i:04d}-{k}" for k in range(meters)],
    }


def readings_for(meter_id: str, rate_kwh_per_step: float, solar: bool = False) -> list[tuple[str, bytes]]:
    """Readings from H0 to H0+2h inclusive (25 readings): import grows by ``rate`` each step."""
    out = []
    for k in range(25):
        doc = reading(
            meter_id,
            seq=k,
            ts_ms=H0 + k * STEP_MS,
            power_w=rate_kwh_per_step * 12_000,
            import_kwh=round(100.0 + k * rate_kwh_per_step, 3),
            export_kwh=round(5.0 + (k * 0.02 if solar else 0.0), 3),
        )
        out.append((f"energy/meters/{meter_id}", encode(doc)))
    return out


def make_app(broker: Broker, services: Services, db_url: str, **over: object) -> IngestApp:
    values: dict[str, Any] = {
        "mqtt_url": broker.url,
        "db_url": db_url,
        "client_id": "ingest-bridge",
        "batch_wait_ms": 20,
        "service_secret": SERVICE_SECRETS["ingest"],
        "auth_target": services.target("auth"),
        "predict_target": services.target("predict"),
        "ledger_target": services.target("ledger"),
        "bridge_interval_s": 0.2,
        "outbox_backoff_base_ms": 100,
        "outbox_backoff_max_ms": 1000,
        "rpc_timeout_s": 5.0,
    }
    values.update(over)
    return IngestApp(from_env(IngestConfig, {}, **values), registry=CollectorRegistry())


async def wait_until(predicate: Callable[[], bool], timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await asyncio.to_thread(predicate):
            return True
        await asyncio.sleep(0.2)
    return await asyncio.to_thread(predicate)


def kinds(records: list[Prediction | Settlement]) -> tuple[list[Settlement], list[Prediction]]:
    return [r for r in records if isinstance(r, Settlement)], [
        r for r in records if isinstance(r, Prediction)
    ]


async def test_two_hours_settle_once_per_household_with_the_bill_rules(
    mosquitto: Broker, services: Services, tmp_path: Path
) -> None:
    db_url = f"sqlite:///{tmp_path / 'ingest.db'}"
    app = make_app(mosquitto, services, db_url)
    register_households(app.engine, [household(0), household(1), household(2, meters=2)], H0)
    app.start()
    assert app.billing is not None
    # Publish only once the subscription is granted: MQTT drops what is published before it.
    assert await wait_until(lambda: app.subscriber.subscribed, 10)
    items = readings_for("m-0000-0", 0.1) + readings_for("m-0001-0", 0.25, solar=True)
    items += readings_for("m-0002-0", 0.05) + readings_for("m-0002-1", 0.02)
    await asyncio.to_thread(publish_all, mosquitto.port, items)
    # The hand-checked figures below assume every reading is stored before hours close. (A reading
    # that arrives after its hour was settled is billed in the next open hour by design; that path
    # is not what this test checks, and QoS 1 redelivery can reorder arrivals.)
    assert await wait_until(lambda: scalar(db_url, "select count(*) from readings") == len(items), 30)
    bridge = asyncio.create_task(app.run_billing())
    try:
        # 3 households x 2 closed hours; the third hour (H0+2h) stays open.
        assert await wait_until(lambda: len(kinds(ledger_records(services.ledger_url))[0]) >= 6, 45)
        assert await wait_until(lambda: len(kinds(ledger_records(services.ledger_url))[1]) >= 3, 30)
        await asyncio.sleep(1.0)  # anything sent twice would show up now
        settlements, predictions = kinds(ledger_records(services.ledger_url))
        assert Counter((s.household_id, s.hour_ms) for s in settlements) == {
            (f"hh-{i:04d}", H0 + h * HOUR_MS): 1 for i in range(3) for h in range(2)
        }
        by_key = {(s.household_id, s.hour_ms): s for s in settlements}
        # Hand check, hh-0000 hour H0: first reading 100.0 kWh (no earlier reading), last reading
        # before H0+1h is k=11: 100 + 11 x 0.1 = 101.1 kWh -> 1100 Wh. Hour two: k=11..23 -> 1200 Wh.
        assert by_key[("hh-0000", H0)].metered_wh == 1100
        assert by_key[("hh-0000", H0 + HOUR_MS)].metered_wh == 1200
        # Solar household: import 0.25/step, export 0.02/step -> 11 x (250 - 20) = 2530 Wh.
        assert by_key[("hh-0001", H0)].metered_wh == 2530
        # Two meters summed: 11 x (50 + 20) = 770 Wh, then 12 x 70 = 840 Wh.
        assert by_key[("hh-0002", H0)].metered_wh == 770
        assert by_key[("hh-0002", H0 + HOUR_MS)].metered_wh == 840

        # Each version-1 record is the household's bill of the hour (the settlement row's NOK
        # components), in the format's five parts and micro-EUR at the day's EUR/NOK (the default
        # fallback, 11.50); the spot price is predict_svc's.
        market = services.apps["predict"].markets["NO1"]
        for (household_id, hour), s in by_key.items():
            stamp = pd.Timestamp(hour, unit="ms", tz="UTC")
            spot = market.frame.value("price", market.clock.to_data(stamp))
            assert s.spot_price_ueur_per_kwh == round(spot * 1000)
            [(currency, comps)] = rows(
                db_url,
                "select currency, cost_components from settlements"
                f" where household_id = '{household_id}' and hour_start_ms = {hour}",
            )
            assert currency == "NOK"
            nok = dict(json.loads(comps))
            expected = version1_parts(PeriodCost("NOK", 0, tuple(nok.items())), Decimal("11.50"))
            assert (
                s.spot_cost_ueur,
                s.grid_energy_cost_ueur,
                s.capacity_cost_ueur,
                s.standing_charge_ueur,
                s.vat_ueur,
            ) == (
                expected.spot_cost,
                expected.grid_energy_cost,
                expected.capacity_cost,
                expected.standing_charge,
                expected.vat,
            )
            assert s.total_cost_ueur == expected.total > 0
        # One forecast per household for the next hour, priced by predict_svc's model.
        assert sorted(p.household for p in predictions) == ["hh-0000", "hh-0001", "hh-0002"]
        assert all(
            p.price_p10_ueur_per_kwh <= p.price_p50_ueur_per_kwh <= p.price_p90_ueur_per_kwh
            for p in predictions
        )
        assert len({p.target_hour_ms for p in predictions}) == 1
        assert scalar(db_url, "select count(*) from outbox where status != 'sent'") == 0

        # Today's cost: the NOK bill of the local day's settled hours (each priced for the ledger).
        now_ms = int(time.time() * 1000)
        midnight = int(
            pd.Timestamp(now_ms, unit="ms", tz="UTC").tz_convert("Europe/Oslo").normalize().timestamp() * 1000
        )
        nok_today = scalar(
            db_url,
            "select coalesce(sum(cost_micro), 0) from settlements where household_id = 'hh-0000'"
            f" and priced and currency = 'NOK' and hour_start_ms >= {midnight}",
        )
        cost = await asyncio.to_thread(app.costs.today_cost_minor, "hh-0000", "Europe/Oslo", now_ms)
        assert cost == round(int(nok_today) / 10_000)
    finally:
        bridge.cancel()
        await asyncio.gather(bridge, return_exceptions=True)
        await asyncio.to_thread(app.stop)


async def test_predict_and_ledger_outage_under_load_delivers_everything_once(
    mosquitto: Broker, services: Services, tmp_path: Path
) -> None:
    db_url = f"sqlite:///{tmp_path / 'ingest.db'}"
    page = 8
    app = make_app(mosquitto, services, db_url, outbox_page=page, outbox_concurrency=4)
    n = 120
    register_households(app.engine, [household(i) for i in range(n)], H0)
    await services.stop("predict")
    await services.stop("ledger")
    app.start()
    assert app.billing is not None
    assert await wait_until(lambda: app.subscriber.subscribed, 10)
    bridge = asyncio.create_task(app.run_billing())
    try:
        items = [item for i in range(n) for item in readings_for(f"m-{i:04d}-0", 0.01 * (1 + i % 7))]
        await asyncio.to_thread(publish_all, mosquitto.port, items)
        # Hours close without predict (database only), but cannot be priced yet.
        assert await wait_until(lambda: scalar(db_url, "select count(*) from settlements") == 2 * n, 40)
        assert scalar(db_url, "select count(*) from settlements where priced") == 0
        await services.start("predict")
        # Priced and queued while the ledger is still down: the outbox holds them, retrying.
        assert await wait_until(
            lambda: scalar(db_url, "select count(*) from settlements where priced") == 2 * n, 30
        )
        assert await wait_until(
            lambda: scalar(db_url, "select count(*) from outbox where attempts >= 1") > page, 20
        )
        assert app.billing.stats.sent == 0
        await services.start("ledger")
        assert await wait_until(
            lambda: scalar(db_url, "select count(*) from outbox where status = 'pending'") == 0, 40
        )
        await asyncio.sleep(0.5)
        settlements, predictions = kinds(ledger_records(services.ledger_url))
        counts = Counter((s.household_id, s.hour_ms) for s in settlements)
        assert len(counts) == 2 * n and set(counts.values()) == {1}
        assert Counter(p.household for p in predictions) == {f"hh-{i:04d}": 1 for i in range(n)}
        assert scalar(db_url, "select count(*) from outbox where status = 'failed'") == 0
        # Memory stayed bounded: never more than one page of outbox rows held at once.
        assert 0 < app.billing.stats.max_claimed <= page
    finally:
        bridge.cancel()
        await asyncio.gather(bridge, return_exceptions=True)
        await asyncio.to_thread(app.stop)


async def test_kill_9_while_sending_leaves_no_duplicate_and_no_gap(
    mosquitto: Broker, services: Services, tmp_path: Path
) -> None:
    db_url = f"sqlite:///{tmp_path / 'ingest.db'}"
    n = 150
    # Register before the process starts (same tables the RegisterHouseholds RPC writes).
    make_app(mosquitto, services, db_url).engine.dispose()
    from common.db import make_engine

    engine = make_engine(db_url)
    register_households(engine, [household(i) for i in range(n)], H0)
    engine.dispose()
    env = {
        **os.environ,
        "EP_MQTT_URL": mosquitto.url,
        "EP_INGEST_DATABASE_URL": db_url,
        "EP_INGEST_GRPC_PORT": "0",
        "EP_INGEST_METRICS_PORT": "-1",
        "EP_INGEST_CLIENT_ID": "ingest-kill9",
        "EP_INGEST_BATCH_WAIT_MS": "20",
        "EP_INGEST_SERVICE_SECRET": SERVICE_SECRETS["ingest"],
        "EP_AUTH_TARGET": services.target("auth"),
        "EP_PREDICT_TARGET": services.target("predict"),
        "EP_LEDGER_TARGET": services.target("ledger"),
        "EP_INGEST_BRIDGE_INTERVAL_S": "0.2",
        # Small pages, one append at a time: sending takes long enough to be interrupted.
        "EP_INGEST_OUTBOX_PAGE": "2",
        "EP_INGEST_OUTBOX_CONCURRENCY": "1",
        "EP_INGEST_OUTBOX_LEASE_S": "2",
        "EP_LOG_LEVEL": "WARNING",
    }
    log = open(tmp_path / "ingest.log", "ab")

    def spawn() -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", "ingest_svc"], cwd=REPO, env=env, stdout=log, stderr=log
        )

    def settled_in_ledger() -> int:
        return len(kinds(ledger_records(services.ledger_url))[0])

    proc = spawn()
    try:
        assert await wait_until(
            lambda: b"ingest-kill9" in (mosquitto.data_dir / "mosquitto.log").read_bytes(), 20
        )
        items = [item for i in range(n) for item in readings_for(f"m-{i:04d}-0", 0.02 * (1 + i % 5))]
        await asyncio.to_thread(publish_all, mosquitto.port, items)
        assert await wait_until(lambda: settled_in_ledger() >= 20, 40)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        at_kill = settled_in_ledger()
        assert at_kill < 2 * n, "the kill should land while the outbox is being sent"
        proc = spawn()
        assert await wait_until(
            lambda: (
                scalar(db_url, "select count(*) from outbox where status = 'pending'") == 0
                and settled_in_ledger() == 2 * n
            ),
            60,
        )
        await asyncio.sleep(0.5)
        settlements, predictions = kinds(ledger_records(services.ledger_url))
        counts = Counter((s.household_id, s.hour_ms) for s in settlements)
        assert len(counts) == 2 * n and set(counts.values()) == {1}
        assert Counter(p.household for p in predictions) == {f"hh-{i:04d}": 1 for i in range(n)}
    finally:
        proc.kill()
        proc.wait()
