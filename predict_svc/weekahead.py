"""The served week-ahead model: the day-ahead LightGBM design (:mod:`predict_svc.dayahead`) with
one pooled group per horizon day ``k = 0 .. 6``, stored in the price-model artifact.

*Direct*, not chained: each target hour of delivery day ``D + k`` is forecast from what is known at
the issue (prices through the last published day, the load and wind/solar forecasts of ``D``,
the daily fundamentals known then), with ``k`` a feature. The P10-P90 band is calibrated per
horizon day (a conformal offset measured on the last ``calibration_days`` issues of a validation
fit, see :func:`predict_svc.dayahead.fit_day_ahead`), so the band of ``D+6`` is as wide as the
errors of ``D+6`` were, not the 24-hour model's band stretched by a guess.

Live, the issue is the end of the last published delivery day (:meth:`WeekAheadModel.forecast`):
rows of 24 hours ending there (:meth:`predict_svc.protocols.DayPanel.ending_at`), so ``k = 0`` is the
first unpublished day. Before the auction that is tomorrow, after it the day after.

After the auction (~12:45 CET on ``D-1``) the first unpublished day is ``D+1``, whose day-ahead load
forecast (and wind/solar forecast) is only published at ~10:00 CET on ``D``. In that gap the
model's ``k = 0`` exogenous inputs are not known; the forecast then uses *the latest known
day-ahead forecast, one day older* (the row before, the last published day, same CET hours) and
says so in :attr:`WeekAheadForecast.substituted`. Only rows that are in the frame are read, and
a live frame holds only what has arrived, so no value from after the issue is used.

Serving evaluates the trees with numpy (:mod:`predict_svc.trees`); lightgbm is imported only by
:func:`train_week_ahead`.
"""

from __future__ import annotations

import base64
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import numpy as np

from predict_svc.dayahead import DA_FEATURES, DayAheadModel, DayAheadParams, Design, da_design, fit_day_ahead
from predict_svc.fundamentals import FUNDAMENTAL_FEATURES, FundamentalsProvider
from predict_svc.hourly import HOUR, HourlyFrame, hour64
from predict_svc.protocols import DayPanel
from predict_svc.trees import TreeEnsemble, TreeFormatError

__all__ = [
    "DROPPED_FEATURES",
    "HISTORY_DAYS",
    "SUBSTITUTABLE",
    "WEEK_DAYS",
    "FeatureMissingError",
    "WeekAheadForecast",
    "WeekAheadModel",
    "hours_of",
    "substitute_unknown_day",
    "train_week_ahead",
]

WEEK_DAYS = 7  # horizon days k = 0 .. 6
HISTORY_DAYS = 8  # rows before the issue the design reads (D-1 .. D-7 and the week before T)
_MAX_ROWS = 150_000  # training rows sampled (the pooled design has 7 x 24 rows per issue)
# Design columns the served model leaves out. Day of year: with one or two years of history each
# blocked cross-fit holds out the only examples of its season, so its held-out errors were larger
# than the final model's and the bands came out wide (synthetic NO1: 84-86% P10-P90 coverage at
# D+3..D+6 with it, 77-82% without; BENCHMARKS.md). The season still shows in the price level,
# scale and load features.
DROPPED_FEATURES = ("doy",)
# Exogenous series of the k = 0 day that may be replaced by the day before's when not yet known
# (panel attribute -> the market column it comes from).
SUBSTITUTABLE = {"load": "load_forecast", "res": "wind_solar_forecast"}


def _columns(design: Design, names: tuple[str, ...], rows: np.ndarray | None = None) -> Design:
    """``design`` restricted to the columns ``names`` (in that order) and to ``rows``."""
    idx = [design.names.index(n) for n in names]
    part = design.take(slice(None) if rows is None else rows)
    return replace(part, X=part.X[:, idx], names=names)


class FeatureMissingError(ValueError):
    """A configured feature has no value at all in the rows a model trains or forecasts on."""


def _guard(design: Design, configured: tuple[str, ...], rows: np.ndarray, where: str) -> None:
    missing = [
        name
        for name in configured
        if name in design.names and not np.isfinite(design.X[rows, design.names.index(name)]).any()
    ]
    if missing:
        raise FeatureMissingError(
            f"configured features entirely missing in the {where}: {', '.join(missing)}"
        )


def _configured(use_res_forecast: bool, fundamentals: tuple[str, ...]) -> tuple[str, ...]:
    res = ("res", "res_share") if use_res_forecast else ()
    return ("load", *res, *(f"f_{n}" for n in fundamentals))


@dataclass(frozen=True)
class WeekAheadForecast:
    """Quantiles for consecutive hours from ``start`` (UTC) with the horizon day of each."""

    start: np.datetime64
    horizon_day: np.ndarray
    p10: np.ndarray
    p50: np.ndarray
    p90: np.ndarray
    upper: dict[float, np.ndarray] = field(default_factory=dict)  # level (0.95 .. 0.999) -> prices
    # Series (market column names, e.g. "load_forecast") of the k = 0 day that were not known at
    # the issue and were replaced by the latest known day's (one day older); empty: none.
    substituted: tuple[str, ...] = ()


def substitute_unknown_day(panel: DayPanel, row: int, use_res: bool) -> tuple[DayPanel, tuple[str, ...]]:
    """``panel`` with the exogenous forecasts of ``row`` (the k = 0 day) replaced by those of
    ``row - 1`` where the whole day is missing (not yet published) and the day before has values:
    the latest known day-ahead forecast, one day older, for the same CET hours. Returns the names
    of the replaced series (market columns)."""
    changed: dict[str, np.ndarray] = {}
    for attr in SUBSTITUTABLE:
        if attr == "res" and not use_res:
            continue
        values = getattr(panel, attr)
        if np.isfinite(values[row]).any() or not np.isfinite(values[row - 1]).any():
            continue
        values = values.copy()
        values[row] = values[row - 1]
        changed[attr] = values
    if not changed:
        return panel, ()
    load, res = changed.get("load", panel.load), changed.get("res", panel.res)
    return replace(panel, load=load, res=res), tuple(SUBSTITUTABLE[a] for a in changed)


@dataclass(frozen=True)
class WeekAheadModel:
    boosters: tuple[TreeEnsemble, ...]  # P10, P50, P90, then upper_levels (scaled target)
    offsets: dict[int, float]  # conformal widening per horizon day (scaled units)
    names: tuple[str, ...]  # design columns, in order
    fundamentals: tuple[str, ...] = ()  # daily fundamentals the model was trained with
    use_res_forecast: bool = True
    metrics: dict[str, float] = field(default_factory=dict)
    upper_levels: tuple[float, ...] = ()  # quantile levels above P90 (artifacts before: none)
    upper_offsets: dict[float, dict[int, float]] = field(default_factory=dict)
    # Offsets measured on held-out rows built as after the auction (k = 0 exogenous substituted),
    # used when a forecast substituted them; artifacts before: none (the offsets above serve).
    after_offsets: dict[int, float] = field(default_factory=dict)
    after_upper_offsets: dict[float, dict[int, float]] = field(default_factory=dict)

    @property
    def days(self) -> int:
        return max(self.offsets) + 1

    @property
    def configured(self) -> tuple[str, ...]:
        """Design columns that must carry values (the guard's list): load, wind/solar when used,
        and every fundamental."""
        return _configured(self.use_res_forecast, self.fundamentals)

    def forecast(
        self,
        frame: HourlyFrame,
        issue_end: datetime | np.datetime64,
        hours: int,
        fundamentals: FundamentalsProvider | None = None,
        zone: str = "",
    ) -> WeekAheadForecast:
        """The ``hours`` hours from ``issue_end`` (the end of the last published day; prices from
        it on are not read). Hours past ``days * 24`` (a 25-hour DST day in the week) repeat the
        last hour of the last horizon day.

        Raises :class:`FeatureMissingError` when a configured feature (a fundamental the model
        was trained with, the load forecast) has no value in the rows of this issue even after
        the k = 0 day's unknown exogenous forecasts were replaced by the day before's
        (:func:`substitute_unknown_day`, reported in :attr:`WeekAheadForecast.substituted`)."""
        end = hour64(issue_end)
        panel = DayPanel.ending_at(frame, end, HISTORY_DAYS, self.days)
        panel, substituted = substitute_unknown_day(panel, HISTORY_DAYS, self.use_res_forecast)
        fund = None
        if self.fundamentals:
            if fundamentals is None:
                raise FeatureMissingError(
                    f"configured features entirely missing at runtime: {', '.join(self.fundamentals)}"
                    " (no fundamentals provider)"
                )
            values = fundamentals.features(zone, panel.days)
            fund = {n: np.asarray(values.get(n, np.full(len(panel), np.nan))) for n in self.fundamentals}
        r = HISTORY_DAYS - 1
        design = da_design(panel, np.array([r]), tuple(range(self.days)), fund, self.use_res_forecast)
        if not set(self.names) <= set(design.names):
            raise FeatureMissingError(f"runtime design columns {design.names} lack some of {self.names}")
        design = _columns(design, self.names)
        _guard(design, self.configured, np.arange(len(design.y)), "runtime rows")
        lo, mid, hi, upper = self._model().predict_all(design, after_auction=bool(substituted))
        order = np.lexsort((design.hour, design.horizon_day))
        arrays = [a[order] for a in (lo, mid, hi, design.horizon_day, *upper.values())]
        if hours > len(mid):
            pad = hours - len(mid)
            arrays = [np.concatenate([a, np.repeat(a[-1:], pad)]) for a in arrays]
        lo, mid, hi, k, *up = (a[:hours] for a in arrays)
        return WeekAheadForecast(end, k, lo, mid, hi, dict(zip(upper, up, strict=True)), substituted)

    def _model(self) -> DayAheadModel:
        return DayAheadModel(
            list(self.boosters),
            self.offsets,
            self.names,
            self.upper_levels,
            self.upper_offsets,
            after_offsets=self.after_offsets,
            after_upper_offsets=self.after_upper_offsets,
        )

    def predict(self, design: Design) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self._model().predict(design)

    def to_doc(self) -> dict[str, Any]:
        return {
            "days": self.days,
            "offsets": {str(k): v for k, v in self.offsets.items()},
            "names": list(self.names),
            "fundamentals": list(self.fundamentals),
            "use_res_forecast": self.use_res_forecast,
            "metrics": self.metrics,
            "upper_levels": list(self.upper_levels),
            "upper_offsets": _levels_doc(self.upper_offsets),
            "after_offsets": {str(k): v for k, v in self.after_offsets.items()},
            "after_upper_offsets": _levels_doc(self.after_upper_offsets),
            "boosters": [base64.b64encode(zlib.compress(b.text.encode())).decode() for b in self.boosters],
        }

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> WeekAheadModel:
        """Raises ValueError (or KeyError) on a malformed section."""
        names = tuple(str(n) for n in doc["names"])
        fundamentals = tuple(str(n) for n in doc.get("fundamentals", ()))
        allowed = set(DA_FEATURES) | {f"f_{n}" for n in FUNDAMENTAL_FEATURES}
        if not set(names) <= allowed or not set(fundamentals) <= set(FUNDAMENTAL_FEATURES):
            raise ValueError("week-ahead model was trained with a different feature set; retrain it")
        try:
            trees = [
                TreeEnsemble.parse(zlib.decompress(base64.b64decode(s)).decode()) for s in doc["boosters"]
            ]
        except (zlib.error, TreeFormatError) as exc:
            raise ValueError(f"week-ahead boosters: {exc}") from exc
        upper_levels = tuple(float(lv) for lv in doc.get("upper_levels", ()))
        if len(trees) != 3 + len(upper_levels) or not all(0.9 < lv < 1 for lv in upper_levels):
            raise ValueError(f"week-ahead: {len(trees)} boosters for levels P10, P50, P90 + {upper_levels}")
        offsets = {int(k): float(v) for k, v in doc["offsets"].items()}
        if sorted(offsets) != list(range(len(offsets))) or not offsets:
            raise ValueError("week-ahead offsets must cover horizon days 0..n-1")
        upper_offsets = _levels_from_doc(doc.get("upper_offsets", {}))
        after_offsets = {int(k): float(v) for k, v in doc.get("after_offsets", {}).items()}
        if after_offsets and sorted(after_offsets) != sorted(offsets):
            raise ValueError("week-ahead after-auction offsets must cover the same horizon days")
        return cls(
            tuple(trees),
            offsets,
            names,
            fundamentals,
            bool(doc.get("use_res_forecast", True)),
            {k: float(v) for k, v in doc.get("metrics", {}).items()},
            upper_levels,
            upper_offsets,
            after_offsets,
            _levels_from_doc(doc.get("after_upper_offsets", {})),
        )


def _levels_doc(offsets: dict[float, dict[int, float]]) -> dict[str, dict[str, float]]:
    return {str(lv): {str(k): v for k, v in off.items()} for lv, off in offsets.items()}


def _levels_from_doc(doc: dict[str, Any]) -> dict[float, dict[int, float]]:
    return {float(lv): {int(k): float(v) for k, v in off.items()} for lv, off in doc.items()}


def train_week_ahead(
    frame: HourlyFrame,
    params: DayAheadParams,
    fundamentals: FundamentalsProvider | None = None,
    zone: str = "",
    days: int = WEEK_DAYS,
    progress: Callable[[str], None] | None = None,
) -> WeekAheadModel:
    """Fit the pooled horizon-day model on every issue of ``frame`` whose target is known.

    Fundamentals are used when the provider has any value for the zone (those with none are left
    out of the configured set). Raises :class:`FeatureMissingError` when a configured feature has
    no value in the training rows and ValueError when there are too few of them."""
    import lightgbm  # noqa: F401  (training only; fails early when it is not installed)

    panel = DayPanel.from_frame(frame)
    fund: dict[str, np.ndarray] | None = None
    if fundamentals is not None:
        values = fundamentals.features(zone, panel.days)
        fund = {n: np.asarray(v) for n, v in values.items() if np.isfinite(v).any()} or None
    names = tuple(fund) if fund else ()
    issues, horizons = np.arange(7, len(panel) - 1), tuple(range(days))
    design = da_design(panel, issues, horizons, fund, params.use_res_forecast)
    # The same rows as served after the auction: their held-out errors calibrate those forecasts.
    after = da_design(panel, issues, horizons, fund, params.use_res_forecast, after_auction=True)
    usable = np.isfinite(design.y)
    if usable.sum() < 2000:
        raise ValueError(f"only {int(usable.sum())} usable week-ahead training rows; need at least 2000")
    if usable.sum() > _MAX_ROWS:
        rng = np.random.default_rng(params.seed)
        keep = rng.choice(np.flatnonzero(usable), _MAX_ROWS, replace=False)
        usable = np.zeros_like(usable)
        usable[keep] = True
    columns = tuple(n for n in design.names if n not in DROPPED_FEATURES)
    sub = _columns(design, columns, usable)
    _guard(sub, _configured(params.use_res_forecast, names), np.arange(len(sub.y)), "training rows")
    fitted = fit_day_ahead(sub, params, progress=progress, after_auction=_columns(after, columns, usable))
    trees = [TreeEnsemble.parse(b.model_to_string()) for b in fitted.boosters]  # type: ignore[attr-defined]
    metrics = {f"wa_offset_d{k}": v for k, v in fitted.offsets.items()}
    metrics.update({f"wa_after_offset_d{k}": v for k, v in fitted.after_offsets.items()})
    metrics["wa_train_rows"] = float(usable.sum())
    return WeekAheadModel(
        tuple(trees),
        dict(fitted.offsets),
        columns,
        names,
        params.use_res_forecast,
        metrics,
        fitted.upper_levels,
        fitted.upper_offsets,
        fitted.after_offsets,
        fitted.after_upper_offsets,
    )


def hours_of(forecast: WeekAheadForecast) -> np.ndarray:
    """Target hours (``datetime64[h]``) of a forecast."""
    return forecast.start + np.arange(len(forecast.p50)) * HOUR
