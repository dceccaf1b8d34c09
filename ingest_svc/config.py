"""Settings of ingest_svc (env EP_INGEST_*, EP_MQTT_URL, EP_LOG_LEVEL)."""

from __future__ import annotations

import dataclasses
import socket
from dataclasses import dataclass

from common.config import ConfigError, env_field
from common.mqtt import MqttSettings
from energy.billrules import BillSettings, bill_field

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
    settlement_period_s: int = env_field(
        "EP_SETTLEMENT_PERIOD_S",
        900,
        "Settlement period (s, divides an hour): meters sign their registers at each boundary; billed per period",
    )
    max_power_w: float = env_field(
        "EP_INGEST_MAX_POWER_W",
        43_470.0,
        "Plausibility cap: most power a meter can deliver (63 A main fuse x 230 V x 3 phases); "
        "faster counter growth is dead-lettered IMPLAUSIBLE_ENERGY (0: no cap)",
    )
    verify_signatures: bool = env_field(
        "EP_INGEST_VERIFY_SIGNATURES", True, "Verify signed boundary values (off: only to benchmark its cost)"
    )
    online_window_s: float = env_field(
        "EP_INGEST_ONLINE_WINDOW_S", 60.0, "A meter heard within this is online"
    )
    summary_cache_s: float = env_field(
        "EP_INGEST_SUMMARY_CACHE_S",
        2.0,
        "GetHouseholdSummary reuses a household's answer this long (under a reading interval; 0: off)",
    )
    grid_cache_s: float = env_field(
        "EP_INGEST_GRID_CACHE_S", 1.0, "GetGridStats/StreamGridStats reuse a snapshot this long (0: off)"
    )
    require_registered: bool = env_field(
        "EP_INGEST_REQUIRE_REGISTERED", True, "Dead-letter readings of unregistered meters (UNKNOWN_METER)"
    )
    broker_control: str = env_field(
        "EP_INGEST_BROKER_CONTROL",
        "mosquitto-dynsec",
        "How device credentials reach the broker: mosquitto-dynsec, or none (device RPCs unavailable)",
    )
    auth_target: str = env_field(
        "EP_AUTH_TARGET", "127.0.0.1:50051", "auth_svc host:port (keys, revocations, service login)"
    )
    jwt_issuer: str = env_field("EP_AUTH_ISSUER", "energypulse-auth", "expected iss of access tokens")
    jwt_audience: str = env_field("EP_AUTH_AUDIENCE", "energypulse", "expected aud of access tokens")
    # --- billing: to predict_svc and ledger_svc (ingest_svc/billing/, docs/billing.md) ---
    bridge: bool = env_field("EP_INGEST_BRIDGE", True, "Settle hours, forecast and append to the ledger")
    predict_target: str = env_field("EP_PREDICT_TARGET", "127.0.0.1:50052", "predict_svc host:port")
    ledger_target: str = env_field("EP_LEDGER_TARGET", "127.0.0.1:50053", "ledger_svc host:port")
    service_username: str = env_field("EP_INGEST_SERVICE_USERNAME", "ingest", "Service account of ingest")
    service_secret: str = env_field(
        "EP_INGEST_SERVICE_SECRET", "", "Its client secret (generated per installation: devstack/secrets.py)"
    )
    mqtt_username: str = env_field(
        "EP_INGEST_MQTT_USERNAME", "ingest", "Ingest's broker login (with EP_INGEST_MQTT_PASSWORD)"
    )
    mqtt_password: str = env_field(
        "EP_INGEST_MQTT_PASSWORD",
        "",
        "Ingest's broker password (generated per installation); set, it overrides EP_MQTT_USERNAME/_PASSWORD",
        secret=True,
    )
    settle_grace_s: float = env_field(
        "EP_INGEST_SETTLE_GRACE_S",
        900.0,
        "Close an hour this long (reading time) after it ends even if a meter is silent",
    )
    bridge_interval_s: float = env_field("EP_INGEST_BRIDGE_INTERVAL_S", 2.0, "Pause between bridge passes")
    predict_batch: int = env_field("EP_INGEST_PREDICT_BATCH", 2000, "Households per PredictBatch call")
    outbox_page: int = env_field("EP_INGEST_OUTBOX_PAGE", 64, "Outbox rows claimed (held in memory) at once")
    outbox_concurrency: int = env_field("EP_INGEST_OUTBOX_CONCURRENCY", 8, "Ledger appends in flight")
    outbox_lease_s: float = env_field(
        "EP_INGEST_OUTBOX_LEASE_S", 30.0, "A claimed row returns to the pool after this (sender died)"
    )
    outbox_backoff_base_ms: int = env_field("EP_INGEST_OUTBOX_BACKOFF_BASE_MS", 500, "First retry delay")
    outbox_backoff_max_ms: int = env_field("EP_INGEST_OUTBOX_BACKOFF_MAX_MS", 60_000, "Longest retry delay")
    outbox_retention_s: float = env_field(
        "EP_INGEST_OUTBOX_RETENTION_S", 7 * 86400.0, "Sent outbox rows are deleted after this"
    )
    rpc_timeout_s: float = env_field("EP_INGEST_RPC_TIMEOUT_S", 10.0, "Deadline of every bridge call")
    # --- the NOK bill (energy.bill; ingest_svc/billing/month_cost.py) ---
    # One definition with predict_svc's (energy.billrules.BILL_ENV): both services price bills.
    bill_ruleset: str = bill_field("ruleset")
    bill_eurnok_file: str = bill_field("eurnok_file")
    bill_eurnok_fallback: str = bill_field("eurnok_fallback")
    bill_default_grid_company: str = bill_field("default_grid_company")
    bill_support_period: str = bill_field("support_period")
    log_level: str = env_field("EP_LOG_LEVEL", "INFO", "Log level")

    def __post_init__(self) -> None:
        if self.settlement_period_s < 60 or 3600 % self.settlement_period_s:
            raise ConfigError("EP_SETTLEMENT_PERIOD_S must divide 3600 and be at least 60")
        if self.max_power_w < 0:
            raise ConfigError("EP_INGEST_MAX_POWER_W must be >= 0")
        if not 1 <= self.receive_maximum <= 65535:
            raise ConfigError("EP_INGEST_RECEIVE_MAXIMUM must be 1..65535")
        if self.batch_max < 1 or self.batch_wait_ms < 0:
            raise ConfigError("EP_INGEST_BATCH_MAX must be >= 1 and EP_INGEST_BATCH_WAIT_MS >= 0")
        if self.bridge and not self.effective_service_secret:
            raise ConfigError("EP_INGEST_SERVICE_SECRET is required (or EP_INGEST_BRIDGE=0)")
        if self.broker_control not in ("mosquitto-dynsec", "none"):
            raise ConfigError("EP_INGEST_BROKER_CONTROL must be mosquitto-dynsec or none")
        if self.outbox_page < 1 or self.outbox_concurrency < 1 or self.predict_batch < 1:
            raise ConfigError("EP_INGEST_OUTBOX_PAGE, _OUTBOX_CONCURRENCY and _PREDICT_BATCH must be >= 1")

    def bill_settings(self) -> BillSettings:
        """The EP_BILL_* settings as predict_svc reads them (:class:`energy.billrules.BillSettings`)."""
        return BillSettings(
            ruleset=self.bill_ruleset,
            eurnok_file=self.bill_eurnok_file,
            eurnok_fallback=self.bill_eurnok_fallback,
            default_grid_company=self.bill_default_grid_company,
            support_period=self.bill_support_period,
        )

    @property
    def effective_service_secret(self) -> str:
        return self.service_secret

    def broker(self) -> MqttSettings:
        """The broker settings (EP_MQTT_*), logged in as ingest when EP_INGEST_MQTT_PASSWORD is set."""
        settings = MqttSettings.load(self.mqtt_url)
        if self.mqtt_password:
            settings = dataclasses.replace(settings, username=self.mqtt_username, password=self.mqtt_password)
        return settings

    @property
    def effective_client_id(self) -> str:
        return self.client_id or f"ingest-{socket.gethostname()}"
