"""Conversions between the protobuf contract and the ledger's domain types."""

from __future__ import annotations

import base64

from common import timestamps
from common.errors import InvalidArgument
from energypulse.errors.v1 import error_reason_pb2 as reasons
from energypulse.ledger.v1 import record_pb2
from ledger_svc.canonical import (
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


def record_from_proto(msg: record_pb2.Record) -> Record:
    """A domain record with an empty salt (the ledger draws a fresh one)."""
    which = msg.WhichOneof("content")
    if which == "prediction":
        p = msg.prediction
        if not p.HasField("target_hour") or not p.HasField("create_time"):
            raise InvalidArgument(reasons.MISSING_FIELD, "prediction needs target_hour and create_time")
        return Prediction(
            b"",
            p.household_id,
            p.zone,
            timestamps.to_exact_ms(p.target_hour, "target_hour"),
            p.price_p10_micro_eur_per_kwh,
            p.price_p50_micro_eur_per_kwh,
            p.price_p90_micro_eur_per_kwh,
            p.consumption_wh,
            p.cost_micro_eur,
            p.model_version,
            timestamps.to_exact_ms(p.create_time, "create_time"),
        )
    if which == "meter_key":
        k = msg.meter_key
        if not k.HasField("register_time"):
            raise InvalidArgument(reasons.MISSING_FIELD, "meter_key needs register_time")
        return MeterKey(
            b"",
            k.household_id,
            timestamps.to_exact_ms(k.register_time, "register_time"),
            k.meter_id,
            k.key_id,
            k.algorithm,
            bytes(k.public_key),
        )
    if which == "correction":
        c = msg.correction
        if not c.HasField("period_start"):
            raise InvalidArgument(reasons.MISSING_FIELD, "correction needs period_start")
        if not 60 <= c.period_seconds <= 3600:
            raise InvalidArgument(reasons.CORRECTION_INVALID, "period_seconds must divide an hour")
        return Correction(
            b"",
            c.household_id,
            timestamps.to_exact_ms(c.period_start, "period_start"),
            c.period_seconds * 1000,
            c.amount_micro,
            c.currency,
            c.reason,
            c.operator,
        )
    if which == "unbilled_period":
        u = msg.unbilled_period
        if not u.HasField("period_start"):
            raise InvalidArgument(reasons.MISSING_FIELD, "unbilled_period needs period_start")
        if not 60 <= u.period_seconds <= 3600:
            raise InvalidArgument(reasons.UNBILLED_PERIOD_INVALID, "period_seconds must divide an hour")
        return UnbilledPeriod(
            b"",
            u.household_id,
            timestamps.to_exact_ms(u.period_start, "period_start"),
            u.period_seconds * 1000,
            u.period_count,
            u.meter_id,
            u.reason,
            u.detail,
        )
    if which == "settlement" and msg.settlement.format_version == METER_VALUES_VERSION:
        return _settlement_v2(msg.settlement)
    if which == "settlement":
        s = msg.settlement
        if s.format_version not in (0, 1):
            raise InvalidArgument(reasons.MALFORMED_RECORD, f"unknown settlement version {s.format_version}")
        if not s.HasField("hour_start"):
            raise InvalidArgument(reasons.MISSING_FIELD, "settlement needs hour_start")
        return Settlement(
            b"",
            s.household_id,
            timestamps.to_exact_ms(s.hour_start, "hour_start"),
            s.metered_wh,
            s.spot_price_micro_eur_per_kwh,
            s.spot_cost_micro_eur,
            s.grid_energy_cost_micro_eur,
            s.capacity_cost_micro_eur,
            s.standing_charge_micro_eur,
            s.vat_micro_eur,
            s.total_cost_micro_eur,
        )
    raise InvalidArgument(reasons.EMPTY_RECORD, "a record must hold a prediction or a settlement")


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
    if isinstance(r, UnbilledPeriod):
        return record_pb2.Record(
            unbilled_period=record_pb2.UnbilledPeriodRecord(
                household_id=r.household_id,
                meter_id=r.meter_id,
                period_start=timestamps.from_ms(r.period_start_ms),
                period_seconds=r.period_ms // 1000,
                period_count=r.period_count,
                reason=r.reason,
                detail=r.detail,
            )
        )
    if isinstance(r, Correction):
        return record_pb2.Record(
            correction=record_pb2.CorrectionRecord(
                household_id=r.household_id,
                period_start=timestamps.from_ms(r.period_start_ms),
                period_seconds=r.period_ms // 1000,
                amount_micro=r.amount_ueur,
                currency=r.currency,
                reason=r.reason,
                operator=r.operator,
            )
        )
    if isinstance(r, MeterKey):
        return record_pb2.Record(
            meter_key=record_pb2.MeterKeyRecord(
                household_id=r.household_id,
                meter_id=r.meter_id,
                key_id=r.key_id,
                algorithm=r.algorithm,
                public_key=r.public_key,
                register_time=timestamps.from_ms(r.registered_ms),
            )
        )
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
    if isinstance(r, Prediction):
        return record_pb2.Record(
            prediction=record_pb2.PredictionRecord(
                household_id=r.household,
                zone=r.zone,
                target_hour=timestamps.from_ms(r.target_hour_ms),
                price_p10_micro_eur_per_kwh=r.price_p10_ueur_per_kwh,
                price_p50_micro_eur_per_kwh=r.price_p50_ueur_per_kwh,
                price_p90_micro_eur_per_kwh=r.price_p90_ueur_per_kwh,
                consumption_wh=r.consumption_wh,
                cost_micro_eur=r.cost_ueur,
                model_version=r.model_version,
                create_time=timestamps.from_ms(r.created_at_ms),
            )
        )
    return record_pb2.Record(
        settlement=record_pb2.SettlementRecord(
            household_id=r.household_id,
            format_version=1,
            hour_start=timestamps.from_ms(r.hour_ms),
            metered_wh=r.metered_wh,
            spot_price_micro_eur_per_kwh=r.spot_price_ueur_per_kwh,
            spot_cost_micro_eur=r.spot_cost_ueur,
            grid_energy_cost_micro_eur=r.grid_energy_cost_ueur,
            capacity_cost_micro_eur=r.capacity_cost_ueur,
            standing_charge_micro_eur=r.standing_charge_ueur,
            vat_micro_eur=r.vat_ueur,
            total_cost_micro_eur=r.total_cost_ueur,
        )
    )


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
