"""Back-history (meter_sim/backfill.py): the window's readings, their signed boundaries, and the
hand-over to the live fleet; the same window gives the same bytes (ingest then stores them once)."""

from __future__ import annotations

import dataclasses
import itertools
import json
from pathlib import Path
from typing import Any

import pytest

from common.config import ConfigError, from_env
from contracts.mqtt.boundary import SignedBoundary, load_public_key, parse_b64url, verify_boundary
from meter_sim.config import MeterSimConfig
from meter_sim.simulator import Simulator
from meter_sim.state import load_backfill, save_state

START = "2026-01-20T10:07:00Z"  # the live start; the back-fill covers the day before it


def _config(tmp_path: Path, **over: object) -> MeterSimConfig:
    values: dict[str, Any] = {
        "count": 3,
        "seed": 5,
        "start": START,
        "backfill_days": 1.0,
        "state_file": str(tmp_path / "state.json"),
        "sign_unregistered": True,
        "key_file": str(tmp_path / "keys.json"),
    }
    values.update(over)
    return from_env(MeterSimConfig, {}, **values)


def _backfill_payloads(sim: Simulator) -> list[bytes]:
    assert sim.backfill is not None and sim.backfill_window is not None
    out = []
    while sim.backfill.next_due() <= sim.backfill_window.end_s:
        out += [p for _i, _t, p in sim.backfill.produce(sim.backfill_window.end_s, max_rounds=50)]
    return out


def test_every_period_of_the_window_gets_a_signed_boundary(tmp_path: Path) -> None:
    sim = Simulator(_config(tmp_path))
    window = sim.backfill_window
    assert window is not None and window.end_s - window.start_s == 86400
    docs = [json.loads(p) for p in _backfill_payloads(sim)]
    keys = {s.meter_id: load_public_key(s.public_key) for s in sim.signer.signers}  # type: ignore[union-attr]
    for meter in sim.fleet.meter_ids:
        mine = [d for d in docs if d["meter_id"] == meter]
        assert 95 <= len(mine) <= 97  # one reading per 900 s of the day
        assert all(window.start_s * 1000 <= d["ts_ms"] <= window.end_s * 1000 for d in mine)
        # Every reading carries one boundary, and the boundaries are consecutive periods.
        boundaries = [d["boundary"] for d in mine]
        assert len(boundaries) == len(mine)
        steps = {b["t_ms"] - a["t_ms"] for a, b in itertools.pairwise(boundaries)}
        assert steps == {900_000}
        seqs = [d["seq"] for d in mine]
        assert seqs == sorted(set(seqs))
        for d, b in zip(mine, boundaries, strict=True):
            assert b["t_ms"] <= d["ts_ms"] and b["import_wh"] <= round(d["import_kwh"] * 1000)
            signed = SignedBoundary(
                meter,
                b["t_ms"],
                b["import_wh"],
                b["export_wh"],
                d["seq"],
                b["key_id"],
                parse_b64url(b["sig"]) or b"",
            )
            assert verify_boundary(keys[meter], signed)
        # Registers never go backwards.
        imports = [b["import_wh"] for b in boundaries]
        assert imports == sorted(imports)


def test_the_same_window_gives_the_same_bytes_and_live_continues_from_it(tmp_path: Path) -> None:
    first = Simulator(_config(tmp_path))
    payloads = _backfill_payloads(first)
    # Restarted before the back-fill was done: the window kept in the state file is repeated.
    save_state(tmp_path / "state.json", first.fleet, first.backfill_window)
    again = Simulator(_config(tmp_path, start="2026-01-20T11:30:00Z"))
    assert again.backfill_window == first.backfill_window
    assert _backfill_payloads(again) == payloads
    # The live meters' registers continue from the back-filled ones.
    assert again.backfill is not None
    last = {json.loads(p)["meter_id"]: json.loads(p) for p in payloads}
    live = [json.loads(p) for _i, _t, p in first.fleet.produce(first.clock.now())]
    assert live == [] or all(d["seq"] > last[d["meter_id"]]["seq"] for d in live)


def test_a_done_back_fill_is_not_repeated_and_old_state_means_history(tmp_path: Path) -> None:
    sim = Simulator(_config(tmp_path))
    assert sim.backfill is not None
    assert sim.backfill_window is not None
    save_state(tmp_path / "state.json", sim.fleet, dataclasses.replace(sim.backfill_window, done=True))
    assert Simulator(_config(tmp_path)).backfill is None
    window, has_history = load_backfill(tmp_path / "state.json")
    assert window is not None and window.done and has_history
    # A state file from before back-fill existed: those meters have history, no back-fill.
    old = tmp_path / "old"
    old.mkdir()
    save_state(old / "state.json", sim.fleet)
    assert Simulator(_config(old, state_file=str(old / "state.json"))).backfill is None
    # Off unless asked for.
    assert Simulator(_config(tmp_path / "off", backfill_days=0.0)).backfill is None


def test_bad_back_fill_settings_fail_at_start(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        _config(tmp_path, backfill_days=-1.0)
    with pytest.raises(ConfigError):
        _config(tmp_path, backfill_interval_s=1800.0)  # longer than a settlement period
