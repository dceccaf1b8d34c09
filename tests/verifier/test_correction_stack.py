"""An operator correction end to end, through the real edge (Procfile processes: broker, auth_svc,
ledger_svc, ingest_svc, Envoy): only an administrator may correct (a user gets 403), a reason is
required, the correction is on the ledger under the billing service's identity with the
administrator's name from the token, on the invoice and in the audit log, and the verifier
proves and shows it while the corrected line stays as it was."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devstack.stack import start_stack
from energypulse.ledger.v1 import ledger_service_pb2 as pb
from energypulse.ledger.v1 import ledger_service_pb2_grpc
from tests.conftest import require
from tests.ledger_records import settlement_v1
from verifier.cli import run

pytestmark = pytest.mark.slow

HOUSEHOLD = "sim-h000000"  # linked to the demo user household-0001
HOUR_2 = "2026-01-01T02:00:00Z"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    require(
        (Path(sys.executable).parent / "envoy").exists() or shutil.which("envoy"), "Envoy is not installed"
    )
    running = start_stack(
        tmp_path_factory.mktemp("stack"),
        ["broker", "auth_svc", "ledger_svc", "ingest_svc", "envoy"],
        meters=1,
        timeout=120,
    )
    try:
        yield running
    finally:
        running.close()


def _correction(amount: int = -25_000, reason: str = "Tariff misapplied (ticket 4711)") -> dict[str, Any]:
    return {
        "periodStart": HOUR_2,
        "periodSeconds": "3600",
        "amountMicroEur": str(amount),
        "reason": reason,
        "requestId": "e2e-correction-1",
        # The settlements below are format-1 hours, billed in EUR; a NOK correction of them is refused.
        "currency": "EUR",
    }


def test_an_operator_correction_from_edge_to_invoice(stack: Any) -> None:
    ingest = stack.login("ingest", stack.env["EP_INGEST_SERVICE_SECRET"])
    admin = stack.login("admin", "admin-demo")
    user = stack.login("household-0001", "demo")
    ledger_service_pb2_grpc.LedgerServiceStub(stack.channel("ledger")).AppendRecords(
        pb.AppendRecordsRequest(records=[settlement_v1(HOUSEHOLD, h, 1000 + h) for h in range(4)]),
        metadata=[("authorization", f"Bearer {ingest}")],
        timeout=10,
    )
    path = f"/api/v1/households/{HOUSEHOLD}/corrections"

    # A household user may not correct its own bill; an operator-looking field is refused too.
    status, body = stack.api("POST", path, _correction(), token=user)
    assert status == 403 and body["details"][0]["reason"] == "ROLE_NOT_PERMITTED", body
    status, body = stack.api("POST", path, {**_correction(), "operator": "someone-else"}, token=admin)
    assert status == 400, body
    # A reason is required, and bounded.
    status, body = stack.api("POST", path, _correction(reason="   "), token=admin)
    assert status == 400 and body["details"][0]["reason"] == "CORRECTION_REASON_REQUIRED", body
    status, body = stack.api("POST", path, _correction(reason="x" * 257), token=admin)
    assert status == 400 and body["details"][0]["reason"] == "CORRECTION_REASON_TOO_LONG", body
    # Only a billed period can be corrected, in the currency it was billed in.
    status, body = stack.api("POST", path, {**_correction(), "currency": "NOK"}, token=admin)
    assert status == 400 and body["details"][0]["reason"] == "CORRECTION_PERIOD_NOT_BILLED", body
    status, body = stack.api(
        "POST", path, {**_correction(), "periodStart": "2026-01-02T02:00:00Z"}, token=admin
    )
    assert status == 400 and body["details"][0]["reason"] == "CORRECTION_PERIOD_NOT_BILLED", body

    status, receipt = stack.api("POST", path, _correction(), token=admin)
    assert status == 200 and receipt["operator"] == "admin" and not receipt["replayed"], receipt
    status, again = stack.api("POST", path, _correction(), token=admin)  # a retry appends nothing
    assert status == 200 and again["replayed"] and again["txHash"] == receipt["txHash"], again

    status, body = stack.api("GET", f"/api/v1/households/{HOUSEHOLD}/invoices/2026-01", token=user)
    assert status == 200, body
    invoice = body["invoice"]
    [correction] = invoice["corrections"]
    record = correction["record"]["correction"]
    assert correction["txHash"] == receipt["txHash"]
    assert record["operator"] == "admin" and record["reason"] == "Tariff misapplied (ticket 4711)"
    assert int(invoice["correctionTotalMicroEur"]) == -25_000
    assert int(invoice["amountDueMicroEur"]) == int(invoice["totalCostMicroEur"]) - 25_000
    assert len(invoice["lines"]) == 4  # the corrected line is still there, unchanged

    code, result = run(["--base-url", stack.base_url, "--token", user, "invoice", HOUSEHOLD, "2026-01"])
    assert code == 0, result
    [shown] = result["corrections"]
    assert shown["hash_valid"] and shown["inclusion_valid"]
    assert shown["operator"] == "admin" and shown["amount_micro"] == -25_000 and shown["reason"]

    status, body = stack.api("GET", "/api/v1/audit-events?pageSize=50", token=admin)
    assert status == 200, body
    events = [e for e in body["events"] if e["action"] == "BILL_CORRECTED"]
    assert events and all(e["actor"] == "admin" and e["target"] == HOUSEHOLD for e in events)
    assert receipt["txHash"] in events[0]["detail"] and "reported_by=ingest" in events[0]["detail"]
    assert "Tariff misapplied" in events[0]["detail"]

    # Nobody but the billing service writes the audit log on another's behalf.
    status, body = stack.api(
        "POST", "/api/v1/audit-events:record", {"actor": "x", "action": "BILL_CORRECTED"}, token=admin
    )
    assert status == 403, body
