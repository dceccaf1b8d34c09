"""An operator's shift (issue #21) against the whole stack: the new routes are admin-only through
Envoy, bad input is a 4xx with its reason, the health monitor's data is on the page and on
auth_svc's Prometheus endpoint, and every operator screen works in headless Chromium
(dashboard/e2e/operator-e2e.mjs) at 1440x900 and 390x844, with the keyboard alone too.
Screenshots land in test-artifacts/screenshots/op-*.png."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from devstack.stack import Stack
from tests.e2e.test_dashboard import (
    ADMIN,
    ADMIN_PASSWORD,
    ARTIFACTS,
    CHROMIUM,
    DASHBOARD,
    USER,
    USER_PASSWORD,
)
from tests.e2e.test_dashboard import pytestmark as browser_mark

SCRIPT = DASHBOARD / "e2e" / "operator-e2e.mjs"


def _scenario(stack: Stack, scenario: str, params: dict[str, Any]) -> dict[str, Any]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        [
            *("node", str(SCRIPT), "--base-url", stack.base_url, "--artifacts", str(ARTIFACTS)),
            *("--scenario", scenario, "--params", json.dumps(params), "--chromium", str(CHROMIUM)),
        ],
        cwd=DASHBOARD,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    assert lines, (
        f"{scenario}: no JSON result (exit {proc.returncode})\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
    )
    result: dict[str, Any] = json.loads(lines[-1])
    assert "error" not in result, (
        f"{scenario} failed in the browser: {result['error']}\nsteps: {result['steps']}"
    )
    for shot in result["screenshots"]:
        assert Path(shot).stat().st_size > 10_000, f"{shot} looks empty"
    assert not result["consoleErrors"], result["consoleErrors"]
    return result


def _new_user(stack: Stack, admin: str, name: str = "") -> tuple[str, str]:
    name = name or f"ops-e2e-{uuid.uuid4().hex[:8]}"
    status, body = stack.api(
        "POST",
        "/api/v1/users",
        {"username": name, "password": "Initial-passphrase-42", "role": "ROLE_USER", "householdIds": []},
        token=admin,
    )
    assert status == 200, body
    return name, str(body["user"]["userId"])


@pytest.fixture(scope="module")
def admin(stack: Stack) -> str:
    return stack.login(ADMIN, ADMIN_PASSWORD)


def test_operator_routes_are_admin_only_through_envoy(stack: Stack, admin: str) -> None:
    user = stack.login(USER, USER_PASSWORD)
    _, target_id = _new_user(stack, admin)
    since = quote("2026-01-01T00:00:00Z")
    routes = [
        ("GET", "/api/v1/ops/health", None),
        ("GET", "/api/v1/ops/health?windowSeconds=3600", None),
        ("GET", "/api/v1/users?query=household-00&pageSize=5", None),
        ("GET", f"/api/v1/audit-events?actor=admin&action=LOGIN_SUCCEEDED&startTime={since}", None),
        ("POST", f"/api/v1/users/{target_id}:issuePasswordReset", {}),
    ]
    for method, path, body in routes:
        for token, expected in ((user, 403), (None, 401)):
            status, answer = stack.api(method, path, body, token=token)
            assert status == expected, (method, path, status, answer)
        status, answer = stack.api(method, path, body, token=admin)
        assert status == 200, (path, answer)
    # Bad input is a 4xx with its reason, never a 500.
    bad = [
        ("GET", "/api/v1/users?query=" + "x" * 65, None, 400, "USER_QUERY_INVALID"),
        ("GET", "/api/v1/ops/health?windowSeconds=999999", None, 400, "HEALTH_WINDOW_INVALID"),
        ("GET", f"/api/v1/audit-events?startTime={since}&endTime={since}", None, 400, "INVALID_TIME_RANGE"),
        (
            "POST",
            "/api/v1/auth/password-reset:complete",
            {"resetToken": "forged", "newPassword": "Another-passphrase-7"},
            401,
            "PASSWORD_RESET_TOKEN_INVALID",
        ),
    ]
    for method, path, body, expected, reason in bad:
        status, answer = stack.api(method, path, body, token=admin)
        assert status == expected and reason in json.dumps(answer), (path, status, answer)


def test_search_pages_through_every_household_account(stack: Stack, admin: str) -> None:
    names: list[str] = []
    token = ""
    while True:
        status, body = stack.api(
            "GET", f"/api/v1/users?query=HOUSEHOLD-&pageSize=2&pageToken={token}", token=admin
        )
        assert status == 200, body
        names += [u["username"] for u in body["users"]]
        token = body["nextPageToken"]
        if not token:
            break
    assert names == sorted(set(names)) and len(names) == body["totalSize"] >= 3
    assert all("household-" in n for n in names)


def test_health_history_and_metrics_from_the_monitor(stack: Stack, admin: str) -> None:
    # The stack is up once each process answers; predict_svc reports SERVING only when its models
    # are ready, and the monitor sees that at its next probe (every 10 s): wait for that, on a
    # fresh stack this test may be the first to run.
    deadline = time.monotonic() + 120
    while True:
        status, body = stack.api("GET", "/api/v1/ops/health", token=admin)
        assert status == 200, body
        if (
            all(s["status"] == "SERVICE_STATUS_SERVING" for s in body["services"])
            or time.monotonic() > deadline
        ):
            break
        time.sleep(2)
    services = {s["service"]: s for s in body["services"]}
    assert set(services) == {"auth", "prediction", "ledger", "telemetry", "alert", "witness"}
    for name, service in services.items():
        assert service["status"] == "SERVICE_STATUS_SERVING", (name, service)
        assert service["history"], name
        replica = service["replicas"][0]
        if name != "witness":  # HTTP /healthz only: no version metadata
            assert replica["version"] and replica["startTime"] and replica["instance"], replica
    url = f"http://127.0.0.1:{stack.ports['auth_metrics']}/metrics"
    with urllib.request.urlopen(url, timeout=10) as response:
        metrics = response.read().decode()
    for needle in (
        'energypulse_ops_replicas{service="ledger",state="serving"} 1.0',
        'energypulse_ops_service_status{service="telemetry"} 1.0',
        'energypulse_ops_service_alert{service="prediction"} 0.0',
        "energypulse_ops_replica_start_time_seconds{",
        "energypulse_ops_replica_info{",
    ):
        assert needle in metrics, needle


@browser_mark
def test_operator_screens_at_desktop_and_phone(stack: Stack, admin: str) -> None:
    target, _ = _new_user(stack, admin)
    session = stack.login(target, "Initial-passphrase-42")
    household = f"sim-h{uuid.uuid4().int % 10**6:06d}"
    new_password = "Chosen-by-owner-2026"
    batch = uuid.uuid4().hex[:6]
    for i in range(30):  # more than one page (25) of matches
        _new_user(stack, admin, f"ops-page-{batch}-{i:02d}")
    result = _scenario(
        stack,
        "screens",
        {
            "username": ADMIN,
            "password": ADMIN_PASSWORD,
            "target": target,
            "household": household,
            "newPassword": new_password,
            "pageQuery": f"OPS-PAGE-{batch}",
        },
    )
    assert {h["service"]: h["ok"] for h in result["health"]} == dict.fromkeys(
        ("auth", "prediction", "ledger", "telemetry", "alert", "witness"), "true"
    )
    assert all(h["replicas"] == "1 of 1" and "v" in h["versions"][0] for h in result["health"]), result[
        "health"
    ]
    assert result["historyAfterReload"] == 6  # kept server-side: a reload shows it again
    status, listed = stack.api("GET", f"/api/v1/users?query=ops-page-{batch}&pageSize=500", token=admin)
    assert status == 200, listed
    names = [u["username"] for u in listed["users"]]
    assert len(names) == listed["totalSize"] >= 30 and all(
        n.startswith(f"ops-page-{batch}-") for n in names
    ), names
    total = listed["totalSize"]
    assert result["rangeFirst"].startswith(f"1–25 of {total} matching"), result["rangeFirst"]
    assert result["rangeSecond"].startswith(f"26–{min(total, 50)} of {total} matching"), result["rangeSecond"]
    assert result["secondPageFirstUser"] == names[25]
    assert result["disabledAfterCancel"] == 0
    assert "signs" in result["confirmText"] and "session" in result["confirmText"]
    assert "session" in result["roleConfirmText"]
    assert result["linkHasFragmentToken"] and result["fragmentWiped"] and result["linkReusable"] == 0
    assert result["auditRows"] and all(
        a == ADMIN and act == "USER_DISABLED" for a, act, _ in result["auditRows"]
    )
    assert any(target in text for _, _, text in result["auditRows"])
    assert all(px <= 0 for px in result["overflow"].values()), result[
        "overflow"
    ]  # no sideways scroll on a phone
    # What the browser did happened: the old session ended, the household is linked, the owner's
    # password works and the initial one does not.
    status, _ = stack.api("GET", "/api/v1/auth/me", token=session)
    assert status == 401
    status, me = stack.api("GET", "/api/v1/auth/me", token=stack.login(target, new_password))
    assert status == 200 and me["user"]["householdIds"] == [household] and me["user"]["role"] == "ROLE_USER"
    status, _ = stack.api(
        "POST", "/api/v1/auth/login", {"username": target, "password": "Initial-passphrase-42"}
    )
    assert status == 401


@browser_mark
def test_operator_screens_with_the_keyboard_alone(stack: Stack, admin: str) -> None:
    target, _ = _new_user(stack, admin)
    result = _scenario(stack, "keyboard", {"username": ADMIN, "password": ADMIN_PASSWORD, "target": target})
    assert result["visited"] == ["/admin/users", "/admin/audit", "/admin/grid", "/admin"]
    focus = result["dialogFocus"]
    assert focus["first"]["inDialog"], focus  # the dialog takes focus when it opens
    assert focus["afterEscape"]["label"] == f"Disable {target}", focus  # and gives it back on Escape
    assert focus["reached"]["label"] == "Disable account"
