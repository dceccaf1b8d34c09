"""The periods of a billed local month and the per-period rates they carry (shared by households).

A :class:`PeriodCalendar` is built once per (zone prices, rule set, grid company, location class)
and month; every household of a batch is settled against it. Periods are quarter-hours or hours
(``minutes``), sorted, inside one local month of :data:`energy.localtime.LOCAL_TZ` (DST months
simply have 92 or 100 fewer or more quarters: nothing assumes 24-hour days).
"""

from __future__ import annotations

from calendar import monthrange
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

import numpy as np
import numpy.typing as npt

from energy.fx import FxSource, eur_mwh_to_micro_per_kwh
from energy.localtime import LOCAL_TZ, zone
from energy.ratebook import GridTariff, RateBook, Validity

__all__ = ["IntArray", "PeriodCalendar", "build_calendar"]

IntArray = npt.NDArray[np.int64]
HOUR_MS = 3_600_000


@dataclass(frozen=True)
class PeriodCalendar:
    """Per-period facts of one month (arrays of length T, or of the month's hours / days)."""

    year: int
    month: int
    minutes: int
    start_ms: IntArray
    local_dates: tuple[date, ...]  # per period
    spot_micro: IntArray  # µ/kWh, the period's area price in the rule set's currency
    grid_micro: IntArray  # grid energy part of the period (day or night)
    elavgift_micro: IntArray
    enova_micro: IntArray
    vat_bp: IntArray
    hour_starts: IntArray  # index of each clock hour's first period (for np.add.reduceat)
    hour_dates: tuple[date, ...]
    day_starts_in_hours: IntArray  # index of each local day's first hour
    days_in_month: int
    grid_versions: tuple[tuple[Validity, GridTariff], ...]  # the grid tariff entries of the month
    fx_rates: tuple[tuple[date, str], ...]  # the EUR/NOK rate used per local day (for the invoice)

    @property
    def periods(self) -> int:
        return len(self.start_ms)


def build_calendar(
    book: RateBook,
    grid_company: str,
    municipality: str,
    year: int,
    month: int,
    start_ms: npt.ArrayLike,
    spot_eur_mwh: npt.ArrayLike,
    fx: FxSource,
    minutes: int = 15,
    tz: str = LOCAL_TZ,
) -> PeriodCalendar:
    """The calendar of ``year-month`` for these periods (raises on a gap in any rate or FX)."""
    if minutes < 1 or 60 % minutes:
        raise ValueError("the settlement period divides the hour (15 or 60 minutes, typically)")
    starts = np.asarray(start_ms, dtype=np.int64)
    spot = np.asarray(spot_eur_mwh, dtype=float)
    if starts.ndim != 1 or starts.shape != spot.shape or len(starts) == 0:
        raise ValueError("start_ms and spot_eur_mwh must be equal-length, non-empty 1-d arrays")
    if np.any(np.diff(starts) <= 0) or np.any(starts % (minutes * 60_000)):
        raise ValueError(f"periods must be increasing and aligned to {minutes} minutes")
    if not np.all(np.isfinite(spot)):
        raise ValueError("a period without a spot price cannot be billed")
    tzinfo = zone(tz)
    local = [datetime.fromtimestamp(int(ms) / 1000, tz=UTC).astimezone(tzinfo) for ms in starts]
    dates = tuple(d.date() for d in local)
    if any((d.year, d.month) != (year, month) for d in dates):
        raise ValueError(f"every period must lie in the local month {year}-{month:02d}")
    grid = book.grid(grid_company)
    vat_exempt = book.location.vat_exempt(municipality)
    el_exempt = book.location.elavgift_exempt(municipality)
    per_day: dict[date, tuple[int, int, int, GridTariff, Decimal]] = {}
    fx_used: dict[date, str] = {}
    for d in sorted(set(dates)):
        rate = fx.rate_on(d)
        fx_used[d] = str(rate)
        per_day[d] = (
            0 if el_exempt else book.elavgift.at(d),
            book.enova.at(d),
            0 if vat_exempt else book.vat_bp.at(d),
            grid.at(d),
            rate,
        )
    n = len(starts)
    spot_micro = np.empty(n, dtype=np.int64)
    grid_micro = np.empty(n, dtype=np.int64)
    el = np.empty(n, dtype=np.int64)
    en = np.empty(n, dtype=np.int64)
    vat = np.empty(n, dtype=np.int64)
    for i, (dt, d) in enumerate(zip(local, dates, strict=True)):
        e, nv, v, tariff, fx_rate = per_day[d]
        spot_micro[i] = eur_mwh_to_micro_per_kwh(float(spot[i]), fx_rate)
        grid_micro[i] = (
            tariff.day_micro_per_kwh if tariff.is_day(dt.hour, dt.weekday()) else tariff.night_micro_per_kwh
        )
        el[i], en[i], vat[i] = e, nv, v
    hours = starts // HOUR_MS
    hour_starts = np.flatnonzero(np.r_[True, hours[1:] != hours[:-1]]).astype(np.int64)
    hour_dates = tuple(dates[int(i)] for i in hour_starts)
    day_starts = np.flatnonzero(
        np.r_[
            True,
            np.array([a != b for a, b in zip(hour_dates[1:], hour_dates[:-1], strict=False)], dtype=bool),
        ]
    ).astype(np.int64)
    days_in_month = monthrange(year, month)[1]
    first, last = date(year, month, 1), date(year, month, days_in_month)
    versions = tuple(
        (v, t)
        for v, t in grid.entries
        if v.valid_from <= last and (v.valid_until is None or v.valid_until > first)
    )
    return PeriodCalendar(
        year,
        month,
        minutes,
        starts,
        dates,
        spot_micro,
        grid_micro,
        el,
        en,
        vat,
        hour_starts,
        hour_dates,
        day_starts,
        days_in_month,
        versions,
        tuple(sorted(fx_used.items())),
    )
