"""LedgerService over real gRPC (in-process server, port 0, real stubs, real auth interceptor)."""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import AsyncIterator

import grpc
import pytest
from sqlalchemy import select, update

from common import tlog
from common.errors import error_info
from energypulse.ledger.v1 import ledger_service_pb2 as pb
from energypulse.ledger.v1 import record_pb2
from ledger_svc.canonical import HOUR_MS, Correction, encode_record, tx_hash
from ledger_svc.convert import record_from_proto, record_to_proto
from ledger_svc.merkle import leaf_hash, verify_consistency, verify_inclusion
from ledger_svc.signing import SignedTreeHead, Signer, TreeHead, verify_signed_head
from ledger_svc.store import TxRow
from ledger_svc.vectors import v2_records
from tests.ledger_svc.ledger_records import prediction, settlement
from tests.ledger_svc.ledger_server import RunningLedger, running_ledger


@pytest.fixture
async def svc(db_url: str, signer: Signer) -> AsyncIterator[RunningLedger]:
    async with running_ledger(db_url, signer) as running:
        yield running


def _records() -> list[record_pb2.Record]:
    # hh-1: hours 0..5 of 2026-01-01 (UTC) and one hour in February; hh-2: two hours; one zone forecast.
    rows = [settlement("hh-1", hour=h) for h in range(6)] + [settlement("hh-2", hour=h) for h in range(2)]
    rows += [settlement("hh-1", hour=24 * 40), prediction("", hour=3), prediction("hh-1", hour=4)]
    return [record_to_proto(r) for r in rows]


async def _append(svc: RunningLedger, request_id: str = "") -> pb.AppendRecordsResponse:
    return await svc.stub.AppendRecords(
        pb.AppendRecordsRequest(request_id=request_id, records=_records()),
        metadata=svc.auth("service", ()),
        timeout=10,
    )


async def _error(call) -> tuple[grpc.StatusCode, str]:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await call
    info = error_info(err.value)
    return err.value.code(), info.reason if info else ""


async def test_append_and_retry_with_request_id(svc: RunningLedger) -> None:
    first = await _append(svc, "batch-1")
    assert [r.leaf_index for r in first.receipts] == list(range(11))
    assert [r.block_height for r in first.receipts] == [0] * 4 + [1] * 4 + [-1] * 3
    again = await _append(svc, "batch-1")
    assert again.replayed and list(again.receipts) == list(first.receipts)
    head = await svc.stub.GetSignedHead(pb.GetSignedHeadRequest(), metadata=svc.auth(), timeout=5)
    assert head.head.tree_size == 11


async def test_append_access_and_validation_errors(svc: RunningLedger) -> None:
    req = pb.AppendRecordsRequest(records=_records())
    assert await _error(svc.stub.AppendRecords(req, metadata=svc.auth("user"), timeout=5)) == (
        grpc.StatusCode.PERMISSION_DENIED,
        "ROLE_NOT_PERMITTED",
    )
    assert (await _error(svc.stub.AppendRecords(req, timeout=5)))[0] == grpc.StatusCode.UNAUTHENTICATED
    bad = record_to_proto(settlement())
    bad.settlement.total_cost_micro_eur += 1
    assert await _error(
        svc.stub.AppendRecords(
            pb.AppendRecordsRequest(records=[bad]), metadata=svc.auth("service"), timeout=5
        )
    ) == (grpc.StatusCode.INVALID_ARGUMENT, "COST_PARTS_MISMATCH")
    sub_ms = record_to_proto(settlement())
    sub_ms.settlement.hour_start.nanos = 1
    assert await _error(
        svc.stub.AppendRecords(
            pb.AppendRecordsRequest(records=[sub_ms]), metadata=svc.auth("service"), timeout=5
        )
    ) == (grpc.StatusCode.INVALID_ARGUMENT, "TIMESTAMP_PRECISION")
    assert await _error(
        svc.stub.AppendRecords(
            pb.AppendRecordsRequest(records=[record_pb2.Record()]), metadata=svc.auth("service"), timeout=5
        )
    ) == (grpc.StatusCode.INVALID_ARGUMENT, "EMPTY_RECORD")


async def test_only_the_billing_service_appends(svc: RunningLedger) -> None:
    """Settlements and forecasts come from the billing service's account only: an administrator
    (whose role used to pass the SERVICE level), another service account and a user are refused,
    and nothing they sent is on the log."""
    request = pb.AppendRecordsRequest(request_id="forged", records=_records()[:1])
    for meta, expected in (
        (svc.auth("admin", ()), (grpc.StatusCode.PERMISSION_DENIED, "ROLE_NOT_PERMITTED")),
        (svc.auth("user", ("hh-1",)), (grpc.StatusCode.PERMISSION_DENIED, "ROLE_NOT_PERMITTED")),
        (
            svc.auth("service", (), subject="meter_sim"),
            (grpc.StatusCode.PERMISSION_DENIED, "LEDGER_WRITER_NOT_PERMITTED"),
        ),
    ):
        assert await _error(svc.stub.AppendRecords(request, metadata=meta, timeout=5)) == expected
    head = await svc.stub.GetSignedHead(pb.GetSignedHeadRequest(), metadata=svc.auth(), timeout=5)
    assert head.head.tree_size == 0
    assert len((await _append(svc)).receipts) == 11  # the billing service's own account still appends


async def test_contents_only_for_owner_and_admin(svc: RunningLedger) -> None:
    receipts = (await _append(svc)).receipts
    h = receipts[0].tx_hash  # hh-1's settlement
    for meta, visible in (
        (svc.auth("user", ("hh-1",)), True),
        (svc.auth("admin", ()), True),
        (svc.auth("user", ("hh-2",)), False),
        (svc.auth("service", ()), False),
    ):
        tx = (
            await svc.stub.GetTransaction(pb.GetTransactionRequest(tx_hash=h), metadata=meta, timeout=5)
        ).transaction
        assert tx.tx_hash == h and tx.leaf_index == 0 and tx.household_id == "hh-1"
        assert tx.HasField("record") is visible and bool(tx.salt) is visible
    zone = receipts[9].tx_hash  # zone-level forecast: every signed-in caller
    tx = (
        await svc.stub.GetTransaction(
            pb.GetTransactionRequest(tx_hash=zone), metadata=svc.auth("user", ("hh-2",)), timeout=5
        )
    ).transaction
    assert tx.HasField("record") and tx.kind == record_pb2.RECORD_KIND_PREDICTION
    block = await svc.stub.GetBlock(
        pb.GetBlockRequest(height=0), metadata=svc.auth("user", ("hh-2",)), timeout=5
    )
    assert [t.tx_hash for t in block.transactions] == [r.tx_hash for r in receipts[:4]]
    assert not any(t.HasField("record") for t in block.transactions)
    assert await _error(
        svc.stub.GetTransaction(pb.GetTransactionRequest(tx_hash="zz"), metadata=svc.auth(), timeout=5)
    ) == (grpc.StatusCode.INVALID_ARGUMENT, "BAD_HASH")
    assert await _error(
        svc.stub.GetTransaction(pb.GetTransactionRequest(tx_hash="00" * 32), metadata=svc.auth(), timeout=5)
    ) == (grpc.StatusCode.NOT_FOUND, "TX_NOT_FOUND")


async def test_client_side_verification_of_heads_and_proofs(svc: RunningLedger) -> None:
    receipts = (await _append(svc)).receipts
    meta = svc.auth("user", ("hh-1",))
    resp = await svc.stub.GetSignedHead(pb.GetSignedHeadRequest(), metadata=meta, timeout=5)
    key = base64.b64decode(resp.public_key)
    old = SignedTreeHead(
        TreeHead(
            bytes.fromhex(resp.head.key_id),
            resp.head.tree_size,
            bytes.fromhex(resp.head.root_hash),
            resp.head.timestamp.ToMilliseconds(),
        ),
        base64.b64decode(resp.head.signature),
        key,
    )
    assert verify_signed_head(old, key)
    # The owner recomputes the hash of their line from what the server shows them.
    tx = (
        await svc.stub.GetTransaction(
            pb.GetTransactionRequest(tx_hash=receipts[2].tx_hash), metadata=meta, timeout=5
        )
    ).transaction
    record = record_from_proto(tx.record)
    body = encode_record(record, bytes.fromhex(tx.salt))
    recomputed = tx_hash(body, tx.append_time.ToMilliseconds(), bytes.fromhex(tx.prev_tx_hash))
    assert recomputed.hex() == tx.tx_hash
    proof = await svc.stub.GetInclusionProof(
        pb.GetInclusionProofRequest(tx_hash=tx.tx_hash), metadata=meta, timeout=5
    )
    verify_inclusion(
        proof.leaf_index,
        proof.tree_size,
        leaf_hash(recomputed),
        [bytes.fromhex(p) for p in proof.audit_path],
        old.head.root_hash,
    )
    await _append(svc, "more")
    new = (await svc.stub.GetSignedHead(pb.GetSignedHeadRequest(), metadata=meta, timeout=5)).head
    cons = await svc.stub.GetConsistencyProof(
        pb.GetConsistencyProofRequest(first_size=old.head.tree_size), metadata=meta, timeout=5
    )
    assert cons.second_size == new.tree_size == 22
    verify_consistency(
        old.head.tree_size,
        new.tree_size,
        old.head.root_hash,
        bytes.fromhex(new.root_hash),
        [bytes.fromhex(p) for p in cons.proof],
    )
    assert await _error(
        svc.stub.GetInclusionProof(
            pb.GetInclusionProofRequest(tx_hash=receipts[5].tx_hash, tree_size=3), metadata=meta, timeout=5
        )
    ) == (grpc.StatusCode.FAILED_PRECONDITION, "TX_NOT_IN_TREE")


async def test_list_blocks_pages_newest_first(svc: RunningLedger) -> None:
    await _append(svc)
    await _append(svc, "second")  # 22 txs, block size 4 -> 5 blocks
    meta, heights, token = svc.auth(), [], ""
    while True:
        page = await svc.stub.ListBlocks(
            pb.ListBlocksRequest(page_size=2, page_token=token), metadata=meta, timeout=5
        )
        heights += [b.height for b in page.blocks]
        token = page.next_page_token
        if not token:
            break
    assert heights == [4, 3, 2, 1, 0]
    assert await _error(
        svc.stub.ListBlocks(pb.ListBlocksRequest(page_token="garbage!"), metadata=meta, timeout=5)
    ) == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_PAGE_TOKEN")


async def test_verify_chain_and_invoice_detect_tampering(svc: RunningLedger) -> None:
    await _append(svc)
    owner = svc.auth("user", ("hh-1",))
    ok = await svc.stub.VerifyChain(pb.VerifyChainRequest(), metadata=owner, timeout=10)
    assert ok.valid and ok.transactions_checked == 11 and ok.first_bad_height == -1
    invoice = (
        await svc.stub.GetInvoice(
            pb.GetInvoiceRequest(household_id="hh-1", month="2026-01"), metadata=owner, timeout=5
        )
    ).invoice
    # Europe/Oslo: January starts 2025-12-31T23:00Z; all six January lines, not the February one.
    assert invoice.period_start.ToJsonString() == "2025-12-31T23:00:00Z"
    assert [line.transaction.leaf_index for line in invoice.lines] == [0, 1, 2, 3, 4, 5]
    assert invoice.total_wh == 6 * 1200
    assert invoice.total_cost_micro_eur == sum(
        line.transaction.record.settlement.total_cost_micro_eur for line in invoice.lines
    )
    assert all(line.transaction.salt for line in invoice.lines)
    verdict = await svc.stub.VerifyInvoice(
        pb.VerifyInvoiceRequest(household_id="hh-1", month="2026-01"), metadata=owner, timeout=5
    )
    assert verdict.valid and len(verdict.lines) == 6
    assert await _error(
        svc.stub.GetInvoice(
            pb.GetInvoiceRequest(household_id="hh-1", month="2026-01"),
            metadata=svc.auth("user", ("hh-2",)),
            timeout=5,
        )
    ) == (grpc.StatusCode.PERMISSION_DENIED, "HOUSEHOLD_NOT_PERMITTED")
    assert await _error(
        svc.stub.GetInvoice(
            pb.GetInvoiceRequest(household_id="hh-1", month="2026-13"), metadata=owner, timeout=5
        )
    ) == (grpc.StatusCode.INVALID_ARGUMENT, "BAD_MONTH")

    tx = TxRow.__table__
    with svc.app.engine.begin() as conn:  # an insider edits line 2's metered energy (last byte: offset 61)
        rec = conn.execute(select(tx.c.record).where(tx.c.leaf_index == 2)).scalar_one()
        conn.execute(update(tx).where(tx.c.leaf_index == 2).values(record=rec[:61] + b"\x7f" + rec[62:]))
    bad = await svc.stub.VerifyChain(pb.VerifyChainRequest(), metadata=owner, timeout=10)
    assert (bad.valid, bad.first_bad_height, bad.reason) == (False, 0, "TX_HASH_MISMATCH")
    verdict = await svc.stub.VerifyInvoice(
        pb.VerifyInvoiceRequest(household_id="hh-1", month="2026-01"), metadata=owner, timeout=5
    )
    assert not verdict.valid
    assert [(v.hash_valid, v.reason) for v in verdict.lines] == [(True, "")] * 2 + [
        (False, "HASH_MISMATCH")
    ] + [(True, "")] * 3


async def test_invoice_months_outside_the_supported_range_are_bad_month(svc: RunningLedger) -> None:
    owner = svc.auth("user", ("hh-1",))
    bad = (grpc.StatusCode.INVALID_ARGUMENT, "BAD_MONTH")
    for month in ("0000-01", "1969-12", "9999-01", "9999-12"):  # 0000 and 9999-12 overflowed (500)
        get = pb.GetInvoiceRequest(household_id="hh-1", month=month)
        verify = pb.VerifyInvoiceRequest(household_id="hh-1", month=month)
        assert await _error(svc.stub.GetInvoice(get, metadata=owner, timeout=5)) == bad, month
        assert await _error(svc.stub.VerifyInvoice(verify, metadata=owner, timeout=5)) == bad, month
    for month in ("1970-01", "9998-12"):  # the edges of the range are served (empty invoices)
        reply = await svc.stub.GetInvoice(
            pb.GetInvoiceRequest(household_id="hh-1", month=month), metadata=owner, timeout=5
        )
        assert (len(reply.invoice.lines), reply.invoice.total_wh) == (0, 0), month


async def test_checkpoint_is_public_signed_and_proves_consistency(svc: RunningLedger, signer: Signer) -> None:
    """GetCheckpoint needs no token (a witness has no account): a C2SP checkpoint signed by the
    ledger key, with the consistency proof from the caller's size."""
    origin = "energypulse.local/ledger"
    empty = await svc.stub.GetCheckpoint(pb.GetCheckpointRequest(), timeout=5)
    assert empty.tree_size == 0 and empty.verifier_key == signer.verifier_key(origin)
    await _append(svc)
    first = await svc.stub.GetCheckpoint(pb.GetCheckpointRequest(), timeout=5)
    ledger_key = tlog.Verifier.parse(signer.verifier_key(origin))
    cp = tlog.parse_checkpoint(tlog.verify_note(first.checkpoint, ledger_key))
    head = await svc.stub.GetSignedHead(pb.GetSignedHeadRequest(), metadata=svc.auth(), timeout=5)
    assert (cp.origin, cp.size, cp.root.hex()) == (origin, 11, head.head.root_hash)
    await svc.stub.AppendRecords(
        pb.AppendRecordsRequest(records=_records()[:3]), metadata=svc.auth("service", ()), timeout=10
    )
    later = await svc.stub.GetCheckpoint(pb.GetCheckpointRequest(from_size=11), timeout=5)
    cp2 = tlog.parse_checkpoint(tlog.verify_note(later.checkpoint, ledger_key))
    assert (later.from_size, later.tree_size, cp2.size) == (11, 14, 14)
    verify_consistency(11, 14, cp.root, cp2.root, [bytes.fromhex(p) for p in later.consistency_proof])
    assert await _error(svc.stub.GetCheckpoint(pb.GetCheckpointRequest(from_size=15), timeout=5)) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "BAD_TREE_SIZE",
    )


async def test_an_invoice_in_two_currencies_has_a_total_per_currency_and_no_sum_across(
    svc: RunningLedger,
) -> None:
    """A month with a legacy (version-1, EUR) hour, then meter-signed NOK quarter-hours, and a
    correction of each: each currency owes its own amount; nothing is added across them."""
    key, first, second = v2_records()
    nok = [dataclasses.replace(r, currency="NOK") for r in (first, second)]
    legacy = settlement("hh-0001", hour=5)  # 2026-01-01T05:00Z, in EUR by the version-1 format
    corrections = [
        Correction(b"", "hh-0001", legacy.hour_ms, HOUR_MS, -20_000, "EUR", "wrong grid tariff", "admin"),
        Correction(b"", "hh-0001", first.period_start_ms, first.period_ms, 7_000, "NOK", "late fee", "admin"),
    ]
    service = svc.auth("service", ())
    for i, batch in enumerate(([key], [*nok, legacy], corrections)):
        await svc.stub.AppendRecords(
            pb.AppendRecordsRequest(request_id=f"mixed-{i}", records=[record_to_proto(r) for r in batch]),
            metadata=service,
            timeout=10,
        )
    owner = svc.auth("user", ("hh-0001",))
    get = pb.GetInvoiceRequest(household_id="hh-0001", month="2026-01")
    invoice = (await svc.stub.GetInvoice(get, metadata=owner, timeout=5)).invoice
    assert len(invoice.lines) == 3 and len(invoice.corrections) == 2
    eur_cost = legacy.total_cost_ueur
    nok_cost = first.total_cost_ueur + second.total_cost_ueur
    assert [
        (
            t.currency,
            t.line_count,
            t.total_wh,
            t.total_cost_micro,
            t.correction_total_micro,
            t.amount_due_micro,
        )
        for t in invoice.totals
    ] == [
        ("EUR", 1, legacy.metered_wh, eur_cost, -20_000, eur_cost - 20_000),
        ("NOK", 2, first.metered_wh + second.metered_wh, nok_cost, 7_000, nok_cost + 7_000),
    ]
    # the single-currency fields do not add EUR to NOK: no one currency, no one total
    assert invoice.currency == ""
    assert (
        invoice.total_cost_micro_eur,
        invoice.correction_total_micro_eur,
        invoice.amount_due_micro_eur,
    ) == (
        0,
        0,
        0,
    )
    assert invoice.total_wh == legacy.metered_wh + first.metered_wh + second.metered_wh  # energy adds up
    verdict = await svc.stub.VerifyInvoice(
        pb.VerifyInvoiceRequest(household_id="hh-0001", month="2026-01"), metadata=owner, timeout=5
    )
    assert verdict.valid and len(verdict.lines) == 5

    # a one-currency month keeps its sums in the single-currency fields, and says which currency
    await svc.stub.AppendRecords(
        pb.AppendRecordsRequest(
            request_id="feb", records=[record_to_proto(settlement("hh-0001", hour=24 * 40))]
        ),
        metadata=service,
        timeout=10,
    )
    feb = (
        await svc.stub.GetInvoice(
            pb.GetInvoiceRequest(household_id="hh-0001", month="2026-02"), metadata=owner, timeout=5
        )
    ).invoice
    line = settlement("hh-0001", hour=24 * 40)
    assert (
        feb.currency == "EUR" and feb.total_cost_micro_eur == feb.amount_due_micro_eur == line.total_cost_ueur
    )
    assert [(t.currency, t.total_cost_micro, t.amount_due_micro) for t in feb.totals] == [
        ("EUR", line.total_cost_ueur, line.total_cost_ueur)
    ]
