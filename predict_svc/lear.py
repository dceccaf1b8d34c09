"""LEAR: the Lasso-estimated autoregressive baseline of day-ahead price forecasting.

As described by Lago, Marcjasz, De Schutter and Weron (Applied Energy 2021) and implemented in
their toolbox (epftoolbox, ``epftoolbox/models/_lear.py``), which this module follows step by step:

* one linear model per hour of the day (24), each on the same inputs of the day ``D``:
  the prices of all 24 hours of ``D-1``, ``D-2``, ``D-3`` and ``D-7`` (96 inputs); for each
  exogenous series (1 = day-ahead load forecast, 2 = wind + solar forecast summed) its 24 hours of
  ``D``, ``D-1`` and of the third lag day (72 inputs each); seven weekday dummies (Monday..Sunday);
* an exogenous series that is zero (or missing) throughout the calibration window is dropped
  (NO5 has no wind or solar forecast);
* "Invariant" scaling (asinh-median): every input except the dummies and every target column is
  centred on its median over the calibration window, divided by its MAD (the normal-consistent
  median absolute deviation, ``median(|x - median|) / 0.6745`` as ``statsmodels.robust.mad``)
  and passed through ``asinh``; the forecast is mapped back with ``sinh``;
* the Lasso penalty of each hour is chosen by the Akaike information criterion along the LARS
  path (``LassoLarsIC(criterion="aic")``) and the model is then re-estimated with coordinate
  descent Lasso at that penalty (``Lasso(alpha)``), both with at most 2500 iterations;
* a calibration window of 1456 days (four years of 364 days) ending on ``D-1``: the first week of
  the window only provides lags, so 1449 days are fitted.

Third lag of the exogenous inputs: the paper's text says ``D-7``; epftoolbox's code, which produced
the reference figures of issue 16, uses ``D-2`` (``for past_day in [1, 2]``). :data:`EXOG_LAGS`
follows the code; ``LearConfig(exog_lags=(0, 1, 7))`` gives the paper's text. BENCHMARKS.md
reports both. A column whose MAD is zero (constant over the window) is left unscaled (divided by
1) instead of producing NaN.

Ensemble over calibration windows (the paper's "LEAR ensemble", Sec. 4.3): the mean of LEARs
calibrated on 56, 84, 1092 and 1456 days (:data:`ENSEMBLE_WINDOWS`), see
:func:`lear_ensemble_forecasts`. A short window has fewer days than inputs, where the AIC's noise
variance cannot come from an OLS fit (today's scikit-learn default); there it is the variance of
the scaled target, the rule of the scikit-learn that epftoolbox ran on.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

import numpy as np

from predict_svc.protocols import HOURS, DayPanel

__all__ = [
    "ENSEMBLE_WINDOWS",
    "EXOG_LAGS",
    "PRICE_LAGS",
    "LearConfig",
    "LearModel",
    "ensemble_mean",
    "lear_design",
    "lear_ensemble_forecasts",
    "lear_forecasts",
]

PRICE_LAGS = (1, 2, 3, 7)
ENSEMBLE_WINDOWS = (56, 84, 1092, 1456)  # the paper's four calibration windows (days)
EXOG_LAGS = (0, 1, 2)
_MAD_C = 0.6744897501960817  # Phi^-1(3/4): statsmodels.robust.mad's default normalisation


@dataclass(frozen=True)
class LearConfig:
    calibration_days: int = 1456
    exog_lags: tuple[int, ...] = EXOG_LAGS
    max_iter: int = 2500
    criterion: str = "aic"


def lear_design(panel: DayPanel, exog_lags: tuple[int, ...] = EXOG_LAGS) -> tuple[np.ndarray, list[str]]:
    """The LEAR input row of every day of ``panel`` (NaN where a lag falls before the panel),
    with the column names ``price_d-1_h0``, ``load_d0_h5``, ..., ``dow_0`` .. ``dow_6``."""
    n = len(panel)

    def lagged(values: np.ndarray, lag: int) -> np.ndarray:
        out = np.full((n, HOURS), np.nan)
        if lag < n:
            out[lag:] = values[: n - lag] if lag else values
        return out

    cols: list[np.ndarray] = []
    names: list[str] = []
    for lag in PRICE_LAGS:
        cols.append(lagged(panel.price, lag))
        names += [f"price_d-{lag}_h{h}" for h in range(HOURS)]
    for label, series in (("load", panel.load), ("res", panel.res)):
        for lag in exog_lags:
            cols.append(lagged(series, lag))
            names += [f"{label}_d{-lag}_h{h}" for h in range(HOURS)]
    dummies = np.zeros((n, 7))
    dummies[np.arange(n), panel.weekday] = 1.0
    cols.append(dummies)
    names += [f"dow_{d}" for d in range(7)]
    return np.hstack(cols), names


class _Invariant:
    """epftoolbox's 'Invariant' scaler: asinh((x - median) / MAD), column by column."""

    def __init__(self, data: np.ndarray) -> None:
        self.median = np.median(data, axis=0)
        mad = np.median(np.abs(data - self.median), axis=0) / _MAD_C
        self.mad = np.where(mad > 0, mad, 1.0)

    def transform(self, data: np.ndarray) -> np.ndarray:
        return np.asarray(np.arcsinh((data - self.median) / self.mad))

    def inverse(self, data: np.ndarray) -> np.ndarray:
        return np.asarray(np.sinh(data) * self.mad + self.median)


class LearModel:
    """24 Lasso models fitted on one calibration window."""

    def __init__(self, X: np.ndarray, Y: np.ndarray, names: list[str], config: LearConfig) -> None:
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.linear_model import Lasso, LassoLarsIC
        from threadpoolctl import threadpool_limits

        keep = np.ones(X.shape[1], dtype=bool)
        for prefix in ("load_", "res_"):  # an exogenous series zero or missing throughout: dropped
            cols = np.array([n.startswith(prefix) for n in names])
            block = X[:, cols]
            if cols.any() and not (np.isfinite(block) & (block != 0)).any():
                keep &= ~cols
        self.keep = keep
        self.names = [n for n, k in zip(names, keep, strict=True) if k]
        X = X[:, keep]
        if X.shape[0] < 8:
            raise ValueError(f"LEAR needs at least 8 calibration days ({X.shape[0]} given)")
        # Fewer days than inputs: no OLS noise variance for the AIC (see the module docstring).
        short = X.shape[0] <= X.shape[1] + 1
        self.n_dummies = 7
        self.scaler_x = _Invariant(X[:, : -self.n_dummies])
        self.scaler_y = _Invariant(Y)
        Xs = X.copy()
        Xs[:, : -self.n_dummies] = self.scaler_x.transform(X[:, : -self.n_dummies])
        Ys = self.scaler_y.transform(Y)
        self.alphas = np.zeros(HOURS)
        self.coef = np.zeros((HOURS, Xs.shape[1]))
        self.intercept = np.zeros(HOURS)
        # One BLAS thread: these are small matrices, and on a busy machine multi-threaded BLAS
        # spins (20x slower measured here with 2 cores under load).
        with warnings.catch_warnings(), threadpool_limits(1):
            warnings.simplefilter("ignore", category=ConvergenceWarning)
            for h in range(HOURS):
                noise = float(np.var(Ys[:, h])) if short else None
                ic = LassoLarsIC(
                    criterion=config.criterion, max_iter=config.max_iter, noise_variance=noise
                ).fit(Xs, Ys[:, h])
                alpha = ic.alpha_
                # Coordinate descent at that penalty, started from the LARS solution at the same
                # knot (the same convex problem, so it converges to the same optimum in a few
                # sweeps) and run on the Gram matrix (n_samples > n_features): the same estimate
                # as epftoolbox's cold ``Lasso(alpha).fit``, several times faster.
                model = Lasso(alpha=alpha, max_iter=config.max_iter, precompute=True, warm_start=True)
                model.coef_ = ic.coef_.copy()
                model.fit(Xs, Ys[:, h])
                self.alphas[h] = alpha
                self.coef[h] = model.coef_
                self.intercept[h] = model.intercept_

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Prices ``(rows, 24)`` for design rows ``X`` (all columns of :func:`lear_design`)."""
        X = np.atleast_2d(X)[:, self.keep].copy()
        X[:, : -self.n_dummies] = self.scaler_x.transform(X[:, : -self.n_dummies])
        scaled = X @ self.coef.T + self.intercept
        return np.asarray(self.scaler_y.inverse(scaled))


def _calibration_rows(panel: DayPanel, X: np.ndarray, day: int, config: LearConfig) -> np.ndarray:
    """Rows of the window ending on ``day - 1``, minus its first week (lags only) and minus days
    with a missing input or price."""
    first = max(0, day - config.calibration_days) + max(PRICE_LAGS)
    rows = np.arange(first, day)
    ok = np.isfinite(panel.price[rows]).all(axis=1)
    return np.asarray(rows[ok])


def lear_forecasts(
    panel: DayPanel,
    first: int,
    last: int,
    recalibrate: str = "weekly",
    config: LearConfig | None = None,
    progress: Callable[[str], None] | None = None,
    calibrate_until: int | None = None,
    refit_days: int | None = None,
    inputs: Callable[[int], DayPanel] | None = None,
) -> np.ndarray:
    """LEAR day-ahead forecasts ``(last - first + 1, 24)`` for panel rows ``first..last``.

    Each forecast of day ``D`` uses only rows up to ``D-1`` for calibration and the inputs of
    ``D`` (prices through ``D-1``, exogenous forecasts of ``D``). ``recalibrate``: ``daily``
    refits every day (epftoolbox's own loop), ``weekly`` every seventh day from ``first``,
    ``never`` once on the window ending before ``first``. ``calibrate_until`` (a panel row) caps
    the first calibration window (the training range of a backtest); refits use every day up
    to ``D-1``, as epftoolbox's recalibration loop does. ``refit_days`` overrides the period of
    ``recalibrate`` (a cheaper stand-in for validation runs). ``inputs`` (row -> panel): the panel
    the input row of ``D`` is read from (e.g. with ``D``'s exogenous forecasts replaced by the day
    before's, the backtest's after-auction information set); calibration always reads ``panel``."""
    config = config or LearConfig()
    X, names = lear_design(panel, config.exog_lags)
    every = refit_days or {"daily": 1, "weekly": 7, "never": 10**9}[recalibrate]
    out = np.full((last - first + 1, HOURS), np.nan)
    model: LearModel | None = None
    for i, day in enumerate(range(first, last + 1)):
        if model is None or i % every == 0:
            end = day if i or calibrate_until is None else min(day, calibrate_until + 1)
            rows = _calibration_rows(panel, X, end, config)
            Xc = X[rows]
            finite = np.isfinite(Xc) | ~np.isfinite(Xc).all(axis=0)  # all-missing columns are dropped
            rows = rows[finite.all(axis=1)]
            model = LearModel(np.nan_to_num(X[rows]), panel.price[rows], names, config)
            if progress is not None:
                progress(f"LEAR recalibrated for {panel.days[day]} on {len(rows)} days")
        x = X[day] if inputs is None else lear_design(inputs(day), config.exog_lags)[0][day]
        if np.isfinite(x[model.keep]).all():
            out[i] = model.predict(x)[0]
    return out


def lear_ensemble_forecasts(
    panel: DayPanel,
    first: int,
    last: int,
    windows: tuple[int, ...] = ENSEMBLE_WINDOWS,
    recalibrate: str = "weekly",
    config: LearConfig | None = None,
    progress: Callable[[str], None] | None = None,
    calibrate_until: int | None = None,
    refit_days: Mapping[int, int] | None = None,
    inputs: Callable[[int], DayPanel] | None = None,
) -> dict[int, np.ndarray]:
    """One LEAR per calibration window (window -> forecasts as :func:`lear_forecasts`);
    :func:`ensemble_mean` combines them. ``refit_days`` (window -> days) overrides the period of
    ``recalibrate`` per window; ``inputs`` as in :func:`lear_forecasts`."""
    config = config or LearConfig()
    refit = refit_days or {}
    return {
        w: lear_forecasts(
            panel,
            first,
            last,
            recalibrate,
            replace(config, calibration_days=w),
            progress,
            calibrate_until,
            refit.get(w),
            inputs,
        )
        for w in windows
    }


def ensemble_mean(members: Mapping[int, np.ndarray]) -> np.ndarray:
    """The paper's LEAR ensemble: the plain mean of the members' forecasts, hour by hour (over the
    members that have a forecast for that hour; NaN where none has)."""
    stack = np.stack(list(members.values()))
    n = np.isfinite(stack).sum(axis=0)
    total = np.where(np.isfinite(stack), stack, 0.0).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        out: np.ndarray = np.where(n > 0, total / np.maximum(n, 1), np.nan)
    return out
