"""A real server process for the graceful-shutdown test: common.server.serve with a servicer whose
GetSignedHead takes as long as the request's metadata says (so a call is in flight on SIGTERM)."""

from __future__ import annotations

import asyncio
import sys

import grpc

from common.config import from_env
from common.errors import NotFound
from common.log import configure_logging
from common.server import GrpcService, ServerConfig, serve
from energypulse.ledger.v1 import ledger_service_pb2, ledger_service_pb2_grpc, record_pb2


class SlowLedger(ledger_service_pb2_grpc.LedgerServiceServicer):
    async def GetSignedHead(
        self, request: ledger_service_pb2.GetSignedHeadRequest, context: grpc.aio.ServicerContext
    ) -> ledger_service_pb2.GetSignedHeadResponse:
        delay = float(dict(context.invocation_metadata()).get("x-delay", "0"))
        await asyncio.sleep(delay)
        return ledger_service_pb2.GetSignedHeadResponse(head=record_pb2.SignedTreeHead(tree_size=7))

    async def GetBlock(
        self, request: ledger_service_pb2.GetBlockRequest, context: grpc.aio.ServicerContext
    ) -> ledger_service_pb2.GetBlockResponse:
        raise NotFound(
            "BLOCK_NOT_FOUND", f"no block at height {request.height}", {"height": str(request.height)}
        )


def main() -> None:
    configure_logging("slow-server")
    config = from_env(ServerConfig, prefix="EP_TEST_", defaults={"port": int(sys.argv[1])})
    service = GrpcService(
        ledger_service_pb2.DESCRIPTOR.services_by_name["LedgerService"],
        ledger_service_pb2_grpc.add_LedgerServiceServicer_to_server,
        SlowLedger(),
    )
    asyncio.run(serve(config, [service]))


if __name__ == "__main__":
    main()
