"""Wiring of ingest: database, MQTT intake (subscriber, batching writer) and billing's ports."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from prometheus_client import REGISTRY, CollectorRegistry

from common.db import make_engine, upgrade
from common.drain import Drain
from common.log import get_logger
from common.rate_coverage import watch_rate_coverage
from contracts.mqtt.topics import STATUS_FILTERS
from energy.localtime import local_date
from ingest_svc.billing import (
    AuditClient,
    Billing,
    BillingSettings,
    Corrections,
    LedgerClient,
    PredictionClient,
    ServiceLogin,
    TodayCost,
    load_month_costs,
)
from ingest_svc.config import IngestConfig
from ingest_svc.devices.broker import BrokerAccess, MosquittoDynsec, NoBrokerControl
from ingest_svc.devices.service import Devices
from ingest_svc.devices.store import DeviceStore
from ingest_svc.intake.known_meters import KnownMeters
from ingest_svc.intake.metrics import IngestMetrics
from ingest_svc.intake.pipeline import IngestPipeline, PipelineLimits
from ingest_svc.intake.status import StatusTracker
from ingest_svc.intake.store import READING_TABLES, ReadingStore
from ingest_svc.intake.subscriber import Incoming, MqttSubscriber

__all__ = ["IngestApp", "billing_settings", "migrate"]

log = get_logger(__name__)
MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def migrate(db_url: str) -> None:
    upgrade(db_url, MIGRATIONS, version_table="ingest_alembic_version")


def billing_settings(config: IngestConfig) -> BillingSettings:
    return BillingSettings(
        settle_grace_s=config.settle_grace_s,
        interval_s=config.bridge_interval_s,
        predict_batch=config.predict_batch,
        outbox_page=config.outbox_page,
        outbox_concurrency=config.outbox_concurrency,
        outbox_lease_s=config.outbox_lease_s,
        outbox_backoff_base_ms=config.outbox_backoff_base_ms,
        outbox_backoff_max_ms=config.outbox_backoff_max_ms,
        outbox_retention_s=config.outbox_retention_s,
        settlement_period_s=config.settlement_period_s,
        max_power_w=config.max_power_w,
    )


class IngestApp:
    """MQTT -> pipeline -> store; ``start()``/``stop()`` for in-process tests and ``__main__``."""

    def __init__(self, config: IngestConfig, registry: CollectorRegistry | None = None) -> None:
        self.config = config
        self.drain = Drain()  # the telemetry streams end through it at shutdown (common/drain.py)
        migrate(config.db_url)
        self.engine = make_engine(config.db_url)
        self.store = ReadingStore(self.engine)
        self.metrics = IngestMetrics(registry)
        self.pipeline = IngestPipeline(
            self.store,
            self.metrics,
            ack=lambda batch: self.subscriber.ack_many(batch),
            limits=PipelineLimits(
                batch_max=config.batch_max,
                batch_wait_ms=config.batch_wait_ms,
                max_future_skew_s=config.max_future_skew_s,
                max_age_s=config.max_age_s,
                period_s=float(config.settlement_period_s),
                max_power_w=config.max_power_w,
                verify_signatures=config.verify_signatures,
            ),
            unknown_meters=KnownMeters(self.engine).unknown if config.require_registered else None,
        )
        broker = config.broker()
        self._broker_access: BrokerAccess = (
            MosquittoDynsec(broker, f"{config.effective_client_id}-control")
            if config.broker_control == "mosquitto-dynsec"
            else NoBrokerControl()
        )
        self.devices = Devices(DeviceStore(self.engine), self._broker_access)
        self.status = StatusTracker(self.engine, ack=lambda m: self.subscriber.ack(m))
        self.subscriber = MqttSubscriber(
            broker,
            config.effective_client_id,
            on_batch=self._route,
            share_group=config.share_group,
            session_expiry_s=config.session_expiry_s,
            receive_maximum=config.receive_maximum,
            extra_filters=STATUS_FILTERS,
        )
        # Read at scrape time: the subscriber's own flag is the one truth about the connection.
        self.metrics.mqtt_connected.set_function(lambda: float(self.subscriber.connected))
        # The NOK bill: the rule set is validated here, so a bad one stops the start-up.
        bill = config.bill_settings()  # the EP_BILL_* settings, as predict_svc reads them
        self.month_costs = load_month_costs(
            self.engine,
            READING_TABLES,
            bill.ruleset,
            bill.eurnok_file,
            bill.eurnok_fallback,
            bill.default_grid_company,
            bill.support_period,
        )
        book = self.month_costs.book
        watch_rate_coverage(
            book.coverage,
            "ingest_svc",
            today=lambda: local_date(datetime.now(UTC)),
            ruleset=str(book.path),
            registry=registry if registry is not None else REGISTRY,
        )
        self.costs = TodayCost(self.engine, self.month_costs.book.currency)
        # Billing runs on the server's event loop (``__main__`` passes ``run_billing``).
        self.billing: Billing | None = None
        self.price_forecasts: PredictionClient | None = None
        self.corrections: Corrections | None = None
        if config.bridge:
            login = ServiceLogin(config.auth_target, config.service_username, config.effective_service_secret)
            self._audit = AuditClient(config.auth_target, login, config.rpc_timeout_s)
            self._predict = PredictionClient(config.predict_target, login, config.rpc_timeout_s)
            self.price_forecasts = self._predict
            self._ledger = LedgerClient(config.ledger_target, login, config.rpc_timeout_s)
            self.billing = Billing(
                self.engine,
                READING_TABLES,
                prices=self._predict,
                forecasts=self._predict,
                ledger=self._ledger,
                settings=billing_settings(config),
                rules=self.month_costs.rules,
            )
            self.corrections = Corrections(self._ledger, self._audit, self.month_costs.rules.book.currency)

    async def run_billing(self) -> None:
        """Billing's loops until cancelled; its channels are made inside this loop and closed after."""
        assert self.billing is not None, "EP_INGEST_BRIDGE=0: billing is off"
        log.info("billing_started", predict=self.config.predict_target, ledger=self.config.ledger_target)
        try:
            await self.billing.run()
        finally:
            await self._predict.close()
            await self._ledger.close()
            await self._audit.close()

    def _route(self, batch: list[Incoming]) -> None:
        """Statuses to the status tracker, everything else (readings) to the pipeline."""
        is_status = StatusTracker.is_status
        if any(is_status(m.topic) for m in batch):
            for message in batch:
                if is_status(message.topic):
                    self.status.submit(message)
            batch = [m for m in batch if not is_status(m.topic)]
        if batch:
            self.pipeline.submit_many(batch)

    def start(self) -> None:
        self.status.start()
        self.pipeline.start()
        self.subscriber.start()
        log.info(
            "ingest_started", client_id=self.config.effective_client_id, db=self.engine.url.render_as_string()
        )

    def stop(self) -> None:
        """Stop receiving, finish (store + ack) what was received, disconnect."""
        self.pipeline.stop()
        self.status.stop()
        self.subscriber.stop()
        self._broker_access.close()
        self.engine.dispose()
        log.info("ingest_stopped")
