"""Billing's RPC of TelemetryService (CorrectBilledPeriod): thin; the rules live in
corrections.py. Mixed into the TelemetryService servicer (ingest_svc/server.py) like the devices
room's RPCs."""

from __future__ import annotations

import grpc

from common import timestamps
from common.auth.caller import caller
from common.errors import InvalidArgument, PermissionDenied, Unavailable
from energypulse.errors.v1 import error_reason_pb2 as reasons
from energypulse.telemetry.v1 import telemetry_service_pb2 as pb
from ingest_svc.billing.corrections import Corrections

__all__ = ["CorrectionRpcs"]


class CorrectionRpcs:
    corrections: Corrections | None = None  # None when billing is off (EP_INGEST_BRIDGE=0)

    async def CorrectBilledPeriod(
        self,
        request: pb.CorrectBilledPeriodRequest,
        context: grpc.aio.ServicerContext[pb.CorrectBilledPeriodRequest, pb.CorrectBilledPeriodResponse],
    ) -> pb.CorrectBilledPeriodResponse:
        who = caller(context)
        if not who.is_admin:  # the access rule says so too; the operator must be a person
            raise PermissionDenied(reasons.ROLE_NOT_PERMITTED, "only an administrator corrects a bill")
        if self.corrections is None:
            raise Unavailable(
                reasons.UPSTREAM_UNAVAILABLE, "billing is off on this replica (EP_INGEST_BRIDGE=0)"
            )
        if not request.HasField("period_start"):
            raise InvalidArgument(reasons.MISSING_FIELD, "period_start is required")
        done = await self.corrections.correct(
            who.subject,
            request.household_id,
            timestamps.to_exact_ms(request.period_start, "period_start"),
            request.period_seconds,
            request.amount_micro_eur,
            request.reason,
            request.request_id,
            request.currency,
        )
        return pb.CorrectBilledPeriodResponse(
            tx_hash=done.tx_hash, leaf_index=done.leaf_index, operator=done.operator, replayed=done.replayed
        )
