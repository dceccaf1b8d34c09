"""EUR/NOK: the rate of a day, and area prices converted from EUR/MWh to integer µNOK/kWh.

The rate of a local day is the last close on or before that day (weekends and holidays carry the
previous close), up to ``max_carry_days`` back; older than that, or before the first close, is a
:class:`MissingFxRate` (a bill is never priced at a silent zero or a stale guess). Sources share
one protocol, :class:`FxSource`: :class:`FileFxSource` reads a CSV of daily closes (the backtests
use ``/work/shared/data/fundamentals/commodities_daily.csv`` by path; live deployments a file
their feed writes), :class:`FixedFxSource` is a configured constant, :class:`FallbackFxSource`
asks a primary then a fallback, :data:`EUR_IDENTITY` is the EUR rule set's identity.

Conversion, one rounding: ``µNOK/kWh = round_half_away(EUR/MWh x EURNOK x 1000)`` on the decimal
forms of both numbers (1 EUR/MWh = 0.001 EUR/kWh = 1000 µEUR/kWh).
"""

from __future__ import annotations

import bisect
import csv
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Protocol

__all__ = [
    "EUR_IDENTITY",
    "FallbackFxSource",
    "FileFxSource",
    "FixedFxSource",
    "FxSource",
    "MissingFxRate",
    "eur_mwh_to_micro_per_kwh",
]


class MissingFxRate(LookupError):
    """No usable EUR/NOK close for a day (bill it later or dead-letter it with this reason)."""


class FxSource(Protocol):
    def rate_on(self, day: date) -> Decimal:
        """Currency units per EUR in force on local ``day`` (raises :class:`MissingFxRate`)."""
        ...


def eur_mwh_to_micro_per_kwh(price_eur_mwh: float, rate: Decimal) -> int:
    """An area price in EUR/MWh as integer micro-units (of the rate's currency) per kWh."""
    value = Decimal(repr(float(price_eur_mwh))) * rate * 1000
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class FixedFxSource:
    """A configured constant rate (the live fallback; 1 for the EUR rule set)."""

    rate: Decimal

    def rate_on(self, day: date) -> Decimal:
        return self.rate


EUR_IDENTITY = FixedFxSource(Decimal(1))


class FileFxSource:
    """Daily closes from a CSV with a ``date`` column and a rate column (``eur_nok``).

    Empty cells are missing closes (not zero). Rows must be in date order without duplicates.
    """

    def __init__(self, path: Path | str, column: str = "eur_nok", max_carry_days: int = 7) -> None:
        self.path = Path(path)
        self.max_carry_days = max_carry_days
        days: list[date] = []
        rates: list[Decimal] = []
        try:
            with self.path.open(newline="") as fh:
                reader = csv.DictReader(fh)
                if (
                    reader.fieldnames is None
                    or "date" not in reader.fieldnames
                    or column not in reader.fieldnames
                ):
                    raise ValueError(f"{self.path}: needs columns 'date' and {column!r}")
                for line, row in enumerate(reader, start=2):
                    cell = (row[column] or "").strip()
                    if not cell:
                        continue
                    try:
                        day, rate = date.fromisoformat(row["date"]), Decimal(cell)
                    except (ValueError, InvalidOperation):
                        raise ValueError(f"{self.path}:{line}: bad date or rate {row!r}") from None
                    if not rate.is_finite() or rate <= 0:
                        raise ValueError(f"{self.path}:{line}: rate must be positive, got {cell}")
                    if days and day <= days[-1]:
                        raise ValueError(f"{self.path}:{line}: dates must increase ({day} after {days[-1]})")
                    days.append(day)
                    rates.append(rate)
        except OSError as exc:
            raise ValueError(f"EUR/NOK file unreadable: {exc}") from None
        if not days:
            raise ValueError(f"{self.path}: no {column} closes")
        self._days, self._rates = days, rates

    @property
    def last_day(self) -> date:
        return self._days[-1]

    def rate_on(self, day: date) -> Decimal:
        i = bisect.bisect_right(self._days, day) - 1
        if i < 0:
            raise MissingFxRate(f"no EUR/NOK close on or before {day} (first is {self._days[0]})")
        if (day - self._days[i]).days > self.max_carry_days:
            raise MissingFxRate(
                f"no EUR/NOK close within {self.max_carry_days} days before {day} (last {self._days[i]})"
            )
        return self._rates[i]


@dataclass(frozen=True)
class FallbackFxSource:
    """The primary's rate, else the fallback's (e.g. a file feed, then a configured constant)."""

    primary: FxSource
    fallback: FxSource

    def rate_on(self, day: date) -> Decimal:
        try:
            return self.primary.rate_on(day)
        except MissingFxRate:
            return self.fallback.rate_on(day)
