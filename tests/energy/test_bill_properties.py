"""Properties of the month bill for random consumption and prices (hypothesis)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from energy.bill import LINES, NANO_PER_MINOR, Contract, build_calendar, invoices, rows_for, settle
from energy.ratebook import load_ratebook
from tests.energy.bill_helpers import FX10, month_ms

BOOK = load_ratebook()
MS = month_ms(2026, 3)  # March 2026, the DST month: 2972 quarter-hours


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    scheme=st.sampled_from(["spot", "norgespris"]),
    municipality=st.sampled_from(["4601", "5501", "5603"]),
    support_period=st.sampled_from(["hour", "quarter_hour"]),
)
def test_month_total_is_the_sum_of_its_quarter_hours_and_of_its_lines(
    seed: int, scheme: str, municipality: str, support_period: str
) -> None:
    rng = np.random.default_rng(seed)
    spot = rng.normal(90, 60, len(MS)).round(2)  # EUR/MWh, negative prices included
    imp = rng.integers(0, 3000, len(MS))
    exp = np.where(rng.random(len(MS)) < 0.2, rng.integers(0, 2000, len(MS)), 0)
    cal = build_calendar(BOOK, "bkk", municipality, 2026, 3, MS, spot, FX10)
    rows = rows_for(BOOK, cal, [Contract("bkk", municipality, scheme=scheme)], imp, exp)
    comps = settle(BOOK, cal, rows, support_period=support_period)
    # every variable line is exactly the sum of its settlement periods (quarter-hours or hours)
    for name, per in comps.per_period.items():
        assert int(per.sum()) == int(comps.amount[name][0]), name
    # and each quarter-hour's energy line is that quarter's energy times its price
    assert int(comps.per_period["spot_energy"][0, 7]) == int(imp[7]) * int(cal.spot_micro[7])
    (inv,) = invoices(BOOK, cal, comps)
    assert inv.total_minor == sum(line.amount_minor + line.vat_minor for line in inv.lines)
    exact = sum(a + v for a, v in inv.exact_nano.values())
    # rounding each of the 2 x len(LINES) parts moves the total by at most half an ore each
    assert abs(inv.total_minor * NANO_PER_MINOR - exact) <= len(LINES) * NANO_PER_MINOR
    assert inv.import_wh == int(imp.sum()) and inv.export_wh == int(exp.sum())


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_a_batch_bills_each_household_as_alone(seed: int) -> None:
    rng = np.random.default_rng(seed)
    cal = build_calendar(BOOK, "glitre", "3301", 2026, 3, MS, rng.normal(90, 40, len(MS)), FX10)
    contracts = [
        Contract("glitre", "3301"),
        Contract(
            "glitre",
            "3301",
            scheme="norgespris",
            dwelling="cabin",
            markup_micro_per_kwh=0,
            monthly_fee_nano=0,
        ),
        Contract("glitre", "3301", markup_micro_per_kwh=123_456, monthly_fee_nano=39_000_000_000),
    ]
    imp = rng.integers(0, 5000, (3, len(MS)))
    batch = invoices(
        BOOK, cal, settle(BOOK, cal, rows_for(BOOK, cal, contracts, imp, np.zeros_like(imp)), 3), 3
    )
    for i, contract in enumerate(contracts):
        alone = invoices(
            BOOK, cal, settle(BOOK, cal, rows_for(BOOK, cal, [contract], imp[i], np.zeros(len(MS))), 3), 3
        )[0]
        assert batch[i].lines == alone.lines
