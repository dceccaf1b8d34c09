"""A forecast hour's cost on households' bills, and the per-kWh price as billed (vectorised).

What predict_svc's household cost forecasts are (PredictBatch, PredictHousehold), in the rule
set's currency (NOK for the Norwegian rule set, EUR for an EUR one), by the month bill's own
arithmetic (:func:`energy.bill.engine.settle`) on a calendar of the one hour:

* the hour's **variable cost** for a net consumption: every line of the bill that the hour's energy
  moves (spot energy, supplier markup, grid energy, elavgift, Enova, stromstotte or Norgespris,
  export credit) with its VAT; the two monthly amounts (capacity step, supplier fee) are not in it
  and are shown apart (:func:`fixed_charges`). The volume caps of support and Norgespris are
  assumed not reached (the forecaster does not know the month's imports so far);
* the **all-in price** of one imported kWh: the same variable lines for 1 kWh, VAT included, and
  its parts. This is the one definition of "all-in" the household sees: fixed charges apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt

from energy.bill.calendar import IntArray, build_calendar
from energy.bill.engine import HouseholdRows, div_round_np, settle
from energy.bill.invoice import Contract, rows_for
from energy.billrules import BillRules
from energy.localtime import LOCAL_TZ, zone
from energy.units import div_round

__all__ = [
    "MONTHLY",
    "HourPrice",
    "distinct_contracts",
    "fixed_charges",
    "hour_costs",
    "hour_costs_of",
    "hour_price",
]

HOUR_MS = 3_600_000
NANO_PER_MICRO = 1_000
MONTHLY = ("grid_capacity", "supplier_fee")  # per month, not moved by an hour's energy
_PRICE_PARTS = {
    "energy": ("spot_energy", "supplier_markup"),
    "grid": ("grid_energy",),
    "taxes": ("elavgift", "enova"),
    "support": ("stromstotte", "norgespris"),
}


@dataclass(frozen=True)
class HourPrice:
    """One imported kWh of the hour on each household's bill, µ/kWh of ``currency``."""

    currency: str
    spot: IntArray  # the area price at the day's rate (before markup)
    energy: IntArray  # spot + supplier markup, ex VAT
    grid: IntArray  # grid energy part, ex VAT
    taxes: IntArray  # elavgift + Enova, ex VAT
    support: IntArray  # stromstotte (negative) or Norgespris (either sign), ex VAT
    vat: IntArray  # VAT on the above
    total: IntArray  # all-in: the sum (VAT included; fixed charges apart)


def distinct_contracts(contracts: Sequence[Contract]) -> tuple[list[Contract], IntArray]:
    """The distinct contracts (first appearance first) and each household's index into them."""
    ids: dict[Contract, int] = {}
    of = np.fromiter((ids.setdefault(c, len(ids)) for c in contracts), dtype=np.int64, count=len(contracts))
    return list(ids), of


def _groups(
    distinct: Sequence[Contract], of: IntArray
) -> list[tuple[tuple[str, str], IntArray, list[Contract], IntArray]]:
    """Per (grid company, municipality): the households' indices, the distinct contracts and each
    household's index into them (a batch has a handful of distinct contracts, not one per row)."""
    keys = sorted({(c.grid_company, c.municipality) for c in distinct})
    if len(keys) == 1:  # the usual batch: every household in one grid area, no selection
        return [(keys[0], np.arange(len(of)), list(distinct), of)]
    out = []
    for key in keys:
        members = np.array([i for i, c in enumerate(distinct) if (c.grid_company, c.municipality) == key])
        idx = np.flatnonzero(np.isin(of, members))
        local = np.searchsorted(members, of[idx])
        out.append((key, idx, [distinct[int(m)] for m in members], local))
    return out


def _variable(
    rules: BillRules,
    distinct: Sequence[Contract],
    of: IntArray,
    hour_ms: int,
    spot_eur_mwh: float,
    net_wh: IntArray,
) -> tuple[dict[str, IntArray], dict[str, IntArray], IntArray]:
    """Per line, the exact amount and VAT (nano) of each household's hour, and the spot µ/kWh
    (household ``i`` has contract ``distinct[of[i]]``)."""
    local = datetime.fromtimestamp(hour_ms / 1000, tz=UTC).astimezone(zone(LOCAL_TZ))
    n = len(of)
    amount: dict[str, IntArray] = {}
    vat: dict[str, IntArray] = {}
    spot = np.zeros(n, dtype=np.int64)
    for (grid, municipality), idx, members, which in _groups(distinct, of):
        cal = build_calendar(
            rules.book,
            grid,
            municipality,
            local.year,
            local.month,
            np.array([hour_ms], dtype=np.int64),
            np.array([spot_eur_mwh]),
            rules.fx,
            minutes=60,
        )
        net = net_wh[idx].reshape(-1, 1)
        terms = rows_for(rules.book, cal, members, np.zeros((len(members), 1)), np.zeros((len(members), 1)))
        rows = HouseholdRows(
            import_wh=np.maximum(net, 0),
            export_wh=np.maximum(-net, 0),
            scheme=terms.scheme[which],
            dwelling=terms.dwelling[which],
            markup_micro=terms.markup_micro[which],
            fee_nano=terms.fee_nano[which],
        )
        comps = settle(rules.book, cal, rows, support_period=rules.support_period)
        for name in comps.amount:
            amount.setdefault(name, np.zeros(n, dtype=np.int64))[idx] = comps.amount[name]
            vat.setdefault(name, np.zeros(n, dtype=np.int64))[idx] = comps.vat[name]
        spot[idx] = int(cal.spot_micro[0])
    return amount, vat, spot


def hour_costs(
    rules: BillRules,
    contracts: Sequence[Contract],
    hour_ms: int,
    spot_eur_mwh: float,
    net_wh: npt.ArrayLike,
) -> IntArray:
    """Each household's variable cost of the hour (µ of the rule set's currency, VAT included) for
    its net consumption ``net_wh`` (negative: export, credited at spot). Raises what
    :func:`~energy.bill.calendar.build_calendar` raises (a rate or FX gap, an unknown grid company)."""
    distinct, of = distinct_contracts(contracts)
    return hour_costs_of(rules, distinct, of, hour_ms, spot_eur_mwh, net_wh)


def hour_costs_of(
    rules: BillRules,
    distinct: Sequence[Contract],
    of: npt.ArrayLike,
    hour_ms: int,
    spot_eur_mwh: float,
    net_wh: npt.ArrayLike,
) -> IntArray:
    """:func:`hour_costs` with the contracts given as the distinct ones and each household's index
    into them (:func:`distinct_contracts`): a batch's caller finds them once for all its prices."""
    wh = np.asarray(net_wh, dtype=np.int64)
    which = np.asarray(of, dtype=np.int64)
    amount, vat, _spot = _variable(rules, distinct, which, hour_ms, spot_eur_mwh, wh)
    total = np.zeros(len(which), dtype=np.int64)
    for name in amount:
        if name not in MONTHLY:
            total += amount[name] + vat[name]
    return div_round_np(total, NANO_PER_MICRO)


def hour_price(
    rules: BillRules, contracts: Sequence[Contract], hour_ms: int, spot_eur_mwh: float
) -> HourPrice:
    """The all-in price of one imported kWh in the hour, and its parts, per household."""
    distinct, of = distinct_contracts(contracts)
    amount, vat, spot = _variable(
        rules, distinct, of, hour_ms, spot_eur_mwh, np.full(len(contracts), 1000, dtype=np.int64)
    )
    parts = {
        key: div_round_np(
            sum((amount[n] for n in names), np.zeros(len(contracts), dtype=np.int64)), NANO_PER_MICRO
        )
        for key, names in _PRICE_PARTS.items()
    }
    vat_total = sum((vat[n] for n in amount if n not in MONTHLY), np.zeros(len(contracts), dtype=np.int64))
    vat_micro = div_round_np(vat_total, NANO_PER_MICRO)
    total = parts["energy"] + parts["grid"] + parts["taxes"] + parts["support"] + vat_micro
    return HourPrice(
        rules.book.currency,
        spot,
        parts["energy"],
        parts["grid"],
        parts["taxes"],
        parts["support"],
        vat_micro,
        total,
    )


def fixed_charges(
    rules: BillRules, contract: Contract, day_ms: int, peaks_wh: Sequence[int]
) -> tuple[int, int]:
    """(capacity step, supplier fee) per month, µ of the rule set's currency, VAT included: the
    step of the mean of the month's three highest daily hourly peaks so far (``peaks_wh``)."""
    local = datetime.fromtimestamp(day_ms / 1000, tz=UTC).astimezone(zone(LOCAL_TZ)).date()
    book = rules.book
    tariff = book.grid(contract.grid_company).at(local)
    top = sorted(int(p) for p in peaks_wh)[-3:]
    step_nano = tariff.step_nano(sum(top), len(top))
    default = book.supplier.at(local)
    fee_nano = default.monthly_fee_nano if contract.monthly_fee_nano is None else contract.monthly_fee_nano
    vat_bp = 0 if book.location.vat_exempt(contract.municipality) else book.vat_bp.at(local)
    return (
        div_round(div_round(step_nano * (10_000 + vat_bp), 10_000), NANO_PER_MICRO),
        div_round(div_round(fee_nano * (10_000 + vat_bp), 10_000), NANO_PER_MICRO),
    )
