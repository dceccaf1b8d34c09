"""Per-meter state (sequence numbers, cumulative counters, schedule) and reading production."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import numpy as np

from contracts.mqtt.reading import encode_reading
from contracts.mqtt.topics import reading_topic
from meter_sim.consumption import FleetModel, interval_energy_kwh
from meter_sim.profiles import Household
from meter_sim.signing import FleetSigner

__all__ = ["MeterFleet"]


class MeterFleet:
    """All meters of one simulator process, advanced together with numpy.

    Meter ``i`` reads at ``(k + phase_i) * interval`` for integer ``k``, so readings of the fleet
    are spread evenly over the interval instead of arriving in one burst, and ``seq = k``: sequence
    numbers come from the schedule, so they stay strictly increasing across reconnects and even
    across simulator restarts (a gap in ``seq`` means a missed interval).
    """

    def __init__(
        self,
        households: Sequence[Household],
        model: FleetModel,
        interval_s: float,
        start_ts: float,
        seed: int,
        readings_per_meter: int = 0,
        signer: FleetSigner | None = None,
        period_s: float = 900.0,
    ) -> None:
        n = len(households)
        rng = np.random.default_rng(seed + 2)
        self.households = list(households)
        self.meter_ids = [h.meter_id for h in households]
        self.topics = [reading_topic(m) for m in self.meter_ids]
        self.model = model
        self.interval_s = interval_s
        self.phase = (np.arange(n) + rng.random(n)) / max(n, 1)
        self.tick = np.ceil(start_ts / interval_s - self.phase).astype(np.int64)
        # Meters were installed some time ago: counters start at a plausible, seeded reading.
        self.import_kwh = np.round(rng.uniform(500, 40000, n), 3)
        self.export_kwh = np.where(
            [h.has_solar for h in households], np.round(rng.uniform(0, 8000, n), 3), 0.0
        )
        self.produced = np.zeros(n, dtype=np.int64)
        self.limit = readings_per_meter
        self.signer = signer
        self.period_ms = int(period_s * 1000)

    def due_ts(self) -> np.ndarray:
        return (self.tick + self.phase) * self.interval_s

    def next_due(self) -> float:
        due = self.due_ts()
        if self.limit:
            due = due[self.produced < self.limit]
        return float(due.min()) if due.size else math.inf

    @property
    def finished(self) -> bool:
        return bool(self.limit) and bool((self.produced >= self.limit).all())

    def produce(self, now: float, max_rounds: int = 4) -> Iterator[tuple[int, str, bytes]]:
        """(meter index, topic, payload) for every reading due at or before ``now``.

        A fleet that fell behind (slow machine, big speed-up) catches up over a few rounds
        per call rather than stalling the publish loop.
        """
        for _ in range(max_rounds):
            due_ts = self.due_ts()
            mask = due_ts <= now
            if self.limit:
                mask &= self.produced < self.limit
            idx = np.nonzero(mask)[0]
            if idx.size == 0:
                return
            ts = due_ts[idx]
            sample = self.model.sample(idx, float(np.median(ts)))
            imp, exp = interval_energy_kwh(sample.power_w, self.interval_s)
            ts_ms = np.floor(ts * 1000).astype(np.int64)
            latched = self._latch(idx, ts, ts_ms, imp, exp) if self.signer is not None else {}
            self.import_kwh[idx] += imp
            self.export_kwh[idx] += exp
            seq = self.tick[idx]
            volts, amps, watts, pf = sample.voltage_v, sample.current_a, sample.power_w, sample.power_factor
            import_kwh, export_kwh = self.import_kwh[idx], self.export_kwh[idx]
            boundaries: dict[int, dict[str, object]] = {}
            if latched and self.signer is not None:  # sign with the reading's own seq
                signers = self.signer.signers
                boundaries = {
                    j: signers[int(idx[j])].boundary(t, w_in, w_out, int(seq[j]))
                    for j, (t, w_in, w_out) in latched.items()
                }
            for j, i in enumerate(idx.tolist()):
                yield (
                    i,
                    self.topics[i],
                    encode_reading(
                        self.meter_ids[i],
                        int(seq[j]),
                        int(ts_ms[j]),
                        float(volts[j]),
                        float(amps[j]),
                        float(watts[j]),
                        float(pf[j]),
                        float(import_kwh[j]),
                        float(export_kwh[j]),
                        boundaries.get(j),
                    ),
                )
            self.tick[idx] += 1
            self.produced[idx] += 1

    def _latch(
        self, idx: np.ndarray, ts: np.ndarray, ts_ms: np.ndarray, imp: np.ndarray, exp: np.ndarray
    ) -> dict[int, tuple[int, int, int]]:
        """{position in idx: (boundary ms, import Wh, export Wh)} for readings whose interval
        (previous reading, this one] holds a settlement-period boundary: the registers at that
        instant, the interval's energy shared pro rata (the sample is the interval's mean power)."""
        period = self.period_ms
        start_ms = np.floor((ts - self.interval_s) * 1000).astype(np.int64)
        boundary = ts_ms - ts_ms % period
        crossed = np.nonzero(start_ms < boundary)[0]
        out: dict[int, tuple[int, int, int]] = {}
        for j in crossed.tolist():
            i = int(idx[j])
            share = (int(boundary[j]) - int(start_ms[j])) / max(int(ts_ms[j]) - int(start_ms[j]), 1)
            w_in = round((float(self.import_kwh[i]) + float(imp[j]) * share) * 1000)
            w_out = round((float(self.export_kwh[i]) + float(exp[j]) * share) * 1000)
            out[j] = (int(boundary[j]), int(w_in), int(w_out))
        return out
