"""Benchmark figures and the BENCHMARKS.md they are written to.

Each ``bench/bench_<area>.py`` exposes ``run(quick: bool) -> list[Figure]``; ``python -m bench.run``
runs them all and rewrites BENCHMARKS.md. Figures are medians (with spread) of several runs, and
ratios are measured in the same run, because these machines are shared and noisy.
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Figure", "machine_summary", "median_spread", "repeat", "write_report"]


@dataclass(frozen=True)
class Figure:
    group: str  # e.g. "Ledger"
    name: str  # what was measured
    value: float
    unit: str
    target: str = ""  # e.g. ">= 20000 tx/s"; empty when informational
    met: bool | None = None  # None when there is no target
    detail: str = ""  # how: runs, spread, sizes, what limits it


def median_spread(samples: Sequence[float]) -> tuple[float, float, float]:
    """(median, min, max)."""
    return statistics.median(samples), min(samples), max(samples)


def repeat(fn: Callable[[], float], runs: int) -> list[float]:
    return [fn() for _ in range(runs)]


def machine_summary() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores ({cpu}), {mem_gib:.0f} GiB RAM, {platform.system()} {platform.release()}, Python {platform.python_version()}"


def _git_rev() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _fmt(value: float) -> str:
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


def write_report(figures: Sequence[Figure], path: Path, command: str, notes: Sequence[str] = ()) -> None:
    lines = [
        "# Benchmarks",
        "",
        f"Written by `{command}` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} at commit `{_git_rev()}`.",
        f"Machine: {machine_summary()}.",
        "Every figure is a median of several runs (spread in the detail column); ratios compare",
        "measurements taken in the same run. Timing lives here, never in unit tests.",
        "",
    ]
    groups: dict[str, list[Figure]] = {}
    for figure in figures:
        groups.setdefault(figure.group, []).append(figure)
    for group, items in groups.items():
        lines += [f"## {group}", "", "| measure | value | target | met | how |", "|---|---|---|---|---|"]
        for f in items:
            met = "" if f.met is None else ("**met**" if f.met else "**not met**")
            lines.append(f"| {f.name} | {_fmt(f.value)} {f.unit} | {f.target} | {met} | {f.detail} |")
        lines.append("")
    if notes:
        lines += ["## Notes", "", *notes, ""]
    path.write_text("\n".join(lines))
