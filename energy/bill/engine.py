"""The month's bill of many households at once: exact integer components (numpy, int64).

Every variable component of a settlement period is exact in nano-units of the currency
(Wh x µ/kWh = 10^-9): nothing is rounded until the invoice (:mod:`energy.bill.invoice`) rounds
each line once to the ore. The only other roundings, each half away from zero, are the
percentage products (support = percent of the excess, VAT = percent of a line) and the prorating
of monthly amounts by days; all to the nano-unit.

Components (:data:`LINES`; amounts ex VAT, VAT beside each line):

* ``spot_energy``: imported energy x the period's area price (EUR/MWh at the day's EUR/NOK);
* ``supplier_markup`` / ``supplier_fee``: the supplier's markup per imported kWh, its monthly fee;
* ``grid_energy``: the grid company's day or night energy part per imported kWh;
* ``grid_capacity``: the step of the mean of the month's three highest daily peaks (hourly energy);
* ``elavgift``, ``enova``: per imported kWh (elavgift 0 in Finnmark and Nord-Troms);
* ``stromstotte``: minus percent x (price - threshold) for hours above it, up to the monthly cap
  (homes on spot only; cabins get none);
* ``norgespris``: (fixed price - spot) x volume up to the cap, instead of support;
* ``export_credit``: minus exported energy x spot, no VAT, no taxes (plusskunde).

VAT: the rate of the period's day on every line except ``export_credit`` (0 where the household's
municipality is VAT-exempt); monthly amounts at the rate of the month's first billed day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt

from energy.bill.calendar import IntArray, PeriodCalendar
from energy.ratebook import RateBook

__all__ = ["LINES", "HouseholdRows", "MonthComponents", "div_round_np", "settle"]

LINES = (
    "spot_energy",
    "supplier_markup",
    "supplier_fee",
    "grid_energy",
    "grid_capacity",
    "elavgift",
    "enova",
    "stromstotte",
    "norgespris",
    "export_credit",
)
NO_VAT = frozenset({"export_credit"})
SCHEMES = ("spot", "norgespris")
DWELLINGS = ("home", "cabin")


def div_round_np(num: IntArray, den: int | IntArray) -> IntArray:
    """Elementwise integer division rounded half away from zero (``den`` > 0)."""
    q, r = np.divmod(np.abs(num), den)
    q = q + (2 * r >= den)
    out: IntArray = np.where(num < 0, -q, q).astype(np.int64)
    return out


@dataclass(frozen=True)
class HouseholdRows:
    """A batch of households sharing one calendar: energy (H, T) and contract terms (H,)."""

    import_wh: IntArray
    export_wh: IntArray
    scheme: npt.NDArray[np.str_]  # "spot" | "norgespris"
    dwelling: npt.NDArray[np.str_]  # "home" | "cabin"
    markup_micro: IntArray  # µ/kWh
    fee_nano: IntArray  # per month

    def __post_init__(self) -> None:
        h = self.import_wh.shape[0]
        if self.import_wh.shape != self.export_wh.shape or self.import_wh.ndim != 2:
            raise ValueError("import_wh and export_wh must be (households, periods)")
        for name in ("scheme", "dwelling", "markup_micro", "fee_nano"):
            if getattr(self, name).shape != (h,):
                raise ValueError(f"{name} must have one value per household")
        if np.any(self.import_wh < 0) or np.any(self.export_wh < 0):
            raise ValueError("imported and exported energy are register differences: never negative")
        if not set(np.unique(self.scheme)) <= set(SCHEMES) or not set(np.unique(self.dwelling)) <= set(
            DWELLINGS
        ):
            raise ValueError(f"scheme must be one of {SCHEMES}, dwelling one of {DWELLINGS}")


@dataclass(frozen=True)
class MonthComponents:
    """Exact components per household: ``amount[line]`` and ``vat[line]`` (H,), nano-units."""

    amount: dict[str, IntArray]
    vat: dict[str, IntArray]
    import_wh: IntArray
    export_wh: IntArray
    capacity_basis_wh: IntArray  # mean of the top-three daily peaks (Wh in an hour = mean W), rounded
    supported_wh: IntArray  # volume that got support or Norgespris (under the cap)
    per_period: dict[str, IntArray]  # the variable lines per settlement period (H, T or hours)


def _capped(energy: IntArray, cap_wh: int | IntArray, used_wh: IntArray | None = None) -> IntArray:
    """The part of each period's energy that fits under the monthly cap, in time order;
    ``used_wh`` (H,) is the energy the month already counted before the first period."""
    after = np.cumsum(energy, axis=1)
    before = after - energy
    if used_wh is not None:
        before = before + used_wh[:, None]
    cap = np.asarray(cap_wh, dtype=np.int64)
    out: IntArray = np.clip((cap[:, None] if cap.ndim else cap) - before, 0, energy)
    return out


def _hourly(values: IntArray, cal: PeriodCalendar) -> IntArray:
    out: IntArray = np.add.reduceat(values, cal.hour_starts, axis=-1)
    return out


def _hour_prices(cal: PeriodCalendar, spot: IntArray) -> IntArray:
    sums = _hourly(spot, cal)
    counts = np.diff(np.r_[cal.hour_starts, cal.periods])
    return div_round_np(sums, counts.astype(np.int64))


def _fraction_of_month(cal: PeriodCalendar, through_day: int | None) -> tuple[int, int]:
    last = cal.days_in_month if through_day is None else through_day
    if not 1 <= last <= cal.days_in_month:
        raise ValueError(f"through_day must be 1..{cal.days_in_month}")
    return last, cal.days_in_month


def _capacity(cal: PeriodCalendar, hourly_import: IntArray, through: int) -> tuple[IntArray, IntArray]:
    """The capacity step amount (nano, prorated over tariff versions by days) and the basis."""
    peaks = np.maximum.reduceat(hourly_import, cal.day_starts_in_hours, axis=1)
    k = min(3, peaks.shape[1])
    top = np.sort(peaks, axis=1)[:, -k:]
    top_sum = top.sum(axis=1)
    basis = div_round_np(top_sum, k)
    total = np.zeros(hourly_import.shape[0], dtype=np.int64)
    for validity, tariff in cal.grid_versions:
        first = max(validity.valid_from, date(cal.year, cal.month, 1))
        end_day = date(cal.year, cal.month, through)
        last = (
            end_day
            if validity.valid_until is None
            else min(end_day, date.fromordinal(validity.valid_until.toordinal() - 1))
        )
        days = (last - first).days + 1
        if days <= 0:
            continue
        bounds = np.array([s.up_to_wh for s in tariff.steps[:-1]], dtype=np.int64)
        amounts = np.array([s.nano_per_month for s in tariff.steps], dtype=np.int64)
        idx = (top_sum[:, None] >= bounds[None, :] * k).sum(axis=1)
        total += div_round_np(amounts[idx] * days, cal.days_in_month)
    return total, basis


def settle(
    book: RateBook,
    cal: PeriodCalendar,
    rows: HouseholdRows,
    through_day: int | None = None,
    support_period: str | None = None,
    norgespris_period: str | None = None,
    spot_rows: IntArray | None = None,
    cap_used_wh: IntArray | None = None,
) -> MonthComponents:
    """The exact components of the month (or of days 1..``through_day``) for a batch.

    ``spot_rows`` (H, T) replaces the calendar's area prices row by row (simulated price paths).
    ``cap_used_wh`` (H,): imported energy of the month before the calendar's first period, counted
    against the support and Norgespris volume caps (a calendar of part of a month: one period).
    """
    imp, exp = rows.import_wh.astype(np.int64), rows.export_wh.astype(np.int64)
    spot = cal.spot_micro if spot_rows is None else np.asarray(spot_rows, dtype=np.int64)
    if spot_rows is not None and spot.shape != imp.shape:
        raise ValueError("spot_rows must be (households, periods)")
    if imp.shape[1] != cal.periods:
        raise ValueError("energy arrays must have one column per calendar period")
    h = imp.shape[0]
    through, days_in_month = _fraction_of_month(cal, through_day)
    first_day = cal.local_dates[0]
    per: dict[str, IntArray] = {
        "spot_energy": imp * spot,
        "supplier_markup": imp * rows.markup_micro[:, None],
        "grid_energy": imp * cal.grid_micro,
        "elavgift": imp * cal.elavgift_micro,
        "enova": imp * cal.enova_micro,
        "export_credit": -(exp * spot),
    }
    amount = {k: v.sum(axis=1) for k, v in per.items()}
    vat = {k: div_round_np((v * cal.vat_bp).sum(axis=1), 10_000) for k, v in per.items() if k not in NO_VAT}
    vat["export_credit"] = np.zeros(h, dtype=np.int64)
    hourly_import = _hourly(imp, cal)
    hour_prices = _hour_prices(cal, spot)
    hour_vat = cal.vat_bp[cal.hour_starts]

    # stromstotte: homes on spot (a month without any asks no support rule)
    on_support = (rows.scheme == "spot") & (rows.dwelling == "home")
    if np.any(on_support):
        rule = book.support.at(first_day)
        if (support_period or rule.period) == "hour":
            energy, prices, vat_bp, dates = hourly_import, hour_prices, hour_vat, cal.hour_dates
        else:
            energy, prices, vat_bp, dates = imp, spot, cal.vat_bp, cal.local_dates
        days = _unique(dates)
        thresholds = np.array([book.support.at(d).threshold_micro_per_kwh for d in days], dtype=np.int64)
        pct = np.array([book.support.at(d).percent_bp for d in days], dtype=np.int64)
        day_index = _day_index(dates)
        excess = np.maximum(prices - thresholds[day_index], 0)
        eligible = _capped(energy, rule.cap_wh, cap_used_wh) * on_support[:, None]
        support = div_round_np(eligible * excess * pct[day_index], 10_000)
        per["stromstotte"] = -support
        amount["stromstotte"] = -support.sum(axis=1)
        vat["stromstotte"] = -div_round_np((support * vat_bp).sum(axis=1), 10_000)
        supported = eligible.sum(axis=1)
    else:
        per["stromstotte"] = np.zeros_like(hourly_import)
        amount["stromstotte"] = np.zeros(h, dtype=np.int64)
        vat["stromstotte"] = np.zeros(h, dtype=np.int64)
        supported = np.zeros(h, dtype=np.int64)

    # Norgespris: the grid company settles fixed - spot under the cap
    on_np = rows.scheme == "norgespris"
    if np.any(on_np):
        np_rule = book.norgespris.at(first_day)
        for d in _unique(cal.local_dates):
            book.norgespris.at(d)  # every billed day must be inside the scheme (RateGapError otherwise)
        if (norgespris_period or np_rule.period) == "hour":
            energy, prices, vat_bp = hourly_import, hour_prices, hour_vat
        else:
            energy, prices, vat_bp = imp, spot, cal.vat_bp
        caps = np.where(rows.dwelling == "cabin", np_rule.cap_wh_cabin, np_rule.cap_wh_home)
        eligible_np = _capped(energy, caps, cap_used_wh) * on_np[:, None]
        charge = eligible_np * (np_rule.price_micro_per_kwh - prices)
        per["norgespris"] = charge
        amount["norgespris"] = charge.sum(axis=1)
        vat["norgespris"] = div_round_np((charge * vat_bp).sum(axis=1), 10_000)
        supported = supported + eligible_np.sum(axis=1)
    else:
        per["norgespris"] = np.zeros_like(hourly_import)
        amount["norgespris"] = np.zeros(h, dtype=np.int64)
        vat["norgespris"] = np.zeros(h, dtype=np.int64)

    # monthly amounts, prorated by days billed
    fixed_vat = int(cal.vat_bp[0])
    capacity, basis = _capacity(cal, hourly_import, through)
    fee = div_round_np(rows.fee_nano * through, days_in_month)
    for name, value in (("grid_capacity", capacity), ("supplier_fee", fee)):
        amount[name] = value
        vat[name] = div_round_np(value * fixed_vat, 10_000)
    return MonthComponents(
        amount={k: amount[k] for k in LINES},
        vat={k: vat[k] for k in LINES},
        import_wh=imp.sum(axis=1),
        export_wh=exp.sum(axis=1),
        capacity_basis_wh=basis,
        supported_wh=supported,
        per_period=per,
    )


def _unique(dates: tuple[date, ...]) -> list[date]:
    return sorted(set(dates))


def _day_index(dates: tuple[date, ...]) -> IntArray:
    order = {d: i for i, d in enumerate(_unique(dates))}
    return np.array([order[d] for d in dates], dtype=np.int64)
