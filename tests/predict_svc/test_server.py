"""The serving process: its whole start-up path and every RPC run without pandas or pyarrow."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

# Run in a fresh interpreter: build the app as `python -m predict_svc` does (synthetic market or
# the ENTSO-E replay), seed accuracy, answer each RPC once, then report the imported modules.
_SCRIPT = """
import asyncio, json, sys
from common.config import from_env
from energypulse.prediction.v1 import forecast_pb2, prediction_service_pb2 as pb
from predict_svc.config import PredictConfig
from predict_svc.server import build, interceptors, server_config, services

config = from_env(PredictConfig, {}, zones=("NO1",), model_dir=sys.argv[1], data_dir=sys.argv[2],
                  train_missing=False, accuracy_window_hours=48, state_dir=sys.argv[3])
app = build(config)
app.wait_seeded()
services(app), server_config({})
servicer = app.servicer
household = forecast_pb2.HouseholdInput(household_id="h1", zone="NO1", recent_hourly_kw=[0.5] * 24,
                                        residents=2, heating="heat_pump")

async def calls():
    await servicer.GetPriceForecast(pb.GetPriceForecastRequest(zone="NO1"), None)
    await servicer.PredictBatch(pb.PredictBatchRequest(households=[household]), None)
    await servicer.PredictHousehold(pb.PredictHouseholdRequest(household_id="h1", price_threshold_eur_mwh=50), None)
    await servicer.GetMarketPrices(pb.GetMarketPricesRequest(zone="NO1"), None)
    scored = await servicer.GetAccuracy(pb.GetAccuracyRequest(zone="NO1", window_hours=24), None)
    await servicer.GetModelInfo(pb.GetModelInfoRequest(zone="NO1"), None)
    return scored.hours

hours = asyncio.run(calls())
print(json.dumps({"modules": sorted(sys.modules), "accuracy_hours": hours}))
"""


@pytest.mark.parametrize("market", ["synthetic", "entsoe"])
def test_serving_path_imports_neither_pandas_nor_pyarrow(
    market: str, model_dir: Path, entsoe_dir: Path, tmp_path: Path
) -> None:
    data_dir = str(entsoe_dir) if market == "entsoe" else ""
    out = subprocess.run(
        [sys.executable, "-c", _SCRIPT, str(model_dir), data_dir, str(tmp_path / "state")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(out.stdout.strip().splitlines()[-1])
    loaded = set(report["modules"])
    assert report["accuracy_hours"] > 0  # the path ran: accuracy was seeded and scored
    assert not {"pandas", "pyarrow", "lightgbm", "scipy"} & loaded
