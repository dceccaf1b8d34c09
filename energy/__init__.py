"""Shared energy domain: tariffs and settlement arithmetic, units, local time, bidding zones, weather."""
