"""Batched settlement (Settler.close_due) and pricing on SQLite and PostgreSQL: hand-worked
periods, the same rows (settled, priced, queued for the ledger) whichever way the periods are
batched, and a settling batch that fails at its last write leaves
nothing behind (the next pass settles it once).

Four households from 22:00Z on 31 December (23:00 in Oslo, so the local day changes an hour in),
12 quarter-hours, signed boundary values written straight into the store:
- hh-a, meters m-a1 (+100 Wh a quarter, +1,000 in quarter 8, exporting 1,500 in quarter 10) and
  m-a2 (+50 Wh a quarter, no boundary value at 23:45Z: quarters 6 and 7 are not signed);
- hh-b, m-b (+200 Wh a quarter, a 20,000 Wh jump in quarter 8: implausible, not billed);
- hh-c, m-c (signs from 22:15Z on: quarter 0 is not signed);
- hh-d, m-d, a legacy meter without a key: hourly from its counters (+100 Wh per 5 minutes).
Readings every 5 minutes to 01:00Z.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from common import timestamps
from common.db import make_engine
from contracts.mqtt.boundary import KEY_ALGORITHM, SignedBoundary
from energypulse.ledger.v1 import ledger_service_pb2 as pb
from ingest_svc.app import migrate
from ingest_svc.billing.pricing import Pricer
from ingest_svc.billing.settlement import Closed, Settler
from ingest_svc.intake.store import READING_TABLES, ReadingStore, register_households
from ingest_svc.intake.validation import Reading
from meter_sim.signing import MeterSigner
from tests.conftest import sqlite_or_postgres
from tests.ingest_svc.billing.fakes import H0, HOUR_MS, FakePrices, household

REPO = Path(__file__).resolve().parents[3]
B0 = H0 - 2 * HOUR_MS  # 2025-12-31T22:00Z, 23:00 in Oslo
Q = 900_000
PERIODS = 12
SIGNED = ["m-a1", "m-a2", "m-b", "m-c"]


def _import_wh(meter: str, i: int) -> int | None:
    """The signed import register of ``meter`` at boundary ``i`` (None: no signed value)."""
    if meter == "m-a1":
        return 10_000 + 100 * i + (1_000 if i > 8 else 0)
    if meter == "m-a2":
        return None if i == 7 else 20_000 + 50 * i
    if meter == "m-b":
        return 30_000 + 200 * i + (20_000 if i > 8 else 0)
    return None if i == 0 else 40_000 + 300 * i  # m-c


def _export_wh(meter: str, i: int) -> int:
    return 1_500 if meter == "m-a1" and i > 10 else 0


db_url = sqlite_or_postgres("ep_settle")


def _engine(url: str) -> Engine:
    migrate(url)
    engine = make_engine(url)
    rows = [household("hh-a", ["m-a1", "m-a2"]), household("hh-b", ["m-b"]), household("hh-c", ["m-c"])]
    rows.append(household("hh-d", ["m-d"]))
    signers = {m: MeterSigner.generate(m) for m in SIGNED}
    for row in rows[:3]:
        meters = row["meter_ids"]
        assert isinstance(meters, list)
        row["meter_keys"] = [(m, signers[m].key_id, KEY_ALGORITHM, signers[m].public_key) for m in meters]
    register_households(engine, rows, B0)
    return engine


def _write(engine: Engine, first: int, last: int) -> None:
    """Readings (every 5 minutes) and signed values from boundary ``first`` to ``last``."""
    readings: list[tuple[Reading, int]] = []
    boundaries: list[tuple[SignedBoundary, int]] = []
    for i in range(first, last + 1):
        for step in range(3 if i < PERIODS else 1):
            ts = B0 + i * Q + step * 300_000
            for meter in [*SIGNED, "m-d"]:
                wh = 50_000 + 100 * (3 * i + step) if meter == "m-d" else _import_wh(meter, i)
                if wh is None:
                    continue
                kwh = wh / 1000
                readings.append((Reading(meter, 3 * i + step, ts, 230.0, 1.0, 230.0, 1.0, kwh, 0.0), ts))
                if step == 0 and meter != "m-d":
                    value = SignedBoundary(meter, ts, wh, _export_wh(meter, i), i, "k-" + meter, b"s" * 64)
                    boundaries.append((value, ts))
    ReadingStore(engine).write_batch(readings, [], boundaries)


def _close_all(settler: Settler, limit: int) -> list[Closed]:
    closed: list[Closed] = []
    while batch := settler.close_due(limit):
        closed += batch
    return closed


def _tables(engine: Engine) -> dict[str, list[tuple[object, ...]]]:
    queries = {
        "settlements": "select household_id, hour_start_ms, period_ms, zone, time_zone, metered_wh, priced,"
        " meter_values, currency, cost_micro, cost_components, spot_price_micro_eur_per_kwh, total_cost_micro_eur"
        " from settlements order by household_id, hour_start_ms",
        "outbox": "select kind, request_id, payload, status from outbox order by request_id",
        "missing": "select household_id, period_start_ms, period_ms, reason, detail from missing_periods"
        " order by household_id, period_start_ms",
        "peaks": "select household_id, local_day, peak_wh from daily_peaks order by household_id, local_day",
        "progress": "select household_id, next_hour_ms from household_progress order by household_id",
        "marks": "select meter_id, boundary_ms, import_wh, export_wh from meter_marks order by meter_id",
    }
    with engine.connect() as conn:
        out = {name: [tuple(r) for r in conn.execute(text(q))] for name, q in queries.items()}
    # Unbilled-period records join consecutive periods of a batch into one run (spec §17.7), so
    # their rows depend on the batching; the periods, reasons and details they record do not.
    runs = [r for r in out["outbox"] if str(r[1]).startswith("unbilled:")]
    out["outbox"] = [r for r in out["outbox"] if r not in runs]
    out["unbilled"] = sorted(
        (
            u.household_id,
            timestamps.to_ms(u.period_start) + k * u.period_seconds * 1000,
            u.reason,
            u.meter_id,
            u.detail,
        )
        for r in runs
        for u in [pb.AppendRecordsRequest.FromString(bytes(r[2])).records[0].unbilled_period]
        for k in range(u.period_count)
    )
    return out


def _price_all(engine: Engine) -> int:
    pricer = Pricer(engine, FakePrices(), tables=READING_TABLES)
    priced = 0
    while n := asyncio.run(pricer.run_once()):
        priced += n
    return priced


def _live(url: str) -> tuple[list[Closed], dict[str, list[tuple[object, ...]]]]:
    """A period at a time: one pass after each boundary's readings (one period per household)."""
    engine = _engine(url)
    settler = Settler(engine, READING_TABLES, grace_ms=0)
    closed: list[Closed] = []
    for i in range(PERIODS + 1):
        _write(engine, i, i)
        settler.start_new_households()
        closed += _close_all(settler, 2000)
        _price_all(engine)
    tables = _tables(engine)
    engine.dispose()
    return closed, tables


def test_periods_settle_as_hand_worked_and_alike_however_batched(db_url: str, tmp_path: Path) -> None:
    live, want = _live(db_url)
    signed = [
        (c.household_id, (c.hour_start_ms - B0) // Q, c.metered_wh, c.missing)
        for c in live
        if c.period_ms == Q
    ]
    a = [(i, wh, why) for h, i, wh, why in signed if h == "hh-a"]
    assert a == [
        *((i, 150, "") for i in range(6)),
        (6, 0, "NOT_SIGNED"),
        (7, 0, "NOT_SIGNED"),
        (8, 1_150, ""),
        (9, 150, ""),
        (10, 150 - 1_500, ""),  # exporting
        (11, 150, ""),
    ]
    b = [(i, wh, why) for h, i, wh, why in signed if h == "hh-b"]
    assert b == [
        *((i, 200, "") for i in range(8)),
        (8, 0, "IMPLAUSIBLE_ENERGY"),
        *((i, 200, "") for i in (9, 10, 11)),
    ]
    c = [(i, wh, why) for h, i, wh, why in signed if h == "hh-c"]
    assert c == [(0, 0, "NOT_SIGNED"), *((i, 300, "") for i in range(1, 12))]
    # Legacy hh-d: hourly from its counters, 12 five-minute steps of 100 Wh an hour.
    assert [(c.hour_start_ms - B0, c.metered_wh) for c in live if c.household_id == "hh-d"] == [
        (0, 1_100),  # from its first reading (k=0) to its last before the hour's end (k=11)
        (HOUR_MS, 1_200),
        (2 * HOUR_MS, 1_200),
    ]
    # Daily peaks by hourly energy (Oslo days): 31 December is the 22Z hour; on 1 January hh-a's
    # 00Z hour reached 1,300 Wh after quarter 9, and quarter 10's export brought it down to 100 Wh,
    # so the day's peak is its 23Z hour (quarters 4 and 5 signed: 300 Wh).
    assert want["peaks"] == [
        ("hh-a", "2025-12-31", 600),
        ("hh-a", "2026-01-01", 300),
        ("hh-b", "2025-12-31", 800),
        ("hh-b", "2026-01-01", 800),
        ("hh-c", "2025-12-31", 900),
        ("hh-c", "2026-01-01", 1_200),
        ("hh-d", "2025-12-31", 1_100),
        ("hh-d", "2026-01-01", 1_200),
    ]
    assert [r[:4] for r in want["missing"]] == [
        ("hh-a", B0 + 6 * Q, Q, "NOT_SIGNED"),
        ("hh-a", B0 + 7 * Q, Q, "NOT_SIGNED"),
        ("hh-b", B0 + 8 * Q, Q, "IMPLAUSIBLE_ENERGY"),
        ("hh-c", B0, Q, "NOT_SIGNED"),
    ]
    # Every settled period priced in NOK, its ledger append queued once.
    assert all(r[6] and r[8] == "NOK" for r in want["settlements"])
    assert len(want["outbox"]) == len(want["settlements"]) == 3 * PERIODS - 4 + 3
    # Every unbilled period queued for the ledger with its reason and the meter that caused it.
    assert want["unbilled"] == [
        ("hh-a", B0 + 6 * Q, "NOT_SIGNED", "m-a2", "no signed value of m-a2 at the period end"),
        ("hh-a", B0 + 7 * Q, "NOT_SIGNED", "m-a2", "no signed value of m-a2 at the period start"),
        (
            "hh-b",
            B0 + 8 * Q,
            "IMPLAUSIBLE_ENERGY",
            "m-b",
            "m-b: signed registers moved 20200 Wh (cap 10868 Wh)",
        ),
        ("hh-c", B0, "NOT_SIGNED", "m-c", "no signed value of m-c at the period start"),
    ]

    # A back-log (every boundary stored, then the passes), in batches of 8 household-periods (two
    # periods per household and batch) and in one batch: the same rows as period by period.
    for n, limit in enumerate((8, 2000)):
        url = db_url if db_url.startswith("postgresql") else f"sqlite:///{tmp_path / f'backlog{n}.db'}"
        if url == db_url:  # PostgreSQL: start over in the same private database
            engine = make_engine(url)
            with engine.begin() as conn:
                conn.execute(text("drop schema public cascade"))
                conn.execute(text("create schema public"))
            engine.dispose()
        engine = _engine(url)
        _write(engine, 0, PERIODS)
        settler = Settler(engine, READING_TABLES, grace_ms=0)
        settler.start_new_households()
        closed = _close_all(settler, limit)
        assert _price_all(engine) == len(want["settlements"])
        assert _price_all(engine) == 0  # each period once
        assert sorted(closed, key=lambda c: (c.household_id, c.hour_start_ms)) == sorted(
            live, key=lambda c: (c.household_id, c.hour_start_ms)
        )
        assert _tables(engine) == want
        engine.dispose()


def test_a_batch_that_fails_at_its_last_write_leaves_nothing_and_settles_once_after(db_url: str) -> None:
    """The batch is one transaction: a failure at its last statement (the daily peaks, written
    after the progress rows, the settled and the missing periods) rolls every part of it back;
    the next pass settles the same periods once, as if nothing had happened (a kill -9 mid-batch
    is the same rollback)."""
    engine = _engine(db_url)
    _write(engine, 0, PERIODS)
    settler = Settler(engine, READING_TABLES, grace_ms=0)
    settler.start_new_households()
    before = _tables(engine)
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.execute(
                text(
                    "create trigger fail_peaks before insert on daily_peaks"
                    " begin select raise(abort, 'injected failure'); end"
                )
            )
        else:
            conn.execute(
                text(
                    "create function fail_peaks() returns trigger language plpgsql as"
                    " $$ begin raise exception 'injected failure'; end $$"
                )
            )
            conn.execute(
                text(
                    "create trigger fail_peaks before insert on daily_peaks for each row execute function fail_peaks()"
                )
            )
    with pytest.raises(Exception, match="injected failure"):
        settler.close_due()
    assert _tables(engine) == before  # nothing settled, nothing marked missing, no progress
    with engine.begin() as conn:
        conn.execute(
            text(
                "drop trigger fail_peaks"
                if engine.dialect.name == "sqlite"
                else "drop trigger fail_peaks on daily_peaks"
            )
        )
    closed = _close_all(settler, 2000)
    assert len(closed) == 3 * PERIODS + 3  # 12 quarters of each signed household, 3 legacy hours
    assert len({(c.household_id, c.hour_start_ms) for c in closed}) == len(closed)
    _price_all(engine)
    after = _tables(engine)
    assert len(after["settlements"]) + len(after["missing"]) == len(closed)
    engine.dispose()
    _live_closed, want = _live_url_fresh(db_url)
    assert after == want


def _live_url_fresh(url: str) -> tuple[list[Closed], dict[str, list[tuple[object, ...]]]]:
    """The period-by-period reference in a fresh schema of the same database."""
    if url.startswith("postgresql"):
        engine = make_engine(url)
        with engine.begin() as conn:
            conn.execute(text("drop schema public cascade"))
            conn.execute(text("create schema public"))
        engine.dispose()
    else:
        url = url.replace(".db", "-live.db")
    return _live(url)


_CHILD = """
import sys
from common import timestamps
from common.db import make_engine
from ingest_svc.billing.settlement import Settler
from ingest_svc.intake.store import READING_TABLES
settler = Settler(make_engine(sys.argv[1]), READING_TABLES, grace_ms=0)
settler.start_new_households()
while batch := settler.close_due(int(sys.argv[2])):
    print(len(batch), flush=True)
print("done", flush=True)
"""


def _fleet(url: str, households: int, periods: int) -> Engine:
    """``households`` one-meter signed households, ``periods`` quarter-hours of boundary values
    (a missing one every 7th boundary of every 5th meter, a different rate per meter)."""
    migrate(url)
    engine = make_engine(url)
    rows = []
    for n in range(households):
        row = household(f"hh-{n:04d}", [f"m-{n:04d}"])
        row["meter_keys"] = [(f"m-{n:04d}", f"k-{n:04d}", KEY_ALGORITHM, bytes([n % 256]) * 32)]
        rows.append(row)
    register_households(engine, rows, B0)
    readings: list[tuple[Reading, int]] = []
    boundaries: list[tuple[SignedBoundary, int]] = []
    for n in range(households):
        meter = f"m-{n:04d}"
        for i in range(periods + 1):
            ts = B0 + i * Q
            wh = 1_000 * n + (50 + n % 13 * 20) * i
            readings.append((Reading(meter, i, ts, 230.0, 1.0, 230.0, 1.0, wh / 1000, 0.0), ts))
            if not (n % 5 == 0 and i % 7 == 3):
                boundaries.append((SignedBoundary(meter, ts, wh, 0, i, f"k-{n:04d}", b"s" * 64), ts))
    ReadingStore(engine).write_batch(readings, [], boundaries)
    return engine


def _fresh(url: str, tmp_path: Path, name: str) -> str:
    if not url.startswith("postgresql"):
        return f"sqlite:///{tmp_path / name}"
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("drop schema public cascade"))
        conn.execute(text("create schema public"))
    engine.dispose()
    return url


def test_kill_9_mid_batch_loses_nothing_and_settles_nothing_twice(db_url: str, tmp_path: Path) -> None:
    """A settling process killed (SIGKILL) after its first batch, while later batches are under
    way, then run again to the end: the same rows as an uninterrupted run."""
    households, periods, limit = 120, 32, 400  # 3,840 periods, batches of 400 (3 per household)
    reference = _fleet(_fresh(db_url, tmp_path, "reference.db"), households, periods)
    settler = Settler(reference, READING_TABLES, grace_ms=0)
    settler.start_new_households()
    assert len(_close_all(settler, limit)) == households * periods
    want = _tables(reference)
    reference.dispose()

    url = _fresh(db_url, tmp_path, "killed.db")
    _fleet(url, households, periods).dispose()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, url, str(limit)], env=env, stdout=subprocess.PIPE, cwd=REPO
    )
    assert child.stdout is not None
    first = child.stdout.readline()  # the first batch committed; the next ones are under way
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert first.strip().isdigit(), first
    engine = make_engine(url)
    partial = _tables(engine)
    assert 0 < len(partial["settlements"]) + len(partial["missing"]) < households * periods
    rerun = subprocess.run(
        [sys.executable, "-c", _CHILD, url, str(limit)], env=env, capture_output=True, cwd=REPO, check=True
    )
    assert rerun.stdout.endswith(b"done\n")
    got = _tables(engine)
    engine.dispose()
    assert got == want
    assert len(got["missing"]) == households // 5 * 2 * len(range(3, periods + 1, 7))


def test_two_replicas_settling_and_pricing_at_once_bill_every_period_once(
    db_url: str, tmp_path: Path
) -> None:
    """Two replicas (threads, an engine each) run the settle and price passes over the same
    back-log at the same time: no deadlock, every period settled, priced and queued once."""
    households, periods, limit = 60, 16, 200
    reference = _fleet(_fresh(db_url, tmp_path, "reference.db"), households, periods)
    settler = Settler(reference, READING_TABLES, grace_ms=0)
    settler.start_new_households()
    _close_all(settler, limit)
    _price_all(reference)
    want = _tables(reference)
    reference.dispose()

    url = _fresh(db_url, tmp_path, "replicas.db")
    _fleet(url, households, periods).dispose()
    Settler(make_engine(url), READING_TABLES).start_new_households()

    def replica() -> tuple[int, int]:
        engine = make_engine(url)
        try:
            closed = _close_all(Settler(engine, READING_TABLES, grace_ms=0), limit)
            return len(closed), _price_all(engine)
        finally:
            engine.dispose()

    with ThreadPoolExecutor(2) as pool:
        counts = [f.result() for f in [pool.submit(replica), pool.submit(replica)]]  # raises theirs
    assert sum(c for c, _ in counts) == households * periods  # each period closed by one of them
    assert sum(p for _, p in counts) == len(want["settlements"])  # and priced by one of them
    engine = make_engine(url)
    got = _tables(engine)
    engine.dispose()
    assert got == want
