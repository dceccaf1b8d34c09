"""Counters and sequence numbers survive a simulator restart (no COUNTER_BACKWARDS after it)."""

from __future__ import annotations

import json
from pathlib import Path

from common.config import from_env
from meter_sim.config import MeterSimConfig
from meter_sim.simulator import Simulator
from meter_sim.state import load_state, save_state


def _config(path: Path) -> MeterSimConfig:
    return from_env(
        MeterSimConfig,
        {},
        count=5,
        seed=3,
        interval_s=10.0,
        start="2026-01-05T10:00:00Z",
        state_file=str(path),
    )


def _produce(sim: Simulator, until: float) -> dict[str, dict[str, float]]:
    last: dict[str, dict[str, float]] = {}
    for _i, _topic, payload in sim.fleet.produce(until, max_rounds=100):
        doc = json.loads(payload)
        last[doc["meter_id"]] = doc
    return last


def test_restart_resumes_counters_and_sequence(tmp_path: Path) -> None:
    path = tmp_path / "state" / "meter_sim_state.json"
    first = Simulator(_config(path))
    start = first.clock.now()
    before = _produce(first, start + 600)  # ten minutes of readings
    save_state(path, first.fleet)
    # A restart with the same (earlier) start time: the schedule alone would repeat seq numbers
    # and the seeded counters would start over, far below what was already published.
    second = Simulator(_config(path))
    after = _produce(second, start + 700)
    assert set(after) == set(before)
    for meter_id, doc in after.items():
        assert doc["seq"] > before[meter_id]["seq"]
        assert doc["import_kwh"] >= before[meter_id]["import_kwh"]
        assert doc["export_kwh"] >= before[meter_id]["export_kwh"]


def test_state_file_is_written_atomically_and_bad_files_are_ignored(tmp_path: Path) -> None:
    path = tmp_path / "meter_sim_state.json"
    sim = Simulator(_config(path))
    save_state(path, sim.fleet)
    assert json.loads(path.read_text())["v"] == 1
    assert list(tmp_path.glob("*.tmp")) == []
    path.write_text("{not json")
    assert load_state(path, sim.fleet) == 0
    assert load_state(tmp_path / "missing.json", sim.fleet) == 0
