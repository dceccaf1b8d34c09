"""Spot or Norgespris: both sides of a month, the projection band, the CSV."""

from __future__ import annotations

import numpy as np

from energy.bill import Contract, bill, build_calendar
from energy.bill.compare import compare_month, comparison_csv, project_month
from energy.ratebook import load_ratebook
from tests.energy.bill_helpers import FX10, month_ms

BOOK = load_ratebook()


def test_both_sides_use_the_households_consumption_markup_and_fees() -> None:
    ms = month_ms(2026, 1)
    cal = build_calendar(BOOK, "bkk", "4601", 2026, 1, ms, np.full(len(ms), 150.0), FX10)
    energy = np.full(len(ms), 250)
    contract = Contract("bkk", "4601", markup_micro_per_kwh=50_000, monthly_fee_nano=29_000_000_000)
    cmp = compare_month(BOOK, cal, contract, energy)
    spot = bill(BOOK, cal, contract, energy)
    norgespris = bill(
        BOOK, cal, Contract("bkk", "4601", "norgespris", "home", 50_000, 29_000_000_000), energy
    )
    assert (cmp.contract_minor, cmp.other_minor) == (spot.total_minor, norgespris.total_minor)
    assert spot.line("supplier_fee") == norgespris.line("supplier_fee")
    assert spot.line("supplier_markup") == norgespris.line("supplier_markup")
    # at 150 ore: spot pays 150 - 0.9 x 75 = 82.5 ore, Norgespris 40 ore ex VAT, x 744 kWh x 1.25
    assert cmp.saving_minor == round((82.5 - 40) * 744 * 1.25)


def test_before_norgespris_the_other_side_is_unavailable() -> None:
    ms = month_ms(2025, 9)
    cal = build_calendar(BOOK, "bkk", "4601", 2025, 9, ms, np.full(len(ms), 90.0), FX10)
    cmp = compare_month(BOOK, cal, Contract("bkk", "4601"), np.full(len(ms), 250))
    assert cmp.other_minor is None and cmp.saving_minor is None
    text = comparison_csv([cmp])
    assert text.splitlines()[1] == f"2025-09,30,spot,{cmp.contract_minor / 100:.2f},norgespris,,,720.000"


def test_csv_in_norwegian_format() -> None:
    ms = month_ms(2026, 1, days=2)
    cal = build_calendar(BOOK, "bkk", "4601", 2026, 1, ms, np.full(len(ms), 150.0), FX10)
    cmp = compare_month(BOOK, cal, Contract("bkk", "4601"), np.full(len(ms), 250), through_day=2)
    header, row = comparison_csv([cmp], nb_no=True).splitlines()
    assert header.startswith("month;through_day;")
    cells = row.split(";")
    assert cells[0] == "2026-01" and cells[1] == "2" and "," in cells[3] and cells[7] == "48,000"


def test_projection_band_from_paths_brackets_the_median_and_grows_with_uncertainty() -> None:
    ms = month_ms(2026, 1)
    rng = np.random.default_rng(3)
    cal = build_calendar(BOOK, "bkk", "4601", 2026, 1, ms, rng.normal(110, 20, len(ms)), FX10)
    energy = rng.integers(200, 700, len(ms))
    known = 96 * 10
    p50 = np.full(96 * 7, 1_100_000.0)
    narrow = project_month(
        BOOK, cal, Contract("bkk", "4601"), energy, known, (p50 * 0.95, p50, p50 * 1.05), paths=200
    )
    wide = project_month(
        BOOK, cal, Contract("bkk", "4601"), energy, known, (p50 * 0.5, p50, p50 * 1.8), paths=200
    )
    for proj in (narrow, wide):
        lo, mid, hi = proj.contract_minor
        assert lo < mid < hi
        assert proj.other_minor is not None and proj.horizon_periods == 96 * 7
    assert (wide.contract_minor[2] - wide.contract_minor[0]) > (
        narrow.contract_minor[2] - narrow.contract_minor[0]
    )
    # the known part is billed as it was: a projection made at the month's end has no spread
    done = project_month(BOOK, cal, Contract("bkk", "4601"), energy, len(ms), (np.array([]),) * 3, paths=50)
    assert (
        done.contract_minor[0]
        == done.contract_minor[2]
        == bill(BOOK, cal, Contract("bkk", "4601"), energy).total_minor
    )
