"""Start-up models are cached artifacts keyed by what they are a function of: the content of
their input files, the training configuration and the code. A changed input retrains (in the
real spawned child); an unchanged one does not; an operator's artifact (no key) is kept."""

from __future__ import annotations

import dataclasses
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from common.config import from_env
from energy.market_calendar import MarketCalendar
from predict_svc import server
from predict_svc.config import PredictConfig
from predict_svc.model import PriceModel, load_model, save_model
from predict_svc.server import (
    TRAINING_KEY,
    PredictApp,
    build,
    stale_zones,
    start_training,
    startup_params,
    train_missing,
    training_key,
)
from predict_svc.synthetic import generate_market, load_params
from tests.predict_svc.test_live_service import _write_files

CAL = MarketCalendar.default()
NOW = datetime(2026, 3, 10, 9, 30, tzinfo=UTC)


def _app(tmp_path: Path, rounds: int = 4) -> PredictApp:
    config = from_env(
        PredictConfig,
        {},
        zones=("NO1",),
        data_dir=str(tmp_path / "data"),
        model_dir=str(tmp_path / "models"),
        state_dir=str(tmp_path / "state"),
        startup_rounds=rounds,
        accuracy_window_hours=24,
    )
    return build(config, now=lambda: NOW)


@pytest.fixture
def data(tmp_path: Path) -> Path:
    source = generate_market(
        load_params("NO1"), datetime(2025, 1, 1, tzinfo=UTC), datetime(2026, 3, 25, tzinfo=UTC), seed=5
    )
    _write_files(tmp_path / "data", source, source.last)
    (tmp_path / "models").mkdir()
    return tmp_path / "data"


def _install(app: PredictApp, model: PriceModel, key: str | None) -> None:
    extra = {**model.extra, TRAINING_KEY: key} if key is not None else dict(model.extra)
    save_model(dataclasses.replace(model, extra=extra), app.registry.path("NO1"))
    app.registry.reload("NO1")


def test_key_follows_inputs_config_and_code(
    data: Path, tmp_path: Path, small_model: PriceModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = _app(tmp_path)
    app.wait_seeded()
    market = app.markets["NO1"]
    key = training_key(app.config, market, startup_params(app.config))
    assert stale_zones(app) == {"NO1": key}  # no artifact yet
    assert key == training_key(app.config, market, startup_params(app.config))  # deterministic
    _install(app, small_model, key)
    assert stale_zones(app) == {} and start_training(app) is None  # up to date: nothing trains
    # The training configuration is part of the key.
    other = dataclasses.replace(app.config, startup_rounds=app.config.startup_rounds + 1)
    assert training_key(other, market, startup_params(other)) != key
    # So is the code: one more module's source in the code version changes it.
    monkeypatch.setattr(server, "TRAINING_CODE", (*server.TRAINING_CODE, "servicer"))
    assert training_key(app.config, market, startup_params(app.config)) != key
    monkeypatch.undo()
    # And the content of an input file, not its name or place: a copy with the same bytes
    # keeps the key (a restored backup does not retrain), one changed value does not.
    prices = data / "day_ahead_prices_NO_1.csv"
    shutil.copy2(prices, tmp_path / "backup.csv")
    prices.unlink()
    shutil.copyfile(tmp_path / "backup.csv", prices)
    assert stale_zones(app) == {}
    lines = prices.read_text().splitlines()
    stamp, value = lines[100].split(",")
    lines[100] = f"{stamp},{float(value) + 1.0}"
    prices.write_text("\n".join(lines) + "\n")
    assert set(stale_zones(app)) == {"NO1"}
    # An artifact without a key (trained by predict_svc.train, deployed) is never replaced.
    _install(app, small_model, None)
    assert stale_zones(app) == {}


def test_a_changed_input_retrains_at_start(data: Path, tmp_path: Path, small_model: PriceModel) -> None:
    app = _app(tmp_path)
    app.wait_seeded()
    market = app.markets["NO1"]
    old_key = training_key(app.config, market, startup_params(app.config))
    _install(app, small_model, old_key)
    # A revised load forecast file arrives (one value changed).
    path = data / "load_forecast_NO_1.csv"
    lines = path.read_text().splitlines()
    stamp, value = lines[-50].split(",")
    lines[-50] = f"{stamp},{float(value) + 250.0}"
    path.write_text("\n".join(lines) + "\n")
    restarted = _app(tmp_path)  # a restart: the stale artifact is loaded, then retrained
    restarted.wait_seeded()
    assert restarted.registry.get("NO1").model.version == small_model.version
    new_key = stale_zones(restarted)["NO1"]
    assert new_key != old_key
    train_missing(restarted)  # the real spawned training child
    retrained = load_model(restarted.registry.path("NO1"))
    assert retrained.version != small_model.version and retrained.extra[TRAINING_KEY] == new_key
    assert restarted.registry.get("NO1").model.version == retrained.version
    assert stale_zones(restarted) == {}
