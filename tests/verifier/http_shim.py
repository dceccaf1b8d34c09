"""A tiny stand-in for Envoy's gRPC-JSON transcoder: HTTP/JSON in, real LedgerService gRPC out.

Only the GET routes the verifier uses; JSON is rendered the way the transcoder is configured
(lowerCamelCase, primitive fields always printed).
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import grpc
from google.protobuf import json_format

from energypulse.ledger.v1 import ledger_service_pb2 as pb
from energypulse.ledger.v1 import ledger_service_pb2_grpc
from tests.local_http import QuietHandler, serve_http

_HTTP_STATUS = {
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.FAILED_PRECONDITION: 400,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.NOT_FOUND: 404,
}


def _routes(
    stub: ledger_service_pb2_grpc.LedgerServiceStub,
) -> list[tuple[re.Pattern[str], Callable[..., Any]]]:
    def q(query: dict[str, list[str]], name: str, default: str = "0") -> str:
        return query.get(name, [default])[0]

    return [
        (
            re.compile(r"^/api/v1/ledger/head$"),
            lambda m, qs, md: stub.GetSignedHead(pb.GetSignedHeadRequest(), metadata=md),
        ),
        (
            re.compile(r"^/api/v1/ledger/transactions/([^/]+)/inclusion-proof$"),
            lambda m, qs, md: stub.GetInclusionProof(
                pb.GetInclusionProofRequest(tx_hash=m[1], tree_size=int(q(qs, "tree_size"))), metadata=md
            ),
        ),
        (
            re.compile(r"^/api/v1/ledger/transactions/([^/]+)$"),
            lambda m, qs, md: stub.GetTransaction(pb.GetTransactionRequest(tx_hash=m[1]), metadata=md),
        ),
        (
            re.compile(r"^/api/v1/ledger/checkpoint$"),
            lambda m, qs, md: stub.GetCheckpoint(pb.GetCheckpointRequest(from_size=int(q(qs, "from_size")))),
        ),
        (
            re.compile(r"^/api/v1/ledger/consistency-proof$"),
            lambda m, qs, md: stub.GetConsistencyProof(
                pb.GetConsistencyProofRequest(
                    first_size=int(q(qs, "first_size")), second_size=int(q(qs, "second_size"))
                ),
                metadata=md,
            ),
        ),
        (
            re.compile(r"^/api/v1/ledger/blocks$"),
            lambda m, qs, md: stub.ListBlocks(
                pb.ListBlocksRequest(page_size=int(q(qs, "page_size")), page_token=q(qs, "page_token", "")),
                metadata=md,
            ),
        ),
        (
            re.compile(r"^/api/v1/ledger/blocks/(\d+)$"),
            lambda m, qs, md: stub.GetBlock(pb.GetBlockRequest(height=int(m[1])), metadata=md),
        ),
        (
            re.compile(r"^/api/v1/households/([^/]+)/invoices/([^/]+)$"),
            lambda m, qs, md: stub.GetInvoice(
                pb.GetInvoiceRequest(household_id=urllib.parse.unquote(m[1]), month=m[2]), metadata=md
            ),
        ),
    ]


@contextmanager
def json_gateway(grpc_port: int) -> Iterator[str]:
    """Serve the JSON API on a free port; yields its base URL."""
    channel = grpc.insecure_channel(f"127.0.0.1:{grpc_port}")
    routes = _routes(ledger_service_pb2_grpc.LedgerServiceStub(channel))

    class Handler(QuietHandler):
        def do_GET(self) -> None:
            url = urllib.parse.urlsplit(self.path)
            metadata = (
                [("authorization", self.headers["authorization"])] if self.headers["authorization"] else []
            )
            for pattern, call in routes:
                match = pattern.match(url.path)
                if match:
                    try:
                        reply = call(match, urllib.parse.parse_qs(url.query), metadata)
                        self._send(
                            200, json_format.MessageToJson(reply, always_print_fields_with_no_presence=True)
                        )
                    except grpc.RpcError as err:
                        code = err.code()  # type: ignore[attr-defined]
                        self._send(_HTTP_STATUS.get(code, 500), f'{{"code": {code.value[0]}}}')
                    return
            self._send(404, '{"code": 5}')

        def _send(self, status: int, body: str) -> None:
            self.reply(status, {"content-type": "application/json"}, body.encode())

    try:
        with serve_http(Handler) as url:
            yield url
    finally:
        channel.close()
