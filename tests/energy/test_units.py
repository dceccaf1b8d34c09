"""Unit conversions and the one fixed-point rounding rule."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from energy.units import (
    div_round,
    eur_mwh_to_eur_kwh,
    eur_mwh_to_micro_eur_per_kwh,
    kwh_to_wh,
    micro,
    micro_eur_per_kwh_to_eur_mwh,
    micro_to_eur,
    wh_to_kwh,
)


def test_spot_conversion_rounds_half_away_from_zero() -> None:
    assert eur_mwh_to_micro_eur_per_kwh(37.86) == 37_860
    assert eur_mwh_to_micro_eur_per_kwh(-0.0005) == -1  # -0.5 micro-EUR/kWh
    assert eur_mwh_to_micro_eur_per_kwh(0.0004) == 0
    assert micro_eur_per_kwh_to_eur_mwh(37_860) == 37.86
    assert eur_mwh_to_eur_kwh(80.0) == 0.08


def test_micro_rounds_the_decimal_not_the_binary_value() -> None:
    # 0.0000025 is 2.4999...e-6 in binary; its decimal form rounds half up to 3.
    assert micro(0.0000025) == 3
    assert micro(-0.0000025) == -3
    assert micro(0.12) == 120_000
    assert micro_to_eur(120_000) == 0.12


def test_energy_units() -> None:
    assert kwh_to_wh(12.3456) == 12_346
    assert wh_to_kwh(2500) == 2.5


@given(st.integers(-(10**12), 10**12), st.integers(1, 10**6))
def test_div_round_is_nearest_with_halves_away_from_zero(n: int, d: int) -> None:
    q = div_round(n, d)
    assert abs(n - q * d) * 2 <= d
    if abs(n - q * d) * 2 == d:
        assert abs(q * d) > abs(n)
    assert div_round(-n, d) == -q
