"""Alerts through the whole stack: JSON routes through Envoy (bad input is a 400 with its reason,
another household's rules a 403), alert_svc calling the real predict_svc and ingest_svc, delivery
to a local webhook receiver and to a household's own Mosquitto, the SSE stream for the badge."""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from devstack.stack import Stack
from tests.alert_svc.alert_rig import Receiver, verify_signature
from tests.conftest import Broker
from tests.mqtt_identities import HARNESS_PASSWORD, HARNESS_USER, login

OWN = "sim-h000000"  # household-0001's household
BASE = f"/api/v1/households/{OWN}"
CAP_S = 120.0  # a cap on waits for conditions, not a timing assertion


def _reason(body: object) -> str | None:
    assert isinstance(body, dict), body
    for detail in body.get("details", []):
        if detail.get("@type", "").endswith("google.rpc.ErrorInfo"):
            return str(detail["reason"])
    return None


@pytest.fixture(scope="module")
def user(stack: Stack) -> str:
    return stack.login("household-0001", "demo")


@pytest.fixture(scope="module")
def admin(stack: Stack) -> str:
    return stack.login("admin", "admin-demo")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    yield found
    found.close()


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"rule": {}}, "ALERT_INVALID_RULE"),
        ({"rule": {"cheapWindow": {"durationMinutes": 50}}}, "ALERT_INVALID_RULE"),
        ({"rule": {"priceSpike": {"thresholdEurMwh": 100, "minProbability": 3}}}, "ALERT_INVALID_RULE"),
        ({"rule": {"meterSilent": {"silentMinutes": 2}}}, "ALERT_INVALID_RULE"),
        # A price in both units (EUR/MWh and µNOK/kWh), and a NOK threshold out of range.
        (
            {"rule": {"priceSpike": {"thresholdEurMwh": 100, "thresholdMicroPerKwh": "1150000"}}},
            "ALERT_PRICE_THRESHOLD_CONFLICT",
        ),
        ({"rule": {"priceSpike": {"thresholdMicroPerKwh": "60000000"}}}, "ALERT_INVALID_RULE"),
    ],
)
def test_bad_rule_input_is_400_with_the_reason(
    stack: Stack, user: str, body: dict[str, Any], reason: str
) -> None:
    status, answer = stack.api("POST", f"{BASE}/alert-rules", body, token=user)
    assert status == 400, answer
    assert _reason(answer) == reason


def test_unknown_fields_and_bad_json_are_400(stack: Stack, user: str) -> None:
    status, _ = stack.api("POST", f"{BASE}/alert-rules", {"rule": {"bogus": 1}}, token=user)
    assert status == 400
    status, _ = stack.api("POST", f"{BASE}/alert-rules", raw_body=b"{not json", token=user)
    assert status == 400


@pytest.mark.parametrize(
    "subscription",
    [
        {"webhook": {"url": "http://10.0.0.1/hook"}},
        {"webhook": {"url": "http://169.254.169.254/latest/meta-data/"}},
        {"mqtt": {"host": "192.168.1.10"}},
    ],
)
def test_private_targets_are_refused_through_the_edge(
    stack: Stack, user: str, subscription: dict[str, Any]
) -> None:
    status, answer = stack.api(
        "POST", f"{BASE}/alert-subscriptions", {"subscription": subscription}, token=user
    )
    assert status == 400, answer
    assert _reason(answer) == "ALERT_TARGET_NOT_ALLOWED"


def test_malformed_targets_are_refused_through_the_edge(stack: Stack, user: str) -> None:
    status, answer = stack.api(
        "POST", f"{BASE}/alert-subscriptions", {"subscription": {"webhook": {"url": "ftp://x/"}}}, token=user
    )
    assert status == 400 and _reason(answer) == "ALERT_INVALID_TARGET", answer


def test_another_households_rules_are_refused(stack: Stack) -> None:
    other = stack.login("household-0002", "demo")
    for method, path, body in (
        ("GET", f"{BASE}/alert-rules", None),
        ("GET", f"{BASE}/alerts", None),
        ("POST", f"{BASE}/alert-rules", {"rule": {"meterSilent": {}}}),
        (
            "POST",
            f"{BASE}/alert-subscriptions",
            {"subscription": {"webhook": {"url": "https://example.com/"}}},
        ),
    ):
        status, answer = stack.api(method, path, body, token=other)
        assert status == 403, (path, answer)
        assert _reason(answer) == "HOUSEHOLD_NOT_PERMITTED"
    status, _ = stack.api("POST", "/api/v1/alerts:evaluate", {}, token=other)
    assert status == 403


def _first_sse(
    stack: Stack, path: str, token: str, out: list[dict[str, Any]], want: int
) -> http.client.HTTPConnection:
    connection = http.client.HTTPConnection("127.0.0.1", stack.ports["edge"], timeout=CAP_S)
    connection.request("GET", path, headers={"authorization": f"Bearer {token}"})
    response = connection.getresponse()
    assert response.status == 200

    def read() -> None:
        for raw in response:
            line = raw.decode().strip()
            if line.startswith("data:"):
                out.append(json.loads(line[len("data:") :]))
                if len(out) >= want:
                    return

    threading.Thread(target=read, daemon=True).start()
    return connection


def _until(condition: Any, what: str) -> None:
    deadline = time.monotonic() + CAP_S
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.2)


def _coming_spot(stack: Stack, user: str) -> list[int]:
    """The real forecast's spot prices (µNOK/kWh, predict_svc's conversion at each day's EUR rate)
    of the periods from now to two hours ahead."""
    status, household = stack.api("GET", f"/api/v1/households/{OWN}", token=user)
    assert status == 200, household
    zone = household["household"]["zone"] or "NO1"
    status, forecast = stack.api("GET", f"/api/v1/zones/{zone}/price-forecast?horizonHours=48", token=user)
    assert status == 200 and forecast["currency"] == "NOK", forecast
    now, end = time.time(), time.time() + 2 * 3600
    coming = []
    for p in forecast["periods"]:
        start = datetime.fromisoformat(p["startTime"].replace("Z", "+00:00")).timestamp()
        if start + p["durationMinutes"] * 60 > now and start < end:
            coming.append(int(p.get("spotMicroPerKwh", "0")))
    assert coming, forecast["periods"][:2]
    return coming


def test_alerts_from_real_forecasts_reach_app_webhook_and_broker(
    stack: Stack, user: str, admin: str, receiver: Receiver, mosquitto: Broker
) -> None:
    # A NOK installation: the household sets its threshold in øre/kWh, as its home page shows
    # prices. 1 øre/kWh below the lowest coming price: every coming period is a spike (exactly
    # for published ones; above the median, likely, for forecast ones). A one-hour cheapest window.
    coming = _coming_spot(stack, user)
    threshold = min(coming) - 10_000
    for rule in (
        {
            "priceSpike": {"thresholdMicroPerKwh": str(threshold), "lookaheadHours": 2},
            "displayName": "Any price",
        },
        {"cheapWindow": {"durationMinutes": 60, "lookaheadHours": 24}},
    ):
        status, created = stack.api("POST", f"{BASE}/alert-rules", {"rule": rule}, token=user)
        assert status == 200, created
        assert created["rule"]["ruleId"] and created["rule"]["kind"].startswith("ALERT_KIND_")
    status, rules = stack.api("GET", f"{BASE}/alert-rules", token=user)
    assert status == 200 and rules["currency"] == "NOK", rules
    # This test's own rule (the stack is shared: another test's may be there too).
    spike_rule = next(r for r in rules["rules"] if r.get("displayName") == "Any price")
    assert int(spike_rule["priceSpike"]["thresholdMicroPerKwh"]) == threshold
    status, hook = stack.api(
        "POST",
        f"{BASE}/alert-subscriptions",
        {"subscription": {"webhook": {"url": receiver.url}}},
        token=user,
    )
    assert status == 200, hook
    secret = hook["signingSecret"]
    mqtt_target = {
        "host": "127.0.0.1",
        "port": mosquitto.port,
        "username": HARNESS_USER,
        "password": HARNESS_PASSWORD,
    }
    status, broker = stack.api(
        "POST", f"{BASE}/alert-subscriptions", {"subscription": {"mqtt": mqtt_target}}, token=user
    )
    assert status == 200 and broker["subscription"]["mqtt"]["password"] == "", broker

    seen: dict[str, bytes] = {}
    ha = login(mqtt.Client(CallbackAPIVersion.VERSION2, client_id="ha-e2e"))
    ha.on_connect = lambda c, *_: c.subscribe([("homeassistant/#", 1), ("energypulse/#", 1)])
    ha.on_message = lambda _c, _u, m: seen.__setitem__(m.topic, m.payload)
    ha.connect("127.0.0.1", mosquitto.port)
    ha.loop_start()
    events: list[dict[str, Any]] = []
    sse = _first_sse(stack, f"{BASE}/alerts:stream", user, events, want=2)
    try:
        _until(lambda: events, "no first SSE event (the unread count)")
        assert "unreadCount" in events[0]
        # meter_sim registers the household at start; the round raises once it is known.
        raised = 0

        def evaluate() -> bool:
            nonlocal raised
            status, body = stack.api("POST", "/api/v1/alerts:evaluate", {"householdId": OWN}, token=admin)
            assert status == 200, body
            raised += int(body["raised"])
            return raised >= 2

        _until(evaluate, "no alerts raised from the real forecast")
        status, listed = stack.api("GET", f"{BASE}/alerts", token=user)
        assert status == 200 and listed["unreadCount"] >= 2
        kinds = {a["kind"] for a in listed["alerts"]}
        assert {"ALERT_KIND_PRICE_SPIKE", "ALERT_KIND_CHEAP_WINDOW"} <= kinds
        spike = next(a for a in listed["alerts"] if a["kind"] == "ALERT_KIND_PRICE_SPIKE")
        # The figure in NOK: above the threshold, in the unit the text states.
        assert spike["currency"] == "NOK" and spike["priceUnit"] == "øre/kWh", spike
        assert int(spike["spotMicroPerKwh"]) > threshold, (spike, threshold)
        assert f"{threshold / 10_000:g} øre/kWh" in spike["title"] and "øre/kWh" in spike["message"]

        _until(lambda: len(receiver.requests) >= raised, "webhook deliveries")
        for headers, body in receiver.requests:
            assert verify_signature(secret, headers, body)
            payload = json.loads(body)
            assert payload["householdId"] == OWN and payload["currency"] == "NOK"
            assert payload["priceUnit"] == "øre/kWh"
        _until(lambda: f"energypulse/{OWN}/alert/state" in seen, "alert on the household's broker")
        for sensor in ("price", "forecast", "alert"):
            config = json.loads(seen[f"homeassistant/sensor/energypulse_{OWN}/{sensor}/config"])
            assert config["unique_id"] == f"energypulse_{OWN}_{sensor}"
            if sensor != "alert":
                assert config["unit_of_measurement"] == "øre/kWh", config
        _until(lambda: f"energypulse/{OWN}/price/state" in seen, "price sensor state")
        # The current period's spot price in øre/kWh (one of the coming periods, as the home page).
        state = float(seen[f"energypulse/{OWN}/price/state"])
        now_coming = _coming_spot(stack, user)
        assert any(abs(state - micro / 10_000) < 0.006 for micro in coming + now_coming), (state, coming)
        _until(lambda: len(events) >= 2, "the new alert on the SSE stream")
        assert events[1]["alert"]["householdId"] == OWN

        # The same periods again: nothing new.
        status, again = stack.api("POST", "/api/v1/alerts:evaluate", {"householdId": OWN}, token=admin)
        assert status == 200 and again["raised"] == 0
        status, acked = stack.api("POST", f"{BASE}/alerts:acknowledge", {}, token=user)
        assert status == 200 and acked["unreadCount"] == 0
    finally:
        sse.close()
        ha.loop_stop()
        ha.disconnect()
