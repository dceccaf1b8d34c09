"""Validation rules, and agreement of the hand-compiled checker with the JSON Schema file."""

from __future__ import annotations

import time
from typing import Any

import jsonschema
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.mqtt.reading import load_schema
from ingest_svc.intake.validation import Reading, Rejection, SchemaChecker, SequenceTracker, parse_reading
from tests.ingest_svc.helpers import reading

CHECKER = SchemaChecker()
SCHEMA = load_schema()
NOW_MS = int(time.time() * 1000)


def parse(doc: Any, topic: str = "energy/meters/m-1", raw: bytes | None = None) -> Reading | Rejection:
    payload = raw if raw is not None else orjson.dumps(doc)
    return parse_reading(CHECKER, topic, payload, NOW_MS, 300_000, 86_400_000)


def reason(result: Reading | Rejection) -> str:
    assert isinstance(result, Rejection), result
    return result.reason


def test_valid_reading_parses() -> None:
    result = parse(reading("m-1", 7, NOW_MS))
    assert isinstance(result, Reading)
    assert (result.meter_id, result.seq, result.power_w) == ("m-1", 7, 1150.0)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b'{"v":1,"meter_id":"m-1"', "INVALID_JSON"),
        (b'{"v":1,"power_w":NaN}', "INVALID_JSON"),
        (b"\xff\xfe", "INVALID_JSON"),
        (b"[1,2,3]", "NOT_AN_OBJECT"),
        (b" " * 2000 + b"{}", "PAYLOAD_TOO_LARGE"),
    ],
)
def test_raw_payload_problems(raw: bytes, expected: str) -> None:
    assert reason(parse(None, raw=raw)) == expected


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"v": 2}, "UNSUPPORTED_VERSION"),
        ({"seq": "7"}, "WRONG_TYPE"),
        ({"seq": True}, "WRONG_TYPE"),
        ({"seq": 1.5}, "WRONG_TYPE"),
        ({"seq": -1}, "OUT_OF_RANGE"),
        ({"voltage_v": 1e300}, "OUT_OF_RANGE"),
        ({"voltage_v": 0.23}, "OUT_OF_RANGE"),  # kV instead of V
        ({"power_w": 1.15}, "INCONSISTENT_UNITS"),  # kW instead of W
        ({"current_a": 5200.0}, "OUT_OF_RANGE"),  # mA instead of A
        ({"extra": 1}, "UNKNOWN_FIELD"),
        ({"meter_id": "m-2"}, "TOPIC_MISMATCH"),
        ({"meter_id": "m/1"}, "INVALID_FORMAT"),
        ({"ts_ms": NOW_MS + 3_600_000}, "TIMESTAMP_IN_FUTURE"),
        ({"ts_ms": NOW_MS - 2 * 86_400_000}, "TIMESTAMP_TOO_OLD"),
    ],
)
def test_field_problems(change: dict[str, Any], expected: str) -> None:
    assert reason(parse({**reading("m-1", 7, NOW_MS), **change})) == expected


def test_missing_field_and_bad_topic() -> None:
    doc = reading("m-1", 7, NOW_MS)
    del doc["import_kwh"]
    assert reason(parse(doc)) == "MISSING_FIELD"
    assert reason(parse(reading("m-1", 7, NOW_MS), topic="energy/meters/m-1/status")) == "INVALID_TOPIC"


def test_integral_float_is_an_integer_as_in_json_schema() -> None:
    result = parse({**reading("m-1", 7, NOW_MS), "seq": 7.0})
    assert isinstance(result, Reading) and result.seq == 7


def test_sequence_tracker_order_and_counters() -> None:
    tracker = SequenceTracker()
    first = Reading("m", 5, NOW_MS, 230, 1, 200, 0.9, 10.0, 1.0)
    assert tracker.check(first) is None
    tracker.accept(first)
    replay = Reading("m", 5, NOW_MS, 230, 1, 200, 0.9, 10.0, 1.0)
    assert reason(tracker.check(replay)) == "SEQ_NOT_INCREASING"  # type: ignore[arg-type]
    backwards = Reading("m", 6, NOW_MS, 230, 1, 200, 0.9, 9.0, 1.0)
    assert reason(tracker.check(backwards)) == "COUNTER_BACKWARDS"  # type: ignore[arg-type]
    onward = Reading("m", 9, NOW_MS, 230, 1, 200, 0.9, 10.2, 1.0)
    assert tracker.check(onward) is None  # gaps are fine: a meter may miss intervals


# --- the checker says exactly what the schema file says -----------------------------------
_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**60), 2**60),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(alphabet="abcXYZ019_.-/ ", max_size=70),
    st.lists(st.integers(), max_size=2),
)


BOUNDARY = {
    "t_ms": NOW_MS - NOW_MS % 900_000,
    "import_wh": 100_000,
    "export_wh": 5_000,
    "key_id": "0" * 32,
    "sig": "A" * 86,
}


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    doc: dict[str, Any] = reading("m-1", draw(st.integers(0, 10**6)), NOW_MS)
    if draw(st.booleans()):
        boundary = dict(BOUNDARY)
        for name in draw(st.lists(st.sampled_from([*sorted(boundary), "bogus"]), max_size=2)):
            if draw(st.booleans()):
                boundary.pop(name, None)
            else:
                boundary[name] = draw(_values)
        doc["boundary"] = boundary if draw(st.integers(0, 9)) else draw(_values)
    for name in draw(st.lists(st.sampled_from([*sorted(doc), "bogus"]), max_size=3)):
        action = draw(st.sampled_from(["replace", "delete"]))
        if action == "delete":
            doc.pop(name, None)
        else:
            doc[name] = draw(_values)
    return doc


@settings(max_examples=600, deadline=None)
@given(documents())
def test_checker_agrees_with_json_schema(doc: dict[str, Any]) -> None:
    schema_ok = jsonschema.Draft202012Validator(SCHEMA).is_valid(doc)
    assert (CHECKER.check(doc) is None) == schema_ok, (doc, CHECKER.check(doc))
    # The fast path never accepts what the schema refuses (it may defer a valid one to check()).
    assert schema_ok or not CHECKER.valid(doc), doc


def test_fast_path_takes_plain_readings_and_defers_the_rest() -> None:
    assert CHECKER.valid(reading("m-1", 7, NOW_MS))
    assert CHECKER.valid(reading("m-1", 7, NOW_MS, voltage_v=230))  # an int is a number
    for odd in ({"seq": 7.0}, {"voltage_v": float("inf")}, {"voltage_v": float("nan")}, {"seq": True}):
        assert not CHECKER.valid({**reading("m-1", 7, NOW_MS), **odd}), odd
    assert not CHECKER.valid({**reading("m-1", 7, NOW_MS), "bogus": 1})
    missing = reading("m-1", 7, NOW_MS)
    del missing["seq"]
    assert not CHECKER.valid({**missing, "bogus": 1})  # same field count, one unknown
    assert CHECKER.check({**reading("m-1", 7, NOW_MS), "seq": 7.0}) is None  # deferred, then accepted


def test_fast_path_takes_signed_readings_and_defers_odd_boundaries() -> None:
    """A reading carrying its period's signed boundary is plainly valid too (it took check()
    before); anything unusual in the nested object still goes to check()."""
    signed = {**reading("m-1", 7, NOW_MS), "boundary": dict(BOUNDARY)}
    assert CHECKER.valid(signed) and CHECKER.check(signed) is None
    odd_boundaries: list[dict[str, Any]] = [
        {**BOUNDARY, "import_wh": 100_000.0},  # an integer written as a float: check() decides
        {**BOUNDARY, "import_wh": True},
        {**BOUNDARY, "export_wh": -1},
        {**BOUNDARY, "key_id": "0" * 31 + "G"},
        {**BOUNDARY, "sig": "A" * 85},
        {k: v for k, v in BOUNDARY.items() if k != "sig"},
        {**{k: v for k, v in BOUNDARY.items() if k != "sig"}, "bogus": "A" * 86},  # same size
        {**BOUNDARY, "bogus": 1},
    ]
    for boundary in odd_boundaries:
        assert not CHECKER.valid({**reading("m-1", 7, NOW_MS), "boundary": boundary}), boundary
    assert not CHECKER.valid({**reading("m-1", 7, NOW_MS), "boundary": [BOUNDARY]})
    assert not CHECKER.valid({**reading("m-1", 7, NOW_MS), "bogus": dict(BOUNDARY)})  # not its name
    assert CHECKER.check({**signed, "boundary": {**BOUNDARY, "import_wh": 100_000.0}}) is None


def test_schema_file_is_valid_json_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    # Every field is required except the signed boundary values (only on a period's first reading).
    assert SCHEMA["required"] == [p for p in SCHEMA["properties"] if p != "boundary"]
