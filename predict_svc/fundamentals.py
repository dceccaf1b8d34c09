"""Market fundamentals (hydro reservoirs, fuel and carbon closes, weather) as known at an issue time.

:class:`FundamentalsProvider` is the interface the day-ahead model reads; :class:`FileFundamentals`
reads the shared files (``reservoir_NO_<z>.csv``, ``commodities_daily.csv``,
``weather_daily_NO_<z>.csv``, see their README). Live providers (NVE for reservoirs, Open-Meteo's
forecast for weather) implement the same method; they are not built yet, the files implementation
is the only one today.

Publication lags, for a forecast of delivery day ``D`` issued at 10:00 CET on ``D-1``:

* reservoir: the latest weekly row whose ``published`` date is before ``D-1`` (NVE publishes on
  the Wednesday after the week; the hour is unknown, so the publication day itself is not used);
* daily closes (TTF gas, EUA carbon, Brent, EUR/NOK): closes up to ``D-2`` (the close of ``D-1``
  comes after the issue time); weekends and holidays carry the last close forward;
* weather: the files hold *observed* daily means, so only days up to ``D-2`` are used (``D-1`` is
  not over at 10:00): lagged observations, never a perfect forecast of ``D``.

Every feature is NaN where its source is missing, and a whole source may be absent (the model
then runs without it and the backtest says so).
"""

from __future__ import annotations

import csv
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from predict_svc.market import file_suffix

__all__ = ["FUNDAMENTAL_FEATURES", "FileFundamentals", "FundamentalsProvider", "find_fundamentals_dir"]

FUNDAMENTAL_FEATURES: tuple[str, ...] = (
    "reservoir_fill",
    "reservoir_dev",
    "gas_ttf",
    "gas_ttf_chg7",
    "carbon_eua",
    "brent",
    "eur_nok",
    "temp_lag",
    "temp_mean7",
)

_DAY = np.timedelta64(1, "D")


class FundamentalsProvider(Protocol):
    """Daily fundamentals known at 10:00 CET on ``D-1`` for each delivery day ``D``."""

    def features(self, zone: str, days: np.ndarray) -> dict[str, np.ndarray]:
        """One value per delivery day (``datetime64[D]``) for each of :data:`FUNDAMENTAL_FEATURES`."""
        ...

    def describe(self) -> str:
        """What the provider reads (for the backtest output)."""
        ...


def _read(path: Path) -> tuple[list[str], list[list[str]]]:
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    return rows[0], rows[1:]


def _floats(rows: list[list[str]], at: int) -> np.ndarray:
    return np.array([float(r[at]) if at < len(r) and r[at].strip() else np.nan for r in rows])


def _as_of(dates: np.ndarray, values: np.ndarray, when: np.ndarray) -> np.ndarray:
    """The last finite value with date <= ``when`` (NaN before the first)."""
    ok = np.isfinite(values)
    d, v = dates[ok], values[ok]
    pos = np.searchsorted(d, when, side="right") - 1
    out = np.full(len(when), np.nan)
    has = pos >= 0
    out[has] = v[pos[has]]
    return out


def find_fundamentals_dir(explicit: Path | str | None, data_dir: Path | str) -> Path | None:
    """``explicit`` if given, else ``data_dir`` when it holds the files, else None."""
    if explicit is not None:
        return Path(explicit)
    candidate = Path(data_dir)
    if (candidate / "commodities_daily.csv").exists() or any(candidate.glob("reservoir_*.csv")):
        return candidate
    return None


class FileFundamentals:
    """:class:`FundamentalsProvider` over a directory in the shared fundamentals layout."""

    def __init__(self, directory: Path | str) -> None:
        self.directory = Path(directory)
        if not self.directory.is_dir():
            raise ValueError(f"fundamentals directory {self.directory} does not exist")

    def describe(self) -> str:
        return f"files:{self.directory}"

    def sources(self, zone: str) -> list[str]:
        """The source files present for ``zone``."""
        suffix = file_suffix(zone)
        names = [f"reservoir_{suffix}.csv", "commodities_daily.csv", f"weather_daily_{suffix}.csv"]
        return [n for n in names if (self.directory / n).exists()]

    def features(self, zone: str, days: np.ndarray) -> dict[str, np.ndarray]:
        days = np.asarray(days, dtype="datetime64[D]")
        issue = days - _DAY  # the issue day D-1
        n = len(days)
        out = {name: np.full(n, np.nan) for name in FUNDAMENTAL_FEATURES}
        suffix = file_suffix(zone)
        reservoir = self.directory / f"reservoir_{suffix}.csv"
        if reservoir.exists():
            header, rows = _read(reservoir)
            published = np.array([r[header.index("published")] for r in rows], dtype="datetime64[D]")
            order = np.argsort(published, kind="stable")
            published = published[order]
            fill = _floats(rows, header.index("fill_pct"))[order]
            median = _floats(rows, header.index("median_fill_pct"))[order]
            when = issue - _DAY  # published strictly before D-1
            out["reservoir_fill"] = _as_of(published, fill, when)
            out["reservoir_dev"] = _as_of(published, fill - median, when)
        commodities = self.directory / "commodities_daily.csv"
        if commodities.exists():
            header, rows = _read(commodities)
            dates = np.array([r[0] for r in rows], dtype="datetime64[D]")
            closes_to = days - 2 * _DAY
            for name, column in (
                ("gas_ttf", "gas_ttf_eur_mwh"),
                ("carbon_eua", "carbon_eua_eur_t"),
                ("brent", "oil_brent_usd_bbl"),
                ("eur_nok", "eur_nok"),
            ):
                if column in header:
                    out[name] = _as_of(dates, _floats(rows, header.index(column)), closes_to)
            if "gas_ttf_eur_mwh" in header:
                gas = _floats(rows, header.index("gas_ttf_eur_mwh"))
                out["gas_ttf_chg7"] = out["gas_ttf"] - _as_of(dates, gas, closes_to - 7 * _DAY)
        weather = self.directory / f"weather_daily_{suffix}.csv"
        if weather.exists():
            header, rows = _read(weather)
            if "temperature_2m" in header:
                dates = np.array([r[0] for r in rows], dtype="datetime64[D]")
                temp = _floats(rows, header.index("temperature_2m"))
                lag = days - 2 * _DAY  # last full observed day at 10:00 on D-1
                out["temp_lag"] = _as_of(dates, temp, lag)
                # exact-date lookups for the 7-day mean (missing days stay missing)
                index = {d: v for d, v in zip(dates.tolist(), temp.tolist(), strict=True)}
                week = (
                    np.array(
                        [
                            [index.get(d - np.timedelta64(j, "D").item(), np.nan) for j in range(7)]
                            for d in lag.tolist()
                        ]
                    )
                    if n
                    else np.zeros((0, 7))
                )
                with np.errstate(all="ignore"), warnings.catch_warnings():
                    warnings.simplefilter("ignore", category=RuntimeWarning)  # an all-NaN week is NaN
                    out["temp_mean7"] = np.nanmean(week, axis=1) if n else np.zeros(0)
        return out


def temperature_series(
    provider: FileFundamentals, zone: str, hours: Sequence[np.datetime64] | np.ndarray
) -> np.ndarray:
    """Hourly temperature feature for the one-step model: the observed daily mean of the UTC day
    before each hour (a lagged observation, known before the hour)."""
    times = np.asarray(hours, dtype="datetime64[h]")
    days = times.astype("datetime64[D]")
    path = provider.directory / f"weather_daily_{file_suffix(zone)}.csv"
    if not path.exists():
        return np.full(len(times), np.nan)
    header, rows = _read(path)
    dates = np.array([r[0] for r in rows], dtype="datetime64[D]")
    temp = _floats(rows, header.index("temperature_2m"))
    return _as_of(dates, temp, days - _DAY)
