"""Billing's corrections with injected ports: what is refused before any call, what goes to the
ledger (the operator the RPC hands in, a prefixed request id, never a time: a retry is a replay)
and what goes to the audit log."""

from __future__ import annotations

import pytest

from common.errors import EnergyPulseError
from energypulse.auth.v1 import auth_service_pb2
from energypulse.ledger.v1 import ledger_service_pb2, record_pb2
from ingest_svc.billing import Corrections

HOUR_MS = 1_767_232_800_000


class FakeLedger:
    def __init__(self) -> None:
        self.requests: list[ledger_service_pb2.AppendRecordsRequest] = []

    async def append_now(
        self, request: ledger_service_pb2.AppendRecordsRequest
    ) -> ledger_service_pb2.AppendRecordsResponse:
        self.requests.append(request)
        replayed = any(r.request_id == request.request_id for r in self.requests[:-1])
        return ledger_service_pb2.AppendRecordsResponse(
            receipts=[record_pb2.Receipt(tx_hash="cd" * 32, leaf_index=7)], replayed=replayed
        )


class FakeAudit:
    def __init__(self) -> None:
        self.events: list[auth_service_pb2.RecordAuditEventRequest] = []

    async def record(self, request: auth_service_pb2.RecordAuditEventRequest) -> None:
        self.events.append(request)


async def test_a_reason_is_required_and_bounded_before_anything_is_written() -> None:
    ledger, audit = FakeLedger(), FakeAudit()
    corrections = Corrections(ledger, audit, "NOK")
    for reason, why in (
        ("", "CORRECTION_REASON_REQUIRED"),
        (" \t", "CORRECTION_REASON_REQUIRED"),
        ("ø" * 129, "CORRECTION_REASON_TOO_LONG"),
    ):
        with pytest.raises(EnergyPulseError) as exc:
            await corrections.correct("admin", "hh-1", HOUR_MS, 3600, -1, reason)
        assert exc.value.reason == why
    with pytest.raises(EnergyPulseError) as exc:
        await corrections.correct("admin", "", HOUR_MS, 3600, -1, "why")
    assert exc.value.reason == "MISSING_HOUSEHOLD"
    assert ledger.requests == [] and audit.events == []


async def test_the_correction_goes_to_the_ledger_then_to_the_audit_log() -> None:
    ledger, audit = FakeLedger(), FakeAudit()
    corrections = Corrections(ledger, audit, "NOK")
    done = await corrections.correct("admin", "hh-1", HOUR_MS, 3600, -25_000, "tariff misapplied", "r-1")
    again = await corrections.correct("admin", "hh-1", HOUR_MS, 3600, -25_000, "tariff misapplied", "r-1")
    assert (done.tx_hash, done.leaf_index, done.operator, done.replayed) == ("cd" * 32, 7, "admin", False)
    assert again.replayed
    first, second = ledger.requests
    assert first == second  # the same record: the ledger replays the retry instead of appending it again
    assert first.request_id == "correction:r-1"
    c = first.records[0].correction
    assert (c.household_id, c.operator, c.reason, c.amount_micro, c.currency, c.period_seconds) == (
        "hh-1",
        "admin",
        "tariff misapplied",
        -25_000,
        "NOK",
        3600,
    )
    event = audit.events[0]
    assert (event.actor, event.action, event.target) == ("admin", "BILL_CORRECTED", "hh-1")
    assert "cd" * 32 in event.detail and "tariff misapplied" in event.detail
