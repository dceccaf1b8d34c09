"""Backtest CLI, three protocols: one-step (default), day-ahead and week-ahead.

    python -m predict_svc.backtest --data-dir DIR --zone NO1 --train-end 2023-12-31 \\
        --test-start 2024-01-01 --test-end 2024-12-31 --json
    python -m predict_svc.backtest ... --protocol day-ahead [--fundamentals-dir DIR2] \\
        [--recalibrate never|weekly|daily] [--exogenous real|substituted] --json

``--protocol day-ahead`` / ``week-ahead`` are described in :mod:`predict_svc.dayahead_backtest`;
with them ``--exogenous substituted`` scores the service's after-auction issues (the ``k = 0`` day's
load and wind/solar forecasts replaced by the day before's, for the model and the LEAR; the JSON
then has ``"exogenous": "substituted"``); the default ``real`` gives the unchanged report.
The rest of this docstring is the one-step protocol, whose interface and output are unchanged.

Dates are local calendar days in Europe/Oslo (the market's own day), inclusive at both ends.
The model is trained on every hour up to the end of ``--train-end`` (holding out its own
validation slice from that range for interval calibration) and never retrained. At each test hour
``o`` it forecasts ``o + 1`` from prices up to ``o`` and the day-ahead load and wind/solar
forecasts for ``o + 1``. Baselines: the same hour yesterday (``naive_24h``) and last week
(``naive_168h``). All scores are over the hours where the actual price and every forecast exist.

Metrics: MAE and RMSE in EUR/MWh; sMAPE in percent, ``100 * mean(2|f - a| / (|f| + |a|))`` with
0/0 counted as 0 (prices can be zero or negative, hence the absolute values); coverage is the
share of hours whose actual price lies in the model's [P10, P90] band.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd

from energy.localtime import LOCAL_TZ
from predict_svc.features import build_features
from predict_svc.fundamentals import FileFundamentals, find_fundamentals_dir, temperature_series
from predict_svc.hourly import HourlyFrame, hour64
from predict_svc.market import MarketDataError, load_market
from predict_svc.model import ModelError, PriceModel, TrainParams, check_features, train_model

__all__ = ["BacktestResult", "local_day_bounds", "main", "run_backtest", "scores"]


@dataclass(frozen=True)
class BacktestResult:
    zone: str
    hours: int
    model: dict[str, float]
    naive_24h: dict[str, float]
    naive_168h: dict[str, float]
    seconds: float

    def to_json(self) -> dict[str, Any]:
        return {
            "zone": self.zone,
            "hours": self.hours,
            "model": self.model,
            "naive_24h": self.naive_24h,
            "naive_168h": self.naive_168h,
        }


def scores(forecast: np.ndarray, actual: np.ndarray) -> dict[str, float]:
    """MAE, RMSE (EUR/MWh) and sMAPE (%) of ``forecast`` against ``actual``."""
    err = forecast - actual
    denom = np.abs(forecast) + np.abs(actual)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(denom > 0, 2 * np.abs(err) / denom, 0.0)
    return {
        "mae": float(np.mean(np.abs(err))),
        "rmse": float(np.sqrt(np.mean(err**2))),
        "smape": float(100 * np.mean(ratio)),
    }


def local_day_bounds(day: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """First and last UTC hour of local day ``day`` (23 or 25 hours on DST days)."""
    start = pd.Timestamp(day).tz_localize(LOCAL_TZ)
    end = (pd.Timestamp(day) + pd.Timedelta(days=1)).tz_localize(LOCAL_TZ)
    return start.tz_convert("UTC"), end.tz_convert("UTC") - pd.Timedelta(hours=1)


def run_backtest(
    data_dir: Path | str,
    zone: str,
    train_end: str,
    test_start: str,
    test_end: str,
    params: TrainParams | None = None,
    progress: Callable[[str], None] | None = None,
    model: PriceModel | None = None,
    fundamentals_dir: Path | str | None = None,
) -> BacktestResult:
    """Train (unless ``model`` is given) and score one step ahead on the test range.

    The temperature feature (observed daily mean of the day before, a lagged value) comes from
    the fundamentals weather files (``fundamentals_dir``, else ``data_dir`` if they are there);
    without them the model is trained without it."""
    began = time.perf_counter()
    say = progress or (lambda _msg: None)
    frame = load_market(data_dir, zone)
    _, train_last = local_day_bounds(train_end)
    test_first, _ = local_day_bounds(test_start)
    _, test_last = local_day_bounds(test_end)
    if test_first <= train_last:
        raise ValueError("the test range must start after --train-end")
    if test_first > frame.index.max() or test_last < frame.index.min():
        raise ValueError(f"no data in the test range for {zone}")
    say(f"loaded {zone}: {len(frame)} hours {frame.index.min()} .. {frame.index.max()}")
    temperature = None
    found = find_fundamentals_dir(fundamentals_dir, data_dir)
    if found is not None:
        series = temperature_series(FileFundamentals(found), zone, frame.index.tz_convert(None).to_numpy())
        temperature = series if np.isfinite(series).any() else None
    say(
        f"temperature feature: {'lagged daily observations from ' + str(found) if temperature is not None else 'none'}"
    )
    if model is None:
        params = params or TrainParams(multi_horizon=False, week_ahead_days=0)
        model = train_model(
            frame,
            zone,
            train_end=train_last,
            params=params,
            temperature=temperature,
            progress=lambda msg, frac: say(f"training {zone} [{frac * 100:3.0f}%] {msg}"),
        )
    fs = build_features(
        HourlyFrame.from_frame(frame), 1, temperature if "temperature" in model.features else None
    )
    mask = (fs.target_index >= hour64(test_first)) & (fs.target_index <= hour64(test_last))
    # A model configured with a feature the test rows lack would be scored on NaN inputs: refuse.
    check_features(fs.subset(mask), model.features, "backtest rows")
    actual = frame["price"].to_numpy()[mask]
    lo, mid, hi = model.predict_features(fs.subset(mask), 1)
    price = frame["price"]
    naive24 = price.shift(24).to_numpy()[mask]
    naive168 = price.shift(168).to_numpy()[mask]
    ok = np.isfinite(actual) & np.isfinite(mid) & np.isfinite(naive24) & np.isfinite(naive168)
    if ok.sum() == 0:
        raise ValueError(f"no scorable hours in the test range for {zone}")
    model_scores = scores(mid[ok], actual[ok])
    model_scores["coverage_p10_p90"] = float(np.mean((actual[ok] >= lo[ok]) & (actual[ok] <= hi[ok])))
    result = BacktestResult(
        zone=zone,
        hours=int(ok.sum()),
        model=model_scores,
        naive_24h=scores(naive24[ok], actual[ok]),
        naive_168h=scores(naive168[ok], actual[ok]),
        seconds=time.perf_counter() - began,
    )
    say(f"scored {result.hours} hours in {result.seconds:.1f} s: model MAE {model_scores['mae']:.2f}")
    return result


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m predict_svc.backtest", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--data-dir", required=True, type=Path, help="directory in the ENTSO-E CSV layout")
    parser.add_argument("--zone", required=True, help="bidding zone, e.g. NO1 (reads *_NO_1.csv)")
    parser.add_argument("--train-end", required=True, help="last training day (YYYY-MM-DD, inclusive)")
    parser.add_argument("--test-start", required=True, help="first test day (YYYY-MM-DD)")
    parser.add_argument("--test-end", required=True, help="last test day (YYYY-MM-DD, inclusive)")
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    parser.add_argument("--rounds", type=int, default=None, help="boosting rounds per quantile")
    parser.add_argument(
        "--protocol",
        choices=("one-step", "day-ahead", "week-ahead"),
        default="one-step",
        help="one-step (default): next hour from every hour; day-ahead: all hours of D issued at "
        "10:00 CET on D-1; week-ahead: the same issue for D..D+6",
    )
    parser.add_argument(
        "--fundamentals-dir", type=Path, help="fundamentals files (default: --data-dir if there)"
    )
    parser.add_argument(
        "--recalibrate", choices=("never", "weekly", "daily"), default="weekly", help="day-/week-ahead refits"
    )
    parser.add_argument(
        "--exogenous",
        choices=("real", "substituted"),
        default="real",
        help="day-/week-ahead: real (default): D's published load and wind/solar forecasts; "
        "substituted: D's replaced by D-1's, as the service does after the auction (model and LEAR)",
    )
    parser.add_argument(
        "--no-res-forecast", action="store_true", help="day-/week-ahead without wind/solar forecasts"
    )
    parser.add_argument(
        "--neighbours",
        action="store_true",
        help="day-/week-ahead: the LightGBM also reads the other zones' D-1 prices in --data-dir "
        "(under evaluation: not the served model; the JSON lists them)",
    )
    parser.add_argument(
        "--lear-window", type=int, default=1456, help="LEAR calibration window in days (the paper's: 1456)"
    )
    parser.add_argument(
        "--lear-windows",
        type=_ints,
        help="calibration windows (days) of the model's LEAR ensemble, comma-separated (default: 1456; the paper's ensemble: 56,84,1092,1456)",
    )
    parser.add_argument(
        "--upper-levels",
        type=_floats,
        help="quantile levels above P90, comma-separated (default: the shipped)",
    )
    parser.add_argument(
        "--save-forecasts", type=Path, help="day-/week-ahead: also write the raw forecasts of D to this .npz"
    )
    return parser


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(v) for v in text.split(","))


def _floats(text: str) -> tuple[float, ...]:
    return tuple(float(v) for v in text.split(","))


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.protocol == "one-step" and args.exogenous != "real":
        parser.error("--exogenous substituted needs --protocol day-ahead or week-ahead")
    if args.protocol == "one-step" and args.neighbours:
        parser.error("--neighbours needs --protocol day-ahead or week-ahead")

    def say(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    if args.protocol != "one-step":
        from predict_svc.dayahead import DayAheadParams
        from predict_svc.dayahead_backtest import MODEL_LEAR_WINDOWS, print_report, run_day_ahead
        from predict_svc.lear import LearConfig

        extra: dict[str, object] = {}
        if args.upper_levels is not None:
            extra["upper_levels"] = args.upper_levels
        try:
            report = run_day_ahead(
                args.data_dir,
                args.zone,
                args.train_end,
                args.test_start,
                args.test_end,
                protocol=args.protocol,
                recalibrate=args.recalibrate,
                fundamentals_dir=args.fundamentals_dir,
                rounds=args.rounds,
                use_res_forecast=not args.no_res_forecast,
                progress=say,
                lear_config=LearConfig(calibration_days=args.lear_window),
                lear_windows=args.lear_windows or MODEL_LEAR_WINDOWS,
                params=DayAheadParams(use_res_forecast=not args.no_res_forecast, **extra),  # type: ignore[arg-type]
                save_forecasts=args.save_forecasts,
                exogenous=args.exogenous,
                neighbours=args.neighbours,
            )
        except (MarketDataError, ModelError, ValueError) as exc:
            print(f"backtest failed: {exc}", file=sys.stderr)
            return 2
        if args.json:
            sys.stdout.write(orjson.dumps(report).decode() + "\n")
        else:
            print_report(report)
        return 0
    try:
        result = run_backtest(
            args.data_dir,
            args.zone,
            args.train_end,
            args.test_start,
            args.test_end,
            params=TrainParams(
                multi_horizon=False, rounds=args.rounds or TrainParams.rounds, week_ahead_days=0
            ),
            progress=say,
            fundamentals_dir=args.fundamentals_dir,
        )
    except (MarketDataError, ModelError, ValueError) as exc:
        print(f"backtest failed: {exc}", file=sys.stderr)
        return 2
    if args.json:
        sys.stdout.write(orjson.dumps(result.to_json()).decode() + "\n")
    else:
        doc = result.to_json()
        print(f"{doc['zone']}: {doc['hours']} hours")
        for name in ("model", "naive_24h", "naive_168h"):
            print(f"  {name:<11} " + "  ".join(f"{k}={v:.3f}" for k, v in doc[name].items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
