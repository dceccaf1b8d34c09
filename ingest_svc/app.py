"""Wiring of the ingest pipeline: database, MQTT subscriber, batching writer."""

from __future__ import annotations

from pathlib import Path

from prometheus_client import CollectorRegistry

from common.db import make_engine, upgrade
from common.log import get_logger
from ingest_svc.config import IngestConfig
from ingest_svc.metrics import IngestMetrics
from ingest_svc.pipeline import IngestPipeline, PipelineLimits
from ingest_svc.store import ReadingStore
from ingest_svc.subscriber import MqttSubscriber
from meter_sim.config import parse_mqtt_url

__all__ = ["IngestApp", "migrate"]

log = get_logger(__name__)
MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def migrate(db_url: str) -> None:
    upgrade(db_url, MIGRATIONS, version_table="ingest_alembic_version")


class IngestApp:
    """MQTT -> pipeline -> store; ``start()``/``stop()`` for in-process tests and ``__main__``."""

    def __init__(self, config: IngestConfig, registry: CollectorRegistry | None = None) -> None:
        self.config = config
        migrate(config.db_url)
        self.engine = make_engine(config.db_url)
        self.store = ReadingStore(self.engine)
        self.metrics = IngestMetrics(registry)
        host, port = parse_mqtt_url(config.mqtt_url)
        self.pipeline = IngestPipeline(
            self.store,
            self.metrics,
            ack=lambda m: self.subscriber.ack(m),
            limits=PipelineLimits(
                batch_max=config.batch_max,
                batch_wait_ms=config.batch_wait_ms,
                max_future_skew_s=config.max_future_skew_s,
                max_age_s=config.max_age_s,
            ),
        )
        self.subscriber = MqttSubscriber(
            host,
            port,
            config.effective_client_id,
            self.pipeline.submit,
            share_group=config.share_group,
            session_expiry_s=config.session_expiry_s,
            receive_maximum=config.receive_maximum,
        )

    def start(self) -> None:
        self.pipeline.start()
        self.subscriber.start()
        log.info(
            "ingest_started", client_id=self.config.effective_client_id, db=self.engine.url.render_as_string()
        )

    def stop(self) -> None:
        """Stop receiving, finish (store + ack) what was received, disconnect."""
        self.pipeline.stop()
        self.subscriber.stop()
        self.engine.dispose()
        log.info("ingest_stopped")
