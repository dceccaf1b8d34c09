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
from datetime import date, timedelta
from decimal import Decimal
from typing import TypeVar

import numpy as np

from energy.bill import Contract
from energy.bill.forecast import HourPrice, fixed_charges, hour_costs_of, hour_price
from energy.billrules import BillRules, bill_guard
from energy.fx import eur_mwh_to_micro_per_kwh
from energy.localtime import LOCAL_TZ, from_ms, zone
from energypulse.prediction.v1 import forecast_pb2

__all__ = ["HouseholdCosts", "SpotConverter"]

_T = TypeVar("_T")


class HouseholdCosts:
    """Contracts of batch inputs, and their hours' costs and prices (vectorised over households)."""

    def __init__(self, rules: BillRules) -> None:
        self.rules = rules
        self.currency = rules.book.currency
        self._contracts: dict[tuple[object, ...], Contract] = {}

    def contract(self, h: forecast_pb2.HouseholdInput) -> Contract:
        return self._contract(h.zone, h.contract)

    def contracts(self, rows: Sequence[forecast_pb2.HouseholdInput]) -> tuple[list[Contract], np.ndarray]:
        """The distinct contracts of a batch's rows and each row's index into them. A row's key is
        its zone and its contract's wire bytes (one call per row, not seven field reads); the
        :class:`Contract` is built once per distinct key, and keys that name the same contract
        (zone spellings, field order) share one entry."""
        keys: dict[tuple[str, bytes], int] = {}
        of = np.fromiter(
            (keys.setdefault((h.zone, h.contract.SerializeToString()), len(keys)) for h in rows),
            dtype=np.int64,
            count=len(rows),
        )
        ids: dict[Contract, int] = {}
        remap = np.array(
            [
                ids.setdefault(self._contract(zone, forecast_pb2.BillContract.FromString(raw)), len(ids))
                for zone, raw in keys
            ],
            dtype=np.int64,
        )
        return list(ids), remap[of]

    def _contract(self, zone_name: str, c: forecast_pb2.BillContract) -> Contract:
        zone_key = zone_name.strip().upper()
        key = (
            zone_key,
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
                or self.rules.book.grid_for_zone(zone_key)
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

    def spot(self) -> SpotConverter:
        """A converter of zone spot prices to the bill's currency (one per response: rates cached)."""
        return SpotConverter(self)

    def day_rate(self, day: date) -> Decimal:
        """Units of the bill's currency per EUR in force on local ``day`` (1 for an EUR rule set)."""
        if self.currency == "EUR":
            return Decimal(1)
        return self._guard(lambda: self.rules.fx.rate_on(day))

    def costs(
        self,
        contracts: tuple[Sequence[Contract], np.ndarray],
        hour_ms: int,
        prices_eur_mwh: Sequence[float],
        kwh: np.ndarray,
    ) -> np.ndarray:
        """(len(prices), n) variable costs, µ of the bill's currency, one row per price, sorted
        per household (a lower price can cost more when the household exports); ``contracts``
        as :meth:`contracts` gives them (the distinct ones, each household's index)."""
        distinct, of = contracts
        wh = np.rint(np.asarray(kwh, dtype=float) * 1000).astype(np.int64)
        rows = [
            self._guard(lambda p=p: hour_costs_of(self.rules, distinct, of, hour_ms, float(p), wh))  # type: ignore[misc]
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


class SpotConverter:
    """Zone spot prices (EUR/MWh) as µ of the bill's currency per kWh, ex VAT, before markup.

    The rate is that of the period's local (delivery) day, the same the bill engine uses
    (:func:`energy.fx.eur_mwh_to_micro_per_kwh`, one rounding), so a published period shows the
    spot line the household is billed. A day after today (``day_offset > 0``) has no close yet:
    it is converted at today's rate, the last close known (a forecast of the rate would be a guess).
    A day whose rate is missing is the rule set's FX reason (FAILED_PRECONDITION), never a zero.
    """

    def __init__(self, costs: HouseholdCosts) -> None:
        self.currency = costs.currency
        self._costs = costs
        self._rates: dict[date, Decimal] = {}

    def rate(self, delivery_day: str, day_offset: int) -> Decimal:
        day = date.fromisoformat(delivery_day)
        if day_offset > 0:
            day -= timedelta(days=day_offset)
        found = self._rates.get(day)
        if found is None:
            found = self._rates[day] = self._costs.day_rate(day)
        return found

    def micro(self, price_eur_mwh: float, rate: Decimal) -> int:
        return eur_mwh_to_micro_per_kwh(price_eur_mwh, rate)

    def eur_mwh(self, micro_per_kwh: int, rate: Decimal) -> float:
        """A price in µ of the bill's currency per kWh back in EUR/MWh at ``rate`` (thresholds)."""
        return float(Decimal(micro_per_kwh) / (rate * 1000))

    def used(self) -> dict[date, Decimal]:
        return dict(self._rates)
