"""Spot or Norgespris: a month on the household's contract and on the other, and the projection.

Both sides use the household's own consumption and its supplier's markup and monthly fee (a
Norgespris household keeps its supplier contract; only the grid bill's settlement differs). A
month before Norgespris existed (2025-10-01) has no "other" side: ``other_minor`` is ``None``.

Projection of the rest of the month (:func:`project_month`): ``paths`` simulated futures, each a
price path and a consumption path, billed whole by :func:`energy.bill.engine.settle` (one batch
row per path); the band is the 10th/50th/90th percentile of the *month totals* across paths, never
a sum of per-period quantiles (quantiles do not add).

* Prices inside the forecast horizon (7 days): each path draws one market level ``z_path`` ~ N(0,1)
  shared by all its periods (forecast errors are strongly correlated within weeks) plus daily
  noise ``z_day`` ~ N(0, 0.5^2); the period's price is its forecast P50 plus the P50->P90 (z > 0) or
  P10->P50 (z < 0) spread times ``(z_path + z_day) / 1.2816`` (1.2816 = the normal's 90% point),
  i.e. the forecast's own quantiles define the marginal spread.
* Beyond the horizon, the documented seasonal estimate: the period's price is the mean, at the
  same local hour of day, of the month's known prices so far (actuals and forecast P50), and its
  spread is ``seasonal_sigma`` (default 35 %, relative) of that level in both directions.
* Consumption: the household's mean Wh per local hour of day so far this month, times one
  log-normal factor per path (sigma ``consumption_sigma``, default 10 %).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from energy.bill.calendar import IntArray, PeriodCalendar
from energy.bill.engine import div_round_np, settle
from energy.bill.invoice import NANO_PER_MINOR, Contract, bill, rows_for
from energy.ratebook import RateBook, RateGapError

__all__ = ["MonthComparison", "Projection", "compare_month", "comparison_csv", "project_month"]

Z90 = 1.2815515655446004


def _other(scheme: str) -> str:
    return "norgespris" if scheme == "spot" else "spot"


@dataclass(frozen=True)
class MonthComparison:
    """A month's cost on the contract's scheme and on the other (minor units, VAT included)."""

    year: int
    month: int
    scheme: str
    contract_minor: int
    other_scheme: str
    other_minor: int | None
    import_wh: int
    through_day: int
    days_in_month: int

    @property
    def saving_minor(self) -> int | None:
        """What switching would have saved (positive: the other scheme is cheaper)."""
        return None if self.other_minor is None else self.contract_minor - self.other_minor


def compare_month(
    book: RateBook,
    cal: PeriodCalendar,
    contract: Contract,
    import_wh: npt.ArrayLike,
    export_wh: npt.ArrayLike | None = None,
    through_day: int | None = None,
) -> MonthComparison:
    own = bill(book, cal, contract, import_wh, export_wh, through_day)
    other_scheme = _other(contract.scheme)
    try:
        other: int | None = bill(
            book, cal, replace(contract, scheme=other_scheme), import_wh, export_wh, through_day
        ).total_minor
    except RateGapError:
        other = None  # the other scheme did not exist in (part of) this month
    return MonthComparison(
        cal.year,
        cal.month,
        contract.scheme,
        own.total_minor,
        other_scheme,
        other,
        own.import_wh,
        own.through_day,
        cal.days_in_month,
    )


@dataclass(frozen=True)
class Projection:
    """Month-end totals (minor units) on both schemes: P10, P50, P90 across simulated paths."""

    scheme: str
    contract_minor: tuple[int, int, int]
    other_scheme: str
    other_minor: tuple[int, int, int] | None
    paths: int
    horizon_periods: int  # periods priced from the forecast; the rest from the seasonal estimate


def _band(totals_minor: npt.NDArray[np.int64]) -> tuple[int, int, int]:
    q = np.percentile(totals_minor.astype(float), [10, 50, 90], method="nearest")
    return (int(q[0]), int(q[1]), int(q[2]))


def project_month(
    book: RateBook,
    cal: PeriodCalendar,
    contract: Contract,
    known_import_wh: npt.ArrayLike,
    known_periods: int,
    forecast_micro: tuple[npt.ArrayLike, npt.ArrayLike, npt.ArrayLike],
    *,
    paths: int = 500,
    seed: int = 0,
    seasonal_sigma: float = 0.35,
    consumption_sigma: float = 0.10,
) -> Projection:
    """Project the month from its first ``known_periods`` (actual energy and prices).

    ``cal`` covers the whole month; its spot prices for known periods are actuals (the rest are
    ignored). ``forecast_micro`` = (P10, P50, P90) in µ/kWh for the periods right after the known
    ones (at most the rest of the month; typically 7 days).
    """
    known = np.asarray(known_import_wh, dtype=np.int64)[:known_periods]
    p10, p50, p90 = (np.asarray(a, dtype=float) for a in forecast_micro)
    t = cal.periods
    rest = t - known_periods
    horizon = min(len(p50), rest)
    rng = np.random.default_rng(seed)
    local_hour = _local_hours(cal)
    # prices
    prices = np.empty((paths, t), dtype=float)
    prices[:, :known_periods] = cal.spot_micro[:known_periods]
    day_of = np.array([d.toordinal() for d in cal.local_dates])
    z_path = rng.standard_normal((paths, 1))
    days = np.unique(day_of[known_periods:]) if rest else np.array([], dtype=int)
    z_day_tab = rng.standard_normal((paths, len(days))) * 0.5
    z = z_path + (z_day_tab[:, np.searchsorted(days, day_of[known_periods:])] if rest else 0.0)
    z_h = z[:, :horizon] / Z90
    up, down = (p90 - p50)[:horizon], (p50 - p10)[:horizon]
    prices[:, known_periods : known_periods + horizon] = p50[:horizon] + np.where(
        z_h > 0, z_h * up, z_h * down
    )
    if rest > horizon:
        level_src = np.r_[cal.spot_micro[:known_periods].astype(float), p50[:horizon]]
        hours_src = local_hour[: known_periods + horizon]
        level = np.array(
            [
                level_src[hours_src == hr].mean() if np.any(hours_src == hr) else level_src.mean()
                for hr in range(24)
            ]
        )
        far = level[local_hour[known_periods + horizon :]]
        prices[:, known_periods + horizon :] = far * (1.0 + seasonal_sigma * z[:, horizon:] / Z90)
    # consumption
    energy = np.empty((paths, t), dtype=np.int64)
    energy[:, :known_periods] = known
    if rest:
        if known_periods:
            per_hour = np.array(
                [
                    known[local_hour[:known_periods] == hr].mean()
                    if np.any(local_hour[:known_periods] == hr)
                    else known.mean()
                    for hr in range(24)
                ]
            )
        else:
            per_hour = np.zeros(24)
        factor = np.exp(rng.standard_normal((paths, 1)) * consumption_sigma - consumption_sigma**2 / 2)
        energy[:, known_periods:] = np.rint(per_hour[local_hour[known_periods:]] * factor).astype(np.int64)
    spot_rows: IntArray = np.rint(prices).astype(np.int64)

    def totals(c: Contract) -> npt.NDArray[np.int64]:
        rows = rows_for(book, cal, [c] * paths, energy, np.zeros_like(energy))
        comps = settle(book, cal, rows, spot_rows=spot_rows)
        total = np.zeros(paths, dtype=np.int64)
        for k in comps.amount:  # the invoice rule: each line rounded to the ore, then summed
            total += div_round_np(comps.amount[k], NANO_PER_MINOR) + div_round_np(
                comps.vat[k], NANO_PER_MINOR
            )
        return total

    own = _band(totals(contract))
    other_scheme = _other(contract.scheme)
    try:
        other: tuple[int, int, int] | None = _band(totals(replace(contract, scheme=other_scheme)))
    except RateGapError:
        other = None
    return Projection(contract.scheme, own, other_scheme, other, paths, horizon)


def _local_hours(cal: PeriodCalendar) -> npt.NDArray[np.int64]:
    from datetime import UTC, datetime

    from energy.localtime import LOCAL_TZ, zone

    tz = zone(LOCAL_TZ)
    return np.array(
        [datetime.fromtimestamp(int(ms) / 1000, tz=UTC).astimezone(tz).hour for ms in cal.start_ms]
    )


def _money(minor: int | None, nb: bool) -> str:
    if minor is None:
        return ""
    text = f"{minor / 100:.2f}"
    return text.replace(".", ",") if nb else text


def _kwh(wh: int, nb: bool) -> str:
    text = f"{wh / 1000:.3f}"
    return text.replace(".", ",") if nb else text


def comparison_csv(rows: Iterable[MonthComparison], *, nb_no: bool = False) -> str:
    """CSV of comparisons; ``nb_no``: ``;`` separated with decimal commas (Norwegian spreadsheets)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";" if nb_no else ",", lineterminator="\n")
    writer.writerow(
        [
            "month",
            "through_day",
            "contract_scheme",
            "contract_total",
            "other_scheme",
            "other_total",
            "saving",
            "import_kwh",
        ]
    )
    for r in rows:
        writer.writerow(
            [
                f"{r.year}-{r.month:02d}",
                r.through_day,
                r.scheme,
                _money(r.contract_minor, nb_no),
                r.other_scheme,
                _money(r.other_minor, nb_no),
                _money(r.saving_minor, nb_no),
                _kwh(r.import_wh, nb_no),
            ]
        )
    return out.getvalue()
