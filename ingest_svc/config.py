"""Settings of ingest_svc (env EP_INGEST_*, EP_MQTT_URL, EP_LOG_LEVEL)."""

from __future__ import annotations

import socket
from dataclasses import dataclass

from common.config import ConfigError, env_field

__all__ = ["IngestConfig"]


@dataclass(frozen=True)
class IngestConfig:
    mqtt_url: str = env_field("EP_MQTT_URL", "mqtt://127.0.0.1:1883", "Broker, mqtt://host:port")
    db_url: str = env_field(
        "EP_INGEST_DATABASE_URL", "sqlite:///var/ingest.db", "SQLAlchemy URL of the telemetry store"
    )
    client_id: str = env_field(
        "EP_INGEST_CLIENT_ID", "", "MQTT client id; must be stable per replica (default ingest-<hostname>)"
    )
    share_group: str = env_field("EP_INGEST_SHARE_GROUP", "ingest", "Shared-subscription group name")
    session_expiry_s: int = env_field(
        "EP_INGEST_SESSION_EXPIRY_S", 7 * 86400, "Broker keeps our queue this long while we are away"
    )
    receive_maximum: int = env_field(
        "EP_INGEST_RECEIVE_MAXIMUM", 10000, "Unacknowledged readings the broker may send us (MQTT v5)"
    )
    batch_max: int = env_field("EP_INGEST_BATCH_MAX", 2000, "Readings per database transaction at most")
    batch_wait_ms: int = env_field("EP_INGEST_BATCH_WAIT_MS", 50, "Longest wait to fill a batch")
    max_future_skew_s: float = env_field(
        "EP_INGEST_MAX_FUTURE_SKEW_S", 300.0, "Reject readings stamped further ahead of our clock"
    )
    max_age_s: float = env_field(
        "EP_INGEST_MAX_AGE_S", 30 * 86400.0, "Reject readings older than this (meters buffer during outages)"
    )
    online_window_s: float = env_field(
        "EP_INGEST_ONLINE_WINDOW_S", 60.0, "A meter heard within this is online"
    )
    auth_target: str = env_field(
        "EP_AUTH_TARGET", "127.0.0.1:50051", "auth_svc host:port (keys, revocations)"
    )
    jwt_issuer: str = env_field("EP_JWT_ISSUER", "energypulse", "expected iss of access tokens")
    jwt_audience: str = env_field("EP_JWT_AUDIENCE", "energypulse-api", "expected aud of access tokens")
    predict_addr: str = env_field("EP_INGEST_PREDICT_ADDR", "", "predict_svc host:port (empty: no bridge)")
    ledger_addr: str = env_field("EP_INGEST_LEDGER_ADDR", "", "ledger_svc host:port (empty: no bridge)")
    log_level: str = env_field("EP_LOG_LEVEL", "INFO", "Log level")

    def __post_init__(self) -> None:
        if not 1 <= self.receive_maximum <= 65535:
            raise ConfigError("EP_INGEST_RECEIVE_MAXIMUM must be 1..65535")
        if self.batch_max < 1 or self.batch_wait_ms < 0:
            raise ConfigError("EP_INGEST_BATCH_MAX must be >= 1 and EP_INGEST_BATCH_WAIT_MS >= 0")

    @property
    def effective_client_id(self) -> str:
        return self.client_id or f"ingest-{socket.gethostname()}"
