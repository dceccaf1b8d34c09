from __future__ import annotations

import jsonschema
import orjson

from contracts.mqtt.reading import load_schema
from meter_sim.consumption import FleetModel
from meter_sim.fleet import MeterFleet
from meter_sim.profiles import ProfileMix, draw_households
from meter_sim.weather import ZoneWeather


def _fleet(start: float, n: int = 50) -> MeterFleet:
    households = draw_households(n, ProfileMix(solar_share=0.5), 9)
    return MeterFleet(households, FleetModel(households, ZoneWeather(9), 9), 10.0, start, 9)


def test_readings_follow_schema_seq_and_monotonic_counters() -> None:
    validator = jsonschema.Draft202012Validator(load_schema())
    fleet = _fleet(1_750_000_000.0)
    last: dict[str, dict[str, float]] = {}
    count = 0
    for step in range(1, 31):  # five simulated minutes
        for _i, topic, payload in fleet.produce(1_750_000_000.0 + step * 10):
            doc = orjson.loads(payload)
            validator.validate(doc)
            assert topic == f"energy/meters/{doc['meter_id']}"
            prev = last.get(doc["meter_id"])
            if prev is not None:
                assert doc["seq"] == prev["seq"] + 1
                assert doc["ts_ms"] - prev["ts_ms"] in (9999, 10000, 10001)
                assert doc["import_kwh"] >= prev["import_kwh"] and doc["export_kwh"] >= prev["export_kwh"]
            last[doc["meter_id"]] = doc
            count += 1
    assert count == 50 * 30


def test_sequence_numbers_keep_increasing_across_a_restart() -> None:
    before = _fleet(1_750_000_000.0, 5)
    seqs = {
        orjson.loads(p)["meter_id"]: orjson.loads(p)["seq"] for _i, _t, p in before.produce(1_750_000_100.0)
    }
    after = _fleet(1_750_000_500.0, 5)  # a new process, later
    for _i, _t, payload in after.produce(1_750_000_520.0):
        doc = orjson.loads(payload)
        assert doc["seq"] > seqs[doc["meter_id"]]


def test_readings_per_meter_limit_finishes() -> None:
    households = draw_households(3, ProfileMix(), 1)
    fleet = MeterFleet(
        households, FleetModel(households, ZoneWeather(1), 1), 1.0, 1000.0, 1, readings_per_meter=4
    )
    produced = list(fleet.produce(10_000.0, max_rounds=100))
    assert len(produced) == 12 and fleet.finished
