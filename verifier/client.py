"""The ledger's public JSON API over HTTP, with an injectable transport (tests, proxies)."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["ApiError", "LedgerApi", "Transport", "urllib_transport"]

# (method, url, headers, body) -> (HTTP status, response body)
Transport = Callable[[str, str, dict[str, str], bytes | None], tuple[int, bytes]]


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
    ) -> Any:  # parsed JSON
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

    def head(self) -> Any:
        return self._call("GET", "/api/v1/ledger/head")

    def transaction(self, tx_hash: str) -> Any:
        return self._call("GET", f"/api/v1/ledger/transactions/{tx_hash}")["transaction"]

    def inclusion_proof(self, tx_hash: str, tree_size: int) -> Any:
        return self._call(
            "GET", f"/api/v1/ledger/transactions/{tx_hash}/inclusion-proof", {"tree_size": tree_size}
        )

    def consistency_proof(self, first: int, second: int) -> Any:
        return self._call(
            "GET", "/api/v1/ledger/consistency-proof", {"first_size": first, "second_size": second}
        )

    def blocks(self, page_size: int = 200, page_token: str = "") -> Any:
        return self._call("GET", "/api/v1/ledger/blocks", {"page_size": page_size, "page_token": page_token})

    def block(self, height: int) -> Any:
        return self._call("GET", f"/api/v1/ledger/blocks/{height}")

    def invoice(self, household_id: str, month: str) -> Any:
        path = f"/api/v1/households/{urllib.parse.quote(household_id, safe='')}/invoices/{month}"
        return self._call("GET", path)["invoice"]
