"""The MQTT contract files: topic layout and dead-letter reasons, and the docs that cite them."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from contracts.mqtt.dead_letters import DEAD_LETTER_REASONS
from contracts.mqtt.topics import (
    CONSUMER_MARKERS,
    READINGS_FILTER,
    STATUS_FILTERS,
    StatusTopic,
    consumer_marker_topic,
    gateway_status_topic,
    parse_reading_topic,
    parse_status_topic,
    reading_topic,
    status_topic,
)

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "telemetry-payload.md").read_text()


def test_topics_round_trip() -> None:
    assert reading_topic("m-1") == "energy/meters/m-1"
    assert parse_reading_topic(reading_topic("m-1")) == "m-1"
    assert parse_reading_topic(status_topic("m-1")) is None
    assert parse_reading_topic("energy/other/m-1") is None
    assert parse_status_topic(status_topic("m-1")) == StatusTopic("meter", "m-1")
    assert parse_status_topic(gateway_status_topic("gw.0")) == StatusTopic("gateway", "gw.0")
    assert parse_status_topic("energy/meters/bad id/status") is None
    assert consumer_marker_topic("ingest-a") == "energy/ingest/ingest-a/subscribed"


def test_filters_match_the_documented_layout() -> None:
    assert READINGS_FILTER == "energy/meters/+"
    assert STATUS_FILTERS == ("energy/meters/+/status", "energy/gateways/+/status")
    assert CONSUMER_MARKERS == "energy/ingest/+/subscribed"
    rows = re.findall(r"^\| `(energy/[^`]+)`", DOC, re.MULTILINE)
    assert rows == [
        reading_topic("<meter_id>"),
        status_topic("<meter_id>"),
        gateway_status_topic("<gateway_id>"),
        consumer_marker_topic("<client_id>"),
    ]


def test_docs_list_exactly_the_contract_reasons() -> None:
    section = DOC[DOC.index("## Dead letters") : DOC.index("A reading whose `seq`")]
    assert re.findall(r"`([A-Z][A-Z_]+)`", section) == list(DEAD_LETTER_REASONS)


def test_every_reason_ingest_dead_letters_is_in_the_contract() -> None:
    # Reasons are string literals in ingest_svc/intake: every UPPER_SNAKE one that reaches a dead
    # letter must be a contract reason. SEQ_NOT_INCREASING is the sequence tracker's verdict,
    # which the pipeline turns into a duplicate or SEQ_REPLAYED, never stored as such.
    internal = {"SEQ_NOT_INCREASING"}
    literals = set()
    for path in (ROOT / "ingest_svc" / "intake").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("Rejection", "DeadLetter"):
                literals |= {
                    a.value
                    for a in node.args
                    if isinstance(a, ast.Constant)
                    and isinstance(a.value, str)
                    and re.fullmatch(r"[A-Z_]+", a.value)
                }
    assert literals - internal <= set(DEAD_LETTER_REASONS)
    assert set(DEAD_LETTER_REASONS) <= literals  # none documented that nothing produces
