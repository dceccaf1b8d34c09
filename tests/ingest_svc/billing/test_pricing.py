"""Pricing closed hours with a fake price source; SETTLEMENT appends queued once per hour."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
from sqlalchemy import insert, select
from sqlalchemy.engine import Engine

from energy.bill import Contract, build_calendar, rows_for, settle
from energy.bill.period import COMPONENTS
from energypulse.ledger.v1 import ledger_service_pb2, record_pb2
from ingest_svc.billing import contract_columns
from ingest_svc.billing.bridge_store import OutboxRow, SettlementRow
from ingest_svc.billing.pricing import Pricer, _HourState, month_imports_before, month_peaks_wh
from ingest_svc.billing.pricing import hour_iso as pricing_iso
from ingest_svc.billing.rules import default_bill_rules
from ingest_svc.intake.store import READING_TABLES
from tests.ingest_svc.billing.fakes import (
    H0,
    HOUR_MS,
    Clock,
    FakePrices,
    household,
    register,
    settle_all,
    store,
    write_readings,
)


async def test_closed_hours_are_priced_once_and_queued_for_the_ledger(tmp_path: Path) -> None:
    engine = store(tmp_path)
    register(engine, household("hh-1", ["m-a"]), household("hh-2", ["m-b"], zone="no2"))
    write_readings(engine, "m-a", range(25), 0.1)
    write_readings(engine, "m-b", range(25), 0.2)
    settle_all(engine)
    prices = FakePrices(eur_mwh=80.0, cleared_until_ms=H0 + HOUR_MS)  # only H0 cleared yet
    pricer = Pricer(engine, prices, clock=Clock(), tables=READING_TABLES)
    assert await pricer.run_once() == 2
    assert {zone for zone, _, _ in prices.calls} == {"NO1", "NO2"}
    prices.cleared_until_ms = None
    assert await pricer.run_once() == 2
    assert await pricer.run_once() == 0  # nothing left: no second append for any hour
    with engine.connect() as conn:
        priced = conn.execute(
            select(SettlementRow.household_id, SettlementRow.spot_price_micro_eur_per_kwh).where(
                SettlementRow.priced.is_(True)
            )
        ).all()
        outbox = conn.execute(select(OutboxRow.request_id, OutboxRow.payload)).all()
    assert len(priced) == 4 and {p for _, p in priced} == {80_000}  # 80 EUR/MWh = 0.08 EUR/kWh
    assert sorted(r for r, _ in outbox) == [
        "settlement:hh-1:2026-01-01T00:00:00Z",
        "settlement:hh-1:2026-01-01T01:00:00Z",
        "settlement:hh-2:2026-01-01T00:00:00Z",
        "settlement:hh-2:2026-01-01T01:00:00Z",
    ]
    record = ledger_service_pb2.AppendRecordsRequest.FromString(outbox[0][1]).records[0].settlement
    parts = (
        record.spot_cost_micro_eur,
        record.grid_energy_cost_micro_eur,
        record.capacity_cost_micro_eur,
        record.standing_charge_micro_eur,
        record.vat_micro_eur,
    )
    assert record.total_cost_micro_eur == sum(parts) > 0


class QuarterPrices:
    """A price per quarter-hour (the market since 2025-10-01)."""

    def __init__(self, prices: dict[int, float]) -> None:
        self.prices = prices

    async def market_prices(self, zone: str, start_ms: int, end_ms: int) -> dict[int, float]:
        return {t: p for t, p in self.prices.items() if start_ms <= t < end_ms}


JAN15 = 1_768_431_600_000  # 2026-01-15T00:00 Oslo (23:00Z)
QUARTER = 900_000


def _signed_rows(engine: Engine, household_id: str, start: int, wh: list[int]) -> None:
    meter_values = record_pb2.SettlementRecord(
        meter_periods=[record_pb2.SignedMeterPeriod(meter_id=f"m-{household_id}", key_id="k")]
    ).SerializeToString()
    with engine.begin() as conn:
        conn.execute(
            insert(SettlementRow),
            [
                {
                    "household_id": household_id,
                    "hour_start_ms": start + i * QUARTER,
                    "period_ms": QUARTER,
                    "zone": "NO5",
                    "time_zone": "Europe/Oslo",
                    "metered_wh": w,
                    "closed_ms": start,
                    "meter_values": meter_values,
                }
                for i, w in enumerate(wh)
            ],
        )


def _records(engine: Engine) -> list[record_pb2.SettlementRecord]:
    with engine.connect() as conn:
        payloads = conn.execute(select(OutboxRow.payload).order_by(OutboxRow.request_id)).scalars().all()
    return [ledger_service_pb2.AppendRecordsRequest.FromString(p).records[0].settlement for p in payloads]


async def test_signed_quarter_hours_carry_the_nok_bill_components(tmp_path: Path) -> None:
    """Version-2 records: currency NOK, the bill's parts as components summing to the total; the
    parts of a day's quarters are the month bill's (energy.bill.settle) to the micro-krone."""
    engine = store(tmp_path)
    row = household("hh-q", ["m-hh-q"], zone="NO5")
    row.update(contract_columns("bkk", "4601", "spot", "home", None, None))
    register(engine, row)
    rng = np.random.default_rng(3)
    n = 24 * 4
    wh = [int(w) for w in rng.integers(-200, 1500, n)]  # some quarters export (solar)
    eur = [float(p) for p in rng.uniform(-5.0, 400.0, n)]  # EUR/MWh, a few negative
    _signed_rows(engine, "hh-q", JAN15, wh)
    rules = default_bill_rules()
    prices = QuarterPrices({JAN15 + i * QUARTER: p for i, p in enumerate(eur)})
    assert await Pricer(engine, prices, rules=rules, clock=Clock(), tables=READING_TABLES).run_once() == n
    records = _records(engine)
    assert len(records) == n
    for r in records:
        assert r.format_version == 2 and r.currency == "NOK"
        assert [c.name for c in r.components] == list(COMPONENTS)
        assert sum(c.amount_micro for c in r.components) == r.total_cost_micro_eur
    # The same day as one calendar of the month bill: every variable line agrees to within one
    # micro-krone per record (each record rounds each line once).
    ms = JAN15 + np.arange(n, dtype=np.int64) * QUARTER
    cal = build_calendar(rules.book, "bkk", "4601", 2026, 1, ms, np.array(eur), rules.fx, minutes=15)
    net = np.array(wh, dtype=np.int64)
    batch = rows_for(rules.book, cal, [Contract("bkk", "4601")], np.maximum(net, 0), np.maximum(-net, 0))
    month = settle(rules.book, cal, batch)
    for name in (
        "spot_energy",
        "supplier_markup",
        "grid_energy",
        "elavgift",
        "enova",
        "stromstotte",
        "export_credit",
    ):
        got = sum(c.amount_micro for r in records for c in r.components if c.name == name)
        assert abs(got - int(month.amount[name][0]) / 1000) <= n, name
    assert any(c.amount_micro < 0 for r in records for c in r.components if c.name == "stromstotte")
    assert any(c.amount_micro < 0 for r in records for c in r.components if c.name == "export_credit")
    # the record's price is the NOK price of its quarter
    assert [r.spot_price_micro_eur_per_kwh for r in records] == cal.spot_micro.tolist()
    with engine.connect() as conn:
        stored = conn.execute(select(SettlementRow.currency, SettlementRow.cost_micro)).all()
        # the batched month-so-far read (one per hour) gives the per-period queries' figures
        for t in range(JAN15, JAN15 + n * QUARTER, 5 * QUARTER):
            hour = t - t % HOUR_MS
            state = _HourState.read(conn, ["hh-q"], hour)
            assert state.imports_before("hh-q", t) == month_imports_before(conn, "hh-q", t)
            assert list(state.peaks("hh-q", t, "Europe/Oslo")) == month_peaks_wh(
                conn, "hh-q", t, "Europe/Oslo"
            )
    assert {c for c, _ in stored} == {"NOK"}
    assert sorted(int(t or 0) for _, t in stored) == sorted(r.total_cost_micro_eur for r in records)


async def test_support_stops_at_the_monthly_volume_cap_counted_before_the_period(tmp_path: Path) -> None:
    engine = store(tmp_path)
    row = household("hh-c", ["m-hh-c"], zone="NO5")
    row.update(contract_columns("bkk", "4601", "spot", "home", None, None))
    register(engine, row)
    rules = default_bill_rules()
    cap = rules.book.support.at(date(2026, 1, 15)).cap_wh
    with engine.begin() as conn:  # the month so far: 1 kWh short of the cap, already priced
        conn.execute(
            insert(SettlementRow).values(
                household_id="hh-c",
                hour_start_ms=JAN15 - 10 * 24 * HOUR_MS,
                period_ms=QUARTER,
                zone="NO5",
                time_zone="Europe/Oslo",
                metered_wh=cap - 1000,
                closed_ms=0,
                priced=True,
            )
        )
    _signed_rows(engine, "hh-c", JAN15, [2000, 0, 0, 0])
    prices = QuarterPrices({JAN15 + i * QUARTER: 300.0 for i in range(4)})  # 3.45 NOK/kWh at 11.50
    assert await Pricer(engine, prices, rules=rules, clock=Clock(), tables=READING_TABLES).run_once() == 4
    first = _records(engine)[0]
    support = next(c.amount_micro for c in first.components if c.name == "stromstotte")
    rule = rules.book.support.at(date(2026, 1, 15))
    excess = 3_450_000 - rule.threshold_micro_per_kwh  # µNOK/kWh above the threshold
    # only the 1 kWh left under the cap: 1 kWh x excess x 90 %, in micro-kroner
    assert support == -round(1000 * excess * rule.percent_bp / 10_000 / 1000)


async def test_a_legacy_hour_records_the_household_bill_in_the_version1_parts(tmp_path: Path) -> None:
    """A meter that does not sign: its version-1 record is the same bill as its settlement row
    (the NOK components), in the format's five parts and micro-EUR at the day's EUR/NOK (the
    default rule set's fallback, 11.50): no second tariff."""
    import json
    from decimal import Decimal

    engine = store(tmp_path)
    register(engine, household("hh-1", ["m-a"]))
    write_readings(engine, "m-a", range(25), 0.1)
    settle_all(engine)
    assert (
        await Pricer(engine, FakePrices(eur_mwh=80.0), clock=Clock(), tables=READING_TABLES).run_once() == 2
    )
    with engine.connect() as conn:
        rows = {
            f"settlement:hh-1:{pricing_iso(int(start))}": (str(currency), json.loads(str(comps)))
            for start, currency, comps in conn.execute(
                select(SettlementRow.hour_start_ms, SettlementRow.currency, SettlementRow.cost_components)
            )
        }
        outbox = conn.execute(select(OutboxRow.request_id, OutboxRow.payload)).all()
    assert len(outbox) == 2
    for request_id, payload in outbox:
        record = ledger_service_pb2.AppendRecordsRequest.FromString(payload).records[0].settlement
        currency, comps = rows[request_id]
        assert currency == "NOK" and record.format_version in (0, 1) and not record.currency
        nok = dict(comps)

        def eur(*names: str, nok: dict[str, int] = nok) -> int:
            value = Decimal(sum(nok[n] for n in names)) / Decimal("11.50")
            return int(value.quantize(Decimal(1), rounding="ROUND_HALF_UP"))

        assert record.spot_cost_micro_eur == eur("spot_energy", "supplier_markup", "export_credit")
        assert record.grid_energy_cost_micro_eur == eur(
            "grid_energy", "elavgift", "enova", "stromstotte", "norgespris"
        )
        assert record.capacity_cost_micro_eur == eur("grid_capacity")
        assert record.standing_charge_micro_eur == eur("supplier_fee")
        assert record.vat_micro_eur == eur("vat")
        parts = (
            record.spot_cost_micro_eur,
            record.grid_energy_cost_micro_eur,
            record.capacity_cost_micro_eur,
            record.standing_charge_micro_eur,
            record.vat_micro_eur,
        )
        assert record.total_cost_micro_eur == sum(parts)
        # the NOK total / 11.50, to within the five parts' roundings
        assert abs(record.total_cost_micro_eur - sum(nok.values()) / 11.5) <= 2.5
        assert record.spot_price_micro_eur_per_kwh == 80_000
