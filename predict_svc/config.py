"""Settings of predict_svc (environment variables EP_PREDICT_*).

Units: spot prices in EUR/MWh as published. Household costs are on the household's bill, in its
currency (NOK for the Norwegian rule set): the rule set is a shared setting of every service
that bills, :class:`energy.billrules.BillSettings` (``EP_BILL_*``).
"""

from __future__ import annotations

from dataclasses import dataclass

from common.auth.verifier import DEFAULT_AUDIENCE, DEFAULT_ISSUER
from common.config import env_field
from energy.zones import DEFAULT_SERVED

__all__ = ["PredictConfig"]


@dataclass(frozen=True)
class PredictConfig:
    data_dir: str = env_field(
        "EP_PREDICT_DATA_DIR", "", "ENTSO-E CSV directory; empty = embedded synthetic market (calibrated)"
    )
    zones: tuple[str, ...] = env_field("EP_PREDICT_ZONES", DEFAULT_SERVED, "bidding zones served")
    model_dir: str = env_field(
        "EP_PREDICT_MODEL_DIR", "var/models", "directory of <zone>.json model artifacts"
    )
    train_missing: bool = env_field(
        "EP_PREDICT_TRAIN_MISSING",
        True,
        "train a quick model at start-up for zones without an up-to-date artifact (keyed by input files, config and code)",
    )
    startup_rounds: int = env_field("EP_PREDICT_STARTUP_ROUNDS", 60, "boosting rounds of start-up models")
    watch_seconds: float = env_field(
        "EP_PREDICT_WATCH_SECONDS", 2.0, "poll interval for new artifacts (hot reload); 0 disables"
    )
    fundamentals_dir: str = env_field(
        "EP_PREDICT_FUNDAMENTALS_DIR",
        "",
        "daily fundamentals and weather files (../shared/data/fundamentals layout) the start-up"
        " models train on and the runtime reads; empty = data_dir when the files are there, else none"
        " (the synthetic market has none)",
    )
    weather: str = env_field("EP_PREDICT_WEATHER", "synthetic", "weather provider: synthetic | open-meteo")
    synthetic_seed: int = env_field("EP_PREDICT_SYNTHETIC_SEED", 42, "seed of the synthetic market")
    accuracy_window_hours: int = env_field(
        "EP_PREDICT_ACCURACY_HOURS", 24 * 14, "live forecasts kept for scoring"
    )
    state_dir: str = env_field(
        "EP_PREDICT_STATE_DIR",
        "var/predict",
        "state kept across restarts (accuracy.sqlite3: issued forecasts)",
    )
    gate_closure: str = env_field(
        "EP_MARKET_GATE_CLOSURE",
        "",
        "HH:MM local (CET/CEST) on D-1 when bids for D close; empty = rules file (12:00)",
    )
    publication: str = env_field(
        "EP_MARKET_PUBLICATION",
        "",
        "HH:MM local on D-1 when results for D are expected; empty = rules file (12:45). Replay and"
        " synthetic markets publish each day whole at this time",
    )
    live_market: bool = env_field(
        "EP_PREDICT_LIVE_MARKET",
        False,
        "market data is live (files updated as results arrive): a day is published when all its"
        " periods are present, not at the clock time (data_dir only; no replay shift)",
    )
    price_provider: str = env_field(
        "EP_PREDICT_PRICE_PROVIDER",
        "none",
        "live markets only: where published days come from, polled from the expected publication"
        " time with backoff until the day is complete: none | file (EP_PREDICT_PRICE_DIR) | entsoe"
        " (token in ENTSOE_API_KEY, URL in EP_ENTSOE_API_URL)",
    )
    price_dir: str = env_field(
        "EP_PREDICT_PRICE_DIR", "", "directory of day_ahead_prices_<NO_1>.csv for the file price provider"
    )
    forecast_watch_seconds: float = env_field(
        "EP_PREDICT_FORECAST_WATCH_SECONDS",
        60.0,
        "live markets only: how often the load/wind/solar forecast files in data_dir are checked"
        " for changes between publications (the next day's arrive ~10:00 CET); 0 disables",
    )
    max_batch: int = env_field("EP_PREDICT_MAX_BATCH", 10_000, "most households in one PredictBatch")
    auth_target: str = env_field(
        "EP_AUTH_TARGET", "127.0.0.1:50051", "auth_svc host:port (keys, revocations)"
    )
    jwt_issuer: str = env_field("EP_AUTH_ISSUER", DEFAULT_ISSUER, "expected iss of access tokens")
    jwt_audience: str = env_field("EP_AUTH_AUDIENCE", DEFAULT_AUDIENCE, "expected aud of access tokens")
    log_level: str = env_field("EP_LOG_LEVEL", "INFO", "log level")
