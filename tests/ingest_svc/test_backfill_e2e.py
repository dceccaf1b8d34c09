"""A back-filled demo household through the real pipeline: the simulator's back-fill over a real
Mosquitto (shipped configuration; each gateway logs in as a provisioned device under the shipped
device ACLs, ingest as the shipped ingest identity), real ingest (validation, signatures, storage,
settlement, pricing) and the real auth_svc, predict_svc and ledger_svc on loopback.

Checks: the past days come out as settled, priced, ledgered quarter-hours whose energy is the
meters' signed register deltas (the live path's rule), and running the same back-fill again
stores, settles and ledgers nothing twice.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from common.config import from_env
from common.mqtt_auth import new_secret
from ledger_svc.canonical import SettlementV2
from meter_sim.config import MeterSimConfig
from meter_sim.simulator import Simulator, build_households
from tests.ingest_svc.helpers import rows, scalar
from tests.ingest_svc.mqtt_broker import MosquittoBroker
from tests.ingest_svc.services import Services, ledger_records
from tests.ingest_svc.test_app import registrar
from tests.ingest_svc.test_billing_e2e import make_app, wait_until
from tests.mqtt_identities import device_client

PERIOD_MS = 900_000
DAYS = 2.0


def _sim_config(tmp_path: Path, broker: MosquittoBroker) -> MeterSimConfig:
    values: dict[str, Any] = {
        "mqtt_url": broker.address,
        "count": 3,
        "connections": 2,
        "seed": 21,
        "backfill_days": DAYS,
        "state_file": str(tmp_path / "sim" / "state.json"),
        "interval_s": 5.0,
    }
    return from_env(MeterSimConfig, {}, **values)


def _gateways(config: MeterSimConfig) -> dict[str, list[str]]:
    ids = [h.meter_id for h in build_households(config)]
    k = min(config.connections, len(ids))
    return {f"{config.id_prefix}-gw-{g}": ids[g::k] for g in range(k)}


class _Provisioned:
    """Device logins as ingest's provisioning issues them, put in the broker's first config."""

    def __init__(self, gateways: Mapping[str, Sequence[str]]) -> None:
        self.passwords = {g: new_secret() for g in gateways}
        made = [device_client(g, self.passwords[g], list(m)) for g, m in gateways.items()]
        self.clients = [c for c, _r in made]
        self.roles = [r for _c, r in made]

    def __call__(self, gateways: Mapping[str, Sequence[str]]) -> Mapping[str, tuple[str, str]]:
        return {g: (g, self.passwords[g]) for g in gateways}


def _run(sim: Simulator, stop: threading.Event) -> threading.Thread:
    thread = threading.Thread(target=sim.run, args=(stop,), daemon=True)
    thread.start()
    return thread


def _settled_in_ledger(ledger_url: str) -> list[SettlementV2]:
    """The ledger's meter-signed settlement records (version 2), decoded by its own codec."""
    records: list[object] = list(ledger_records(ledger_url))
    return [r for r in records if isinstance(r, SettlementV2)]


def _counts(db_url: str, ledger_url: str) -> tuple[int, int, int, int]:
    return (
        int(scalar(db_url, "select count(*) from readings")),
        int(scalar(db_url, "select count(*) from meter_boundaries")),
        int(scalar(db_url, "select count(*) from settlements")),
        len(_settled_in_ledger(ledger_url)),
    )


def _progress(db_url: str, app: Any, start_ms: int, end_ms: int) -> str:
    """Where settling stands (for a failure's message): what was stuck, not only that it was."""
    return json.dumps(
        {
            "window_ms": [start_ms, end_ms],
            "settled": rows(db_url, "select household_id, count(*), sum(priced) from settlements group by 1"),
            "progress": rows(db_url, "select household_id, next_hour_ms from household_progress"),
            # Per unbilled period: when it closed, when its end value arrived, and the household's
            # newest reading time stored by then (a reading past the end before the end value?).
            "missing": rows(
                db_url,
                "select m.household_id, m.period_start_ms, m.reason, m.detail, m.closed_ms,"
                " (select min(b.received_ms) from meter_boundaries b join meters x on x.meter_id = b.meter_id"
                "  where x.household_id = m.household_id and b.boundary_ms = m.period_start_ms + m.period_ms),"
                " (select max(r.ts_ms) from readings r join meters x on x.meter_id = r.meter_id"
                "  where x.household_id = m.household_id and r.received_ms <= m.closed_ms)"
                " from missing_periods m order by 1, 2 limit 12",
            ),
            "watermark": scalar(db_url, "select max(ts_ms) from readings"),
            "boundaries": rows(
                db_url,
                "select meter_id, min(boundary_ms), max(boundary_ms), count(*) from meter_boundaries group by 1",
            ),
            "bridge": repr(app.billing.stats) if app.billing is not None else "",
        },
        default=str,
    )


async def test_back_filled_days_settle_through_the_real_pipeline_once(
    tmp_path: Path, services: Services
) -> None:
    probe = _sim_config(tmp_path, MosquittoBroker(tmp_path / "probe"))
    devices = _Provisioned(_gateways(probe))
    broker = MosquittoBroker(tmp_path / "broker", extra_clients=devices.clients, extra_roles=devices.roles)
    broker.start()
    db_url = f"sqlite:///{tmp_path / 'ingest.db'}"
    app = make_app(broker, services, db_url, mqtt_url=broker.ingest_url)  # type: ignore[arg-type]
    app.start()
    bridge = asyncio.create_task(app.run_billing())
    stop = threading.Event()
    thread: threading.Thread | None = None
    try:
        assert await wait_until(lambda: app.subscriber.subscribed, 10)
        config = _sim_config(tmp_path, broker)
        sim = Simulator(config, registrar=registrar(db_url), provisioner=devices)
        window = sim.backfill_window
        assert window is not None and sim.backfill is not None
        start_ms, end_ms = round(window.start_s * 1000), round(window.end_s * 1000)
        thread = _run(sim, stop)
        # Back-fill done (the broker has every reading), then live readings follow.
        assert await wait_until(lambda: sim.backfill is None, 60)
        backfilled = sim.backfilled
        assert backfilled >= 3 * (DAYS * 96 - 1)
        # Past periods are settled and priced: every quarter-hour of the window but its two ends.
        periods = int(DAYS * 96) - 2
        past = f"select count(*) from settlements where hour_start_ms < {end_ms - PERIOD_MS}"
        assert await wait_until(lambda: scalar(db_url, past + " and priced") >= 3 * periods, 120), _progress(
            db_url, app, start_ms, end_ms
        )
        assert scalar(db_url, "select count(*) from dead_letters") == 0
        assert await wait_until(
            lambda: scalar(db_url, "select count(*) from outbox where status != 'sent'") == 0, 120
        )
        stop.set()
        thread.join(10)
        thread = None

        # The first data is where the window starts; settled energy = signed register deltas.
        first_ms = scalar(db_url, "select min(ts_ms) from readings")
        assert start_ms <= int(first_ms) < start_ms + PERIOD_MS
        settled = {
            (str(h), int(t)): int(wh)
            for h, t, wh in rows(db_url, "select household_id, hour_start_ms, metered_wh from settlements")
        }
        marks: dict[str, dict[int, tuple[int, int]]] = {}
        for m, t, imp, exp in rows(
            db_url, "select meter_id, boundary_ms, import_wh, export_wh from meter_boundaries"
        ):
            marks.setdefault(str(m), {})[int(t)] = (int(imp), int(exp))
        meter_of = {h.household_id: h.meter_id for h in sim.households}
        checked = 0
        for (household, t), wh in settled.items():
            ends = marks[meter_of[household]]
            if t < end_ms - PERIOD_MS and t in ends and t + PERIOD_MS in ends:
                (i0, e0), (i1, e1) = ends[t], ends[t + PERIOD_MS]
                assert wh == (i1 - i0) - (e1 - e0), (household, t)
                checked += 1
        assert checked >= 3 * periods
        in_ledger_rows = _settled_in_ledger(services.ledger_url)
        in_ledger = Counter((s.household_id, s.period_start_ms) for s in in_ledger_rows)
        assert set(in_ledger.values()) == {1}
        for s in in_ledger_rows:  # the ledger's records carry the settled energy, in NOK
            assert s.metered_wh == settled[(s.household_id, s.period_start_ms)]
            assert s.currency == "NOK" and s.total_cost_ueur == sum(v for _n, v in s.components)
        assert sum(1 for _h, t in in_ledger if t < end_ms - 86_400_000) >= 3 * 90  # past days

        # Re-run the same back-fill (as after a stop before it was marked done): nothing doubles.
        state_path = Path(config.state_file)
        state = json.loads(state_path.read_text())
        state["backfill"]["done"] = False
        state_path.write_text(json.dumps(state))
        before = _counts(db_url, services.ledger_url)
        again = Simulator(config, registrar=registrar(db_url), provisioner=devices)
        assert again.backfill_window is not None
        assert again.backfill_window.start_s == window.start_s
        stop = threading.Event()
        thread = _run(again, stop)
        assert await wait_until(lambda: again.backfill is None, 60)
        assert again.backfilled == backfilled
        stop.set()
        thread.join(10)
        thread = None
        await asyncio.sleep(3 * 0.2 + 1.0)  # a few bridge passes: anything doubled shows now
        readings, boundaries, settlements, ledgered = _counts(db_url, services.ledger_url)
        # The live minutes in between add a few readings; nothing of the window is stored again.
        assert boundaries - before[1] <= 6 and settlements - before[2] <= 6
        assert readings - before[0] <= 3 * 200
        assert ledgered - before[3] <= 6
        assert scalar(db_url, f"select count(*) from readings where ts_ms < {end_ms}") == backfilled
        again_ledgered = _settled_in_ledger(services.ledger_url)
        assert set(Counter((s.household_id, s.period_start_ms) for s in again_ledgered).values()) == {1}
    finally:
        stop.set()
        if thread is not None:
            thread.join(10)
        bridge.cancel()
        await asyncio.gather(bridge, return_exceptions=True)
        await asyncio.to_thread(app.stop)
        broker.stop()
