"""Drives the fleet: produce due readings, route them to gateways, pump, repeat."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from common.log import get_logger
from meter_sim.backfill import BackfillWindow, backfill_fleet
from meter_sim.clock import SimClock, parse_start
from meter_sim.config import MeterSimConfig
from meter_sim.consumption import FleetModel
from meter_sim.fleet import MeterFleet
from meter_sim.gateway import Gateway
from meter_sim.profiles import Household, ProfileMix, draw_households, parse_heating_mix
from meter_sim.signing import FleetSigner
from meter_sim.state import load_backfill, load_state, save_state
from meter_sim.weather import WeatherProvider, ZoneWeather

__all__ = ["SimStats", "Simulator", "build_households"]

log = get_logger(__name__)

# Time all gateways together get to flush and announce "offline" on shutdown: supervisors
# (honcho, compose) send SIGKILL after their grace period of 5-10 s.
STOP_BUDGET_S = 3.0

Registrar = Callable[[Sequence[Household], Mapping[str, bytes]], None]
"""Registers households with their meters' public signing keys (meter id -> raw public key)."""
# gateway id -> its meter ids in, gateway id -> (MQTT username, password) out (credentials.py)
Provisioner = Callable[[Mapping[str, Sequence[str]]], Mapping[str, tuple[str, str]]]


@dataclass(frozen=True)
class SimStats:
    produced: int
    handed: int
    acked: int
    buffered: int
    dropped: int
    connected_gateways: int
    backfilled: int = 0  # back-fill readings handed to the gateways (meter_sim/backfill.py)


def build_households(config: MeterSimConfig) -> list[Household]:
    mix = ProfileMix(
        heating=parse_heating_mix(config.heating_mix),
        ev_share=config.ev_share,
        solar_share=config.solar_share,
    )
    return draw_households(config.count, mix, config.seed, config.id_prefix)


class Simulator:
    def __init__(
        self,
        config: MeterSimConfig,
        weather: WeatherProvider | None = None,
        registrar: Registrar | None = None,
        clock: SimClock | None = None,
        provisioner: Provisioner | None = None,
    ) -> None:
        self.config = config
        self.households = build_households(config)
        self.clock = clock or SimClock(parse_start(config.start), config.speedup, config.allow_future)
        weather = weather or ZoneWeather(config.seed, config.zone)
        model = FleetModel(self.households, weather, config.seed, config.utc_offset_h)
        key_file = config.key_file or (
            str(Path(config.state_file).with_name("meter_sim_keys.json")) if config.state_file else ""
        )
        # Keys only for meters that register them: a signed boundary under a key ingest was never
        # told about is dead-lettered (UNKNOWN_METER_KEY), so an unregistered fleet sends plain samples.
        self.signer = (
            FleetSigner.load_or_create(
                [h.meter_id for h in self.households], Path(key_file) if key_file else None
            )
            if config.sign and (registrar is not None or (config.sign_unregistered and key_file))
            else None
        )
        self.fleet = MeterFleet(
            self.households,
            model,
            config.interval_s,
            self.clock.now(),
            config.seed,
            config.readings_per_meter,
            signer=self.signer,
            period_s=float(config.settlement_period_s),
        )
        self.state_path = Path(config.state_file) if config.state_file else None
        saved_window, has_history = None, False
        if self.state_path is not None:
            restored = load_state(self.state_path, self.fleet)
            log.info("meter_state_loaded", path=str(self.state_path), meters=restored)
            saved_window, has_history = load_backfill(self.state_path)
        # Back-history once, for a fleet without any: a window kept in the state file is repeated
        # as it was until done (byte-identical readings, stored once); meters with saved state
        # from before back-fill existed have history already.
        self.backfill_window: BackfillWindow | None = saved_window
        if saved_window is None and config.backfill_days > 0 and not has_history:
            self.backfill_window = BackfillWindow.ending_at(
                self.clock.now(), config.backfill_days, config.backfill_interval_s
            )
        self.backfill: MeterFleet | None = None
        if self.backfill_window is not None and not self.backfill_window.done:
            self.backfill = backfill_fleet(
                self.households,
                weather,
                self.backfill_window,
                config.seed,
                config.utc_offset_h,
                self.signer,
                float(config.settlement_period_s),
            )
        self.backfilled = 0
        self._registrar = registrar
        self._provisioner = provisioner  # issues each gateway's broker credentials (credentials.py)
        broker = config.broker
        k = min(config.connections, max(1, len(self.households)))
        ids = [h.meter_id for h in self.households]
        self.gateways = [
            Gateway(
                f"{config.id_prefix}-gw-{g}",
                broker,
                ids[g::k],
                buffer_max=max(1, config.buffer_max // k),
                inflight_max=config.inflight_max,
                resume_hold_s=config.resume_hold_s,
            )
            for g in range(k)
        ]
        self.produced = 0

    def stats(self) -> SimStats:
        return SimStats(
            produced=self.produced,
            handed=sum(g.handed for g in self.gateways),
            acked=sum(g.acked for g in self.gateways),
            buffered=sum(len(g.pending) for g in self.gateways),
            dropped=sum(g.dropped for g in self.gateways),
            connected_gateways=sum(g.connected for g in self.gateways),
            backfilled=self.backfilled,
        )

    def _run_backfill(self, stop: threading.Event) -> None:
        """Publish the back-fill window as fast as the broker acknowledges it, then hand its
        counters to the live fleet. Done (and so kept as done) only once the broker has every
        reading: a simulator stopped before that repeats the window on its next start."""
        fleet, window = self.backfill, self.backfill_window
        assert fleet is not None and window is not None
        if self.state_path is not None:  # the window first: a restart repeats this very window
            save_state(self.state_path, self.fleet, window)
        k = len(self.gateways)
        # Bounded memory: produce more only while the gateways hold fewer than this unsent.
        high_water = max(20_000, 10 * len(self.households))
        started = last_log = time.monotonic()
        log.info(
            "backfill_started",
            meters=len(self.households),
            start_ms=round(window.start_s * 1000),
            end_ms=round(window.end_s * 1000),
            interval_s=window.interval_s,
        )
        produced_all = False
        while not stop.is_set():
            if not produced_all:
                for i, topic, payload in fleet.produce(window.end_s, max_rounds=8):
                    self.gateways[i % k].enqueue(topic, payload)
                    self.backfilled += 1
                produced_all = fleet.next_due() > window.end_s
            for gateway in self.gateways:
                gateway.pump()
            if produced_all and all(g.idle for g in self.gateways):
                break
            if time.monotonic() - last_log > 10:
                last_log = time.monotonic()
                log.info("backfill_progress", **self.stats().__dict__)
            if produced_all or sum(len(g.pending) for g in self.gateways) > high_water:
                stop.wait(0.01)
        if stop.is_set():
            return
        # The live meters carry on from the back-filled registers (never lower than saved ones).
        self.fleet.import_kwh[:] = np.maximum(self.fleet.import_kwh, fleet.import_kwh)
        self.fleet.export_kwh[:] = np.maximum(self.fleet.export_kwh, fleet.export_kwh)
        self.backfill_window = dataclasses.replace(window, done=True)
        self.backfill = None
        if self.state_path is not None:
            save_state(self.state_path, self.fleet, self.backfill_window)
        log.info(
            "backfill_done",
            readings=self.backfilled,
            meters=len(self.households),
            seconds=round(time.monotonic() - started, 1),
        )

    def run(self, stop: threading.Event | None = None) -> SimStats:
        """Publish until ``stop`` is set (or every meter made ``readings_per_meter`` readings)."""
        stop = stop or threading.Event()
        if self._registrar is not None:
            self._registrar(self.households, self.signer.public_keys() if self.signer else {})
        if self._provisioner is not None:
            issued = self._provisioner({g.gateway_id: g.meter_ids for g in self.gateways})
            for gateway in self.gateways:
                gateway.set_credentials(*issued[gateway.gateway_id])
        for gateway in self.gateways:
            gateway.start()
        k = len(self.gateways)
        try:
            if self.backfill is not None:
                self._run_backfill(stop)
            last_log = last_save = time.monotonic()
            while not stop.is_set():
                for i, topic, payload in self.fleet.produce(self.clock.now()):
                    self.gateways[i % k].enqueue(topic, payload)
                    self.produced += 1
                for gateway in self.gateways:
                    gateway.pump()
                if self.fleet.finished and all(g.idle for g in self.gateways):
                    break
                if self.state_path is not None and time.monotonic() - last_save > self.config.state_every_s:
                    last_save = time.monotonic()
                    save_state(self.state_path, self.fleet, self.backfill_window)
                if time.monotonic() - last_log > 10:
                    last_log = time.monotonic()
                    log.info("sim_progress", **self.stats().__dict__)
                wait = self.clock.wall_seconds_until(self.fleet.next_due())
                stop.wait(min(max(wait, 0.002), 0.05))
        finally:
            # One deadline for all gateways: a supervisor (honcho, compose) kills us after ~5-10 s.
            # They flush in parallel (each has its own network thread).
            deadline = time.monotonic() + STOP_BUDGET_S
            for gateway in self.gateways:
                gateway.begin_stop(deadline)
            for gateway in self.gateways:
                gateway.wait_stopped(deadline)
            if self.state_path is not None and self.backfill is None:
                save_state(self.state_path, self.fleet, self.backfill_window)
        stats = self.stats()
        log.info("sim_stopped", **stats.__dict__)
        return stats
