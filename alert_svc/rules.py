"""Alert rules: validation of what a household sends (defaults filled in), storage form, and back."""

from __future__ import annotations

import math
from dataclasses import dataclass

from google.protobuf import json_format
from google.protobuf.message import Message

from alert_svc.prices import MICRO_RANGE, micro_shown, price_unit
from alert_svc.store import RuleRow
from common.errors import InvalidArgument
from common.timestamps import from_ms
from energypulse.alert.v1 import alert_pb2 as pb
from energypulse.errors.v1 import error_reason_pb2 as reasons

__all__ = ["Condition", "condition_of", "rule_message", "validated"]

Condition = (
    pb.PriceSpikeCondition | pb.CheapWindowCondition | pb.CapacityStepCondition | pb.MeterSilentCondition
)

_KINDS: dict[str, tuple[int, type[Message]]] = {
    "price_spike": (pb.ALERT_KIND_PRICE_SPIKE, pb.PriceSpikeCondition),
    "cheap_window": (pb.ALERT_KIND_CHEAP_WINDOW, pb.CheapWindowCondition),
    "capacity_step": (pb.ALERT_KIND_CAPACITY_STEP, pb.CapacityStepCondition),
    "meter_silent": (pb.ALERT_KIND_METER_SILENT, pb.MeterSilentCondition),
}
_FIELD_OF_KIND = {kind: name for name, (kind, _) in _KINDS.items()}
MAX_NAME = 80


def _bad(detail: str, field: str) -> InvalidArgument:
    # ErrorInfo metadata "field": the rule's field at fault (proto name, "condition" for none), so
    # a client words the problem itself instead of showing this English detail.
    return InvalidArgument(reasons.ALERT_INVALID_RULE, detail, {"field": field})


def _lookahead(value: int) -> int:
    hours = value or 24
    if not 1 <= hours <= 48:
        raise _bad(f"lookahead_hours must be 1-48, got {value}", "lookahead_hours")
    return hours


def _finite(value: float, name: str, low: float, high: float) -> float:
    if not math.isfinite(value) or not low <= value <= high:
        raise _bad(f"{name} must be between {low:g} and {high:g}, got {value}", name)
    return value


def _micro(value: int, name: str) -> int:
    low, high = MICRO_RANGE
    if not low <= value <= high:
        raise _bad(f"{name} must be between {low} and {high} (micro-units per kWh), got {value}", name)
    return value


def _conflict(detail: str) -> InvalidArgument:
    return InvalidArgument(reasons.ALERT_PRICE_THRESHOLD_CONFLICT, detail)


@dataclass(frozen=True)
class Validated:
    kind: int
    condition: Condition
    display_name: str


def validated(rule: pb.AlertRule, currency: str) -> Validated:
    """The rule with defaults filled in; ALERT_INVALID_RULE naming the first problem (a price in
    both units: ALERT_PRICE_THRESHOLD_CONFLICT). ``currency``: the installation's (names)."""
    which = rule.WhichOneof("condition")
    if which is None:
        raise _bad(
            "a rule needs one condition: priceSpike, cheapWindow, capacityStep or meterSilent", "condition"
        )
    name = rule.display_name.strip()
    if len(name) > MAX_NAME or any(ord(c) < 32 for c in name):
        raise _bad(f"display_name must be at most {MAX_NAME} printable characters", "display_name")
    condition: Condition
    if which == "price_spike":
        c = rule.price_spike
        condition = pb.PriceSpikeCondition(
            threshold_eur_mwh=_finite(c.threshold_eur_mwh, "threshold_eur_mwh", -500, 4000),
            min_probability=_finite(c.min_probability or 0.5, "min_probability", 0.01, 1),
            lookahead_hours=_lookahead(c.lookahead_hours),
        )
        if c.HasField("threshold_micro_per_kwh"):
            # 0 EUR/MWh is the unset value too: a micro threshold beside it is the only one given.
            if c.threshold_eur_mwh != 0:
                raise _conflict("give threshold_eur_mwh or threshold_micro_per_kwh, not both")
            condition.threshold_micro_per_kwh = _micro(c.threshold_micro_per_kwh, "threshold_micro_per_kwh")
            shown = micro_shown(condition.threshold_micro_per_kwh, currency)
            name = name or f"Price above {shown:g} {price_unit(currency)}"
        name = name or f"Price above {condition.threshold_eur_mwh:g} EUR/MWh"
    elif which == "cheap_window":
        w = rule.cheap_window
        if w.duration_minutes % 15 or not 15 <= w.duration_minutes <= 720:
            raise _bad(
                f"duration_minutes must be a multiple of 15 from 15 to 720, got {w.duration_minutes}",
                "duration_minutes",
            )
        condition = pb.CheapWindowCondition(
            duration_minutes=w.duration_minutes, lookahead_hours=_lookahead(w.lookahead_hours)
        )
        if w.HasField("max_price_eur_mwh") and w.HasField("max_price_micro_per_kwh"):
            raise _conflict("give max_price_eur_mwh or max_price_micro_per_kwh, not both")
        if w.HasField("max_price_eur_mwh"):
            condition.max_price_eur_mwh = _finite(w.max_price_eur_mwh, "max_price_eur_mwh", -500, 4000)
        if w.HasField("max_price_micro_per_kwh"):
            condition.max_price_micro_per_kwh = _micro(w.max_price_micro_per_kwh, "max_price_micro_per_kwh")
        if condition.duration_minutes > condition.lookahead_hours * 60:
            raise _bad("duration_minutes must fit in lookahead_hours", "duration_minutes")
        name = (
            name
            or f"Cheapest {condition.duration_minutes // 60}h{condition.duration_minutes % 60:02d} window"
        )
    elif which == "capacity_step":
        percent = rule.capacity_step.approach_percent or 90
        if not 50 <= percent <= 99:
            raise _bad(
                f"approach_percent must be 50-99, got {rule.capacity_step.approach_percent}",
                "approach_percent",
            )
        condition = pb.CapacityStepCondition(approach_percent=percent)
        name = name or f"Peak at {percent}% of the next capacity step"
    else:
        minutes = rule.meter_silent.silent_minutes or 30
        if not 5 <= minutes <= 10080:
            raise _bad(
                f"silent_minutes must be 5-10080, got {rule.meter_silent.silent_minutes}", "silent_minutes"
            )
        condition = pb.MeterSilentCondition(silent_minutes=minutes)
        name = name or f"No reading for {minutes} min"
    return Validated(_KINDS[which][0], condition, name)


def condition_of(row: RuleRow) -> Condition:
    cls = next(c for kind, c in _KINDS.values() if kind == row.kind)
    message = cls()
    json_format.Parse(row.condition_json, message)
    return message  # type: ignore[return-value]


def storage_json(condition: Condition) -> str:
    return json_format.MessageToJson(condition, indent=None, preserving_proto_field_name=True)


def rule_message(row: RuleRow) -> pb.AlertRule:
    rule = pb.AlertRule(
        rule_id=row.rule_id,
        household_id=row.household_id,
        kind=row.kind,  # type: ignore[arg-type]
        display_name=row.display_name,
        create_time=from_ms(row.create_ms),
    )
    getattr(rule, _FIELD_OF_KIND[row.kind]).CopyFrom(condition_of(row))
    return rule
