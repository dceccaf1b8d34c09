"""How long the loaded bill rule set still has rates in force, for the operator.

A period past the last day of an item (elavgift, stromstotte, a grid tariff...) cannot be priced:
it stays unpriced and is retried until the rule set gets an entry (never a silent zero). New rates
are published late in the year before they apply, so the operator must learn of the end weeks
ahead, not from January's first unpriced period: every service that bills exports the days left
per item as a gauge (``energypulse_bill_rates_days_left{item}``, computed at scrape time, so a
long-running process needs no timer) and logs ``bill_rates_expiring`` at start-up for each item
that ends within :data:`WARN_DAYS`. Items with an open-ended last entry are +Inf.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import date

from prometheus_client import REGISTRY, CollectorRegistry, Gauge

from common.log import get_logger

__all__ = ["WARN_DAYS", "RateCoverage", "watch_rate_coverage"]

# Norwegian rates for a year are set in the state budget (December) and grid companies publish
# theirs in November-December: 60 days gives an operator the whole of that season.
WARN_DAYS = 60

log = get_logger("rate_coverage")


# Item -> its first day without a rate from the given day on (None: open-ended); the rule set's
# RateBook.coverage (plumbing takes the callable, not the domain type).
Coverage = Callable[[date], Mapping[str, date | None]]


class RateCoverage:
    """Days left per item of a rule set, as of ``today()`` (the caller's local date)."""

    def __init__(self, coverage: Coverage, today: Callable[[], date]) -> None:
        self._coverage = coverage
        self._today = today

    def days_left(self) -> dict[str, float]:
        """Item -> whole days from today to its first day without a rate (0: none in force
        today; +Inf: open-ended)."""
        today = self._today()
        return {
            item: math.inf if end is None else float((end - today).days)
            for item, end in self._coverage(today).items()
        }

    def expiring(self, within_days: int = WARN_DAYS) -> dict[str, date]:
        """Items whose rates end within ``within_days`` days of today, with their first uncovered day."""
        today = self._today()
        return {
            item: end
            for item, end in self._coverage(today).items()
            if end is not None and (end - today).days <= within_days
        }


_GAUGES: dict[int, Gauge] = {}


def _gauge(registry: CollectorRegistry) -> Gauge:
    # One gauge per registry: a process that builds two apps (tests) must not register it twice.
    key = id(registry)
    if key not in _GAUGES:
        _GAUGES[key] = Gauge(
            "energypulse_bill_rates_days_left",
            "Days until the bill rule set has no rate in force for the item (+Inf: open-ended)",
            ["item"],
            registry=registry,
        )
    return _GAUGES[key]


def _reader(coverage: RateCoverage, item: str) -> Callable[[], float]:
    return lambda: coverage.days_left()[item]


def watch_rate_coverage(
    rule_coverage: Coverage,
    service: str,
    *,
    today: Callable[[], date],
    ruleset: str = "",
    registry: CollectorRegistry = REGISTRY,
) -> RateCoverage:
    """Export the gauge for a rule set and log each item that ends within :data:`WARN_DAYS`."""
    coverage = RateCoverage(rule_coverage, today)
    gauge = _gauge(registry)
    for item in rule_coverage(today()):
        gauge.labels(item=item).set_function(_reader(coverage, item))
    for item, end in sorted(coverage.expiring().items()):
        log.warning(
            "bill_rates_expiring",
            service=service,
            item=item,
            first_day_without_rate=end.isoformat(),
            days_left=(end - today()).days,
            ruleset=ruleset,
        )
    return coverage
