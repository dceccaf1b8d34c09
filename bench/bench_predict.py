"""Benchmarks of predict_svc; each function returns its figures as a dict (wired by the lead).

* :func:`predict_batch_throughput` - PredictBatch household rows/s through a real in-process gRPC
  server (serialisation included), target >= 50,000 rows/s;
* :func:`price_forecast_latency` - GetPriceForecast p50/p99 in ms through real stubs, target
  p99 < 5 ms (forecasts are cached per zone and hour);
* :func:`backtest_mae` - the one-step-ahead backtest per zone (MAE, coverage, naive baselines,
  seconds), on the ENTSO-E directory in ``EP_ENTSOE_DIR``.

Auth is not in the measured path (no interceptor): these measure the prediction service itself.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import pandas as pd

from common.config import from_env
from common.server import ServerConfig, start_server
from energypulse.prediction.v1 import forecast_pb2
from energypulse.prediction.v1 import prediction_service_pb2 as pb
from energypulse.prediction.v1 import prediction_service_pb2_grpc as pb_grpc

__all__ = ["backtest_mae", "predict_batch_throughput", "price_forecast_latency", "run_all"]

ROOT = Path(__file__).resolve().parents[1]
ENTSOE_DIR = Path(os.environ.get("EP_ENTSOE_DIR", ROOT.parent / "shared" / "data" / "entsoe"))


async def _with_server(body: Any) -> Any:
    from predict_svc.config import PredictConfig
    from predict_svc.model import TrainParams, save_model, train_model
    from predict_svc.server import build, services
    from predict_svc.synthetic import generate_market, load_params

    now = pd.Timestamp.now(tz="UTC")
    with tempfile.TemporaryDirectory() as tmp:
        frame = generate_market(load_params("NO1"), now - pd.Timedelta(days=200), now, seed=1)
        model = train_model(
            frame, "NO1", params=TrainParams(rounds=30, num_leaves=15, multi_rows=5000), source="synthetic"
        )
        save_model(model, Path(tmp) / "NO1.json")
        config = from_env(PredictConfig, {}, zones=("NO1",), model_dir=tmp, accuracy_window_hours=24)
        app = build(config)
        running = await start_server(ServerConfig(port=0), services(app))
        channel = grpc.aio.insecure_channel(
            f"127.0.0.1:{running.port}", options=[("grpc.max_receive_message_length", 64 << 20)]
        )
        try:
            return await body(pb_grpc.PredictionServiceStub(channel))
        finally:
            await channel.close()
            await running.stop(None)


def predict_batch_throughput(rows: int = 50_000, batch: int = 10_000) -> dict[str, float]:
    """Household rows per second through PredictBatch (``rows`` in batches of ``batch``)."""
    rng = np.random.default_rng(0)
    requests = []
    for start in range(0, rows, batch):
        requests.append(
            pb.PredictBatchRequest(
                households=[
                    forecast_pb2.HouseholdInput(
                        household_id=f"hh-{i}",
                        zone="NO1",
                        recent_hourly_kw=list(rng.uniform(0.2, 3, 24)),
                        residents=2,
                        heating="heat_pump",
                        daily_peaks_kw=[3.0, 4.5, 5.0],
                    )
                    for i in range(start, min(start + batch, rows))
                ]
            )
        )

    async def body(stub: pb_grpc.PredictionServiceStub) -> dict[str, float]:
        await stub.PredictBatch(requests[0])  # warm-up: first forecast of the hour
        started = time.perf_counter()
        total = 0
        for request in requests:
            response = await stub.PredictBatch(request)
            total += len(response.predictions)
        seconds = time.perf_counter() - started
        return {"rows": float(total), "seconds": seconds, "rows_per_s": total / seconds}

    return asyncio.run(_with_server(body))


def price_forecast_latency(calls: int = 2000, concurrency: int = 1) -> dict[str, float]:
    """GetPriceForecast latency percentiles (ms) over ``calls`` calls."""

    async def body(stub: pb_grpc.PredictionServiceStub) -> dict[str, float]:
        request = pb.GetPriceForecastRequest(zone="NO1", horizon_hours=24)
        await stub.GetPriceForecast(request)  # warm-up
        latencies: list[float] = []

        async def worker(n: int) -> None:
            for _ in range(n):
                started = time.perf_counter()
                await stub.GetPriceForecast(request)
                latencies.append((time.perf_counter() - started) * 1000)

        await asyncio.gather(*(worker(calls // concurrency) for _ in range(concurrency)))
        values = np.array(latencies)
        return {
            "calls": float(len(values)),
            "p50_ms": float(np.percentile(values, 50)),
            "p99_ms": float(np.percentile(values, 99)),
            "max_ms": float(values.max()),
        }

    return asyncio.run(_with_server(body))


def backtest_mae(
    zones: tuple[str, ...] = ("NO1", "NO2", "NO5"),
    data_dir: Path = ENTSOE_DIR,
    train_end: str = "2023-12-31",
    test_start: str = "2024-01-01",
    test_end: str = "2024-12-31",
) -> dict[str, dict[str, float]]:
    """The backtest per zone: model MAE/coverage, naive MAEs, improvement factor, seconds."""
    from predict_svc.backtest import run_backtest

    out: dict[str, dict[str, float]] = {}
    for zone in zones:
        result = run_backtest(data_dir, zone, train_end, test_start, test_end)
        out[zone] = {
            "hours": float(result.hours),
            "mae": result.model["mae"],
            "rmse": result.model["rmse"],
            "coverage_p10_p90": result.model["coverage_p10_p90"],
            "naive_24h_mae": result.naive_24h["mae"],
            "naive_168h_mae": result.naive_168h["mae"],
            "improvement_vs_naive_24h": result.naive_24h["mae"] / result.model["mae"],
            "seconds": result.seconds,
        }
    return out


def run_all() -> dict[str, Any]:
    return {
        "predict_batch": predict_batch_throughput(),
        "price_forecast": price_forecast_latency(),
        "backtest": backtest_mae(),
    }


if __name__ == "__main__":
    import json

    print(
        json.dumps(
            {"predict_batch": predict_batch_throughput(), "price_forecast": price_forecast_latency()},
            indent=1,
        )
    )
