"""The tariff as a setting: one set of environment variables read by every service that bills.

predict_svc (forecast costs) and ingest_svc (settled hours) must bill with the same tariff, so
both build it from these variables. The names keep their historical ``EP_PREDICT_`` prefix so
existing deployments keep their tariff.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from common.config import env_field, from_env
from energy.tariff import DEFAULT_CAPACITY_STEPS, CapacityStep, Tariff

__all__ = ["TariffSettings", "parse_capacity_steps", "tariff_from_env"]

_DEFAULT_STEPS = ",".join(
    f"{'inf' if math.isinf(s.up_to_kw) else f'{s.up_to_kw:g}'}:{s.eur_per_month:g}"
    for s in DEFAULT_CAPACITY_STEPS
)


def parse_capacity_steps(text: str) -> tuple[CapacityStep, ...]:
    """``"2:10,5:16,inf:420"`` -> steps (up to kW : EUR/month ex VAT)."""
    steps = []
    for part in text.split(","):
        if not part.strip():
            continue
        try:
            bound, amount = part.split(":")
            steps.append(CapacityStep(float(bound), float(amount)))
        except ValueError as exc:
            raise ValueError(f"bad capacity step {part!r}; expected '<kW>:<EUR/month>'") from exc
    return tuple(steps)


@dataclass(frozen=True)
class TariffSettings:
    grid_energy_eur_kwh: float = env_field(
        "EP_PREDICT_GRID_ENERGY_EUR_KWH", 0.035, "grid energy part, ex VAT"
    )
    standing_charge_eur_day: float = env_field("EP_PREDICT_STANDING_EUR_DAY", 0.12, "fixed charge, ex VAT")
    vat_rate: float = env_field("EP_PREDICT_VAT_RATE", 0.25, "VAT applied to every part of the bill")
    capacity_steps: str = env_field(
        "EP_PREDICT_CAPACITY_STEPS", _DEFAULT_STEPS, "capacity steps '<up to kW>:<EUR/month ex VAT>,...'"
    )

    def tariff(self) -> Tariff:
        return Tariff(
            grid_energy_eur_kwh=self.grid_energy_eur_kwh,
            standing_charge_eur_day=self.standing_charge_eur_day,
            vat_rate=self.vat_rate,
            capacity_steps=parse_capacity_steps(self.capacity_steps),
        )


def tariff_from_env(environ: Mapping[str, str] | None = None) -> Tariff:
    """The tariff of the environment (``os.environ`` by default)."""
    return from_env(TariffSettings, environ).tariff()
