"""Settings of alert_svc (environment variables EP_ALERT_*, plus the shared EP_AUTH_*)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from common.config import ConfigError, env_field
from common.sealing import decode_kek

__all__ = ["AlertConfig", "validate"]


@dataclass(frozen=True)
class AlertConfig:
    database_url: str = env_field(
        "EP_ALERT_DATABASE_URL", "sqlite:///var/alert.db", "SQLAlchemy URL of the alert database"
    )
    key_encryption_key: str = env_field(
        "EP_ALERT_KEY_ENCRYPTION_KEY",
        "",
        "urlsafe base64 of 32 random bytes; encrypts webhook secrets and MQTT passwords (required)",
        secret=True,
    )
    service_secret: str = env_field(
        "EP_ALERT_SERVICE_SECRET", "", "client secret of the 'alert' service account (required)", secret=True
    )
    service_account: str = env_field("EP_ALERT_SERVICE_ACCOUNT", "alert", "service account name")
    predict_target: str = env_field("EP_PREDICT_TARGET", "127.0.0.1:50052", "predict_svc host:port")
    telemetry_target: str = env_field("EP_TELEMETRY_TARGET", "127.0.0.1:50054", "ingest_svc host:port")
    auth_target: str = env_field("EP_AUTH_TARGET", "127.0.0.1:50051", "auth_svc host:port")
    jwt_issuer: str = env_field("EP_AUTH_ISSUER", "energypulse-auth", "expected iss of access tokens")
    jwt_audience: str = env_field("EP_AUTH_AUDIENCE", "energypulse", "expected aud of access tokens")
    evaluate_seconds: float = env_field(
        "EP_ALERT_EVALUATE_SECONDS", 60.0, "seconds between evaluation rounds (0: only EvaluateAlerts)"
    )
    evaluation_shards: int = env_field(
        "EP_ALERT_EVALUATION_SHARDS",
        16,
        "households are split into this many shards (CRC-32 of the household id); each round every "
        "shard is evaluated by the one replica that claims it (the same on every replica)",
    )
    deliver_seconds: float = env_field(
        "EP_ALERT_DELIVER_SECONDS", 1.0, "seconds between looks for due webhook/MQTT deliveries"
    )
    watch_poll_seconds: float = env_field(
        "EP_ALERT_WATCH_POLL_SECONDS",
        1.0,
        "WatchAlerts on SQLite (or while the PostgreSQL listener is down): seconds between looks "
        "for alerts raised by another process",
    )
    watch_fallback_seconds: float = env_field(
        "EP_ALERT_WATCH_FALLBACK_SECONDS",
        30.0,
        "WatchAlerts on PostgreSQL with the LISTEN connection up: seconds between safety looks "
        "(streams are woken by NOTIFY)",
    )
    upstream_timeout_seconds: float = env_field(
        "EP_ALERT_UPSTREAM_TIMEOUT_SECONDS", 10.0, "deadline of each call to predict_svc / ingest_svc"
    )
    max_attempts: int = env_field("EP_ALERT_MAX_ATTEMPTS", 6, "delivery attempts before giving up")
    backoff_seconds: float = env_field(
        "EP_ALERT_BACKOFF_SECONDS", 2.0, "first retry delay; doubles per attempt (capped at 1 h)"
    )
    delivery_timeout_seconds: float = env_field(
        "EP_ALERT_DELIVERY_TIMEOUT_SECONDS", 10.0, "connect + response deadline of one delivery"
    )
    rate_limit_per_hour: int = env_field(
        "EP_ALERT_RATE_LIMIT_PER_HOUR",
        20,
        "alerts delivered per household and channel (app, each webhook, each broker) per hour; "
        "beyond it the delivery is recorded as rate_limited (the alert stays in the app's list)",
    )
    max_rules: int = env_field("EP_ALERT_MAX_RULES", 20, "rules per household")
    max_subscriptions: int = env_field("EP_ALERT_MAX_SUBSCRIPTIONS", 5, "subscriptions per household")
    allowed_target_networks: str = env_field(
        "EP_ALERT_ALLOWED_TARGET_NETWORKS",
        "",
        "comma-separated CIDRs webhook and MQTT targets may resolve to although not public "
        "(e.g. 127.0.0.0/8 for a test receiver; empty: public addresses only)",
    )
    ratebook_dir: str = env_field(
        "EP_ALERT_RATEBOOK_DIR", "", "rate configuration directory (default: energy/rates/no)"
    )
    time_zone: str = env_field("EP_ALERT_TIME_ZONE", "Europe/Oslo", "time zone of alert texts and days")
    log_level: str = env_field("EP_LOG_LEVEL", "INFO", "log level")

    @property
    def kek(self) -> bytes:
        return decode_kek(self.key_encryption_key, "EP_ALERT_KEY_ENCRYPTION_KEY")

    @property
    def allowed_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        try:
            return tuple(
                ipaddress.ip_network(item.strip(), strict=False)
                for item in self.allowed_target_networks.split(",")
                if item.strip()
            )
        except ValueError as exc:
            raise ConfigError(f"EP_ALERT_ALLOWED_TARGET_NETWORKS: {exc}") from None


def validate(config: AlertConfig) -> None:
    """Fail fast on missing secrets and settings out of range."""
    if not config.key_encryption_key:
        raise ConfigError("EP_ALERT_KEY_ENCRYPTION_KEY is required (./scripts/run and compose generate one)")
    config.kek  # noqa: B018 - decodes or raises
    if not config.service_secret:
        raise ConfigError("EP_ALERT_SERVICE_SECRET is required (./scripts/run and compose generate one)")
    config.allowed_networks  # noqa: B018
    if not 1 <= config.evaluation_shards <= 1024:
        raise ConfigError("EP_ALERT_EVALUATION_SHARDS must be 1..1024")
    if config.watch_fallback_seconds < config.watch_poll_seconds:
        raise ConfigError("EP_ALERT_WATCH_FALLBACK_SECONDS must be at least EP_ALERT_WATCH_POLL_SECONDS")
    if config.max_attempts < 1 or config.rate_limit_per_hour < 1:
        raise ConfigError("EP_ALERT_MAX_ATTEMPTS and EP_ALERT_RATE_LIMIT_PER_HOUR must be at least 1")
    if config.evaluate_seconds < 0 or config.deliver_seconds <= 0 or config.watch_poll_seconds <= 0:
        raise ConfigError("EP_ALERT_*_SECONDS must be positive (EVALUATE may be 0)")
