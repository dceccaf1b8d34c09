"""Fit the synthetic market's parameters from ENTSO-E data (run offline; output is committed).

    python -m predict_svc.calibrate_synthetic --data-dir /work/shared/data/entsoe \\
        --zones NO1 NO2 NO5 --start 2023-01-01 --end 2024-12-31

Only the post-crisis years are used by default so a fresh clone simulates today's price regime
rather than the 2022 spike year. Writes ``predict_svc/synthetic_params.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from predict_svc.market import load_market
from predict_svc.synthetic import PARAMS_FILE, fit_params

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m predict_svc.calibrate_synthetic")
    parser.add_argument("--data-dir", required=True, type=Path)
    parser.add_argument("--zones", nargs="+", default=["NO1", "NO2", "NO5"])
    parser.add_argument("--start", default="2023-01-01")
    parser.add_argument("--end", default="2024-12-31")
    parser.add_argument("--out", type=Path, default=PARAMS_FILE)
    args = parser.parse_args(argv)
    zones = {}
    for zone in args.zones:
        print(f"fitting {zone}", file=sys.stderr)
        frame = load_market(args.data_dir, zone, f"{args.start} 00:00", f"{args.end} 23:00")
        zones[zone] = fit_params(frame).to_dict()
    doc = {
        "source": f"ENTSO-E Transparency Platform (CC BY 4.0), {args.start}..{args.end}",
        "script": "python -m predict_svc.calibrate_synthetic",
        "zones": zones,
    }
    args.out.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
