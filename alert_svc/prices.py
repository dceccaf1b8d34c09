"""The unit alert texts and Home Assistant's price sensors state spot prices in, per installation
currency: øre/kWh on a NOK installation (what its bill and home page use, 1 øre = 10,000 µNOK),
EUR/MWh on an EUR one (as before). Figures come converted from predict_svc (each period's
``spot_micro_per_kwh`` at its delivery day's EUR rate, energy.fx); nothing here converts between
currencies.
"""

from __future__ import annotations

__all__ = ["MICRO_RANGE", "micro_shown", "price_unit", "shown"]

# Range of a threshold or maximum given in micro-units per kWh: -10 to 50 units of the currency
# per kWh (wider than -500..4000 EUR/MWh at any EUR/NOK of recent decades, 7-13).
MICRO_RANGE = (-10_000_000, 50_000_000)


def price_unit(currency: str) -> str:
    return "øre/kWh" if currency == "NOK" else "EUR/MWh"


def shown(micro_per_kwh: int, price_eur_mwh: float, currency: str) -> float:
    """A spot price in :func:`price_unit` of ``currency``: øre from µNOK/kWh; EUR/MWh as it is
    (``micro_per_kwh`` unused: on an EUR installation it is the same price, rate 1)."""
    return micro_per_kwh / 10_000 if currency == "NOK" else price_eur_mwh


def micro_shown(micro_per_kwh: int, currency: str) -> float:
    """A threshold given in micro-units per kWh, in :func:`price_unit` (1 EUR/MWh = 1000 µEUR/kWh)."""
    return micro_per_kwh / 10_000 if currency == "NOK" else micro_per_kwh / 1000
