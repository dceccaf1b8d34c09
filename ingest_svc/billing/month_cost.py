"""A household's month in NOK, line by line; its projection; spot or Norgespris (energy.bill).

Quarter-hour settlement throughout: the energy is what billing settled (``settlements``, the
priced periods, exactly what went to the ledger): for a household whose meters sign their
registers, the quarter-hours whose energy is the signed boundary delta (docs/ledger-spec.md §17);
for a legacy household (a meter that does not sign), its hours, each split into four equal
quarters (the Wh remainder on the first ones, so the hour's sum is exact) at the hour's price.
Net Wh per period, so a negative period is export. Each quarter is billed at the area price
recorded with it (EUR/MWh), converted at the day's EUR/NOK (:mod:`energy.fx`); the capacity step
uses the hourly sums of the quarters. The household's contract comes from its registration (grid
company, municipality, scheme, dwelling, supplier terms). The rule set is loaded and validated
once, at start-up (:func:`load_month_costs`).

The projection bills ``paths`` simulated rests of the month (:func:`energy.bill.compare.project_month`):
the unsettled quarters covered by the zone's price forecast (``forecast``: P10/P50/P90 per period,
from PredictionService.GetPriceForecast: the published periods exact, then up to 7 delivery days
of forecast) at the forecast's band, the rest from the documented seasonal estimate (the month's
known prices by local hour of day, +-35 %).
"""

from __future__ import annotations

import calendar as _cal
import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine

from common.errors import InvalidArgument
from energy.billrules import bill_guard
from energy.fx import eur_mwh_to_micro_per_kwh
from energy.localtime import LOCAL_TZ, from_ms, zone
from energy.provisional import unverified_rates
from energypulse.errors.v1 import error_reason_pb2 as reasons
from ingest_svc.billing.bridge_store import SettlementRow
from ingest_svc.billing.ports import ReadingTables
from ingest_svc.billing.rules import BillRules, household_contract, load_bill_rules

if TYPE_CHECKING:  # numpy (energy.bill) is imported on the first bill, not at start-up (~16 MB)
    from energy.bill import Contract, Invoice, PeriodCalendar
    from energy.bill.compare import MonthComparison, Projection

__all__ = ["MonthCostResult", "MonthCosts", "contract_columns", "load_month_costs"]

HOUR_MS = 3_600_000
QUARTER_MS = 900_000
Forecast = dict[int, tuple[float, float, float]]  # period start ms -> (P10, P50, P90) EUR/MWh
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
FIRST_YEAR = 1970


def contract_columns(
    grid_company: str,
    municipality: str,
    scheme: str,
    dwelling: str,
    markup_ore: float | None,
    fee_nok: float | None,
) -> dict[str, object]:
    """Registration values -> stored columns (raises InvalidArgument BILL_INVALID_CONTRACT)."""
    if municipality and not re.fullmatch(r"\d{4}", municipality):
        raise InvalidArgument(
            reasons.BILL_INVALID_CONTRACT, f"municipality must be four digits, got {municipality!r}"
        )
    for name, value in (("supplier_markup_ore_per_kwh", markup_ore), ("supplier_monthly_fee_nok", fee_nok)):
        if value is not None and not (value >= 0 and value < 1e6):
            raise InvalidArgument(
                reasons.BILL_INVALID_CONTRACT, f"{name} must be between 0 and 1e6, got {value}"
            )
    return {
        "grid_company": grid_company,
        "municipality": municipality,
        "price_scheme": scheme,
        "dwelling": dwelling,
        "supplier_markup_micro_per_kwh": None
        if markup_ore is None
        else int(Decimal(repr(markup_ore)) * 10_000),
        "supplier_fee_nano_per_month": None
        if fee_nok is None
        else int(Decimal(repr(fee_nok)) * 1_000_000_000),
    }


@dataclass(frozen=True)
class MonthCostResult:
    """What GetMonthCost answers."""

    month: str
    invoice: Invoice
    days_in_month: int
    projection: Projection | None
    last_month_total_minor: int | None
    grid_company: str = ""
    # Line name -> the unverified rate entries it was computed from (energy.bill.provisional).
    unverified: dict[str, list[str]] = field(default_factory=dict)


def _month_bounds(year: int, month: int) -> tuple[int, int]:
    tz = zone(LOCAL_TZ)
    start = datetime(year, month, 1, tzinfo=tz)
    end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=tz)
    return int(start.timestamp() * 1000), int(end.timestamp() * 1000)


def _previous(year: int, month: int) -> tuple[int, int]:
    return (year - 1, 12) if month == 1 else (year, month - 1)


class MonthCosts:
    """Month bills, projections and scheme comparisons of registered households."""

    def __init__(self, engine: Engine, tables: ReadingTables, rules: BillRules, paths: int = 300) -> None:
        self.engine, self.tables, self.rules = engine, tables, rules
        self.book, self.fx = rules.book, rules.fx
        self.default_grid_company = rules.default_grid_company
        self.support_period = rules.support_period
        self.paths = paths

    # --- reading ---------------------------------------------------------------------------
    def _contract(self, conn: Connection, household_id: str) -> Contract:
        return household_contract(conn, self.tables, self.rules, household_id)

    def _settled(self, conn: Connection, household_id: str, start: int, end: int) -> tuple[Any, Any, Any]:
        """(quarter starts, net Wh, EUR/MWh) of the household's priced periods in [start, end)."""
        s = SettlementRow.__table__.c
        rows = conn.execute(
            select(s.hour_start_ms, s.period_ms, s.metered_wh, s.spot_price_micro_eur_per_kwh)
            .where(
                s.household_id == household_id,
                s.priced.is_(True),
                s.hour_start_ms >= start,
                s.hour_start_ms < end,
            )
            .order_by(s.hour_start_ms)
        ).all()
        return quarters([(int(r[0]), int(r[1]), int(r[2]), int(r[3])) for r in rows])

    # --- computing -------------------------------------------------------------------------
    def _calendar(self, contract: Contract, year: int, month: int, ms: Any, spot: Any) -> PeriodCalendar:
        from energy.bill import build_calendar

        return build_calendar(
            self.book,
            contract.grid_company,
            contract.municipality,
            year,
            month,
            ms,
            spot,
            self.fx,
            minutes=15,
        )

    def _bill(
        self, contract: Contract, year: int, month: int, ms: Any, wh: Any, spot: Any, through: int | None
    ) -> Invoice:
        import numpy as np

        from energy.bill import bill

        cal = self._calendar(contract, year, month, ms, spot)
        return bill(
            self.book, cal, contract, np.maximum(wh, 0), np.maximum(-wh, 0), through, self.support_period
        )

    def _project(
        self,
        contract: Contract,
        year: int,
        month: int,
        ms: Any,
        wh: Any,
        spot: Any,
        forecast: Forecast | None = None,
    ) -> Projection | None:
        import numpy as np

        from energy.bill.compare import project_month

        start, end = _month_bounds(year, month)
        grid = np.arange(start, end, QUARTER_MS, dtype=np.int64)
        if len(ms) == 0:
            return None
        known = int(np.searchsorted(grid, ms[-1])) + 1
        prices = np.zeros(len(grid))
        energy = np.zeros(len(grid), dtype=np.int64)
        idx = np.searchsorted(grid, ms)
        prices[idx] = spot
        energy[idx] = np.maximum(wh, 0)
        cal = self._calendar(contract, year, month, grid, prices)
        bands: list[tuple[int, int, int]] = []
        for h in grid[known:]:  # consecutive forecast quarters right after the last settled one
            point = _forecast_at(forecast or {}, int(h))
            if point is None:
                break
            rate = self.fx.rate_on(from_ms(int(h)).astimezone(zone(LOCAL_TZ)).date())
            low, mid, high = sorted(eur_mwh_to_micro_per_kwh(v, rate) for v in point)
            bands.append((low, mid, high))
        p10, p50, p90 = (np.array([b[i] for b in bands], dtype=float) for i in range(3))
        return project_month(self.book, cal, contract, energy, known, (p10, p50, p90), paths=self.paths)

    def _guard(self, fn: Any) -> Any:
        return bill_guard(fn)

    def _month_arg(self, month: str, now_ms: int) -> tuple[int, int]:
        today = from_ms(now_ms).astimezone(zone(LOCAL_TZ)).date()
        if not month:
            return today.year, today.month
        m = _MONTH.match(month)
        if m is None or not 1 <= int(m.group(2)) <= 12:
            raise InvalidArgument(reasons.BILL_INVALID_MONTH, f"month must be YYYY-MM, got {month!r}")
        year, mon = int(m.group(1)), int(m.group(2))
        if year < FIRST_YEAR:  # readings are Unix-millisecond stamped: nothing is billed before 1970
            raise InvalidArgument(
                reasons.BILL_INVALID_MONTH,
                f"month must lie between {FIRST_YEAR}-01 and this month, got {month!r}",
            )
        if (year, mon) > (today.year, today.month):
            raise InvalidArgument(reasons.BILL_INVALID_MONTH, f"month {month} is in the future")
        return year, mon

    def month_cost(
        self, household_id: str, month: str, now_ms: int, forecast: Forecast | None = None
    ) -> MonthCostResult:
        """Sync (database work): call it from a worker thread."""
        year, mon = self._month_arg(month, now_ms)
        today = from_ms(now_ms).astimezone(zone(LOCAL_TZ)).date()
        current = (year, mon) == (today.year, today.month)
        days = _cal.monthrange(year, mon)[1]
        through = today.day if current else days
        start, end = _month_bounds(year, mon)
        with self.engine.connect() as conn:
            contract = self._contract(conn, household_id)
            ms, wh, spot = self._settled(conn, household_id, start, end)
            py, pm = _previous(year, mon)
            p_start, p_end = _month_bounds(py, pm)
            prev = self._settled(conn, household_id, p_start, p_end)

        def compute() -> MonthCostResult:
            if len(ms):
                invoice = self._bill(contract, year, mon, ms, wh, spot, through)
            else:
                invoice = _empty_invoice(self.book.currency, year, mon, through)
            last = self._bill(contract, py, pm, *prev, None).total_minor if len(prev[0]) else None
            projection = self._project(contract, year, mon, ms, wh, spot, forecast) if current else None
            return MonthCostResult(
                f"{year}-{mon:02d}",
                invoice,
                days,
                projection,
                last,
                contract.grid_company,
                unverified_rates(self.book, contract, year, mon, through),
            )

        result: MonthCostResult = self._guard(compute)
        return result

    def compare(
        self, household_id: str, months: int, now_ms: int, forecast: Forecast | None = None
    ) -> tuple[list[MonthComparison], Projection | None, str]:
        """The last ``months`` months (newest first) on both schemes, the projection, the CSV."""
        import numpy as np

        from energy.bill.compare import compare_month, comparison_csv

        today = from_ms(now_ms).astimezone(zone(LOCAL_TZ)).date()
        year, mon = today.year, today.month
        out: list[MonthComparison] = []
        projection = None
        with self.engine.connect() as conn:
            contract = self._contract(conn, household_id)
            wanted = []
            for i in range(months):
                start, end = _month_bounds(year, mon)
                wanted.append((year, mon, i == 0, self._settled(conn, household_id, start, end)))
                year, mon = _previous(year, mon)

        def compute() -> None:
            nonlocal projection
            for y, m, current, (ms, wh, spot) in wanted:
                if not len(ms):
                    continue
                through = today.day if current else None
                cal = self._calendar(contract, y, m, ms, spot)
                out.append(
                    compare_month(self.book, cal, contract, np.maximum(wh, 0), np.maximum(-wh, 0), through)
                )
                if current:
                    projection = self._project(contract, y, m, ms, wh, spot, forecast)

        self._guard(compute)
        return out, projection, comparison_csv(out)


def _empty_invoice(currency: str, year: int, month: int, through: int) -> Invoice:
    from energy.bill import LINES, Invoice, InvoiceLine

    return Invoice(currency, year, month, through, tuple(InvoiceLine(n, 0, 0, 0) for n in LINES), 0, 0, 0, {})


def load_month_costs(
    engine: Engine,
    tables: ReadingTables,
    ruleset: str,
    eurnok_file: str,
    eurnok_fallback: str,
    default_grid_company: str,
    support_period: str,
) -> MonthCosts:
    """Build from settings; a bad rule set, FX file or default grid company fails here (start-up)."""
    rules = load_bill_rules(ruleset, eurnok_file, eurnok_fallback, default_grid_company, support_period)
    return MonthCosts(engine, tables, rules)


def _forecast_at(forecast: Forecast, start_ms: int) -> tuple[float, float, float] | None:
    """The forecast of a quarter: its own, else its hour's (an hourly forecast covers its quarters)."""
    own = forecast.get(start_ms)
    return own if own is not None else forecast.get(start_ms - start_ms % HOUR_MS)


def quarters(rows: list[tuple[int, int, int, int]]) -> tuple[Any, Any, Any]:
    """Settled periods (start ms, period ms, net Wh, µEUR/kWh) -> quarter-hours (starts, Wh, EUR/MWh).

    A period longer than a quarter (a legacy hour) is split into equal quarters, the Wh remainder
    on the first ones (floor division: the quarters sum to the period exactly); periods shorter
    than a quarter are summed into it (the market prices quarters: they share its price).
    """
    import numpy as np

    energy: dict[int, int] = {}
    price: dict[int, int] = {}
    for start, period, wh, micro in rows:
        if period > QUARTER_MS:
            n = period // QUARTER_MS
            q, r = divmod(wh, n)
            for i in range(n):
                t = start + i * QUARTER_MS
                energy[t] = energy.get(t, 0) + q + (i < r)
                price[t] = micro
        else:
            t = start - start % QUARTER_MS
            energy[t] = energy.get(t, 0) + wh
            price[t] = micro
    ms = np.array(sorted(energy), dtype=np.int64)
    wh_arr = np.array([energy[int(t)] for t in ms], dtype=np.int64)
    spot = np.array([price[int(t)] / 1000 for t in ms], dtype=float)  # µEUR/kWh -> EUR/MWh
    return ms, wh_arr, spot
