"""Month settlement of 10,000 households x one month of quarter-hours (energy.bill, numpy int64).

One calendar (NO5 prices at the day's EUR/NOK, BKK, Bergen) is built per month and shared; the
households are settled in batches of ``BATCH`` rows (a 10,000 x 2,976 int64 array is 238 MB, so
batches keep memory flat), each batch rounded into invoices. Consumption: random quarter-hours
0-2 kWh, 10 % on Norgespris, 20 % exporting. Target: < 60 s for all 10,000 on this machine.

python -m bench.bench_bill [households]   (one run; ``run(quick)`` is what bench.run calls)
"""

from __future__ import annotations

import sys
import time
from datetime import datetime
from decimal import Decimal

import numpy as np

from bench.report import Figure, median_spread
from energy.bill import Contract, build_calendar, invoices, rows_for, settle
from energy.fx import FixedFxSource
from energy.localtime import zone
from energy.ratebook import load_ratebook

__all__ = ["run", "settle_households"]

BATCH = 500
TARGET_S = 60.0


def _month_ms() -> np.ndarray:
    tz = zone("Europe/Oslo")
    start = int(datetime(2026, 1, 1, tzinfo=tz).timestamp() * 1000)
    end = int(datetime(2026, 2, 1, tzinfo=tz).timestamp() * 1000)
    return np.arange(start, end, 900_000, dtype=np.int64)


def settle_households(households: int, seed: int = 0) -> tuple[float, int]:
    """Seconds to build the calendar and settle + invoice ``households``; and the sum of totals."""
    book = load_ratebook()
    ms = _month_ms()
    rng = np.random.default_rng(seed)
    spot = rng.normal(80, 35, len(ms))
    started = time.perf_counter()
    cal = build_calendar(book, "bkk", "4601", 2026, 1, ms, spot, FixedFxSource(Decimal("11.62")))
    total = 0
    for first in range(0, households, BATCH):
        n = min(BATCH, households - first)
        imp = rng.integers(0, 2000, (n, len(ms)), dtype=np.int64)
        exp = np.where(rng.random((n, len(ms))) < 0.05, rng.integers(0, 1500, (n, len(ms))), 0)
        contracts = [
            Contract("bkk", "4601", scheme="norgespris" if i % 10 == 0 else "spot") for i in range(n)
        ]
        rows = rows_for(book, cal, contracts, imp, exp)
        total += sum(inv.total_minor for inv in invoices(book, cal, settle(book, cal, rows)))
    return time.perf_counter() - started, total


def run(quick: bool = False) -> list[Figure]:
    households = 1_000 if quick else 10_000
    runs = 1 if quick else 3
    samples = [settle_households(households, seed)[0] for seed in range(runs)]
    med, lo, hi = median_spread(samples)
    scaled = med * 10_000 / households
    return [
        Figure(
            "Billing",
            "Month settlement, 10,000 households x 2,976 quarter-hours (numpy int64)",
            scaled,
            "s",
            f"< {TARGET_S:.0f} s",
            scaled < TARGET_S,
            f"median of {runs}, range {lo:.1f}-{hi:.1f} s for {households} households"
            + (" (scaled to 10,000)" if households != 10_000 else "")
            + f"; batches of {BATCH}; calendar, settlement and invoice rounding included",
        )
    ]


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    seconds, _ = settle_households(n)
    print(f"{n} households: {seconds:.2f} s")
