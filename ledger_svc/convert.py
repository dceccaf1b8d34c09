"""Conversions between the protobuf contract and the ledger's domain types."""

from __future__ import annotations

import base64
import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn

from google.protobuf.message import Message

from common import timestamps
from common.errors import InvalidArgument
from energypulse.errors.v1 import error_reason_pb2 as reasons
from energypulse.ledger.v1 import record_pb2
from ledger_svc.canonical import (
    FORMAT_VERSION,
    METER_VALUES_VERSION,
    Correction,
    MeterKey,
    MeterPeriod,
    Prediction,
    Record,
    RecordKind,
    Settlement,
    SettlementV2,
    SignedValue,
    UnbilledPeriod,
)
from ledger_svc.reads import Block, StoredTx
from ledger_svc.signing import SignedTreeHead
from ledger_svc.writes import Receipt

__all__ = [
    "block_to_proto",
    "head_to_proto",
    "parse_hash",
    "receipt_to_proto",
    "record_from_proto",
    "record_to_proto",
    "tx_to_proto",
]


def parse_hash(value: str, field: str = "tx_hash") -> bytes:
    try:
        raw = bytes.fromhex(value)
    except ValueError as exc:
        raise InvalidArgument(reasons.BAD_HASH, f"{field} must be 64 lowercase hex characters") from exc
    if len(raw) != 32:
        raise InvalidArgument(reasons.BAD_HASH, f"{field} must be 64 lowercase hex characters")
    return raw


@dataclass(frozen=True, slots=True)
class _Kind:
    """How one record kind of fixed fields maps to its protobuf message."""

    cls: Callable[..., Record]
    oneof: str  # the field of Record's ``content`` that holds it
    message: Callable[..., Message]
    protos: tuple[str, ...]  # the proto fields, in the dataclass's order
    domain: Callable[[Any], tuple[Any, ...]]  # the record's values, in that order
    proto: Callable[[Any], tuple[Any, ...]]  # the message's values, in that order
    times: tuple[int, ...]  # indexes of Timestamp <-> ms fields (required)
    periods: tuple[int, ...]  # indexes of period_seconds <-> ms fields (must divide an hour)
    bad_period: Callable[[str], NoReturn]  # raises the kind's reason for a period that does not fit
    constants: tuple[tuple[str, int], ...]  # proto fields the domain type implies


# One raise per reason, each with its reason written out (tests/common/test_error_reasons.py reads
# the reasons raised from the source).
def _bad_correction_period(detail: str) -> NoReturn:
    raise InvalidArgument(reasons.CORRECTION_INVALID, detail)


def _bad_unbilled_period(detail: str) -> NoReturn:
    raise InvalidArgument(reasons.UNBILLED_PERIOD_INVALID, detail)


def _no_period(detail: str) -> NoReturn:
    raise AssertionError(f"a kind without period fields checked a period: {detail}")


def _kind(
    cls: Callable[..., Record],
    oneof: str,
    message: Callable[..., Message],
    spec: str,
    bad_period: Callable[[str], NoReturn] | None = None,
    constants: tuple[tuple[str, int], ...] = (),
) -> _Kind:
    """``spec``: items "attr=proto:how" in the dataclass's order after salt, ``=proto`` where the
    names differ, ``:time`` or ``:seconds`` where the value converts."""
    attrs, protos, hows = [], [], []
    for item in spec.split():
        names, _, how = item.partition(":")
        attr, _, proto = names.partition("=")
        attrs.append(attr)
        protos.append(proto or attr)
        hows.append(how)
    return _Kind(
        cls,
        oneof,
        message,
        tuple(protos),
        operator.attrgetter(*attrs),
        operator.attrgetter(*protos),
        tuple(i for i, how in enumerate(hows) if how == "time"),
        tuple(i for i, how in enumerate(hows) if how == "seconds"),
        bad_period or _no_period,
        constants,
    )


# The record kinds of fixed fields: one table drives both directions (each spec names two or
# more fields, so attrgetter gives a tuple). A version-2 settlement holds lists and shares the
# settlement field with version 1: converted by hand below.
_BY_TYPE = {
    kind.cls: kind
    for kind in (
        _kind(
            Prediction,
            "prediction",
            record_pb2.PredictionRecord,
            (
                "household=household_id zone target_hour_ms=target_hour:time"
                " price_p10_ueur_per_kwh=price_p10_micro_eur_per_kwh"
                " price_p50_ueur_per_kwh=price_p50_micro_eur_per_kwh"
                " price_p90_ueur_per_kwh=price_p90_micro_eur_per_kwh"
                " consumption_wh cost_ueur=cost_micro_eur model_version created_at_ms=create_time:time"
            ),
        ),
        _kind(
            MeterKey,
            "meter_key",
            record_pb2.MeterKeyRecord,
            "household_id registered_ms=register_time:time meter_id key_id algorithm public_key",
        ),
        _kind(
            Correction,
            "correction",
            record_pb2.CorrectionRecord,
            (
                "household_id period_start_ms=period_start:time period_ms=period_seconds:seconds"
                " amount_ueur=amount_micro currency reason operator"
            ),
            bad_period=_bad_correction_period,
        ),
        _kind(
            UnbilledPeriod,
            "unbilled_period",
            record_pb2.UnbilledPeriodRecord,
            (
                "household_id period_start_ms=period_start:time period_ms=period_seconds:seconds"
                " period_count meter_id reason detail"
            ),
            bad_period=_bad_unbilled_period,
        ),
        _kind(
            Settlement,
            "settlement",
            record_pb2.SettlementRecord,
            (
                "household_id hour_ms=hour_start:time metered_wh"
                " spot_price_ueur_per_kwh=spot_price_micro_eur_per_kwh spot_cost_ueur=spot_cost_micro_eur"
                " grid_energy_cost_ueur=grid_energy_cost_micro_eur capacity_cost_ueur=capacity_cost_micro_eur"
                " standing_charge_ueur=standing_charge_micro_eur vat_ueur=vat_micro_eur"
                " total_cost_ueur=total_cost_micro_eur"
            ),
            constants=(("format_version", FORMAT_VERSION),),
        ),
    )
}
_BY_ONEOF = {kind.oneof: kind for kind in _BY_TYPE.values()}


def record_from_proto(msg: record_pb2.Record) -> Record:
    """A domain record with an empty salt (the ledger draws a fresh one)."""
    which = msg.WhichOneof("content")
    if which == "settlement":
        version = msg.settlement.format_version
        if version == METER_VALUES_VERSION:
            return _settlement_v2(msg.settlement)
        if version not in (0, FORMAT_VERSION):
            raise InvalidArgument(reasons.MALFORMED_RECORD, f"unknown settlement version {version}")
    kind = _BY_ONEOF.get(which or "")
    if kind is None:
        raise InvalidArgument(reasons.EMPTY_RECORD, "a record must hold a prediction or a settlement")
    content = getattr(msg, kind.oneof)
    if not all(content.HasField(kind.protos[i]) for i in kind.times):
        needs = " and ".join(kind.protos[i] for i in kind.times)
        raise InvalidArgument(reasons.MISSING_FIELD, f"{kind.oneof} needs {needs}")
    values = list(kind.proto(content))
    for i in kind.periods:
        if not 60 <= values[i] <= 3600:
            kind.bad_period(f"{kind.protos[i]} must divide an hour")
        values[i] *= 1000
    for i in kind.times:
        values[i] = timestamps.to_exact_ms(values[i], kind.protos[i])
    return kind.cls(b"", *values)


def _signed_from_proto(v: record_pb2.SignedRegisterValue, where: str) -> SignedValue:
    if not v.HasField("boundary_time"):
        raise InvalidArgument(reasons.MISSING_FIELD, f"{where} needs boundary_time")
    return SignedValue(
        timestamps.to_exact_ms(v.boundary_time, "boundary_time"),
        v.import_wh,
        v.export_wh,
        v.seq,
        bytes(v.signature),
    )


def _settlement_v2(s: record_pb2.SettlementRecord) -> SettlementV2:
    if not s.HasField("period_start"):
        raise InvalidArgument(reasons.MISSING_FIELD, "a version-2 settlement needs period_start")
    meters = []
    for m in s.meter_periods:
        if not m.HasField("start") or not m.HasField("end"):
            raise InvalidArgument(reasons.MISSING_FIELD, f"meter {m.meter_id!r} needs start and end values")
        meters.append(
            MeterPeriod(
                m.meter_id, m.key_id, _signed_from_proto(m.start, "start"), _signed_from_proto(m.end, "end")
            )
        )
    if not -(2**63) // 1000 <= s.period_seconds <= (2**63 - 1) // 1000:
        raise InvalidArgument(reasons.BAD_SETTLEMENT_PERIOD, "period_seconds out of range")
    return SettlementV2(
        b"",
        s.household_id,
        timestamps.to_exact_ms(s.period_start, "period_start"),
        s.period_seconds * 1000,
        s.metered_wh,
        s.spot_price_micro_eur_per_kwh,
        s.total_cost_micro_eur,
        s.currency,
        tuple((c.name, c.amount_micro) for c in s.components),
        tuple(meters),
    )


def _signed_to_proto(v: SignedValue) -> record_pb2.SignedRegisterValue:
    return record_pb2.SignedRegisterValue(
        boundary_time=timestamps.from_ms(v.boundary_ms),
        import_wh=v.import_wh,
        export_wh=v.export_wh,
        seq=v.seq,
        signature=v.signature,
    )


def record_to_proto(r: Record) -> record_pb2.Record:
    if isinstance(r, SettlementV2):
        return record_pb2.Record(
            settlement=record_pb2.SettlementRecord(
                household_id=r.household_id,
                format_version=METER_VALUES_VERSION,
                period_start=timestamps.from_ms(r.period_start_ms),
                period_seconds=r.period_ms // 1000,
                metered_wh=r.metered_wh,
                spot_price_micro_eur_per_kwh=r.spot_price_ueur_per_kwh,
                total_cost_micro_eur=r.total_cost_ueur,
                currency=r.currency,
                components=[record_pb2.CostComponent(name=n, amount_micro=a) for n, a in r.components],
                meter_periods=[
                    record_pb2.SignedMeterPeriod(
                        meter_id=m.meter_id,
                        key_id=m.key_id,
                        start=_signed_to_proto(m.start),
                        end=_signed_to_proto(m.end),
                    )
                    for m in r.meters
                ],
            )
        )
    kind = _BY_TYPE[type(r)]
    values = list(kind.domain(r))
    for i in kind.periods:
        values[i] //= 1000
    for i in kind.times:
        values[i] = timestamps.from_ms(values[i])
    fields = dict(kind.constants) | dict(zip(kind.protos, values, strict=True))
    content: dict[str, Any] = {kind.oneof: kind.message(**fields)}
    return record_pb2.Record(**content)


_KINDS = {
    RecordKind.PREDICTION: record_pb2.RECORD_KIND_PREDICTION,
    RecordKind.SETTLEMENT: record_pb2.RECORD_KIND_SETTLEMENT,
    RecordKind.METER_KEY: record_pb2.RECORD_KIND_METER_KEY,
    RecordKind.CORRECTION: record_pb2.RECORD_KIND_CORRECTION,
    RecordKind.UNBILLED_PERIOD: record_pb2.RECORD_KIND_UNBILLED_PERIOD,
}


def tx_to_proto(tx: StoredTx, show_content: bool) -> record_pb2.Transaction:
    msg = record_pb2.Transaction(
        tx_hash=tx.tx_hash.hex(),
        prev_tx_hash=tx.prev_tx_hash.hex(),
        leaf_index=tx.leaf_index,
        block_height=-1 if tx.block_height is None else tx.block_height,
        index_in_block=tx.index_in_block or 0,
        kind=_KINDS[tx.record.kind],
        household_id=tx.record.household_id or "",
        append_time=timestamps.from_ms(tx.appended_at_ms),
    )
    if show_content:
        msg.record.CopyFrom(record_to_proto(tx.record))
        msg.salt = tx.record.salt.hex()
    return msg


def block_to_proto(b: Block) -> record_pb2.Block:
    return record_pb2.Block(
        height=b.height,
        prev_block_hash=b.prev_block_hash.hex(),
        merkle_root=b.merkle_root.hex(),
        tx_count=b.tx_count,
        first_leaf_index=b.first_tx_index,
        seal_time=timestamps.from_ms(b.sealed_at_ms),
        block_hash=b.block_hash.hex(),
    )


def receipt_to_proto(r: Receipt) -> record_pb2.Receipt:
    return record_pb2.Receipt(
        tx_hash=r.tx_hash.hex(),
        leaf_index=r.leaf_index,
        block_height=-1 if r.block_height is None else r.block_height,
    )


def head_to_proto(sth: SignedTreeHead) -> record_pb2.SignedTreeHead:
    return record_pb2.SignedTreeHead(
        tree_size=sth.head.tree_size,
        root_hash=sth.head.root_hash.hex(),
        timestamp=timestamps.from_ms(sth.head.timestamp_ms),
        signature=base64.b64encode(sth.signature).decode(),
        key_id=sth.head.log_id.hex(),
    )
