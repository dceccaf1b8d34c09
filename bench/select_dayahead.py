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
from pathlib import Path

import numpy as np

from predict_svc.dayahead import DayAheadParams
from predict_svc.dayahead_backtest import _fundamentals, _residual_band, forecast_days
from predict_svc.market import load_market
from predict_svc.protocols import DayPanel, naive_day_ahead
from predict_svc.quantiles import exceed_probability

WINDOWS = (56, 84, 1092, 1456)
UPPER = (0.95, 0.99, 0.995, 0.999)
# The grid, fixed before the first run. (a) LEAR inside the model x LightGBM weight:
LEAR_SETS = {"single 1456": (1456,), "ens 56/84/1456": (56, 84, 1456), "ens 56/84/1092/1456": WINDOWS}
WEIGHTS = (2 / 3, 0.5)
# (b) upper levels above P90 x interpolation between the levels (predict_svc.quantiles):
LEVEL_SETS = {"P95/P99": (0.95, 0.99), "+P99.5": (0.95, 0.99, 0.995), "+P99.5/P99.9": UPPER}
INTERPOLATIONS = ("linear", "log-tail")


def run(args: argparse.Namespace) -> None:
    began = time.perf_counter()
    data = Path(args.data_dir)
    panel = DayPanel.from_frame(load_market(data, args.zone))
    te, a, b = (panel.index_of(d) for d in (args.train_end, args.test_start, args.test_end))
    fund, note = _fundamentals(data, args.fundamentals_dir, args.zone, panel)
    refit = {w: args.long_refit_days for w in WINDOWS if w > 365} if args.long_refit_days else None
    model_refit = args.model_refit_days or None
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
        lear_windows=WINDOWS,
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
        **{f"lear_{w}": fc["lear_members"][w] for w in WINDOWS},
        **{f"up_{lv}": q[0] for lv, q in fc["upper"].items()},
        seconds=time.perf_counter() - began,
        long_refit_days=args.long_refit_days or 7,
        model_refit_days=args.model_refit_days or 28,
    )
    print(f"{args.zone} saved {args.out} ({note}) in {time.perf_counter() - began:.0f} s")


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
        mid = 2 / 3 * z["p50"] + 1 / 3 * z["lear_1456"]
        shift = mid - z["p50"]
        lo, hi = np.minimum(z["p10"], z["p10"] + shift), np.maximum(z["p90"], z["p90"] + shift)
        thr = float(z["threshold"]) if "threshold" in z else _cli_threshold(path)
        for (name, lvs), how in ((x, i) for x in LEVEL_SETS.items() for i in INTERPOLATIONS):
            up = [np.maximum(z[f"up_{lv}"], z[f"up_{lv}"] + shift) for lv in lvs]
            levels = (0.1, 0.5, 0.9, *lvs)
            base = _residual_band(mid, act, tuple(lv for lv in levels if lv != 0.5))
            base.insert(1, mid)
            model = [lo, mid, hi, *up]
            m = np.isfinite(act)
            for arr in (*base, *model):
                m &= np.isfinite(arr)
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
    args = ap.parse_args()
    if args.score:
        score(args.score)
    else:
        run(args)


if __name__ == "__main__":
    main()
