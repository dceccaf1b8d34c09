"""Household cost forecasts on the household's own bill (energy.bill), in its currency.

The contract arrives with each household's batch input (``HouseholdInput.contract``, from ingest's
registration; unset: the zone's grid company, spot, home, the default supplier); the rule set and
EUR rate source are the deployment's ``EP_BILL_*`` settings (:mod:`energy.billrules`), the same
ingest bills by. Costs are the hour's variable lines with VAT (:func:`energy.bill.forecast.hour_costs`);
the EUR fields of the contract (``*_eur``, a ledger PREDICTION's µEUR cost) are those at the day's
EUR rate (1 for an EUR rule set).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import TypeVar

import numpy as np

from energy.bill import Contract
from energy.bill.forecast import HourPrice, fixed_charges, hour_costs, hour_price
from energy.billrules import BillRules, bill_guard
from energy.localtime import LOCAL_TZ, from_ms, zone
from energypulse.prediction.v1 import forecast_pb2

__all__ = ["HouseholdCosts"]

_T = TypeVar("_T")


class HouseholdCosts:
    """Contracts of batch inputs, and their hours' costs and prices (vectorised over households)."""

    def __init__(self, rules: BillRules) -> None:
        self.rules = rules
        self.currency = rules.book.currency
        self._contracts: dict[tuple[object, ...], Contract] = {}

    def contract(self, h: forecast_pb2.HouseholdInput) -> Contract:
        c = h.contract
        key = (
            h.zone.strip().upper(),
            c.grid_company,
            c.municipality,
            c.price_scheme,
            c.dwelling,
            c.supplier_markup_micro_per_kwh if c.HasField("supplier_markup_micro_per_kwh") else None,
            c.supplier_fee_nano_per_month if c.HasField("supplier_fee_nano_per_month") else None,
        )
        found = self._contracts.get(key)
        if found is None:
            found = Contract(
                grid_company=c.grid_company
                or self.rules.book.grid_for_zone(h.zone.strip().upper())
                or self.rules.default_grid_company,
                municipality=c.municipality,
                scheme=c.price_scheme or "spot",
                dwelling=c.dwelling or "home",
                markup_micro_per_kwh=c.supplier_markup_micro_per_kwh
                if c.HasField("supplier_markup_micro_per_kwh")
                else None,
                monthly_fee_nano=c.supplier_fee_nano_per_month
                if c.HasField("supplier_fee_nano_per_month")
                else None,
            )
            if len(self._contracts) > 4096:  # a handful of distinct contracts in practice
                self._contracts.clear()
            self._contracts[key] = found
        return found

    def eur_rate(self, hour_ms: int) -> Decimal:
        """Units of the bill's currency per EUR on the hour's local day (1 for an EUR rule set)."""
        if self.currency == "EUR":
            return Decimal(1)
        day = from_ms(hour_ms).astimezone(zone(LOCAL_TZ)).date()
        return self._guard(lambda: self.rules.fx.rate_on(day))

    def costs(
        self, contracts: Sequence[Contract], hour_ms: int, prices_eur_mwh: Sequence[float], kwh: np.ndarray
    ) -> np.ndarray:
        """(len(prices), n) variable costs, µ of the bill's currency, one row per price, sorted
        per household (a lower price can cost more when the household exports)."""
        wh = np.rint(np.asarray(kwh, dtype=float) * 1000).astype(np.int64)
        rows = [
            self._guard(lambda p=p: hour_costs(self.rules, contracts, hour_ms, float(p), wh))  # type: ignore[misc]
            for p in prices_eur_mwh
        ]
        return np.sort(np.vstack(rows), axis=0)

    def price(self, contract: Contract, hour_ms: int, price_eur_mwh: float) -> HourPrice:
        return self._guard(lambda: hour_price(self.rules, [contract], hour_ms, price_eur_mwh))

    def fixed(self, contract: Contract, day_ms: int, peaks_wh: Sequence[int]) -> tuple[int, int]:
        return self._guard(lambda: fixed_charges(self.rules, contract, day_ms, peaks_wh))

    @staticmethod
    def _guard(fn: Callable[[], _T]) -> _T:
        return bill_guard(fn)  # rule-set and FX gaps as the registry's reasons
