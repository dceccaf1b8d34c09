"""Canonical byte encoding of ledger records and the transaction hash (docs/ledger-spec.md §2-3).

The encoding is the contract a third party re-implements, so it is deliberately dull: a fixed
field order, fixed-width big-endian integers, u32-length-prefixed UTF-8 strings, no optional
fields and no floats. Money is micro-EUR, energy is Wh, instants are Unix milliseconds (UTC).
"""

from __future__ import annotations

import dataclasses
import hashlib
import operator
import struct
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, cast

from common.errors import FailedPrecondition, InvalidArgument
from contracts.mqtt.boundary import boundary_message, strong_public_key, verify_ed25519

__all__ = [
    "FORMAT_VERSION",
    "HASH_LEN",
    "HOUR_MS",
    "MAX_STRING_BYTES",
    "MAX_UNBILLED_SPAN_MS",
    "METER_VALUES_VERSION",
    "RECORD_MAGIC",
    "SALT_LEN",
    "SALT_OFFSET",
    "TX_MAGIC",
    "UNBILLED_REASONS",
    "ZERO_HASH",
    "Correction",
    "MeterKey",
    "MeterPeriod",
    "Prediction",
    "Record",
    "RecordKind",
    "Settlement",
    "SettlementV2",
    "SignedValue",
    "UnbilledPeriod",
    "chain_tx_hashes",
    "check_meter_signatures",
    "decode_record",
    "encode_record",
    "encode_records",
    "index_fields",
    "tx_hash",
    "validate_record",
]

RECORD_MAGIC = b"EPRC"
TX_MAGIC = b"EPTX"
FORMAT_VERSION = 1  # predictions, hourly settlements, and the transaction hash (§3)
METER_VALUES_VERSION = 2  # meter-signed settlements and meter-key records (§17)
SALT_LEN = 32
HASH_LEN = 32
ZERO_HASH = bytes(HASH_LEN)  # prev_tx_hash of the very first transaction
HOUR_MS = 3_600_000
MAX_STRING_BYTES = 256
_I64_MIN, _I64_MAX = -(2**63), 2**63 - 1


class RecordKind(IntEnum):
    PREDICTION = 1
    SETTLEMENT = 2
    METER_KEY = 4
    CORRECTION = 5
    UNBILLED_PERIOD = 6


# Every record starts magic, version byte, kind byte, salt (spec §2).
_KIND_OFFSET = len(RECORD_MAGIC) + 1
SALT_OFFSET = _KIND_OFFSET + 1
_I64 = struct.Struct(">q")
_U32 = struct.Struct(">I")
_TX_PREFIX = TX_MAGIC + bytes((FORMAT_VERSION,))


@dataclass(frozen=True, slots=True)
class Prediction:
    """A forecast for one hour: of one household, or (empty household) of a bidding zone."""

    salt: bytes
    household: str  # "" for a zone-level price forecast
    zone: str
    target_hour_ms: int
    price_p10_ueur_per_kwh: int
    price_p50_ueur_per_kwh: int
    price_p90_ueur_per_kwh: int
    consumption_wh: int
    cost_ueur: int
    model_version: str
    created_at_ms: int

    kind = RecordKind.PREDICTION

    @property
    def household_id(self) -> str | None:
        return self.household or None

    @property
    def hour_ms(self) -> int:
        return self.target_hour_ms


@dataclass(frozen=True, slots=True)
class Settlement:
    """What one household consumed and paid in one hour; the lines of its invoice."""

    salt: bytes
    household_id: str
    hour_ms: int
    metered_wh: int  # net import; negative when the household exported
    spot_price_ueur_per_kwh: int
    spot_cost_ueur: int
    grid_energy_cost_ueur: int
    capacity_cost_ueur: int
    standing_charge_ueur: int
    vat_ueur: int
    total_cost_ueur: int

    kind = RecordKind.SETTLEMENT
    version = FORMAT_VERSION


@dataclass(frozen=True, slots=True)
class SignedValue:
    """A meter's registers as it signed them at one boundary (contracts/mqtt/boundary.py)."""

    boundary_ms: int
    import_wh: int
    export_wh: int
    seq: int
    signature: bytes  # Ed25519, 64 bytes


@dataclass(frozen=True, slots=True)
class MeterPeriod:
    """One meter's signed values at both ends of a settlement period."""

    meter_id: str
    key_id: str
    start: SignedValue
    end: SignedValue

    @property
    def net_wh(self) -> int:
        return (self.end.import_wh - self.start.import_wh) - (self.end.export_wh - self.start.export_wh)


@dataclass(frozen=True, slots=True)
class SettlementV2:
    """Version 2: one settlement period of one household, from meter-signed register values."""

    salt: bytes
    household_id: str
    period_start_ms: int
    period_ms: int
    metered_wh: int  # the sum of the meters' signed net deltas
    spot_price_ueur_per_kwh: int  # price applied to the period (micro-units of currency / kWh)
    total_cost_ueur: int  # micro-units of ``currency``; the sum of ``components``
    currency: str  # "EUR" today; "" means EUR (older writers); NOK with the bill components
    components: tuple[tuple[str, int], ...]  # (name, amount in micro-units)
    meters: tuple[MeterPeriod, ...]

    kind = RecordKind.SETTLEMENT
    version = METER_VALUES_VERSION

    @property
    def hour_ms(self) -> int:  # the index column: the period start
        return self.period_start_ms


@dataclass(frozen=True, slots=True)
class MeterKey:
    """A meter's signing key as registered with ingest (version 2 only)."""

    salt: bytes
    household_id: str
    registered_ms: int
    meter_id: str
    key_id: str
    algorithm: str
    public_key: bytes

    kind = RecordKind.METER_KEY
    version = METER_VALUES_VERSION

    @property
    def hour_ms(self) -> int:  # the index column: when it was registered
        return self.registered_ms


@dataclass(frozen=True, slots=True)
class Correction:
    """An operator's correction of one billed period (version 2 only, spec §17.6): an amount on
    top of the period's settlement, which stays as it was; never energy."""

    salt: bytes
    household_id: str
    period_start_ms: int
    period_ms: int
    amount_ueur: int  # micro-units of ``currency``; negative credits the household, never zero
    currency: str  # three capital letters
    reason: str  # 1..256 UTF-8 bytes, not only white space
    operator: str  # the administrator, from the verified token (when: the transaction's time)

    kind = RecordKind.CORRECTION
    version = METER_VALUES_VERSION

    @property
    def hour_ms(self) -> int:  # the index column: the corrected period's start
        return self.period_start_ms


# Why a period was closed without a bill (spec §17.7); NOT_SETTLED is the invoice's word for a
# period the log says nothing about, so it is not one of them.
UNBILLED_REASONS = frozenset({"NOT_SIGNED", "NO_READINGS", "IMPLAUSIBLE_ENERGY"})
MAX_UNBILLED_SPAN_MS = 24 * HOUR_MS  # a run spans at most a day: an invoice reads a day back


@dataclass(frozen=True, slots=True)
class UnbilledPeriod:
    """A run of consecutive settlement periods of one household that the billing service closed
    without billing them, and why (version 2 only, spec §17.7)."""

    salt: bytes
    household_id: str
    period_start_ms: int  # the first period's start
    period_ms: int
    period_count: int  # >= 1; period_count * period_ms <= MAX_UNBILLED_SPAN_MS
    meter_id: str  # the meter that caused it, or ""
    reason: str  # one of UNBILLED_REASONS
    detail: str  # for people, at most 256 UTF-8 bytes, may be empty

    kind = RecordKind.UNBILLED_PERIOD
    version = METER_VALUES_VERSION

    @property
    def hour_ms(self) -> int:  # the index column: the run's first period start
        return self.period_start_ms

    @property
    def end_ms(self) -> int:
        return self.period_start_ms + self.period_ms * self.period_count


Record = Prediction | Settlement | SettlementV2 | MeterKey | Correction | UnbilledPeriod


def _head(version: int, kind: RecordKind) -> bytes:
    return RECORD_MAGIC + bytes((version, kind))


@dataclass(frozen=True, slots=True)
class _Run:
    """Consecutive fields of one wire type ("q" i64, "s" string, "b" byte string): a run of
    i64 packs with one struct, a string or a byte string stands alone."""

    code: str
    names: tuple[str, ...]
    write: Callable[[Any], bytes]  # the record to the run's bytes
    read: Callable[[_Reader], tuple[Any, ...]]  # the run's values, in order


@dataclass(frozen=True, slots=True)
class _Layout:
    """A record whose bytes are its head, salt and fields in one fixed order."""

    cls: Callable[..., Record]
    head: bytes
    runs: tuple[_Run, ...]


def _layout(cls: type, version: int, kind: RecordKind, fields: str) -> _Layout:
    """``fields``: "name:code" in canonical order, which must be the dataclass's order after salt
    (the decoder builds the record positionally)."""
    pairs = [field.split(":") for field in fields.split()]
    if ["salt", *(name for name, _code in pairs)] != [f.name for f in dataclasses.fields(cls)]:
        raise TypeError(f"{cls.__name__}: canonical field order is not the dataclass order")
    groups: list[tuple[str, list[str]]] = []
    for name, code in pairs:
        if code == "q" and groups and groups[-1][0] == "q":
            groups[-1][1].append(name)
        else:
            groups.append((code, [name]))
    return _Layout(cls, _head(version, kind), tuple(_run(code, tuple(names)) for code, names in groups))


def _run(code: str, names: tuple[str, ...]) -> _Run:
    if code == "q":
        pack = struct.Struct(">" + "q" * len(names))
        ints = operator.attrgetter(*names)  # a tuple for two names or more, else the value
        return _Run(
            code,
            names,
            (lambda r: pack.pack(*ints(r))) if len(names) > 1 else (lambda r: pack.pack(ints(r))),
            lambda reader: pack.unpack(reader.take(pack.size)),
        )
    value = operator.attrgetter(names[0])
    if code == "s":
        return _Run(code, names, lambda r: _str(value(r)), lambda reader: (reader.str(),))
    return _Run(code, names, lambda r: _blob(value(r)), lambda reader: (reader.bytes(names[0]),))


def _ints(layout: _Layout) -> tuple[str, ...]:
    return tuple(name for run in layout.runs if run.code == "q" for name in run.names)


# The records of one fixed layout (spec §2, §17): the one table both the encoder and the decoder
# walk. A version-2 settlement holds lists and is coded by hand (_encode, _decode_settlement_v2).
_LAYOUTS = (
    _layout(
        Prediction,
        FORMAT_VERSION,
        RecordKind.PREDICTION,
        "household:s zone:s target_hour_ms:q price_p10_ueur_per_kwh:q price_p50_ueur_per_kwh:q"
        " price_p90_ueur_per_kwh:q consumption_wh:q cost_ueur:q model_version:s created_at_ms:q",
    ),
    _layout(
        Settlement,
        FORMAT_VERSION,
        RecordKind.SETTLEMENT,
        "household_id:s hour_ms:q metered_wh:q spot_price_ueur_per_kwh:q spot_cost_ueur:q"
        " grid_energy_cost_ueur:q capacity_cost_ueur:q standing_charge_ueur:q vat_ueur:q total_cost_ueur:q",
    ),
    _layout(
        MeterKey,
        METER_VALUES_VERSION,
        RecordKind.METER_KEY,
        "household_id:s registered_ms:q meter_id:s key_id:s algorithm:s public_key:b",
    ),
    _layout(
        Correction,
        METER_VALUES_VERSION,
        RecordKind.CORRECTION,
        "household_id:s period_start_ms:q period_ms:q amount_ueur:q currency:s reason:s operator:s",
    ),
    _layout(
        UnbilledPeriod,
        METER_VALUES_VERSION,
        RecordKind.UNBILLED_PERIOD,
        "household_id:s period_start_ms:q period_ms:q period_count:q meter_id:s reason:s detail:s",
    ),
)
_BY_TYPE = {layout.cls: layout for layout in _LAYOUTS}
_BY_HEAD = {layout.head: layout for layout in _LAYOUTS}
_PREDICTION, _SETTLEMENT = _BY_TYPE[Prediction], _BY_TYPE[Settlement]
_SETTLEMENT_V2_HEAD = _head(METER_VALUES_VERSION, RecordKind.SETTLEMENT)
_PREDICTION_INTS_ALL, _SETTLEMENT_INTS = _ints(_PREDICTION), _ints(_SETTLEMENT)
_GET_PREDICTION_ALL = operator.attrgetter(*_PREDICTION_INTS_ALL)
_GET_SETTLEMENT = operator.attrgetter(*_SETTLEMENT_INTS)
_V2_PACK = struct.Struct(">qqqqq")  # period start, period length, metered Wh, price, total
_SIGNED_PACK = struct.Struct(">qqqq")  # boundary ms, import Wh, export Wh, seq (then 64-byte signature)
_MAX_BYTES_LEN = 64  # a byte-string field (a public key)
MAX_LIST_LEN = 64  # components or meters in one record


def _str(value: str) -> bytes:
    raw = value.encode("utf-8")
    return _U32.pack(len(raw)) + raw


def _blob(raw: bytes) -> bytes:
    return _U32.pack(len(raw)) + raw


def validate_record(record: Record, salt: bytes | None = None) -> None:
    """Reject records the encoding cannot represent or that make no sense as money/energy."""
    salt = record.salt if salt is None else salt
    if len(salt) != SALT_LEN:
        raise InvalidArgument("BAD_SALT", f"salt must be {SALT_LEN} bytes, got {len(salt)}")
    if isinstance(record, SettlementV2):
        _validate_v2(record)
        return
    if isinstance(record, MeterKey):
        _validate_key(record)
        return
    if isinstance(record, Correction):
        _validate_correction(record)
        return
    if isinstance(record, UnbilledPeriod):
        _validate_unbilled(record)
        return
    names = _PREDICTION_INTS_ALL if isinstance(record, Prediction) else _SETTLEMENT_INTS
    values = (_GET_PREDICTION_ALL if isinstance(record, Prediction) else _GET_SETTLEMENT)(record)
    if set(map(type, values)) != {int} or min(values) < _I64_MIN or max(values) > _I64_MAX:
        for name, value in zip(names, values, strict=False):
            if type(value) is not int or not _I64_MIN <= value <= _I64_MAX:
                raise InvalidArgument(
                    "FIELD_OUT_OF_RANGE", f"{name}={value!r} is not a signed 64-bit integer"
                )
    if record.hour_ms % HOUR_MS != 0:
        raise InvalidArgument("HOUR_NOT_ALIGNED", f"hour {record.hour_ms} ms is not on a UTC hour boundary")
    if isinstance(record, Prediction):
        if record.household:
            _check_string("household_id", record.household)
        _check_string("zone", record.zone)
        _check_string("model_version", record.model_version)
        if (
            not record.price_p10_ueur_per_kwh
            <= record.price_p50_ueur_per_kwh
            <= record.price_p90_ueur_per_kwh
        ):
            raise InvalidArgument("QUANTILES_NOT_ORDERED", "price interval must satisfy P10 <= P50 <= P90")
    else:
        _check_string("household_id", record.household_id)
        parts = (
            record.spot_cost_ueur
            + record.grid_energy_cost_ueur
            + record.capacity_cost_ueur
            + record.standing_charge_ueur
            + record.vat_ueur
        )
        if parts != record.total_cost_ueur:
            raise InvalidArgument(
                "COST_PARTS_MISMATCH",
                f"total cost {record.total_cost_ueur} != sum of tariff parts {parts} (micro-EUR)",
            )


def _check_i64(name: str, value: object) -> None:
    if type(value) is not int or not _I64_MIN <= value <= _I64_MAX:
        raise InvalidArgument("FIELD_OUT_OF_RANGE", f"{name}={value!r} is not a signed 64-bit integer")


def _validate_v2(r: SettlementV2) -> None:
    """Everything a version-2 settlement must satisfy on its own (signatures: with the keys,
    :func:`check_meter_signatures`)."""
    _check_string("household_id", r.household_id)
    for name in ("period_start_ms", "period_ms", "metered_wh", "spot_price_ueur_per_kwh", "total_cost_ueur"):
        _check_i64(name, getattr(r, name))
    if fault := _period_fault(r):
        raise InvalidArgument("BAD_SETTLEMENT_PERIOD", fault)
    if r.currency and not (len(r.currency) == 3 and r.currency.isascii() and r.currency.isupper()):
        raise InvalidArgument("BAD_CURRENCY", f"currency {r.currency[:16]!r} is not three capital letters")
    if len(r.components) > MAX_LIST_LEN or len(r.meters) > MAX_LIST_LEN:
        raise InvalidArgument("FIELD_TOO_LONG", f"at most {MAX_LIST_LEN} components and meters per record")
    names = set()
    for name, amount in r.components:
        _check_string("component name", name)
        _check_i64(f"component {name}", amount)
        if name in names:
            raise InvalidArgument("BAD_COMPONENT", f"component {name!r} appears twice")
        names.add(name)
    parts = sum(amount for _name, amount in r.components)
    if parts != r.total_cost_ueur:
        raise InvalidArgument(
            "COST_PARTS_MISMATCH",
            f"total cost {r.total_cost_ueur} != sum of components {parts} (micro-units)",
        )
    if not r.meters:
        raise InvalidArgument("SIGNED_VALUES_MISMATCH", "a version-2 settlement names at least one meter")
    end = r.period_start_ms + r.period_ms
    seen = set()
    for m in r.meters:
        _check_string("meter_id", m.meter_id)
        _check_string("key_id", m.key_id)
        if m.meter_id in seen:
            raise InvalidArgument("SIGNED_VALUES_MISMATCH", f"meter {m.meter_id!r} appears twice")
        seen.add(m.meter_id)
        for side, value in (("start", m.start), ("end", m.end)):
            for field in ("boundary_ms", "import_wh", "export_wh", "seq"):
                _check_i64(f"{m.meter_id}.{side}.{field}", getattr(value, field))
            if len(value.signature) != 64:
                raise InvalidArgument("BAD_METER_SIGNATURE", f"{m.meter_id}.{side} signature is not 64 bytes")
        if m.start.boundary_ms != r.period_start_ms or m.end.boundary_ms != end:
            raise InvalidArgument(
                "SIGNED_VALUES_MISMATCH",
                f"{m.meter_id}: signed at {m.start.boundary_ms}..{m.end.boundary_ms}, "
                f"period is {r.period_start_ms}..{end}",
            )
        if m.end.import_wh < m.start.import_wh or m.end.export_wh < m.start.export_wh:
            raise InvalidArgument("SIGNED_VALUES_MISMATCH", f"{m.meter_id}: a signed register goes backwards")
    signed = sum(m.net_wh for m in r.meters)
    if signed != r.metered_wh:
        raise InvalidArgument(
            "ENERGY_NOT_SIGNED", f"metered_wh {r.metered_wh} != signed register delta {signed} Wh"
        )


def _period_fault(r: SettlementV2 | Correction | UnbilledPeriod) -> str:
    """Why the record's period does not fit ("" if it does); the caller raises its kind's reason."""
    if not 60_000 <= r.period_ms <= HOUR_MS or HOUR_MS % r.period_ms or r.period_start_ms % r.period_ms:
        return f"period {r.period_ms} ms must divide an hour and start {r.period_start_ms} be aligned to it"
    return ""


def _validate_key(r: MeterKey) -> None:
    _check_string("household_id", r.household_id)
    _check_string("meter_id", r.meter_id)
    _check_i64("registered_ms", r.registered_ms)
    if r.algorithm != "ed25519" or len(r.public_key) != 32:
        raise InvalidArgument("BAD_METER_KEY", "a meter key is a 32-byte ed25519 public key")
    if r.key_id != hashlib.sha256(r.public_key).digest()[:16].hex():
        raise InvalidArgument("BAD_METER_KEY", f"key_id {r.key_id[:40]!r} is not the hash of the public key")
    if not strong_public_key(r.public_key):
        raise InvalidArgument(
            "BAD_METER_KEY", "a meter key must be a canonically encoded Ed25519 point not of small order"
        )


def _validate_correction(r: Correction) -> None:
    _check_string("household_id", r.household_id)
    for name in ("period_start_ms", "period_ms", "amount_ueur"):
        _check_i64(name, getattr(r, name))
    if fault := _period_fault(r):
        raise InvalidArgument("CORRECTION_INVALID", fault)
    if r.amount_ueur == 0:
        raise InvalidArgument("CORRECTION_INVALID", "a correction's amount is not zero")
    if not (len(r.currency) == 3 and r.currency.isascii() and r.currency.isupper()):
        raise InvalidArgument(
            "CORRECTION_INVALID", f"currency {r.currency[:16]!r} is not three capital letters"
        )
    if not isinstance(r.reason, str) or not r.reason.strip():
        raise InvalidArgument("CORRECTION_REASON_REQUIRED", "a correction needs a reason")
    for name, value in (("reason", r.reason), ("operator", r.operator)):
        if not isinstance(value, str) or not value or len(value.encode("utf-8")) > MAX_STRING_BYTES:
            raise InvalidArgument(
                "CORRECTION_REASON_TOO_LONG", f"a correction's {name} is 1 to {MAX_STRING_BYTES} UTF-8 bytes"
            )


def _validate_unbilled(r: UnbilledPeriod) -> None:
    _check_string("household_id", r.household_id)
    for name in ("period_start_ms", "period_ms", "period_count"):
        _check_i64(name, getattr(r, name))
    if fault := _period_fault(r):
        raise InvalidArgument("UNBILLED_PERIOD_INVALID", fault)
    if not 1 <= r.period_count <= MAX_UNBILLED_SPAN_MS // r.period_ms:
        raise InvalidArgument(
            "UNBILLED_PERIOD_INVALID", f"a run has 1 to {MAX_UNBILLED_SPAN_MS // r.period_ms} periods"
        )
    if r.reason not in UNBILLED_REASONS:
        raise InvalidArgument(
            "UNBILLED_PERIOD_INVALID", f"reason {r.reason[:32]!r} is not one of {sorted(UNBILLED_REASONS)}"
        )
    for name, value in (("meter_id", r.meter_id), ("detail", r.detail)):
        if not isinstance(value, str) or len(value.encode("utf-8")) > MAX_STRING_BYTES:
            raise InvalidArgument("FIELD_TOO_LONG", f"{name} is longer than {MAX_STRING_BYTES} UTF-8 bytes")


def check_meter_signatures(record: SettlementV2, keys: Mapping[tuple[str, str], bytes]) -> None:
    """Every signed value of ``record`` verifies with its meter's key; ``keys`` maps (meter id,
    key id) to the raw public key of the household's meter-key records."""
    for m in record.meters:
        public = keys.get((m.meter_id, m.key_id))
        if public is None:
            raise FailedPrecondition(
                "METER_KEY_NOT_RECORDED",
                f"no meter-key record of {record.household_id} holds key {m.key_id} of meter {m.meter_id}",
            )
        for side, value in (("start", m.start), ("end", m.end)):
            message = boundary_message(
                m.meter_id, value.boundary_ms, value.import_wh, value.export_wh, value.seq
            )
            # The strict check ingest makes (contracts/mqtt/boundary.py): no small-order key or R.
            if not verify_ed25519(public, value.signature, message):
                raise InvalidArgument(
                    "BAD_METER_SIGNATURE",
                    f"{m.meter_id} {side} value at {value.boundary_ms} does not verify with key {m.key_id}",
                )


def _check_string(name: str, value: str) -> None:
    if not isinstance(value, str) or not value:
        raise InvalidArgument("EMPTY_FIELD", f"{name} must be a non-empty string")
    if len(value.encode("utf-8")) > MAX_STRING_BYTES:
        raise InvalidArgument("FIELD_TOO_LONG", f"{name} is longer than {MAX_STRING_BYTES} UTF-8 bytes")


def encode_record(record: Record, salt: bytes | None = None) -> bytes:
    """The canonical bytes of ``record`` (spec §2), optionally with ``salt`` in place of its own.

    Validates first: never encodes garbage.
    """
    salt = record.salt if salt is None else salt
    validate_record(record, salt)
    return _encode(record, salt)


def encode_records(records: Sequence[Record], salts: Sequence[bytes]) -> list[bytes]:
    """:func:`encode_record` for a batch (``salts[i]`` in place of record i's own): the same bytes
    and, for a bad batch, the same error as validating record by record.

    Performance: an append is thousands of settlements, so they are validated column-wise in a
    few passes; any doubt falls back to the per-record checks, which name the first bad record.
    """
    if len(records) != len(salts):
        raise ValueError("one salt per record")
    if set(map(type, records)) == {Settlement}:
        settlements = cast("Sequence[Settlement]", records)
        if _settlements_valid(settlements, salts):
            # The layout's own runs, inlined: thousands of records per append.
            head, (household, ints) = _SETTLEMENT.head, (run.write for run in _SETTLEMENT.runs)
            return [head + salt + household(r) + ints(r) for r, salt in zip(settlements, salts, strict=True)]
    return [encode_record(r, s) for r, s in zip(records, salts, strict=True)]


def _settlements_valid(records: Sequence[Settlement], salts: Sequence[bytes]) -> bool:
    """True when every check of :func:`validate_record` passes for every record."""
    if any(len(salt) != SALT_LEN for salt in salts):
        return False
    columns = list(zip(*map(_GET_SETTLEMENT, records), strict=True))
    for column in columns:
        if set(map(type, column)) != {int} or min(column) < _I64_MIN or max(column) > _I64_MAX:
            return False
    hours, _wh, _price, spot, grid, capacity, standing, vat, total = columns
    if any(hour % HOUR_MS for hour in hours):
        return False
    if any(
        a + b + c + d + e != t
        for a, b, c, d, e, t in zip(spot, grid, capacity, standing, vat, total, strict=True)
    ):
        return False
    ids = [r.household_id for r in records]
    if set(map(type, ids)) != {str} or not all(ids):
        return False
    # A UTF-8 character is at most 4 bytes: only ids that long can be too long.
    return all(len(i.encode("utf-8")) <= MAX_STRING_BYTES for i in ids if len(i) > MAX_STRING_BYTES // 4)


def _value(v: SignedValue) -> bytes:
    return _SIGNED_PACK.pack(v.boundary_ms, v.import_wh, v.export_wh, v.seq) + v.signature


def _encode(record: Record, salt: bytes) -> bytes:
    if isinstance(record, SettlementV2):
        parts = [
            _SETTLEMENT_V2_HEAD,
            salt,
            _str(record.household_id),
            _V2_PACK.pack(
                record.period_start_ms,
                record.period_ms,
                record.metered_wh,
                record.spot_price_ueur_per_kwh,
                record.total_cost_ueur,
            ),
            _str(record.currency),
            _U32.pack(len(record.components)),
        ]
        for name, amount in record.components:
            parts += (_str(name), _I64.pack(amount))
        parts.append(_U32.pack(len(record.meters)))
        for m in record.meters:
            parts += (_str(m.meter_id), _str(m.key_id), _value(m.start), _value(m.end))
        return b"".join(parts)
    layout = _BY_TYPE[type(record)]
    return layout.head + salt + b"".join([run.write(record) for run in layout.runs])


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise InvalidArgument("MALFORMED_RECORD", "record ends early")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def i64(self) -> int:
        return int(_I64.unpack(self.take(8))[0])

    def count(self) -> int:
        (n,) = _U32.unpack(self.take(4))
        if n > MAX_LIST_LEN:
            raise InvalidArgument("MALFORMED_RECORD", "list longer than allowed")
        return int(n)

    def bytes(self, name: str) -> bytes:
        (n,) = _U32.unpack(self.take(4))
        if n > _MAX_BYTES_LEN:
            raise InvalidArgument("MALFORMED_RECORD", f"{name.replace('_', ' ')} longer than allowed")
        return self.take(n)

    def signed(self) -> SignedValue:
        t, imp, exp, seq = _SIGNED_PACK.unpack(self.take(_SIGNED_PACK.size))
        return SignedValue(t, imp, exp, seq, self.take(64))

    def str(self) -> str:
        (n,) = _U32.unpack(self.take(4))
        if n > MAX_STRING_BYTES:
            raise InvalidArgument("MALFORMED_RECORD", "string longer than allowed")
        try:
            return self.take(n).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidArgument("MALFORMED_RECORD", "string is not UTF-8") from exc


def decode_record(data: bytes, validate: bool = True) -> Record:
    """Parse canonical bytes; strict: trailing bytes or a non-canonical form are rejected.

    ``validate=False`` skips the semantic checks (cost parts, quantile order...): stored records
    are read back that way so a tampered row can still be shown and flagged, not crash the read.
    """
    r = _Reader(data)
    if r.take(4) != RECORD_MAGIC:
        raise InvalidArgument("MALFORMED_RECORD", "bad record magic")
    version, kind = r.take(2)
    if version not in (FORMAT_VERSION, METER_VALUES_VERSION):
        raise InvalidArgument("MALFORMED_RECORD", f"unknown record version {version}")
    salt = r.take(SALT_LEN)
    record: Record
    layout = _BY_HEAD.get(data[: _KIND_OFFSET + 1])
    if layout is not None:
        record = layout.cls(salt, *(value for run in layout.runs for value in run.read(r)))
    elif version == METER_VALUES_VERSION and kind == RecordKind.SETTLEMENT:
        record = _decode_settlement_v2(r, salt)
    else:
        which = "version-2 record kind" if version == METER_VALUES_VERSION else "record kind"
        raise InvalidArgument("MALFORMED_RECORD", f"unknown {which} {kind}")
    if r.pos != len(data):
        raise InvalidArgument("MALFORMED_RECORD", "trailing bytes after record")
    if validate:
        validate_record(record)
    if _encode(record, record.salt) != data:
        raise InvalidArgument("MALFORMED_RECORD", "record is not in canonical form")
    return record


def _decode_settlement_v2(r: _Reader, salt: bytes) -> SettlementV2:
    household = r.str()
    start, period, wh, price, total = _V2_PACK.unpack(r.take(_V2_PACK.size))
    currency = r.str()
    components = tuple((r.str(), r.i64()) for _ in range(r.count()))
    meters = []
    for _ in range(r.count()):
        meter_id, key = r.str(), r.str()
        start_v, end_v = r.signed(), r.signed()
        meters.append(MeterPeriod(meter_id, key, start_v, end_v))
    return SettlementV2(salt, household, start, period, wh, price, total, currency, components, tuple(meters))


def tx_hash(record_bytes: bytes, appended_at_ms: int, prev_tx_hash: bytes) -> bytes:
    """SHA-256("EPTX" || 0x01 || i64 appended_at_ms || u32 len(record) || record || prev_tx_hash) (§3)."""
    if len(prev_tx_hash) != HASH_LEN:
        raise InvalidArgument("BAD_HASH", "previous transaction hash must be 32 bytes")
    return hashlib.sha256(
        _TX_PREFIX + _I64.pack(appended_at_ms) + _U32.pack(len(record_bytes)) + record_bytes + prev_tx_hash
    ).digest()


def chain_tx_hashes(records: Sequence[bytes], appended_at_ms: int, prev_tx_hash: bytes) -> list[bytes]:
    """:func:`tx_hash` of each record in turn, each chained to the one before (one append)."""
    if len(prev_tx_hash) != HASH_LEN:
        raise InvalidArgument("BAD_HASH", "previous transaction hash must be 32 bytes")
    prefix, length, sha256 = _TX_PREFIX + _I64.pack(appended_at_ms), _U32.pack, hashlib.sha256
    out = []
    prev = prev_tx_hash
    for record in records:
        prev = sha256(prefix + length(len(record)) + record + prev).digest()
        out.append(prev)
    return out


def index_fields(record_bytes: bytes) -> tuple[int, str | None, int]:
    """(kind, household id or None, hour ms) read straight from canonical bytes.

    Chain verification uses this to re-derive the stored query columns for millions of rows;
    it parses only the prefix it needs (the hash already covers the rest).
    """
    try:
        kind = record_bytes[_KIND_OFFSET]
        pos = SALT_OFFSET + SALT_LEN
        (n,) = _U32.unpack_from(record_bytes, pos)
        household = record_bytes[pos + 4 : pos + 4 + n].decode("utf-8")
        pos += 4 + n
        if kind == RecordKind.PREDICTION:  # skip the zone
            (n,) = _U32.unpack_from(record_bytes, pos)
            pos += 4 + n
        (hour,) = _I64.unpack_from(record_bytes, pos)
    except (IndexError, struct.error, UnicodeDecodeError) as exc:
        raise InvalidArgument("MALFORMED_RECORD", "record too short for its index fields") from exc
    return kind, household or None, int(hour)
