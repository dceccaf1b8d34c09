"""Unbilled-period records (spec §17.7): the vector and rules, the ledger's refusal of one that
overlaps a billed period, that only the billing service appends them, and the invoice giving
each missing period the reason on the log (NOT_SETTLED where the log says nothing)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from common import timestamps
from common.errors import EnergyPulseError, error_info
from energypulse.ledger.v1 import ledger_service_pb2 as pb
from ledger_svc.canonical import (
    HOUR_MS,
    SettlementV2,
    UnbilledPeriod,
    decode_record,
    encode_record,
    index_fields,
)
from ledger_svc.convert import record_from_proto, record_to_proto
from ledger_svc.invoices import NOT_SETTLED, coverage, month_bounds_ms
from ledger_svc.ledger import Ledger
from ledger_svc.reads import StoredTx
from ledger_svc.signing import Signer
from ledger_svc.vectors import v2_records, v2_unbilled
from tests.ledger_svc.ledger_records import settlement
from tests.ledger_svc.ledger_server import RunningLedger, running_ledger

VECTORS = json.loads(
    (Path(__file__).resolve().parents[2] / "docs/ledger-test-vectors.json").read_text("utf-8")
)["format_version_2"]["unbilled_period"]
Q = 900_000


def _reason(record: UnbilledPeriod) -> str:
    with pytest.raises(EnergyPulseError) as exc:
        encode_record(record)
    return exc.value.reason


def test_the_vector_reencodes_decodes_and_survives_the_proto() -> None:
    record = v2_unbilled()
    body = encode_record(record)
    assert body.hex() == VECTORS["transaction"]["canonical_hex"]
    assert decode_record(body) == record
    assert index_fields(body) == (6, "hh-0001", record.period_start_ms)
    assert record_from_proto(record_to_proto(record)) == dataclasses.replace(record, salt=b"")


def test_the_refused_vectors_and_the_rules() -> None:
    for case in VECTORS["refused"]:
        fields = {k: v for k, v in case["record"].items() if k not in ("kind", "format_version")}
        fields["salt"] = bytes.fromhex(fields["salt"])
        assert _reason(UnbilledPeriod(**fields)) == case["reason"], case["why"]
    good = v2_unbilled()
    assert _reason(dataclasses.replace(good, period_start_ms=good.period_start_ms + 1)) == (
        "UNBILLED_PERIOD_INVALID"
    )
    assert _reason(dataclasses.replace(good, period_ms=7 * 60_000)) == "UNBILLED_PERIOD_INVALID"
    assert _reason(dataclasses.replace(good, reason="")) == "UNBILLED_PERIOD_INVALID"
    assert _reason(dataclasses.replace(good, detail="x" * 257)) == "FIELD_TOO_LONG"
    assert _reason(dataclasses.replace(good, household_id="")) == "EMPTY_FIELD"
    # A day of quarter-hours is the longest run; no meter and no detail are allowed.
    assert encode_record(dataclasses.replace(good, period_count=96, meter_id="", detail=""))


def test_the_ledger_refuses_an_unbilled_run_over_a_billed_period(ledger: Ledger) -> None:
    line = settlement("hh-1", hour=2)  # a legacy hour: it bills its four quarters
    ledger.append([line])
    base = UnbilledPeriod(b"", "hh-1", line.hour_ms - 2 * Q, Q, 2, "m-1", "NO_READINGS", "")
    for wrong in (
        dataclasses.replace(base, period_count=3),  # its last quarter is the hour's first
        dataclasses.replace(base, period_start_ms=line.hour_ms + 3 * Q),  # the hour's last quarter
    ):
        with pytest.raises(EnergyPulseError) as exc:
            ledger.append([wrong])
        assert exc.value.reason == "UNBILLED_PERIOD_SETTLED"
    # In the same append as the settlement that bills it: refused too, and nothing is appended.
    key, first, _second = v2_records()
    assert isinstance(first, SettlementV2)
    inside = UnbilledPeriod(b"", first.household_id, first.period_start_ms, Q, 1, "m-0001", "NOT_SIGNED", "")
    with pytest.raises(EnergyPulseError) as exc:
        ledger.append([key, first, inside])
    assert exc.value.reason == "UNBILLED_PERIOD_SETTLED"
    assert ledger.tree_size() == 1
    # Next to the billed hour, or another household's: appended.
    ledger.append([base, dataclasses.replace(base, household_id="hh-2", period_count=8)])
    assert ledger.tree_size() == 3


def test_a_settlement_may_follow_an_unbilled_record_of_its_period(ledger: Ledger) -> None:
    """A late signed value may still be billed: the line then accounts for the period (§17.7)."""
    line = settlement("hh-1", hour=2)
    run = UnbilledPeriod(b"", "hh-1", line.hour_ms, Q, 4, "m-1", "NOT_SIGNED", "late")
    [told] = ledger.append([run]).receipts
    [billed] = ledger.append([line]).receipts
    start, end = line.hour_ms - HOUR_MS, line.hour_ms + 2 * HOUR_MS
    runs = ledger.household_unbilled("hh-1", start, end)
    assert [t.leaf_index for t in runs] == [told.leaf_index]
    c = coverage(ledger.household_settlements("hh-1", start, end), start, end, None, runs)
    # The run's quarter-hours are the periods; the legacy hour covers its four: the line wins.
    assert c.period_ms == Q and c.covered == 4
    assert {m.reason for m in c.missing} == {NOT_SETTLED} and len(c.missing) == 8
    assert billed.leaf_index == 1


def test_coverage_takes_the_logged_reason_and_not_settled_for_the_rest() -> None:
    from zoneinfo import ZoneInfo

    start, _end = month_bounds_ms("2026-01", ZoneInfo("UTC"))

    def tx(record: object, h: bytes = b"") -> StoredTx:
        return StoredTx(0, h, b"", 0, b"", record, None, None)  # type: ignore[arg-type]

    # A run from the month before reaches into it (4 quarters before, 2 inside): read a day back.
    before = UnbilledPeriod(b"", "hh-1", start - 4 * Q, Q, 6, "m-1", "NO_READINGS", "silent")
    later = UnbilledPeriod(b"", "hh-1", start + 10 * Q, Q, 1, "", "IMPLAUSIBLE_ENERGY", "jump")
    c = coverage([], start, start + 12 * Q, start + 12 * Q, [tx(before, b"a"), tx(later, b"b")])
    assert not c.legacy and c.period_ms == Q and c.expected == 12 and c.covered == 0
    assert [(m.start_ms - start) // Q for m in c.missing] == list(range(12))
    reasons = [(m.reason, m.detail, m.tx_hash) for m in c.missing]
    assert reasons[:2] == [("NO_READINGS", "silent", b"a")] * 2
    assert reasons[2:10] == [(NOT_SETTLED, "", b"")] * 8
    assert reasons[10:] == [("IMPLAUSIBLE_ENERGY", "jump", b"b"), (NOT_SETTLED, "", b"")]


@pytest.fixture
async def svc(db_url: str, signer: Signer) -> AsyncIterator[RunningLedger]:
    async with running_ledger(db_url, signer) as running:
        yield running


async def test_only_the_billing_service_appends_them_and_the_invoice_gives_the_reasons(
    svc: RunningLedger,
) -> None:
    stub: Any = svc.stub  # the generated stubs are typed for the sync channel; this one is aio
    key, first, second = v2_records()  # hh-0001: 2026-01-01 00:00Z and 00:15Z, meter-signed
    run = dataclasses.replace(v2_unbilled(), salt=b"")  # 00:30Z and 00:45Z: NOT_SIGNED
    request = pb.AppendRecordsRequest(
        request_id=f"unbilled:hh-0001:{run.period_start_ms}",
        records=[record_to_proto(r) for r in (key, first, second, run)],
    )
    for meta in (svc.auth("admin", ()), svc.auth("user", ("hh-0001",)), svc.auth("service", (), "alert")):
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.AppendRecords(request, metadata=meta, timeout=5)
        assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
        assert (info := error_info(err.value)) is not None
        assert info.reason in ("ROLE_NOT_PERMITTED", "LEDGER_WRITER_NOT_PERMITTED")
    head = await stub.GetSignedHead(pb.GetSignedHeadRequest(), metadata=svc.auth(), timeout=5)
    assert head.head.tree_size == 0
    receipts = (await stub.AppendRecords(request, metadata=svc.auth("service", ()), timeout=5)).receipts
    told = receipts[-1].tx_hash

    owner = svc.auth("user", ("hh-0001",))
    month = pb.GetInvoiceRequest(household_id="hh-0001", month="2026-01")
    invoice = (await stub.GetInvoice(month, metadata=owner, timeout=5)).invoice
    assert invoice.covered_periods == 2 and not invoice.legacy
    by_start = {timestamps.to_ms(m.period_start): m for m in invoice.missing_periods}
    for k in (2, 3):
        m = by_start[run.period_start_ms - 2 * Q + k * Q]
        assert (m.reason, m.detail, m.tx_hash) == ("NOT_SIGNED", run.detail, told)
    assert all(m.reason == NOT_SETTLED and not m.tx_hash for s, m in by_start.items() if s >= run.end_ms)
    assert [t.tx_hash for t in invoice.unbilled] == [told]
    assert invoice.unbilled[0].record.unbilled_period.reason == "NOT_SIGNED"
    # Proven like the lines: its verdict is in VerifyInvoice's.
    verify = pb.VerifyInvoiceRequest(household_id="hh-0001", month="2026-01")
    verdict = await stub.VerifyInvoice(verify, metadata=owner, timeout=5)
    assert [v.tx_hash for v in verdict.lines] == [r.tx_hash for r in receipts[1:]]
    # An administrator reads it too (support), as the lines.
    other = (await stub.GetInvoice(month, metadata=svc.auth("admin", ()), timeout=5)).invoice
    assert other.unbilled[0].record.unbilled_period.reason == "NOT_SIGNED"
