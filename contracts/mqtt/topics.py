"""The MQTT topic layout (contract: topics.json), for publishers and subscribers alike."""

from __future__ import annotations

import re
from pathlib import Path
from typing import NamedTuple, TypedDict, cast

import orjson

__all__ = [
    "CONSUMER_MARKERS",
    "READINGS_FILTER",
    "STATUS_FILTERS",
    "TOPICS_PATH",
    "StatusTopic",
    "consumer_marker_topic",
    "gateway_status_topic",
    "parse_reading_topic",
    "parse_status_topic",
    "reading_topic",
    "status_topic",
]

TOPICS_PATH = Path(__file__).resolve().parent / "topics.json"


class _TopicsFile(TypedDict):
    id_pattern: str
    topics: dict[str, str]


_DOC = cast(_TopicsFile, orjson.loads(TOPICS_PATH.read_bytes()))
_LAYOUT: dict[str, str] = _DOC["topics"]
_ID = _DOC["id_pattern"].removeprefix("^").removesuffix("$")
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _filter(template: str) -> str:
    return _PLACEHOLDER.sub("+", template)


def _matcher(template: str) -> re.Pattern[str]:
    parts = _PLACEHOLDER.split(template)  # literal, name, literal, ...
    return re.compile(
        "^" + "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>{_ID})" for i, p in enumerate(parts)) + "$"
    )


READINGS_FILTER = _filter(_LAYOUT["reading"])
"""Subscription filter of every meter's readings (``energy/meters/+``)."""
STATUS_FILTERS = (_filter(_LAYOUT["meter_status"]), _filter(_LAYOUT["gateway_status"]))
"""Subscription filters of the retained meter and gateway statuses."""
CONSUMER_MARKERS = _filter(_LAYOUT["consumer_marker"])
"""Subscription filter of every consumer's retained "subscribed" marker."""

_METER_STATUS = _matcher(_LAYOUT["meter_status"])
_GATEWAY_STATUS = _matcher(_LAYOUT["gateway_status"])


class StatusTopic(NamedTuple):
    kind: str  # "meter" | "gateway"
    device_id: str


def reading_topic(meter_id: str) -> str:
    return _LAYOUT["reading"].format(meter_id=meter_id)


def status_topic(meter_id: str) -> str:
    """Retained per-meter status (see docs/telemetry-payload.md for how it tracks the connection)."""
    return _LAYOUT["meter_status"].format(meter_id=meter_id)


def gateway_status_topic(gateway_id: str) -> str:
    """Retained status of one simulator connection; its MQTT last will sets it offline."""
    return _LAYOUT["gateway_status"].format(gateway_id=gateway_id)


def consumer_marker_topic(client_id: str) -> str:
    """Retained "I am subscribed" marker of one consumer (ingest replica)."""
    return _LAYOUT["consumer_marker"].format(client_id=client_id)


def parse_reading_topic(topic: str) -> str | None:
    """The meter id of a reading topic; None for any other topic (ids are not checked here:
    a bad id in a payload is the schema's INVALID_FORMAT, not an INVALID_TOPIC)."""
    prefix, _, rest = _LAYOUT["reading"].partition("{meter_id}")
    if rest or not topic.startswith(prefix) or "/" in topic[len(prefix) :]:
        return None
    return topic[len(prefix) :]


def parse_status_topic(topic: str) -> StatusTopic | None:
    """(kind, id) of a meter or gateway status topic; None for any other topic."""
    if match := _METER_STATUS.match(topic):
        return StatusTopic("meter", match.group("meter_id"))
    if match := _GATEWAY_STATUS.match(topic):
        return StatusTopic("gateway", match.group("gateway_id"))
    return None
