"""Canonical byte encoding of ledger records and the transaction hash (docs/ledger-spec.md §2-3).

The encoding is the contract a third party re-implements, so it is deliberately dull: a fixed
field order, fixed-width big-endian integers, u32-length-prefixed UTF-8 strings, no optional
fields and no floats. Money is micro-EUR, energy is Wh, instants are Unix milliseconds (UTC).
"""

from __future__ import annotations

import hashlib
import operator
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import cast

from common.errors import InvalidArgument

__all__ = [
    "FORMAT_VERSION",
    "HASH_LEN",
    "HOUR_MS",
    "RECORD_MAGIC",
    "SALT_LEN",
    "SALT_OFFSET",
    "TX_MAGIC",
    "ZERO_HASH",
    "Prediction",
    "Record",
    "RecordKind",
    "Settlement",
    "chain_tx_hashes",
    "decode_record",
    "encode_record",
    "encode_records",
    "index_fields",
    "tx_hash",
    "validate_record",
]

RECORD_MAGIC = b"EPRC"
TX_MAGIC = b"EPTX"
FORMAT_VERSION = 1
SALT_LEN = 32
HASH_LEN = 32
ZERO_HASH = bytes(HASH_LEN)  # prev_tx_hash of the very first transaction
HOUR_MS = 3_600_000
MAX_STRING_BYTES = 256
_I64_MIN, _I64_MAX = -(2**63), 2**63 - 1


class RecordKind(IntEnum):
    PREDICTION = 1
    SETTLEMENT = 2


_HEAD = {kind: RECORD_MAGIC + bytes((FORMAT_VERSION, kind)) for kind in RecordKind}
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


Record = Prediction | Settlement

_PREDICTION_INTS = (
    "target_hour_ms",
    "price_p10_ueur_per_kwh",
    "price_p50_ueur_per_kwh",
    "price_p90_ueur_per_kwh",
    "consumption_wh",
    "cost_ueur",
)
_SETTLEMENT_INTS = (
    "hour_ms",
    "metered_wh",
    "spot_price_ueur_per_kwh",
    "spot_cost_ueur",
    "grid_energy_cost_ueur",
    "capacity_cost_ueur",
    "standing_charge_ueur",
    "vat_ueur",
    "total_cost_ueur",
)
_PREDICTION_INTS_ALL = (*_PREDICTION_INTS, "created_at_ms")
_PREDICTION_PACK = struct.Struct(">" + "q" * len(_PREDICTION_INTS))
_SETTLEMENT_PACK = struct.Struct(">" + "q" * len(_SETTLEMENT_INTS))
_GET_PREDICTION = operator.attrgetter(*_PREDICTION_INTS)
_GET_PREDICTION_ALL = operator.attrgetter(*_PREDICTION_INTS_ALL)
_GET_SETTLEMENT = operator.attrgetter(*_SETTLEMENT_INTS)


def _str(value: str) -> bytes:
    raw = value.encode("utf-8")
    return _U32.pack(len(raw)) + raw


def validate_record(record: Record, salt: bytes | None = None) -> None:
    """Reject records the encoding cannot represent or that make no sense as money/energy."""
    salt = record.salt if salt is None else salt
    if len(salt) != SALT_LEN:
        raise InvalidArgument("BAD_SALT", f"salt must be {SALT_LEN} bytes, got {len(salt)}")
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
            head, pack, fields = _HEAD[RecordKind.SETTLEMENT], _SETTLEMENT_PACK.pack, _GET_SETTLEMENT
            return [
                head + salt + _str(r.household_id) + pack(*fields(r))
                for r, salt in zip(settlements, salts, strict=True)
            ]
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


def _encode(record: Record, salt: bytes) -> bytes:
    head = _HEAD[record.kind] + salt
    if isinstance(record, Prediction):
        return b"".join(
            (
                head,
                _str(record.household),
                _str(record.zone),
                _PREDICTION_PACK.pack(*_GET_PREDICTION(record)),
                _str(record.model_version),
                _I64.pack(record.created_at_ms),
            )
        )
    return b"".join((head, _str(record.household_id), _SETTLEMENT_PACK.pack(*_GET_SETTLEMENT(record))))


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
    if version != FORMAT_VERSION:
        raise InvalidArgument("MALFORMED_RECORD", f"unknown record version {version}")
    salt = r.take(SALT_LEN)
    record: Record
    if kind == RecordKind.PREDICTION:
        household, zone = r.str(), r.str()
        hour, p10, p50, p90, wh, cost = (r.i64() for _ in _PREDICTION_INTS)
        record = Prediction(salt, household, zone, hour, p10, p50, p90, wh, cost, r.str(), r.i64())
    elif kind == RecordKind.SETTLEMENT:
        household = r.str()
        record = Settlement(salt, household, *(r.i64() for _ in _SETTLEMENT_INTS))
    else:
        raise InvalidArgument("MALFORMED_RECORD", f"unknown record kind {kind}")
    if r.pos != len(data):
        raise InvalidArgument("MALFORMED_RECORD", "trailing bytes after record")
    if validate:
        validate_record(record)
    if _encode(record, record.salt) != data:
        raise InvalidArgument("MALFORMED_RECORD", "record is not in canonical form")
    return record


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
