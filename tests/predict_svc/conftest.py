"""Fixtures for predict_svc: a small trained model (synthetic market) shared by the session."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from predict_svc.model import PriceModel, TrainParams, save_model, train_model
from predict_svc.synthetic import generate_market, load_params

# A fixed "now" so every test sees the same synthetic market and replay mapping.
NOW = pd.Timestamp("2026-03-10 09:30", tz="UTC")
SMALL = TrainParams(
    rounds=30,
    num_leaves=15,
    multi_rows=6000,
    validation_hours=24 * 30,
    week_ahead_rounds=30,
    week_ahead_folds=2,
)


def synthetic_frame(zone: str = "NO1", days: int = 240, seed: int = 3) -> pd.DataFrame:
    end = NOW.floor("h") + pd.Timedelta(days=20)
    return generate_market(load_params(zone), end - pd.Timedelta(days=days), end, seed=seed).to_frame()


@pytest.fixture(scope="session")
def small_model() -> PriceModel:
    """NO1 model on synthetic data up to 10 days before NOW (both horizon groups)."""
    frame = synthetic_frame("NO1", seed=42)
    return train_model(frame, "NO1", train_end=NOW - pd.Timedelta(days=10), params=SMALL, source="synthetic")


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory, small_model: PriceModel) -> Path:
    """A directory holding the small model as NO1.json (tests copy it before changing it)."""
    directory = tmp_path_factory.mktemp("models")
    save_model(small_model, directory / "NO1.json")
    return directory
