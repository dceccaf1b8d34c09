"""Operator corrections (spec §17.6): the CORRECTION record's vectors and rules, and the ledger's
refusal of a correction of a period it has not billed; the corrected settlement stays as it was."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from common.errors import EnergyPulseError
from ledger_svc.canonical import HOUR_MS, Correction, decode_record, encode_record, index_fields
from ledger_svc.convert import record_from_proto, record_to_proto
from ledger_svc.ledger import Ledger
from ledger_svc.vectors import v2_correction, v2_records
from tests.ledger_svc.ledger_records import settlement

VECTORS = json.loads(
    (Path(__file__).resolve().parents[2] / "docs/ledger-test-vectors.json").read_text("utf-8")
)["format_version_2"]["correction"]


def _reason(record: Correction) -> str:
    with pytest.raises(EnergyPulseError) as exc:
        encode_record(record)
    return exc.value.reason


def test_the_correction_vector_reencodes_decodes_and_survives_the_proto() -> None:
    record = v2_correction()
    body = encode_record(record)
    assert body.hex() == VECTORS["transaction"]["canonical_hex"]
    assert decode_record(body) == record
    assert index_fields(body) == (5, "hh-0001", record.period_start_ms)
    assert record_from_proto(record_to_proto(record)) == dataclasses.replace(record, salt=b"")


def test_the_refused_vectors_are_refused_with_their_reason() -> None:
    for case in VECTORS["refused"]:
        fields = {k: v for k, v in case["record"].items() if k not in ("kind", "format_version")}
        fields["salt"] = bytes.fromhex(fields["salt"])
        assert _reason(Correction(**fields)) == case["reason"], case["why"]


def test_a_correction_needs_a_reason_an_operator_and_a_real_period() -> None:
    good = v2_correction()
    assert _reason(dataclasses.replace(good, reason="")) == "CORRECTION_REASON_REQUIRED"
    assert _reason(dataclasses.replace(good, operator="")) == "CORRECTION_REASON_TOO_LONG"
    assert _reason(dataclasses.replace(good, operator="a" * 257)) == "CORRECTION_REASON_TOO_LONG"
    assert _reason(dataclasses.replace(good, period_ms=7 * 60_000)) == "CORRECTION_INVALID"
    assert _reason(dataclasses.replace(good, currency="eur")) == "CORRECTION_INVALID"
    assert len(encode_record(dataclasses.replace(good, reason="ø" * 128))) > 0  # 256 bytes: the bound


def test_the_ledger_appends_a_correction_of_a_billed_period_and_keeps_the_line(ledger: Ledger) -> None:
    line = settlement("hh-1", hour=2)
    [billed] = ledger.append([line]).receipts
    correction = Correction(b"", "hh-1", line.hour_ms, HOUR_MS, -25_000, "EUR", "wrong tariff", "admin")
    [fixed] = ledger.append([correction], request_id="correction:1").receipts
    stored = ledger.get_transaction(leaf_index=fixed.leaf_index).record
    assert dataclasses.replace(stored, salt=b"") == correction
    assert ledger.get_transaction(leaf_index=billed.leaf_index).record == dataclasses.replace(
        line, salt=billed.salt
    )
    month = (line.hour_ms - HOUR_MS * 24, line.hour_ms + HOUR_MS * 24)
    assert [t.leaf_index for t in ledger.household_corrections("hh-1", *month)] == [fixed.leaf_index]
    assert [t.leaf_index for t in ledger.household_settlements("hh-1", *month)] == [billed.leaf_index]
    # The same request again is a replay, not a second correction.
    again = ledger.append([correction], request_id="correction:1")
    assert again.replayed and again.receipts[0].tx_hash == fixed.tx_hash


def test_the_ledger_refuses_a_correction_of_a_period_it_has_not_billed(ledger: Ledger) -> None:
    line = settlement("hh-1", hour=2)
    ledger.append([line])
    base = Correction(b"", "hh-1", line.hour_ms, HOUR_MS, 1_000, "EUR", "late fee", "admin")
    for wrong in (
        dataclasses.replace(base, period_start_ms=line.hour_ms + HOUR_MS),  # another hour
        dataclasses.replace(base, household_id="hh-2"),  # another household
        dataclasses.replace(base, period_ms=900_000),  # a quarter of a billed hour
        dataclasses.replace(base, currency="NOK"),  # another currency
    ):
        with pytest.raises(EnergyPulseError) as exc:
            ledger.append([wrong])
        assert exc.value.reason == "CORRECTION_PERIOD_NOT_BILLED"
    assert ledger.tree_size() == 1


def test_a_meter_signed_quarter_hour_can_be_corrected(ledger: Ledger) -> None:
    key, first, _second = v2_records()
    ledger.append([key, first])
    [fixed] = ledger.append([dataclasses.replace(v2_correction(), salt=b"")]).receipts
    assert fixed.leaf_index == 2
