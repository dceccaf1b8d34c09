"""TelemetryService handlers: thin; checks and queries live in queries.py / store.py.

Who may call what is enforced by the shared AuthInterceptor from the contract's access options
(a user only names households in their token; admin-only and service-only RPCs). Database work
runs in a worker thread so the event loop keeps serving streams.

Performance: GetHouseholdSummary and GetGridStats (and StreamGridStats) answer from a
:class:`~common.read_cache.ReadCache`: an answer is reused for ``summary_cache_s`` per
household (``grid_cache_s`` for the grid) after its read started, and concurrent identical calls
share one read. So an answer may miss readings stored less than that long ago, never older ones
(EP_INGEST_SUMMARY_CACHE_S / EP_INGEST_GRID_CACHE_S; 0 reads on every call).
"""

from __future__ import annotations

import asyncio
import time
import unicodedata
from collections.abc import AsyncIterator, Callable

import grpc
from sqlalchemy.engine import Engine

from common import timestamps
from common.drain import Drain
from common.errors import InvalidArgument, NotFound
from common.paging import Pager
from common.read_cache import ReadCache
from contracts.mqtt.boundary import KEY_ALGORITHM, key_id, strong_public_key
from energypulse.errors.v1 import error_reason_pb2 as reasons
from energypulse.telemetry.v1 import reading_pb2 as rpb
from energypulse.telemetry.v1 import telemetry_service_pb2 as pb
from energypulse.telemetry.v1 import telemetry_service_pb2_grpc as pb_grpc
from ingest_svc.billing import MonthCosts, PriceForecastSource, TodayCost, contract_columns, load_month_costs
from ingest_svc.intake.metrics import IngestMetrics
from ingest_svc.intake.store import READING_TABLES, register_households, rename_household
from ingest_svc.telemetry.queries import (
    BUCKET_MS,
    HouseholdInfo,
    SeriesPoint,
    TelemetryQueries,
)

__all__ = ["TelemetryServicer"]

_RESOLUTIONS = {
    rpb.RESOLUTION_RAW: "raw",
    rpb.RESOLUTION_MINUTE: "minute",
    rpb.RESOLUTION_QUARTER_HOUR: "quarter_hour",
    rpb.RESOLUTION_HOUR: "hour",
}
_HEATING_TO_PB = {
    "heat_pump": rpb.HEATING_TYPE_HEAT_PUMP,
    "electric_resistive": rpb.HEATING_TYPE_ELECTRIC_RESISTIVE,
    "district_heating": rpb.HEATING_TYPE_DISTRICT,
    "non_electric": rpb.HEATING_TYPE_NON_ELECTRIC,
}
_HEATING_FROM_PB = {v: k for k, v in _HEATING_TO_PB.items()}
_DAY_MS = 86_400_000
_GRID_LOAD_MAX_MS = 31 * 86_400_000
_GRID_LOAD_MAX_BUCKETS = 2000
_SERVICE = "energypulse.telemetry.v1.TelemetryService"
_READING_PAGES = Pager(f"{_SERVICE}/ListReadings", default_size=1000, max_size=10_000)
_HOUSEHOLD_PAGES = Pager(f"{_SERVICE}/ListHouseholds", default_size=50, max_size=1000)
_DEAD_LETTER_PAGES = Pager(f"{_SERVICE}/ListDeadLetters", default_size=50, max_size=500)


def _reading(point: SeriesPoint, household_id: str) -> rpb.Reading:
    return rpb.Reading(
        meter_id=point.meter_id,
        household_id=household_id,
        read_time=timestamps.from_ms(point.ts_ms),
        seq=point.seq,
        voltage_v=point.voltage_v,
        current_a=point.current_a,
        power_kw=point.power_w / 1000,
        power_factor=point.power_factor,
        import_kwh=point.import_kwh,
        export_kwh=point.export_kwh,
        sample_count=point.samples,
    )


_SCHEME_TO_PB = {"spot": rpb.PRICE_SCHEME_SPOT, "norgespris": rpb.PRICE_SCHEME_NORGESPRIS}
_SCHEME_FROM_PB = {
    rpb.PRICE_SCHEME_UNSPECIFIED: "spot",
    rpb.PRICE_SCHEME_SPOT: "spot",
    rpb.PRICE_SCHEME_NORGESPRIS: "norgespris",
}
_DWELLING_TO_PB = {"home": rpb.DWELLING_TYPE_HOME, "cabin": rpb.DWELLING_TYPE_CABIN}
_DWELLING_FROM_PB = {
    rpb.DWELLING_TYPE_UNSPECIFIED: "home",
    rpb.DWELLING_TYPE_HOME: "home",
    rpb.DWELLING_TYPE_CABIN: "cabin",
}


def _default_month_costs(engine: Engine) -> MonthCosts:
    from energy.billrules import BillSettings

    d = BillSettings()  # the documented EP_BILL_* defaults (energy.billrules.BILL_ENV)
    return load_month_costs(
        engine,
        READING_TABLES,
        d.ruleset,
        d.eurnok_file,
        d.eurnok_fallback,
        d.default_grid_company,
        d.support_period,
    )


def _band(p: tuple[int, int, int]) -> pb.CostBand:
    return pb.CostBand(p10_minor=p[0], p50_minor=p[1], p90_minor=p[2])


DISPLAY_NAME_MAX = 80


def clean_display_name(raw: str) -> str:
    """The owner's name for a household, trimmed; DISPLAY_NAME_INVALID when empty, longer than
    DISPLAY_NAME_MAX characters, or holding control/format characters (newlines, bidi overrides
    that would make a name display as something else)."""
    if any(unicodedata.category(ch).startswith("C") for ch in raw):
        raise InvalidArgument(reasons.DISPLAY_NAME_INVALID, "display_name must not hold control characters")
    name = " ".join(raw.split())
    if not name or len(name) > DISPLAY_NAME_MAX:
        raise InvalidArgument(
            reasons.DISPLAY_NAME_INVALID,
            f"display_name must be 1-{DISPLAY_NAME_MAX} characters after trimming",
        )
    return name


def _household(info: HouseholdInfo) -> rpb.Household:
    return rpb.Household(
        household_id=info.household_id,
        display_name=info.display_name,
        zone=info.zone,
        time_zone=info.time_zone,
        residents=info.residents,
        heating=_HEATING_TO_PB.get(info.heating, rpb.HEATING_TYPE_UNSPECIFIED),
        has_ev=info.has_ev,
        has_solar=info.has_solar,
        meters=[rpb.Meter(meter_id=m, household_id=info.household_id) for m in info.meter_ids],
        grid_company=info.grid_company,
        municipality=info.municipality,
        price_scheme=_SCHEME_TO_PB.get(info.price_scheme, rpb.PRICE_SCHEME_UNSPECIFIED),
        dwelling=_DWELLING_TO_PB.get(info.dwelling, rpb.DWELLING_TYPE_UNSPECIFIED),
        supplier_markup_ore_per_kwh=info.supplier_markup_ore_per_kwh,
        supplier_monthly_fee_nok=info.supplier_monthly_fee_nok,
    )


def _meter_key(household_id: str, meter_id: str, key: rpb.MeterSigningKey) -> tuple[str, str, str, bytes]:
    """(meter id, key id, algorithm, public key) of a registered signing key, checked."""
    public = bytes(key.public_key)
    if key.algorithm != KEY_ALGORITHM or len(public) != 32:
        raise InvalidArgument(
            reasons.BAD_METER_KEY, f"{household_id}/{meter_id}: signing_key must be a 32-byte ed25519 key"
        )
    if not strong_public_key(public):
        # A small-order key would 'verify' a signature of any register values.
        raise InvalidArgument(
            reasons.BAD_METER_KEY,
            f"{household_id}/{meter_id}: signing_key is not a canonical Ed25519 point of large order",
        )
    derived = key_id(public)
    if key.key_id and key.key_id != derived:
        raise InvalidArgument(
            reasons.BAD_METER_KEY, f"{household_id}/{meter_id}: key_id is not the hash of the public key"
        )
    return meter_id, derived, KEY_ALGORITHM, public


def default_resolution(span_ms: int) -> str:
    if span_ms <= 3_600_000:
        return "raw"
    if span_ms <= 6 * 3_600_000:
        return "minute"
    if span_ms <= 7 * _DAY_MS:
        return "quarter_hour"
    return "hour"


class TelemetryServicer(pb_grpc.TelemetryServiceServicer):
    def __init__(
        self,
        engine: Engine,
        metrics: IngestMetrics,
        online_window_s: float = 60.0,
        poll_interval_s: float = 1.0,
        clock: Callable[[], float] = time.time,
        costs: TodayCost | None = None,
        summary_cache_s: float = 2.0,
        grid_cache_s: float = 1.0,
        cache_clock: Callable[[], float] = time.monotonic,
        month_costs: MonthCosts | None = None,
        price_forecasts: PriceForecastSource | None = None,
    ) -> None:
        self.price_forecasts = price_forecasts
        self.engine = engine
        self.drain = Drain()  # closed at shutdown: the streams end (common/drain.py)
        # The NOK month bill (default: the shipped rule set with the configuration's defaults).
        self.month_costs = month_costs or _default_month_costs(engine)
        # Today's cost from billing (default: the running hour valued at the default tariff).
        self.costs = costs or TodayCost(engine, self.month_costs.book.currency)
        self.queries = TelemetryQueries(engine)
        self.metrics = metrics
        self.online_window_ms = int(online_window_s * 1000)
        self.poll_interval_s = poll_interval_s
        self._clock = clock
        self._summaries: ReadCache[str, pb.GetHouseholdSummaryResponse] = ReadCache(
            summary_cache_s, clock=cache_clock
        )
        self._grid: ReadCache[None, tuple[rpb.GridAggregate, dict[str, int]]] = ReadCache(
            grid_cache_s, clock=cache_clock
        )

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    async def ListReadings(
        self,
        request: pb.ListReadingsRequest,
        context: grpc.aio.ServicerContext[pb.ListReadingsRequest, pb.ListReadingsResponse],
    ) -> pb.ListReadingsResponse:
        meters = await asyncio.to_thread(self.queries.meters_of, request.household_id, request.meter_id)
        end = timestamps.to_ms(request.end_time) if request.HasField("end_time") else self._now_ms()
        start = timestamps.to_ms(request.start_time) if request.HasField("start_time") else end - _DAY_MS
        if start >= end:
            raise InvalidArgument(reasons.INVALID_TIME_RANGE, "start_time must be before end_time")
        resolution = _RESOLUTIONS.get(request.resolution) or default_resolution(end - start)
        size = _READING_PAGES.size(request.page_size)
        query = (request.household_id, request.meter_id, start, end, resolution)
        offset = _READING_PAGES.decode_int(request.page_token, query) or 0
        points = await asyncio.to_thread(
            self.queries.series, meters, start, end, BUCKET_MS[resolution], offset, size + 1
        )
        more = len(points) > size
        return pb.ListReadingsResponse(
            readings=[_reading(p, request.household_id) for p in points[:size]],
            resolution={v: k for k, v in _RESOLUTIONS.items()}[resolution],
            next_page_token=_READING_PAGES.encode(offset + size, query) if more else "",
        )

    async def GetHouseholdSummary(
        self,
        request: pb.GetHouseholdSummaryRequest,
        context: grpc.aio.ServicerContext[pb.GetHouseholdSummaryRequest, pb.GetHouseholdSummaryResponse],
    ) -> pb.GetHouseholdSummaryResponse:
        household_id = request.household_id
        # The cached message is shared by many responses: nothing may modify it after this.
        return await self._summaries.get(
            household_id, lambda: asyncio.to_thread(self._summary, household_id, self._now_ms())
        )

    def _summary(self, household_id: str, now: int) -> pb.GetHouseholdSummaryResponse:
        """Power, energy and cost of today in one worker-thread hop."""
        summary = self.queries.summary(household_id, now)
        cost = self.costs.today_cost_minor(summary.household_id, summary.time_zone, now)
        response = pb.GetHouseholdSummaryResponse(
            household_id=summary.household_id,
            current_power_kw=summary.current_power_w / 1000,
            today_kwh=summary.today_kwh,
            today_cost_minor=cost,
            currency=self.costs.currency,
        )
        if summary.last_ts_ms:
            response.last_read_time.CopyFrom(timestamps.from_ms(summary.last_ts_ms))
        if summary.first_ts_ms:
            response.first_read_time.CopyFrom(timestamps.from_ms(summary.first_ts_ms))
        return response

    async def StreamReadings(
        self,
        request: pb.StreamReadingsRequest,
        context: grpc.aio.ServicerContext[pb.StreamReadingsRequest, pb.StreamReadingsResponse],
    ) -> AsyncIterator[pb.StreamReadingsResponse]:
        # Polls the store by (meter_id, seq > cursor): every replica's writes are visible, so a
        # stream is complete whichever replica serves it and whichever stored the readings.
        meters = await asyncio.to_thread(self.queries.meters_of, request.household_id)
        cursor = await asyncio.to_thread(self.queries.latest_seq, meters)
        # Headers now, not with the first reading: a quiet household's stream must still open at
        # once for the caller (Envoy forwards SSE headers only when the upstream sends them).
        await context.send_initial_metadata(())
        while True:
            points = await asyncio.to_thread(self.queries.after_seq, meters, cursor)
            for point in points:
                cursor[point.meter_id] = max(cursor.get(point.meter_id, -1), point.seq)
                yield pb.StreamReadingsResponse(reading=_reading(point, request.household_id))
            if await self.drain.sleep(self.poll_interval_s):
                return

    async def _aggregate(self) -> tuple[rpb.GridAggregate, dict[str, int]]:
        """The grid snapshot, shared by every caller for ``grid_cache_s`` (do not modify it)."""
        return await self._grid.get(None, self._read_aggregate)

    async def _read_aggregate(self) -> tuple[rpb.GridAggregate, dict[str, int]]:
        now = self._now_ms()
        snap = await asyncio.to_thread(self.queries.grid, now, self.online_window_ms)
        aggregate = rpb.GridAggregate(
            snapshot_time=timestamps.from_ms(now),
            meters_online=snap.meters_online,
            meters_offline=snap.meters_offline,
            total_power_kw=snap.total_power_w / 1000,
            ingest_rate_per_second=snap.ingest_rate_per_s,
        )
        return aggregate, snap.dead_letters_by_reason

    async def GetGridStats(
        self,
        request: pb.GetGridStatsRequest,
        context: grpc.aio.ServicerContext[pb.GetGridStatsRequest, pb.GetGridStatsResponse],
    ) -> pb.GetGridStatsResponse:
        aggregate, dead = await self._aggregate()
        return pb.GetGridStatsResponse(
            aggregate=aggregate,
            readings_stored=int(self.metrics.stored._value.get()),
            dead_letters_by_reason=dead,
            dead_letters_total=sum(dead.values()),
        )

    async def GetGridLoad(
        self,
        request: pb.GetGridLoadRequest,
        context: grpc.aio.ServicerContext[pb.GetGridLoadRequest, pb.GetGridLoadResponse],
    ) -> pb.GetGridLoadResponse:
        if not request.HasField("start_time") or not request.HasField("end_time"):
            raise InvalidArgument(reasons.INVALID_TIME_RANGE, "start_time and end_time are required")
        start, end = timestamps.to_ms(request.start_time), timestamps.to_ms(request.end_time)
        if start >= end:
            raise InvalidArgument(reasons.INVALID_TIME_RANGE, "start_time must be before end_time")
        if end - start > _GRID_LOAD_MAX_MS:
            raise InvalidArgument(reasons.TIME_RANGE_TOO_LONG, "the grid load range is at most 31 days")
        step_ms = (request.step_seconds or 3600) * 1000
        if request.step_seconds < 0 or step_ms < 60_000 or (end - start) / step_ms > _GRID_LOAD_MAX_BUCKETS:
            raise InvalidArgument(
                reasons.GRID_STEP_INVALID,
                f"step_seconds is at least 60 and makes at most {_GRID_LOAD_MAX_BUCKETS} buckets",
            )
        points = await asyncio.to_thread(self.queries.zone_load, start, end, step_ms)
        zones: dict[str, pb.ZoneLoad] = {}
        for point in points:
            zone = zones.setdefault(point.zone, pb.ZoneLoad(zone=point.zone))
            zone.points.append(
                pb.ZoneLoadPoint(
                    start_time=timestamps.from_ms(point.start_ms),
                    mean_power_kw=point.power_w / 1000,
                    meters_reporting=point.meters,
                )
            )
        return pb.GetGridLoadResponse(zones=[zones[z] for z in sorted(zones)], step_seconds=step_ms // 1000)

    async def StreamGridStats(
        self,
        request: pb.StreamGridStatsRequest,
        context: grpc.aio.ServicerContext[pb.StreamGridStatsRequest, pb.StreamGridStatsResponse],
    ) -> AsyncIterator[pb.StreamGridStatsResponse]:
        if request.interval_seconds < 0:
            raise InvalidArgument(reasons.INVALID_INTERVAL, "interval_seconds must not be negative")
        interval = max(1, request.interval_seconds or 2)
        await context.send_initial_metadata(())
        while True:
            aggregate, _ = await self._aggregate()
            yield pb.StreamGridStatsResponse(aggregate=aggregate)
            if await self.drain.sleep(interval):
                return

    async def ListHouseholds(
        self,
        request: pb.ListHouseholdsRequest,
        context: grpc.aio.ServicerContext[pb.ListHouseholdsRequest, pb.ListHouseholdsResponse],
    ) -> pb.ListHouseholdsResponse:
        size = _HOUSEHOLD_PAGES.size(request.page_size)
        offset = _HOUSEHOLD_PAGES.decode_int(request.page_token) or 0
        found = await asyncio.to_thread(self.queries.households_by_id, None, offset, size + 1)
        more = len(found) > size
        return pb.ListHouseholdsResponse(
            households=[_household(h) for h in found[:size]],
            next_page_token=_HOUSEHOLD_PAGES.encode(offset + size) if more else "",
        )

    async def GetHousehold(
        self,
        request: pb.GetHouseholdRequest,
        context: grpc.aio.ServicerContext[pb.GetHouseholdRequest, pb.GetHouseholdResponse],
    ) -> pb.GetHouseholdResponse:
        info = await asyncio.to_thread(self.queries.household, request.household_id)
        return pb.GetHouseholdResponse(household=_household(info))

    async def RenameHousehold(
        self,
        request: pb.RenameHouseholdRequest,
        context: grpc.aio.ServicerContext[pb.RenameHouseholdRequest, pb.RenameHouseholdResponse],
    ) -> pb.RenameHouseholdResponse:
        name = clean_display_name(request.display_name)
        if not await asyncio.to_thread(rename_household, self.engine, request.household_id, name):
            raise NotFound(
                reasons.HOUSEHOLD_NOT_FOUND, f"household {request.household_id!r} is not registered"
            )
        info = await asyncio.to_thread(self.queries.household, request.household_id)
        return pb.RenameHouseholdResponse(household=_household(info))

    async def RegisterHouseholds(
        self,
        request: pb.RegisterHouseholdsRequest,
        context: grpc.aio.ServicerContext[pb.RegisterHouseholdsRequest, pb.RegisterHouseholdsResponse],
    ) -> pb.RegisterHouseholdsResponse:
        rows = []
        for h in request.households:
            keys: list[tuple[str, str, str, bytes]] = []
            if not h.household_id or len(h.household_id) > 64:
                raise InvalidArgument(reasons.INVALID_HOUSEHOLD_ID, "household_id must be 1-64 characters")
            if not 1 <= h.residents <= 20:
                raise InvalidArgument(reasons.INVALID_RESIDENTS, f"{h.household_id}: residents must be 1-20")
            if h.heating not in _HEATING_FROM_PB:
                raise InvalidArgument(reasons.INVALID_HEATING, f"{h.household_id}: heating must be set")
            for m in h.meters:
                if (
                    not m.meter_id
                    or len(m.meter_id) > 64
                    or "/" in m.meter_id
                    or "+" in m.meter_id
                    or "#" in m.meter_id
                ):
                    raise InvalidArgument(
                        reasons.INVALID_METER_ID, f"{h.household_id}: bad meter id {m.meter_id!r}"
                    )
                if m.HasField("signing_key"):
                    keys.append(_meter_key(h.household_id, m.meter_id, m.signing_key))
            rows.append(
                {
                    "household_id": h.household_id,
                    "display_name": h.display_name,
                    # Nordland, Troms, Finnmark: NO4 unless registered otherwise (the rate configuration)
                    "zone": self.month_costs.book.location.default_zone(h.municipality, h.zone),
                    "time_zone": h.time_zone or "UTC",
                    "residents": h.residents,
                    "heating": _HEATING_FROM_PB[h.heating],
                    "has_ev": h.has_ev,
                    "has_solar": h.has_solar,
                    "meter_ids": [m.meter_id for m in h.meters],
                    **contract_columns(
                        h.grid_company,
                        h.municipality,
                        _SCHEME_FROM_PB.get(h.price_scheme, "spot"),
                        _DWELLING_FROM_PB.get(h.dwelling, "home"),
                        h.supplier_markup_ore_per_kwh if h.HasField("supplier_markup_ore_per_kwh") else None,
                        h.supplier_monthly_fee_nok if h.HasField("supplier_monthly_fee_nok") else None,
                    ),
                    "meter_keys": keys,
                }
            )
        created, updated = await asyncio.to_thread(register_households, self.engine, rows, self._now_ms())
        for row in rows:  # meters may have moved: the next summary reads afresh
            self._summaries.forget(str(row["household_id"]))
        return pb.RegisterHouseholdsResponse(created=created, updated=updated)

    async def _forecast(self, household_id: str) -> dict[int, tuple[float, float, float]] | None:
        """The zone's price forecast for the projection; without one, the seasonal estimate only."""
        if self.price_forecasts is None:
            return None
        info = await asyncio.to_thread(self.queries.household, household_id)
        try:
            return await self.price_forecasts.price_forecast(info.zone or "NO1")
        except (grpc.aio.AioRpcError, OSError, TimeoutError):
            return None  # predict_svc down: the projection falls back to the seasonal estimate

    async def GetMonthCost(
        self,
        request: pb.GetMonthCostRequest,
        context: grpc.aio.ServicerContext[pb.GetMonthCostRequest, pb.GetMonthCostResponse],
    ) -> pb.GetMonthCostResponse:
        now = self._now_ms()
        forecast = await self._forecast(request.household_id) if not request.month else None
        r = await asyncio.to_thread(
            self.month_costs.month_cost, request.household_id, request.month, now, forecast
        )
        inv = r.invoice
        response = pb.GetMonthCostResponse(
            household_id=request.household_id,
            month=r.month,
            currency=inv.currency,
            through_day=inv.through_day,
            days_in_month=r.days_in_month,
            lines=[
                pb.CostLine(
                    name=line.name,
                    kwh=line.wh / 1000,
                    amount_minor=line.amount_minor,
                    vat_minor=line.vat_minor,
                    unverified_rates=r.unverified.get(line.name, []),
                )
                for line in inv.lines
            ],
            total_minor=inv.total_minor,
            vat_minor=inv.vat_minor,
            import_kwh=inv.import_wh / 1000,
            export_kwh=inv.export_wh / 1000,
            capacity_basis_kw=inv.capacity_basis_wh / 1000,
            grid_company=r.grid_company,
        )
        if r.projection is not None:
            response.scheme = r.projection.scheme
            response.projection.CopyFrom(_band(r.projection.contract_minor))
            if r.projection.other_minor is not None:
                response.other_projection.CopyFrom(_band(r.projection.other_minor))
        if r.last_month_total_minor is not None:
            response.last_month_total_minor = r.last_month_total_minor
        if not response.scheme:
            info = await asyncio.to_thread(self.queries.household, request.household_id)
            response.scheme = info.price_scheme
        return response

    async def CompareSchemes(
        self,
        request: pb.CompareSchemesRequest,
        context: grpc.aio.ServicerContext[pb.CompareSchemesRequest, pb.CompareSchemesResponse],
    ) -> pb.CompareSchemesResponse:
        months = request.months or 6
        if not 1 <= months <= 24:
            raise InvalidArgument(reasons.BILL_INVALID_MONTH, "months must be 1-24")
        now = self._now_ms()
        forecast = await self._forecast(request.household_id)
        found, projection, csv_text = await asyncio.to_thread(
            self.month_costs.compare, request.household_id, months, now, forecast
        )
        response = pb.CompareSchemesResponse(currency=self.month_costs.book.currency, csv=csv_text)
        for m in found:
            entry = response.months.add(
                month=f"{m.year}-{m.month:02d}",
                through_day=m.through_day,
                scheme=m.scheme,
                contract_total_minor=m.contract_minor,
                other_scheme=m.other_scheme,
                import_kwh=m.import_wh / 1000,
            )
            if m.other_minor is not None:
                entry.other_total_minor = m.other_minor
        if projection is not None:
            response.projection.CopyFrom(_band(projection.contract_minor))
            if projection.other_minor is not None:
                response.other_projection.CopyFrom(_band(projection.other_minor))
        return response

    async def ListDeadLetters(
        self,
        request: pb.ListDeadLettersRequest,
        context: grpc.aio.ServicerContext[pb.ListDeadLettersRequest, pb.ListDeadLettersResponse],
    ) -> pb.ListDeadLettersResponse:
        size = _DEAD_LETTER_PAGES.size(request.page_size)
        # The reason filter is part of the query: a token only resumes the listing it came from.
        before = _DEAD_LETTER_PAGES.decode_int(request.page_token, (request.reason,))
        found = await asyncio.to_thread(self.queries.dead_letters, request.reason, before, size + 1)
        more = len(found) > size
        return pb.ListDeadLettersResponse(
            dead_letters=[
                rpb.DeadLetter(
                    dead_letter_id=d.id,
                    receive_time=timestamps.from_ms(d.received_ms),
                    topic=d.topic,
                    reason=d.reason,
                    detail=d.detail,
                    payload=bytes(d.payload)[:65536],
                )
                for d in found[:size]
            ],
            next_page_token=_DEAD_LETTER_PAGES.encode(found[size - 1].id, (request.reason,)) if more else "",
        )
