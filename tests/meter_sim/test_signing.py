"""Meters sign their registers at every settlement-period boundary, with keys made once."""

from __future__ import annotations

import stat
from pathlib import Path

import orjson

from contracts.mqtt.boundary import SignedBoundary, load_public_key, parse_b64url, verify_boundary
from meter_sim.consumption import FleetModel
from meter_sim.fleet import MeterFleet
from meter_sim.profiles import ProfileMix, draw_households
from meter_sim.signing import FleetSigner
from meter_sim.weather import ZoneWeather

START = 1_767_225_600.0 - 120  # two minutes before 2026-01-01T00:00Z


def test_each_meter_signs_once_per_boundary_and_the_values_chain(tmp_path: Path) -> None:
    households = draw_households(3, ProfileMix(), 5, "t")
    keys = FleetSigner.load_or_create([h.meter_id for h in households], tmp_path / "keys.json")
    fleet = MeterFleet(households, FleetModel(households, ZoneWeather(5), 5), 10.0, START, 5, signer=keys)
    public = {s.meter_id: load_public_key(s.public_key) for s in keys.signers}
    signed: dict[str, list[dict[str, int]]] = {}
    last: dict[str, dict[str, float]] = {}
    for _i, _topic, payload in fleet.produce(START + 2 * 900 + 300, max_rounds=10_000):
        doc = orjson.loads(payload)
        b = doc.get("boundary")
        if b is not None:
            assert b["t_ms"] % 900_000 == 0 and b["t_ms"] <= doc["ts_ms"] < b["t_ms"] + 10_000
            boundary = SignedBoundary(
                doc["meter_id"],
                b["t_ms"],
                b["import_wh"],
                b["export_wh"],
                doc["seq"],
                b["key_id"],
                parse_b64url(b["sig"]) or b"",
            )
            assert verify_boundary(public[doc["meter_id"]], boundary)
            before = last.get(doc["meter_id"])
            if before is not None:  # latched between the previous reading and this one
                assert round(before["import_kwh"] * 1000) <= b["import_wh"] <= round(doc["import_kwh"] * 1000)
            signed.setdefault(doc["meter_id"], []).append(b)
        last[doc["meter_id"]] = doc
    assert {m: [b["t_ms"] for b in v] for m, v in signed.items()} == {
        h.meter_id: [1_767_225_600_000, 1_767_226_500_000, 1_767_227_400_000] for h in households
    }
    # The key file is private, and a restart keeps every meter's key.
    assert stat.S_IMODE((tmp_path / "keys.json").stat().st_mode) == 0o600
    again = FleetSigner.load_or_create([h.meter_id for h in households], tmp_path / "keys.json")
    assert again.public_keys() == keys.public_keys()
    assert len(set(keys.public_keys().values())) == 3  # one key per meter, not from the seed


def test_an_unregistered_fleet_signs_only_when_told_its_keys_are_registered_elsewhere(tmp_path: Path) -> None:
    """Without a registrar the fleet sends plain samples (a key ingest never heard of would be
    dead-lettered); EP_METER_SIGN_UNREGISTERED with a key file signs with that file's keys (the
    signature-cost benchmark registers them in ingest's database itself)."""
    from common.config import from_env
    from meter_sim.config import MeterSimConfig
    from meter_sim.simulator import Simulator

    base = {"count": 2, "seed": 3, "start": "2026-01-05T10:00:00Z", "state_file": ""}
    assert Simulator(from_env(MeterSimConfig, {}, key_file=str(tmp_path / "k.json"), **base)).signer is None
    assert Simulator(from_env(MeterSimConfig, {}, sign_unregistered=True, **base)).signer is None  # no file
    told = Simulator(
        from_env(MeterSimConfig, {}, sign_unregistered=True, key_file=str(tmp_path / "k.json"), **base)
    )
    assert told.signer is not None
    saved = FleetSigner.load_or_create([h.meter_id for h in told.households], tmp_path / "k.json")
    assert saved.public_keys() == told.signer.public_keys()
