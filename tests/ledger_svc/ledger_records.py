"""Record builders shared by the ledger tests."""

from __future__ import annotations

from ledger_svc.canonical import HOUR_MS, Prediction, Settlement

BASE_HOUR_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z


def settlement(household: str = "hh-1", hour: int = 0, wh: int = 1200, salt: bytes = b"") -> Settlement:
    spot = wh * 85_000 // 1000
    grid, capacity, standing = wh * 40_000 // 1000, 12_000, 3_000
    vat = (spot + grid + capacity + standing) // 4
    return Settlement(
        salt,
        household,
        BASE_HOUR_MS + hour * HOUR_MS,
        wh,
        85_000,
        spot,
        grid,
        capacity,
        standing,
        vat,
        spot + grid + capacity + standing + vat,
    )


def prediction(household: str = "", zone: str = "NO1", hour: int = 0, salt: bytes = b"") -> Prediction:
    return Prediction(
        salt,
        household,
        zone,
        BASE_HOUR_MS + hour * HOUR_MS,
        60_000,
        85_000,
        120_000,
        900,
        76_500,
        "lgbm-2026.01",
        BASE_HOUR_MS - HOUR_MS,
    )


class Clock:
    """An injectable millisecond clock."""

    def __init__(self, start: int = 1_767_225_600_000) -> None:
        self.now = start

    def __call__(self) -> int:
        return self.now

    def advance(self, ms: int) -> None:
        self.now += ms
