"""The NOK bill in the browser: this month line by line, the projection, Spot or Norgespris + CSV.

A stack younger than an hour has settled nothing, so the test writes priced hours for
household-0001 into ingest's own settlements table for hours before the stack started (the
pipeline never settles those, so nothing collides): last month whole, this month so far.
Screenshots at 1440x900 and 390x844 land in test-artifacts/screenshots/10-*, 11-*.
"""

from __future__ import annotations

import time
from datetime import datetime

import pytest
from sqlalchemy import create_engine, insert

from devstack.stack import Stack
from energy.localtime import zone
from ingest_svc.billing.bridge_store import SettlementRow
from tests.e2e.test_dashboard import USER, USER_PASSWORD, run_scenario

HOUR_MS = 3_600_000


def _month_start_ms(year: int, month: int) -> int:
    return int(datetime(year, month, 1, tzinfo=zone("Europe/Oslo")).timestamp() * 1000)


def _seed(stack: Stack, household: str) -> int:
    now_ms = int(time.time() * 1000)
    started = now_ms - now_ms % HOUR_MS - HOUR_MS  # hours before this one: the stack settles none
    today = datetime.now(zone("Europe/Oslo"))
    this = _month_start_ms(today.year, today.month)
    prev_year, prev_month = (today.year - 1, 12) if today.month == 1 else (today.year, today.month - 1)
    start = _month_start_ms(prev_year, prev_month)
    rows = [
        {
            "household_id": household,
            "hour_start_ms": h,
            "zone": "NO1",
            "time_zone": "Europe/Oslo",
            "metered_wh": 600 + (h // HOUR_MS % 24) * 40,
            "closed_ms": h,
            "priced": True,
            "spot_price_micro_eur_per_kwh": 60_000 + (h // HOUR_MS % 24) * 2_500,
        }
        for h in range(start, started, HOUR_MS)
    ]
    engine = create_engine(stack.env["EP_INGEST_DATABASE_URL"])
    with engine.begin() as conn:
        conn.execute(insert(SettlementRow), rows)
    engine.dispose()
    return sum(1 for h in range(start, started, HOUR_MS) if h >= this)


def test_month_bill_and_scheme_comparison_pages(stack: Stack) -> None:
    status, body = stack.api("GET", "/")
    if status != 200 or 'id="root"' not in str(body):
        pytest.skip("the stack serves no dashboard (cd dashboard && npm run build)")
    token = stack.login(USER, USER_PASSWORD)
    status, me = stack.api("GET", "/api/v1/auth/me", token=token)
    household = me["user"]["householdIds"][0]
    this_month_hours = _seed(stack, household)
    status, cost = stack.api("GET", f"/api/v1/households/{household}/month-cost", token=token)
    assert status == 200, cost
    assert cost["currency"] == "NOK"
    lines = {line["name"]: line for line in cost["lines"]}
    assert int(cost["totalMinor"]) == sum(int(x["amountMinor"]) + int(x["vatMinor"]) for x in cost["lines"])
    if this_month_hours:
        assert int(lines["spot_energy"]["amountMinor"]) > 0 and int(lines["elavgift"]["amountMinor"]) > 0
    assert int(cost["lastMonthTotalMinor"]) > 0
    status, compare = stack.api(
        "GET", f"/api/v1/households/{household}/scheme-comparison?months=3", token=token
    )
    assert status == 200, compare
    assert compare["csv"].startswith("month,through_day,contract_scheme")
    result = run_scenario(stack, "bill", {"username": USER, "password": USER_PASSWORD})
    assert "kr" in result["monthTotal"] and "kr" in result["projection"]
    assert "spot_energy" in result["lines"] and result["schemeRows"] >= 1
    assert result["csv"] == compare["csv"]
