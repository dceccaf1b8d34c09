"""LedgerService RPC handlers: thin; the ledger does the work on a worker thread."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable
from typing import ParamSpec, TypeVar
from zoneinfo import ZoneInfo

import grpc

from common import timestamps
from common.auth.access import role_name
from common.auth.caller import Caller, caller
from common.errors import FailedPrecondition, InvalidArgument, PermissionDenied
from common.paging import Pager
from energypulse.auth.v1 import user_pb2
from energypulse.errors.v1 import error_reason_pb2 as reasons
from energypulse.ledger.v1 import ledger_service_pb2 as pb
from energypulse.ledger.v1 import ledger_service_pb2_grpc
from ledger_svc import convert
from ledger_svc.canonical import Correction, Settlement, SettlementV2
from ledger_svc.freshness import NewestBlocks, SharedHead
from ledger_svc.invoices import coverage, currency_sums, month_bounds_ms, verify_line
from ledger_svc.ledger import Ledger
from ledger_svc.reads import StoredTx
from ledger_svc.visibility import may_read_record

__all__ = ["LedgerServicer"]

P = ParamSpec("P")
T = TypeVar("T")
_BLOCK_PAGES = Pager("energypulse.ledger.v1.LedgerService/ListBlocks", default_size=20, max_size=200)


def _show(who: Caller, tx: StoredTx) -> bool:
    return may_read_record(role_name(who.role), who.households, tx.record.household_id)


class LedgerServicer(ledger_service_pb2_grpc.LedgerServiceServicer):
    def __init__(
        self,
        ledger: Ledger,
        invoice_tz: ZoneInfo,
        max_append_batch: int = 10000,
        head_max_age_ms: int = 0,
        *,
        writers: frozenset[str] = frozenset({"ingest"}),
        origin: str = "energypulse.local/ledger",
    ) -> None:
        # head_max_age_ms 0: sign a fresh head (and read the newest blocks) on every call.
        # writers: the service accounts that may append (the access rule already refuses admins).
        self._ledger = ledger
        self._writers = writers
        self._origin = origin
        self._tz = invoice_tz
        self._max_batch = max_append_batch
        self._head = SharedHead(ledger, head_max_age_ms, self._run)
        self._newest_blocks = NewestBlocks(ledger, head_max_age_ms, self._run)

    async def _run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        return await asyncio.to_thread(fn, *args, **kwargs)

    async def AppendRecords(
        self,
        request: pb.AppendRecordsRequest,
        context: grpc.aio.ServicerContext[pb.AppendRecordsRequest, pb.AppendRecordsResponse],
    ) -> pb.AppendRecordsResponse:
        who = caller(context)
        if who.role != user_pb2.ROLE_SERVICE or who.subject not in self._writers:
            raise PermissionDenied(
                reasons.LEDGER_WRITER_NOT_PERMITTED,
                "only the billing service's account may append settlements and forecasts",
            )
        if len(request.records) > self._max_batch:
            raise InvalidArgument(reasons.BATCH_TOO_LARGE, f"at most {self._max_batch} records per append")
        records = [convert.record_from_proto(r) for r in request.records]
        result = await self._run(self._ledger.append, records, request.request_id)
        return pb.AppendRecordsResponse(
            receipts=[convert.receipt_to_proto(r) for r in result.receipts], replayed=result.replayed
        )

    async def GetBlock(
        self,
        request: pb.GetBlockRequest,
        context: grpc.aio.ServicerContext[pb.GetBlockRequest, pb.GetBlockResponse],
    ) -> pb.GetBlockResponse:
        who = caller(context)
        if request.height < 0:
            raise InvalidArgument(reasons.BAD_HEIGHT, "height must be >= 0")
        block, _hashes = await self._run(self._ledger.get_block, request.height)
        txs = await self._run(self._ledger.transactions_range, block.first_tx_index, block.tx_count)
        return pb.GetBlockResponse(
            block=convert.block_to_proto(block),
            transactions=[convert.tx_to_proto(t, _show(who, t)) for t in txs],
        )

    async def ListBlocks(
        self,
        request: pb.ListBlocksRequest,
        context: grpc.aio.ServicerContext[pb.ListBlocksRequest, pb.ListBlocksResponse],
    ) -> pb.ListBlocksResponse:
        caller(context)
        size = _BLOCK_PAGES.size(request.page_size)
        start = _BLOCK_PAGES.decode_int(request.page_token)
        # The newest page, which every dashboard polls, is shared and reused (freshness.py); older
        # pages are sealed blocks, served from memory once read (no thread hop, no DB).
        if start is None:
            blocks = await self._newest_blocks.get(size)
        else:
            cached = self._ledger.cached_blocks(start, size)
            blocks = cached if cached is not None else await self._run(self._ledger.blocks_page, start, size)
        last = blocks[-1].height if blocks else 0
        token = _BLOCK_PAGES.encode(last - 1) if blocks and last > 0 and len(blocks) == size else ""
        return pb.ListBlocksResponse(
            blocks=[convert.block_to_proto(b) for b in blocks], next_page_token=token
        )

    async def GetTransaction(
        self,
        request: pb.GetTransactionRequest,
        context: grpc.aio.ServicerContext[pb.GetTransactionRequest, pb.GetTransactionResponse],
    ) -> pb.GetTransactionResponse:
        who = caller(context)
        tx = await self._run(self._ledger.get_transaction, None, convert.parse_hash(request.tx_hash))
        return pb.GetTransactionResponse(transaction=convert.tx_to_proto(tx, _show(who, tx)))

    async def GetSignedHead(
        self,
        request: pb.GetSignedHeadRequest,
        context: grpc.aio.ServicerContext[pb.GetSignedHeadRequest, pb.GetSignedHeadResponse],
    ) -> pb.GetSignedHeadResponse:
        caller(context)
        # A recent head is served inline (no thread hop, no DB, no signature): see freshness.py.
        sth = await self._head.get()
        return pb.GetSignedHeadResponse(
            head=convert.head_to_proto(sth), public_key=base64.b64encode(sth.public_key).decode()
        )

    async def GetInclusionProof(
        self,
        request: pb.GetInclusionProofRequest,
        context: grpc.aio.ServicerContext[pb.GetInclusionProofRequest, pb.GetInclusionProofResponse],
    ) -> pb.GetInclusionProofResponse:
        caller(context)
        if request.tree_size < 0:
            raise InvalidArgument(reasons.BAD_TREE_SIZE, "tree_size must be >= 0")
        tx = await self._run(self._ledger.get_transaction, None, convert.parse_hash(request.tx_hash))
        size = request.tree_size or await self._run(self._ledger.tree_size)
        if tx.leaf_index >= size:
            raise FailedPrecondition(
                reasons.TX_NOT_IN_TREE, f"leaf {tx.leaf_index} is not in a tree of size {size}"
            )
        _leaf, path = await self._run(self._ledger.inclusion_proof, tx.leaf_index, size)
        return pb.GetInclusionProofResponse(
            leaf_index=tx.leaf_index, tree_size=size, audit_path=[p.hex() for p in path]
        )

    async def GetConsistencyProof(
        self,
        request: pb.GetConsistencyProofRequest,
        context: grpc.aio.ServicerContext[pb.GetConsistencyProofRequest, pb.GetConsistencyProofResponse],
    ) -> pb.GetConsistencyProofResponse:
        caller(context)
        second = request.second_size or await self._run(self._ledger.tree_size)
        if request.first_size < 0 or request.first_size > second:
            raise InvalidArgument(reasons.BAD_TREE_SIZE, f"first_size must be in [0, {second}]")
        proof = await self._run(self._ledger.consistency_proof, request.first_size, second)
        return pb.GetConsistencyProofResponse(
            first_size=request.first_size, second_size=second, proof=[p.hex() for p in proof]
        )

    async def GetCheckpoint(
        self,
        request: pb.GetCheckpointRequest,
        context: grpc.aio.ServicerContext[pb.GetCheckpointRequest, pb.GetCheckpointResponse],
    ) -> pb.GetCheckpointResponse:
        # Public (no caller): the checkpoint carries only the size and root every head shows.
        sth = await self._head.get()
        size = sth.head.tree_size
        if not 0 <= request.from_size <= size:
            raise InvalidArgument(reasons.BAD_TREE_SIZE, f"from_size must be in [0, {size}]")
        proof: list[bytes] = []
        if 0 < request.from_size < size:
            proof = await self._run(self._ledger.consistency_proof, request.from_size, size)
        signer = self._ledger.signer
        return pb.GetCheckpointResponse(
            checkpoint=signer.checkpoint(self._origin, size, sth.head.root_hash),
            tree_size=size,
            from_size=request.from_size,
            consistency_proof=[p.hex() for p in proof],
            verifier_key=signer.verifier_key(self._origin),
        )

    async def VerifyChain(
        self,
        request: pb.VerifyChainRequest,
        context: grpc.aio.ServicerContext[pb.VerifyChainRequest, pb.VerifyChainResponse],
    ) -> pb.VerifyChainResponse:
        caller(context)
        if request.start_height < 0:
            raise InvalidArgument(reasons.BAD_HEIGHT, "start_height must be >= 0")
        end = request.end_height if request.end_height > 0 else None
        if end is not None and end < request.start_height:
            raise InvalidArgument(reasons.BAD_HEIGHT, "end_height must not precede start_height")
        report = await self._run(self._ledger.verify_chain, request.start_height, end)
        return pb.VerifyChainResponse(
            valid=report.ok,
            blocks_checked=report.blocks_checked,
            transactions_checked=report.txs_checked,
            first_bad_height=-1 if report.first_bad_height is None else report.first_bad_height,
            reason=report.reason,
            detail=report.detail,
        )

    async def _invoice_lines(self, household_id: str, month: str) -> tuple[list[StoredTx], int, int]:
        if not household_id:
            raise InvalidArgument(reasons.MISSING_HOUSEHOLD, "household_id is required")
        start, end = month_bounds_ms(month, self._tz)
        lines = await self._run(self._ledger.household_settlements, household_id, start, end)
        return lines, start, end

    async def GetInvoice(
        self,
        request: pb.GetInvoiceRequest,
        context: grpc.aio.ServicerContext[pb.GetInvoiceRequest, pb.GetInvoiceResponse],
    ) -> pb.GetInvoiceResponse:
        who = caller(context)
        who.require_household(request.household_id)
        lines, start, end = await self._invoice_lines(request.household_id, request.month)
        show = may_read_record(role_name(who.role), who.households, request.household_id)
        settled = [t.record for t in lines if isinstance(t.record, Settlement | SettlementV2)]
        unbilled = await self._run(self._ledger.household_unbilled, request.household_id, start, end)
        covers = coverage(lines, start, end, self._ledger.clock(), unbilled)
        keys = (
            await self._run(self._ledger.household_meter_keys, request.household_id)
            if not covers.legacy
            else []
        )
        corrections = await self._run(self._ledger.household_corrections, request.household_id, start, end)
        sums = currency_sums(settled, [t.record for t in corrections if isinstance(t.record, Correction)])
        # One currency: the single-currency fields carry its sums; several: each has its own, in
        # ``totals``, and nothing is added across them.
        one = sums[0] if len(sums) == 1 else None
        invoice = pb.Invoice(
            household_id=request.household_id,
            month=request.month,
            lines=[pb.InvoiceLine(transaction=convert.tx_to_proto(t, show)) for t in lines],
            total_wh=sum(r.metered_wh for r in settled),
            total_cost_micro_eur=one.cost if one else 0,
            period_start=timestamps.from_ms(start),
            period_end=timestamps.from_ms(end),
            settlement_period_seconds=covers.period_ms // 1000,
            expected_periods=covers.expected,
            covered_periods=covers.covered,
            missing_periods=[
                pb.MissingPeriod(
                    period_start=timestamps.from_ms(m.start_ms),
                    reason=m.reason,
                    detail=m.detail,
                    tx_hash=m.tx_hash.hex(),
                )
                for m in covers.missing
            ],
            unbilled=[convert.tx_to_proto(t, show) for t in unbilled],
            legacy=covers.legacy,
            open_periods=covers.open,
            meter_keys=[convert.tx_to_proto(t, show) for t in keys],
            corrections=[convert.tx_to_proto(t, show) for t in corrections],
            correction_total_micro_eur=one.corrections if one else 0,
            amount_due_micro_eur=one.due if one else 0,
            totals=[
                pb.CurrencyTotal(
                    currency=c.currency,
                    line_count=c.lines,
                    total_wh=c.wh,
                    total_cost_micro=c.cost,
                    correction_total_micro=c.corrections,
                    amount_due_micro=c.due,
                )
                for c in sums
            ],
            currency=one.currency if one else "",
        )
        return pb.GetInvoiceResponse(invoice=invoice)

    async def VerifyInvoice(
        self,
        request: pb.VerifyInvoiceRequest,
        context: grpc.aio.ServicerContext[pb.VerifyInvoiceRequest, pb.VerifyInvoiceResponse],
    ) -> pb.VerifyInvoiceResponse:
        who = caller(context)
        who.require_household(request.household_id)
        lines, start, end = await self._invoice_lines(request.household_id, request.month)
        corrections = await self._run(self._ledger.household_corrections, request.household_id, start, end)
        unbilled = await self._run(self._ledger.household_unbilled, request.household_id, start, end)
        proven = lines + corrections + unbilled
        return await self._run(self._verify_invoice, sorted(proven, key=lambda t: t.leaf_index))

    def _verify_invoice(self, lines: list[StoredTx]) -> pb.VerifyInvoiceResponse:
        sth = self._ledger.signed_head()
        size, root = sth.head.tree_size, sth.head.root_hash
        verdicts = []
        for tx in lines:
            proof = self._ledger.inclusion_proof(tx.leaf_index, size)[1] if tx.leaf_index < size else None
            v = verify_line(tx, size, root, proof)
            verdicts.append(
                pb.LineVerdict(
                    tx_hash=v.tx_hash.hex(),
                    hash_valid=v.hash_valid,
                    inclusion_valid=v.inclusion_valid,
                    reason=v.reason,
                )
            )
        return pb.VerifyInvoiceResponse(
            valid=all(v.hash_valid and v.inclusion_valid for v in verdicts),
            head=convert.head_to_proto(sth),
            lines=verdicts,
        )
