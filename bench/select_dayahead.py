"""Issue #16 candidate selection on a validation year: one run per zone saves every candidate's
raw forecasts (LEAR per calibration window, LightGBM quantiles with the extra upper levels) to an
``.npz``; ``--score`` then scores the grid fixed before any run (see BENCHMARKS.md, "Day-ahead
backtest (issue #16)"). Not a timed benchmark: the selection is by accuracy only.

    python -m bench.select_dayahead --zone NO2 --train-end 2022-12-31 --test-start 2023-01-01 \\
        --test-end 2023-12-31 --out var/sel_NO2_2023.npz
    python -m bench.select_dayahead --score var/sel_NO1_2023.npz var/sel_NO2_2023.npz ...
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from predict_svc.dayahead import DayAheadParams
from predict_svc.dayahead_backtest import _fundamentals, _residual_band, forecast_days, neighbour_prices
from predict_svc.market import load_market
from predict_svc.protocols import DayPanel, naive_day_ahead
from predict_svc.quantiles import exceed_probability, fit_tail_map

WINDOWS = (56, 84, 1092, 1456)
UPPER = (0.95, 0.99, 0.995, 0.999)
# The grid, fixed before the first run. (a) LEAR inside the model x LightGBM weight:
LEAR_SETS = {"single 1456": (1456,), "ens 56/84/1456": (56, 84, 1456), "ens 56/84/1092/1456": WINDOWS}
WEIGHTS = (2 / 3, 0.5)
# (b) upper levels above P90 x interpolation between the levels (predict_svc.quantiles):
LEVEL_SETS = {"P95/P99": (0.95, 0.99), "+P99.5": (0.95, 0.99, 0.995), "+P99.5/P99.9": UPPER}
INTERPOLATIONS = ("linear", "log-tail")
# The tail grid of the 2022 + 2023 validation (BENCHMARKS.md, "Spike-probability tail validated on
# 2022 + 2023"): the level sets x interpolations x these families, today's is ("plain", P95/P99, linear).
FAMILIES = ("plain", "recalibrated", "blend")
TODAY = ("plain", "P95/P99", "linear")


def _shipped_band(z: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The shipped model's P50 (2/3 LightGBM + 1/3 LEAR 1456) with its P10/P90 band moved along
    (as run_day_ahead): (mid, the shift from LightGBM's P50, lo, hi)."""
    mid = 2 / 3 * z["p50"] + 1 / 3 * z["lear_1456"]
    shift = mid - z["p50"]
    return mid, shift, np.minimum(z["p10"], z["p10"] + shift), np.maximum(z["p90"], z["p90"] + shift)


def _tail_quantiles(
    z: Any, act: np.ndarray, lvs: tuple[float, ...]
) -> tuple[tuple[float, ...], list[np.ndarray], list[np.ndarray], list[np.ndarray], np.ndarray]:
    """For one set of upper levels: the levels, the model's upper quantiles, the residual
    baseline's and the model's whole quantile lists, and the hours where all are finite."""
    mid, shift, lo, hi = _shipped_band(z)
    levels = (0.1, 0.5, 0.9, *lvs)
    up = [np.maximum(z[f"up_{lv}"], z[f"up_{lv}"] + shift) for lv in lvs]
    base = _residual_band(mid, act, tuple(lv for lv in levels if lv != 0.5))
    base.insert(1, mid)
    model = [lo, mid, hi, *up]
    m = np.isfinite(act)
    for arr in (*base, *model):
        m &= np.isfinite(arr)
    return levels, up, base, model, m


def tail_scores(path: str) -> dict[tuple[str, str, str], dict[str, float]]:
    """Every tail candidate's spike Brier on one saved run (``--lear-windows 1456`` or more), the
    residual baseline's at the same levels and rule, the constant base rate's; hours from the 8th
    test day (the baseline's first)."""
    z = np.load(path)
    act = z["actual"]
    thr = float(z["threshold"])
    held_q, held_y = z["heldout_q"], z["heldout_y"]
    held_lv = tuple(float(v) for v in z["heldout_levels"])
    out: dict[tuple[str, str, str], dict[str, float]] = {}
    for name, lvs in LEVEL_SETS.items():
        levels, _up, base, model, m = _tail_quantiles(z, act, lvs)
        ev = (act[m] > thr).astype(float)
        qm = np.column_stack([q[m] for q in model])
        qb = np.column_stack([q[m] for q in base])
        cols = [held_lv.index(lv) for lv in levels]
        for how in INTERPOLATIONS:
            pb, _ = exceed_probability(thr, qb, levels, how)
            tail = fit_tail_map(held_q[:, cols], held_y, levels, how)
            probs = {
                "plain": exceed_probability(thr, qm, levels, how)[0],
                "recalibrated": exceed_probability(thr, qm, levels, how, tail)[0],
                "blend": exceed_probability(thr, (qm + qb) / 2, levels, how)[0],
            }
            b_base, b_rate = np.mean((pb - ev) ** 2), np.mean((ev.mean() - ev) ** 2)
            for fam, p in probs.items():
                b = float(np.mean((p - ev) ** 2))
                out[(fam, name, how)] = {
                    "brier": b,
                    "baseline": float(b_base),
                    "base_rate": float(b_rate),
                    "score": b - float(min(b_base, b_rate)),
                    "events": float(ev.sum()),
                    "rate": float(ev.mean()),
                    "mean_p": float(p.mean()),
                    "threshold": thr,
                    "hours": float(m.sum()),
                }
    return out


def select_tail(paths: list[str]) -> tuple[str, str, str]:
    """The written rule: the lowest summed score over the runs; no change within 1e-5 of today's;
    ties to fewer levels, then the family order, then the interpolation order."""
    runs = {p: tail_scores(p) for p in paths}
    keys = list(next(iter(runs.values())))
    total = {k: sum(r[k]["score"] for r in runs.values()) for k in keys}
    for path, r in runs.items():
        t = r[TODAY]
        print(
            f"{path}: threshold {t['threshold']:.1f}, {int(t['events'])} event hours of {int(t['hours'])} ({t['rate']:.4f})"
        )
        for k in keys:
            v = r[k]
            print(
                f"  {k[0]:<13} {k[1]:<13} {k[2]:<8} Brier {v['brier']:.5f}  baseline {v['baseline']:.5f}"
                f"  base rate {v['base_rate']:.5f}  score {v['score']:+.6f}  mean p {v['mean_p']:.4f}"
            )
    order = list(LEVEL_SETS)

    def rank(k: tuple[str, str, str]) -> tuple[float, int, int, int]:
        return (total[k], order.index(k[1]), FAMILIES.index(k[0]), INTERPOLATIONS.index(k[2]))

    print("summed score over the runs:")
    for k in sorted(keys, key=rank):
        print(f"  {k[0]:<13} {k[1]:<13} {k[2]:<8} {total[k]:+.6f}")
    best = min(total.values())
    if total[TODAY] - best <= 1e-5:
        return TODAY
    tied = [k for k in keys if total[k] - best <= 1e-5]
    return min(tied, key=lambda k: (order.index(k[1]), FAMILIES.index(k[0]), INTERPOLATIONS.index(k[2])))


def _validation_inputs(args: argparse.Namespace) -> tuple[DayPanel, Any, str, tuple[int, int, int]]:
    """The zone's panel, its fundamentals (and their note) and the panel rows of the last
    training day and the first and last test days."""
    data = Path(args.data_dir)
    panel = DayPanel.from_frame(load_market(data, args.zone))
    rows = tuple(panel.index_of(d) for d in (args.train_end, args.test_start, args.test_end))
    fund, note = _fundamentals(data, args.fundamentals_dir, args.zone, panel)
    return panel, fund, note, (rows[0], rows[1], rows[2])


def run(args: argparse.Namespace) -> None:
    began = time.perf_counter()
    panel, fund, note, (te, a, b) = _validation_inputs(args)
    refit = {w: args.long_refit_days for w in WINDOWS if w > 365} if args.long_refit_days else None
    model_refit = args.model_refit_days or None
    windows = tuple(int(w) for w in args.lear_windows.split(","))
    fc = forecast_days(
        panel,
        fund,
        te,
        a,
        b,
        (0,),
        "weekly",
        DayAheadParams(upper_levels=UPPER),
        progress=print,
        lear_windows=windows,
        lear_refit_days=refit,
        model_refit_days=model_refit,
    )
    history = panel.price[max(0, te - 364) : te + 1]
    np.savez(
        args.out,
        actual=panel.price[a : b + 1],
        naive=naive_day_ahead(panel)[a : b + 1],
        threshold=float(np.quantile(history[np.isfinite(history)], 0.95)),
        p10=fc["p10"][0],
        p50=fc["p50"][0],
        p90=fc["p90"][0],
        **{f"lear_{w}": fc["lear_members"][w] for w in windows},
        **{f"up_{lv}": q[0] for lv, q in fc["upper"].items()},
        heldout_q=fc["heldout"][0],
        heldout_y=fc["heldout"][1],
        heldout_levels=np.array((0.1, 0.5, 0.9, *UPPER)),
        seconds=time.perf_counter() - began,
        long_refit_days=args.long_refit_days or 7,
        model_refit_days=args.model_refit_days or 28,
    )
    print(f"{args.zone} saved {args.out} ({note}) in {time.perf_counter() - began:.0f} s")


def _model_rmae_grid(
    args: argparse.Namespace, candidates_of: Callable[[DayPanel], dict[str, dict[str, Any]]], out: str | None
) -> None:
    """Model rMAE (2/3 LightGBM P50 + 1/3 LEAR 1456 fitted once) of each candidate, a set of
    :func:`forecast_days` arguments over the shipped defaults (``params``: a DayAheadParams) made
    from the zone's panel; the LightGBM P10/P50/P90 as the CLI fits them, without the upper levels
    (they do not move the P50). Saves each candidate's P50 to ``out`` when given."""
    panel, fund, note, (te, a, b) = _validation_inputs(args)
    candidates = candidates_of(panel)
    act, nv = panel.price[a : b + 1], naive_day_ahead(panel)[a : b + 1]
    ok = np.isfinite(act) & np.isfinite(nv)
    nmae = float(np.mean(np.abs(nv[ok] - act[ok])))
    saved: dict[str, Any] = {"actual": act, "naive": nv}
    for name, extra in candidates.items():
        began = time.perf_counter()
        kwargs: dict[str, Any] = {"params": DayAheadParams(upper_levels=()), **extra}
        fc = forecast_days(
            panel,
            fund,
            te,
            a,
            b,
            (0,),
            "weekly",
            lear_windows=(1456,),
            lear_refit_days={1456: 10**9},
            **kwargs,
        )
        saved["lear"], saved[f"p50 {name}"] = fc["lear"], fc["p50"][0]
        r = {
            k: float(np.mean(np.abs(f[ok] - act[ok])) / nmae)
            for k, f in (("lgb", fc["p50"][0]), ("model", fc["p50_model"]), ("lear", fc["lear"]))
        }
        others = sorted(extra["neighbours"]) if extra.get("neighbours") else "none"
        print(
            f"{args.zone} {name:<32} model rMAE {r['model']:.4f}  LightGBM {r['lgb']:.4f}"
            f"  LEAR (once) {r['lear']:.4f}  {time.perf_counter() - began:.0f} s"
            f"  (neighbours {others}; {note})",
            flush=True,
        )
    if out:
        np.savez(out, **saved)


# The P50 refit-cadence grid (BENCHMARKS.md, "NO2 point forecast: P50 refit cadence"): name ->
# (P50 refit days, P50 half-life days); every other booster refits every 28 days.
P50_GRID: dict[str, tuple[int, float | None]] = {
    "(a) today": (28, None),
    "(b) P50 weekly": (7, None),
    "(c) P50 weekly, half-life 365": (7, 365.0),
}


def p50_grid(args: argparse.Namespace) -> None:
    """The model rMAE of each P50 refit-cadence candidate."""
    candidates = {
        name: {
            "params": DayAheadParams(upper_levels=(), p50_half_life_days=half_life),
            "p50_refit_days": days,
        }
        for name, (days, half_life) in P50_GRID.items()
    }
    _model_rmae_grid(args, lambda _panel: candidates, args.out)


# The neighbour-price grid (BENCHMARKS.md, "Neighbour-zone prices as inputs"), fixed before the
# first run: name -> whether the LightGBM reads the other zones' D-1 prices; P50 refit as shipped.
NB_GRID: dict[str, bool] = {"(a) today": False, "(n) + other zones' D-1 prices": True}


def neighbours_grid(args: argparse.Namespace) -> None:
    """The model rMAE with and without the other zones' prices of D-1 as LightGBM inputs."""

    def candidates(panel: DayPanel) -> dict[str, dict[str, Any]]:
        others = neighbour_prices(args.data_dir, args.zone, panel)
        return {name: {"neighbours": others if use else None} for name, use in NB_GRID.items()}

    _model_rmae_grid(args, candidates, None)


def score(paths: list[str]) -> None:
    for path in paths:
        z = np.load(path)
        act, nv = z["actual"], z["naive"]
        ok = np.isfinite(act) & np.isfinite(nv)
        nmae = np.mean(np.abs(nv[ok] - act[ok]))

        def rmae(f: np.ndarray, act: np.ndarray = act, ok: np.ndarray = ok, nmae: float = nmae) -> float:
            return float(np.mean(np.abs(f[ok] - act[ok])) / nmae)

        if "seconds" not in z:
            print(f"{path}: the CLI's own forecasts (as --recalibrate says)")
        else:
            print(
                f"{path}: LEAR refit every {int(z['long_refit_days'])} d (long windows), LightGBM every {int(z['model_refit_days'])} d; {float(z['seconds']):.0f} s"
            )
        print(
            "  members "
            + "  ".join(f"{w}: {rmae(z[f'lear_{w}']):.3f}" for w in WINDOWS)
            + f"  LightGBM: {rmae(z['p50']):.3f}"
        )
        for name, ws in LEAR_SETS.items():
            lear = np.mean([z[f"lear_{w}"] for w in ws], axis=0)
            row = [f"LEAR {rmae(lear):.3f}"] + [
                f"w={wt:.2f}: {rmae(wt * z['p50'] + (1 - wt) * lear):.3f}" for wt in WEIGHTS
            ]
            print(f"  {name:<22}" + "  ".join(row))
        # (b) on the shipped model's P50 (2/3 LightGBM + 1/3 LEAR 1456), band as run_day_ahead.
        thr = float(z["threshold"]) if "threshold" in z else _cli_threshold(path)
        for (name, lvs), how in ((x, i) for x in LEVEL_SETS.items() for i in INTERPOLATIONS):
            levels, up, base, model, m = _tail_quantiles(z, act, lvs)
            ev = (act[m] > thr).astype(float)
            pm, _ = exceed_probability(thr, np.column_stack([q[m] for q in model]), levels, how)
            pb, _ = exceed_probability(thr, np.column_stack([q[m] for q in base]), levels, how)
            cov = " ".join(f"{np.mean(act[m] <= q[m]):.3f}" for q in up)
            print(
                f"  {name:<14} {how:<8} Brier model {np.mean((pm - ev) ** 2):.5f}  baseline {np.mean((pb - ev) ** 2):.5f}"
                f"  diff {np.mean((pm - ev) ** 2) - np.mean((pb - ev) ** 2):+.6f}"
                f"  base rate {np.mean((ev.mean() - ev) ** 2):.5f} ({ev.mean():.4f})  mean p {pm.mean():.4f}"
                f"  coverage {cov}  thr {thr:.1f}"
            )


def _cli_threshold(path: str) -> float:
    """The spike threshold of a CLI run (``--save-forecasts``) from its JSON report beside it."""
    import json

    doc = json.loads(Path(path).with_suffix(".json").read_text())
    return float(doc["spike"]["threshold_eur_mwh"])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--score", nargs="*")
    ap.add_argument("--tail", nargs="*", help="score the tail grid on these runs and apply the rule")
    ap.add_argument("--zone")
    ap.add_argument("--data-dir", default="/work/shared/data/entsoe")
    ap.add_argument("--fundamentals-dir", default="/work/shared/data/fundamentals")
    ap.add_argument("--train-end", default="2022-12-31")
    ap.add_argument("--test-start", default="2023-01-01")
    ap.add_argument("--test-end", default="2023-12-31")
    ap.add_argument(
        "--long-refit-days", type=int, default=10**9, help="stand-in: refit of the 1092/1456 LEARs"
    )
    ap.add_argument("--model-refit-days", type=int, default=10**9, help="stand-in: refit of the LightGBM")
    ap.add_argument("--out")
    ap.add_argument(
        "--lear-windows",
        default=",".join(str(w) for w in WINDOWS),
        help="LEAR windows to run (1456 alone: the tail selection, which needs no ensemble)",
    )
    ap.add_argument("--p50-grid", action="store_true", help="model rMAE of the P50 refit-cadence grid")
    ap.add_argument(
        "--neighbours-grid", action="store_true", help="model rMAE with/without other zones' prices"
    )
    args = ap.parse_args()
    if args.neighbours_grid:
        neighbours_grid(args)
        return
    if args.p50_grid:
        p50_grid(args)
    elif args.tail:
        print("selected:", select_tail(args.tail))
    elif args.score:
        score(args.score)
    else:
        run(args)


if __name__ == "__main__":
    main()
