"""End-to-end smoke: the real broker, every service and Envoy on free ports, called every way a
client can: native gRPC, grpcurl through reflection, JSON through Envoy, native gRPC through Envoy,
and MQTT into ingest."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from contracts.mqtt.reading import encode_reading
from contracts.mqtt.topics import reading_topic
from devstack.stack import Stack
from energypulse.auth.v1 import auth_service_pb2, auth_service_pb2_grpc
from energypulse.ledger.v1 import ledger_service_pb2, ledger_service_pb2_grpc
from energypulse.prediction.v1 import prediction_service_pb2, prediction_service_pb2_grpc
from energypulse.telemetry.v1 import reading_pb2, telemetry_service_pb2, telemetry_service_pb2_grpc
from tests.e2e.devices import device_client

ROOT = Path(__file__).resolve().parents[2]
GRPCURL = ROOT / ".venv" / "bin" / "grpcurl"
SERVICES = {
    "auth": "energypulse.auth.v1.AuthService",
    "predict": "energypulse.prediction.v1.PredictionService",
    "ledger": "energypulse.ledger.v1.LedgerService",
    "ingest": "energypulse.telemetry.v1.TelemetryService",
}


@pytest.fixture(scope="module")
def admin_token(stack: Stack) -> str:
    return stack.login("admin", "admin-demo")


def _bearer(token: str) -> list[tuple[str, str]]:
    return [("authorization", f"Bearer {token}")]


@pytest.mark.parametrize("svc", list(SERVICES))
def test_each_service_reports_serving_per_service_name(stack: Stack, svc: str) -> None:
    stub = health_pb2_grpc.HealthStub(stack.channel(svc))
    reply = stub.Check(health_pb2.HealthCheckRequest(service=SERVICES[svc]), timeout=5)
    assert reply.status == health_pb2.HealthCheckResponse.SERVING


def test_native_grpc_calls_to_every_service(stack: Stack, admin_token: str) -> None:
    auth = auth_service_pb2_grpc.AuthServiceStub(stack.channel("auth"))
    login = auth.Login(auth_service_pb2.LoginRequest(username="admin", password="admin-demo"), timeout=10)
    assert login.tokens.access_token and login.user.username == "admin"
    meta = _bearer(login.tokens.access_token)

    jwks = auth.GetJwks(auth_service_pb2.GetJwksRequest(), timeout=5)
    assert jwks.keys and jwks.keys[0].alg == "EdDSA"

    predict = prediction_service_pb2_grpc.PredictionServiceStub(stack.channel("predict"))
    forecast = predict.GetPriceForecast(
        prediction_service_pb2.GetPriceForecastRequest(zone="NO1", horizon_hours=6), metadata=meta, timeout=30
    )
    assert len(forecast.points) == 6
    assert all(p.p10_eur_mwh <= p.p50_eur_mwh <= p.p90_eur_mwh for p in forecast.points)

    ledger = ledger_service_pb2_grpc.LedgerServiceStub(stack.channel("ledger"))
    head = ledger.GetSignedHead(ledger_service_pb2.GetSignedHeadRequest(), metadata=meta, timeout=5)
    assert head.public_key and head.head.tree_size >= 0

    telemetry = telemetry_service_pb2_grpc.TelemetryServiceStub(stack.channel("ingest"))
    households = telemetry.ListHouseholds(
        telemetry_service_pb2.ListHouseholdsRequest(), metadata=meta, timeout=5
    )
    assert households.households, "meter_sim registers its households at start-up"


def test_calls_without_a_token_are_refused_natively(stack: Stack) -> None:
    ledger = ledger_service_pb2_grpc.LedgerServiceStub(stack.channel("ledger"))
    with pytest.raises(grpc.RpcError) as info:
        ledger.GetSignedHead(ledger_service_pb2.GetSignedHeadRequest(), timeout=5)
    assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED


@pytest.mark.parametrize("svc", list(SERVICES))
def test_grpcurl_lists_and_calls_through_reflection(stack: Stack, admin_token: str, svc: str) -> None:
    listed = subprocess.run(
        [str(GRPCURL), "-plaintext", stack.target(svc), "list"], capture_output=True, text=True, timeout=30
    )
    assert listed.returncode == 0, listed.stderr
    assert SERVICES[svc] in listed.stdout.split()
    assert "grpc.health.v1.Health" in listed.stdout.split()
    described = subprocess.run(
        [str(GRPCURL), "-plaintext", stack.target(svc), "describe", SERVICES[svc]],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert described.returncode == 0 and "rpc " in described.stdout, described.stderr


def test_grpcurl_invokes_an_rpc_without_proto_files(stack: Stack, admin_token: str) -> None:
    result = subprocess.run(
        [
            str(GRPCURL),
            "-plaintext",
            "-H",
            f"authorization: Bearer {admin_token}",
            "-d",
            "{}",
            stack.target("ledger"),
            "energypulse.ledger.v1.LedgerService/GetSignedHead",
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert "head" in body and ("publicKey" in body or "public_key" in body)  # grpcurl prints proto names


def test_json_through_envoy_for_every_service(stack: Stack, admin_token: str) -> None:
    status, jwks = stack.api("GET", "/api/v1/auth/jwks")
    assert status == 200 and jwks["keys"][0]["kty"] == "OKP"
    status, me = stack.api("GET", "/api/v1/auth/me", token=admin_token)
    assert status == 200 and me["user"]["role"] == "ROLE_ADMIN"
    status, forecast = stack.api("GET", "/api/v1/zones/NO1/price-forecast?horizonHours=3", token=admin_token)
    assert status == 200 and len(forecast["points"]) == 3
    status, head = stack.api("GET", "/api/v1/ledger/head", token=admin_token)
    assert status == 200 and "treeSize" in head["head"]  # int64 -> JSON string, always printed
    status, households = stack.api("GET", "/api/v1/households", token=admin_token)
    assert status == 200 and households["households"]


def test_native_grpc_through_envoy(stack: Stack, admin_token: str) -> None:
    with grpc.insecure_channel(stack.target("edge")) as channel:
        ledger = ledger_service_pb2_grpc.LedgerServiceStub(channel)
        head = ledger.GetSignedHead(
            ledger_service_pb2.GetSignedHeadRequest(), metadata=_bearer(admin_token), timeout=10
        )
        assert head.public_key
        with pytest.raises(grpc.RpcError) as info:
            ledger.GetSignedHead(ledger_service_pb2.GetSignedHeadRequest(), timeout=10)
        assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_an_mqtt_reading_reaches_ingest_and_is_queryable(stack: Stack, admin_token: str) -> None:
    household_id, meter_id = "smoke-h1", "smoke-m1"
    telemetry = telemetry_service_pb2_grpc.TelemetryServiceStub(stack.channel("ingest"))
    telemetry.RegisterHouseholds(
        telemetry_service_pb2.RegisterHouseholdsRequest(
            households=[
                reading_pb2.Household(
                    household_id=household_id,
                    display_name="Smoke test",
                    zone="NO1",
                    time_zone="Europe/Oslo",
                    residents=2,
                    heating=reading_pb2.HEATING_TYPE_HEAT_PUMP,
                    meters=[reading_pb2.Meter(meter_id=meter_id, household_id=household_id)],
                )
            ]
        ),
        metadata=_bearer(admin_token),
        timeout=10,
    )
    now_ms = int(time.time() * 1000)
    payload = encode_reading(meter_id, 1, now_ms, 231.2, 4.35, 1000.0, 0.99, 1234.5, 0.0)
    client = device_client(stack, admin_token, "smoke-device", [meter_id])
    info = client.publish(reading_topic(meter_id), payload, qos=1)
    info.wait_for_publish(10)
    assert info.is_published()
    client.loop_stop()
    client.disconnect()

    deadline = time.monotonic() + 20
    readings: list[reading_pb2.Reading] = []
    while time.monotonic() < deadline and not readings:
        reply = telemetry.ListReadings(
            telemetry_service_pb2.ListReadingsRequest(
                household_id=household_id, resolution=reading_pb2.RESOLUTION_RAW
            ),
            metadata=_bearer(admin_token),
            timeout=5,
        )
        readings = list(reply.readings)
        time.sleep(0.2)
    assert len(readings) == 1, "the published reading was not stored"
    assert readings[0].meter_id == meter_id and readings[0].seq == 1
    assert readings[0].power_kw == pytest.approx(1.0)
    assert readings[0].import_kwh == pytest.approx(1234.5)
