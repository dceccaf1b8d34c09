"""The login throttle end to end: two auth_svc replicas on one PostgreSQL database behind Envoy,
which trusts one proxy hop in front of it (EP_EDGE_TRUSTED_HOPS=1, as behind a load balancer).

The test plays the load balancer: it sends ``x-forwarded-for: <anything>, <client>``, of which
Envoy believes only the last entry (what the trusted proxy appended). An attacker hammering an
account does not stop its owner, signing in from another address, with the right password;
rotating headers does not reset the attacker's limit; the replicas share the counters.
"""

from __future__ import annotations

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
        extra_env={"EP_EDGE_TRUSTED_HOPS": "1"},
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
