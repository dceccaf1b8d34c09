"""Household profiles: who lives there and which big electrical loads they own.

Households are drawn from a seeded RNG so a given (seed, count, mix) always yields the same
fleet; the ids are stable, which is what lets the simulator be restarted and re-register.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

__all__ = ["Heating", "Household", "ProfileMix", "draw_households", "parse_heating_mix"]


class Heating(enum.StrEnum):
    HEAT_PUMP = "heat_pump"
    ELECTRIC_RESISTIVE = "electric_resistive"
    DISTRICT_HEATING = "district_heating"
    NON_ELECTRIC = "non_electric"


# Share of households by number of residents (EU-27 household size distribution, rounded).
RESIDENT_WEIGHTS: Mapping[int, float] = {1: 0.35, 2: 0.32, 3: 0.14, 4: 0.12, 5: 0.05, 6: 0.02}

DEFAULT_HEATING_MIX: Mapping[Heating, float] = {
    Heating.HEAT_PUMP: 0.25,
    Heating.ELECTRIC_RESISTIVE: 0.15,
    Heating.DISTRICT_HEATING: 0.30,
    Heating.NON_ELECTRIC: 0.30,
}


@dataclass(frozen=True)
class ProfileMix:
    """What fraction of the fleet has each heating type, an EV charger, rooftop solar."""

    heating: Mapping[Heating, float] | None = None  # None: DEFAULT_HEATING_MIX
    ev_share: float = 0.15
    solar_share: float = 0.20

    def heating_weights(self) -> tuple[list[Heating], np.ndarray]:
        mix = dict(self.heating or DEFAULT_HEATING_MIX)
        kinds = list(mix)
        weights = np.array([mix[k] for k in kinds], dtype=float)
        if (weights < 0).any() or weights.sum() <= 0:
            raise ValueError("heating mix weights must be non-negative and not all zero")
        return kinds, weights / weights.sum()


def parse_heating_mix(text: str) -> dict[Heating, float]:
    """``"heat_pump:0.3,district_heating:0.7"`` -> mapping; unknown names fail loudly."""
    mix: dict[Heating, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, weight = part.partition(":")
        try:
            mix[Heating(name.strip())] = float(weight)
        except ValueError as exc:
            valid = ", ".join(h.value for h in Heating)
            raise ValueError(f"bad heating mix entry {part!r} (types: {valid})") from exc
    return mix


@dataclass(frozen=True)
class Household:
    """One household and its single smart meter, with the physical parameters of its loads."""

    household_id: str
    meter_id: str
    residents: int
    heating: Heating
    has_ev: bool
    has_solar: bool
    # Heat loss of the building in W per kelvin below the heating threshold (bigger homes lose more).
    heat_loss_w_per_k: float
    # Peak rating of the rooftop array (0 without solar).
    solar_kwp: float
    # Charger power (0 without EV): 3.7, 7.4 or 11 kW.
    ev_charger_kw: float
    # Local hour the car usually gets plugged in.
    ev_plug_hour: float
    # Per-household scale of everyday appliance use (some families simply use more).
    appliance_scale: float
    # Offset of this household's feeder voltage from nominal (distance from the transformer).
    feeder_offset_v: float


def draw_households(count: int, mix: ProfileMix, seed: int, prefix: str = "sim") -> list[Household]:
    if count < 0:
        raise ValueError("count must be >= 0")
    rng = np.random.default_rng(seed)
    kinds, heating_p = mix.heating_weights()
    residents = rng.choice(list(RESIDENT_WEIGHTS), size=count, p=list(RESIDENT_WEIGHTS.values()))
    heating = rng.choice(len(kinds), size=count, p=heating_p)
    ev = rng.random(count) < mix.ev_share
    solar = rng.random(count) < mix.solar_share
    # Floor area grows with household size; heat loss ~ 1-2 W/K per m2 of a mixed building stock.
    area = 45 + 22 * residents + rng.normal(0, 12, count)
    heat_loss = np.clip(area, 30, 260) * rng.uniform(1.0, 2.0, count)
    kwp = np.round(rng.uniform(3.0, 10.0, count), 1)
    charger = rng.choice([3.7, 7.4, 11.0], size=count, p=[0.2, 0.5, 0.3])
    plug = np.clip(rng.normal(18.5, 1.5, count), 15, 23)
    scale = rng.lognormal(0.0, 0.25, count)
    feeder = rng.normal(0.0, 2.5, count)
    width = max(6, len(str(count)))
    return [
        Household(
            household_id=f"{prefix}-h{i:0{width}d}",
            meter_id=f"{prefix}-m{i:0{width}d}",
            residents=int(residents[i]),
            heating=kinds[int(heating[i])],
            has_ev=bool(ev[i]),
            has_solar=bool(solar[i]),
            heat_loss_w_per_k=float(round(heat_loss[i], 1)),
            solar_kwp=float(kwp[i]) if solar[i] else 0.0,
            ev_charger_kw=float(charger[i]) if ev[i] else 0.0,
            ev_plug_hour=float(round(plug[i], 2)),
            appliance_scale=float(round(scale[i], 3)),
            feeder_offset_v=float(round(feeder[i], 2)),
        )
        for i in range(count)
    ]
