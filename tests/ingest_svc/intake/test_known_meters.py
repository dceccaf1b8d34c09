"""Readings from unregistered meters are dead-lettered UNKNOWN_METER, not stored unseen."""

from __future__ import annotations

import time
from pathlib import Path

from prometheus_client import CollectorRegistry

from common.config import from_env
from ingest_svc.app import IngestApp
from ingest_svc.config import IngestConfig
from ingest_svc.intake.store import register_households
from tests.ingest_svc.helpers import encode, publish_all, reading, rows, scalar, wait_for
from tests.ingest_svc.mqtt_broker import MosquittoBroker


def _register(app: IngestApp, meter_id: str) -> None:
    household = {"household_id": f"h-{meter_id}", "residents": 1, "heating": "heat_pump"}
    register_households(
        app.engine,
        [household | {"has_ev": False, "has_solar": False, "meter_ids": [meter_id]}],
        int(time.time() * 1000),
    )


def test_unregistered_meters_are_dead_lettered_until_registered(
    broker: MosquittoBroker, tmp_path: Path
) -> None:
    db_url = f"sqlite:///{tmp_path / 'ingest.db'}"
    config = from_env(
        IngestConfig, {}, mqtt_url=broker.url, db_url=db_url, client_id="ingest-known", bridge=False
    )
    app = IngestApp(config, registry=CollectorRegistry())
    _register(app, "known")
    app.start()
    try:
        assert wait_for(lambda: app.subscriber.subscribed, 10)
        now = int(time.time() * 1000)
        # The test harness may publish anywhere: the broker's ACL would refuse these otherwise.
        publish_all(
            broker.port,
            [
                (f"energy/meters/{m}", encode(reading(m, s, now + s)))
                for s in (1, 2)
                for m in ("known", "stranger")
            ],
        )
        assert wait_for(lambda: scalar(db_url, "select count(*) from dead_letters") == 2, 15)
        assert scalar(db_url, "select count(*) from readings where meter_id = 'known'") == 2
        assert rows(db_url, "select distinct reason, meter_id from dead_letters") == [
            ("UNKNOWN_METER", "stranger")
        ]
        _register(app, "stranger")  # found at once: an unknown id is looked up again per batch
        publish_all(broker.port, [("energy/meters/stranger", encode(reading("stranger", 3, now + 3)))])
        assert wait_for(
            lambda: scalar(db_url, "select count(*) from readings where meter_id = 'stranger'") == 1, 15
        )
        assert scalar(db_url, "select count(*) from dead_letters") == 2
    finally:
        app.stop()
