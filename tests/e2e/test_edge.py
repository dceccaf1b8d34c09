"""Envoy at the edge: client errors are 4xx with a message (never 503), typed service errors map to
their HTTP status with the ErrorInfo reason, unknown routes are 404, tokens are checked."""

from __future__ import annotations

import pytest

from devstack.stack import Stack


@pytest.fixture(scope="module")
def token(stack: Stack) -> str:
    return stack.login("admin", "admin-demo")


def _reason(body: object) -> str | None:
    assert isinstance(body, dict), body
    for detail in body.get("details", []):
        if detail.get("@type", "").endswith("google.rpc.ErrorInfo"):
            return str(detail["reason"])
    return None


def test_malformed_json_is_400_with_a_message(stack: Stack) -> None:
    status, body = stack.api("POST", "/api/v1/auth/login", raw_body=b'{"username": "admin", "pass')
    assert status == 400
    assert body, "a message explains the error"


def test_wrong_json_type_is_400(stack: Stack) -> None:
    status, body = stack.api("POST", "/api/v1/auth/login", raw_body=b'{"username": 12, "password": []}')
    assert status == 400, body


def test_unknown_route_is_404(stack: Stack, token: str) -> None:
    status, _ = stack.api("GET", "/api/v1/no/such/route", token=token)
    assert status == 404


def test_unknown_query_parameter_is_400(stack: Stack, token: str) -> None:
    status, body = stack.api("GET", "/api/v1/ledger/blocks?pageSize=5&colour=blue", token=token)
    assert status == 400, body


def test_bad_path_value_is_400_not_503(stack: Stack, token: str) -> None:
    status, body = stack.api("GET", "/api/v1/ledger/blocks/not-a-number", token=token)
    assert status == 400, body


def test_typed_not_found_maps_to_404_with_reason(stack: Stack, token: str) -> None:
    status, body = stack.api("GET", "/api/v1/ledger/blocks/987654321", token=token)
    assert status == 404, body
    reason = _reason(body)
    assert reason is not None and reason.isupper(), body
    assert body["message"]


def test_typed_invalid_argument_maps_to_400_with_reason(stack: Stack, token: str) -> None:
    status, body = stack.api("GET", "/api/v1/zones/NO1/price-forecast?horizonHours=999", token=token)
    assert status == 400, body
    assert _reason(body) is not None


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("/api/v1/zones/N0!1/price-forecast", "ZONE_INVALID"),
        ("/api/v1/zones/NO1/price-forecast?horizonDays=8", "HORIZON_OUT_OF_RANGE"),
        ("/api/v1/zones/NO1/price-forecast?horizonHours=193", "HORIZON_OUT_OF_RANGE"),
    ],
)
def test_bad_zone_horizon_or_resolution_is_400_with_its_reason(
    stack: Stack, token: str, query: str, reason: str
) -> None:
    status, body = stack.api("GET", query, token=token)
    assert status == 400, body
    assert _reason(body) == reason


@pytest.mark.parametrize(
    "query",
    [
        "/api/v1/zones/NO1/price-forecast?resolution=PRICE_RESOLUTION_DAY",
        "/api/v1/zones/NO1/price-forecast?resolution=7",
        "/api/v1/zones/NO1/prices?resolution=5",
    ],
)
def test_unknown_resolution_is_400(stack: Stack, token: str, query: str) -> None:
    """An enum value the contract does not define is refused by the edge's transcoder: 400 with the
    edge's one error format (its parser's text, naming protobuf types, stays in the access log);
    the service's own RESOLUTION_INVALID is tested in tests/predict_svc."""
    status, body = stack.api("GET", query, token=token)
    assert status == 400, body
    assert _reason(body) == "MALFORMED_REQUEST"


def test_price_forecast_marks_published_and_forecast_through_envoy(stack: Stack, token: str) -> None:
    status, body = stack.api(
        "GET",
        "/api/v1/zones/NO1/price-forecast?resolution=PRICE_RESOLUTION_HOUR&priceThresholdEurMwh=80",
        token=token,
    )
    assert status == 200, body
    kinds = [p["kind"] for p in body["periods"]]
    first = kinds.index("PRICE_KIND_FORECAST")
    assert "PRICE_KIND_PUBLISHED" in kinds[:first] and set(kinds[first:]) == {"PRICE_KIND_FORECAST"}
    assert body["periods"][first]["startTime"] == body["forecastStartTime"]
    assert body["resolution"] == "PRICE_RESOLUTION_HOUR"


# {"k": "households", "o": "abc"}: decodes, but holds a non-number (issue 19: was a 500).
FORGED_PAGE_TOKEN = "eyJrIjogImhvdXNlaG9sZHMiLCAibyI6ICJhYmMifQ"


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/households",
        "/api/v1/dead-letters",
        "/api/v1/ledger/blocks",
        "/api/v1/users",
        "/api/v1/audit-events",
    ],
)
def test_forged_page_tokens_and_negative_page_sizes_are_400_with_one_reason(
    stack: Stack, token: str, path: str
) -> None:
    status, body = stack.api("GET", f"{path}?pageToken={FORGED_PAGE_TOKEN}", token=token)
    assert (status, _reason(body)) == (400, "INVALID_PAGE_TOKEN"), body
    status, body = stack.api("GET", f"{path}?pageSize=-1", token=token)
    assert (status, _reason(body)) == (400, "INVALID_PAGE_SIZE"), body


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/households/%FF/summary",  # TelemetryService (issue 19: 500 naming DecodeError)
        "/api/v1/households/%FF/invoices/2026-01",  # LedgerService
    ],
)
def test_invalid_utf8_in_a_path_id_is_400_malformed_request(stack: Stack, token: str, path: str) -> None:
    status, body = stack.api("GET", path, token=token)
    assert (status, _reason(body)) == (400, "MALFORMED_REQUEST"), body


@pytest.mark.parametrize("month", ["0000-01", "9999-12"])  # issue 19: datetime overflow, 500
def test_invoice_months_out_of_range_are_400_bad_month(stack: Stack, token: str, month: str) -> None:
    status, body = stack.api("GET", f"/api/v1/households/household-0001/invoices/{month}", token=token)
    assert (status, _reason(body)) == (400, "BAD_MONTH"), body


def test_wrong_password_is_401_with_reason_and_no_enumeration(stack: Stack) -> None:
    status_known, body_known = stack.api(
        "POST", "/api/v1/auth/login", {"username": "admin", "password": "nope"}
    )
    status_unknown, body_unknown = stack.api(
        "POST", "/api/v1/auth/login", {"username": "nobody-xyz", "password": "nope"}
    )
    assert status_known == status_unknown == 401
    assert body_known["message"] == body_unknown["message"]
    assert _reason(body_known) == _reason(body_unknown)


def test_missing_or_garbage_token_is_401_at_the_edge(stack: Stack) -> None:
    assert stack.api("GET", "/api/v1/ledger/head")[0] == 401
    assert stack.api("GET", "/api/v1/ledger/head", token="not.a.jwt")[0] == 401


def test_public_routes_need_no_token(stack: Stack) -> None:
    assert stack.api("GET", "/api/v1/auth/jwks")[0] == 200
    assert stack.api("GET", "/healthz")[0] == 200


def test_user_cannot_call_admin_route(stack: Stack) -> None:
    user_token = stack.login("household-0001", "demo")
    status, body = stack.api("GET", "/api/v1/users", token=user_token)
    assert status == 403, body
