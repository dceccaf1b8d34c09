"""Canonical encoding: hand-assembled bytes per the spec, strict decoding, validation, vectors."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import struct
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from common.errors import InvalidArgument
from ledger_svc.canonical import (
    ZERO_HASH,
    Prediction,
    Settlement,
    chain_tx_hashes,
    decode_record,
    encode_record,
    encode_records,
    index_fields,
    tx_hash,
)
from ledger_svc.vectors import build_vectors
from tests.ledger_svc.ledger_records import prediction, settlement

DOCS = Path(__file__).resolve().parents[2] / "docs"
SALT = bytes(range(100, 132))


def _s(text: str) -> bytes:
    raw = text.encode()
    return struct.pack(">I", len(raw)) + raw


def test_settlement_bytes_follow_the_spec_layout() -> None:
    r = settlement("hh-7", hour=3, wh=1500, salt=SALT)
    ints = [
        r.hour_ms,
        1500,
        r.spot_price_ueur_per_kwh,
        r.spot_cost_ueur,
        r.grid_energy_cost_ueur,
        r.capacity_cost_ueur,
        r.standing_charge_ueur,
        r.vat_ueur,
        r.total_cost_ueur,
    ]
    expected = b"EPRC\x01\x02" + SALT + _s("hh-7") + b"".join(struct.pack(">q", v) for v in ints)
    assert encode_record(r) == expected


def test_prediction_bytes_follow_the_spec_layout() -> None:
    r = prediction(household="", zone="NO1", hour=2, salt=SALT)
    ints = [r.target_hour_ms, 60_000, 85_000, 120_000, 900, 76_500]
    expected = (
        b"EPRC\x01\x01"
        + SALT
        + _s("")
        + _s("NO1")
        + b"".join(struct.pack(">q", v) for v in ints)
        + _s("lgbm-2026.01")
        + struct.pack(">q", r.created_at_ms)
    )
    assert encode_record(r) == expected
    assert r.household_id is None


def test_tx_hash_is_length_prefixed_and_chained() -> None:
    body = encode_record(settlement(salt=SALT))
    expected = hashlib.sha256(b"EPTX\x01" + struct.pack(">qI", 42, len(body)) + body + ZERO_HASH).digest()
    assert tx_hash(body, 42, ZERO_HASH) == expected
    assert tx_hash(body, 42, expected) != expected
    assert tx_hash(body, 43, ZERO_HASH) != expected


def test_round_trip_and_index_fields() -> None:
    for r in (settlement("hh-ø", salt=SALT), prediction("hh-1", salt=SALT), prediction("", salt=SALT)):
        body = encode_record(r)
        assert decode_record(body) == r
        assert index_fields(body) == (int(r.kind), r.household_id, r.hour_ms)


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        (dataclasses.replace(settlement(salt=SALT), total_cost_ueur=1), "COST_PARTS_MISMATCH"),
        (dataclasses.replace(settlement(salt=SALT), hour_ms=1), "HOUR_NOT_ALIGNED"),
        (dataclasses.replace(settlement(salt=SALT), household_id=""), "EMPTY_FIELD"),
        (dataclasses.replace(settlement(salt=SALT), household_id="x" * 300), "FIELD_TOO_LONG"),
        (dataclasses.replace(settlement(salt=SALT), metered_wh=2**63), "FIELD_OUT_OF_RANGE"),
        (dataclasses.replace(settlement(salt=SALT), salt=b"short"), "BAD_SALT"),
        (dataclasses.replace(prediction(salt=SALT), price_p10_ueur_per_kwh=10**9), "QUANTILES_NOT_ORDERED"),
        (dataclasses.replace(prediction(salt=SALT), zone=""), "EMPTY_FIELD"),
        (dataclasses.replace(prediction(salt=SALT), model_version=""), "EMPTY_FIELD"),
    ],
)
def test_invalid_records_are_refused_with_a_reason(record: Settlement | Prediction, reason: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        encode_record(record)
    assert err.value.reason == reason


def test_batch_encoding_equals_record_by_record() -> None:
    salts = [bytes([i]) * 32 for i in range(40)]
    settlements = [settlement(f"hh-{i}", hour=i, wh=i * 37 - 500) for i in range(39)]
    settlements.append(dataclasses.replace(settlement(), household_id="é" * 64))  # 128 bytes
    assert encode_records(settlements, salts) == [
        encode_record(r, s) for r, s in zip(settlements, salts, strict=True)
    ]
    mixed = [*settlements[:20], prediction(salt=SALT), *settlements[20:39]]
    assert encode_records(mixed, salts) == [encode_record(r, s) for r, s in zip(mixed, salts, strict=True)]


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (dataclasses.replace(settlement(), total_cost_ueur=1), "COST_PARTS_MISMATCH"),
        (dataclasses.replace(settlement(), hour_ms=1), "HOUR_NOT_ALIGNED"),
        (dataclasses.replace(settlement(), household_id=""), "EMPTY_FIELD"),
        (dataclasses.replace(settlement(), household_id="é" * 129), "FIELD_TOO_LONG"),  # 258 bytes
        (dataclasses.replace(settlement(), metered_wh=2**63), "FIELD_OUT_OF_RANGE"),
        (dataclasses.replace(settlement(), metered_wh=-(2**63) - 1), "FIELD_OUT_OF_RANGE"),
        (dataclasses.replace(settlement(), metered_wh=True), "FIELD_OUT_OF_RANGE"),
        (dataclasses.replace(settlement(), metered_wh=1.0), "FIELD_OUT_OF_RANGE"),
    ],
)
def test_batch_encoding_refuses_what_record_by_record_refuses(bad: Settlement, reason: str) -> None:
    """The column-wise checks of a batch never let through what validate_record refuses."""
    batch = [settlement("hh-1"), bad, settlement("hh-2")]
    with pytest.raises(InvalidArgument) as err:
        encode_records(batch, [SALT] * 3)
    assert err.value.reason == reason
    with pytest.raises(InvalidArgument) as err:
        encode_records([settlement("hh-1")], [b"short"])
    assert err.value.reason == "BAD_SALT"


def test_chained_hashes_equal_tx_hash_in_turn() -> None:
    bodies = [encode_record(settlement(f"hh-{i}"), SALT) for i in range(5)]
    prev, expected = bytes(range(32)), []
    for body in bodies:
        prev = tx_hash(body, 1_767_225_600_123, prev)
        expected.append(prev)
    assert chain_tx_hashes(bodies, 1_767_225_600_123, bytes(range(32))) == expected
    with pytest.raises(InvalidArgument):
        chain_tx_hashes(bodies, 0, b"short")


@pytest.mark.parametrize(
    "mutate",
    [
        lambda b: b + b"\x00",  # trailing byte
        lambda b: b[:-1],  # truncated
        lambda b: b"EPRX" + b[4:],  # magic
        lambda b: b[:4] + b"\x02" + b[5:],  # version
        lambda b: b[:5] + b"\x09" + b[6:],  # kind
    ],
)
def test_decoder_is_strict(mutate) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidArgument) as err:
        decode_record(mutate(encode_record(settlement(salt=SALT))))
    assert err.value.reason == "MALFORMED_RECORD"


@given(
    household=st.text(min_size=1, max_size=40),
    hour=st.integers(-100_000, 100_000),
    wh=st.integers(-(10**9), 10**9),
    parts=st.lists(st.integers(-(10**12), 10**12), min_size=5, max_size=5),
    price=st.integers(-(10**9), 10**9),
    salt=st.binary(min_size=32, max_size=32),
)
def test_settlement_round_trip_property(
    household: str, hour: int, wh: int, parts: list[int], price: int, salt: bytes
) -> None:
    r = Settlement(salt, household, hour * 3_600_000, wh, price, *parts, sum(parts))
    body = encode_record(r)
    assert decode_record(body) == r
    assert index_fields(body) == (2, household, hour * 3_600_000)


def test_published_vectors_file_is_current() -> None:
    on_disk = json.loads((DOCS / "ledger-test-vectors.json").read_text(encoding="utf-8"))
    assert on_disk == build_vectors()


def test_vectors_reencode_from_their_fields() -> None:
    vectors = build_vectors()
    prev = ZERO_HASH
    for tx in vectors["transactions"]:
        fields = dict(tx["record"])
        kind = fields.pop("kind")
        fields["salt"] = bytes.fromhex(fields["salt"])
        if kind == "PREDICTION":
            fields["household"] = fields.pop("household_id")
            record: Prediction | Settlement = Prediction(**fields)
        else:
            record = Settlement(**fields)
        body = encode_record(record)
        assert body.hex() == tx["canonical_hex"]
        assert tx_hash(body, tx["appended_at_ms"], prev).hex() == tx["tx_hash"]
        prev = bytes.fromhex(tx["tx_hash"])
