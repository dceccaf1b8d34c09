"""A meter that is delivering a back-log is not a silent meter (SQLite and PostgreSQL).

Two signing households: "live" has reported through boundary LAST, "late" only through boundary
2 so far, its gateway behind (a back-filled demo, a concentrator back after an outage). The
fleet's watermark is hours past late's next period end. As long as late's readings keep
arriving, its periods wait for their signed values (before: recorded unbilled for good, then the
values arrived and could never be billed); once its back-log is in, they settle like any other.
A meter from which nothing has arrived for the grace is silent: its periods close unbilled, as
before.
"""

from __future__ import annotations

from sqlalchemy import func, select

from common.db import make_engine
from contracts.mqtt.boundary import KEY_ALGORITHM, SignedBoundary
from ingest_svc.app import migrate
from ingest_svc.billing.bridge_store import MissingPeriodRow, SettlementRow
from ingest_svc.billing.settlement import Settler
from ingest_svc.intake.store import READING_TABLES, ReadingStore, register_households
from ingest_svc.intake.validation import Reading
from meter_sim.signing import MeterSigner
from tests.conftest import sqlite_or_postgres
from tests.ingest_svc.billing.fakes import H0, Clock, household

Q = 900_000
LAST = 12
GRACE_MS = 15 * 60_000

db_url = sqlite_or_postgres("ep_backlog", migrate)


def _boundaries(
    store: ReadingStore, signer: MeterSigner, meter: str, indexes: range, received_ms: int
) -> None:
    readings: list[tuple[Reading, int]] = []
    boundaries: list[tuple[SignedBoundary, int]] = []
    for i in indexes:
        ts, wh = H0 + i * Q, 1_000 + 100 * i
        readings.append((Reading(meter, i, ts, 230.0, 1.0, 230.0, 1.0, wh / 1000, 0.0), received_ms))
        boundaries.append((SignedBoundary(meter, ts, wh, 0, i, signer.key_id, b"s" * 64), received_ms))
    store.write_batch(readings, [], boundaries)


def _fleet(db_url: str, late_heard_ms: int) -> tuple[Settler, ReadingStore, MeterSigner, Clock]:
    engine = make_engine(db_url)
    signers = {m: MeterSigner.generate(m) for m in ("m-live", "m-late")}
    rows = []
    for h, m in (("hh-live", "m-live"), ("hh-late", "m-late")):
        row = household(h, [m])
        row["meter_keys"] = [(m, signers[m].key_id, KEY_ALGORITHM, signers[m].public_key)]
        rows.append(row)
    register_households(engine, rows, H0)
    store = ReadingStore(engine)
    clock = Clock(now_s=(H0 + (LAST + 8) * Q) / 1000)  # wall time: well after the readings' time
    now_ms = int(clock.now * 1000)
    _boundaries(store, signers["m-live"], "m-live", range(LAST + 1), now_ms)
    _boundaries(store, signers["m-late"], "m-late", range(3), late_heard_ms)
    settler = Settler(engine, READING_TABLES, grace_ms=GRACE_MS, clock=clock)
    settler.start_new_households()
    return settler, store, signers["m-late"], clock


def _close_all(settler: Settler) -> None:
    while settler.close_due():
        pass


def _periods(settler: Settler, household_id: str) -> tuple[list[int], list[tuple[int, str]]]:
    with settler.engine.connect() as conn:
        settled = conn.execute(
            select(SettlementRow.hour_start_ms)
            .where(SettlementRow.household_id == household_id)
            .order_by(SettlementRow.hour_start_ms)
        ).scalars()
        missing = conn.execute(
            select(MissingPeriodRow.period_start_ms, MissingPeriodRow.reason)
            .where(MissingPeriodRow.household_id == household_id)
            .order_by(MissingPeriodRow.period_start_ms)
        ).all()
        return [(int(t) - H0) // Q for t in settled], [((int(t) - H0) // Q, str(r)) for t, r in missing]


def test_a_meter_delivering_its_back_log_is_waited_for_and_then_settles(db_url: str) -> None:
    now_ms = H0 + (LAST + 8) * Q  # late's readings arrived just now
    settler, store, late_signer, clock = _fleet(db_url, now_ms)
    try:
        _close_all(settler)
        assert _periods(settler, "hh-live") == (list(range(LAST)), [])
        assert _periods(settler, "hh-late") == ([0, 1], [])  # waiting, nothing written off

        clock.now += 60  # a minute later the rest of the back-log is in
        _boundaries(store, late_signer, "m-late", range(3, LAST + 1), int(clock.now * 1000))
        _close_all(settler)
        assert _periods(settler, "hh-late") == (list(range(LAST)), [])
        with settler.engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(MissingPeriodRow)).scalar() == 0
    finally:
        settler.engine.dispose()


def test_a_meter_heard_of_no_longer_than_the_grace_is_silent(db_url: str) -> None:
    now_ms = H0 + (LAST + 8) * Q
    settler, _store, _signer, _clock = _fleet(db_url, now_ms - GRACE_MS - 60_000)
    try:
        _close_all(settler)
        settled, missing = _periods(settler, "hh-late")
        assert settled == [0, 1]
        # Its periods from boundary 2 on close unbilled as far as the fleet's watermark's grace.
        assert missing and missing[0] == (2, "NO_READINGS")
        assert {r for _p, r in missing} == {"NO_READINGS"}
    finally:
        settler.engine.dispose()


def test_values_committed_while_a_batch_closes_are_not_written_off(db_url: str) -> None:
    """Intake commits the late meter's next readings (signed values and a sample past them)
    between the batch's read of the signed values and its look at the meter: the batch must not
    record those periods unbilled from its older view (each read sees the newest commit)."""
    now_ms = H0 + (LAST + 8) * Q
    settler, store, late_signer, clock = _fleet(db_url, now_ms)
    try:
        read_values = settler._boundary_values
        committed: list[bool] = []

        def values_then_a_commit(*args: object) -> object:
            values = read_values(*args)  # type: ignore[arg-type]
            if not committed:
                committed.append(True)
                _boundaries(store, late_signer, "m-late", range(3, LAST + 1), int(clock.now * 1000))
            return values

        settler._boundary_values = values_then_a_commit  # type: ignore[assignment, method-assign]
        _close_all(settler)
        assert committed
        assert _periods(settler, "hh-late")[1] == []  # nothing written off
        settler._boundary_values = read_values  # type: ignore[method-assign]
        _close_all(settler)
        assert _periods(settler, "hh-late") == (list(range(LAST)), [])
    finally:
        settler.engine.dispose()
