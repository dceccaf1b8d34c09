"""Cheapest windows through Envoy's JSON route: a four-hour window for an electric car, and a bad
duration refused with 400 and its ErrorInfo reason (never a 500)."""

from __future__ import annotations

from datetime import datetime

from devstack.stack import Stack
from tests.e2e.test_dashboard import USER, USER_PASSWORD


def test_four_hour_window_over_json_and_bad_durations_are_400(stack: Stack) -> None:
    token = stack.login(USER, USER_PASSWORD)
    status, body = stack.api(
        "GET", "/api/v1/zones/NO1/cheapest-windows?durationMinutes=240&windowCount=2", token=token
    )
    assert status == 200, body
    assert body["durationMinutes"] == 240 and len(body["windows"]) == 2, body
    for window in body["windows"]:
        start = datetime.fromisoformat(window["startTime"].replace("Z", "+00:00"))
        end = datetime.fromisoformat(window["endTime"].replace("Z", "+00:00"))
        assert (end - start).total_seconds() == 4 * 3600
        assert window["certainty"] in {"CHEAPEST_CERTAINTY_CERTAIN", "CHEAPEST_CERTAINTY_LIKELY"}
        assert window["lowPriceEurMwh"] <= window["meanPriceEurMwh"] <= window["highPriceEurMwh"]
    for query in ("durationMinutes=7", "durationMinutes=0", "durationMinutes=99999", "durationMinutes=-15"):
        status, body = stack.api("GET", f"/api/v1/zones/NO1/cheapest-windows?{query}", token=token)
        assert status == 400, (query, status, body)
        assert "CHEAPEST_WINDOW_DURATION_INVALID" in str(body), body
    status, body = stack.api(
        "GET", "/api/v1/zones/NO1/cheapest-windows?durationMinutes=60&windowCount=50", token=token
    )
    assert status == 400 and "CHEAPEST_WINDOW_RANGE_INVALID" in str(body), body
    status, _ = stack.api("GET", "/api/v1/zones/NO1/cheapest-windows?durationMinutes=60")
    assert status == 401
