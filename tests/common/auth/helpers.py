"""Shared helpers of the common.auth tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping

from auth_svc.testing import TokenFactory
from common.auth.caller import Caller, caller
from common.auth.keys import StaticKeySource
from common.auth.remote import CachedRevocations
from common.auth.revocations import Revocation
from common.auth.verifier import TokenVerifier
from energypulse.telemetry.v1 import telemetry_service_pb2 as tpb
from energypulse.telemetry.v1 import telemetry_service_pb2_grpc as tgrpc

NOW = 1_750_000_000.0


class Clock:
    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class FixedRevocations(CachedRevocations):
    def __init__(self, entries: Mapping[str, Revocation]) -> None:
        async def fetch() -> Mapping[str, Revocation]:
            return entries

        super().__init__(fetch, max_age_s=0)


def make_verifier(factory: TokenFactory, clock: Clock, **kwargs: object) -> TokenVerifier:
    return TokenVerifier(
        StaticKeySource(lambda: {factory.kid: factory.public_key}),
        issuer=factory.issuer,
        audience=factory.audience,
        clock=clock,
        **kwargs,  # type: ignore[arg-type]
    )


class TelemetryProbe(tgrpc.TelemetryServiceServicer):
    """Records which caller each handler saw."""

    def __init__(self) -> None:
        self.seen: list[Caller] = []

    async def GetHouseholdSummary(
        self, request: tpb.GetHouseholdSummaryRequest, context: object
    ) -> tpb.GetHouseholdSummaryResponse:
        self.seen.append(caller(context))
        return tpb.GetHouseholdSummaryResponse(household_id=request.household_id)

    async def StreamReadings(
        self, request: tpb.StreamReadingsRequest, context: object
    ) -> AsyncIterator[tpb.StreamReadingsResponse]:
        for _ in range(2):
            self.seen.append(caller(context))
            yield tpb.StreamReadingsResponse()

    async def GetGridStats(
        self, request: tpb.GetGridStatsRequest, context: object
    ) -> tpb.GetGridStatsResponse:
        self.seen.append(caller(context))
        return tpb.GetGridStatsResponse(readings_stored=7)

    async def RegisterHouseholds(
        self, request: tpb.RegisterHouseholdsRequest, context: object
    ) -> tpb.RegisterHouseholdsResponse:
        self.seen.append(caller(context))
        return tpb.RegisterHouseholdsResponse()
