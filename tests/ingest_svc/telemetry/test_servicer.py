"""TelemetryService through a real gRPC server on port 0, real stubs, real auth interceptor."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from prometheus_client import CollectorRegistry
from sqlalchemy import event

from auth_svc.testing import TokenFactory
from common.auth.access import rules_from_services
from common.auth.interceptor import AuthInterceptor
from common.auth.keys import StaticKeySource
from common.auth.verifier import TokenVerifier
from common.db import make_engine
from common.errors import error_info
from common.server import GrpcService, ServerConfig, start_server
from energypulse.telemetry.v1 import reading_pb2 as rpb
from energypulse.telemetry.v1 import telemetry_service_pb2 as pb
from energypulse.telemetry.v1 import telemetry_service_pb2_grpc as pb_grpc
from ingest_svc.app import migrate
from ingest_svc.intake.metrics import IngestMetrics
from ingest_svc.intake.store import DeadLetter, ReadingStore
from ingest_svc.intake.validation import Reading
from ingest_svc.server import SERVICE
from ingest_svc.telemetry.servicer import TelemetryServicer

HOUR_MS = 3_600_000


class Ticks:
    """A monotonic clock the test moves (the servicer's answer caches read it)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Env:
    def __init__(
        self,
        stub: pb_grpc.TelemetryServiceStub,
        factory: TokenFactory,
        store: ReadingStore,
        ticks: Ticks,
        servicer: TelemetryServicer,
    ) -> None:
        self.stub, self.factory, self.store, self.ticks = stub, factory, store, ticks
        self.servicer = servicer

    def md(self, role: str = "admin", households: tuple[str, ...] = ()) -> tuple[tuple[str, str]]:
        token = self.factory.token(subject=f"{role}-1", role=role, households=list(households))
        return (("authorization", f"Bearer {token}"),)


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    url = f"sqlite:///{tmp_path / 'telemetry.db'}"
    migrate(url)
    engine = make_engine(url)
    factory = TokenFactory()
    verifier = TokenVerifier(
        StaticKeySource(lambda: {factory.kid: factory.public_key}),
        issuer=factory.issuer,
        audience=factory.audience,
    )
    ticks = Ticks()
    servicer = TelemetryServicer(
        engine,
        IngestMetrics(CollectorRegistry()),
        poll_interval_s=0.05,
        summary_cache_s=2.0,
        grid_cache_s=1.0,
        cache_clock=ticks,
    )
    running = await start_server(
        ServerConfig(port=0, metrics_port=-1),
        [GrpcService(SERVICE, pb_grpc.add_TelemetryServiceServicer_to_server, servicer)],
        [AuthInterceptor(verifier, rules_from_services([SERVICE]))],
    )
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{running.port}")
    yield Env(pb_grpc.TelemetryServiceStub(channel), factory, ReadingStore(engine), ticks, servicer)
    await channel.close()
    await running.stop(0)
    engine.dispose()


def household(hid: str, meters: list[str], **over: Any) -> rpb.Household:
    values: dict[str, Any] = dict(
        household_id=hid,
        display_name=hid,
        zone="NO1",
        time_zone="UTC",
        residents=2,
        heating=rpb.HEATING_TYPE_HEAT_PUMP,
        has_ev=False,
        has_solar=True,
        meters=[rpb.Meter(meter_id=m, household_id=hid) for m in meters],
    )
    values.update(over)
    return rpb.Household(**values)


def _reading(
    meter: str, seq: int, ts_ms: int, power_w: float, imp: float, exp: float = 0.0
) -> tuple[Reading, int]:
    return Reading(meter, seq, ts_ms, 230.0, abs(power_w) / 230, power_w, 1.0, imp, exp), ts_ms


def _ts(ms: int) -> Timestamp:
    t = Timestamp()
    t.FromMilliseconds(ms)
    return t


async def register(env: Env) -> None:
    response = await env.stub.RegisterHouseholds(
        pb.RegisterHouseholdsRequest(households=[household("h1", ["m1", "m2"]), household("h2", ["m3"])]),
        metadata=env.md("service"),
    )
    assert (response.created, response.updated) == (2, 0)


async def test_register_is_idempotent_and_service_only(env: Env) -> None:
    await register(env)
    again = await env.stub.RegisterHouseholds(
        pb.RegisterHouseholdsRequest(households=[household("h1", ["m1", "m2"], residents=3)]),
        metadata=env.md("service"),
    )
    assert (again.created, again.updated) == (0, 1)
    got = await env.stub.GetHousehold(
        pb.GetHouseholdRequest(household_id="h1"), metadata=env.md("user", ("h1",))
    )
    assert got.household.residents == 3 and [m.meter_id for m in got.household.meters] == ["m1", "m2"]
    with pytest.raises(grpc.aio.AioRpcError) as denied:
        await env.stub.RegisterHouseholds(
            pb.RegisterHouseholdsRequest(households=[household("h9", ["x"])]),
            metadata=env.md("user", ("h9",)),
        )
    assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.aio.AioRpcError) as bad:
        await env.stub.RegisterHouseholds(
            pb.RegisterHouseholdsRequest(households=[household("h9", ["a/b"])]), metadata=env.md("service")
        )
    assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error_info(bad.value).reason == "INVALID_METER_ID"  # type: ignore[union-attr]


async def test_list_readings_raw_and_aggregated_with_paging(env: Env) -> None:
    await register(env)
    t0 = 1_750_000_000_000 - 1_750_000_000_000 % HOUR_MS
    # m1: one reading a minute for two hours, power = minute index; m3 belongs to h2.
    env.store.write_batch(
        [_reading("m1", i, t0 + i * 60_000, float(i), i / 100) for i in range(120)]
        + [_reading("m3", 0, t0, 5.0, 1.0)],
        [],
    )
    start, end = _ts(t0), _ts(t0 + 2 * HOUR_MS)
    hourly = await env.stub.ListReadings(
        pb.ListReadingsRequest(
            household_id="h1", start_time=start, end_time=end, resolution=rpb.RESOLUTION_HOUR
        ),
        metadata=env.md("user", ("h1",)),
    )
    assert [(r.sample_count, round(r.power_kw * 1000, 3)) for r in hourly.readings] == [
        (60, 29.5),
        (60, 89.5),
    ]
    assert hourly.readings[1].import_kwh == pytest.approx(1.19)
    quarter = await env.stub.ListReadings(
        pb.ListReadingsRequest(
            household_id="h1", start_time=start, end_time=end, resolution=rpb.RESOLUTION_QUARTER_HOUR
        ),
        metadata=env.md(),
    )
    assert len(quarter.readings) == 8 and all(r.sample_count == 15 for r in quarter.readings)
    seen: list[int] = []
    token = ""
    while True:
        page = await env.stub.ListReadings(
            pb.ListReadingsRequest(
                household_id="h1",
                meter_id="m1",
                start_time=start,
                end_time=end,
                resolution=rpb.RESOLUTION_RAW,
                page_size=50,
                page_token=token,
            ),
            metadata=env.md(),
        )
        seen += [r.seq for r in page.readings]
        token = page.next_page_token
        if not token:
            break
    assert seen == list(range(120))


async def test_users_see_only_their_household_and_errors_are_typed(env: Env) -> None:
    await register(env)
    with pytest.raises(grpc.aio.AioRpcError) as other:
        await env.stub.ListReadings(
            pb.ListReadingsRequest(household_id="h2"), metadata=env.md("user", ("h1",))
        )
    assert other.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.aio.AioRpcError) as admin_only:
        await env.stub.GetGridStats(pb.GetGridStatsRequest(), metadata=env.md("user", ("h1",)))
    assert admin_only.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await env.stub.ListReadings(pb.ListReadingsRequest(household_id="nope"), metadata=env.md())
    assert error_info(missing.value).reason == "HOUSEHOLD_NOT_FOUND"  # type: ignore[union-attr]
    with pytest.raises(grpc.aio.AioRpcError) as foreign_meter:
        await env.stub.ListReadings(
            pb.ListReadingsRequest(household_id="h1", meter_id="m3"), metadata=env.md()
        )
    assert error_info(foreign_meter.value).reason == "METER_NOT_FOUND"  # type: ignore[union-attr]
    with pytest.raises(grpc.aio.AioRpcError) as token:
        await env.stub.ListReadings(
            pb.ListReadingsRequest(household_id="h1", page_token="garbage"), metadata=env.md()
        )
    assert error_info(token.value).reason == "INVALID_PAGE_TOKEN"  # type: ignore[union-attr]


async def test_summary_grid_stats_and_dead_letters(env: Env) -> None:
    await register(env)
    now = int(time.time() * 1000)
    env.store.write_batch(
        [
            _reading("m1", 1, now - 2000, 1500.0, 10.0),
            _reading("m1", 2, now - 1000, 2500.0, 10.5),
            _reading("m2", 7, now - 500, -800.0, 3.0, 2.0),
        ],
        [],
    )
    env.store.write_batch([], [DeadLetter(now, "energy/meters/x", "x", "INVALID_JSON", "bad", b"{")] * 3)
    summary = await env.stub.GetHouseholdSummary(
        pb.GetHouseholdSummaryRequest(household_id="h1"), metadata=env.md("user", ("h1",))
    )
    assert summary.current_power_kw == pytest.approx(1.7)
    assert summary.today_kwh == pytest.approx(0.5) or time.gmtime(now / 1000).tm_hour == 0
    assert summary.last_read_time.ToMilliseconds() == now - 500
    # Where the household's data starts: its meters' earliest reading (m1's seq 1).
    assert summary.first_read_time.ToMilliseconds() == now - 2000
    stats = await env.stub.GetGridStats(pb.GetGridStatsRequest(), metadata=env.md())
    assert (stats.aggregate.meters_online, stats.aggregate.meters_offline) == (2, 1)
    assert stats.aggregate.total_power_kw == pytest.approx(1.7)
    assert stats.dead_letters_by_reason == {"INVALID_JSON": 3} and stats.dead_letters_total == 3
    page = await env.stub.ListDeadLetters(pb.ListDeadLettersRequest(page_size=2), metadata=env.md())
    assert len(page.dead_letters) == 2 and page.dead_letters[0].payload == b"{" and page.next_page_token
    rest = await env.stub.ListDeadLetters(
        pb.ListDeadLettersRequest(page_size=2, page_token=page.next_page_token), metadata=env.md()
    )
    assert len(rest.dead_letters) == 1 and not rest.next_page_token


async def test_summary_and_grid_answers_are_reused_for_their_ttl_only(env: Env) -> None:
    await register(env)
    now = int(time.time() * 1000)
    env.store.write_batch([_reading("m1", 1, now - 2000, 1000.0, 1.0)], [])
    user = env.md("user", ("h1",))

    async def power() -> float:
        reply = await env.stub.GetHouseholdSummary(
            pb.GetHouseholdSummaryRequest(household_id="h1"), metadata=user
        )
        return reply.current_power_kw

    async def grid_power() -> float:
        reply = await env.stub.GetGridStats(pb.GetGridStatsRequest(), metadata=env.md())
        return reply.aggregate.total_power_kw

    assert (await power(), await grid_power()) == (pytest.approx(1.0), pytest.approx(1.0))
    env.store.write_batch([_reading("m1", 2, now - 1000, 3000.0, 1.5)], [])
    # Within the TTLs (summary 2 s, grid 1 s) the answers read before the write are reused ...
    assert (await power(), await grid_power()) == (pytest.approx(1.0), pytest.approx(1.0))
    env.ticks.advance(1.01)
    assert (await power(), await grid_power()) == (pytest.approx(1.0), pytest.approx(3.0))
    # ... and once a TTL has passed since the read, the answer shows every reading stored before.
    env.ticks.advance(1.0)
    summary = await env.stub.GetHouseholdSummary(
        pb.GetHouseholdSummaryRequest(household_id="h1"), metadata=user
    )
    assert summary.current_power_kw == pytest.approx(3.0)
    assert summary.last_read_time.ToMilliseconds() == now - 1000
    # Re-registering a household (its meters may move) drops its answer at once.
    await env.stub.RegisterHouseholds(
        pb.RegisterHouseholdsRequest(households=[household("h1", ["m1", "m3"])]), metadata=env.md("service")
    )
    env.store.write_batch([_reading("m3", 1, now - 500, 500.0, 0.1)], [])
    assert await power() == pytest.approx(3.5)


async def test_concurrent_identical_summaries_share_one_read(env: Env) -> None:
    await register(env)
    now = int(time.time() * 1000)
    env.store.write_batch([_reading("m1", 1, now - 1000, 1200.0, 1.0)], [])
    reads: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        if "FROM households" in statement:
            reads.append(statement)

    event.listen(env.store.engine, "before_cursor_execute", count)
    user = env.md("user", ("h1",))
    replies = await asyncio.gather(
        *[
            env.stub.GetHouseholdSummary(pb.GetHouseholdSummaryRequest(household_id="h1"), metadata=user)
            for _ in range(20)
        ]
    )
    assert {r.SerializeToString() for r in replies} == {replies[0].SerializeToString()}
    assert replies[0].current_power_kw == pytest.approx(1.2)
    assert len(reads) == 1
    # Errors are shared by the calls waiting on that read but never kept.
    admin = env.md()
    missing = await asyncio.gather(
        *[
            env.stub.GetHouseholdSummary(pb.GetHouseholdSummaryRequest(household_id="h7"), metadata=admin)
            for _ in range(5)
        ],
        return_exceptions=True,
    )
    assert {error_info(e).reason for e in missing} == {"HOUSEHOLD_NOT_FOUND"}  # type: ignore[union-attr, arg-type]
    await env.stub.RegisterHouseholds(
        pb.RegisterHouseholdsRequest(households=[household("h7", ["m7"])]), metadata=env.md("service")
    )
    found = await env.stub.GetHouseholdSummary(
        pb.GetHouseholdSummaryRequest(household_id="h7"), metadata=admin
    )
    assert found.household_id == "h7" and found.current_power_kw == 0


async def test_stream_readings_delivers_new_readings_live(env: Env) -> None:
    await register(env)
    now = int(time.time() * 1000)
    env.store.write_batch([_reading("m1", 1, now, 100.0, 1.0)], [])  # history: not streamed
    call = env.stub.StreamReadings(
        pb.StreamReadingsRequest(household_id="h1"), metadata=env.md("user", ("h1",))
    )

    async def writer() -> None:
        await asyncio.sleep(0.3)
        env.store.write_batch(
            [
                _reading("m1", 2, now + 1, 200.0, 1.1),
                _reading("m3", 1, now, 9.0, 1.0),
                _reading("m2", 1, now + 2, 300.0, 2.0),
            ],
            [],
        )

    task = asyncio.create_task(writer())
    got = []
    async for item in call:
        got.append((item.reading.meter_id, item.reading.seq))
        if len(got) == 2:
            break
    call.cancel()
    await task
    assert got == [("m1", 2), ("m2", 1)]  # m3 belongs to another household


async def test_open_streams_end_with_ok_when_the_replica_drains(env: Env) -> None:
    """At shutdown (``common.server.serve`` closes the servicer's drain before the server stops)
    both live streams return, status OK: their clients reconnect to another replica at once."""
    await register(env)
    readings = env.stub.StreamReadings(
        pb.StreamReadingsRequest(household_id="h1"), metadata=env.md("user", ("h1",))
    )
    grid = env.stub.StreamGridStats(pb.StreamGridStatsRequest(interval_seconds=60), metadata=env.md("admin"))
    await readings.initial_metadata()
    first = await grid.read()
    assert first.HasField("aggregate")
    await env.servicer.drain.close()
    assert [item async for item in readings] == []  # no reading came: the stream just ends
    assert await grid.read() == grpc.aio.EOF
    assert await readings.code() == grpc.StatusCode.OK
    assert await grid.code() == grpc.StatusCode.OK


async def test_contract_settings_register_and_the_bill_rpcs_answer(env: Env) -> None:
    north = household(
        "hn",
        ["mn"],
        zone="",
        grid_company="tensio",
        municipality="5501",
        price_scheme=rpb.PRICE_SCHEME_NORGESPRIS,
        dwelling=rpb.DWELLING_TYPE_CABIN,
        supplier_markup_ore_per_kwh=3.5,
    )
    await env.stub.RegisterHouseholds(
        pb.RegisterHouseholdsRequest(households=[north]), metadata=env.md("service")
    )
    got = (
        await env.stub.GetHousehold(
            pb.GetHouseholdRequest(household_id="hn"), metadata=env.md("user", ("hn",))
        )
    ).household
    assert (got.zone, got.grid_company, got.municipality) == (
        "NO4",
        "tensio",
        "5501",
    )  # Troms: NO4 by default
    assert got.price_scheme == rpb.PRICE_SCHEME_NORGESPRIS and got.dwelling == rpb.DWELLING_TYPE_CABIN
    assert got.supplier_markup_ore_per_kwh == pytest.approx(3.5) and not got.HasField(
        "supplier_monthly_fee_nok"
    )
    # nothing settled yet: an empty month, all lines zero, no projection
    cost = await env.stub.GetMonthCost(
        pb.GetMonthCostRequest(household_id="hn"), metadata=env.md("user", ("hn",))
    )
    assert cost.currency == "NOK" and cost.total_minor == 0 and len(cost.lines) == 10
    assert cost.scheme == "norgespris" and not cost.HasField("projection")
    # alert_svc's capacity warning reads these: the billing grid company and the basis so far.
    assert cost.grid_company == "tensio" and cost.capacity_basis_kw == 0.0
    # Lines on a rate nobody checked say which (open-ended entries: true on any date the test runs).
    flagged = {line.name: list(line.unverified_rates) for line in cost.lines}
    assert flagged["supplier_markup"] == []  # the household's own markup, not the default's
    assert "supplier from 2023-01-01" in flagged["supplier_fee"]  # no fee of its own: the default
    assert flagged["grid_energy"] == flagged["grid_capacity"] == ["grid/tensio from 2024-01-01"]
    assert flagged["spot_energy"] == [] and flagged["export_credit"] == []  # the market, not the rule set
    compare = await env.stub.CompareSchemes(
        pb.CompareSchemesRequest(household_id="hn"), metadata=env.md("user", ("hn",))
    )
    assert list(compare.months) == [] and compare.csv.startswith("month,")
    with pytest.raises(grpc.aio.AioRpcError) as bad:
        await env.stub.GetMonthCost(
            pb.GetMonthCostRequest(household_id="hn", month="26-01"), metadata=env.md("user", ("hn",))
        )
    assert error_info(bad.value).reason == "BILL_INVALID_MONTH"  # type: ignore[union-attr]
    with pytest.raises(grpc.aio.AioRpcError) as denied:
        await env.stub.GetMonthCost(
            pb.GetMonthCostRequest(household_id="hn"), metadata=env.md("user", ("h1",))
        )
    assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.aio.AioRpcError) as contract:
        await env.stub.RegisterHouseholds(
            pb.RegisterHouseholdsRequest(households=[household("hb", ["mb"], municipality="55")]),
            metadata=env.md("service"),
        )
    assert error_info(contract.value).reason == "BILL_INVALID_CONTRACT"  # type: ignore[union-attr]


async def test_owner_names_the_household_and_the_name_survives_re_registration(env: Env) -> None:
    await register(env)
    owner = env.md("user", ("h1",))
    renamed = await env.stub.RenameHousehold(
        pb.RenameHouseholdRequest(household_id="h1", display_name="  Hytta   på Geilo "), metadata=owner
    )
    assert renamed.household.display_name == "Hytta på Geilo"
    # The simulator registers its fleet again on every start: the owner's name stays.
    await env.stub.RegisterHouseholds(
        pb.RegisterHouseholdsRequest(households=[household("h1", ["m1", "m2"], display_name="Simulated h1")]),
        metadata=env.md("service"),
    )
    got = await env.stub.GetHousehold(pb.GetHouseholdRequest(household_id="h1"), metadata=owner)
    assert got.household.display_name == "Hytta på Geilo"
    # Another household's registrar name still updates (only an owner's name is kept).
    await env.stub.RegisterHouseholds(
        pb.RegisterHouseholdsRequest(households=[household("h2", ["m3"], display_name="Renamed by sim")]),
        metadata=env.md("service"),
    )
    other = await env.stub.GetHousehold(pb.GetHouseholdRequest(household_id="h2"), metadata=env.md())
    assert other.household.display_name == "Renamed by sim"


async def test_rename_refuses_other_households_and_bad_names(env: Env) -> None:
    await register(env)
    with pytest.raises(grpc.aio.AioRpcError) as foreign:
        await env.stub.RenameHousehold(
            pb.RenameHouseholdRequest(household_id="h2", display_name="Mine now"),
            metadata=env.md("user", ("h1",)),
        )
    assert foreign.value.code() == grpc.StatusCode.PERMISSION_DENIED
    for bad in ("", "   ", "x" * 81, "evil\nname", "right\u202eleft", "bell\x07"):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await env.stub.RenameHousehold(
                pb.RenameHouseholdRequest(household_id="h1", display_name=bad),
                metadata=env.md("user", ("h1",)),
            )
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT, repr(bad)
        assert error_info(refused.value).reason == "DISPLAY_NAME_INVALID"  # type: ignore[union-attr]
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await env.stub.RenameHousehold(
            pb.RenameHouseholdRequest(household_id="nope", display_name="A"), metadata=env.md()
        )
    assert error_info(missing.value).reason == "HOUSEHOLD_NOT_FOUND"  # type: ignore[union-attr]
    got = await env.stub.GetHousehold(pb.GetHouseholdRequest(household_id="h1"), metadata=env.md())
    assert got.household.display_name == "h1"  # nothing refused was stored


async def test_grid_load_sums_meter_means_per_zone_and_bucket(env: Env) -> None:
    await env.stub.RegisterHouseholds(
        pb.RegisterHouseholdsRequest(
            households=[household("h1", ["m1", "m2"]), household("h2", ["m3"], zone="NO5")]
        ),
        metadata=env.md("service"),
    )
    base = (int(time.time() * 1000) // HOUR_MS - 5) * HOUR_MS
    env.store.write_batch(
        [
            _reading("m1", 1, base + 1000, 1000.0, 1.0),
            _reading("m1", 2, base + 2000, 3000.0, 1.1),  # m1's mean in hour 0: 2 kW
            _reading("m2", 1, base + 1500, 500.0, 1.0),
            _reading("m3", 1, base + 3000, 4000.0, 1.0),
            _reading("m1", 3, base + HOUR_MS + 10, 1500.0, 1.2),
            _reading("m1", 4, base + 3 * HOUR_MS, 9000.0, 1.3),  # outside the range
        ],
        [],
    )
    reply = await env.stub.GetGridLoad(
        pb.GetGridLoadRequest(start_time=_ts(base), end_time=_ts(base + 2 * HOUR_MS)), metadata=env.md()
    )
    assert reply.step_seconds == 3600
    zones = {
        z.zone: [
            (p.start_time.ToMilliseconds() - base, p.mean_power_kw, p.meters_reporting) for p in z.points
        ]
        for z in reply.zones
    }
    assert zones == {
        "NO1": [(0, pytest.approx(2.5), 2), (HOUR_MS, pytest.approx(1.5), 1)],
        "NO5": [(0, pytest.approx(4.0), 1)],
    }
    for request, reason in (
        (pb.GetGridLoadRequest(start_time=_ts(base)), "INVALID_TIME_RANGE"),
        (pb.GetGridLoadRequest(start_time=_ts(base), end_time=_ts(base)), "INVALID_TIME_RANGE"),
        (
            pb.GetGridLoadRequest(start_time=_ts(base), end_time=_ts(base + 32 * 24 * HOUR_MS)),
            "TIME_RANGE_TOO_LONG",
        ),
        (
            pb.GetGridLoadRequest(start_time=_ts(base), end_time=_ts(base + HOUR_MS), step_seconds=59),
            "GRID_STEP_INVALID",
        ),
        (
            pb.GetGridLoadRequest(
                start_time=_ts(base), end_time=_ts(base + 30 * 24 * HOUR_MS), step_seconds=60
            ),
            "GRID_STEP_INVALID",
        ),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await env.stub.GetGridLoad(request, metadata=env.md())
        assert error_info(raised.value).reason == reason  # type: ignore[union-attr]
    with pytest.raises(grpc.aio.AioRpcError) as denied:
        await env.stub.GetGridLoad(
            pb.GetGridLoadRequest(start_time=_ts(base), end_time=_ts(base + HOUR_MS)),
            metadata=env.md("user", ("h1",)),
        )
    assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_a_small_order_signing_key_is_refused_at_registration() -> None:
    """Such a key 'verifies' a signature of any register values (R = identity, S = 0)."""
    from common.errors import InvalidArgument
    from contracts.mqtt.boundary import KEY_ALGORITHM
    from ingest_svc.telemetry.servicer import _meter_key
    from meter_sim.signing import MeterSigner

    genuine = MeterSigner.generate("m-1")
    ok = rpb.MeterSigningKey(algorithm=KEY_ALGORITHM, public_key=genuine.public_key)
    assert _meter_key("hh-1", "m-1", ok) == ("m-1", genuine.key_id, KEY_ALGORITHM, genuine.public_key)
    p = 2**255 - 19
    for weak in (
        bytes(32),
        (1).to_bytes(32, "little"),
        (p - 1).to_bytes(32, "little"),
        (p + 3).to_bytes(32, "little"),
    ):
        with pytest.raises(InvalidArgument) as exc:
            _meter_key("hh-1", "m-1", rpb.MeterSigningKey(algorithm=KEY_ALGORITHM, public_key=weak))
        assert exc.value.reason == "BAD_METER_KEY"
