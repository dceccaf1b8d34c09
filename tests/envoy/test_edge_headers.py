"""Header names gRPC metadata cannot carry are dropped at the edge (a real Envoy in front of a real
ledger_svc): without that, the service's HTTP/2 layer fails the call with INTERNAL ("Illegal header
key") and the client sees a 500 for a header it did not mean anything by."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devstack.stack import Stack, start_stack


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    running = start_stack(tmp_path_factory.mktemp("edge"), ["auth_svc", "ledger_svc", "envoy"])
    yield running
    running.close()


@pytest.mark.parametrize("name", ["x-trace*", "a'b", "x|y", "a~b", "X-Mixed-Case*"])
def test_request_with_a_bad_header_name_still_succeeds(edge: Stack, name: str) -> None:
    token = edge.login("admin", "admin-demo")
    status, body = edge.api("GET", "/api/v1/ledger/head", token=token, headers={name: "1"})
    assert status == 200, body
    assert body["head"]["treeSize"] is not None


def test_good_headers_still_reach_the_service(edge: Stack) -> None:
    # The service checks the token itself again: a dropped authorization header would be a 401.
    token = edge.login("admin", "admin-demo")
    status, body = edge.api(
        "GET", "/api/v1/ledger/head", token=token, headers={"x-good.header_1": "1", "x-trace*": "2"}
    )
    assert status == 200, body


def test_a_bad_header_does_not_let_a_request_past_the_token_check(edge: Stack) -> None:
    status, _ = edge.api("GET", "/api/v1/ledger/head", headers={"x-trace*": "1"})
    assert status == 401
