"""The hardened edge on the shared stack: body and header limits, Envoy's own errors as
google.rpc.Status with a reason (JSON and gRPC), exp and kid required by Envoy itself, sign-out
revoking access tokens at other services, the password policy, browser headers and the admin
interface on a Unix socket."""

from __future__ import annotations

import http.client
import importlib.util
import json
import os
import select
import socket
import stat
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from auth_svc.testing import TokenFactory
from devstack.stack import Stack
from energypulse.errors.v1 import error_reason_pb2
from energypulse.ledger.v1 import ledger_service_pb2, ledger_service_pb2_grpc

ROOT = Path(__file__).resolve().parents[2]
TEN_MB = 10 * 1024 * 1024


def _edge_policy() -> ModuleType:
    spec = importlib.util.spec_from_file_location("edge_policy_e2e", ROOT / "envoy" / "edge_policy.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


EDGE = _edge_policy()


def _reason(body: Any) -> str:
    """The one ErrorInfo reason of a JSON google.rpc.Status (fails on anything else)."""
    assert isinstance(body, dict), body
    infos = [d for d in body.get("details", []) if d.get("@type", "").endswith("google.rpc.ErrorInfo")]
    assert len(infos) == 1, body
    reason = str(infos[0]["reason"])
    assert reason in error_reason_pb2.ErrorReason.keys(), reason
    assert infos[0]["domain"] == "energypulse.io"
    return reason


@pytest.fixture(scope="module")
def admin(stack: Stack) -> str:
    return stack.login("admin", "admin-demo")


# --- limits ----------------------------------------------------------------------------------


def _post_large(
    stack: Stack, path: str, body: bytes, token: str = "", chunked: bool = False
) -> tuple[int, Any]:
    """POST ``body`` as a client streaming it would: stop sending once Envoy has answered."""
    head = [
        f"POST {path} HTTP/1.1",
        f"host: 127.0.0.1:{stack.ports['edge']}",
        "content-type: application/json",
    ]
    head.append("transfer-encoding: chunked" if chunked else f"content-length: {len(body)}")
    if token:
        head.append(f"authorization: Bearer {token}")
    sock = socket.create_connection(("127.0.0.1", stack.ports["edge"]), timeout=30)
    try:
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        for offset in range(0, len(body), 64 * 1024):
            if select.select([sock], [], [], 0)[0]:
                break  # answered before the whole body was sent
            chunk = body[offset : offset + 64 * 1024]
            try:
                sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n" if chunked else chunk)
            except (BrokenPipeError, ConnectionResetError):
                break
        response = http.client.HTTPResponse(sock)
        response.begin()
        return response.status, json.loads(response.read())
    finally:
        sock.close()


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_10_mb_login_body_is_413_at_the_edge(stack: Stack, chunked: bool) -> None:
    body = json.dumps({"username": "household-0009", "password": "x" * TEN_MB}).encode()
    status, reply = _post_large(stack, "/api/v1/auth/login", body, chunked=chunked)
    assert status == 413 and _reason(reply) == "REQUEST_TOO_LARGE"


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_10_mb_body_with_an_unknown_field_is_413_at_the_edge(
    stack: Stack, admin: str, chunked: bool
) -> None:
    body = json.dumps({"username": "big-body", "unknownField": "x" * TEN_MB}).encode()
    status, reply = _post_large(stack, "/api/v1/users", body, token=admin, chunked=chunked)
    assert status == 413 and _reason(reply) == "REQUEST_TOO_LARGE"


def test_a_body_under_the_limit_still_works(stack: Stack) -> None:
    body = json.dumps({"username": "household-0005", "password": "demo"}) + " " * 500_000
    status, reply = stack.api("POST", "/api/v1/auth/login", raw_body=body.encode())
    assert status == 200, reply


def test_oversized_headers_are_refused_by_envoy_without_naming_them(stack: Stack, admin: str) -> None:
    """A 40 KiB header set used to reach a service, whose 429 listed every header name."""
    headers = {f"x-internal-{i}": "v" * 1000 for i in range(40)}
    status, reply = stack.api("GET", "/api/v1/ledger/head", token=admin, headers=headers)
    assert status == 431 and _reason(reply) == "REQUEST_TOO_LARGE"
    assert "x-internal" not in json.dumps(reply) and "authorization" not in json.dumps(reply)


def test_a_throttled_login_is_429_with_only_a_reason_and_a_wait(stack: Stack) -> None:
    replies = [
        stack.api("POST", "/api/v1/auth/login", {"username": "household-0007", "password": f"nope-{i}"})
        for i in range(5)
    ]
    status, reply = replies[-1]
    assert status == 429 and _reason(reply) == "LOGIN_RATE_LIMITED"
    text = json.dumps(reply)
    assert "try again in" in reply["message"]
    for internal in ("x-forwarded", "x-energypulse", "x-envoy", "authorization", ":path", "user-agent"):
        assert internal not in text


# --- one error format ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "reason"),
    [
        ("GET", "/api/v1/households", None, 401, "AUTHENTICATION_REQUIRED"),
        ("POST", "/api/v1/auth/login", b'{"username": 5', 400, "MALFORMED_REQUEST"),
        ("POST", "/api/v1/auth/login", b'{"username": ["a"]}', 400, "MALFORMED_REQUEST"),
        ("GET", "/api/v1/auth/jwks?bogus=1", None, 400, "MALFORMED_REQUEST"),
        ("DELETE", "/api/v1/auth/jwks", None, 404, "ROUTE_NOT_FOUND"),
    ],
)
def test_envoys_own_errors_are_a_status_with_one_reason(
    stack: Stack, method: str, path: str, body: bytes | None, status: int, reason: str
) -> None:
    got, reply = stack.api(method, path, raw_body=body)
    assert got == status and _reason(reply) == reason
    assert reply["message"] == EDGE.MESSAGES[reason]  # Envoy's text (protobuf types...) is not shown


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/auth/login", {"username": "household-0005", "password": "demo", "isAdmin": True}),
        ("/api/v1/users", {"username": "zed", "password": "tundra-Kv8-lake", "role": "ROLE_USER", "x": 1}),
        ("/api/v1/households:register", {"household": {"householdId": "h-x", "sneaky": 1}}),
    ],
)
def test_unknown_body_fields_are_refused_not_dropped(
    stack: Stack, admin: str, path: str, body: dict[str, Any]
) -> None:
    """The OpenAPI document says additionalProperties: false; the transcoder alone would drop them."""
    status, reply = stack.api("POST", path, body, token=admin)
    assert status == 400 and _reason(reply) == "MALFORMED_REQUEST", reply


def test_an_unknown_authenticated_route_is_404_with_a_reason(stack: Stack, admin: str) -> None:
    status, reply = stack.api("GET", "/api/v1/no-such-thing", token=admin)
    assert status == 404 and _reason(reply) == "ROUTE_NOT_FOUND"


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("expired", "TOKEN_EXPIRED"),
        ("not_yet_valid", "TOKEN_NOT_YET_VALID"),
        ("wrong_audience", "TOKEN_AUDIENCE_INVALID"),
        ("wrong_issuer", "TOKEN_ISSUER_INVALID"),
        ("unknown_kid", "TOKEN_KID_UNKNOWN"),
        ("no_kid", "TOKEN_KID_MISSING"),
        ("missing_exp", "TOKEN_INVALID"),
        ("signed_by_other_key", "TOKEN_INVALID"),
        ("alg_none", "TOKEN_MALFORMED"),
    ],
)
def test_bad_tokens_are_refused_by_envoy_itself_with_a_reason(
    stack: Stack, real_key_factory: TokenFactory, kind: str, reason: str
) -> None:
    token = real_key_factory.bad(subject="household-0001", role="user", households=["sim-h000000"])[kind]
    status, reply = stack.api("GET", "/api/v1/ledger/head", token=token)
    assert status == 401 and _reason(reply) == reason
    # The edge's own message: the request never reached ledger_svc (whose message differs).
    assert reply["message"] == EDGE.MESSAGES[reason]


def test_native_grpc_through_envoy_gets_error_info_too(stack: Stack) -> None:
    with grpc.insecure_channel(stack.target("edge")) as channel:
        stub = ledger_service_pb2_grpc.LedgerServiceStub(channel)
        with pytest.raises(grpc.RpcError) as raised:
            stub.GetSignedHead(ledger_service_pb2.GetSignedHeadRequest(), timeout=10)
    error = raised.value
    assert isinstance(error, grpc.Call)
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED
    status = rpc_status.from_call(error)
    assert status is not None and status.code == grpc.StatusCode.UNAUTHENTICATED.value[0]
    info = error_details_pb2.ErrorInfo()
    assert status.details[0].Unpack(info)
    assert (info.reason, info.domain) == ("AUTHENTICATION_REQUIRED", "energypulse.io")


# --- sessions and accounts -------------------------------------------------------------------


def test_logout_revokes_the_access_token_at_every_service(stack: Stack) -> None:
    status, session = stack.api(
        "POST", "/api/v1/auth/login", {"username": "household-0004", "password": "demo"}
    )
    assert status == 200
    access, refresh = session["tokens"]["accessToken"], session["tokens"]["refreshToken"]
    assert stack.api("GET", "/api/v1/ledger/head", token=access)[0] == 200
    status, _ = stack.api("POST", "/api/v1/auth/logout", {"refreshToken": refresh}, token=access)
    assert status == 200
    signed_out = time.monotonic()
    seen: dict[str, float] = {}
    # Waits for the push (no timing is asserted; BENCHMARKS.md has the figure).
    while len(seen) < 3 and time.monotonic() - signed_out < 30:
        for name, path in (
            ("ledger", "/api/v1/ledger/head"),
            ("telemetry", "/api/v1/grid/stats"),
            ("auth", "/api/v1/auth/me"),
        ):
            if name not in seen:
                status, reply = stack.api("GET", path, token=access)
                if status == 401:
                    assert _reason(reply) == "TOKEN_REVOKED", (name, reply)
                    seen[name] = time.monotonic() - signed_out
        time.sleep(0.05)
    print(f"access token refused after sign-out: {seen}")
    assert set(seen) == {"ledger", "telemetry", "auth"}


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("12345678", "PASSWORD_TOO_WEAK"),
        ("password", "PASSWORD_TOO_WEAK"),
        ("        ", "PASSWORD_TOO_WEAK"),
        ("qwertyuiop1", "PASSWORD_TOO_COMMON"),
        ("policy-admin-x", "PASSWORD_CONTAINS_USERNAME"),
    ],
)
@pytest.mark.parametrize("role", ["ROLE_ADMIN", "ROLE_SERVICE", "ROLE_USER"])
def test_admin_created_accounts_need_a_strong_password(
    stack: Stack, admin: str, password: str, reason: str, role: str
) -> None:
    body = {"username": "policy-admin-x", "password": password, "role": role}
    status, reply = stack.api("POST", "/api/v1/users", body, token=admin)
    assert status == 400 and _reason(reply) == reason


# --- browser and operator surfaces -----------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/index.html", "/households/sim-h000000", "/assets/missing.js"])
def test_the_dashboard_is_served_with_strict_browser_headers(stack: Stack, path: str) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", stack.ports["edge"], timeout=10)
    connection.request("GET", path)
    response = connection.getresponse()
    response.read()
    headers = {k.lower(): v for k, v in response.getheaders()}
    connection.close()
    csp = headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"


def test_the_built_dashboard_has_no_inline_script() -> None:
    index = ROOT / "dashboard" / "dist" / "index.html"
    if not index.exists():
        pytest.skip("dashboard/dist not built (scripts/test builds it)")
    html = index.read_text()
    assert "<script>" not in html and '<script type="module">' not in html
    assert all('src="' in tag for tag in html.split("<script")[1:])


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str) -> None:
        super().__init__("envoy", timeout=5)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(self._path)
        self.sock = sock


def test_envoy_admin_is_only_on_a_private_unix_socket(stack: Stack) -> None:
    path = stack.env["EP_ENVOY_ADMIN_SOCKET"]
    mode = os.stat(path).st_mode
    assert stat.S_ISSOCK(mode) and stat.S_IMODE(mode) == 0o600
    connection = _UnixConnection(path)
    connection.request("GET", "/listeners?format=json")
    listeners = json.loads(connection.getresponse().read())
    connection.close()
    addresses = [
        state["local_address"]["socket_address"]["port_value"] for state in listeners["listener_statuses"]
    ]
    assert addresses == [stack.ports["edge"]]  # the one listener; admin is not a TCP port
    # The edge does not serve the admin paths (they fall through to the dashboard's files).
    _status, body = stack.api("GET", "/config_dump")
    assert not (isinstance(body, dict) and "configs" in body)
    stack.api("POST", "/quitquitquit")
    assert stack.api("GET", "/healthz")[0] == 200
