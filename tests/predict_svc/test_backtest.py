"""Backtest on a slice of the real data: beats the naive baselines; CLI prints the JSON contract."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from predict_svc.backtest import local_day_bounds, main, scores


def _slice(entsoe_dir: Path, out: Path, zone_suffix: str, first: str, last: str) -> Path:
    """The real files of one zone restricted to [first, last] (local dates), same layout."""
    out.mkdir(parents=True, exist_ok=True)
    for path in entsoe_dir.glob(f"*_{zone_suffix}.csv"):
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        day = frame["datetime"].str.slice(0, 10)
        frame[(day >= first) & (day <= last)].to_csv(out / path.name, index=False)
    return out


@pytest.fixture(scope="module")
def slice_dir(entsoe_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _slice(entsoe_dir, tmp_path_factory.mktemp("entsoe"), "NO_1", "2023-01-01", "2024-01-31")


def test_cli_json_contract_and_beats_naive(slice_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "--data-dir",
            str(slice_dir),
            "--zone",
            "NO1",
            "--train-end",
            "2023-12-31",
            "--test-start",
            "2024-01-01",
            "--test-end",
            "2024-01-31",
            "--json",
            "--rounds",
            "60",
        ]
    )
    captured = capsys.readouterr()
    assert code == 0
    doc = json.loads(captured.out)  # exactly one JSON object on stdout
    assert set(doc) == {"zone", "hours", "model", "naive_24h", "naive_168h"}
    assert doc["zone"] == "NO1"
    assert 700 <= doc["hours"] <= 31 * 24
    assert set(doc["model"]) == {"mae", "rmse", "smape", "coverage_p10_p90"}
    assert set(doc["naive_24h"]) == {"mae", "rmse", "smape"} == set(doc["naive_168h"])
    assert doc["model"]["mae"] < doc["naive_24h"]["mae"] / 2
    assert doc["model"]["mae"] < doc["naive_168h"]["mae"]
    assert doc["model"]["rmse"] < doc["naive_24h"]["rmse"]
    # One volatile winter month after one training year: the ~80% target is checked on full years.
    assert 0.5 <= doc["model"]["coverage_p10_p90"] <= 0.97
    assert "training" in captured.err  # progress went to stderr


def test_bad_ranges_fail_cleanly(slice_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--data-dir", str(slice_dir), "--zone", "NO1", "--json"]
    assert (
        main([*args, "--train-end", "2024-01-10", "--test-start", "2024-01-05", "--test-end", "2024-01-20"])
        == 2
    )
    assert (
        main([*args, "--train-end", "2023-12-31", "--test-start", "2030-01-01", "--test-end", "2030-01-31"])
        == 2
    )
    assert (
        main(
            [
                "--data-dir",
                str(slice_dir),
                "--zone",
                "NO7",
                "--train-end",
                "2023-12-31",
                "--test-start",
                "2024-01-01",
                "--test-end",
                "2024-01-31",
            ]
        )
        == 2
    )
    captured = capsys.readouterr()
    assert captured.out == "" and "backtest failed" in captured.err


def test_scores_and_local_days() -> None:
    s = scores(np.array([10.0, -5.0, 0.0]), np.array([12.0, -5.0, 0.0]))
    assert s["mae"] == pytest.approx(2 / 3)
    assert s["rmse"] == pytest.approx(np.sqrt(4 / 3))
    assert s["smape"] == pytest.approx(100 * (2 * 2 / 22) / 3)  # 0/0 counts as 0
    first, last = local_day_bounds("2024-03-31")
    assert (last - first) == pd.Timedelta(hours=22)  # 23-hour DST day
    first, last = local_day_bounds("2024-10-27")
    assert (last - first) == pd.Timedelta(hours=24)  # 25-hour day
