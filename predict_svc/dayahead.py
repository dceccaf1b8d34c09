"""The day-ahead (and week-ahead) LightGBM quantile model, trained on the protocol itself.

One row per target hour: issue at 10:00 CET on ``D-1`` (panel row ``r = D-1``), target day
``T = D + k`` (``k`` = horizon day, 0 for the day-ahead protocol), hour ``h``. Every feature is
known at the issue time (see :mod:`predict_svc.protocols`):

* prices of ``D-1 .. D-7`` at hour ``h``, the same hour one week before ``T``, and the daily mean,
  min, max and spread of ``D-1`` and its last hour, all *level-free*: ``asinh((x - m) / s)`` with
  ``m``/``s`` the median and MAD of the last seven known days (the asinh-median scaling of
  Uniejewski et al. applied per issue, so 2022's price levels and 2020's share one scale); the
  target is the same transform of the price of ``T, h`` and forecasts are mapped back with sinh;
* ``asinh(m)`` and ``log(s)`` themselves (the level and volatility regime);
* load and wind + solar forecasts of ``D`` at ``h`` and their daily means relative to the last
  week's; for ``k >= 1`` the forecasts of ``T`` are not known at issue time, so ``D``'s are used;
* calendar of ``T`` (hour, weekday, day of year, Norwegian holiday) and ``k``;
* daily fundamentals known at the issue time (:mod:`predict_svc.fundamentals`) when given;
* when given, other zones' prices of ``D-1`` (published on ``D-2``, so known at issue): each
  zone's price at hour ``h`` on the issue's own scale and its daily-mean gap to this zone's.

Quantiles P10/P50/P90 are three LightGBM pinball-loss boosters; the P10-P90 band is calibrated per
horizon day by a conformal offset measured on the last :attr:`DayAheadParams.calibration_days`
of the training range (fit on the rest, then refit on all), or on blocked cross-fits. The upper
levels :attr:`DayAheadParams.upper_levels` (P95 .. P99.9: the spike tail three quantiles cannot
express) are more boosters, each moved per horizon day by a one-sided conformal offset measured on
the same held-out rows (so that a share ``level`` of them lies below it), then kept above P90.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import holidays
import numpy as np

from predict_svc.model import quantile_lgb_params
from predict_svc.protocols import HOURS, DayPanel
from predict_svc.quantiles import UPPER_LEVELS, monotone

__all__ = ["DA_FEATURES", "DayAheadModel", "DayAheadParams", "da_design", "fit_day_ahead", "refit_p50"]

_MAD_C = 0.6744897501960817
_PRICE_LAGS = tuple(range(0, 7))  # rows r - j: D-1 .. D-7

DA_FEATURES: tuple[str, ...] = (
    *(f"p_d-{j + 1}" for j in _PRICE_LAGS),
    "p_t-7",
    "d1_mean",
    "d1_min",
    "d1_max",
    "d1_spread",
    "d1_last",
    "level",
    "log_scale",
    "load",
    "load_rel_day",
    "load_rel_hour",
    "res",
    "res_rel_day",
    "res_share",
    "hour",
    "dow",
    "doy",
    "holiday",
    "horizon_day",
)


@dataclass(frozen=True)
class DayAheadParams:
    rounds: int = 400
    learning_rate: float = 0.04
    num_leaves: int = 31
    min_data_in_leaf: int = 50
    feature_fraction: float = 0.8
    bagging_fraction: float = 0.8
    calibration_days: int = 120
    # 0: the band's offsets come from one validation fit holding out the last calibration_days
    # issues; n > 0: from n blocked cross-fits (each block of issues held out, 7 days of gap on
    # both sides so no target is shared), so every season of the range is scored out of sample
    # (the served week-ahead model: a trailing window of one season miscalibrates the others).
    calibration_folds: int = 0
    # One thread: on a shared 2-core machine OpenMP's barriers wait for descheduled threads
    # (measured here under load: far slower than one thread).
    threads: int = 1
    seed: int = 7
    use_res_forecast: bool = True
    # Quantile levels above P90 (each one more booster): the spike probabilities come from them.
    upper_levels: tuple[float, ...] = UPPER_LEVELS
    # Recency weighting of the training rows: weight 0.5 ** (age / half_life_days), age = days
    # from a row's target day to the newest target of the fit (None: equal weights). Off: on 2023
    # (trained through 2022) a 365-day half-life helped NO2, not NO1 or NO5 (BENCHMARKS.md).
    half_life_days: float | None = None
    # The same for the P50 booster only (overrides half_life_days for it; None: as the others).
    p50_half_life_days: float | None = None

    def lgb(self, alpha: float) -> dict[str, object]:
        return quantile_lgb_params(self, alpha)


@dataclass(frozen=True)
class Design:
    X: np.ndarray  # float32 (rows, features)
    y: np.ndarray  # scaled target (NaN where unknown)
    issue_row: np.ndarray  # r = D-1
    target_row: np.ndarray  # T
    hour: np.ndarray
    horizon_day: np.ndarray
    m: np.ndarray
    s: np.ndarray
    names: tuple[str, ...]

    def take(self, rows: np.ndarray | slice) -> Design:
        """The rows ``rows`` (a mask, indices or a slice), every column."""
        return Design(
            self.X[rows],
            self.y[rows],
            self.issue_row[rows],
            self.target_row[rows],
            self.hour[rows],
            self.horizon_day[rows],
            self.m[rows],
            self.s[rows],
            self.names,
        )


def _holidays(days: np.ndarray) -> np.ndarray:
    years = sorted({int(str(d)[:4]) for d in days.tolist()}) if len(days) else []
    cal = holidays.country_holidays("NO", years=years) if years else {}
    return np.array([d in cal for d in days.tolist()], dtype=float)


def da_design(
    panel: DayPanel,
    issue_rows: np.ndarray,
    horizon_days: tuple[int, ...] = (0,),
    fundamentals: dict[str, np.ndarray] | None = None,
    use_res_forecast: bool = True,
    neighbours: dict[str, np.ndarray] | None = None,
    after_auction: bool = False,
) -> Design:
    """Rows for issues ``issue_rows`` (panel rows of ``D-1``) and each horizon day and hour.

    ``fundamentals`` maps names to one value per *panel row* (the delivery day ``D = r + 1`` of the
    issue is looked up at ``r + 1``); ``neighbours`` maps other zones to their price matrices on
    the panel's rows. Reads only panel rows ``<= r`` for prices and row ``r + 1`` for the
    exogenous forecasts. ``after_auction``: the rows as the service builds them after the auction,
    when ``D``'s load and wind/solar forecasts are not yet out and the day before's stand in
    (:func:`predict_svc.weekahead.substitute_unknown_day`): the exogenous columns read row ``r``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=RuntimeWarning)  # all-missing days stay NaN
        return _da_design(
            panel, issue_rows, horizon_days, fundamentals, use_res_forecast, neighbours, after_auction
        )


def _da_design(
    panel: DayPanel,
    issue_rows: np.ndarray,
    horizon_days: tuple[int, ...],
    fundamentals: dict[str, np.ndarray] | None,
    use_res_forecast: bool,
    neighbours: dict[str, np.ndarray] | None = None,
    after_auction: bool = False,
) -> Design:
    n = len(panel)
    issue_rows = np.asarray(issue_rows, dtype=np.int64)
    issue_rows = issue_rows[(issue_rows >= 7) & (issue_rows + 1 < n)]
    price = panel.price
    blocks: dict[str, list[np.ndarray]] = {}
    meta: dict[str, list[np.ndarray]] = {k: [] for k in ("issue", "target", "hour", "k", "m", "s", "y")}
    hol = _holidays(panel.days)
    doy = (panel.days - panel.days.astype("datetime64[Y]")).astype(np.int64) + 1
    wd = panel.weekday
    for k in horizon_days:
        r = issue_rows[issue_rows + 1 + k < n] if k else issue_rows
        if not len(r):  # every target of this horizon day lies past the panel
            continue
        t = r + 1 + k
        week = np.stack([price[r - j] for j in range(7)], axis=1).reshape(len(r), -1)  # (rows, 168)
        m = np.median(week, axis=1)
        s = np.maximum(np.median(np.abs(week - m[:, None]), axis=1) / _MAD_C, 1.0)

        def z(x: np.ndarray, m: np.ndarray = m, s: np.ndarray = s) -> np.ndarray:
            return np.asarray(np.arcsinh((x - m[:, None]) / s[:, None]))

        cols: dict[str, np.ndarray] = {}
        for j in _PRICE_LAGS:
            cols[f"p_d-{j + 1}"] = z(price[r - j])
        cols["p_t-7"] = z(price[t - 7])
        d1 = price[r]
        ones = np.ones((1, HOURS))
        cols["d1_mean"] = z(np.nanmean(d1, axis=1)[:, None] * ones)
        cols["d1_min"] = z(np.nanmin(d1, axis=1)[:, None] * ones)
        cols["d1_max"] = z(np.nanmax(d1, axis=1)[:, None] * ones)
        cols["d1_spread"] = ((np.nanmax(d1, axis=1) - np.nanmin(d1, axis=1)) / s)[:, None] * ones
        cols["d1_last"] = z(d1[:, -1][:, None] * ones)
        cols["level"] = np.arcsinh(m)[:, None] * ones
        cols["log_scale"] = np.log(s)[:, None] * ones
        d = r + 1  # the delivery day D: its fundamentals
        exo = r if after_auction else d  # exogenous forecasts known at issue: those of D
        load_week = np.nanmean(np.stack([panel.load[r - j] for j in range(7)]), axis=(0, 2))
        load_d = panel.load[exo]
        with np.errstate(all="ignore"):
            cols["load"] = load_d
            cols["load_rel_day"] = (np.nanmean(load_d, axis=1) / load_week)[:, None] * ones
            cols["load_rel_hour"] = load_d / np.nanmean(load_d, axis=1)[:, None]
            if use_res_forecast:
                res_d = panel.res[exo]
                res_week = np.nanmean(np.stack([panel.res[r - j] for j in range(7)]), axis=(0, 2))
                cols["res"] = res_d
                cols["res_rel_day"] = (
                    (np.nanmean(res_d, axis=1) - res_week)[:, None]
                    * ones
                    / np.maximum(load_week, 1.0)[:, None]
                )
                cols["res_share"] = res_d / load_d
            else:
                for name in ("res", "res_rel_day", "res_share"):
                    cols[name] = np.full((len(r), HOURS), np.nan)
        cols["hour"] = ((np.arange(HOURS) + panel.hour0) % HOURS)[None, :] * np.ones((len(r), 1))
        cols["dow"] = wd[t][:, None] * ones
        cols["doy"] = doy[t][:, None] * ones
        cols["holiday"] = hol[t][:, None] * ones
        cols["horizon_day"] = np.full((len(r), HOURS), float(k))
        if fundamentals:
            for name, values in fundamentals.items():
                cols[f"f_{name}"] = np.asarray(values)[d][:, None] * ones
        for zone, other in (neighbours or {}).items():
            cols[f"nb_{zone}_d-1"] = z(other[r])
            gap = (np.nanmean(other[r], axis=1) - np.nanmean(d1, axis=1)) / s
            cols[f"nb_{zone}_gap"] = gap[:, None] * ones
        for name, values in cols.items():
            blocks.setdefault(name, []).append(np.asarray(values, dtype=float).reshape(-1))
        meta["issue"].append(np.repeat(r, HOURS))
        meta["target"].append(np.repeat(t, HOURS))
        meta["hour"].append(np.tile(np.arange(HOURS), len(r)))
        meta["k"].append(np.full(len(r) * HOURS, k))
        meta["m"].append(np.repeat(m, HOURS))
        meta["s"].append(np.repeat(s, HOURS))
        meta["y"].append(z(price[t]).reshape(-1))
    names = tuple(blocks)
    X = np.column_stack([np.concatenate(blocks[nm]) for nm in names]).astype(np.float32)
    cat = {key: np.concatenate(v) for key, v in meta.items()}
    return Design(X, cat["y"], cat["issue"], cat["target"], cat["hour"], cat["k"], cat["m"], cat["s"], names)


@dataclass
class DayAheadModel:
    boosters: list[object]  # lightgbm Boosters (or TreeEnsembles) P10, P50, P90, then upper_levels
    offsets: dict[int, float]  # conformal widening of the P10-P90 band per horizon day (scaled units)
    names: tuple[str, ...]
    upper_levels: tuple[float, ...] = ()
    # level -> horizon day -> one-sided conformal shift of that booster (scaled units)
    upper_offsets: dict[float, dict[int, float]] = field(default_factory=dict)
    # The held-out rows the offsets came from, as served (EUR/MWh): quantiles (rows x levels) and
    # prices; what a tail calibration map is fitted on. Not saved with a model.
    heldout: tuple[np.ndarray, np.ndarray] | None = None
    # The same offsets measured on the held-out rows as built after the auction (D's exogenous
    # forecasts replaced by the day before's, ``da_design(after_auction=True)``): the inputs are
    # older, the errors larger, so a band calibrated on real inputs under-covers there. Empty:
    # not measured (the offsets above serve both).
    after_offsets: dict[int, float] = field(default_factory=dict)
    after_upper_offsets: dict[float, dict[int, float]] = field(default_factory=dict)

    def predict(self, design: Design) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        lo, mid, hi, _upper = self.predict_all(design)
        return lo, mid, hi

    def predict_all(
        self, design: Design, after_auction: bool = False
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[float, np.ndarray]]:
        """P10, P50, P90 and the upper levels (EUR/MWh), non-decreasing across levels;
        ``after_auction``: ``design`` holds substituted inputs, widen by :attr:`after_offsets`."""
        raw = np.vstack([b.predict(design.X) for b in self.boosters])  # type: ignore[attr-defined]
        band, upper = self.offsets_for(after_auction)
        out = _served(raw, design.horizon_day, design.m, design.s, band, upper, self.upper_levels)
        return out[0], out[1], out[2], dict(zip(self.upper_levels, out[3:], strict=True))

    def offsets_for(self, after_auction: bool) -> tuple[dict[int, float], dict[float, dict[int, float]]]:
        """The band's and the upper levels' offsets for inputs as known before the auction, or
        after it (falling back to the former where not measured)."""
        if after_auction and self.after_offsets:
            return self.after_offsets, self.after_upper_offsets
        return self.offsets, self.upper_offsets


def _served(
    raw: np.ndarray,
    horizon_day: np.ndarray,
    m: np.ndarray,
    s: np.ndarray,
    offsets: dict[int, float],
    upper_offsets: dict[float, dict[int, float]],
    upper_levels: tuple[float, ...],
) -> list[np.ndarray]:
    """Raw booster outputs (levels x rows, scaled) -> the served quantiles (EUR/MWh, one array per
    level): band sorted and widened, upper levels shifted, non-decreasing, transformed back."""
    band = np.sort(raw[:3], axis=0)
    off = _per_row(offsets, horizon_day)
    scaled = [band[0] - off, band[1], band[2] + off]
    for i, level in enumerate(upper_levels):
        scaled.append(raw[3 + i] + _per_row(upper_offsets.get(level, {}), horizon_day))
    q = monotone(np.column_stack(scaled))
    return [np.asarray(np.sinh(q[:, j]) * s + m) for j in range(q.shape[1])]


def _per_row(offsets: dict[int, float], horizon_day: np.ndarray) -> np.ndarray:
    if not offsets:
        return np.zeros(len(horizon_day))
    top = max(offsets.values())
    return np.array([offsets.get(int(k), top) for k in horizon_day])


def _levels(params: DayAheadParams) -> tuple[float, ...]:
    return (0.1, 0.5, 0.9, *params.upper_levels)


def _weights(design: Design, mask: np.ndarray, half_life: float | None) -> np.ndarray | None:
    if not half_life:
        return None
    age = design.target_row[mask].max() - design.target_row[mask]
    return np.asarray(0.5 ** (age / half_life))


def _train(
    design: Design, mask: np.ndarray, params: DayAheadParams, levels: tuple[float, ...] | None = None
) -> list[object]:
    """One booster per level (all of the model's by default), on the rows of ``mask``."""
    import lightgbm as lgb

    data: dict[float | None, lgb.Dataset] = {}

    def dataset(half_life: float | None) -> lgb.Dataset:
        if half_life not in data:
            data[half_life] = lgb.Dataset(
                design.X[mask],
                design.y[mask],
                weight=_weights(design, mask, half_life),
                feature_name=list(design.names),
                free_raw_data=False,
            )
        return data[half_life]

    out: list[object] = []
    for q in levels if levels is not None else _levels(params):
        half_life = (
            params.p50_half_life_days if q == 0.5 and params.p50_half_life_days else params.half_life_days
        )
        out.append(lgb.train(params.lgb(q), dataset(half_life), num_boost_round=params.rounds))
    return out


def refit_p50(model: DayAheadModel, design: Design, params: DayAheadParams) -> DayAheadModel:
    """``model`` with only its P50 booster refit on every row of ``design`` with a known target
    (the band, the upper levels and every offset kept)."""
    usable = np.isfinite(design.y)
    boosters = list(model.boosters)
    boosters[1] = _train(design, usable, params, (0.5,))[0]
    return replace(model, boosters=boosters)


@dataclass
class _Scores:
    """Held-out conformity scores: the band's (``max(P10 - y, y - P90)``) and ``y - Pq`` for each
    upper level, with the horizon day of each row."""

    band: list[np.ndarray] = field(default_factory=list)
    upper: list[np.ndarray] = field(default_factory=list)  # (rows, upper levels)
    k: list[np.ndarray] = field(default_factory=list)
    raw: list[np.ndarray] = field(default_factory=list)  # (levels, rows) scaled predictions
    y: list[np.ndarray] = field(default_factory=list)
    m: list[np.ndarray] = field(default_factory=list)
    s: list[np.ndarray] = field(default_factory=list)

    def add(self, boosters: list[object], design: Design, rows: np.ndarray) -> None:
        pred = np.vstack([b.predict(design.X[rows]) for b in boosters])  # type: ignore[attr-defined]
        band = np.sort(pred[:3], axis=0)
        y = design.y[rows]
        self.band.append(np.maximum(band[0] - y, y - band[2]))
        self.upper.append((y[None, :] - pred[3:]).T)
        self.k.append(design.horizon_day[rows])
        self.raw.append(pred)
        self.y.append(y)
        self.m.append(design.m[rows])
        self.s.append(design.s[rows])

    def heldout(
        self, band: dict[int, float], upper: dict[float, dict[int, float]], levels: tuple[float, ...]
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """The held-out rows' quantiles with the final offsets (EUR/MWh) and their prices."""
        if not self.raw:
            return None
        m, s = np.concatenate(self.m), np.concatenate(self.s)
        out = _served(np.concatenate(self.raw, axis=1), np.concatenate(self.k), m, s, band, upper, levels)
        return np.column_stack(out), np.sinh(np.concatenate(self.y)) * s + m

    def offsets(
        self, ks: list[int], levels: tuple[float, ...], min_rows: int
    ) -> tuple[dict[int, float], dict[float, dict[int, float]]]:
        band = {k: 0.0 for k in ks}
        upper: dict[float, dict[int, float]] = {lv: {k: 0.0 for k in ks} for lv in levels}
        if not self.band:
            return band, upper
        score, up, k_all = np.concatenate(self.band), np.concatenate(self.upper), np.concatenate(self.k)
        for k in ks:
            sel = k_all == k
            if sel.sum() < min_rows:
                continue
            band[k] = float(np.quantile(score[sel], 0.8))
            for i, lv in enumerate(levels):
                upper[lv][k] = float(np.quantile(up[sel, i], lv))
        return band, upper


def fit_day_ahead(
    design: Design,
    params: DayAheadParams,
    progress: Callable[[str], None] | None = None,
    after_auction: Design | None = None,
    keep_from: DayAheadModel | None = None,
) -> DayAheadModel:
    """Fit on every row with a known target; conformal offsets per horizon day from a validation
    fit that holds out the last ``calibration_days`` issues, or from blocked cross-fits (unless
    ``keep_from`` is given: a refit keeping every offset of that first fit).

    ``after_auction``: the same rows (same order) built with ``da_design(after_auction=True)``;
    the held-out fits also score them, giving :attr:`DayAheadModel.after_offsets`."""
    usable = np.isfinite(design.y)
    levels = tuple(params.upper_levels)
    if keep_from is not None:
        return replace(keep_from, boosters=_train(design, usable, params), heldout=None)
    if after_auction is not None and after_auction.X.shape != design.X.shape:
        raise ValueError("after_auction must hold the same rows and columns as design")
    ks = [int(k) for k in np.unique(design.horizon_day)]
    scores, after = _Scores(), _Scores()
    min_rows = 1
    if params.calibration_folds > 0:
        _cross_fit(design, usable, params, progress, scores, after_auction, after)
        min_rows = 100
    else:
        last = design.issue_row[usable].max()
        val = usable & (design.issue_row > last - params.calibration_days)
        fit = usable & ~val
        if fit.sum() > 5000 and val.sum() > 500:
            boosters = _train(design, fit, params)
            scores.add(boosters, design, val)
            if after_auction is not None:
                after.add(boosters, after_auction, val)
    band, upper = scores.offsets(ks, levels, min_rows)
    after_band, after_upper = after.offsets(ks, levels, min_rows) if after.band else ({}, {})
    if progress is not None:
        progress(f"day-ahead model: fitting on {int(usable.sum())} rows")
    return DayAheadModel(
        _train(design, usable, params),
        band,
        design.names,
        levels,
        upper,
        scores.heldout(band, upper, levels),
        after_band,
        after_upper,
    )


def _cross_fit(
    design: Design,
    usable: np.ndarray,
    params: DayAheadParams,
    progress: Callable[[str], None] | None,
    scores: _Scores,
    after_auction: Design | None = None,
    after: _Scores | None = None,
) -> None:
    """Held-out scores from blocked cross-fits over the issues (see
    :attr:`DayAheadParams.calibration_folds`), and of the after-auction rows when given."""
    issues = np.unique(design.issue_row[usable])
    blocks = np.array_split(issues, params.calibration_folds)
    for i, block in enumerate(blocks):
        if not len(block):
            continue
        lo, hi = block.min(), block.max()
        held = usable & (design.issue_row >= lo) & (design.issue_row <= hi)
        fit = usable & ((design.issue_row < lo - 7) | (design.issue_row > hi + 7))
        if fit.sum() < 2000 or not held.any():
            continue
        if progress is not None:
            progress(f"day-ahead model: calibration fold {i + 1}/{len(blocks)}")
        boosters = _train(design, fit, params)
        scores.add(boosters, design, held)
        if after_auction is not None and after is not None:
            after.add(boosters, after_auction, held)
