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
    "BILL_ENV",
    "DEFAULT_EURNOK_FALLBACK",
    "DEFAULT_GRID_COMPANY",
    "BillRules",
    "BillSettings",
    "bill_field",
    "bill_guard",
    "bill_rules_from_env",
    "default_bill_rules",
    "load_bill_rules",
]

SUPPORT_PERIODS = ("hour", "quarter_hour")
# The documented defaults of EP_BILL_EURNOK_FALLBACK and EP_BILL_DEFAULT_GRID_COMPANY (BILL_ENV).
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


# The EP_BILL_* settings, defined once (variable, default, doc): predict_svc's BillSettings and
# ingest's IngestConfig declare their fields with :func:`bill_field`, so the two services that price
# bills cannot read different names or defaults (tests/test_bill_settings.py checks both resolve alike).
BILL_ENV: dict[str, tuple[str, str, str]] = {
    "ruleset": ("EP_BILL_RULESET", "", "Rate configuration directory (empty: energy/rates/no, Norway)"),
    "eurnok_file": (
        "EP_BILL_EURNOK_FILE",
        "",
        "CSV of daily EUR/NOK closes (date,eur_nok); empty: only the fallback",
    ),
    "eurnok_fallback": (
        "EP_BILL_EURNOK_FALLBACK",
        DEFAULT_EURNOK_FALLBACK,
        "NOK per EUR when the file has no close within 7 days (approximate 2025-26 level, UNVERIFIED;"
        " empty: a missing close is the error BILL_FX_RATE_MISSING)",
    ),
    "default_grid_company": (
        "EP_BILL_DEFAULT_GRID_COMPANY",
        DEFAULT_GRID_COMPANY,
        "Grid company of households that registered none and whose zone no rate file lists",
    ),
    "support_period": (
        "EP_BILL_SUPPORT_PERIOD",
        "",
        "hour | quarter_hour: overrides the rule set's stromstotte period",
    ),
}


def bill_field(name: str) -> str:
    """The settings field of the ``EP_BILL_*`` setting ``name`` (a key of :data:`BILL_ENV`)."""
    env, default, doc = BILL_ENV[name]
    return env_field(env, default, doc)


@dataclass(frozen=True)
class BillSettings:
    """The ``EP_BILL_*`` settings (:data:`BILL_ENV`; ingest's IngestConfig declares the same fields)."""

    ruleset: str = bill_field("ruleset")
    eurnok_file: str = bill_field("eurnok_file")
    eurnok_fallback: str = bill_field("eurnok_fallback")
    default_grid_company: str = bill_field("default_grid_company")
    support_period: str = bill_field("support_period")

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
