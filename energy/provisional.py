"""Which lines of a bill rest on a rate nobody checked against a published source.

Every rate entry says whether it was compared with the page it cites (``verified``); an entry
carried over into a year whose rates are not yet published (2027's elavgift, strømstøtte and
Norgespris, added so that January can be billed at all) is not. A household comparing our bill
with its real one must see which lines are provisional, so each line names the unverified entries
it was computed from on the days billed. The spot and export lines come from the market, not from
the rule set, and the supplier's lines only when the household has no contract of its own.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from energy.ratebook import RateBook, RateGapError, Versioned

if TYPE_CHECKING:  # energy.bill needs numpy, which ingest does not import at start-up
    from energy.bill.invoice import Contract

__all__ = ["unverified_rates"]


def _items(book: RateBook, contract: Contract) -> dict[str, list[tuple[str, Versioned[Any]]]]:
    grid = (f"grid/{contract.grid_company}", book.grid(contract.grid_company))
    return {
        "supplier_markup": [] if contract.markup_micro_per_kwh is not None else [("supplier", book.supplier)],
        "supplier_fee": [] if contract.monthly_fee_nano is not None else [("supplier", book.supplier)],
        "grid_energy": [grid],
        "grid_capacity": [grid],
        "elavgift": [("elavgift", book.elavgift)],
        "enova": [("enova", book.enova)],
        "stromstotte": [("stromstotte", book.support)],
        "norgespris": [("norgespris", book.norgespris)],
    }


def unverified_rates(
    book: RateBook, contract: Contract, year: int, month: int, through_day: int
) -> dict[str, list[str]]:
    """Line name -> the unverified entries (``"elavgift from 2027-01-01"``) in force on days 1 to
    ``through_day`` of the month; lines resting only on checked rates are left out."""
    first = date(year, month, 1)
    days = [first + timedelta(days=i) for i in range(max(through_day, 1))]
    found: dict[str, list[str]] = {}
    for line, items in _items(book, contract).items():
        names: list[str] = []
        for name, item in items:
            for day in days:
                try:
                    validity = item.validity_at(day)
                except RateGapError:
                    continue  # the bill itself fails on a gap; nothing to flag here
                label = f"{name} from {validity.valid_from.isoformat()}"
                if not validity.verified and label not in names:
                    names.append(label)
        if names:
            found[line] = names
    return found
