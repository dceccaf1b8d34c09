"""Prometheus metrics of the ingest pipeline (injected registry, so tests can run several)."""

from __future__ import annotations

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram

__all__ = ["IngestMetrics"]


class IngestMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        registry = registry if registry is not None else REGISTRY
        self.received = Counter("ingest_messages_received", "MQTT messages received", registry=registry)
        self.stored = Counter("ingest_readings_stored", "Readings newly stored", registry=registry)
        self.duplicates = Counter(
            "ingest_readings_duplicate",
            "Redelivered readings already stored (not stored again)",
            registry=registry,
        )
        self.dead_letters = Counter(
            "ingest_dead_letters", "Messages dead-lettered, by reason", ["reason"], registry=registry
        )
        self.batch_size = Histogram(
            "ingest_batch_size",
            "Messages per storage transaction",
            buckets=(1, 10, 50, 100, 250, 500, 1000, 2000, 5000),
            registry=registry,
        )
        self.batch_seconds = Histogram(
            "ingest_batch_seconds", "Time to validate, store and ack one batch", registry=registry
        )
        self.store_errors = Counter(
            "ingest_store_errors", "Failed storage transactions (retried)", registry=registry
        )
        self.backlog = Gauge("ingest_backlog", "Messages received and not yet stored", registry=registry)
        self.mqtt_connected = Gauge(
            "ingest_mqtt_connected", "1 while connected to the broker", registry=registry
        )
