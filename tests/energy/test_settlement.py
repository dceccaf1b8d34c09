"""Fixed-point hourly settlement (energy.settlement.settle_hour_micro) against the float tariff."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from energy.bills import energy_cost_eur
from energy.settlement import settle_hour_micro
from tests.energy.worked_tariff import TARIFF


def test_worked_example_import_hour() -> None:
    # 2500 Wh at spot 80 EUR/MWh (80,000 micro-EUR/kWh): spot 200,000; grid 2.5 x 40,000 = 100,000.
    # Standing 0.20 EUR/day over 24 h = 8,333 (8,333.33); capacity basis 6 kW -> 26 EUR/month,
    # March (31 days): 26e6 / (31 x 24) = 34,946.2 -> 34,946. VAT 25 % of everything:
    # (200,000 + 100,000 + 34,946 + 8,333) x 0.25 = 85,819.75 -> 85,820.
    s = settle_hour_micro(TARIFF, 2500, 80.0, 6.0, 24, 31)
    assert s.spot_price_micro_eur_per_kwh == 80_000
    assert (s.spot_cost_micro_eur, s.grid_energy_cost_micro_eur) == (200_000, 100_000)
    assert (s.capacity_cost_micro_eur, s.standing_charge_micro_eur) == (34_946, 8_333)
    assert s.vat_micro_eur == 85_820
    assert s.total_cost_micro_eur == 200_000 + 100_000 + 34_946 + 8_333 + 85_820


def test_export_is_credited_at_spot_without_grid_part_or_vat() -> None:
    s = settle_hour_micro(TARIFF, -1000, 80.0, 0.0, 24, 30)
    assert s.spot_cost_micro_eur == -80_000 and s.grid_energy_cost_micro_eur == 0
    # VAT only on the standing and capacity shares.
    assert s.vat_micro_eur == round((s.capacity_cost_micro_eur + s.standing_charge_micro_eur) * 0.25)


@given(
    wh=st.integers(-20_000, 50_000),
    spot=st.floats(-500, 3000, allow_nan=False).map(lambda x: round(x, 2)),
    basis=st.floats(0, 120, allow_nan=False),
)
def test_integer_settlement_matches_float_tariff(wh: int, spot: float, basis: float) -> None:
    s = settle_hour_micro(TARIFF, wh, spot, basis, 24, 30)
    energy = float(energy_cost_eur(TARIFF, wh / 1000, spot))
    shares = (TARIFF.capacity_eur_month(basis) / 30 + TARIFF.standing_eur_day()) / 24
    # Each of five rounded parts is within 0.5 micro-EUR; VAT multiplies the errors by 1.25.
    assert s.total_cost_micro_eur / 1e6 == pytest.approx(energy + shares, abs=5e-6)
    assert s.total_cost_micro_eur == sum(
        (
            s.spot_cost_micro_eur,
            s.grid_energy_cost_micro_eur,
            s.capacity_cost_micro_eur,
            s.standing_charge_micro_eur,
            s.vat_micro_eur,
        )
    )
    assert np.isfinite(energy)
