"""An in-process alert_svc on port 0 (real auth interceptor trusting a test key) calling stand-in
PredictionService and TelemetryService gRPC servers whose answers a test sets, plus a local
webhook receiver (http.server on port 0).

The stand-in's FindCheapestWindows searches the test's periods with predict_svc's own window
search (predict_svc/windows.py), so alert_svc sees what the real service would answer."""

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
from energypulse.alert.v1 import alert_service_pb2_grpc
from energypulse.prediction.v1 import forecast_pb2, prediction_service_pb2, prediction_service_pb2_grpc
from energypulse.telemetry.v1 import reading_pb2, telemetry_service_pb2, telemetry_service_pb2_grpc
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
    window_requests: list[tuple[int, int, int]] = field(default_factory=list)  # duration, count, horizon
    fail_windows: bool = False


class _Prediction(prediction_service_pb2_grpc.PredictionServiceServicer):
    def __init__(self, up: Upstreams) -> None:
        self.up = up

    async def GetPriceForecast(self, request: Any, context: Any) -> Any:
        self.up.seen_tokens.append(dict(context.invocation_metadata()).get("authorization", ""))
        periods = []
        for p in self.up.periods:
            copy = forecast_pb2.PricePeriod()
            copy.CopyFrom(p)
            if request.HasField("price_threshold_eur_mwh"):
                self.up.thresholds.append(request.price_threshold_eur_mwh)
                copy.exceed_probability = float(p.price_eur_mwh > request.price_threshold_eur_mwh)
                copy.exceed_status = forecast_pb2.EXCEED_STATUS_EXACT
            periods.append(copy)
        return prediction_service_pb2.GetPriceForecastResponse(
            zone=request.zone, periods=periods, model_version="t"
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
        found = cheapest_windows(
            np.array(p10),
            np.array(p50),
            np.array(p90),
            np.array(published, dtype=bool),
            request.duration_minutes // 15,
            request.window_count or 3,
        )
        return prediction_service_pb2.FindCheapestWindowsResponse(
            zone=request.zone,
            duration_minutes=request.duration_minutes,
            windows=[
                window_message(w, datetime.fromtimestamp(starts[w.start] / 1000, UTC), timedelta(minutes=15))
                for w in found
            ],
        )


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
    tmp_path: Path, allowed: str = "127.0.0.0/8", database_url: str = "", **settings: Any
) -> AsyncIterator[Rig]:
    tokens = TokenFactory()
    verifier = TokenVerifier(
        StaticKeySource(lambda: {tokens.kid: tokens.public_key}),
        issuer=tokens.issuer,
        audience=tokens.audience,
    )
    up = Upstreams()
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
