"""predict_svc wiring: markets, models (trained on first start if missing), servicer, auth, watchers."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import multiprocessing
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import grpc
import numpy as np

from common.auth.access import rules_from_services
from common.auth.interceptor import AuthInterceptor
from common.auth.remote import remote_verifier
from common.auth.verifier import TokenVerifier
from common.config import from_env
from common.errors import EnergyPulseError
from common.log import get_logger
from common.rate_coverage import watch_rate_coverage
from common.server import GrpcService, ServerConfig
from energy.billrules import BillRules, default_bill_rules
from energy.localtime import local_date
from energy.market_calendar import MarketCalendar
from energypulse.prediction.v1 import prediction_service_pb2, prediction_service_pb2_grpc
from predict_svc.clock import RealClock, ReplayClock, system_now
from predict_svc.config import PredictConfig
from predict_svc.fundamentals import FileFundamentals, find_fundamentals_dir, temperature_series
from predict_svc.hourly import HourlyFrame, floor_hour
from predict_svc.market import SERIES, file_suffix, load_market_hourly
from predict_svc.model import TrainParams, save_model, train_model
from predict_svc.quarters import read_price_quarters
from predict_svc.runtime import MAX_HORIZON, AccuracyStore, ModelRegistry, ZoneMarket
from predict_svc.servicer import PredictionServicer, Weather
from predict_svc.synthetic import generate_market, load_params
from predict_svc.weather import (
    ForecastTemperature,
    OpenMeteoClient,
    OpenMeteoDaily,
    SyntheticWeather,
    WeatherProvider,
)

if TYPE_CHECKING:
    from predict_svc.live import LiveFeed

__all__ = [
    "SERVICE",
    "PredictApp",
    "build",
    "build_markets",
    "fundamentals_provider",
    "interceptors",
    "server_config",
    "services",
    "stale_zones",
    "startup_params",
    "train_missing",
    "training_key",
    "warm_forecasts",
    "warm_once",
    "watch_models",
]

log = get_logger(__name__)
SERVICE = prediction_service_pb2.DESCRIPTOR.services_by_name["PredictionService"]
Now = Callable[[], datetime]


@dataclass
class PredictApp:
    config: PredictConfig
    markets: dict[str, ZoneMarket]
    registry: ModelRegistry
    accuracy: AccuracyStore
    servicer: PredictionServicer
    seeding: threading.Thread | None = None  # issues past forecasts on a first start (background)
    live_feed: LiveFeed | None = None  # live markets with a price provider: the publication poller

    def ready(self) -> bool:
        """Health turns SERVING only when every zone has a model AND its current price path is
        computed (:func:`warm_forecasts` does it off the event loop), so no request on a fresh
        replica waits for a week-ahead path to be computed."""
        zones = self.registry.loaded()
        if len(zones) < len(self.markets):
            return False
        for loaded in zones:
            try:
                if self.servicer.cache.peek(self.markets[loaded.model.zone.upper()], loaded) is None:
                    return False
            except EnergyPulseError:
                return False
        return True

    def wait_seeded(self, timeout: float | None = None) -> None:
        if self.seeding is not None:
            self.seeding.join(timeout)


def server_config(environ: Mapping[str, str] | None = None) -> ServerConfig:
    """EP_PREDICT_GRPC_HOST/GRPC_PORT/METRICS_PORT..., default ports 50052 and 9102."""
    return from_env(
        ServerConfig, environ, prefix="EP_PREDICT_", defaults={"port": 50052, "metrics_port": 9102}
    )


def build_markets(config: PredictConfig, now: Now = system_now) -> dict[str, ZoneMarket]:
    """Historical replay when ``data_dir`` is set, else the calibrated synthetic market."""
    markets = {}
    calendar = MarketCalendar.default(config.gate_closure, config.publication)
    fundamentals = fundamentals_provider(config)
    for i, zone in enumerate(z.upper() for z in config.zones):
        if config.data_dir:
            live = config.live_market
            # Live, the forecasts published ahead of the prices are kept (their rows' prices NaN).
            frame = load_market_hourly(config.data_dir, zone, through_forecasts=live)
            quarters = read_price_quarters(
                Path(config.data_dir) / f"day_ahead_prices_{file_suffix(zone)}.csv"
            )
            clock: RealClock | ReplayClock = (
                RealClock(now_fn=now)
                if live
                # The replay keeps now far enough before the data's end for the week-ahead path.
                else ReplayClock(frame.first, frame.last, now_fn=now, lead=timedelta(hours=MAX_HORIZON + 24))
            )
            # Live, the temperature feature is the Open-Meteo daily forecast (used only when the
            # zone's model is configured with it), the files filling history it does not reach.
            temperature = ForecastTemperature(OpenMeteoDaily(), fundamentals) if live else None
            markets[zone] = ZoneMarket(
                zone,
                frame,
                clock,
                f"entsoe:{config.data_dir}",
                quarters,
                calendar,
                live,
                fundamentals,
                temperature,
            )
        else:
            real_now = floor_hour(now())
            # 400 days of history for training and lags, 60 days ahead that "clear" as time passes.
            frame = generate_market(
                load_params(zone),
                real_now - timedelta(days=400),
                real_now + timedelta(days=60),
                seed=config.synthetic_seed + i,
            )
            # Synthetic prices are hourly: served as four equal quarters each (flagged derived).
            markets[zone] = ZoneMarket(zone, frame, RealClock(now_fn=now), "synthetic", None, calendar)
    return markets


def fundamentals_provider(config: PredictConfig) -> FileFundamentals | None:
    """The configured fundamentals files (EP_PREDICT_FUNDAMENTALS_DIR, else the data directory
    when it holds them), or None."""
    if not config.data_dir and not config.fundamentals_dir:
        return None
    found = find_fundamentals_dir(config.fundamentals_dir or None, config.data_dir or ".")
    return FileFundamentals(found) if found is not None else None


# Modules whose source decides what a start-up training produces: their content is the code
# version in the training key (an edit to any of them retrains the start-up models).
TRAINING_CODE: tuple[str, ...] = (
    "dayahead",
    "features",
    "fundamentals",
    "hourly",
    "market",
    "model",
    "quantiles",
    "synthetic",
    "trees",
    "weekahead",
)
TRAINING_KEY = "training_key"  # in the artifact's ``extra``: the key it was trained under


def startup_params(config: PredictConfig) -> TrainParams:
    """The training configuration of start-up models."""
    # Small and single-threaded: this runs beside a serving process on a shared machine.
    return TrainParams(
        rounds=config.startup_rounds,
        num_leaves=31,
        multi_rows=20_000,
        validation_hours=24 * 45,
        threads=1,
        # The week-ahead model at start-up: fewer cross-fits than predict_svc.train's 10 (its
        # bands come out a little wide, see BENCHMARKS.md); a trained artifact replaces it.
        week_ahead_rounds=config.startup_rounds,
        week_ahead_folds=5,
    )


def training_inputs(config: PredictConfig, market: ZoneMarket) -> list[Path]:
    """The files a start-up model of ``market``'s zone is trained from: its series files, the
    fundamentals files, or the synthetic market's parameters."""
    if not config.data_dir:
        return [Path(__file__).with_name("synthetic_params.json")]
    suffix = file_suffix(market.zone)
    paths = [Path(config.data_dir) / f"{spec.prefix}_{suffix}.csv" for spec in SERIES]
    if market.fundamentals is not None:
        paths += sorted(Path(market.fundamentals.directory).glob("*.csv"))
    return [p for p in paths if p.exists()]


def training_key(config: PredictConfig, market: ZoneMarket, params: TrainParams) -> str:
    """What a start-up model is a function of: the content of its input files, the training
    configuration and the code (:data:`TRAINING_CODE`). An artifact trained under another key
    is stale and retrained."""
    digest = hashlib.sha256()

    def part(name: str, data: bytes) -> None:
        digest.update(f"{name}\0{len(data)}\0".encode())
        digest.update(data)

    part("zone", market.zone.encode())
    part("source", market.source.encode())
    part("params", json.dumps(dataclasses.asdict(params), sort_keys=True, default=str).encode())
    if not config.data_dir:
        index = [z.upper() for z in config.zones].index(market.zone)
        part("synthetic_seed", str(config.synthetic_seed + index).encode())
    for path in training_inputs(config, market):
        part(f"input:{path.name}", hashlib.sha256(path.read_bytes()).digest())
    package = Path(__file__).parent
    for module in TRAINING_CODE:
        part(f"code:{module}", (package / f"{module}.py").read_bytes())
    return digest.hexdigest()


def stale_zones(app: PredictApp) -> dict[str, str]:
    """Zones whose start-up model must be (re)trained, with the key to train it under: no
    artifact, or one trained at start-up under another key (an input file, the configuration
    or the code changed). An artifact without a key (``predict_svc.train``, deployed by an
    operator) is kept."""
    params = startup_params(app.config)
    stale = {}
    for zone, market in app.markets.items():
        key = training_key(app.config, market, params)
        if not app.registry.path(zone).exists():
            stale[zone] = key
            continue
        current = next((m for m in app.registry.loaded() if m.model.zone.upper() == zone), None)
        trained_under = current.model.extra.get(TRAINING_KEY) if current is not None else None
        if trained_under is not None and trained_under != key:
            log.info("model_stale", zone=zone, version=current.model.version if current else "")
            stale[zone] = key
    return stale


def _train_and_save(
    jobs: list[tuple[str, HourlyFrame, str, Path, Path | None, str]], params: TrainParams
) -> None:
    """Body of the training child process: train each (zone, frame, source, path, fundamentals
    directory, training key), write it. With fundamentals files the temperature feature and the
    week-ahead model's daily features are trained on them (and the runtime reads the same files)."""
    for zone, frame, source, path, directory, key in jobs:
        provider = FileFundamentals(directory) if directory is not None else None
        temperature = None
        if provider is not None:
            series = temperature_series(provider, zone, frame.times)
            temperature = series if np.isfinite(series).any() else None
        model = train_model(
            frame, zone, params=params, source=source, temperature=temperature, fundamentals=provider
        )
        save_model(dataclasses.replace(model, extra={**model.extra, TRAINING_KEY: key}), path)


def train_missing(app: PredictApp) -> None:
    """Train and save a quick model for each zone without an up-to-date artifact: none (first
    start of a clone), or one trained at start-up from other inputs, configuration or code
    (:func:`stale_zones`).

    Training stops 30 days before the current data hour so live accuracy is out of sample.
    It runs in a child process: LightGBM (with scipy) is never imported by the server, and the
    heap training grows (feature matrices, datasets; ~60 MB that malloc does not hand back)
    goes away with the child instead of staying resident in the server for its lifetime.
    """
    jobs = []
    for zone, key in stale_zones(app).items():
        market = app.markets[zone]
        path = app.registry.path(zone)
        end = market.clock.data_now() - timedelta(days=30)
        frame = market.frame.between(end - timedelta(days=365), end).copy()  # pickled to the child
        log.info("model_training", zone=zone, rows=len(frame))
        directory = market.fundamentals.directory if market.fundamentals is not None else None
        jobs.append((zone, frame, market.source, path, directory, key))
    if not jobs:
        return
    params = startup_params(app.config)
    # spawn, not fork: a forked child would share the server's gRPC threads and locks. One child
    # per zone, so each zone is served as soon as its model is written.
    for job in jobs:
        zone = job[0]
        child = multiprocessing.get_context("spawn").Process(
            target=_train_and_save, args=([job], params), name=f"predict-train-{zone}", daemon=True
        )
        child.start()
        child.join()
        if child.exitcode != 0:
            log.error("model_training_failed", zone=zone, exitcode=child.exitcode)
            continue
        app.registry.reload(zone)
        log.info("model_trained", zone=zone, version=app.registry.get(zone).model.version)
    # Past forecasts once every zone is served (a week-ahead path per past publication).
    _seed_accuracy(app.accuracy, app.markets, app.registry, app.accuracy.capacity_hours // 24)


def _seed_accuracy(
    accuracy: AccuracyStore, markets: dict[str, ZoneMarket], registry: ModelRegistry, days: int
) -> None:
    """Issue the forecasts of the last ``days`` publications that the store does not hold yet
    (a first start; after a restart the persisted ones are kept and nothing is recomputed)."""
    for loaded in registry.loaded():
        zone = loaded.model.zone.upper()
        try:
            stored = accuracy.seed(markets[zone], loaded.model, days)
            log.info("accuracy_seeded", zone=zone, rows=stored)
        except EnergyPulseError as exc:
            log.warning("accuracy_seed_failed", zone=zone, error=exc.message)


def build(
    config: PredictConfig,
    now: Now = system_now,
    weather: WeatherProvider | None = None,
    rules: BillRules | None = None,
) -> PredictApp:
    """The app; ``rules`` (the bill's rule set the cost forecasts bill by) default to every
    ``EP_BILL_*`` setting at its default (``__main__`` passes the configured ones)."""
    markets = build_markets(config, now)
    registry = ModelRegistry(Path(config.model_dir), tuple(markets))
    try:
        registry.reload(force=True)
    except EnergyPulseError as exc:
        log.warning("model_artifacts_invalid", error=exc.message)
    accuracy = AccuracyStore(
        Path(config.state_dir) / "accuracy.sqlite3", capacity_hours=config.accuracy_window_hours
    )
    seeding = threading.Thread(
        target=_seed_accuracy,
        args=(accuracy, markets, registry, config.accuracy_window_hours // 24),
        name="seed-accuracy",
        daemon=True,
    )
    seeding.start()
    if weather is None:
        weather = (
            OpenMeteoClient()
            if config.weather == "open-meteo"
            else SyntheticWeather(seed=config.synthetic_seed)
        )
    rules = rules or default_bill_rules()
    watch_rate_coverage(
        rules.book.coverage, "predict_svc", today=lambda: local_date(now()), ruleset=str(rules.book.path)
    )
    servicer = PredictionServicer(
        markets,
        registry,
        rules,
        Weather(weather),
        accuracy,
        max_batch=config.max_batch,
    )
    feed = None
    if config.price_provider not in ("", "none"):
        # Imported only when asked: the providers parse with pandas, which the serving path
        # otherwise never imports.
        from predict_svc.live import start_live_feed

        feed = start_live_feed(
            config.price_provider,
            config.price_dir,
            markets,
            now,
            forecast_dir=config.data_dir,
            forecast_watch_s=config.forecast_watch_seconds,
        )
    app = PredictApp(config, markets, registry, accuracy, servicer, seeding, feed)
    log.info("predict_ready", zones=list(markets), models=[m.model.version for m in registry.loaded()])
    return app


def start_training(app: PredictApp) -> threading.Thread | None:
    """Train missing or stale models in a thread; the server answers MODEL_NOT_READY meanwhile
    (a stale model keeps serving until its replacement is written)."""
    if not app.config.train_missing or not stale_zones(app):
        return None
    thread = threading.Thread(target=train_missing, args=(app,), name="train-missing", daemon=True)
    thread.start()
    return thread


def services(app: PredictApp) -> list[GrpcService]:
    return [
        GrpcService(
            SERVICE, prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server, app.servicer
        )
    ]


def interceptors(app: PredictApp, verifier: TokenVerifier | None = None) -> list[grpc.aio.ServerInterceptor]:
    if verifier is None:
        verifier = remote_verifier(
            app.config.auth_target,  # a target string: the channel is made inside the server's loop
            issuer=app.config.jwt_issuer,
            audience=app.config.jwt_audience,
        )
    return [AuthInterceptor(verifier, rules_from_services([SERVICE]))]


async def watch_models(app: PredictApp, interval: float) -> None:
    """Hot reload: poll artifact files and swap in any that changed."""
    while True:
        await asyncio.sleep(interval)
        try:
            await asyncio.to_thread(app.registry.reload, "", False)
        except EnergyPulseError as exc:
            log.warning("model_watch_failed", error=exc.message)


async def warm_once(app: PredictApp) -> None:
    """Compute every zone's current price path off the event loop (a no-op when cached)."""
    for zone in app.markets:
        try:
            await asyncio.to_thread(app.servicer.zone_path, zone)
        except EnergyPulseError:
            pass  # not ready yet / data exhausted: logged where raised, retried next tick


async def warm_forecasts(app: PredictApp, interval: float = 30.0) -> None:
    """Compute each zone's path once per publication (and day, and model), before readiness on a
    fresh replica (:meth:`PredictApp.ready`) and within ``interval`` of a publication after."""
    while True:
        await warm_once(app)
        await asyncio.sleep(interval if app.ready() else min(interval, 1.0))
