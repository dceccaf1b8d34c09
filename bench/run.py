"""Run every benchmark (or the named ones) and rewrite BENCHMARKS.md.

python -m bench.run [--quick] [area ...]     (areas: the <area> of bench/bench_<area>.py)
"""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback
from pathlib import Path

from bench.report import Figure, write_report

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("areas", nargs="*")
    parser.add_argument("--quick", action="store_true", help="fewer runs and smaller sizes (smoke)")
    parser.add_argument("--out", type=Path, default=ROOT / "BENCHMARKS.md")
    args = parser.parse_args()
    available = sorted(p.stem.removeprefix("bench_") for p in (ROOT / "bench").glob("bench_*.py"))
    areas = args.areas or available
    figures: list[Figure] = []
    notes: list[str] = []
    for area in areas:
        print(f"[bench] {area}", file=sys.stderr, flush=True)
        try:
            module = importlib.import_module(f"bench.bench_{area}")
            figures += module.run(quick=args.quick)
            notes += getattr(module, "NOTES", [])
        except Exception:  # noqa: BLE001 - one failing benchmark must not hide the others
            notes.append(f"- `{area}` failed: `{traceback.format_exc().splitlines()[-1]}`")
            traceback.print_exc()
    command = (
        "./scripts/bench"
        + (" --quick" if args.quick else "")
        + (" " + " ".join(args.areas) if args.areas else "")
    )
    write_report(figures, args.out, command, notes)
    print(f"[bench] wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
