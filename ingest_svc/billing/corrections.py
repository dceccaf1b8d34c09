"""Operator corrections of billed periods (docs/ledger-spec.md §17.6).

An administrator corrects a household's billed settlement period by an amount (a credit or a
charge) with a reason. Billing writes it to the ledger as a CORRECTION record under its own
service identity (only it may append, §10), with the administrator's identity taken from the
verified token (the caller of the RPC, never a request field), then records BILL_CORRECTED in
auth_svc's audit log. The settlement it corrects is never touched: the ledger is append-only.

Order and retries: the ledger append comes first and is idempotent by request id; if the audit
call then fails, the administrator's retry with the same request id replays the append (the
same receipt) and records the audit event. The audit event is idempotent by the same ledger
request id (RecordAuditEvent.idempotency_key): a retry of a correction that was already audited
adds no second BILL_CORRECTED event. The ledger is the authority on what may be
corrected (a billed period of the household, CORRECTION_PERIOD_NOT_BILLED otherwise): its
refusals are relayed with their reason.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import grpc

from common import timestamps
from common.errors import (
    EnergyPulseError,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Unavailable,
    error_info,
)
from common.log import get_logger
from energypulse.auth.v1 import auth_service_pb2
from energypulse.errors.v1 import error_reason_pb2 as reasons
from energypulse.ledger.v1 import ledger_service_pb2, record_pb2
from ingest_svc.billing.ports import AuditLog, CorrectionLedger

__all__ = ["AUDIT_ACTION", "MAX_REASON_BYTES", "CorrectionReceipt", "Corrections"]

log = get_logger(__name__)

AUDIT_ACTION = "BILL_CORRECTED"
MAX_REASON_BYTES = 256  # the ledger's string bound (spec §17.6)
MAX_REQUEST_ID_LEN = 100  # the ledger's is 128, less our "correction:" prefix

_RELAYED: dict[grpc.StatusCode, type[EnergyPulseError]] = {
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgument,
    grpc.StatusCode.OUT_OF_RANGE: InvalidArgument,
    grpc.StatusCode.FAILED_PRECONDITION: FailedPrecondition,
    grpc.StatusCode.NOT_FOUND: NotFound,
}


@dataclass(frozen=True, slots=True)
class CorrectionReceipt:
    tx_hash: str
    leaf_index: int
    operator: str
    replayed: bool


class Corrections:
    """CorrectBilledPeriod's rules: what is checked here, what the ledger decides, what is audited."""

    def __init__(self, ledger: CorrectionLedger, audit: AuditLog, currency: str) -> None:
        # The bill's currency (the rule set's): the ledger refuses a correction in another
        # currency than the period was billed in.
        self._ledger = ledger
        self._audit = audit
        self._currency = currency

    async def correct(
        self,
        operator: str,
        household_id: str,
        period_start_ms: int,
        period_seconds: int,
        amount_micro_eur: int,
        reason: str,
        request_id: str = "",
        currency: str = "",
    ) -> CorrectionReceipt:
        """Append the correction and audit it; ``operator`` is the verified caller's subject."""
        if not operator:
            raise PermissionDenied(reasons.ROLE_NOT_PERMITTED, "a correction needs a signed-in administrator")
        if not household_id:
            raise InvalidArgument(reasons.MISSING_HOUSEHOLD, "household_id is required")
        if not reason.strip():
            raise InvalidArgument(reasons.CORRECTION_REASON_REQUIRED, "a correction needs a reason")
        if len(reason.encode("utf-8")) > MAX_REASON_BYTES:
            raise InvalidArgument(
                reasons.CORRECTION_REASON_TOO_LONG,
                f"the reason is longer than {MAX_REASON_BYTES} UTF-8 bytes",
            )
        if len(request_id) > MAX_REQUEST_ID_LEN:
            raise InvalidArgument(
                reasons.REQUEST_ID_TOO_LONG, f"request_id is longer than {MAX_REQUEST_ID_LEN} characters"
            )
        record = record_pb2.CorrectionRecord(
            household_id=household_id,
            period_start=timestamps.from_ms(period_start_ms),
            period_seconds=period_seconds,
            amount_micro=amount_micro_eur,
            currency=currency or self._currency,
            reason=reason,
            operator=operator,
        )
        ledger_request_id = f"correction:{request_id or uuid.uuid4().hex}"
        try:
            response = await self._ledger.append_now(
                ledger_service_pb2.AppendRecordsRequest(
                    request_id=ledger_request_id, records=[record_pb2.Record(correction=record)]
                )
            )
        except grpc.aio.AioRpcError as exc:
            raise _relayed(exc, "ledger") from exc
        receipt = response.receipts[0]
        detail = (
            f"period_start={timestamps.to_ms(record.period_start)} period_seconds={period_seconds} "
            f"amount_micro_eur={amount_micro_eur} tx={receipt.tx_hash} request_id={ledger_request_id} "
            f"replayed={str(response.replayed).lower()} reason={reason}"
        )
        try:
            await self._audit.record(
                auth_service_pb2.RecordAuditEventRequest(
                    actor=operator,
                    action=AUDIT_ACTION,
                    target=household_id,
                    detail=detail,
                    # One correction, one event: the ledger request id is what makes the
                    # correction unique and is the same on every retry of it.
                    idempotency_key=ledger_request_id,
                )
            )
        except grpc.aio.AioRpcError as exc:
            log.warning("correction_not_audited", tx=receipt.tx_hash, request_id=ledger_request_id)
            raise _relayed(exc, "audit log") from exc
        log.info("bill_corrected", household=household_id, operator=operator, tx=receipt.tx_hash)
        return CorrectionReceipt(receipt.tx_hash, receipt.leaf_index, operator, response.replayed)


def _relayed(exc: grpc.aio.AioRpcError, where: str) -> EnergyPulseError:
    """The receiver's refusal with its own reason; anything else is a retryable outage."""
    info = error_info(exc)
    kind = _RELAYED.get(exc.code())
    if kind is not None and info is not None:
        try:
            return kind(info.reason, exc.details() or "")
        except ValueError:  # a reason this build does not know: report it as an outage
            pass
    return Unavailable(
        reasons.UPSTREAM_UNAVAILABLE,
        f"the {where} did not take the correction ({exc.code().name}); retry with the same request_id",
    )
