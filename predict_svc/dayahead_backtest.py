"""Day-ahead and week-ahead backtests: model vs LEAR vs naive, side by side.

For every delivery day ``D`` of the test range the forecast is issued at 10:00 CET on ``D-1``
with what is known then (:mod:`predict_svc.protocols`): day-ahead forecasts the 24 hours of ``D``,
week-ahead also ``D+1 .. D+6``. Days are fixed UTC+01:00 days of 24 hours (as the reference LEAR
run), scores are per hour.

* ``model``: the day-ahead LightGBM quantile model (:mod:`predict_svc.dayahead`) combined with
  the LEAR ensemble for ``D`` (the P50 is :data:`LGB_WEIGHT` x LightGBM + the rest x LEAR; the band spans
  the LightGBM band and that band moved to the combined P50, so the disagreement of the two
  models widens it), the
  LightGBM alone for ``D+1 ..``; ``lightgbm`` reports the LightGBM alone.
* ``lear``: :mod:`predict_svc.lear` on its single window (1456 days), calibrated as
  ``--recalibrate`` says: the baseline. ``lear_ensemble``: the mean of the LEARs over
  :data:`MODEL_LEAR_WINDOWS` (the paper's ensemble), the LEAR part of the model.
* ``naive``: the paper's naive (``D-7`` same hour for Monday, Saturday, Sunday, ``D-1``
  otherwise); rMAE is MAE over its MAE on the same hours. Week-ahead days are also scored against
  the naive known at issue time (the same hour a week before the target) and a weekly-profile
  climatology (mean of the last four known weeks' same weekday and hour).
* ``residual_baseline``: the pinball loss of the P50 plus the empirical 10% and 90% quantiles of
  the model's own P50 residuals over the previous 28 test days (from the eighth test day on), the
  constant-width band that calibrated quantiles must beat; scored on the same days as the model.

Recalibration: LEAR refits every 7 days (``weekly``), every day (``daily``) or never. The LightGBM
refits every :data:`MODEL_REFIT_DAYS` days under ``weekly``/``daily`` (its conformal offsets come
from the first fit); both only ever use days before ``D``. Exogenous inputs for ``D+1 ..`` are not
known at issue time: week-ahead rows use the forecasts of ``D`` and the fundamentals of the issue.

Consistency with serving: every backtest issue is at 10:00 CET on ``D-1``, *before* the auction of
``D``, when ``D``'s day-ahead load and wind/solar forecasts are out, so every input is the real
one. The service also issues *after* the auction (the first unpublished day then ``D+1``, whose
forecasts are out only at 10:00 CET on ``D``); there it feeds the model the latest known day's
forecasts, one day older (:func:`predict_svc.weekahead.substitute_unknown_day`). Those
after-auction issues are scored with ``exogenous="substituted"`` (CLI ``--exogenous substituted``;
the default ``real`` is the protocol above).

After-auction information set (``exogenous="substituted"``): for every issue the forecasts of the
``k = 0`` day ``D`` (load, and wind + solar) are treated as not yet published and replaced by those
of ``D-1`` through the service's own :func:`predict_svc.weekahead.substitute_unknown_day` (see
:func:`after_auction_panel`), for the LightGBM rows (every horizon day: ``D+1 ..`` reuse ``D``'s,
hence ``D-1``'s) and for the LEAR input of ``D`` (its lag-0 exogenous becomes ``D-1``'s; its other
lags are unchanged). Training and calibration rows keep the real inputs (the served model is
trained on them). This is the service's issue at ~14:00 CET on ``T-2`` for ``T = D``: prices through
``D-1`` are the same, the exogenous are as it has them. What differs: the fundamentals (closes,
lagged weather, reservoir) are the ones the day-ahead protocol looks up for ``D`` (known at 10:00
CET on ``D-1``), one day fresher than what is known at 14:00 CET on ``D-2``; the naive and the
residual baseline are unchanged (they read prices only).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from predict_svc.dayahead import DayAheadParams, da_design, fit_day_ahead, refit_p50
from predict_svc.fundamentals import FileFundamentals, find_fundamentals_dir
from predict_svc.lear import LearConfig, ensemble_mean, lear_ensemble_forecasts
from predict_svc.market import available_zones, load_market
from predict_svc.protocols import (
    HOURS,
    DayPanel,
    climatology_week_ahead,
    naive_day_ahead,
    naive_week_ahead,
    pinball,
    score_block,
    smape,
)
from predict_svc.quantiles import exceed_probability
from predict_svc.weekahead import SUBSTITUTABLE, substitute_unknown_day

__all__ = [
    "LGB_WEIGHT",
    "MODEL_LEAR_WINDOWS",
    "MODEL_P50_REFIT_DAYS",
    "MODEL_REFIT_DAYS",
    "after_auction_panel",
    "forecast_days",
    "print_report",
    "run_day_ahead",
]

MODEL_REFIT_DAYS = {"never": 10**9, "weekly": 28, "daily": 7}
# Refit cadence of the LightGBM P50 booster alone between the full refits (days; the same as
# MODEL_REFIT_DAYS: no P50-only refits). Candidates for NO2's bar in BENCHMARKS.md ("NO2 point
# forecast: P50 refit cadence").
MODEL_P50_REFIT_DAYS = dict(MODEL_REFIT_DAYS)
# Weight of the LightGBM P50 in the model's P50 for D (LEAR gets the rest). Chosen on 2023
# (trained through 2022; NO1, NO2, NO5; grid 0.5 / 0.6 / 2/3 / 0.75), never on 2024: 2/3 was best
# or within 0.001 of it in every zone (0.5, the plain mean, was worst in all three).
LGB_WEIGHT = 2 / 3
# Calibration windows (days) of the LEAR (ensemble) inside the model; the LEAR baseline is the
# single window of ``LearConfig.calibration_days``. The paper's ensemble (56/84/1092/1456) and
# 56/84/1456 were not selected on 2023 (trained through 2022; NO2, NO5): no better than the single
# 1456-day LEAR there (BENCHMARKS.md), so the model keeps the single window; --lear-windows
# gives the ensemble.
MODEL_LEAR_WINDOWS: tuple[int, ...] = (1456,)
_MAX_ROWS = 200_000  # training rows sampled for the pooled week-ahead model
# exogenous= values: the real forecasts of D, or the after-auction substitution (module docstring).
EXOGENOUS = ("real", "substituted")


def after_auction_panel(panel: DayPanel, row: int, use_res: bool = True) -> DayPanel:
    """``panel`` as the service has it after the auction of ``row - 1``: the exogenous forecasts
    of ``row`` (load, and wind + solar when ``use_res``) not yet published, then replaced as the
    service replaces them (:func:`predict_svc.weekahead.substitute_unknown_day`: the day before's,
    where it has values; else they stay missing)."""
    hidden = {}
    for attr in SUBSTITUTABLE:
        if attr == "res" and not use_res:
            continue
        values = getattr(panel, attr).copy()
        values[row] = np.nan
        hidden[attr] = values
    out, _ = substitute_unknown_day(replace(panel, **hidden), row, use_res)
    return out


def _fundamentals(
    data_dir: Path | str, explicit: Path | str | None, zone: str, panel: DayPanel
) -> tuple[dict[str, np.ndarray] | None, str]:
    directory = find_fundamentals_dir(explicit, data_dir)
    if directory is None:
        return None, "none (no fundamentals files: the model runs without them)"
    provider = FileFundamentals(directory)
    if not provider.sources(zone):
        return None, f"none (no fundamentals for {zone} in {directory})"
    feats = provider.features(zone, panel.days)
    feats = {k: v for k, v in feats.items() if np.isfinite(v).any()}
    return feats, f"{provider.describe()} ({', '.join(provider.sources(zone))})"


def neighbour_prices(data_dir: Path | str, zone: str, panel: DayPanel) -> dict[str, np.ndarray]:
    """The other zones' day-ahead prices in ``data_dir`` on ``panel``'s rows (NaN on days a zone's
    files do not cover): zone -> ``(days, 24)``."""
    out: dict[str, np.ndarray] = {}
    for other in available_zones(Path(data_dir)):
        if other == zone:
            continue
        theirs = DayPanel.from_frame(load_market(Path(data_dir), other))
        aligned = np.full_like(panel.price, np.nan)
        at = (theirs.days - panel.days[0]).astype(np.int64)
        inside = (at >= 0) & (at < len(panel))
        aligned[at[inside]] = theirs.price[inside]
        out[other] = aligned
    return out


def run_day_ahead(
    data_dir: Path | str,
    zone: str,
    train_end: str,
    test_start: str,
    test_end: str,
    protocol: str = "day-ahead",
    recalibrate: str = "weekly",
    fundamentals_dir: Path | str | None = None,
    rounds: int | None = None,
    use_res_forecast: bool = True,
    params: DayAheadParams | None = None,
    progress: Callable[[str], None] | None = None,
    panel: DayPanel | None = None,
    lear_config: LearConfig | None = None,
    lear_windows: tuple[int, ...] = MODEL_LEAR_WINDOWS,
    save_forecasts: Path | str | None = None,
    p50_refit_days: int | None = None,
    exogenous: str = "real",
    neighbours: bool = False,
) -> dict[str, Any]:
    """Run the protocol and return the JSON report (see module docstring); ``save_forecasts``: also
    write the raw forecasts of ``D`` (LEAR members, LightGBM quantiles, actual, naive) to an .npz;
    ``exogenous``: ``real`` or ``substituted`` (the after-auction information set); ``neighbours``:
    the LightGBM also reads the other zones' prices of D-1 in ``data_dir`` (an option under
    evaluation, not the served model; the report then lists them)."""
    began = time.perf_counter()
    say = progress or (lambda _m: None)
    if protocol not in ("day-ahead", "week-ahead"):
        raise ValueError(f"unknown protocol {protocol!r}")
    if recalibrate not in MODEL_REFIT_DAYS:
        raise ValueError(f"unknown recalibration {recalibrate!r}")
    if exogenous not in EXOGENOUS:
        raise ValueError(f"unknown exogenous {exogenous!r}")
    panel = panel if panel is not None else DayPanel.from_frame(load_market(data_dir, zone))
    te, a, b = (panel.index_of(d) for d in (train_end, test_start, test_end))
    if a <= te:
        raise ValueError("the test range must start after --train-end")
    if b < a:
        raise ValueError("--test-end is before --test-start")
    params = params or DayAheadParams(use_res_forecast=use_res_forecast)
    if rounds is not None:
        params = DayAheadParams(**{**params.__dict__, "rounds": rounds})
    fundamentals, fund_note = _fundamentals(data_dir, fundamentals_dir, zone, panel)
    say(f"{zone}: {len(panel)} days {panel.days[0]} .. {panel.days[-1]}; fundamentals: {fund_note}")
    others = neighbour_prices(data_dir, zone, panel) if neighbours else None
    if others is not None:
        say(f"{zone}: other zones' D-1 prices as inputs: {', '.join(others) or 'none in the directory'}")
    horizons = (0,) if protocol == "day-ahead" else tuple(range(7))
    n_test = b - a + 1
    every = MODEL_REFIT_DAYS[recalibrate]

    fc = forecast_days(
        panel,
        fundamentals,
        te,
        a,
        b,
        horizons,
        recalibrate,
        params,
        lear_config,
        say,
        lear_windows,
        p50_refit_days=p50_refit_days,
        exogenous=exogenous,
        neighbours=others,
    )
    lear, p10, p50, p90, ens50 = fc["lear"], fc["p10"], fc["p50"], fc["p90"], fc["p50_model"]
    shift = ens50 - p50[0]
    lo0, hi0 = np.minimum(p10[0], p10[0] + shift), np.maximum(p90[0], p90[0] + shift)
    # The upper levels move with the band's top: the larger of the LightGBM's and its shifted value.
    upper0 = {lv: np.maximum(q[0], q[0] + shift) for lv, q in fc["upper"].items()}
    actual = panel.price[a : b + 1]
    naive = naive_day_ahead(panel)[a : b + 1]
    if save_forecasts is not None:
        np.savez(
            save_forecasts,
            actual=actual,
            naive=naive,
            p10=p10[0],
            p50=p50[0],
            p90=p90[0],
            p50_model=ens50,
            lear=lear,
            **{f"lear_{w}": f for w, f in fc["lear_members"].items()},
            **{f"up_{lv}": q[0] for lv, q in fc["upper"].items()},
        )
    model_scores = score_block(ens50, actual, naive, lo0, hi0)
    lgb_scores = score_block(p50[0], actual, naive, p10[0], p90[0])
    lear_scores = score_block(lear, actual, naive)
    ens_scores = score_block(fc["lear_ensemble"], actual, naive)
    ok = np.isfinite(actual) & np.isfinite(naive)
    report: dict[str, Any] = {
        "zone": zone,
        "protocol": protocol,
        "days": int(n_test),
        "recalibrate": recalibrate,
        "model": model_scores,
        "naive": {
            "mae": float(np.mean(np.abs(naive[ok] - actual[ok]))),
            "smape": smape(naive[ok], actual[ok]),
        },
        "lear": {"mae": lear_scores["mae"], "rmae": lear_scores["rmae"], "smape": lear_scores["smape"]},
        "lear_ensemble": {
            "mae": ens_scores["mae"],
            "rmae": ens_scores["rmae"],
            "windows": float(len(fc["lear_members"])),
            **{f"rmae_{w}d": score_block(f, actual, naive)["rmae"] for w, f in fc["lear_members"].items()},
        },
        "lightgbm": lgb_scores,
        "residual_baseline": _residual_baseline(ens50, lo0, hi0, actual),
        "spike": _spike_brier(panel, te, ens50, lo0, hi0, actual, upper0),
        "hours": int(ok.sum()),
        "day_clock": "fixed UTC+01:00 days of 24 hours",
        "issue_time": "10:00 CET on D-1",
        "fundamentals": fund_note,
        "res_forecast": params.use_res_forecast,
        "model_refit_days": min(every, n_test),
        **({"p50_refit_days": p50_refit_days} if p50_refit_days else {}),
        "seconds": round(time.perf_counter() - began, 1),
    }
    if exogenous != "real":  # the default report is unchanged
        report["exogenous"] = exogenous
        report["issue_time"] = "after the auction of D-1 (D's load and wind/solar forecasts: D-1's)"
    if others is not None:  # likewise
        report["neighbours"] = sorted(others)
    if protocol == "week-ahead":
        report["by_horizon_day"] = _by_horizon(panel, a, n_test, horizons, p10, p50, p90, ens50, shift)
        report["week_ahead_exogenous"] = (
            "D+1..D+6 use the load and wind/solar forecasts of D and the fundamentals known at issue time"
            " (issues at 10:00 CET on D-1, before the auction: D's forecasts are known; the service's"
            " after-auction issues, which use the day before's forecasts for the unreleased day, are"
            " not scored)"
        )
    say(f"done in {report['seconds']} s")
    return report


def forecast_days(
    panel: DayPanel,
    fundamentals: dict[str, np.ndarray] | None,
    te: int,
    a: int,
    b: int,
    horizons: tuple[int, ...] = (0,),
    recalibrate: str = "weekly",
    params: DayAheadParams | None = None,
    lear_config: LearConfig | None = None,
    progress: Callable[[str], None] | None = None,
    lear_windows: tuple[int, ...] = MODEL_LEAR_WINDOWS,
    lear_refit_days: Mapping[int, int] | None = None,
    model_refit_days: int | None = None,
    p50_refit_days: int | None = None,
    exogenous: str = "real",
    neighbours: dict[str, np.ndarray] | None = None,
) -> dict[str, Any]:
    """Forecasts issued at 10:00 CET on ``D-1`` for panel rows ``D = a..b`` (training through
    row ``te``, then refits as ``recalibrate`` says): ``lear`` ``(days, 24)``; the LightGBM
    quantiles ``p10``/``p50``/``p90`` ``(len(horizons), days, 24)`` (index ``j`` = target
    ``D + horizons[j]``), ``upper`` the same for each upper level; ``p50_model`` the model's P50
    for ``D`` (LightGBM and the LEAR ensemble over ``lear_windows`` combined), ``lear_members``
    window -> that LEAR's forecasts, ``lear_ensemble`` their mean. The baseline ``lear`` is the
    single window of ``lear_config`` (a member when it is one of ``lear_windows``: fitted once).
    ``p50_refit_days``: between the full refits, the P50 booster alone is refit this often
    (default :data:`MODEL_P50_REFIT_DAYS`).
    ``exogenous="substituted"``: the inputs of ``D`` (LightGBM rows and LEAR input) read
    :func:`after_auction_panel` (training and calibration rows keep the real inputs).
    ``neighbours``: other zones' prices on the panel's rows (:func:`neighbour_prices`), the
    LightGBM's extra inputs."""
    params = params or DayAheadParams()
    lear_config = lear_config or LearConfig()
    say = progress or (lambda _m: None)
    began = time.perf_counter()
    n_test = b - a + 1
    say(f"LEAR over windows {lear_windows} (baseline {lear_config.calibration_days}) ...")
    windows = tuple(dict.fromkeys((*lear_windows, lear_config.calibration_days)))
    substituted = exogenous == "substituted"
    members = lear_ensemble_forecasts(
        panel,
        a,
        b,
        windows,
        recalibrate,
        lear_config,
        say,
        calibrate_until=te,
        refit_days=lear_refit_days,
        inputs=(lambda d: after_auction_panel(panel, d)) if substituted else None,  # LEAR: both series
    )
    lear = members[lear_config.calibration_days]
    lear_model = ensemble_mean({w: members[w] for w in lear_windows})

    # LightGBM: issues r (= D-1) with every horizon; rows whose target is known by the refit.
    all_rows = np.arange(7, len(panel) - 1)
    design = da_design(panel, all_rows, horizons, fundamentals, params.use_res_forecast, neighbours)
    # Substituted runs forecast from, and calibrate the band on, rows built as they are served after
    # the auction (equal to after_auction_panel's, row by row: tests/predict_svc/test_backtest_substituted.py).
    after_design = (
        da_design(
            panel, all_rows, horizons, fundamentals, params.use_res_forecast, neighbours, after_auction=True
        )
        if substituted
        else None
    )
    p10 = np.full((len(horizons), n_test, HOURS), np.nan)
    p50 = p10.copy()
    p90 = p10.copy()
    upper = {lv: p10.copy() for lv in params.upper_levels}
    every = model_refit_days or MODEL_REFIT_DAYS[recalibrate]  # the override: validation stand-ins
    every_p50 = p50_refit_days or MODEL_P50_REFIT_DAYS[recalibrate]
    model = None
    heldout = None
    rng = np.random.default_rng(params.seed)
    for i in range(n_test):
        day = a + i
        if model is None or i % every == 0:
            known_until = te if model is None else day - 1
            train = np.isfinite(design.y) & (design.target_row <= known_until)
            if train.sum() > _MAX_ROWS:
                keep = rng.choice(np.flatnonzero(train), _MAX_ROWS, replace=False)
                train = np.zeros_like(train)
                train[keep] = True
            sub = design.take(train)
            after_sub = after_design.take(train) if after_design is not None and model is None else None
            model = fit_day_ahead(sub, params, progress=say, after_auction=after_sub, keep_from=model)
            heldout = heldout if heldout is not None else model.heldout  # the first fit's, as the offsets
            say(f"model fitted for {panel.days[day]} ({time.perf_counter() - began:.0f} s)")
        elif i % every_p50 == 0:
            sub = design.take(np.isfinite(design.y) & (design.target_row <= day - 1))
            model = refit_p50(model, sub, params)
        served = after_design if after_design is not None else design
        rows = served.take(served.issue_row == day - 1)
        lo, mid, hi, up = model.predict_all(rows, after_auction=substituted)
        for j, k in enumerate(horizons):
            at = rows.horizon_day == k
            if at.sum() == HOURS:
                p10[j, i], p50[j, i], p90[j, i] = lo[at], mid[at], hi[at]
                for lv, q in up.items():
                    upper[lv][j, i] = q[at]

    ens50 = np.where(np.isfinite(lear_model), LGB_WEIGHT * p50[0] + (1 - LGB_WEIGHT) * lear_model, p50[0])
    return {
        "lear": lear,
        "lear_members": {w: members[w] for w in lear_windows},
        "lear_ensemble": lear_model,
        "p10": p10,
        "p50": p50,
        "p90": p90,
        "upper": upper,
        "p50_model": ens50,
        "heldout": heldout,
    }


def _residual_band(
    mid: np.ndarray, actual: np.ndarray, levels: tuple[float, ...] = (0.1, 0.9)
) -> list[np.ndarray]:
    """P50 plus the empirical quantiles at ``levels`` of the residuals of the previous 28 days
    (NaN for the first 7 days and where too few residuals are known), one array per level."""
    out = [np.full_like(mid, np.nan) for _ in levels]
    for i in range(7, len(mid)):
        past = (actual[max(0, i - 28) : i] - mid[max(0, i - 28) : i]).reshape(-1)
        past = past[np.isfinite(past)]
        if len(past) >= 7 * HOURS // 2:
            for band, q in zip(out, np.quantile(past, levels), strict=True):
                band[i] = mid[i] + q
    return out


def _residual_baseline(
    mid: np.ndarray, lo: np.ndarray, hi: np.ndarray, actual: np.ndarray
) -> dict[str, float]:
    """Pinball of P50 + recent-residual quantiles vs the model's band, on the same days."""
    base_lo, base_hi = _residual_band(mid, actual)
    ok = np.isfinite(base_lo) & np.isfinite(actual) & np.isfinite(lo) & np.isfinite(hi) & np.isfinite(mid)
    if not ok.any():
        return {}
    a = actual[ok]
    return {
        "pinball": pinball({0.1: base_lo[ok], 0.5: mid[ok], 0.9: base_hi[ok]}, a),
        "coverage_p10_p90": float(np.mean((a >= base_lo[ok]) & (a <= base_hi[ok]))),
        "model_pinball_same_hours": pinball({0.1: lo[ok], 0.5: mid[ok], 0.9: hi[ok]}, a),
    }


def _spike_brier(
    panel: DayPanel,
    te: int,
    mid: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    actual: np.ndarray,
    upper: dict[float, np.ndarray] | None = None,
) -> dict[str, float]:
    """Brier score of the spike probability P(price > threshold) of day D, as the API computes
    it from the quantiles (:func:`predict_svc.quantiles.exceed_probability`: linear between the
    levels, the bound ``1 - top level`` above the top one), for the model's quantiles (P10, P50,
    P90 and the ``upper`` levels) and for the residual-quantile baseline's at the same levels, on
    the same hours; also the model from P10/P50/P90 alone. The threshold is the 95th percentile of
    the hourly prices of the last 365 training days (known before the test range)."""
    history = panel.price[max(0, te - 364) : te + 1]
    history = history[np.isfinite(history)]
    if not len(history):
        return {}
    upper = upper or {}
    levels = (0.1, 0.5, 0.9, *upper)
    threshold = float(np.quantile(history, 0.95))
    base = _residual_band(mid, actual, tuple(lv for lv in levels if lv != 0.5))
    base.insert(1, mid)
    model = [lo, mid, hi, *upper.values()]
    ok = np.isfinite(actual)
    for arr in (*base, *model):
        ok &= np.isfinite(arr)
    if not ok.any():
        return {}
    event = (actual[ok] > threshold).astype(float)

    def prob(qs: list[np.ndarray], lv: tuple[float, ...]) -> np.ndarray:
        p, _status = exceed_probability(threshold, np.column_stack([q[ok] for q in qs]), lv)
        return p

    p_model = prob(model, levels)
    base_rate = float(event.mean())
    out = {
        "threshold_eur_mwh": threshold,
        "levels": float(len(levels)),
        "base_rate": base_rate,
        "brier_model": float(np.mean((p_model - event) ** 2)),
        "brier_residual_baseline": float(np.mean((prob(base, levels) - event) ** 2)),
        "brier_climatology": float(np.mean((base_rate - event) ** 2)),
        "brier_model_p10_p50_p90": float(np.mean((prob(model[:3], levels[:3]) - event) ** 2)),
        "mean_probability_model": float(p_model.mean()),
        "hours": float(ok.sum()),
    }
    for lv, q in upper.items():
        out[f"coverage_p{lv * 100:g}"] = float(np.mean(actual[ok] <= q[ok]))  # p95, p99.5
    return out


def _by_horizon(
    panel: DayPanel,
    a: int,
    n_test: int,
    horizons: tuple[int, ...],
    p10: np.ndarray,
    p50: np.ndarray,
    p90: np.ndarray,
    ens50: np.ndarray,
    shift: np.ndarray,
) -> list[dict[str, float]]:
    out = []
    for k in horizons:
        issue = np.arange(a - 1, a - 1 + n_test)
        target = issue + 1 + k
        inside = target < len(panel)
        act = np.full((n_test, HOURS), np.nan)
        act[inside] = panel.price[target[inside]]
        nv = np.stack([naive_week_ahead(panel, int(r), k) for r in issue])
        clim = np.stack([climatology_week_ahead(panel, int(r), k) for r in issue])
        mid, lo, hi = (
            (ens50, np.minimum(p10[0], p10[0] + shift), np.maximum(p90[0], p90[0] + shift))
            if k == 0
            else (p50[k], p10[k], p90[k])
        )
        s = score_block(mid, act, nv, lo, hi)
        ok = np.isfinite(act) & np.isfinite(mid) & np.isfinite(clim)
        clim_mae = float(np.mean(np.abs(clim[ok] - act[ok])))
        out.append(
            {
                "horizon_day": k,
                "mae": s["mae"],
                "rmae": s["rmae"],
                "rmae_climatology": float(np.mean(np.abs(mid[ok] - act[ok]))) / clim_mae,
                "naive_mae": s["mae"] / s["rmae"],
                "climatology_mae": clim_mae,
                "coverage_p10_p90": s["coverage_p10_p90"],
                "pinball": s["pinball"],
            }
        )
    return out


def print_report(report: dict[str, Any]) -> None:
    print(
        f"{report['zone']} {report['protocol']}: {report['days']} days, recalibrate {report['recalibrate']}"
    )
    for name in ("model", "lightgbm", "lear", "lear_ensemble", "naive", "residual_baseline", "spike"):
        print(f"  {name:<18} " + "  ".join(f"{k}={v:.3f}" for k, v in report[name].items()))
    for row in report.get("by_horizon_day", []):
        print("  " + "  ".join(f"{k}={v:.3f}" for k, v in row.items()))
    print(f"  fundamentals: {report['fundamentals']}; {report['seconds']} s")
