"""The ledger's public JSON API over HTTP, with an injectable transport (tests, proxies)."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any, TypedDict

__all__ = [
    "ApiError",
    "Block",
    "BlockPage",
    "BlockResponse",
    "ConsistencyProof",
    "HeadResponse",
    "InclusionProof",
    "Invoice",
    "LedgerApi",
    "SignedHead",
    "Transaction",
    "Transport",
    "urllib_transport",
]

# (method, url, headers, body) -> (HTTP status, response body)
Transport = Callable[[str, str, dict[str, str], bytes | None], tuple[int, bytes]]


# The API's proto3 JSON, as far as the verifier reads it: lowerCamelCase names, int64 as strings,
# fields at their default value omitted (hence total=False; a missing field the checks need is a
# KeyError, reported as a transport/format error).


class SignedHead(TypedDict, total=False):
    treeSize: str
    rootHash: str
    timestamp: str
    signature: str
    keyId: str


class HeadResponse(TypedDict, total=False):
    head: SignedHead
    publicKey: str


class Transaction(TypedDict, total=False):
    txHash: str
    prevTxHash: str
    leafIndex: str
    appendTime: str
    salt: str
    # {"settlement": {...}} or {"prediction": {...}}: every field a string in proto3 JSON
    record: dict[str, dict[str, str]]


class InclusionProof(TypedDict, total=False):
    auditPath: list[str]


class ConsistencyProof(TypedDict, total=False):
    proof: list[str]


class Block(TypedDict, total=False):
    height: str
    prevBlockHash: str
    merkleRoot: str
    txCount: int
    firstLeafIndex: str
    sealTime: str
    blockHash: str


class BlockPage(TypedDict, total=False):
    blocks: list[Block]
    nextPageToken: str


class BlockResponse(TypedDict, total=False):
    block: Block
    transactions: list[Transaction]


class InvoiceLine(TypedDict, total=False):
    transaction: Transaction


class Invoice(TypedDict, total=False):
    householdId: str
    lines: list[InvoiceLine]
    meterKeys: list[Transaction]
    missingPeriods: list[dict[str, str]]
    periodStart: str
    periodEnd: str
    totalWh: str
    totalCostMicroEur: str
    corrections: list[Transaction]
    correctionTotalMicroEur: str
    amountDueMicroEur: str
    totals: list[dict[str, object]]
    currency: str
    unbilled: list[Transaction]


class CheckpointResponse(TypedDict, total=False):
    checkpoint: str
    treeSize: str
    fromSize: str
    consistencyProof: list[str]
    verifierKey: str


class ApiError(RuntimeError):
    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"HTTP {status}: {body[:300]}")
        self.status = status


def urllib_transport(timeout: float = 30.0) -> Transport:
    def send(method: str, url: str, headers: dict[str, str], body: bytes | None) -> tuple[int, bytes]:
        request = urllib.request.Request(url, data=body, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as err:
            return err.code, err.read()

    return send


class LedgerApi:
    def __init__(self, base_url: str, token: str = "", transport: Transport | None = None) -> None:
        self._base = base_url.rstrip("/")
        self._token = token
        self._send = transport or urllib_transport()

    def _call(
        self, method: str, path: str, query: Mapping[str, str | int] | None = None, body: object = None
    ) -> Any:  # parsed JSON; each caller below names the shape it expects
        url = self._base + path
        if query:
            url += "?" + urllib.parse.urlencode({k: v for k, v in query.items() if v not in (None, "")})
        headers = {"accept": "application/json"}
        if self._token:
            headers["authorization"] = f"Bearer {self._token}"
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["content-type"] = "application/json"
        status, raw = self._send(method, url, headers, data)
        if status != 200:
            raise ApiError(status, raw.decode(errors="replace"))
        return json.loads(raw or b"{}")

    def head(self) -> HeadResponse:
        response: HeadResponse = self._call("GET", "/api/v1/ledger/head")
        return response

    def transaction(self, tx_hash: str) -> Transaction:
        tx: Transaction = self._call("GET", f"/api/v1/ledger/transactions/{tx_hash}")["transaction"]
        return tx

    def inclusion_proof(self, tx_hash: str, tree_size: int) -> InclusionProof:
        proof: InclusionProof = self._call(
            "GET", f"/api/v1/ledger/transactions/{tx_hash}/inclusion-proof", {"tree_size": tree_size}
        )
        return proof

    def consistency_proof(self, first: int, second: int) -> ConsistencyProof:
        proof: ConsistencyProof = self._call(
            "GET", "/api/v1/ledger/consistency-proof", {"first_size": first, "second_size": second}
        )
        return proof

    def checkpoint(self, from_size: int = 0) -> CheckpointResponse:
        response: CheckpointResponse = self._call(
            "GET", "/api/v1/ledger/checkpoint", {"from_size": from_size}
        )
        return response

    def witness_checkpoint(self, witness_url: str) -> str:
        """The witness's last cosigned checkpoint, from the witness's own endpoint."""
        status, raw = self._send(
            "GET", witness_url.rstrip("/") + "/checkpoint", {"accept": "text/plain"}, None
        )
        if status != 200:
            raise ApiError(status, raw.decode(errors="replace"))
        return raw.decode()

    def blocks(self, page_size: int = 200, page_token: str = "") -> BlockPage:
        page: BlockPage = self._call(
            "GET", "/api/v1/ledger/blocks", {"page_size": page_size, "page_token": page_token}
        )
        return page

    def block(self, height: int) -> BlockResponse:
        response: BlockResponse = self._call("GET", f"/api/v1/ledger/blocks/{height}")
        return response

    def invoice(self, household_id: str, month: str) -> Invoice:
        path = f"/api/v1/households/{urllib.parse.quote(household_id, safe='')}/invoices/{month}"
        invoice: Invoice = self._call("GET", path)["invoice"]
        return invoice
