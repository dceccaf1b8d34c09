"""Bidding zones and their reference cities."""

from __future__ import annotations

import pytest

from energy.zones import DEFAULT_SERVED, DEFAULT_ZONE, ZONES, UnknownZone, lookup


def test_lookup_any_case_and_unknown() -> None:
    assert lookup(" no5 ").city == "Bergen"
    with pytest.raises(UnknownZone):
        lookup("DE_LU")


def test_defaults_are_known_zones() -> None:
    assert DEFAULT_ZONE in ZONES
    assert set(DEFAULT_SERVED) <= set(ZONES)
    assert all(55 < z.lat < 72 and 4 < z.lon < 32 for z in ZONES.values())  # in Norway
