"""Record format version 2: meter-signed quarter-hour settlements and meter-key records (spec §16)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from common.errors import EnergyPulseError
from ledger_svc.canonical import (
    MeterKey,
    MeterPeriod,
    SettlementV2,
    SignedValue,
    decode_record,
    encode_record,
    index_fields,
)
from ledger_svc.convert import record_from_proto, record_to_proto
from ledger_svc.invoices import Missing, coverage, month_bounds_ms
from ledger_svc.ledger import Ledger
from ledger_svc.vectors import v2_records
from tests.ledger_svc.ledger_records import settlement

VECTORS = json.loads(
    (Path(__file__).resolve().parents[2] / "docs/ledger-test-vectors.json").read_text("utf-8")
)


def _reason(exc: pytest.ExceptionInfo[EnergyPulseError]) -> str:
    return exc.value.reason


def _records() -> tuple[MeterKey, SettlementV2, SettlementV2]:
    key, first, second = v2_records()
    assert isinstance(key, MeterKey) and isinstance(first, SettlementV2) and isinstance(second, SettlementV2)
    return key, first, second


def test_v2_vectors_reencode_and_decode() -> None:
    for tx, record in zip(VECTORS["format_version_2"]["transactions"], v2_records(), strict=True):
        body = encode_record(record)
        assert body.hex() == tx["canonical_hex"]
        assert decode_record(body) == record
        kind, household, hour = index_fields(body)
        assert (kind, household, hour) == (int(record.kind), record.household_id, record.hour_ms)


def test_v2_records_survive_the_proto_round_trip() -> None:
    for record in v2_records():
        back = record_from_proto(record_to_proto(record))
        assert dataclasses.replace(back, salt=record.salt) == record


def test_the_periods_chain() -> None:
    _key, first, second = _records()
    assert first.meters[0].end == second.meters[0].start  # each period starts where the last ended


def test_energy_other_than_the_signed_delta_is_refused() -> None:
    _key, first, _second = _records()
    with pytest.raises(EnergyPulseError) as exc:
        encode_record(dataclasses.replace(first, metered_wh=first.metered_wh + 1000))
    assert _reason(exc) == "ENERGY_NOT_SIGNED"


def test_values_not_at_the_period_boundaries_are_refused() -> None:
    _key, first, second = _records()
    with pytest.raises(EnergyPulseError) as exc:
        encode_record(dataclasses.replace(first, meters=second.meters))
    assert _reason(exc) == "SIGNED_VALUES_MISMATCH"
    with pytest.raises(EnergyPulseError) as exc:
        encode_record(dataclasses.replace(first, period_ms=7 * 60_000))
    assert _reason(exc) == "BAD_SETTLEMENT_PERIOD"
    with pytest.raises(EnergyPulseError) as exc:
        encode_record(dataclasses.replace(first, total_cost_ueur=first.total_cost_ueur + 1))
    assert _reason(exc) == "COST_PARTS_MISMATCH"


def test_ledger_appends_signed_periods_after_their_key(ledger: Ledger) -> None:
    key, first, second = _records()
    ledger.append([key])
    receipts = ledger.append([first, second]).receipts
    stored = [ledger.get_transaction(leaf_index=r.leaf_index).record for r in receipts]
    assert [dataclasses.replace(s, salt=b"") for s in stored] == [
        dataclasses.replace(r, salt=b"") for r in (first, second)
    ]
    assert [t.record.key_id for t in ledger.household_meter_keys("hh-0001")] == [key.key_id]  # type: ignore[union-attr]


def test_ledger_refuses_a_settlement_whose_key_is_not_on_the_log(ledger: Ledger) -> None:
    _key, first, _second = _records()
    with pytest.raises(EnergyPulseError) as exc:
        ledger.append([first])
    assert _reason(exc) == "METER_KEY_NOT_RECORDED"
    assert ledger.tree_size() == 0


def test_ledger_refuses_values_the_meter_did_not_sign(ledger: Ledger) -> None:
    key, first, _second = _records()
    ledger.append([key])
    m = first.meters[0]
    forged_end = SignedValue(
        m.end.boundary_ms, m.end.import_wh + 5000, m.end.export_wh, m.end.seq, m.end.signature
    )
    forged = dataclasses.replace(
        first,
        metered_wh=first.metered_wh + 5000,
        meters=(MeterPeriod(m.meter_id, m.key_id, m.start, forged_end),),
    )
    with pytest.raises(EnergyPulseError) as exc:
        ledger.append([forged])
    assert _reason(exc) == "BAD_METER_SIGNATURE"
    # A key registered for another household does not sign this one's values.
    other = dataclasses.replace(key, household_id="hh-other")
    with pytest.raises(EnergyPulseError) as exc:
        ledger.append([other, dataclasses.replace(first, household_id="hh-third")])
    assert _reason(exc) == "METER_KEY_NOT_RECORDED"
    assert ledger.tree_size() == 1


def test_refused_vectors_are_refused() -> None:
    from ledger_svc.canonical import check_meter_signatures

    key, first, _second = _records()
    for case in VECTORS["format_version_2"]["refused"]:
        r: dict[str, Any] = case["record"]
        m = r["meters"][0]

        def value(v: dict[str, Any]) -> SignedValue:
            return SignedValue(
                v["boundary_ms"], v["import_wh"], v["export_wh"], v["seq"], bytes.fromhex(v["signature_hex"])
            )

        record = dataclasses.replace(
            first,
            metered_wh=r["metered_wh"],
            meters=(MeterPeriod(m["meter_id"], m["key_id"], value(m["start"]), value(m["end"])),),
        )
        with pytest.raises(EnergyPulseError) as exc:
            encode_record(record)
            check_meter_signatures(record, {(key.meter_id, key.key_id): key.public_key})
        assert _reason(exc) == case["reason"]


def test_coverage_lists_every_period_not_settled() -> None:
    from zoneinfo import ZoneInfo

    from ledger_svc.reads import StoredTx

    key, first, second = _records()
    start, end = month_bounds_ms("2026-01", ZoneInfo("UTC"))

    def tx(record: object) -> StoredTx:
        return StoredTx(0, b"", b"", 0, b"", record, None, None)  # type: ignore[arg-type]

    c = coverage([tx(first), tx(second)], start, end)
    assert c.period_ms == 900_000 and c.expected == 31 * 96 and c.covered == 2 and not c.legacy
    assert len(c.missing) == 31 * 96 - 2 and c.missing[0] == Missing(start + 2 * 900_000, "NOT_SETTLED")
    legacy = coverage([tx(settlement("hh-0001", hour=h)) for h in range(24)], start, end)
    assert legacy.legacy and legacy.period_ms == 3_600_000 and legacy.expected == 744 and legacy.covered == 24
    assert key.kind == 4


def test_a_key_that_verifies_any_signature_is_refused(ledger: Ledger) -> None:
    """A small-order public key (here the identity point) 'verifies' R = identity, S = 0 for any
    message under a cofactorless check, as bare OpenSSL does: registering one would let whoever
    writes settlements bill energy no meter signed. The ledger refuses the key record, and a
    signature under such a key (a record of a log written before this check) does not verify."""
    from contracts.mqtt.boundary import key_id as meter_key_id
    from ledger_svc.canonical import check_meter_signatures

    key, first, _second = _records()
    weak = (1).to_bytes(32, "little")
    forged_key = dataclasses.replace(key, public_key=weak, key_id=meter_key_id(weak))
    with pytest.raises(EnergyPulseError) as exc:
        ledger.append([forged_key])
    assert _reason(exc) == "BAD_METER_KEY"
    assert ledger.tree_size() == 0
    m = first.meters[0]
    anything = weak + bytes(32)
    forged = dataclasses.replace(
        first,
        meters=(
            MeterPeriod(
                m.meter_id,
                forged_key.key_id,
                dataclasses.replace(m.start, signature=anything),
                dataclasses.replace(m.end, signature=anything),
            ),
        ),
    )
    with pytest.raises(EnergyPulseError) as exc:
        check_meter_signatures(forged, {(m.meter_id, forged_key.key_id): weak})
    assert _reason(exc) == "BAD_METER_SIGNATURE"
