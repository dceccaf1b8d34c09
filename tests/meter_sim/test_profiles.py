from __future__ import annotations

import pytest

from meter_sim.profiles import Heating, ProfileMix, draw_households, parse_heating_mix


def test_same_seed_same_fleet_and_realistic_mix() -> None:
    a = draw_households(5000, ProfileMix(ev_share=0.2, solar_share=0.3), seed=1)
    assert a == draw_households(5000, ProfileMix(ev_share=0.2, solar_share=0.3), seed=1)
    assert a != draw_households(5000, ProfileMix(ev_share=0.2, solar_share=0.3), seed=2)
    assert {h.residents for h in a} == {1, 2, 3, 4, 5, 6}
    assert set(h.heating for h in a) == set(Heating)
    assert 0.17 < sum(h.has_ev for h in a) / 5000 < 0.23
    assert 0.27 < sum(h.has_solar for h in a) / 5000 < 0.33
    assert all((h.solar_kwp > 0) == h.has_solar and (h.ev_charger_kw > 0) == h.has_ev for h in a)
    assert len({h.meter_id for h in a}) == 5000


def test_heating_mix_parsing() -> None:
    only = draw_households(200, ProfileMix(heating=parse_heating_mix("heat_pump:1")), seed=3)
    assert {h.heating for h in only} == {Heating.HEAT_PUMP}
    with pytest.raises(ValueError, match="bad heating mix"):
        parse_heating_mix("gas_turbine:1")
