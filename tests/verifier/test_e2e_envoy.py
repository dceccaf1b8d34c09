"""The verifier against the real edge: auth_svc + ledger_svc + Envoy's JSON transcoder, started from
the Procfile by the lead's harness (devstack/stack.py)."""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from devstack.stack import start_stack  # the Procfile commands on free ports
from energypulse.ledger.v1 import ledger_service_pb2 as pb
from energypulse.ledger.v1 import ledger_service_pb2_grpc
from tests.conftest import require
from tests.ledger_records import settlement_v1
from verifier.cli import run

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    require(
        (Path(sys.executable).parent / "envoy").exists() or shutil.which("envoy"), "Envoy is not installed"
    )
    running = start_stack(
        tmp_path_factory.mktemp("stack"), ["auth_svc", "ledger_svc", "witness_svc", "envoy"], timeout=90
    )
    try:
        yield running
    finally:
        running.close()


def test_verifier_through_envoy(stack: Any, tmp_path: Path) -> None:
    admin = stack.login("admin", "admin-demo")
    ingest = stack.login("ingest", stack.env["EP_INGEST_SERVICE_SECRET"])  # the ledger's only writer
    user = stack.login("household-0001", "demo")  # linked to sim-h000000
    stub = ledger_service_pb2_grpc.LedgerServiceStub(stack.channel("ledger"))
    appended = stub.AppendRecords(
        pb.AppendRecordsRequest(records=[settlement_v1("sim-h000000", h, 1000 + h) for h in range(5)]),
        metadata=[("authorization", f"Bearer {ingest}")],
        timeout=10,
    )
    base = ["--base-url", stack.base_url, "--token", user]
    head = tmp_path / "head.json"
    assert run([*base, "head", "--save", str(head)])[0] == 0
    status, result = run([*base, "tx", appended.receipts[1].tx_hash, "--head", str(head)])
    assert status == 0 and result["hash_valid"] and result["inclusion_valid"]
    status, result = run([*base, "invoice", "sim-h000000", "2026-01"])
    assert status == 0 and len(result["lines"]) == 5
    deadline = time.monotonic() + 10  # the background sealer closes the block within EP_LEDGER_BLOCK_MAX_MS
    while time.monotonic() < deadline:
        status, result = run(["--base-url", stack.base_url, "--token", admin, "chain"])
        if result.get("blocks_checked"):
            break
        time.sleep(0.3)
    assert status == 0 and result["transactions_checked"] == 5
    status, body = stack.api("POST", "/api/v1/ledger:verify", {}, token=user)
    assert status == 200 and body["valid"] is True


def test_admin_append_refused_at_the_edge(stack: Any) -> None:
    """An operator cannot put settlements on the ledger, neither through Envoy's JSON route nor
    over gRPC through the edge; nothing reaches the log."""
    admin = stack.login("admin", "admin-demo")
    status, before = stack.api("GET", "/api/v1/ledger/head", token=admin)
    assert status == 200
    record = {
        "settlement": {
            "householdId": "sim-h000001",
            "hourStart": "2026-01-01T00:00:00Z",
            "meteredWh": "500000",
            "totalCostMicroEur": "1",
        }
    }
    status, body = stack.api(
        "POST",
        "/api/v1/ledger/records:append",
        {"requestId": "forged-by-admin", "records": [record]},
        token=admin,
    )
    assert status == 403, body
    assert any(d.get("reason") == "ROLE_NOT_PERMITTED" for d in body.get("details", [])), body
    edge = ledger_service_pb2_grpc.LedgerServiceStub(stack.channel("edge"))
    with pytest.raises(grpc.RpcError) as refused:
        edge.AppendRecords(
            pb.AppendRecordsRequest(records=[settlement_v1("sim-h000001", 0, 1000)]),
            metadata=[("authorization", f"Bearer {admin}")],
            timeout=10,
        )
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    status, after = stack.api("GET", "/api/v1/ledger/head", token=admin)
    assert after["head"].get("treeSize", "0") == before["head"].get("treeSize", "0")


def test_witnessed_checkpoint_through_envoy(stack: Any) -> None:
    """The local stack's witness cosigns the ledger's checkpoint; the verifier, with the keys the
    run command pins (never the ones the server sends), finds the head witnessed. The checkpoint
    route is public: no token."""
    ingest = stack.login("ingest", stack.env["EP_INGEST_SERVICE_SECRET"])
    stub = ledger_service_pb2_grpc.LedgerServiceStub(stack.channel("edge"))
    stub.AppendRecords(
        pb.AppendRecordsRequest(records=[settlement_v1("sim-h000002", h, 1000 + h) for h in range(3)]),
        metadata=[("authorization", f"Bearer {ingest}")],
        timeout=10,
    )
    status, body = stack.api("GET", "/api/v1/ledger/checkpoint")
    assert status == 200 and body["verifierKey"] == stack.env["EP_LEDGER_VERIFIER_KEY"]
    size = int(body["treeSize"])
    pins = [
        "--ledger-key",
        stack.env["EP_LEDGER_VERIFIER_KEY"],
        "--witness-url",
        stack.env["EP_WITNESS_URL"],
        "--witness-key",
        stack.env["EP_WITNESS_VERIFIER_KEY"],
    ]
    deadline = time.monotonic() + 20  # the witness polls every EP_WITNESS_POLL_MS
    while True:
        status, result = run(["--base-url", stack.base_url, *pins, "checkpoint"])
        assert status == 0, result
        if result["head_witnessed"] or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert result["head_witnessed"] is True and int(str(result["witnessed_size"])) >= size
