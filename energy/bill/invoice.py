"""Invoice lines: the one rounding rule, and a household's contract.

Rounding (the only one on an invoice): each line's exact amount ex VAT and its exact VAT, both in
nano-units, are rounded *separately* to the minor unit (ore; cent in the EUR rule set), half away
from zero. The invoice total is the sum of the rounded lines (amount + VAT), so a reader can
recompute it from the lines alone (the browser and the ledger do).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from energy.bill.calendar import PeriodCalendar
from energy.bill.engine import LINES, HouseholdRows, MonthComponents, settle
from energy.ratebook import RateBook
from energy.units import div_round

__all__ = ["NANO_PER_MINOR", "Contract", "Invoice", "InvoiceLine", "invoices", "rows_for"]

NANO_PER_MINOR = 10_000_000  # 1 ore = 10^7 nano-NOK


@dataclass(frozen=True)
class Contract:
    """A household's contract settings (stored with the household at registration).

    ``markup_micro_per_kwh`` / ``monthly_fee_nano`` of ``None`` take the rule set's default
    supplier contract in force on the month's first day.
    """

    grid_company: str
    municipality: str = ""
    scheme: str = "spot"
    dwelling: str = "home"
    markup_micro_per_kwh: int | None = None
    monthly_fee_nano: int | None = None


@dataclass(frozen=True)
class InvoiceLine:
    """One line: energy it covers (Wh), amount ex VAT and VAT, in minor units (ore)."""

    name: str
    wh: int
    amount_minor: int
    vat_minor: int

    @property
    def total_minor(self) -> int:
        return self.amount_minor + self.vat_minor


@dataclass(frozen=True)
class Invoice:
    """A household's month (or month so far): lines and their sum."""

    currency: str
    year: int
    month: int
    through_day: int
    lines: tuple[InvoiceLine, ...]
    import_wh: int
    export_wh: int
    capacity_basis_wh: int
    exact_nano: Mapping[str, tuple[int, int]] = field(repr=False)  # line -> (amount, vat) unrounded

    @property
    def total_minor(self) -> int:
        return sum(line.total_minor for line in self.lines)

    @property
    def vat_minor(self) -> int:
        return sum(line.vat_minor for line in self.lines)

    def line(self, name: str) -> InvoiceLine:
        return next(line for line in self.lines if line.name == name)


def rows_for(
    book: RateBook,
    cal: PeriodCalendar,
    contracts: Sequence[Contract],
    import_wh: npt.ArrayLike,
    export_wh: npt.ArrayLike,
) -> HouseholdRows:
    """The batch rows of households with these contracts (defaults from the rule set)."""
    default = book.supplier.at(cal.local_dates[0])
    return HouseholdRows(
        import_wh=np.asarray(import_wh, dtype=np.int64).reshape(len(contracts), -1),
        export_wh=np.asarray(export_wh, dtype=np.int64).reshape(len(contracts), -1),
        scheme=np.array([c.scheme for c in contracts]),
        dwelling=np.array([c.dwelling for c in contracts]),
        markup_micro=np.array(
            [
                default.markup_micro_per_kwh if c.markup_micro_per_kwh is None else c.markup_micro_per_kwh
                for c in contracts
            ],
            dtype=np.int64,
        ),
        fee_nano=np.array(
            [
                default.monthly_fee_nano if c.monthly_fee_nano is None else c.monthly_fee_nano
                for c in contracts
            ],
            dtype=np.int64,
        ),
    )


def invoices(
    book: RateBook, cal: PeriodCalendar, comps: MonthComponents, through_day: int | None = None
) -> list[Invoice]:
    """Round the exact components of a batch into one invoice per household."""
    out = []
    through = cal.days_in_month if through_day is None else through_day
    for i in range(len(comps.import_wh)):
        lines = []
        exact: dict[str, tuple[int, int]] = {}
        for name in LINES:
            a, v = int(comps.amount[name][i]), int(comps.vat[name][i])
            exact[name] = (a, v)
            wh = int(comps.export_wh[i]) if name == "export_credit" else int(comps.import_wh[i])
            if name in ("stromstotte", "norgespris"):
                wh = int(comps.supported_wh[i])
            lines.append(InvoiceLine(name, wh, div_round(a, NANO_PER_MINOR), div_round(v, NANO_PER_MINOR)))
        out.append(
            Invoice(
                book.currency,
                cal.year,
                cal.month,
                through,
                tuple(lines),
                int(comps.import_wh[i]),
                int(comps.export_wh[i]),
                int(comps.capacity_basis_wh[i]),
                exact,
            )
        )
    return out


def bill(
    book: RateBook,
    cal: PeriodCalendar,
    contract: Contract,
    import_wh: npt.ArrayLike,
    export_wh: npt.ArrayLike | None = None,
    through_day: int | None = None,
    support_period: str | None = None,
) -> Invoice:
    """One household's invoice for the calendar's month (days 1..``through_day``)."""
    imp = np.asarray(import_wh, dtype=np.int64)
    exp = np.zeros_like(imp) if export_wh is None else np.asarray(export_wh, dtype=np.int64)
    rows = rows_for(book, cal, [contract], imp, exp)
    comps = settle(book, cal, rows, through_day, support_period)
    return invoices(book, cal, comps, through_day)[0]


__all__ += ["bill"]
