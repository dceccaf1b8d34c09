"""The numpy tree evaluator gives LightGBM's own predictions, bit for bit, on real market data."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pytest

from predict_svc.features import FEATURE_NAMES, build_features
from predict_svc.market import load_market
from predict_svc.model import QUANTILES, TrainParams
from predict_svc.trees import TreeEnsemble, TreeFormatError


@pytest.fixture(scope="module")
def real_features(entsoe_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    """h = 3 features for 2023-2024 of NO1 (NaN-holding columns included), and the scaled target."""
    frame = load_market(entsoe_dir, "NO1", "2023-01-01", "2024-12-31")
    fs = build_features(frame, 3)
    assert fs.y is not None and np.isnan(fs.X).any()  # missing values exercise the default directions
    return fs.X, fs.y


@pytest.mark.parametrize("alpha", QUANTILES)
def test_equals_lightgbm_on_real_data(real_features: tuple[np.ndarray, np.ndarray], alpha: float) -> None:
    X, y = real_features
    train = np.isfinite(y) & (np.arange(len(y)) < len(y) // 2)
    params = TrainParams(rounds=80, threads=1).lgb_params(alpha)
    booster = lgb.train(params, lgb.Dataset(X[train], y[train], feature_name=list(FEATURE_NAMES)), 80)
    ensemble = TreeEnsemble.parse(booster.model_to_string())
    expected = booster.predict(X, num_threads=1)
    np.testing.assert_array_equal(ensemble.predict(X), expected)
    # Rows with every feature missing, and zeros, take the default branches.
    odd = np.vstack([np.full(X.shape[1], np.nan), np.zeros(X.shape[1])]).astype(np.float32)
    np.testing.assert_array_equal(ensemble.predict(odd), booster.predict(odd, num_threads=1))


def test_constant_tree_and_unsupported_dumps(real_features: tuple[np.ndarray, np.ndarray]) -> None:
    X, _ = real_features
    # A constant target grows single-leaf trees.
    booster = lgb.train(
        {"objective": "quantile", "alpha": 0.5, "verbose": -1}, lgb.Dataset(X[:300], np.ones(300)), 3
    )
    ensemble = TreeEnsemble.parse(booster.model_to_string())
    np.testing.assert_array_equal(ensemble.predict(X[:50]), booster.predict(X[:50]))
    with pytest.raises(TreeFormatError):
        TreeEnsemble.parse("tree\nversion=v4\nobjective=binary sigmoid:1\nmax_feature_idx=1\n")
    with pytest.raises(TreeFormatError):
        TreeEnsemble.parse("not a model")
    with pytest.raises(ValueError, match="feature columns"):
        ensemble.predict(X[:, :3])


def test_service_imports_neither_lightgbm_nor_scipy() -> None:
    """The serving process evaluates trees itself: lightgbm (+ scipy) would cost ~18 MB resident."""
    code = "import sys, predict_svc.__main__; print(__import__('json').dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(json.loads(out.stdout))
    assert not {"lightgbm", "scipy", "sklearn"} & loaded
