"""The NOK month bill of a registered household, from its settled hours (real SQLite store)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import insert
from sqlalchemy.engine import Engine

from common.errors import FailedPrecondition, InvalidArgument, NotFound
from energy.bill import Contract, bill, build_calendar
from energy.fx import FixedFxSource
from energy.localtime import zone
from energy.ratebook import RateConfigError
from ingest_svc.billing import contract_columns, load_month_costs
from ingest_svc.billing.bridge_store import SettlementRow
from ingest_svc.billing.month_cost import quarters
from ingest_svc.intake.store import READING_TABLES
from tests.ingest_svc.billing.fakes import household, register, store

HOUR_MS = 3_600_000
QUARTER_MS = 900_000
JAN = int(datetime(2026, 1, 1, tzinfo=zone("Europe/Oslo")).timestamp() * 1000)
NOW = JAN + (10 * 24 + 5) * HOUR_MS + 60_000  # 2026-01-11 05:01 Oslo


def _settle(engine: Engine, household_id: str, start: int, hours: int, wh: int, micro_eur: int) -> None:
    with engine.begin() as conn:
        conn.execute(
            insert(SettlementRow),
            [
                {
                    "household_id": household_id,
                    "hour_start_ms": start + i * HOUR_MS,
                    "zone": "NO5",
                    "time_zone": "Europe/Oslo",
                    "metered_wh": wh,
                    "closed_ms": start,
                    "priced": True,
                    "spot_price_micro_eur_per_kwh": micro_eur,
                }
                for i in range(hours)
            ],
        )


def _home(engine: Engine, household_id: str, **contract: object) -> None:
    row = household(household_id, [f"m-{household_id}"], zone="NO5")
    row.update(
        contract_columns(
            str(contract.get("grid", "bkk")),
            str(contract.get("municipality", "4601")),
            str(contract.get("scheme", "spot")),
            "home",
            None,
            None,
        )
    )
    register(engine, row)


def test_month_so_far_is_the_energy_bill_of_the_settled_hours(tmp_path: Path) -> None:
    engine = store(tmp_path)
    _home(engine, "hh-1")
    _settle(engine, "hh-1", JAN, 10 * 24 + 5, 1500, 150_000)  # 1.5 kWh an hour at 150 EUR/MWh
    _settle(engine, "hh-1", JAN - 31 * 24 * HOUR_MS, 31 * 24, 1000, 80_000)  # December 2025
    costs = load_month_costs(engine, READING_TABLES, "", "", "11.50", "glitre", "")
    result = costs.month_cost("hh-1", "", NOW)
    ms = JAN + np.arange(10 * 24 + 5, dtype=np.int64) * HOUR_MS
    cal = build_calendar(
        costs.book,
        "bkk",
        "4601",
        2026,
        1,
        ms,
        np.full(len(ms), 150.0),
        FixedFxSource(Decimal("11.50")),
        minutes=60,
    )
    expected = bill(costs.book, cal, Contract("bkk", "4601"), np.full(len(ms), 1500), through_day=11)
    assert result.invoice.lines == expected.lines and result.invoice.through_day == 11
    assert result.invoice.currency == "NOK" and result.month == "2026-01"
    # fixed monthly amounts are 11/31 of the month so far
    assert result.invoice.line("supplier_fee").amount_minor == round(4900 * 11 / 31)
    assert result.last_month_total_minor is not None and result.last_month_total_minor > 0
    proj = result.projection
    assert proj is not None and proj.other_minor is not None
    assert (
        result.invoice.total_minor
        < proj.contract_minor[0]
        <= proj.contract_minor[1]
        <= proj.contract_minor[2]
    )
    # spot or Norgespris, this month and the last
    months, projection, csv_text = costs.compare("hh-1", 3, NOW)
    assert [(m.year, m.month) for m in months] == [(2026, 1), (2025, 12)]
    assert months[0].contract_minor == result.invoice.total_minor and months[0].other_minor is not None
    assert projection is not None and csv_text.splitlines()[1].startswith("2026-01,11,spot,")


def test_signed_quarter_hours_are_billed_at_their_own_prices(tmp_path: Path) -> None:
    """A meter-signing household's periods are quarter-hours (signed boundary deltas): each is
    billed at its quarter's price, not at its hour's mean; a legacy hour is four equal quarters."""
    engine = store(tmp_path)
    _home(engine, "hh-q")
    _home(engine, "hh-l")
    hours = 48
    rng = np.random.default_rng(7)
    wh = rng.integers(0, 900, hours * 4)
    micro = rng.integers(20_000, 400_000, hours * 4)  # µEUR/kWh per quarter
    rows = [
        {
            "household_id": "hh-q",
            "hour_start_ms": JAN + i * QUARTER_MS,
            "period_ms": QUARTER_MS,
            "zone": "NO5",
            "time_zone": "Europe/Oslo",
            "metered_wh": int(wh[i]),
            "closed_ms": JAN,
            "priced": True,
            "spot_price_micro_eur_per_kwh": int(micro[i]),
        }
        for i in range(hours * 4)
    ]
    with engine.begin() as conn:
        conn.execute(insert(SettlementRow), rows)
    _settle(engine, "hh-l", JAN, 1, 1003, 100_000)  # a legacy hour: 251 + 251 + 251 + 250 Wh
    costs = load_month_costs(engine, READING_TABLES, "", "", "11.50", "glitre", "")
    got = costs.month_cost("hh-q", "2026-01", NOW).invoice
    ms = JAN + np.arange(hours * 4, dtype=np.int64) * QUARTER_MS
    fx = FixedFxSource(Decimal("11.50"))
    cal = build_calendar(costs.book, "bkk", "4601", 2026, 1, ms, micro / 1000, fx, minutes=15)
    assert got.lines == bill(costs.book, cal, Contract("bkk", "4601"), wh, through_day=11).lines
    expected_spot = sum(int(w) * int(m) for w, m in zip(wh, micro, strict=True))  # Wh x µEUR/kWh
    assert got.line("spot_energy").amount_minor == round(expected_spot * 11.5 / 1e7)
    hourly_mean = sum(
        int(wh[4 * h : 4 * h + 4].sum()) * int(micro[4 * h : 4 * h + 4].mean()) for h in range(hours)
    )
    assert hourly_mean != expected_spot  # the quarters' own prices make a difference here
    legacy_ms, legacy_wh, legacy_spot = quarters([(JAN, HOUR_MS, 1003, 100_000)])
    assert legacy_ms.tolist() == [JAN + i * QUARTER_MS for i in range(4)]
    assert legacy_wh.tolist() == [251, 251, 251, 250] and legacy_spot.tolist() == [100.0] * 4
    assert costs.month_cost("hh-l", "2026-01", NOW).invoice.import_wh == 1003


def test_errors_carry_reasons(tmp_path: Path) -> None:
    engine = store(tmp_path)
    _home(engine, "hh-x", grid="nowhere")
    _settle(engine, "hh-x", JAN, 5, 1000, 100_000)
    costs = load_month_costs(engine, READING_TABLES, "", "", "11.50", "glitre", "")
    with pytest.raises(FailedPrecondition, match="unknown grid company 'nowhere'") as exc:
        costs.month_cost("hh-x", "", NOW)
    assert exc.value.reason == "BILL_UNKNOWN_GRID_COMPANY"
    with pytest.raises(InvalidArgument, match="future"):
        costs.month_cost("hh-x", "2027-01", NOW)
    with pytest.raises(InvalidArgument, match="YYYY-MM"):
        costs.month_cost("hh-x", "2026-13", NOW)
    for before_epoch in ("0000-01", "1969-12"):  # found by tests/e2e/test_fuzz_routes.py (was a 500)
        with pytest.raises(InvalidArgument, match="between 1970-01") as early:
            costs.month_cost("hh-x", before_epoch, NOW)
        assert early.value.reason == "BILL_INVALID_MONTH"
    with pytest.raises(NotFound):
        costs.month_cost("nobody", "", NOW)
    with pytest.raises(InvalidArgument, match="four digits"):
        contract_columns("bkk", "46", "spot", "home", None, None)


def test_bad_settings_fail_at_start_up(tmp_path: Path) -> None:
    engine = store(tmp_path)
    with pytest.raises(RateConfigError, match="EP_BILL_EURNOK_FILE or EP_BILL_EURNOK_FALLBACK"):
        load_month_costs(engine, READING_TABLES, "", "", "", "glitre", "")
    with pytest.raises(RateConfigError, match="EP_BILL_DEFAULT_GRID_COMPANY"):
        load_month_costs(engine, READING_TABLES, "", "", "11.5", "nowhere", "")
    with pytest.raises(RateConfigError, match="EP_BILL_SUPPORT_PERIOD"):
        load_month_costs(engine, READING_TABLES, "", "", "11.5", "glitre", "day")


def test_projection_uses_the_seven_day_price_forecast_for_the_quarters_it_covers(tmp_path: Path) -> None:
    engine = store(tmp_path)
    _home(engine, "hh-f")
    known = 10 * 24 + 5
    _settle(engine, "hh-f", JAN, known, 1500, 150_000)
    costs = load_month_costs(engine, READING_TABLES, "", "", "11.50", "glitre", "")
    first = JAN + known * HOUR_MS
    week = 7 * 96  # GetPriceForecast: up to 7 delivery days of quarter-hours
    calm = {first + i * QUARTER_MS: (150.0, 150.0, 150.0) for i in range(week)}
    spike = {first + i * QUARTER_MS: (800.0, 900.0, 1200.0) for i in range(week)}
    base = costs.month_cost("hh-f", "", NOW, calm).projection
    high = costs.month_cost("hh-f", "", NOW, spike).projection
    assert base is not None and high is not None
    # 7 forecast days of ~36 kWh at ~9 NOK more per kWh (support takes 90 % of the excess)
    assert high.contract_minor[1] > base.contract_minor[1]
    assert high.horizon_periods == base.horizon_periods == week
    # an hourly forecast covers its four quarters
    hourly = {first + i * HOUR_MS: (150.0, 150.0, 150.0) for i in range(24)}
    by_hour = costs.month_cost("hh-f", "", NOW, hourly).projection
    assert by_hour is not None and by_hour.horizon_periods == 96
    assert high.other_minor is not None and base.other_minor is not None
    # on Norgespris the spike is the grid company's: the gap between schemes widens with it
    assert (high.contract_minor[1] - high.other_minor[1]) > (base.contract_minor[1] - base.other_minor[1])
