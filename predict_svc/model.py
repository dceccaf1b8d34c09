"""LightGBM quantile price model: training, prediction and the on-disk artifact.

Horizons: *direct* forecasting. One model group is trained for the next hour (``h = 1``, the
group the backtest scores) and one pooled group for ``h = 2..24`` with the horizon as a feature.
Direct beats recursive here because a recursive forecast feeds its own P50 back as a lag, so the
errors compound over 24 steps and, worse, the quantile band of step 24 cannot be derived from
three per-step quantiles. With direct models every horizon is trained on what is actually known
at the origin (prices up to ``o``, day-ahead load and wind/solar forecasts for the target hour),
and the P10/P90 of each horizon are real quantiles of that horizon's error. Pooling h = 2..24 in
one model keeps training within the two-minute budget.

Each group holds three boosters (P10, P50, P90) trained with the pinball loss on the scaled
change ``(p[t] - p[o]) / scale`` (see :mod:`predict_svc.features`). Quantile regression is
usually over-confident out of sample, so the band is widened by a conformal offset (CQR,
Romano et al. 2019) measured on a validation slice held out from the end of the training range;
the boosters are then refit on the whole range with the same number of rounds.

A :class:`PriceModel` is immutable after construction, so the server swaps models by replacing
one reference (atomic in CPython) and in-flight requests finish on the model they started with.
"""

from __future__ import annotations

import base64
import json
import os
import tempfile
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from predict_svc.features import (
    FEATURE_NAMES,
    MAX_HORIZON,
    MAX_LAG,
    FeatureSet,
    build_features,
    series_stats,
    stack_horizons,
)
from predict_svc.hourly import HOUR, HourlyFrame, hour64
from predict_svc.trees import TreeEnsemble, TreeFormatError

if TYPE_CHECKING:
    import lightgbm as lgb
    import pandas as pd

    from predict_svc.fundamentals import FundamentalsProvider
    from predict_svc.weekahead import WeekAheadModel

# Neither pandas nor lightgbm is imported by the serving path: frames are numpy columns
# (predict_svc.hourly) and training accepts a pandas frame as well as an HourlyFrame.

# lightgbm is imported only by the training functions: the service evaluates the trees from
# their text dump with numpy (predict_svc.trees, identical results), because importing lightgbm
# also imports scipy and costs the serving process ~18 MB of resident memory.

__all__ = [
    "ARTIFACT_FORMAT",
    "QUANTILES",
    "Forecast",
    "ModelError",
    "PriceModel",
    "TrainParams",
    "check_features",
    "forecast_features",
    "load_model",
    "save_model",
    "train_model",
]

ARTIFACT_FORMAT = "energypulse.price-model/1"
QUANTILES: tuple[float, float, float] = (0.1, 0.5, 0.9)
Progress = Callable[[str, float], None]


class ModelError(ValueError):
    """An artifact cannot be read or a model cannot be trained."""


class QuantileTreeParams(Protocol):
    """The LightGBM settings the price models share (TrainParams, dayahead.DayAheadParams)."""

    @property
    def learning_rate(self) -> float: ...
    @property
    def num_leaves(self) -> int: ...
    @property
    def min_data_in_leaf(self) -> int: ...
    @property
    def feature_fraction(self) -> float: ...
    @property
    def bagging_fraction(self) -> float: ...
    @property
    def threads(self) -> int: ...
    @property
    def seed(self) -> int: ...


def quantile_lgb_params(params: QuantileTreeParams, alpha: float) -> dict[str, Any]:
    """LightGBM parameters of one quantile (``alpha``) booster."""
    return {
        "objective": "quantile",
        "alpha": alpha,
        "learning_rate": params.learning_rate,
        "num_leaves": params.num_leaves,
        "min_data_in_leaf": params.min_data_in_leaf,
        "feature_fraction": params.feature_fraction,
        "bagging_fraction": params.bagging_fraction,
        "bagging_freq": 1,
        "num_threads": params.threads,
        "seed": params.seed,
        "verbose": -1,
    }


@dataclass(frozen=True)
class TrainParams:
    """Hyper-parameters; defaults fit six years of hourly data in well under a minute on 2 cores."""

    rounds: int = 300
    learning_rate: float = 0.05
    num_leaves: int = 63
    min_data_in_leaf: int = 40
    feature_fraction: float = 0.8
    bagging_fraction: float = 0.8
    validation_hours: int = 24 * 120
    multi_horizon: bool = True
    multi_rows: int = 120_000  # rows sampled from the stacked h=2..24 set
    max_horizon: int = 24  # > 24 adds a pooled group for 25..max_horizon (predict_svc.train: 192)
    long_step: int = 6  # horizons sampled every long_step hours to train that group
    threads: int = 2
    seed: int = 7
    # The served week-ahead model (predict_svc.weekahead): horizon days 0..week_ahead_days - 1,
    # 0 = none (the runtime then chains the hourly groups, with bands it cannot calibrate).
    week_ahead_days: int = 7
    week_ahead_rounds: int = 300
    week_ahead_calibration_days: int = 90
    week_ahead_folds: int = 10  # blocked cross-fits calibrating the band per horizon day

    def lgb_params(self, alpha: float) -> dict[str, Any]:
        return quantile_lgb_params(self, alpha)


@dataclass(frozen=True)
class Forecast:
    """Price quantiles (EUR/MWh) for target hours (UTC)."""

    target_times: np.ndarray  # datetime64[h]
    horizons: np.ndarray
    p10: np.ndarray
    p50: np.ndarray
    p90: np.ndarray
    # Levels above P90 (0.95 .. 0.999) when the model has them (the week-ahead model): spike tails.
    upper: dict[float, np.ndarray] = field(default_factory=dict)
    # Exogenous series of the first unpublished day that were not yet known at the issue and
    # were replaced by the latest known day's, one day older (the week-ahead model; see
    # predict_svc.weekahead.substitute_unknown_day). Empty: every input was the real one.
    substituted: tuple[str, ...] = ()


def _quantile_boosters(boosters: list[TreeEnsemble]) -> tuple[TreeEnsemble, TreeEnsemble, TreeEnsemble]:
    """The P10, P50 and P90 boosters of a group (ValueError unless exactly three)."""
    p10, p50, p90 = boosters
    return p10, p50, p90


@dataclass(frozen=True)
class _Group:
    horizons: tuple[int, ...]
    boosters: tuple[TreeEnsemble, TreeEnsemble, TreeEnsemble]  # P10, P50, P90
    offset: float  # conformal widening in scaled units

    def predict(self, fs: FeatureSet) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        raw = np.vstack([b.predict(fs.X) for b in self.boosters])
        raw.sort(axis=0)  # quantile models are fit separately; keep P10 <= P50 <= P90
        lo = fs.last_price + (raw[0] - self.offset) * fs.scale
        mid = fs.last_price + raw[1] * fs.scale
        hi = fs.last_price + (raw[2] + self.offset) * fs.scale
        return lo, mid, hi


@dataclass(frozen=True)
class PriceModel:
    """An immutable trained model plus the metadata shipped in its artifact."""

    zone: str
    version: str
    created_at: str
    train_start: str
    train_end: str
    features: tuple[str, ...]
    metrics: dict[str, float]
    groups: tuple[_Group, ...]
    source: str = "entsoe"
    extra: dict[str, Any] = field(default_factory=dict)
    week_ahead: WeekAheadModel | None = None

    @property
    def max_horizon(self) -> int:
        return max(max(g.horizons) for g in self.groups)

    def _group(self, horizon: int) -> _Group:
        for group in self.groups:
            if horizon in group.horizons:
                return group
        raise ModelError(f"model has no group for horizon {horizon}")

    def predict_features(self, fs: FeatureSet, horizon: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Quantiles for rows of one horizon (used by the backtest, vectorised over all rows)."""
        return self._group(horizon).predict(fs)

    def forecast(
        self,
        frame: HourlyFrame | pd.DataFrame,
        origin: datetime,
        horizons: Sequence[int],
        temperature: np.ndarray | None = None,
    ) -> Forecast:
        """Forecast the hours ``origin + h`` for each ``h`` from data known at ``origin``.

        ``frame`` must cover the ``MAX_LAG`` hours before ``origin`` and the target hours (for the
        day-ahead exogenous forecasts); prices after ``origin`` are ignored. ``temperature`` (one
        value per row of ``frame``: the observed daily mean temperature of the UTC day before
        each hour, :func:`predict_svc.fundamentals.temperature_series`) is used by models whose
        ``features`` include ``"temperature"``; without it that feature is missing (NaN).
        """
        rows = forecast_features(frame, origin, horizons, temperature)
        lo, mid, hi = [], [], []
        for h, fs in zip(horizons, rows, strict=True):
            a, b, c = self._group(h).predict(fs)
            lo.append(a[0])
            mid.append(b[0])
            hi.append(c[0])
        targets = np.concatenate([fs.target_index for fs in rows])
        return Forecast(targets, np.array(list(horizons)), np.array(lo), np.array(mid), np.array(hi))

    def metadata(self) -> dict[str, Any]:
        return {
            "format": ARTIFACT_FORMAT,
            "zone": self.zone,
            "version": self.version,
            "created_at": self.created_at,
            "train_start": self.train_start,
            "train_end": self.train_end,
            "features": list(self.features),
            "metrics": self.metrics,
            "source": self.source,
            "horizons": sorted(h for g in self.groups for h in g.horizons),
            "quantiles": list(QUANTILES),
            "extra": self.extra,
            "week_ahead": None
            if self.week_ahead is None
            else {
                "days": self.week_ahead.days,
                "features": list(self.week_ahead.names),
                "fundamentals": list(self.week_ahead.fundamentals),
                "band_offsets": {str(k): v for k, v in self.week_ahead.offsets.items()},
                # the band's widening after the auction (inputs of the first day substituted)
                "after_auction_band_offsets": {str(k): v for k, v in self.week_ahead.after_offsets.items()},
                "upper_levels": list(self.week_ahead.upper_levels),
            },
        }


def forecast_features(
    frame: HourlyFrame | pd.DataFrame,
    origin: datetime,
    horizons: Sequence[int],
    temperature: np.ndarray | None = None,
) -> list[FeatureSet]:
    """The one feature row of each target ``origin + h`` as a live forecast builds it: from the
    window of ``MAX_LAG + 1`` hours before the origin to the last target (NaN-padded where the data
    ends early), prices after the origin hidden."""
    data = HourlyFrame.from_frame(frame)
    at = hour64(origin)
    here = data.pos(at)
    end = here + max(horizons)
    first = max(here - (MAX_LAG + 1), 0)
    size = end - first + 1
    columns = {}
    for name, values in data.columns.items():
        column = np.full(size, np.nan)
        part = values[first : end + 1]
        column[: len(part)] = part
        columns[name] = column
    columns["price"][here - first + 1 :] = np.nan
    window = HourlyFrame(data.start + first * HOUR, columns)
    temps = None
    if temperature is not None:
        temps = np.full(size, np.nan)
        part = np.asarray(temperature, dtype=float)[first : end + 1]
        temps[: len(part)] = part
    stats = series_stats(window)  # once for all horizons
    return [
        build_features(window, h, temps, targets=np.array([at + h * HOUR]), stats=stats) for h in horizons
    ]


def _fit_group(
    fs: FeatureSet,
    mask: np.ndarray,
    params: TrainParams,
    horizons: tuple[int, ...],
    progress: Progress,
    label: str,
) -> tuple[_Group, dict[str, float]]:
    """Fit on ``mask`` minus a trailing validation slice, calibrate, refit on all of ``mask``."""
    import lightgbm as lgb

    assert fs.y is not None
    usable = mask & np.isfinite(fs.y) & np.isfinite(fs.last_price)
    times = fs.target_index
    if usable.sum() < 500:
        raise ModelError(f"only {int(usable.sum())} usable training rows; need at least 500")
    cutoff = times[usable].max() - params.validation_hours * HOUR
    fit_mask = usable & (times <= cutoff)
    val_mask = usable & (times > cutoff)
    metrics: dict[str, float] = {}
    offset = 0.0
    if fit_mask.sum() >= 500 and val_mask.sum() >= 100:
        boosters = []
        for i, alpha in enumerate(QUANTILES):
            progress(f"{label}: validation fit P{int(alpha * 100)}", i / 6)
            data = lgb.Dataset(
                fs.X[fit_mask], fs.y[fit_mask], feature_name=list(FEATURE_NAMES), free_raw_data=False
            )
            boosters.append(lgb.train(params.lgb_params(alpha), data, num_boost_round=params.rounds))
        pred = np.vstack([b.predict(fs.X[val_mask], num_threads=params.threads) for b in boosters])
        pred.sort(axis=0)
        y = fs.y[val_mask]
        # CQR: the 80% quantile of the conformity score gives ~80% coverage of [P10, P90].
        score = np.maximum(pred[0] - y, y - pred[2])
        offset = float(np.quantile(score, 0.8))
        scale = fs.scale[val_mask]
        truth = fs.last_price[val_mask] + y * scale
        mid = fs.last_price[val_mask] + pred[1] * scale
        lo = fs.last_price[val_mask] + (pred[0] - offset) * scale
        hi = fs.last_price[val_mask] + (pred[2] + offset) * scale
        metrics = {
            "val_mae": float(np.mean(np.abs(mid - truth))),
            "val_rmse": float(np.sqrt(np.mean((mid - truth) ** 2))),
            "val_coverage_p10_p90": float(np.mean((truth >= lo) & (truth <= hi))),
            "val_hours": float(val_mask.sum()),
        }
    final = []
    data = lgb.Dataset(fs.X[usable], fs.y[usable], feature_name=list(FEATURE_NAMES), free_raw_data=False)
    for i, alpha in enumerate(QUANTILES):
        progress(f"{label}: final fit P{int(alpha * 100)}", (3 + i) / 6)
        final.append(lgb.train(params.lgb_params(alpha), data, num_boost_round=params.rounds))
    metrics["train_rows"] = float(usable.sum())
    p10, p50, p90 = (_ensemble(b) for b in final)
    return _Group(horizons, (p10, p50, p90), offset), metrics


def _ensemble(booster: lgb.Booster) -> TreeEnsemble:
    return TreeEnsemble.parse(booster.model_to_string())


def train_model(
    frame: HourlyFrame | pd.DataFrame,
    zone: str,
    train_end: datetime | None = None,
    params: TrainParams | None = None,
    temperature: np.ndarray | None = None,
    progress: Progress | None = None,
    source: str = "entsoe",
    fundamentals: FundamentalsProvider | None = None,
) -> PriceModel:
    """Train on every hour of ``frame`` up to and including ``train_end`` (default: all).

    ``temperature`` (optional) has one value per row of ``frame``; ``fundamentals`` (optional)
    feeds the week-ahead model's daily features (those with any value for the zone)."""
    params = params or TrainParams()
    report: Progress = progress or (lambda _msg, _frac: None)
    frame = HourlyFrame.from_frame(frame)
    if train_end is not None:
        frame = frame.between(None, train_end)
        if temperature is not None:
            temperature = np.asarray(temperature)[: len(frame)]
    if len(frame) < MAX_LAG + 600:
        raise ModelError(f"need at least {MAX_LAG + 600} hours of data to train, got {len(frame)}")
    # The configured features: temperature only when a temperature series is given (without one
    # the column is all-NaN and the trees could never split on it, so the artifact must not claim
    # it). Every configured feature must be present somewhere in the training rows.
    features = (
        FEATURE_NAMES if temperature is not None else tuple(n for n in FEATURE_NAMES if n != "temperature")
    )
    groups = []
    metrics: dict[str, float] = {}
    fs1 = build_features(frame, 1, temperature)
    check_features(fs1, features)
    mask = np.ones(len(fs1.y if fs1.y is not None else []), dtype=bool)
    group, m = _fit_group(
        fs1, mask, params, (1,), lambda s, f: report(s, f * (0.5 if params.multi_horizon else 1)), "h1"
    )
    groups.append(group)
    metrics.update({f"h1_{k}": v for k, v in m.items()})
    if params.multi_horizon:
        horizons = tuple(range(2, 25))
        fsm = stack_horizons(frame, horizons, temperature)
        rng = np.random.default_rng(params.seed)
        keep = np.zeros(len(fsm.X), dtype=bool)
        keep[rng.choice(len(fsm.X), size=min(params.multi_rows, len(fsm.X)), replace=False)] = True
        group, m = _fit_group(fsm, keep, params, horizons, lambda s, f: report(s, 0.5 + 0.5 * f), "h2-24")
        groups.append(group)
        metrics.update({f"multi_{k}": v for k, v in m.items()})
    if params.max_horizon > 24:
        if params.max_horizon > MAX_HORIZON:
            raise ModelError(f"max_horizon must be at most {MAX_HORIZON}")
        long = tuple(range(25, params.max_horizon + 1))
        sampled = sorted({*range(25, params.max_horizon + 1, params.long_step), params.max_horizon})
        fsl = stack_horizons(frame, sampled, temperature)
        rng = np.random.default_rng(params.seed + 1)
        keep = np.zeros(len(fsl.X), dtype=bool)
        keep[rng.choice(len(fsl.X), size=min(params.multi_rows, len(fsl.X)), replace=False)] = True
        group, m = _fit_group(fsl, keep, params, long, lambda s, f: report(s, f), f"h25-{params.max_horizon}")
        groups.append(group)
        metrics.update({f"long_{k}": v for k, v in m.items()})
    week_ahead = None
    if params.week_ahead_days > 0:
        from predict_svc.dayahead import DayAheadParams
        from predict_svc.weekahead import FeatureMissingError, train_week_ahead

        report(f"week-ahead model ({params.week_ahead_days} horizon days)", 0.95)
        da = DayAheadParams(
            rounds=params.week_ahead_rounds,
            learning_rate=params.learning_rate,
            num_leaves=min(params.num_leaves, 31),
            calibration_days=params.week_ahead_calibration_days,
            calibration_folds=params.week_ahead_folds,
            threads=params.threads,
            seed=params.seed,
        )
        try:
            week_ahead = train_week_ahead(
                frame, da, fundamentals, zone, params.week_ahead_days, lambda s: report(s, 0.97)
            )
        except FeatureMissingError as exc:
            raise ModelError(str(exc)) from exc
        except ValueError as exc:
            raise ModelError(f"week-ahead model: {exc}") from exc
        metrics.update(week_ahead.metrics)
    report("done", 1.0)
    created = datetime.now(UTC)
    return PriceModel(
        zone=zone,
        version=created.strftime("%Y%m%dT%H%M%SZ") + f"-{zone}",
        created_at=created.isoformat(),
        train_start=frame.first.isoformat(),
        train_end=frame.last.isoformat(),
        features=features,
        metrics=metrics,
        groups=tuple(groups),
        source=source,
        week_ahead=week_ahead,
    )


def check_features(fs: FeatureSet, features: Sequence[str], where: str = "training data") -> None:
    """ModelError naming every configured feature that has no finite value in the rows with a
    known target (a feature that is never passed, like the temperature once was); ``where``
    names the rows (training data, backtest rows)."""
    usable = np.isfinite(fs.y) if fs.y is not None else np.ones(len(fs.X), dtype=bool)
    rows = fs.X[usable]
    missing = [name for name in features if not np.isfinite(rows[:, FEATURE_NAMES.index(name)]).any()]
    if missing:
        raise ModelError(f"configured features entirely missing in the {where}: {', '.join(missing)}")


def save_model(model: PriceModel, path: Path | str) -> Path:
    """Write the artifact atomically (temp file + rename): a watcher never sees half a file."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    doc = model.metadata()
    doc["groups"] = [
        {
            "horizons": list(g.horizons),
            "offset": g.offset,
            "boosters": [base64.b64encode(zlib.compress(b.text.encode())).decode() for b in g.boosters],
        }
        for g in model.groups
    ]
    if model.week_ahead is not None:
        doc["week_ahead"] = model.week_ahead.to_doc()
    else:
        doc.pop("week_ahead", None)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(doc, handle)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def load_model(path: Path | str) -> PriceModel:
    """Read an artifact written by :func:`save_model`; raises :class:`ModelError` if invalid."""
    try:
        doc = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelError(f"cannot read model artifact {path}: {exc}") from exc
    if doc.get("format") != ARTIFACT_FORMAT:
        raise ModelError(f"{path} is not a {ARTIFACT_FORMAT} artifact")
    if not set(doc["features"]) <= set(FEATURE_NAMES):
        raise ModelError(f"{path} was trained with a different feature set; retrain it")
    try:
        groups = tuple(
            _Group(
                tuple(g["horizons"]),
                _quantile_boosters(
                    [TreeEnsemble.parse(zlib.decompress(base64.b64decode(s)).decode()) for s in g["boosters"]]
                ),
                float(g["offset"]),
            )
            for g in doc["groups"]
        )
    except (KeyError, ValueError, zlib.error, TreeFormatError) as exc:
        raise ModelError(f"corrupt model artifact {path}: {exc}") from exc
    week_ahead = None
    if doc.get("week_ahead") is not None:  # artifacts before the week-ahead model have none
        from predict_svc.weekahead import WeekAheadModel

        try:
            week_ahead = WeekAheadModel.from_doc(doc["week_ahead"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"corrupt week-ahead section in {path}: {exc}") from exc
    return PriceModel(
        zone=doc["zone"],
        version=doc["version"],
        created_at=doc["created_at"],
        train_start=doc["train_start"],
        train_end=doc["train_end"],
        features=tuple(doc["features"]),
        metrics={k: float(v) for k, v in doc["metrics"].items()},
        groups=groups,
        source=doc.get("source", "entsoe"),
        extra=doc.get("extra", {}),
        week_ahead=week_ahead,
    )
