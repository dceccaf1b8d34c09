"""The bill's rule set as billing uses it (:mod:`energy.billrules`, shared with predict_svc's
cost forecasts), and a household's contract from its registration.

The rules are loaded and validated once, at start-up, and shared by the period pricing
(:mod:`.pricing`, the ledger records) and the month bill (:mod:`.month_cost`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.engine import Connection

from common.errors import NotFound
from energy.billrules import (
    DEFAULT_EURNOK_FALLBACK,
    DEFAULT_GRID_COMPANY,
    BillRules,
    default_bill_rules,
    load_bill_rules,
)
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
