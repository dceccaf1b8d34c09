"""Every page of the dashboard, signed out (sign-in, password reset), as a household user and as
an admin, on a phone (390x844) and a desktop (1440x900), light and dark: no page scrolls sideways
(``document.documentElement.scrollWidth <= innerWidth``) and axe-core finds no serious or critical
accessibility violation; the two contrasts issue #21 named (the disabled sign-in button, the
cheapest-hour badges) are measured explicitly. Screenshots of every visit land in
test-artifacts/screenshots/sweep-* (the e2e run's artifacts, not the repository): look at them.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

import pytest

from devstack.stack import Stack
from tests.e2e import test_dashboard as dashboard_tests
from tests.e2e.test_dashboard import (
    ADMIN,
    ADMIN_PASSWORD,
    OTHER_USER,
    USER,
    USER_PASSWORD,
    current_month,
    households_of,
    invoice_lines,
    run_scenario,
)

# The stack fixtures of the dashboard tests, shared (one stack per session either way).
web = dashboard_tests.web
admin_token = dashboard_tests.admin_token

SIZES = [{"width": 390, "height": 844}, {"width": 1440, "height": 900}]


def household_pages(household: str, tx_hash: str, height: int) -> list[dict[str, str]]:
    base = f"/households/{quote(household, safe='')}"
    return [
        {"name": "overview", "path": base},
        {"name": "history", "path": f"{base}/history"},
        {"name": "invoices", "path": f"{base}/invoices"},
        {"name": "schemes", "path": f"{base}/schemes"},
        {"name": "export", "path": f"{base}/export"},
        {"name": "alerts", "path": f"{base}/alerts"},
        {"name": "ledger", "path": "/ledger"},
        {"name": "block", "path": f"/ledger/blocks/{height}"},
        {"name": "transaction", "path": f"/ledger/transactions/{tx_hash}"},
    ]


ADMIN_PAGES = [
    {"name": "admin-health", "path": "/admin"},
    {"name": "admin-users", "path": "/admin/users"},
    {"name": "admin-audit", "path": "/admin/audit"},
    {"name": "admin-grid", "path": "/admin/grid"},
    {"name": "admin-dead-letters", "path": "/admin/dead-letters"},
]


# Signed out: the sign-in page, the reset page with a link's token (its form) and without one.
PUBLIC_PAGES = [
    {"name": "sign-in", "path": "/"},
    {"name": "reset-password", "path": "/reset-password#token=e2e-not-a-real-token"},
    {"name": "reset-password-no-link", "path": "/reset-password"},
]

# WCAG AA for normal-size text: 4.5:1. Issue #21 measured 2.2:1 (disabled sign-in button) and
# 2.7:1 (cheapest-hour badge); both are measured here on their own, at both sizes and schemes.
MIN_CONTRAST = 4.5
CONTRAST_CHECKS = [
    {"page": "sign-in", "name": "disabled sign-in button", "selector": "form button[type=submit]:disabled"},
    {
        "page": "reset-password",
        "name": "disabled set-password button",
        "selector": "form button[type=submit]:disabled",
    },
    {
        "page": "overview",
        "name": "cheapest-hour badge",
        "selector": "[data-testid=cheapest-hours] span[title]",
    },
]


def sweep_params(accounts: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {
        "accounts": accounts,
        "publicPages": PUBLIC_PAGES,
        "sizes": SIZES,
        "axe": True,
        "contrast": CONTRAST_CHECKS,
        **extra,
    }


def every_page(site: Stack, token: str) -> list[dict[str, Any]]:
    """Both accounts with every page each can open: their household's pages (the invoice with
    settled lines, a real block and transaction of that household) and, for the admin, the
    admin tabs."""
    household = households_of(site, USER, USER_PASSWORD)[0]
    line = invoice_lines(site, token, household, current_month())[0]["transaction"]
    status, body = site.api("GET", "/api/v1/ledger/blocks?pageSize=1", token=token)
    assert status == 200 and body["blocks"], body
    pages = household_pages(household, line["txHash"], int(body["blocks"][0]["height"]))
    return [
        {"label": "household", "username": USER, "password": USER_PASSWORD, "pages": pages},
        {"label": "admin", "username": ADMIN, "password": ADMIN_PASSWORD, "pages": pages + ADMIN_PAGES},
    ]


def check_sweep(result: dict[str, Any], accounts: list[dict[str, Any]]) -> None:
    """Every page at every size was visited, none scrolls sideways, none has a serious axe finding."""
    sizes = [f"{s['width']}x{s['height']}" for s in SIZES]
    expected = {(a["label"], size, p["name"]) for a in accounts for size in sizes for p in a["pages"]}
    expected |= {("signed-out", size, p["name"]) for size in sizes for p in PUBLIC_PAGES}
    assert {(v["account"], v["size"], v["page"]) for v in result["visits"]} == expected
    # A page that fell back to "not found" or "not allowed" would pass the width check vacuously.
    assert all(v["heading"] and v["heading"] != "Page not found" for v in result["visits"]), [
        (v["page"], v["heading"]) for v in result["visits"]
    ]
    wide = [
        f"{v['account']} {v['size']} {v['page']}: {v['scrollWidth']} > {v['innerWidth']} {v['offenders']}"
        for v in result["visits"]
        if v["scrollWidth"] > v["innerWidth"]
    ]
    assert wide == [], "\n".join(wide)
    # axe-core (injected into each page): no serious or critical WCAG 2.1 A/AA violation, at
    # either size (colour contrast of at least 4.5:1 included).
    inaccessible = [
        f"{v['account']} {v['size']} {v['page']}: {a['id']} ({a['impact']}) {a['nodes']}"
        for v in result["visits"]
        for a in v["axe"]
    ]
    assert inaccessible == [], "\n".join(inaccessible)
    # The named contrasts: each check measured at every size (at least one element each), none
    # below 4.5:1.
    measured = {(c["check"], c["size"]) for c in result["contrast"]}
    assert measured == {(c["name"], size) for c in CONTRAST_CHECKS for size in sizes}, result["contrast"]
    low = [c for c in result["contrast"] if c["ratio"] < MIN_CONTRAST]
    assert low == [], low


# A cap, not a wait: two accounts and the signed-out pages x two sizes x every page, each with an
# axe-core scan, takes minutes on a loaded 2-core machine (the scenario itself allows 1300 s).
@pytest.mark.timeout(1500)
def test_no_page_scrolls_sideways_on_a_phone_or_a_desktop(web: Stack, admin_token: str) -> None:
    accounts = every_page(web, admin_token)
    result = run_scenario(web, "sweep", sweep_params(accounts), timeout=1300)
    assert result["prefersDark"] is False
    assert all(v["scheme"] == "light" for v in result["visits"] if v["account"] == "signed-out")
    check_sweep(result, accounts)


@pytest.mark.timeout(1500)
def test_every_page_is_legible_in_dark_mode(web: Stack) -> None:
    """The system's dark setting (prefers-color-scheme: dark, emulated): the app turns dark and
    every page still passes axe-core, contrast of 4.5:1 included; screenshots sweep-dark-*."""
    # A token of its own: the module's admin token expires during the light sweep before this.
    accounts = every_page(web, web.login(ADMIN, ADMIN_PASSWORD))
    result = run_scenario(
        web,
        "sweep",
        sweep_params(accounts, colorScheme="dark", openTables=True),
        timeout=1300,
    )
    assert result["prefersDark"] is True
    # The page body is dark (low oklch lightness or RGB channels), not a light page left as it was.
    background = result["bodyBackground"]
    numbers = [float(c) for c in re.findall(r"[\d.]+", background)]
    dark = numbers[0] < 0.4 if background.startswith("oklch") else max(numbers[:3]) < 80
    assert dark, background
    assert all(v["scheme"] == "dark" for v in result["visits"])
    # The charts' table alternatives were open during the scan (overview and history have charts).
    assert any(v["tables"] > 0 for v in result["visits"] if v["page"] == "overview"), result["visits"]
    check_sweep(result, accounts)


def test_owner_names_the_household_and_sees_it_apart_from_the_ids(web: Stack) -> None:
    household = households_of(web, USER, USER_PASSWORD)[0]
    token = web.login(USER, USER_PASSWORD)
    try:
        result = run_scenario(
            web, "rename", {"username": USER, "password": USER_PASSWORD, "name": "Villa Solsikke"}
        )
        assert result["title"] == "Villa Solsikke"
        assert result["householdId"] == household and household in result["headerHousehold"]
        assert result["refusal"], "the refused name gave no message"
        status, body = web.api("GET", f"/api/v1/households/{household}", token=token)
        assert status == 200 and body["household"]["displayName"] == "Villa Solsikke"
        # Through Envoy: a bad name is a 400 with its reason, another household's a 403.
        status, body = web.api(
            "POST", f"/api/v1/households/{household}:rename", {"displayName": "a\u202eb"}, token=token
        )
        assert status == 400 and "DISPLAY_NAME_INVALID" in str(body), (status, body)
        other = households_of(web, OTHER_USER, USER_PASSWORD)[0]
        status, _ = web.api(
            "POST", f"/api/v1/households/{other}:rename", {"displayName": "Taken"}, token=token
        )
        assert status == 403
    finally:
        web.api(
            "POST",
            f"/api/v1/households/{household}:rename",
            {"displayName": f"Simulated household {household}"},
            token=token,
        )
