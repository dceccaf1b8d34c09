"""Validation of reading payloads: the rules of contracts/mqtt/reading.schema.json, plus the
stateful ones JSON Schema cannot express (skew, sequence order, monotonic counters).

The bounds, types and required fields are read from the schema file itself, so publisher and
ingest share one contract; a property test checks this validator agrees with a reference
JSON Schema implementation. Hand-compiled because a general JSON Schema engine costs ~50x more
per message than this at 10,000+ readings/s.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple, cast

import orjson

from contracts.mqtt.boundary import SignedBoundary, parse_b64url
from contracts.mqtt.reading import PropertySchema, ReadingSchema, load_schema
from contracts.mqtt.topics import parse_reading_topic

__all__ = [
    "READING_FIELDS",
    "Reading",
    "Rejection",
    "SchemaChecker",
    "SequenceTracker",
    "parse_message",
    "parse_reading",
]

BOUNDARY = "boundary"  # the one object-valued (and the one optional) field of the reading

READING_FIELDS = (
    "meter_id",
    "seq",
    "ts_ms",
    "voltage_v",
    "current_a",
    "power_w",
    "power_factor",
    "import_kwh",
    "export_kwh",
)


class Reading(NamedTuple):
    """One validated reading, fields in the column order of ``readings``.

    A NamedTuple (immutable like a frozen dataclass) because one is built per message: a frozen
    dataclass's ``__init__`` costs ~3x more, which shows at 10,000 readings/s.
    """

    meter_id: str
    seq: int
    ts_ms: int
    voltage_v: float
    current_a: float
    power_w: float
    power_factor: float
    import_kwh: float
    export_kwh: float

    def same_measurement(self, other: Reading) -> bool:
        return self == other


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why a message was dead-lettered: an UPPER_SNAKE reason and a human detail."""

    reason: str
    detail: str
    meter_id: str | None = None


@dataclass(frozen=True)
class _Field:
    name: str
    kind: str  # "integer" | "number" | "string" | "const"
    minimum: float | None
    maximum: float | None
    pattern: re.Pattern[str] | None
    const: object = None


def _field(name: str, spec: PropertySchema) -> _Field:
    kind = "const" if "const" in spec else spec["type"]
    pattern = re.compile(spec["pattern"]) if "pattern" in spec else None
    return _Field(name, kind, spec.get("minimum"), spec.get("maximum"), pattern, spec.get("const"))


class _Flat(NamedTuple):
    """valid()'s form of a set of rules: (name, integer?, low, high) per number, (name, pattern)
    per string, (name, value) per constant. A missing bound becomes +-max float, which also makes
    +-inf (and NaN, which compares false) fail the range test."""

    numbers: tuple[tuple[str, bool, float, float], ...]
    strings: tuple[tuple[str, re.Pattern[str] | None], ...]
    consts: tuple[tuple[str, object], ...]


def _flatten(fields: Iterable[tuple[str, _Field]]) -> _Flat:
    big = sys.float_info.max
    numbers, strings, consts = [], [], []
    for name, f in fields:
        if f.kind in ("integer", "number"):
            low = -big if f.minimum is None else f.minimum
            numbers.append((name, f.kind == "integer", low, big if f.maximum is None else f.maximum))
        elif f.kind == "string":
            strings.append((name, f.pattern))
        else:
            consts.append((name, f.const))
    return _Flat(tuple(numbers), tuple(strings), tuple(consts))


def _plain(doc: dict[str, Any], rules: _Flat) -> bool:
    """Every field of ``rules`` in ``doc`` with its exact type, in range (see valid())."""
    try:
        for name, integer, low, high in rules.numbers:
            value = doc[name]
            kind = type(value)
            if not (kind is int or (kind is float and not integer)) or not low <= value <= high:
                return False
        for name, pattern in rules.strings:
            value = doc[name]
            if type(value) is not str or (pattern is not None and pattern.fullmatch(value) is None):
                return False
        for name, const in rules.consts:
            value = doc[name]
            if type(value) is not type(const) or value != const:
                return False
    except KeyError:  # a field is missing (and, len being equal, an unknown one is present)
        return False
    return True


class SchemaChecker:
    """The structural part of the contract (what JSON Schema itself says)."""

    def __init__(self, schema: ReadingSchema | None = None) -> None:
        schema = schema or load_schema()
        self.max_bytes = int(schema.get("x-max-payload-bytes", 1024))
        self.required = tuple(schema["required"])
        self.fields: dict[str, _Field] = {}
        self.boundary_fields: dict[str, _Field] = {}
        self.boundary_required: tuple[str, ...] = ()
        for name, spec in schema["properties"].items():
            if name == BOUNDARY:
                nested = cast(dict[str, PropertySchema], spec.get("properties", {}))
                self.boundary_fields = {
                    f"{BOUNDARY}.{k}": _field(f"{BOUNDARY}.{k}", v) for k, v in nested.items()
                }
                self.boundary_required = tuple(spec.get("required", ()))
                continue
            self.fields[name] = _field(name, spec)
        # For valid(): the same rules flattened into tuples (_Flat).
        self._top = _flatten(self.fields.items())
        self._n = len(self.fields)
        # The boundary object's, keyed by the nested name. Only when every one of its fields is
        # required (as now): a dict of that many keys that has all of them has no other.
        inner = {name.removeprefix(f"{BOUNDARY}."): f for name, f in self.boundary_fields.items()}
        complete = bool(inner) and set(self.boundary_required) == inner.keys()
        self._boundary = _flatten(inner.items())
        self._boundary_n = len(inner) if complete else -1

    def valid(self, doc: object) -> bool:
        """True for a document that plainly satisfies the schema (every field present, exact
        types, in range): the path every good reading takes, a few times cheaper than check().
        False means "ask check()", which gives the reason (or accepts an unusual but valid form,
        such as an integer written 5.0). A signed boundary object (1 reading in 90 at the default
        cadence) is tested the same way: such readings took check() before, its cost per
        boundary was about a third of the signature verify's."""
        if type(doc) is not dict:
            return False
        if len(doc) != self._n:
            if len(doc) != self._n + 1:
                return False
            inner = doc.get(BOUNDARY)
            if type(inner) is not dict or len(inner) != self._boundary_n or not _plain(inner, self._boundary):
                return False
        return _plain(doc, self._top)

    def check(self, doc: object) -> Rejection | None:
        if not isinstance(doc, dict):
            return Rejection("NOT_AN_OBJECT", f"payload is a JSON {type(doc).__name__}, expected an object")
        for name in self.required:
            if name not in doc:
                return Rejection("MISSING_FIELD", f"required field {name!r} is missing")
        for name, value in doc.items():
            if name == BOUNDARY and self.boundary_fields:
                problem = self._check_boundary(value)
            else:
                spec = self.fields.get(name)
                if spec is None:
                    return Rejection("UNKNOWN_FIELD", f"field {name[:64]!r} is not part of the schema")
                problem = self._check_value(spec, value)
            if problem is not None:
                return problem
        return None

    def _check_boundary(self, value: object) -> Rejection | None:
        if not isinstance(value, dict):
            return Rejection("WRONG_TYPE", f"{BOUNDARY} must be an object")
        for name in self.boundary_required:
            if name not in value:
                return Rejection("MISSING_FIELD", f"required field {BOUNDARY}.{name} is missing")
        for name, item in value.items():
            spec = self.boundary_fields.get(f"{BOUNDARY}.{name}")
            if spec is None:
                return Rejection("UNKNOWN_FIELD", f"field {BOUNDARY}.{name[:64]!r} is not part of the schema")
            problem = self._check_value(spec, item)
            if problem is not None:
                return problem
        return None

    @staticmethod
    def _check_value(spec: _Field, value: object) -> Rejection | None:
        if spec.kind == "const":
            if type(value) is bool or value != spec.const or type(value) is str:
                return Rejection(
                    "UNSUPPORTED_VERSION", f"{spec.name} must be {spec.const!r}, got {value!r:.40}"
                )
            return None
        if spec.kind == "string":
            if not isinstance(value, str):
                return Rejection("WRONG_TYPE", f"{spec.name} must be a string")
            if spec.pattern is not None and not spec.pattern.fullmatch(value):
                return Rejection(
                    "INVALID_FORMAT", f"{spec.name} {value[:70]!r} does not match {spec.pattern.pattern}"
                )
            return None
        # Numbers: JSON booleans are not numbers; integers may be written 5.0 (as JSON Schema allows).
        if type(value) is bool or not isinstance(value, (int, float)):
            return Rejection("WRONG_TYPE", f"{spec.name} must be a {spec.kind}, got {type(value).__name__}")
        if spec.kind == "integer" and isinstance(value, float) and not value.is_integer():
            return Rejection("WRONG_TYPE", f"{spec.name} must be an integer, got {value!r}")
        if isinstance(value, float) and not math.isfinite(value):
            return Rejection("OUT_OF_RANGE", f"{spec.name} is not finite")
        if (spec.minimum is not None and value < spec.minimum) or (
            spec.maximum is not None and value > spec.maximum
        ):
            return Rejection(
                "OUT_OF_RANGE", f"{spec.name}={value!r:.30} outside [{spec.minimum}, {spec.maximum}]"
            )
        return None


def parse_reading(
    checker: SchemaChecker, topic: str, payload: bytes, now_ms: int, max_future_ms: int, max_age_ms: int
) -> Reading | Rejection:
    """Everything that can be decided from one message alone (its boundary, if any, dropped)."""
    result = parse_message(checker, topic, payload, now_ms, max_future_ms, max_age_ms)
    return result if isinstance(result, Rejection) else result[0]


def parse_message(
    checker: SchemaChecker, topic: str, payload: bytes, now_ms: int, max_future_ms: int, max_age_ms: int
) -> tuple[Reading, SignedBoundary | None] | Rejection:
    """The reading and its signed boundary values (not yet verified: that needs the meter's key)."""
    if len(payload) > checker.max_bytes:
        return Rejection("PAYLOAD_TOO_LARGE", f"{len(payload)} bytes > {checker.max_bytes}")
    topic_meter = parse_reading_topic(topic)
    if topic_meter is None:
        return Rejection("INVALID_TOPIC", f"unexpected topic {topic[:100]!r}")
    try:
        doc = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        return Rejection("INVALID_JSON", str(exc)[:200], topic_meter[:64])
    if not checker.valid(doc):
        problem = checker.check(doc)
        if problem is not None:
            return Rejection(problem.reason, problem.detail, topic_meter[:64])
    if doc["meter_id"] != topic_meter:
        return Rejection(
            "TOPIC_MISMATCH",
            f"payload meter_id {doc['meter_id']!r} != topic meter {topic_meter!r}",
            topic_meter[:64],
        )
    reading = Reading(
        doc["meter_id"],
        int(doc["seq"]),
        int(doc["ts_ms"]),
        float(doc["voltage_v"]),
        float(doc["current_a"]),
        float(doc["power_w"]),
        float(doc["power_factor"]),
        float(doc["import_kwh"]),
        float(doc["export_kwh"]),
    )
    # Units: P = V * I * PF. A value sent in kW, kV or mA breaks this by orders of magnitude.
    apparent = reading.voltage_v * reading.current_a * reading.power_factor
    if abs(abs(reading.power_w) - apparent) > 0.03 * max(abs(reading.power_w), apparent) + 10.0:
        return Rejection(
            "INCONSISTENT_UNITS",
            f"|power_w|={abs(reading.power_w):.1f} but V*I*PF={apparent:.1f} (wrong units?)",
            reading.meter_id,
        )
    if reading.ts_ms - now_ms > max_future_ms:
        return Rejection(
            "TIMESTAMP_IN_FUTURE", f"ts_ms is {(reading.ts_ms - now_ms) / 1000:.0f} s ahead", reading.meter_id
        )
    if now_ms - reading.ts_ms > max_age_ms:
        return Rejection(
            "TIMESTAMP_TOO_OLD", f"ts_ms is {(now_ms - reading.ts_ms) / 1000:.0f} s old", reading.meter_id
        )
    raw = doc.get(BOUNDARY)
    if raw is None:
        return reading, None
    signature = parse_b64url(raw["sig"])
    if signature is None:
        return Rejection("BAD_SIGNATURE", "boundary.sig is not base64url", reading.meter_id)
    if raw["t_ms"] > reading.ts_ms:
        return Rejection(
            "OUT_OF_RANGE", f"boundary.t_ms {raw['t_ms']} is after the reading's ts_ms", reading.meter_id
        )
    return reading, SignedBoundary(
        reading.meter_id,
        int(raw["t_ms"]),
        int(raw["import_wh"]),
        int(raw["export_wh"]),
        reading.seq,
        raw["key_id"],
        signature,
    )


class SequenceTracker:
    """Last accepted (seq, counters, time) per meter, for order, monotonicity and plausibility.

    In-memory per replica on purpose: with a shared subscription each replica sees an increasing
    subsequence of a meter's readings, so "seq must increase" holds per replica but not against
    the database (a sibling may already have stored a later seq). The plausibility cap holds on
    any subsequence: no meter delivers more than ``max_power_w`` for the time between two of its
    readings (or two of its signed boundaries), whatever lies between them.
    """

    _EPSILON_KWH = 0.0005  # half the 1 Wh wire resolution
    _SLACK_WH = 2.0  # wire rounding (1 Wh) of both ends

    def __init__(self, max_power_w: float = 0.0) -> None:
        self._last: dict[str, tuple[int, float, float, int]] = {}
        self._boundary: dict[str, tuple[int, int, int]] = {}
        self.max_power_w = max_power_w  # 0: no cap

    def _allowed_wh(self, elapsed_ms: int) -> float:
        return self.max_power_w * max(elapsed_ms, 0) / 3_600_000 + self._SLACK_WH

    def check(self, reading: Reading, boundary: SignedBoundary | None = None) -> Rejection | None:
        """None if ``reading`` continues its meter's series; else why not.

        A seq at or below the last one is reported as SEQ_NOT_INCREASING; the pipeline decides
        whether it is a harmless redelivery (already stored identically) or a replay.
        """
        last = self._last.get(reading.meter_id)
        if last is not None:
            seq, imp, exp, ts = last
            if reading.seq <= seq:
                return Rejection("SEQ_NOT_INCREASING", f"seq {reading.seq} <= last {seq}", reading.meter_id)
            if reading.import_kwh < imp - self._EPSILON_KWH or reading.export_kwh < exp - self._EPSILON_KWH:
                return Rejection(
                    "COUNTER_BACKWARDS",
                    f"import/export {reading.import_kwh}/{reading.export_kwh} kWh < last {imp}/{exp}",
                    reading.meter_id,
                )
            if self.max_power_w > 0:
                jump = max(reading.import_kwh - imp, reading.export_kwh - exp) * 1000
                allowed = self._allowed_wh(reading.ts_ms - ts)
                if jump > allowed:
                    return Rejection(
                        "IMPLAUSIBLE_ENERGY",
                        f"{jump:.0f} Wh in {(reading.ts_ms - ts) / 1000:.0f} s > cap {allowed:.0f} Wh"
                        f" ({self.max_power_w:.0f} W)",
                        reading.meter_id,
                    )
        if boundary is not None and self.max_power_w > 0:
            before = self._boundary.get(reading.meter_id)
            if before is not None and boundary.boundary_ms > before[0]:
                jump_wh = max(boundary.import_wh - before[1], boundary.export_wh - before[2])
                allowed = self._allowed_wh(boundary.boundary_ms - before[0])
                if jump_wh > allowed:
                    return Rejection(
                        "IMPLAUSIBLE_ENERGY",
                        f"signed registers rose {jump_wh} Wh between boundaries > cap {allowed:.0f} Wh",
                        reading.meter_id,
                    )
        return None

    def accept(self, reading: Reading, boundary: SignedBoundary | None = None) -> None:
        self._last[reading.meter_id] = (reading.seq, reading.import_kwh, reading.export_kwh, reading.ts_ms)
        if boundary is not None:
            self._boundary[reading.meter_id] = (boundary.boundary_ms, boundary.import_wh, boundary.export_wh)

    def knows(self, meter_id: str) -> bool:
        """True once a reading of ``meter_id`` was accepted by this tracker (this process)."""
        return meter_id in self._last

    def __len__(self) -> int:
        return len(self._last)
