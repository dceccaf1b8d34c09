"""Meter online/offline from retained statuses and last wills, over a real Mosquitto."""

from __future__ import annotations

import time
from pathlib import Path

import orjson
from prometheus_client import CollectorRegistry

from common.config import from_env
from ingest_svc.app import IngestApp
from ingest_svc.config import IngestConfig
from ingest_svc.intake.status import parse_status
from ingest_svc.intake.store import register_households
from ingest_svc.telemetry.queries import TelemetryQueries
from tests.conftest import Broker
from tests.ingest_svc.helpers import encode, publish_all, reading, wait_for


def _status(status: str, gateway: str, ts_ms: int = 1) -> bytes:
    return orjson.dumps({"status": status, "gateway": gateway, "ts_ms": ts_ms})


def test_parse_status_rejects_malformed_messages() -> None:
    assert parse_status("energy/meters/m-1/status", _status("online", "gw")) is not None
    assert parse_status("energy/meters/m-1/status", b"{") is None
    assert parse_status("energy/meters/m-1/status", _status("sleeping", "gw")) is None
    assert parse_status("energy/meters/a/b/status", _status("online", "gw")) is None


def test_grid_stats_follow_statuses_and_last_wills(mosquitto: Broker, tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'ingest.db'}"
    config = from_env(
        IngestConfig, {}, mqtt_url=mosquitto.url, db_url=db_url, client_id="ingest-status", bridge=False
    )
    app = IngestApp(config, registry=CollectorRegistry())
    households = [
        {
            "household_id": f"h{i}",
            "zone": "NO1",
            "time_zone": "UTC",
            "residents": 1,
            "heating": "heat_pump",
            "has_ev": False,
            "has_solar": False,
            "meter_ids": [f"m{i}"],
        }
        for i in range(3)
    ]
    register_households(app.engine, households, 0)
    app.start()
    queries = TelemetryQueries(app.engine)

    def grid() -> tuple[int, int]:
        snap = queries.grid(int(time.time() * 1000), 60_000)
        return snap.meters_online, snap.meters_offline

    try:
        assert wait_for(lambda: app.subscriber.subscribed, 10)
        # m0, m1 report through gateway gw-a (online); m2 has no status but sends readings.
        publish_all(
            mosquitto.port,
            [
                ("energy/gateways/gw-a/status", _status("online", "gw-a")),
                ("energy/meters/m0/status", _status("online", "gw-a")),
                ("energy/meters/m1/status", _status("online", "gw-a")),
                ("energy/meters/m2", encode(reading("m2", 1))),
            ],
        )
        assert wait_for(lambda: grid() == (3, 0), 15), grid()
        # The gateway's connection dies: its last will (ts_ms 0) takes both its meters offline.
        publish_all(mosquitto.port, [("energy/gateways/gw-a/status", _status("offline", "gw-a", 0))])
        assert wait_for(lambda: grid() == (1, 2), 15), grid()
        assert app.metrics.dead_letters._metrics == {}  # statuses never reach the readings pipeline
    finally:
        app.stop()
