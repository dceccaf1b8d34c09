"""Billing's corrections with injected ports: what is refused before any call, what goes to the
ledger (the operator the RPC hands in, a prefixed request id, never a time: a retry is a replay)
and what goes to the audit log; then against the real auth_svc and ledger_svc: a retried
correction is one ledger record and one audit event."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest

from common.errors import EnergyPulseError
from energypulse.auth.v1 import auth_service_pb2, auth_service_pb2_grpc
from energypulse.ledger.v1 import ledger_service_pb2, record_pb2
from ingest_svc.billing import Corrections
from ingest_svc.billing.clients import AuditClient, LedgerClient, ServiceLogin
from ledger_svc.canonical import Correction
from tests.conftest import sqlite_or_postgres
from tests.demo_accounts import DEMO_ADMIN_PASSWORD
from tests.ingest_svc.services import SERVICE_SECRETS, Services, ledger_records
from tests.ledger_records import JAN_1_2026_S as JAN_1_S
from tests.ledger_records import settlement_v1

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
    event, repeat = audit.events
    assert (event.actor, event.action, event.target) == ("admin", "BILL_CORRECTED", "hh-1")
    # The retry reports under the same key, so auth_svc records it once (tested against it below).
    assert event.idempotency_key == repeat.idempotency_key == "correction:r-1"
    assert "cd" * 32 in event.detail and "tariff misapplied" in event.detail


# --- against the real services -------------------------------------------------------------------


auth_database_url = sqlite_or_postgres("corrections_auth")


@pytest.fixture
async def auth_and_ledger(tmp_path: Path, auth_database_url: str) -> AsyncIterator[Services]:
    """The real auth_svc (on SQLite or PostgreSQL) and ledger_svc; no price model is needed."""
    running = Services(tmp_path / "svc", tmp_path / "no-models", auth_database_url=auth_database_url)
    running.root.mkdir()
    await running.start("auth")
    await running.start("ledger")
    yield running
    await running.stop_all()


async def _bill_corrected_events(services: Services) -> list[str]:
    """The targets of the BILL_CORRECTED events in auth_svc's audit log, read as an administrator."""
    async with grpc.aio.insecure_channel(services.target("auth")) as channel:
        stub = auth_service_pb2_grpc.AuthServiceStub(channel)
        login = await stub.Login(
            auth_service_pb2.LoginRequest(username="admin", password=DEMO_ADMIN_PASSWORD)
        )
        events = await stub.ListAuditEvents(
            auth_service_pb2.ListAuditEventsRequest(page_size=500, action="BILL_CORRECTED"),
            metadata=(("authorization", f"Bearer {login.tokens.access_token}"),),
        )
    return [e.target for e in events.events]


async def test_a_retried_correction_is_one_ledger_record_and_one_audit_event(
    auth_and_ledger: Services,
) -> None:
    services = auth_and_ledger
    login = ServiceLogin(services.target("auth"), "ingest", SERVICE_SECRETS["ingest"])
    ledger = LedgerClient(services.target("ledger"), login, timeout_s=10)
    audit = AuditClient(services.target("auth"), login, timeout_s=10)
    try:
        await ledger.append_now(
            ledger_service_pb2.AppendRecordsRequest(
                records=[settlement_v1("hh-1", h, 1000 + h) for h in range(2)]
            )
        )
        corrections = Corrections(ledger, audit, "EUR")
        period_ms = (JAN_1_S + 3600) * 1000
        done = await corrections.correct(
            "admin", "hh-1", period_ms, 3600, -25_000, "tariff misapplied", "r-1"
        )
        # The operator's retry (e.g. the response was lost): the ledger replays, the audit log too.
        again = await corrections.correct(
            "admin", "hh-1", period_ms, 3600, -25_000, "tariff misapplied", "r-1"
        )
        assert not done.replayed and again.replayed and again.tx_hash == done.tx_hash
        [corrected] = [r for r in ledger_records(services.ledger_url) if isinstance(r, Correction)]
        assert (corrected.household_id, corrected.amount_ueur, corrected.operator) == (
            "hh-1",
            -25_000,
            "admin",
        )
        assert await _bill_corrected_events(services) == ["hh-1"]

        # Another correction (another request id) is its own record and its own event.
        other = await corrections.correct("admin", "hh-1", JAN_1_S * 1000, 3600, 10_000, "meter swap", "r-2")
        assert other.tx_hash != done.tx_hash and not other.replayed
        corrected = [r for r in ledger_records(services.ledger_url) if isinstance(r, Correction)]
        assert [(c.period_start_ms, c.amount_ueur) for c in corrected] == [
            (period_ms, -25_000),
            (JAN_1_S * 1000, 10_000),
        ]
        assert await _bill_corrected_events(services) == ["hh-1", "hh-1"]
    finally:
        await ledger.close()
        await audit.close()
