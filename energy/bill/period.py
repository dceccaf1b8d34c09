"""One settlement period's bill components, for its ledger record (integer, in the rule set's currency).

The month's bill (:func:`energy.bill.engine.settle`) is the reference; a closed period is priced
with that same function on a calendar of the period's clock hour (all of the hour's periods, so
an hourly support or Norgespris rule sees the hour's mean price), with only the period's energy,
and ``cap_used_wh`` = the month's imports before it (the support and Norgespris volume caps count
in time order, as in the month). The variable lines are therefore exactly the month's, period by
period, before rounding.

The two monthly amounts are shared out per period, at what is known when the period is priced:

* ``grid_capacity``: the step of the mean of the month's three highest daily hourly peaks *so
  far* (the month's bill uses the final three; a period priced early in a month carries the step
  reached by then), / (days of the month x periods of the local day);
* ``supplier_fee``: the monthly fee / (days of the month x periods of the local day).

Amounts are exact in nano-units; a record's components are in micro-units (the ledger's fixed
point), each line rounded once, half away from zero, and VAT is one component (``vat``: the sum of
the lines' exact VAT, rounded once); the record's total is the sum of its components.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

import numpy as np

from energy.bill.calendar import build_calendar
from energy.bill.engine import LINES, NO_VAT, settle
from energy.bill.invoice import Contract, rows_for
from energy.fx import FxSource
from energy.localtime import LOCAL_TZ, local_hour_shares, zone
from energy.ratebook import RateBook
from energy.units import div_round

__all__ = [
    "COMPONENTS",
    "NANO_PER_MICRO",
    "VERSION1_PARTS",
    "PeriodCost",
    "PeriodRow",
    "Version1Parts",
    "price_hour",
    "version1_parts",
]

HOUR_MS = 3_600_000
NANO_PER_MICRO = 1_000
COMPONENTS = (*LINES, "vat")  # the names of a record's components, in order


@dataclass(frozen=True)
class PeriodRow:
    """One household's closed period inside the hour being priced."""

    start_ms: int
    net_wh: int  # import minus export of the period (negative: it exported)
    contract: Contract
    cap_used_wh: int  # imports of the month before this period
    peaks_wh: tuple[int, ...]  # daily hourly peaks of the month so far (this hour's day included)


@dataclass(frozen=True)
class PeriodCost:
    """A period's components (micro-units of ``currency``) and its price in that currency."""

    currency: str
    spot_micro_per_kwh: int  # the period's area price converted (µ/kWh)
    components: tuple[tuple[str, int], ...]

    @property
    def total_micro(self) -> int:
        return sum(amount for _, amount in self.components)


def price_hour(
    book: RateBook,
    fx: FxSource,
    grid_company: str,
    municipality: str,
    hour_ms: int,
    period_ms: int,
    spot_eur_mwh: Sequence[float],
    rows: Sequence[PeriodRow],
    support_period: str | None = None,
) -> list[PeriodCost]:
    """Price periods of one clock hour of households sharing a grid company and a location.

    ``spot_eur_mwh``: the price of each of the hour's periods (``3600000 / period_ms`` of them),
    in order. Raises what :func:`~energy.bill.calendar.build_calendar` raises (a rate or FX gap).
    """
    per_hour = HOUR_MS // period_ms
    if HOUR_MS % period_ms or hour_ms % HOUR_MS or len(spot_eur_mwh) != per_hour:
        raise ValueError("one price per period of the hour, periods dividing the hour")
    if not rows:
        return []
    local = datetime.fromtimestamp(hour_ms / 1000, tz=UTC).astimezone(zone(LOCAL_TZ))
    starts = np.arange(hour_ms, hour_ms + HOUR_MS, period_ms, dtype=np.int64)
    cal = build_calendar(
        book,
        grid_company,
        municipality,
        local.year,
        local.month,
        starts,
        np.asarray(spot_eur_mwh, dtype=float),
        fx,
        minutes=period_ms // 60_000,
    )
    cols = np.array([(r.start_ms - hour_ms) // period_ms for r in rows], dtype=np.int64)
    if np.any(cols < 0) or np.any(cols >= per_hour):
        raise ValueError("every row's period must lie in the hour")
    net = np.zeros((len(rows), per_hour), dtype=np.int64)
    net[np.arange(len(rows)), cols] = [r.net_wh for r in rows]
    batch = rows_for(book, cal, [r.contract for r in rows], np.maximum(net, 0), np.maximum(-net, 0))
    used = np.array([r.cap_used_wh for r in rows], dtype=np.int64)
    comps = settle(book, cal, batch, support_period=support_period, cap_used_wh=used)
    hours, days = local_hour_shares(local, LOCAL_TZ)
    share = days * hours * per_hour  # a period's share of a monthly amount
    tariff = book.grid(grid_company).at(local.date())
    out = []
    for i, r in enumerate(rows):
        vat_bp = int(cal.vat_bp[cols[i]])
        top = sorted(r.peaks_wh)[-3:]
        monthly = {
            "grid_capacity": div_round(tariff.step_nano(sum(top), len(top)), share),
            "supplier_fee": div_round(int(batch.fee_nano[i]), share),
        }
        parts: list[tuple[str, int]] = []
        vat_nano = 0
        for name in LINES:
            if name in monthly:
                amount = monthly[name]
                vat_nano += div_round(amount * vat_bp, 10_000)
            else:
                amount = int(comps.amount[name][i])
                vat_nano += 0 if name in NO_VAT else int(comps.vat[name][i])
            parts.append((name, div_round(amount, NANO_PER_MICRO)))
        parts.append(("vat", div_round(vat_nano, NANO_PER_MICRO)))
        out.append(PeriodCost(book.currency, int(cal.spot_micro[cols[i]]), tuple(parts)))
    return out


# The version-1 ledger record's five fixed parts (docs/ledger-spec.md §2), each the sum of these
# components of the period's bill: the supplier's energy (spot, markup, export credit at spot),
# the grid bill's per-kWh lines (grid energy, elavgift, Enova, and the support or Norgespris
# settlement paid through it), the capacity step, the supplier's monthly fee, VAT.
VERSION1_PARTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("spot_cost", ("spot_energy", "supplier_markup", "export_credit")),
    ("grid_energy_cost", ("grid_energy", "elavgift", "enova", "stromstotte", "norgespris")),
    ("capacity_cost", ("grid_capacity",)),
    ("standing_charge", ("supplier_fee",)),
    ("vat", ("vat",)),
)


@dataclass(frozen=True)
class Version1Parts:
    """A period's bill as the version-1 record's parts, micro-EUR; ``total`` is their sum."""

    spot_cost: int
    grid_energy_cost: int
    capacity_cost: int
    standing_charge: int
    vat: int

    @property
    def total(self) -> int:
        return self.spot_cost + self.grid_energy_cost + self.capacity_cost + self.standing_charge + self.vat


def version1_parts(cost: PeriodCost, eur_rate: Decimal) -> Version1Parts:
    """A legacy (not meter-signed) hour's bill in the version-1 format, whose money is micro-EUR:
    the bill's components (:func:`price_hour`, in the rule set's currency) summed into the five
    parts (:data:`VERSION1_PARTS`), each divided by ``eur_rate`` (units of the bill's currency per
    EUR: the day's EUR/NOK, 1 for an EUR rule set) and rounded once, half away from zero. The
    same bill as the settlement row's, expressed in the format's currency, never a second tariff."""
    if not eur_rate.is_finite() or eur_rate <= 0:
        raise ValueError(f"eur_rate must be positive, got {eur_rate}")
    amounts = dict(cost.components)
    named = {n for _, names in VERSION1_PARTS for n in names}
    unknown = sorted(set(amounts) - named)
    if unknown:
        raise ValueError(f"components without a version-1 part: {unknown}")
    parts = []
    for _part, names in VERSION1_PARTS:
        local = Decimal(sum(amounts.get(n, 0) for n in names))
        parts.append(int((local / eur_rate).quantize(Decimal(1), rounding=ROUND_HALF_UP)))
    return Version1Parts(*parts)
