"""The bill's rule set as billing uses it: rates, EUR/NOK, defaults; and a household's contract.

Loaded and validated once, at start-up (:func:`load_bill_rules`: a bad rule set, FX setting or
default grid company stops the service), and shared by the period pricing (:mod:`.pricing`,
the ledger records) and the month bill (:mod:`.month_cost`), so both bill by the same rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.engine import Connection

from common.errors import NotFound
from energy.fx import FallbackFxSource, FileFxSource, FixedFxSource, FxSource
from energy.ratebook import DEFAULT_RULESET, RateBook, RateConfigError, UnknownGridCompany, load_ratebook
from energypulse.errors.v1 import error_reason_pb2 as reasons
from ingest_svc.billing.ports import ReadingTables

if TYPE_CHECKING:  # numpy (energy.bill) is imported on the first bill, not at start-up (~16 MB)
    from energy.bill import Contract

__all__ = [
    "DEFAULT_EURNOK_FALLBACK",
    "DEFAULT_GRID_COMPANY",
    "BillRules",
    "default_bill_rules",
    "household_contract",
    "household_contracts",
    "load_bill_rules",
]

SUPPORT_PERIODS = ("hour", "quarter_hour")
# The documented defaults of EP_BILL_EURNOK_FALLBACK and EP_BILL_DEFAULT_GRID_COMPANY (config.py).
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


def household_contracts(
    conn: Connection, tables: ReadingTables, rules: BillRules, household_ids: list[str]
) -> dict[str, Contract]:
    """The registered contracts of these households, in one query (unregistered ones are absent)."""
    from energy.bill import Contract

    h = tables.households.c
    rows = conn.execute(
        select(
            h.household_id,
            h.zone,
            h.grid_company,
            h.municipality,
            h.price_scheme,
            h.dwelling,
            h.supplier_markup_micro_per_kwh,
            h.supplier_fee_nano_per_month,
        ).where(h.household_id.in_(household_ids))
    )
    return {
        str(row.household_id): Contract(
            # none registered: the company serving its zone in the rule set, else the default
            grid_company=row.grid_company
            or rules.book.grid_for_zone(row.zone or "")
            or rules.default_grid_company,
            municipality=row.municipality or "",
            scheme=row.price_scheme or "spot",
            dwelling=row.dwelling or "home",
            markup_micro_per_kwh=row.supplier_markup_micro_per_kwh,
            monthly_fee_nano=row.supplier_fee_nano_per_month,
        )
        for row in rows
    }


def household_contract(
    conn: Connection, tables: ReadingTables, rules: BillRules, household_id: str
) -> Contract:
    """The household's registered contract (raises NotFound HOUSEHOLD_NOT_FOUND)."""
    found = household_contracts(conn, tables, rules, [household_id]).get(household_id)
    if found is None:
        raise NotFound(reasons.HOUSEHOLD_NOT_FOUND, f"household {household_id!r} is not registered")
    return found
