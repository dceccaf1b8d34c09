"""Bidding zones of the Nordic day-ahead market served by EnergyPulse (Norway, NO1-NO5).

Each zone has a reference city: where the weather of the zone is taken (the synthetic climate
and the live Open-Meteo forecast read the same coordinates).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DEFAULT_SERVED", "DEFAULT_ZONE", "ZONES", "UnknownZone", "Zone", "lookup", "normalize"]


@dataclass(frozen=True)
class Zone:
    """A bidding zone and its reference city (latitude, longitude in degrees)."""

    code: str
    city: str
    lat: float
    lon: float


ZONES: dict[str, Zone] = {
    z.code: z
    for z in (
        Zone("NO1", "Oslo", 59.91, 10.75),
        Zone("NO2", "Kristiansand", 58.15, 8.00),
        Zone("NO3", "Trondheim", 63.43, 10.40),
        Zone("NO4", "Tromso", 69.65, 18.96),
        Zone("NO5", "Bergen", 60.39, 5.32),
    )
}

DEFAULT_ZONE = "NO1"
"""The zone of a household registered without one."""

DEFAULT_SERVED: tuple[str, ...] = ("NO1", "NO2", "NO5")
"""The zones predict_svc serves and calibrates by default."""


class UnknownZone(KeyError):
    """A zone code that is not one of :data:`ZONES`."""


def normalize(code: str) -> str:
    """A zone code as stored and compared: stripped, upper case (``" no1"`` -> ``"NO1"``)."""
    return code.strip().upper()


def lookup(code: str) -> Zone:
    """The :class:`Zone` of ``code`` (any case); :class:`UnknownZone` when it is not served."""
    try:
        return ZONES[normalize(code)]
    except KeyError:
        raise UnknownZone(code) from None
