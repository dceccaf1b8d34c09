"""Settings of the meter simulator (env EP_METER_*, EP_MQTT_URL, EP_LOG_LEVEL; CLI flags override)."""

from __future__ import annotations

from dataclasses import dataclass

from common.config import ConfigError, env_field
from common.mqtt import MqttSettings
from energy.zones import DEFAULT_ZONE, UnknownZone, lookup

__all__ = ["MeterSimConfig"]


@dataclass(frozen=True)
class MeterSimConfig:
    mqtt_url: str = env_field(
        "EP_MQTT_URL", "mqtt://127.0.0.1:1883", "Broker (credentials, TLS: EP_MQTT_*, common/mqtt.py)"
    )
    count: int = env_field("EP_METER_COUNT", 100, "Number of households (one meter each)")
    heating_mix: str = env_field(
        "EP_METER_HEATING_MIX",
        "heat_pump:0.25,electric_resistive:0.15,district_heating:0.30,non_electric:0.30",
        "Relative weights of heating types",
    )
    ev_share: float = env_field("EP_METER_EV_SHARE", 0.15, "Fraction of households with an EV charger")
    solar_share: float = env_field("EP_METER_SOLAR_SHARE", 0.20, "Fraction with rooftop solar")
    interval_s: float = env_field("EP_METER_INTERVAL_S", 10.0, "Seconds of simulated time between readings")
    seed: int = env_field("EP_METER_SEED", 42, "Random seed: same seed, same fleet")
    speedup: float = env_field("EP_METER_SPEEDUP", 1.0, "Simulated seconds per wall-clock second")
    start: str = env_field(
        "EP_METER_START", "", "Simulated start time (ISO 8601, UTC if no zone); default now"
    )
    allow_future: bool = env_field(
        "EP_METER_ALLOW_FUTURE",
        False,
        "Let a sped-up clock run ahead of the wall clock (else it caps at now)",
    )
    zone: str = env_field(
        "EP_METER_ZONE", DEFAULT_ZONE, "Bidding zone of the households: their climate and registration"
    )
    utc_offset_h: float = env_field("EP_METER_UTC_OFFSET_H", 1.0, "Households' local time offset from UTC")
    connections: int = env_field("EP_METER_CONNECTIONS", 4, "MQTT connections sharing the meters")
    id_prefix: str = env_field("EP_METER_ID_PREFIX", "sim", "Prefix of household and meter ids")
    buffer_max: int = env_field(
        "EP_METER_BUFFER_MAX", 500_000, "Readings buffered while the broker is unreachable (oldest dropped)"
    )
    inflight_max: int = env_field("EP_METER_INFLIGHT_MAX", 2000, "Unacknowledged publishes per connection")
    resume_hold_s: float = env_field(
        "EP_METER_RESUME_HOLD_S",
        10.0,
        "After a reconnect, hold readings until ingest re-subscribed, at most this",
    )
    readings_per_meter: int = env_field(
        "EP_METER_READINGS", 0, "Stop after this many readings per meter (0: run until stopped)"
    )
    ingest_addr: str = env_field(
        "EP_METER_INGEST_ADDR", "", "ingest_svc gRPC host:port to register households"
    )
    provision: bool = env_field(
        "EP_METER_PROVISION",
        True,
        "With an ingest addr: have each gateway's broker credentials issued at start (else EP_MQTT_*)",
    )
    auth_target: str = env_field("EP_AUTH_TARGET", "127.0.0.1:50051", "auth_svc host:port (service login)")
    service_username: str = env_field(
        "EP_METER_SERVICE_USERNAME", "meter_sim", "Service account for registration"
    )
    service_secret: str = env_field(
        "EP_METER_SERVICE_SECRET", "", "Its client secret (required with an ingest addr)", secret=True
    )
    state_file: str = env_field(
        "EP_METER_STATE_FILE",
        "var/meter_sim_state.json",
        "Counters and sequence numbers kept across restarts (empty: none)",
    )
    key_file: str = env_field(
        "EP_METER_KEY_FILE",
        "",
        "Meters' Ed25519 signing keys, made at first start, mode 0600 (empty: meter_sim_keys.json beside"
        " EP_METER_STATE_FILE; both empty: new keys each start)",
    )
    sign: bool = env_field(
        "EP_METER_SIGN",
        True,
        "Sign register values at each settlement-period boundary (with EP_METER_INGEST_ADDR only:"
        " the keys are registered there)",
    )
    sign_unregistered: bool = env_field(
        "EP_METER_SIGN_UNREGISTERED",
        False,
        "Sign even without EP_METER_INGEST_ADDR: the keys in EP_METER_KEY_FILE were registered with"
        " ingest by someone else (bench/: the signature-cost benchmark registers them itself)",
    )
    settlement_period_s: int = env_field(
        "EP_SETTLEMENT_PERIOD_S",
        900,
        "Settlement period (s): the meters sign their registers at its boundaries",
    )
    backfill_days: float = env_field(
        "EP_METER_BACKFILL_DAYS",
        0.0,
        "At first start, publish each meter's past days of readings and signed boundaries before going"
        " live (meter_sim/backfill.py; 0: none; keep under ingest's EP_INGEST_MAX_AGE_S, 30 days)",
    )
    backfill_interval_s: float = env_field(
        "EP_METER_BACKFILL_INTERVAL_S",
        900.0,
        "Seconds between back-fill readings (the settlement period: one signed boundary per reading)",
    )
    state_every_s: float = env_field("EP_METER_STATE_EVERY_S", 5.0, "Seconds between state file writes")
    log_level: str = env_field("EP_LOG_LEVEL", "INFO", "Log level")

    def __post_init__(self) -> None:
        if self.count < 0:
            raise ConfigError("EP_METER_COUNT must be >= 0")
        if self.interval_s <= 0:
            raise ConfigError("EP_METER_INTERVAL_S must be > 0")
        if self.backfill_days < 0 or self.backfill_interval_s <= 0:
            raise ConfigError("EP_METER_BACKFILL_DAYS must be >= 0 and EP_METER_BACKFILL_INTERVAL_S > 0")
        if self.backfill_interval_s > self.settlement_period_s:
            raise ConfigError("EP_METER_BACKFILL_INTERVAL_S must not exceed EP_SETTLEMENT_PERIOD_S")
        if self.speedup <= 0:
            raise ConfigError("EP_METER_SPEEDUP must be > 0")
        if self.connections < 1:
            raise ConfigError("EP_METER_CONNECTIONS must be >= 1")
        if self.buffer_max < 1 or self.inflight_max < 1:
            raise ConfigError("EP_METER_BUFFER_MAX and EP_METER_INFLIGHT_MAX must be >= 1")
        try:
            lookup(self.zone)
        except UnknownZone:
            raise ConfigError(f"EP_METER_ZONE={self.zone!r} is not a known bidding zone") from None
        MqttSettings.load(self.mqtt_url)  # bad broker settings fail at start, not at connect

    @property
    def broker(self) -> MqttSettings:
        return MqttSettings.load(self.mqtt_url)
