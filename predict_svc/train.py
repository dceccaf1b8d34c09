"""Train a price model artifact.

    python -m predict_svc.train --data-dir DIR --zone NO1 --out var/models/NO1.json
    python -m predict_svc.train --zone NO1 --out var/models/NO1.json        # synthetic market

Progress goes to stderr; the artifact's metadata (zone, training range, features, metrics,
version) is printed as JSON on stdout. The artifact is written atomically, so a running service
watching the model directory hot-reloads it.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import orjson
import pandas as pd

from predict_svc.backtest import local_day_bounds
from predict_svc.fundamentals import FileFundamentals, find_fundamentals_dir, temperature_series
from predict_svc.market import MarketDataError, load_market
from predict_svc.model import ModelError, TrainParams, save_model, train_model
from predict_svc.synthetic import generate_market, load_params

__all__ = ["main"]


class _Bar:
    """A one-line progress display on stderr."""

    def __init__(self) -> None:
        self.started = time.perf_counter()

    def __call__(self, message: str, fraction: float) -> None:
        width = 30
        filled = round(fraction * width)
        elapsed = time.perf_counter() - self.started
        sys.stderr.write(
            f"\r[{'#' * filled}{'.' * (width - filled)}] {fraction * 100:3.0f}% {elapsed:5.1f}s {message:<30}"
        )
        if fraction >= 1.0:
            sys.stderr.write("\n")
        sys.stderr.flush()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m predict_svc.train", description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, help="ENTSO-E CSV directory (default: synthetic market)")
    parser.add_argument("--zone", required=True)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--train-end", help="last training day (YYYY-MM-DD); default: all data")
    parser.add_argument("--rounds", type=int, default=TrainParams.rounds)
    parser.add_argument("--synthetic-days", type=int, default=730, help="length of the synthetic history")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--no-multi-horizon", action="store_true", help="only the next-hour model")
    parser.add_argument(
        "--max-horizon",
        type=int,
        default=192,
        help="hours ahead the artifact forecasts (25..192 pooled; 24: no long group)",
    )
    parser.add_argument(
        "--week-ahead-days",
        type=int,
        default=TrainParams.week_ahead_days,
        help="horizon days of the served week-ahead model (0: none; the runtime then chains the hourly groups)",
    )
    parser.add_argument(
        "--fundamentals-dir",
        type=Path,
        help="weather files for the temperature feature (default: --data-dir if there)",
    )
    args = parser.parse_args(argv)
    zone = args.zone.upper()
    try:
        temperature = None
        fundamentals = None
        if args.data_dir:
            frame = load_market(args.data_dir, zone)
            source = f"entsoe:{args.data_dir}"
            found = find_fundamentals_dir(args.fundamentals_dir, args.data_dir)
            if found is not None:
                series = temperature_series(
                    FileFundamentals(found), zone, frame.index.tz_convert(None).to_numpy()
                )
                temperature = series if np.isfinite(series).any() else None
                fundamentals = FileFundamentals(found)
        else:
            end = pd.Timestamp.now(tz="UTC").floor("h")
            frame = generate_market(
                load_params(zone), end - pd.Timedelta(days=args.synthetic_days), end, seed=args.seed
            )
            source = "synthetic"
        train_end = local_day_bounds(args.train_end)[1] if args.train_end else None
        params = TrainParams(
            rounds=args.rounds,
            multi_horizon=not args.no_multi_horizon,
            max_horizon=args.max_horizon if not args.no_multi_horizon else 1,
            week_ahead_days=args.week_ahead_days,
        )
        model = train_model(
            frame,
            zone,
            train_end=train_end,
            params=params,
            temperature=temperature,
            progress=_Bar(),
            source=source,
            fundamentals=fundamentals,
        )
    except (MarketDataError, ModelError, ValueError) as exc:
        print(f"train failed: {exc}", file=sys.stderr)
        return 2
    save_model(model, args.out)
    sys.stdout.write(orjson.dumps(model.metadata()).decode() + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
