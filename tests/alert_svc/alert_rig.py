"""An in-process alert_svc on port 0 (real auth interceptor trusting a test key) calling stand-in
PredictionService and TelemetryService gRPC servers whose answers a test sets, plus a local
webhook receiver (http.server on port 0).

The stand-in's FindCheapestWindows searches the test's periods with predict_svc's own window
search (predict_svc/windows.py), and both stand-ins convert prices to the installation's currency
with predict_svc's own SpotConverter (the EP_BILL_* defaults: NOK at the fallback EUR rate, or an
EUR rule set), so alert_svc sees what the real service would answer."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import grpc
import numpy as np

from alert_svc.config import AlertConfig
from alert_svc.server import AlertApp, build, interceptors, services
from auth_svc.testing import TokenFactory
from common.auth.credentials import IssuedToken, ServiceCredentials
from common.auth.keys import StaticKeySource
from common.auth.verifier import TokenVerifier
from common.server import ServerConfig, start_server
from common.timestamps import from_ms
from energy.billrules import BillRules, default_bill_rules
from energy.fx import EUR_IDENTITY
from energy.localtime import LOCAL_TZ, zone
from energy.ratebook import DEFAULT_RULESET, load_ratebook
from energypulse.alert.v1 import alert_service_pb2_grpc
from energypulse.prediction.v1 import forecast_pb2, prediction_service_pb2, prediction_service_pb2_grpc
from energypulse.telemetry.v1 import reading_pb2, telemetry_service_pb2, telemetry_service_pb2_grpc
from predict_svc.costs import HouseholdCosts, SpotConverter
from predict_svc.windows import cheapest_windows, window_message

Metadata = list[tuple[str, str]]


def published_hours(prices: list[float], start_ms: int) -> list[forecast_pb2.PricePeriod]:
    """Published hourly periods from ``start_ms`` (what the stand-in's GetPriceForecast answers)."""
    return [
        forecast_pb2.PricePeriod(
            start_time=from_ms(start_ms + i * 3_600_000),
            duration_minutes=60,
            kind=forecast_pb2.PRICE_KIND_PUBLISHED,
            price_eur_mwh=p,
        )
        for i, p in enumerate(prices)
    ]


@dataclass
class Upstreams:
    """What the stand-ins answer; tests change it between rounds."""

    periods: list[forecast_pb2.PricePeriod] = field(default_factory=list)
    last_read_ms: int = 0
    capacity_basis_kw: float = 0.0
    grid_company: str = "bkk"
    month: str = "2026-12"
    zone: str = "NO5"
    seen_tokens: list[str] = field(default_factory=list)
    thresholds: list[float] = field(default_factory=list)
    micro_thresholds: list[int] = field(default_factory=list)
    costs: HouseholdCosts = field(default_factory=lambda: HouseholdCosts(default_bill_rules()))
    window_requests: list[tuple[int, int, int]] = field(default_factory=list)  # duration, count, horizon
    fail_windows: bool = False


class _Prediction(prediction_service_pb2_grpc.PredictionServiceServicer):
    def __init__(self, up: Upstreams) -> None:
        self.up = up

    async def GetPriceForecast(self, request: Any, context: Any) -> Any:
        self.up.seen_tokens.append(dict(context.invocation_metadata()).get("authorization", ""))
        if request.HasField("price_threshold_eur_mwh") and request.HasField("price_threshold_micro_per_kwh"):
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "both thresholds")
        spot = self.up.costs.spot()
        periods = []
        for p in self.up.periods:
            copy = forecast_pb2.PricePeriod()
            copy.CopyFrom(p)
            rate = _rate(spot, p)
            copy.spot_micro_per_kwh = spot.micro(p.price_eur_mwh, rate)
            for q in copy.quantiles:
                q.spot_micro_per_kwh = spot.micro(q.price_eur_mwh, rate)
            if request.HasField("price_threshold_eur_mwh"):
                self.up.thresholds.append(request.price_threshold_eur_mwh)
                copy.exceed_probability = float(p.price_eur_mwh > request.price_threshold_eur_mwh)
                copy.exceed_status = forecast_pb2.EXCEED_STATUS_EXACT
            if request.HasField("price_threshold_micro_per_kwh"):
                self.up.micro_thresholds.append(request.price_threshold_micro_per_kwh)
                copy.exceed_probability = float(
                    copy.spot_micro_per_kwh > request.price_threshold_micro_per_kwh
                )
                copy.exceed_status = forecast_pb2.EXCEED_STATUS_EXACT
            periods.append(copy)
        # The hourly points from the next hour (published hours: the price in all three).
        next_hour = int(time.time()) // 3600 * 3600 + 3600
        points = [
            forecast_pb2.PricePoint(
                hour_start=p.start_time,
                horizon_hours=(p.start_time.seconds - next_hour) // 3600 + 1,
                p10_eur_mwh=p.price_eur_mwh,
                p50_eur_mwh=p.price_eur_mwh,
                p90_eur_mwh=p.price_eur_mwh,
            )
            for p in self.up.periods
            if p.duration_minutes == 60 and p.start_time.seconds >= next_hour
        ]
        return prediction_service_pb2.GetPriceForecastResponse(
            zone=request.zone, periods=periods, points=points, model_version="t", currency=spot.currency
        )

    async def FindCheapestWindows(self, request: Any, context: Any) -> Any:
        self.up.seen_tokens.append(dict(context.invocation_metadata()).get("authorization", ""))
        self.up.window_requests.append(
            (request.duration_minutes, request.window_count, request.horizon_hours)
        )
        if self.up.fail_windows:
            await context.abort(grpc.StatusCode.INTERNAL, "no model")
        quarter = 900_000
        start = -(-int(time.time() * 1000) // quarter) * quarter  # the next quarter-hour boundary
        end = start + request.horizon_hours * 3_600_000
        starts, p10, p50, p90, published = [], [], [], [], []
        spot = self.up.costs.spot()
        rates = []
        for p in self.up.periods:
            for q in range(p.duration_minutes // 15):
                at = p.start_time.seconds * 1000 + q * quarter
                if start <= at < end:
                    exact = p.kind == forecast_pb2.PRICE_KIND_PUBLISHED
                    starts.append(at)
                    band = [q.price_eur_mwh for q in p.quantiles] or [p.price_eur_mwh]
                    p10.append(p.price_eur_mwh if exact else band[0])
                    p50.append(p.price_eur_mwh)
                    p90.append(p.price_eur_mwh if exact else band[-1])
                    published.append(exact)
                    rates.append(_rate(spot, p))
        found = cheapest_windows(
            np.array(p10),
            np.array(p50),
            np.array(p90),
            np.array(published, dtype=bool),
            request.duration_minutes // 15,
            request.window_count or 3,
        )
        windows = []
        for w in found:  # as predict_svc: the band at the EUR rate of the window's first period
            message = window_message(
                w, datetime.fromtimestamp(starts[w.start] / 1000, UTC), timedelta(minutes=15)
            )
            message.mean_spot_micro_per_kwh = spot.micro(w.mean, rates[w.start])
            message.low_spot_micro_per_kwh = spot.micro(w.low, rates[w.start])
            message.high_spot_micro_per_kwh = spot.micro(w.high, rates[w.start])
            windows.append(message)
        return prediction_service_pb2.FindCheapestWindowsResponse(
            zone=request.zone,
            duration_minutes=request.duration_minutes,
            windows=windows,
            currency=spot.currency,
        )


def _rate(spot: SpotConverter, p: forecast_pb2.PricePeriod) -> Any:
    """The EUR rate of the period's local delivery day (the periods a test makes are of today)."""
    day = datetime.fromtimestamp(p.start_time.seconds, zone(LOCAL_TZ)).date().isoformat()
    return spot.rate(p.delivery_day or day, p.day_offset)


def eur_ruleset(tmp_path: Path) -> Path:
    """The shipped rule set with its currency set to EUR (an EUR installation)."""
    import shutil

    root = tmp_path / "rates-eur"
    shutil.copytree(DEFAULT_RULESET, root)
    taxes = root / "taxes.toml"
    taxes.write_text(taxes.read_text().replace('currency = "NOK"', 'currency = "EUR"'))
    return root


class _Telemetry(telemetry_service_pb2_grpc.TelemetryServiceServicer):
    def __init__(self, up: Upstreams) -> None:
        self.up = up

    async def GetHousehold(self, request: Any, context: Any) -> Any:
        self.up.seen_tokens.append(dict(context.invocation_metadata()).get("authorization", ""))
        return telemetry_service_pb2.GetHouseholdResponse(
            household=reading_pb2.Household(household_id=request.household_id, zone=self.up.zone)
        )

    async def GetHouseholdSummary(self, request: Any, context: Any) -> Any:
        response = telemetry_service_pb2.GetHouseholdSummaryResponse(household_id=request.household_id)
        if self.up.last_read_ms:
            response.last_read_time.CopyFrom(from_ms(self.up.last_read_ms))
        return response

    async def GetMonthCost(self, request: Any, context: Any) -> Any:
        return telemetry_service_pb2.GetMonthCostResponse(
            household_id=request.household_id,
            month=self.up.month,
            currency="NOK",
            capacity_basis_kw=self.up.capacity_basis_kw,
            grid_company=self.up.grid_company,
        )


class Receiver:
    """A webhook receiver on loopback: records every POST; answers ``fail_next`` of them with 500."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.fail_next = 0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                with receiver.lock:
                    receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                    failing = receiver.fail_next > 0
                    receiver.fail_next -= int(failing)
                self.send_response(500 if failing else 204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = int(self.server.server_address[1])
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/energy"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def verify_signature(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """What a receiver does (docs/alerts.md)."""
    signed = headers["x-energypulse-timestamp"].encode() + b"." + body
    expected = "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, headers["x-energypulse-signature"])


@dataclass
class Rig:
    app: AlertApp
    stub: alert_service_pb2_grpc.AlertServiceStub
    tokens: TokenFactory
    up: Upstreams
    receiver: Receiver

    def user(self, household: str) -> Metadata:
        token = self.tokens.token(subject=f"user-{household}", role="user", households=(household,))
        return [("authorization", f"Bearer {token}")]

    def admin(self) -> Metadata:
        return [
            ("authorization", f"Bearer {self.tokens.token(subject='admin', role='admin', households=())}")
        ]

    def payloads(self) -> list[dict[str, Any]]:
        return [json.loads(body) for _, body in self.receiver.requests]


async def start_standins(up: Upstreams) -> tuple[grpc.aio.Server, int]:
    """PredictionService and TelemetryService stand-ins answering from ``up``, on one free port."""
    server = grpc.aio.server()
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(_Prediction(up), server)
    telemetry_service_pb2_grpc.add_TelemetryServiceServicer_to_server(_Telemetry(up), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    return server, port


@asynccontextmanager
async def alert_rig(
    tmp_path: Path,
    allowed: str = "127.0.0.0/8",
    database_url: str = "",
    currency: str = "NOK",
    **settings: Any,
) -> AsyncIterator[Rig]:
    """``currency``: the installation's (EUR: an EUR rule set for alert_svc and the stand-ins)."""
    tokens = TokenFactory()
    verifier = TokenVerifier(
        StaticKeySource(lambda: {tokens.kid: tokens.public_key}),
        issuer=tokens.issuer,
        audience=tokens.audience,
    )
    up = Upstreams()
    if currency == "EUR":
        rates = eur_ruleset(tmp_path)
        up.costs = HouseholdCosts(BillRules(load_ratebook(rates), EUR_IDENTITY, "glitre"))
        settings["ratebook_dir"] = str(rates)
    upstream_server, port = await start_standins(up)

    async def fetch() -> IssuedToken:
        token = tokens.token(subject="alert", role="service", households=())
        return IssuedToken(token, 10**10)

    config = AlertConfig(
        database_url=database_url or f"sqlite:///{tmp_path / 'alert.db'}",
        key_encryption_key=base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        service_secret="s" * 20,
        predict_target=f"127.0.0.1:{port}",
        telemetry_target=f"127.0.0.1:{port}",
        allowed_target_networks=allowed,
        backoff_seconds=0.0,
        delivery_timeout_seconds=5.0,
        **settings,
    )
    app = build(config, creds=ServiceCredentials(fetch))
    server = await start_server(
        ServerConfig(port=0, metrics_port=-1), services(app), interceptors(app, verifier)
    )
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{server.port}")
    receiver = Receiver()
    try:
        yield Rig(app, alert_service_pb2_grpc.AlertServiceStub(channel), tokens, up, receiver)
    finally:
        receiver.close()
        await channel.close()
        await server.stop(None)
        await app.upstream.close()
        await upstream_server.stop(None)
        app.engine.dispose()
