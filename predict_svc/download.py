"""Download a zone's market series from ENTSO-E into the CSV layout :mod:`predict_svc.market` reads.

    ENTSOE_API_KEY=... python -m predict_svc.download --zone NO1 --start 2025-01-01 \\
        --end 2025-03-31 --out-dir DIR

Uses ``entsoe-py`` (``EntsoePandasClient``); the client is injected into :func:`download`, so tests
run on recorded-format frames without network. Files are written with the local UTC offset in the
``datetime`` column (exactly like the shared data), and merged with an existing file: rows for
the downloaded range replace the old ones, other rows are kept.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

import pandas as pd

from energy.localtime import LOCAL_TZ
from predict_svc.market import file_suffix

__all__ = ["MarketClient", "download", "main", "write_series"]


class MarketClient(Protocol):
    """The subset of ``entsoe.EntsoePandasClient`` used here."""

    def query_day_ahead_prices(
        self, country_code: str, *, start: pd.Timestamp, end: pd.Timestamp
    ) -> pd.Series: ...

    def query_load_forecast(
        self, country_code: str, *, start: pd.Timestamp, end: pd.Timestamp
    ) -> pd.Series | pd.DataFrame: ...

    def query_load(
        self, country_code: str, *, start: pd.Timestamp, end: pd.Timestamp
    ) -> pd.Series | pd.DataFrame: ...

    def query_wind_and_solar_forecast(
        self, country_code: str, *, start: pd.Timestamp, end: pd.Timestamp
    ) -> pd.DataFrame: ...


def _frame(data: pd.Series | pd.DataFrame, column: str) -> pd.DataFrame:
    """entsoe-py returns a Series or a one-column frame depending on version and query."""
    if isinstance(data, pd.Series):
        return data.rename(column).to_frame()
    frame = pd.DataFrame(data)
    return frame.iloc[:, :1].set_axis([column], axis=1)


def write_series(path: Path, frame: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> int:
    """Merge ``frame`` (tz-aware index) into the CSV at ``path``; returns rows written."""
    new = frame.copy()
    new.index = pd.DatetimeIndex(new.index).tz_convert(LOCAL_TZ)
    if path.exists():
        old = pd.read_csv(path, dtype=str, keep_default_na=False)
        old_index = pd.to_datetime(old["datetime"], utc=True, format="ISO8601")
        outside = (old_index < start.tz_convert("UTC")) | (old_index >= end.tz_convert("UTC"))
        old = old[outside.to_numpy()]
    else:
        old = None
    out = pd.DataFrame({"datetime": [str(t) for t in new.index]})
    for column in new.columns:
        out[column] = ["" if pd.isna(v) else repr(round(float(v), 3)) for v in new[column]]
    if old is not None and len(old):
        out = pd.concat([old.reindex(columns=out.columns, fill_value=""), out], ignore_index=True)
        out = out.iloc[pd.to_datetime(out["datetime"], utc=True, format="ISO8601").argsort(kind="stable")]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".csv.tmp")
    out.to_csv(tmp, index=False)
    tmp.replace(path)
    return len(new)


def download(
    client: MarketClient,
    zone: str,
    start: pd.Timestamp,
    end: pd.Timestamp,
    out_dir: Path,
    progress: Callable[[str], None] = lambda _m: None,
    series: tuple[str, ...] | None = None,
) -> dict[str, int]:
    """Fetch the four series of ``zone`` (or those named in ``series``) for ``[start, end)`` and
    write them to ``out_dir``."""
    code = file_suffix(zone)
    rows: dict[str, int] = {}
    jobs: list[tuple[str, Callable[[], pd.DataFrame]]] = [
        (
            "day_ahead_prices",
            lambda: _frame(client.query_day_ahead_prices(code, start=start, end=end), "price_eur_mwh"),
        ),
        (
            "load_forecast",
            lambda: _frame(client.query_load_forecast(code, start=start, end=end), "load_forecast_mw"),
        ),
        ("actual_load", lambda: _frame(client.query_load(code, start=start, end=end), "load_mw")),
        (
            "wind_solar_forecast",
            lambda: pd.DataFrame(client.query_wind_and_solar_forecast(code, start=start, end=end)).reindex(
                columns=["Solar", "Wind Offshore", "Wind Onshore"]
            ),
        ),
    ]
    for prefix, fetch in jobs:
        if series is not None and prefix not in series:
            continue
        progress(f"downloading {prefix} for {zone}")
        frame = fetch()
        rows[prefix] = write_series(out_dir / f"{prefix}_{code}.csv", frame, start, end)
    return rows


def main(argv: Sequence[str] | None = None, client: MarketClient | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m predict_svc.download")
    parser.add_argument("--zone", required=True)
    parser.add_argument("--start", required=True, help="first local day, YYYY-MM-DD")
    parser.add_argument("--end", required=True, help="last local day, YYYY-MM-DD (inclusive)")
    parser.add_argument("--out-dir", required=True, type=Path)
    parser.add_argument(
        "--token", default=os.environ.get("ENTSOE_API_KEY", ""), help="default: $ENTSOE_API_KEY"
    )
    parser.add_argument(
        "--prices-only",
        action="store_true",
        help="only day-ahead prices, with the built-in A44 client (predict_svc.entsoe_api; no"
        " entsoe-py; URL from $EP_ENTSOE_API_URL)",
    )
    args = parser.parse_args(argv)
    start = pd.Timestamp(args.start).tz_localize(LOCAL_TZ)
    end = (pd.Timestamp(args.end) + pd.Timedelta(days=1)).tz_localize(LOCAL_TZ)
    if client is None and args.prices_only and args.token:
        from predict_svc.entsoe_api import EntsoeA44Client

        client = EntsoeA44Client(token=args.token)  # type: ignore[assignment]
    if client is None:
        if not args.token:
            print("download: set ENTSOE_API_KEY or pass --token", file=sys.stderr)
            return 2
        from entsoe.entsoe import EntsoePandasClient  # optional dependency, only for live downloads

        client = EntsoePandasClient(api_key=args.token)
    only = ("day_ahead_prices",) if args.prices_only else None
    rows = download(client, args.zone, start, end, args.out_dir, lambda m: print(m, file=sys.stderr), only)
    for name, count in rows.items():
        print(f"{name}: {count} rows")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
