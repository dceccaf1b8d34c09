"""The reading and status payloads (contract: reading.schema.json); topics are in topics.py."""

from __future__ import annotations

from pathlib import Path
from typing import TypedDict

import orjson

__all__ = ["SCHEMA_PATH", "PropertySchema", "ReadingSchema", "encode_reading", "encode_status", "load_schema"]

SCHEMA_PATH = Path(__file__).resolve().parent / "reading.schema.json"

# The JSON Schema keywords reading.schema.json uses (functional form: some keys are not identifiers).
PropertySchema = TypedDict(
    "PropertySchema",
    {
        "description": str,
        "type": str,
        "const": int,
        "pattern": str,
        "minimum": float,
        "maximum": float,
        "x-unit": str,
        # The object-valued property (boundary): its own properties and required ones.
        "additionalProperties": bool,
        "required": list[str],
        "properties": dict[str, dict[str, object]],
    },
    total=False,
)
ReadingSchema = TypedDict(
    "ReadingSchema",
    {
        "$schema": str,
        "$id": str,
        "title": str,
        "description": str,
        "type": str,
        "additionalProperties": bool,
        "required": list[str],
        "properties": dict[str, PropertySchema],
        "x-max-payload-bytes": int,
        "x-ingest-rules": dict[str, object],
    },
    total=False,
)


def load_schema() -> ReadingSchema:
    schema: ReadingSchema = orjson.loads(SCHEMA_PATH.read_bytes())
    return schema


def encode_reading(
    meter_id: str,
    seq: int,
    ts_ms: int,
    voltage_v: float,
    current_a: float,
    power_w: float,
    power_factor: float,
    import_kwh: float,
    export_kwh: float,
    boundary: dict[str, object] | None = None,
) -> bytes:
    # Fixed resolutions: 0.1 V, 1 mA, 0.1 W, 0.001 PF, 1 Wh. Rounding a monotonic series keeps it
    # monotonic, so the cumulative counters stay non-decreasing on the wire. ``boundary``: the
    # signed register values (contracts/mqtt/boundary.py), on the first reading of a period.
    doc: dict[str, object] = {
        "v": 1,
        "meter_id": meter_id,
        "seq": seq,
        "ts_ms": ts_ms,
        "voltage_v": round(voltage_v, 1),
        "current_a": round(current_a, 3),
        "power_w": round(power_w, 1),
        "power_factor": round(power_factor, 3),
        "import_kwh": round(import_kwh, 3),
        "export_kwh": round(export_kwh, 3),
    }
    if boundary is not None:
        doc["boundary"] = boundary
    return orjson.dumps(doc)


def encode_status(status: str, gateway_id: str, ts_ms: int) -> bytes:
    return orjson.dumps({"status": status, "gateway": gateway_id, "ts_ms": ts_ms})
