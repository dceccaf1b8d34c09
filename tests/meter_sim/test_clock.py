from __future__ import annotations

from meter_sim.__main__ import parse_args
from meter_sim.clock import SimClock, parse_start


class Fake:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def test_sped_up_clock_backfills_then_caps_at_wall_time() -> None:
    wall, mono = Fake(10_000.0), Fake(0.0)
    clock = SimClock(start=1_000.0, speedup=60, wall=wall, monotonic=mono)
    mono.t = 10
    wall.t += 10
    assert clock.now() == 1_600.0
    mono.t = 1000
    wall.t = 11_000.0
    assert clock.now() == 11_000.0  # caught up: never measures the future
    free = SimClock(start=1_000.0, speedup=60, allow_future=True, wall=wall, monotonic=Fake(0.0))
    assert free.start == 1_000.0


def test_parse_start_and_cli_flags() -> None:
    assert parse_start("1970-01-01T00:01:00") == 60.0
    assert parse_start("") is None
    flags = parse_args(["--count", "10000", "--speedup", "60", "--interval-s", "5", "--allow-future"])
    assert flags == {"count": 10000, "speedup": 60.0, "interval_s": 5.0, "allow_future": True}
