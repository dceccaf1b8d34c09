"""Money and energy units, and their fixed-point forms.

System-wide units are **EUR and kWh**; spot prices are published in EUR/MWh. The ledger stores
money as integer micro-EUR and energy as integer Wh, so that every implementation hashes the
same bytes: the conversions to those integers round in exactly one way, defined here.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

__all__ = [
    "KWH_PER_MWH",
    "MICRO_PER_UNIT",
    "WH_PER_KWH",
    "div_round",
    "eur_mwh_to_eur_kwh",
    "eur_mwh_to_micro_eur_per_kwh",
    "kwh_to_wh",
    "micro",
    "micro_eur_per_kwh_to_eur_mwh",
    "micro_to_eur",
    "wh_to_kwh",
]

WH_PER_KWH = 1000
KWH_PER_MWH = 1000
MICRO_PER_UNIT = 1_000_000


def micro(value: float) -> int:
    """A float amount (EUR, EUR/kWh, a rate) as integer millionths, rounded half away from zero
    on its shortest decimal form (so 0.0000005 is 1, whatever its binary approximation)."""
    return int(Decimal(repr(float(value))).scaleb(6).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def div_round(numerator: int, denominator: int) -> int:
    """Integer division rounded half away from zero (Python's // floors, round() is banker's)."""
    q, r = divmod(abs(numerator), denominator)
    q += 2 * r >= denominator
    return q if numerator >= 0 else -q


def micro_to_eur(amount_micro: int) -> float:
    """Integer micro-EUR as EUR."""
    return amount_micro / MICRO_PER_UNIT


def eur_mwh_to_eur_kwh(price_eur_mwh: float) -> float:
    """EUR/MWh (as published) -> EUR/kWh."""
    return price_eur_mwh / KWH_PER_MWH


def eur_mwh_to_micro_eur_per_kwh(price_eur_mwh: float) -> int:
    """EUR/MWh -> integer micro-EUR per kWh: 1 EUR/MWh = 1000 micro-EUR/kWh."""
    return micro(eur_mwh_to_eur_kwh(price_eur_mwh))


def micro_eur_per_kwh_to_eur_mwh(price_micro: int) -> float:
    """Integer micro-EUR per kWh -> EUR/MWh (the inverse of the above, up to its rounding)."""
    return price_micro / KWH_PER_MWH


def kwh_to_wh(kwh: float) -> int:
    """kWh as whole Wh (meter counters are kWh with at most three meaningful decimals)."""
    return round(kwh * WH_PER_KWH)


def wh_to_kwh(wh: float) -> float:
    """Wh as kWh; also W as kW, and Wh in one hour as mean kW."""
    return wh / WH_PER_KWH
