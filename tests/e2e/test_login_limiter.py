"""The login throttle end to end: two auth_svc replicas on one PostgreSQL database behind Envoy,
which trusts one proxy hop in front of it (EP_EDGE_TRUSTED_HOPS=1, as behind a load balancer).

The test plays the load balancer: it sends ``x-forwarded-for: <anything>, <client>``, of which
Envoy believes only the last entry (what the trusted proxy appended). An attacker hammering an
account does not stop its owner, signing in from another address, with the right password;
rotating headers does not reset the attacker's limit; the replicas share the counters. Once
auth_svc has refused a pair (or an address), the edge refuses it by itself until then: a flood of
throttled attempts no longer reaches auth_svc (counted with Envoy's own upstream request stat).

The first throttle delay is 30 s here (EP_AUTH_THROTTLE_BASE_DELAY_S), so a tripped throttle holds
for the whole test instead of 1 s, whatever the machine's load.
"""

from __future__ import annotations

import http.client
import json
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from devstack.stack import Stack, start_stack
from energypulse.auth.v1 import auth_service_pb2, auth_service_pb2_grpc
from tests.conftest import private_database

ATTACKER = "203.0.113.9"
OWNER_HOME = "198.51.100.7"


@pytest.fixture(scope="module")
def shared_db(postgres_url: str) -> Iterator[str]:
    with private_database(postgres_url, "ep_limiter") as url:
        yield url


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory, shared_db: str) -> Iterator[Stack]:
    var_dir: Path = tmp_path_factory.mktemp("limiter")
    stack = start_stack(
        var_dir,
        ["auth_svc", "envoy"],
        meters=3,
        timeout=120,
        replicas={"auth_svc": 2},
        database_url=shared_db,
        extra_env={"EP_EDGE_TRUSTED_HOPS": "1", "EP_AUTH_THROTTLE_BASE_DELAY_S": "30"},
    )
    yield stack
    stack.close()


def _login(stack: Stack, username: str, password: str, forwarded_for: str) -> tuple[int, object]:
    return stack.api(
        "POST",
        "/api/v1/auth/login",
        {"username": username, "password": password},
        headers={"x-forwarded-for": forwarded_for},
    )


def test_an_attackers_failures_never_stop_the_owner(edge: Stack) -> None:
    owner_statuses = []
    attacker_statuses = []
    for attempt in range(30):
        attacker_statuses.append(_login(edge, "household-0001", f"guess-{attempt}", ATTACKER)[0])
        if attempt % 5 == 4:
            owner_statuses.append(_login(edge, "household-0001", "demo", OWNER_HOME)[0])
    assert attacker_statuses[:4] == [401, 401, 401, 429]
    # After the free failures each guess waits a doubling delay (1, 2, 4, ... s): over the few
    # seconds of this loop only a handful more are checked; the rest are refused unhashed.
    assert set(attacker_statuses) == {401, 429} and attacker_statuses.count(401) <= 7
    assert owner_statuses == [200] * 6


def test_rotating_headers_does_not_reset_the_limit(edge: Stack) -> None:
    statuses = []
    for attempt in range(8):
        spoofed = f"10.{attempt}.0.1, 192.0.2.{attempt}"  # the last hop is the client: rotating
        statuses.append(_login(edge, "household-0002", f"guess-{attempt}", f"{spoofed}, {ATTACKER}")[0])
    assert statuses == [401] * 3 + [429] * 5
    # Sending the edge's own client-address header does not help either: Envoy overwrites it.
    status, _ = edge.api(
        "POST",
        "/api/v1/auth/login",
        {"username": "household-0002", "password": "guess-x"},
        headers={"x-forwarded-for": ATTACKER, "x-energypulse-client-address": "192.0.2.200"},
    )
    assert status == 429


def test_two_replicas_share_the_limit(edge: Stack) -> None:
    """Straight to each replica (as the edge, naming the client): failures on replica 1 throttle
    the same client and account on replica 2."""
    metadata = (("x-energypulse-client-address", "192.0.2.77"),)
    codes = []
    for replica in ("auth", "auth.2", "auth", "auth.2"):
        with grpc.insecure_channel(edge.target(replica)) as channel:
            stub = auth_service_pb2_grpc.AuthServiceStub(channel)
            try:
                stub.Login(
                    auth_service_pb2.LoginRequest(username="household-0003", password="wrong-one"),
                    metadata=metadata,
                    timeout=10,
                )
                codes.append(grpc.StatusCode.OK)
            except grpc.RpcError as error:
                assert isinstance(error, grpc.Call)
                codes.append(error.code())
    assert codes == [grpc.StatusCode.UNAUTHENTICATED] * 3 + [grpc.StatusCode.RESOURCE_EXHAUSTED]


def test_service_accounts_are_not_touched_by_the_password_throttle(edge: Stack) -> None:
    for attempt in range(10):
        assert _login(edge, "ingest", f"not-the-secret-{attempt}", ATTACKER)[0] == 401
    assert _login(edge, "ingest", edge.env["EP_INGEST_SERVICE_SECRET"], ATTACKER)[0] == 200


class _AdminConnection(http.client.HTTPConnection):
    """Envoy's admin interface, on its Unix socket."""

    def __init__(self, path: str) -> None:
        super().__init__("localhost")
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(self._path)
        self.sock = sock


def _admin(stack: Stack, path: str) -> str:
    connection = _AdminConnection(stack.env["EP_ENVOY_ADMIN_SOCKET"])
    try:
        connection.request("GET", path)
        return connection.getresponse().read().decode()
    finally:
        connection.close()


def _calls_to_auth_svc(stack: Stack) -> int:
    """Requests Envoy has sent to the auth cluster (its health checks are not counted here)."""
    stats = json.loads(_admin(stack, "/stats?format=json&filter=^cluster\\.auth\\.upstream_rq_total$"))
    return int(next(s["value"] for s in stats["stats"] if s["name"] == "cluster.auth.upstream_rq_total"))


def _envoy_workers(stack: Stack) -> int:
    return int(json.loads(_admin(stack, "/server_info"))["command_line_options"]["concurrency"])


def _raw_login(
    stack: Stack, username: str, password: str, client: str
) -> tuple[int, dict[str, str], dict[str, object]]:
    request = urllib.request.Request(
        stack.base_url + "/api/v1/auth/login",
        data=json.dumps({"username": username, "password": password}).encode(),
        method="POST",
        headers={"content-type": "application/json", "x-forwarded-for": client},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return (
                response.status,
                {k.lower(): v for k, v in response.headers.items()},
                json.loads(response.read()),
            )
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, json.loads(error.read())


def _reason(body: dict[str, object]) -> str:
    details = body["details"]
    assert isinstance(details, list) and len(details) == 1
    return str(details[0]["reason"])


def test_the_edge_refuses_a_tripped_throttle_without_calling_auth_svc(edge: Stack) -> None:
    attacker, neighbour = "203.0.113.44", "198.51.100.60"
    tripped = [_raw_login(edge, "household-0003", f"guess-{n}", attacker) for n in range(4)]
    assert [status for status, _, _ in tripped] == [401, 401, 401, 429]  # auth_svc refused the 4th
    before = _calls_to_auth_svc(edge)
    flood = [_raw_login(edge, "household-0003", f"guess-{n}", attacker) for n in range(4, 34)]
    with grpc.insecure_channel(edge.target("edge")) as channel:
        stub = auth_service_pb2_grpc.AuthServiceStub(channel)
        native = []
        for n in range(10):
            try:
                # Case and spaces make no new key (auth_svc.ratelimit.account_key, at both ends).
                stub.Login(
                    auth_service_pb2.LoginRequest(username=" HouseHold-0003 ", password=f"native-{n}"),
                    metadata=(("x-forwarded-for", attacker),),
                    timeout=10,
                )
                native.append(grpc.StatusCode.OK)
            except grpc.RpcError as error:
                assert isinstance(error, grpc.Call)
                native.append(error.code())
    reached = _calls_to_auth_svc(edge) - before
    assert all(status == 429 and _reason(body) == "LOGIN_RATE_LIMITED" for status, _, body in flood)
    assert all(
        str(body["message"]).startswith("too many failed sign-in attempts; try again in ")
        for _, _, body in flood
    )
    assert all(
        str(body["message"]).endswith(f" {headers['retry-after']} s")
        for _, headers, body in flood
        if "retry-after" in headers
    )
    assert native == [grpc.StatusCode.RESOURCE_EXHAUSTED] * 10
    # Each Envoy worker learns the refusal once from auth_svc (the 4th attempt taught one of them).
    assert reached < _envoy_workers(edge)
    assert all(0 < int(headers["retry-after"]) <= 31 for _, headers, _ in flood if "retry-after" in headers)
    assert sum("retry-after" in headers for _, headers, _ in flood) >= len(flood) - _envoy_workers(edge)
    # auth_svc's hint to the edge never leaves it.
    assert not any("x-energypulse-login-throttle" in headers for _, headers, _ in tripped + flood)
    # The account+address semantics are auth_svc's: the owner elsewhere, and another account from
    # the attacker's address, still reach auth_svc and sign in.
    assert _raw_login(edge, "household-0003", "demo", neighbour)[0] == 200
    assert _raw_login(edge, "household-0001", "demo", attacker)[0] == 200
