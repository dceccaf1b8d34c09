"""Back-history for a fresh demo: each meter's past days, published before it goes live.

A new demo would otherwise show minutes of consumption beside days of prices. With
``EP_METER_BACKFILL_DAYS`` > 0 the simulator first publishes, for every meter, the readings of
the window ``[live start - days, live start]`` through the ordinary path (MQTT, the gateways,
ingest's validation, storage and settlement): nothing about a back-filled reading differs from a
live one except its age and the sample rate.

Volume: readings every ``EP_METER_BACKFILL_INTERVAL_S`` (default 900 s, the settlement period)
instead of the live 10 s, i.e. 96 a day per meter instead of 8,640. The bill needs only the
signed register values at each period boundary (docs/ingest-bridge.md: readings between
boundaries serve the live views, never the bill), and every back-fill reading carries one: a
reading's interval (previous reading, this one] always holds exactly one boundary when the
interval equals the period.

Idempotent: the window is chosen once and kept in the state file, the consumption model of the
back-fill gets its own freshly seeded random stream and the counters start at the fleet's
seeded values, and Ed25519 signatures are deterministic. So a back-fill that is run again (the
simulator was stopped half-way, or restarted before the state said "done") publishes
byte-identical readings, which ingest stores once (a redelivery of a stored reading is dropped
as a duplicate). Once done, a restart skips it.

Age: ingest dead-letters readings older than ``EP_INGEST_MAX_AGE_S`` (30 days by default) for
every meter, back-filled or not, so the window must stay below it (28 days by default in the
demo).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from meter_sim.consumption import FleetModel
from meter_sim.fleet import MeterFleet
from meter_sim.profiles import Household
from meter_sim.signing import FleetSigner
from meter_sim.weather import WeatherProvider

__all__ = ["BackfillWindow", "backfill_fleet"]


@dataclass(frozen=True)
class BackfillWindow:
    """The simulated time the back-fill covers (UNIX seconds), its sample interval, and whether
    it was completed (kept in the state file: ``to_dict``/``from_dict``)."""

    start_s: float
    end_s: float
    interval_s: float
    done: bool = False

    @classmethod
    def ending_at(cls, end_s: float, days: float, interval_s: float) -> BackfillWindow:
        # Whole milliseconds, as the state file keeps them: a restart repeats exactly this window.
        end_ms = math.floor(end_s * 1000)
        return cls(
            start_s=(end_ms - round(days * 86_400_000)) / 1000, end_s=end_ms / 1000, interval_s=interval_s
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "start_ms": round(self.start_s * 1000),
            "end_ms": round(self.end_s * 1000),
            "interval_s": self.interval_s,
            "done": self.done,
        }

    @classmethod
    def from_dict(cls, raw: object) -> BackfillWindow | None:
        if not isinstance(raw, dict):
            return None
        try:
            return cls(
                start_s=int(raw["start_ms"]) / 1000,
                end_s=int(raw["end_ms"]) / 1000,
                interval_s=float(raw["interval_s"]),
                done=bool(raw["done"]),
            )
        except (KeyError, TypeError, ValueError):
            return None


def backfill_fleet(
    households: list[Household],
    weather: WeatherProvider,
    window: BackfillWindow,
    seed: int,
    utc_offset_h: float,
    signer: FleetSigner | None,
    period_s: float,
) -> MeterFleet:
    """The fleet that produces the window's readings: its own model (own random stream, so the
    same window gives the same readings whatever the live fleet did), counters at the seeded
    initial values; produce it with ``now = window.end_s``."""
    model = FleetModel(households, weather, seed, utc_offset_h)
    return MeterFleet(
        households, model, window.interval_s, window.start_s, seed, signer=signer, period_s=period_s
    )
