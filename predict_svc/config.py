"""Settings of predict_svc (environment variables EP_PREDICT_*).

Units: EUR and kWh everywhere (spot prices in EUR/MWh as published, retail in EUR/kWh).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from common.auth.verifier import DEFAULT_AUDIENCE, DEFAULT_ISSUER
from common.config import env_field
from energy.tariff import DEFAULT_CAPACITY_STEPS, CapacityStep, Tariff

__all__ = ["PredictConfig", "parse_capacity_steps"]

_DEFAULT_STEPS = ",".join(
    f"{'inf' if math.isinf(s.up_to_kw) else f'{s.up_to_kw:g}'}:{s.eur_per_month:g}"
    for s in DEFAULT_CAPACITY_STEPS
)


def parse_capacity_steps(text: str) -> tuple[CapacityStep, ...]:
    """``"2:10,5:16,inf:420"`` -> steps (up to kW : EUR/month ex VAT)."""
    steps = []
    for part in text.split(","):
        if not part.strip():
            continue
        try:
            bound, amount = part.split(":")
            steps.append(CapacityStep(float(bound), float(amount)))
        except ValueError as exc:
            raise ValueError(f"bad capacity step {part!r}; expected '<kW>:<EUR/month>'") from exc
    return tuple(steps)


@dataclass(frozen=True)
class PredictConfig:
    data_dir: str = env_field(
        "EP_PREDICT_DATA_DIR", "", "ENTSO-E CSV directory; empty = embedded synthetic market (calibrated)"
    )
    zones: tuple[str, ...] = env_field("EP_PREDICT_ZONES", ("NO1", "NO2", "NO5"), "bidding zones served")
    model_dir: str = env_field(
        "EP_PREDICT_MODEL_DIR", "var/models", "directory of <zone>.json model artifacts"
    )
    train_missing: bool = env_field(
        "EP_PREDICT_TRAIN_MISSING", True, "train a quick model at start-up for zones without an artifact"
    )
    startup_rounds: int = env_field("EP_PREDICT_STARTUP_ROUNDS", 60, "boosting rounds of start-up models")
    watch_seconds: float = env_field(
        "EP_PREDICT_WATCH_SECONDS", 2.0, "poll interval for new artifacts (hot reload); 0 disables"
    )
    weather: str = env_field("EP_PREDICT_WEATHER", "synthetic", "weather provider: synthetic | open-meteo")
    synthetic_seed: int = env_field("EP_PREDICT_SYNTHETIC_SEED", 42, "seed of the synthetic market")
    grid_energy_eur_kwh: float = env_field(
        "EP_PREDICT_GRID_ENERGY_EUR_KWH", 0.035, "grid energy part, ex VAT"
    )
    standing_charge_eur_day: float = env_field("EP_PREDICT_STANDING_EUR_DAY", 0.12, "fixed charge, ex VAT")
    vat_rate: float = env_field("EP_PREDICT_VAT_RATE", 0.25, "VAT applied to every part of the bill")
    capacity_steps: str = env_field(
        "EP_PREDICT_CAPACITY_STEPS", _DEFAULT_STEPS, "capacity steps '<up to kW>:<EUR/month ex VAT>,...'"
    )
    accuracy_window_hours: int = env_field(
        "EP_PREDICT_ACCURACY_HOURS", 24 * 14, "live forecasts kept for scoring"
    )
    max_batch: int = env_field("EP_PREDICT_MAX_BATCH", 10_000, "most households in one PredictBatch")
    auth_target: str = env_field(
        "EP_AUTH_TARGET", "127.0.0.1:50051", "auth_svc host:port (keys, revocations)"
    )
    jwt_issuer: str = env_field("EP_AUTH_ISSUER", DEFAULT_ISSUER, "expected iss of access tokens")
    jwt_audience: str = env_field("EP_AUTH_AUDIENCE", DEFAULT_AUDIENCE, "expected aud of access tokens")
    log_level: str = env_field("EP_LOG_LEVEL", "INFO", "log level")

    def tariff(self) -> Tariff:
        return Tariff(
            grid_energy_eur_kwh=self.grid_energy_eur_kwh,
            standing_charge_eur_day=self.standing_charge_eur_day,
            vat_rate=self.vat_rate,
            capacity_steps=parse_capacity_steps(self.capacity_steps),
        )
