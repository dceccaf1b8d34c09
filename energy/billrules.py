"""The bill's rule set as a deployment configures it: the rates, the EUR/NOK source, defaults.

Loaded and validated once, at start-up (:func:`load_bill_rules`: a bad rule set, FX setting or
default grid company raises :class:`~energy.ratebook.RateConfigError`), by every service that
bills with :mod:`energy.bill`: ingest's billing (periods, the month bill) and predict_svc's cost
forecasts, from the same ``EP_BILL_*`` settings (:class:`BillSettings`), so both bill by the same
rules. Plain Python (no numpy): ingest imports it at start-up.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TypeVar

from common.config import env_field, from_env
from common.errors import FailedPrecondition, Unavailable
from energy.fx import FallbackFxSource, FileFxSource, FixedFxSource, FxSource, MissingFxRate
from energy.ratebook import (
    DEFAULT_RULESET,
    RateBook,
    RateConfigError,
    RateGapError,
    UnknownGridCompany,
    load_ratebook,
)
from energypulse.errors.v1 import error_reason_pb2 as reasons

__all__ = [
    "DEFAULT_EURNOK_FALLBACK",
    "DEFAULT_GRID_COMPANY",
    "BillRules",
    "BillSettings",
    "bill_guard",
    "bill_rules_from_env",
    "default_bill_rules",
    "load_bill_rules",
]

SUPPORT_PERIODS = ("hour", "quarter_hour")
# The documented defaults of EP_BILL_EURNOK_FALLBACK and EP_BILL_DEFAULT_GRID_COMPANY (BillSettings; ingest_svc/config.py reads the same names).
DEFAULT_EURNOK_FALLBACK = "11.50"  # NOK per EUR, approximate 2025-26 level, UNVERIFIED
DEFAULT_GRID_COMPANY = "glitre"


@dataclass(frozen=True)
class BillRules:
    """The loaded rule set, the EUR/NOK source and the deployment's bill settings."""

    book: RateBook
    fx: FxSource
    default_grid_company: str
    support_period: str | None = None  # None: the rule set's own period

    def __post_init__(self) -> None:
        self.book.grid(self.default_grid_company)  # an unknown default fails at start-up
        if self.support_period is not None and self.support_period not in SUPPORT_PERIODS:
            raise RateConfigError(f"support period must be hour or quarter_hour, got {self.support_period!r}")


def load_bill_rules(
    ruleset: str, eurnok_file: str, eurnok_fallback: str, default_grid_company: str, support_period: str
) -> BillRules:
    """Build from settings (EP_BILL_*); raises :class:`RateConfigError` on any bad value."""
    book = load_ratebook(Path(ruleset) if ruleset else DEFAULT_RULESET)
    if book.currency == "EUR":
        fx: FxSource = FixedFxSource(Decimal(1))
    else:
        sources: list[FxSource] = []
        if eurnok_file:
            sources.append(FileFxSource(eurnok_file))
        if eurnok_fallback:
            try:
                rate = Decimal(eurnok_fallback)
            except InvalidOperation:
                raise RateConfigError(
                    f"EP_BILL_EURNOK_FALLBACK is not a number: {eurnok_fallback!r}"
                ) from None
            if not rate.is_finite() or rate <= 0:
                raise RateConfigError(f"EP_BILL_EURNOK_FALLBACK must be positive, got {eurnok_fallback!r}")
            sources.append(FixedFxSource(rate))
        if not sources:
            raise RateConfigError("a NOK rule set needs EP_BILL_EURNOK_FILE or EP_BILL_EURNOK_FALLBACK")
        fx = sources[0] if len(sources) == 1 else FallbackFxSource(sources[0], sources[1])
    if support_period and support_period not in SUPPORT_PERIODS:
        raise RateConfigError(f"EP_BILL_SUPPORT_PERIOD must be hour or quarter_hour, got {support_period!r}")
    try:
        return BillRules(book, fx, default_grid_company, support_period or None)
    except UnknownGridCompany as exc:
        raise RateConfigError(f"EP_BILL_DEFAULT_GRID_COMPANY: {exc}") from None


def default_bill_rules() -> BillRules:
    """The rules with every EP_BILL_* setting at its documented default (tests, tools)."""
    return load_bill_rules("", "", DEFAULT_EURNOK_FALLBACK, DEFAULT_GRID_COMPANY, "")


@dataclass(frozen=True)
class BillSettings:
    """The ``EP_BILL_*`` settings (the same names and defaults as ingest's IngestConfig fields)."""

    ruleset: str = env_field("EP_BILL_RULESET", "", "Rate configuration directory (empty: energy/rates/no)")
    eurnok_file: str = env_field("EP_BILL_EURNOK_FILE", "", "CSV of daily EUR/NOK closes (date,eur_nok)")
    eurnok_fallback: str = env_field(
        "EP_BILL_EURNOK_FALLBACK", DEFAULT_EURNOK_FALLBACK, "EUR/NOK when the file has no rate"
    )
    default_grid_company: str = env_field(
        "EP_BILL_DEFAULT_GRID_COMPANY", DEFAULT_GRID_COMPANY, "grid company of a household without one"
    )
    support_period: str = env_field("EP_BILL_SUPPORT_PERIOD", "", "hour | quarter_hour override")

    def rules(self) -> BillRules:
        return load_bill_rules(
            self.ruleset,
            self.eurnok_file,
            self.eurnok_fallback,
            self.default_grid_company,
            self.support_period,
        )


def bill_rules_from_env(environ: Mapping[str, str] | None = None) -> BillRules:
    """The rules of the environment's ``EP_BILL_*`` settings (``os.environ`` by default)."""
    return from_env(BillSettings, environ).rules()


_T = TypeVar("_T")


def bill_guard(fn: Callable[[], _T]) -> _T:
    """Run a bill computation; a gap in the rule set or the EUR rate becomes the registry's reason
    (a gRPC status with ErrorInfo), never a silent zero: an unknown grid company or a rate not in
    force FAILED_PRECONDITION, a missing EUR/NOK rate UNAVAILABLE."""
    try:
        return fn()
    except UnknownGridCompany as exc:
        raise FailedPrecondition(reasons.BILL_UNKNOWN_GRID_COMPANY, str(exc)) from None
    except RateGapError as exc:
        raise FailedPrecondition(reasons.BILL_RATE_NOT_IN_FORCE, str(exc)) from None
    except MissingFxRate as exc:
        raise Unavailable(reasons.BILL_FX_RATE_MISSING, str(exc)) from None
