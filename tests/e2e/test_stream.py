"""The live stream reaches a browser-style client through Envoy as Server-Sent Events."""

from __future__ import annotations

import http.client
import json
import threading
import time

import grpc
import paho.mqtt.client as mqtt

from contracts.mqtt.reading import encode_reading
from contracts.mqtt.topics import reading_topic
from devstack.stack import Stack
from energypulse.telemetry.v1 import reading_pb2, telemetry_service_pb2, telemetry_service_pb2_grpc
from tests.e2e.devices import device_client

HOUSEHOLD, METER = "stream-h1", "stream-m1"


def _register(stack: Stack, token: str) -> None:
    telemetry = telemetry_service_pb2_grpc.TelemetryServiceStub(stack.channel("ingest"))
    telemetry.RegisterHouseholds(
        telemetry_service_pb2.RegisterHouseholdsRequest(
            households=[
                reading_pb2.Household(
                    household_id=HOUSEHOLD,
                    display_name="Stream test",
                    zone="NO1",
                    time_zone="Europe/Oslo",
                    residents=1,
                    heating=reading_pb2.HEATING_TYPE_DISTRICT,
                    meters=[reading_pb2.Meter(meter_id=METER, household_id=HOUSEHOLD)],
                )
            ]
        ),
        metadata=[("authorization", f"Bearer {token}")],
        timeout=10,
    )


def _publish(client: mqtt.Client, seq: int, power_w: float, import_kwh: float) -> None:
    payload = encode_reading(
        METER, seq, int(time.time() * 1000), 230.4, power_w / 230.4, power_w, 0.98, import_kwh, 0.0
    )
    client.publish(reading_topic(METER), payload, qos=1).wait_for_publish(10)


def test_a_published_reading_arrives_on_the_sse_stream_through_envoy(stack: Stack) -> None:
    token = stack.login("admin", "admin-demo")
    _register(stack, token)
    device = device_client(stack, token, "stream-device", [METER])
    connection = http.client.HTTPConnection("127.0.0.1", stack.ports["edge"], timeout=20)
    connection.request(
        "GET", f"/api/v1/households/{HOUSEHOLD}/readings:stream", headers={"authorization": f"Bearer {token}"}
    )
    response = connection.getresponse()
    assert response.status == 200

    frames: list[dict] = []

    def read_frames() -> None:
        for raw in response:
            line = raw.decode().strip()
            if line.startswith("data:"):
                frames.append(json.loads(line[len("data:") :]))
                return

    reader = threading.Thread(target=read_frames, daemon=True)
    reader.start()
    # The stream subscribes on the server when the call starts; publish until a frame arrives.
    deadline = time.monotonic() + 20
    seq = 1
    while reader.is_alive() and time.monotonic() < deadline:
        _publish(device, seq, 1500.0 + seq, 100.0 + seq / 1000)
        seq += 1
        reader.join(timeout=1.0)
    connection.close()
    device.loop_stop()
    device.disconnect()
    assert frames, "no Server-Sent Event arrived"
    reading = frames[0]["reading"]
    assert reading["meterId"] == METER and reading["householdId"] == HOUSEHOLD
    assert int(reading["seq"]) >= 1 and reading["powerKw"] > 1.5


def test_another_households_stream_is_refused(stack: Stack) -> None:
    token = stack.login("household-0001", "demo")
    status, body = stack.api("GET", "/api/v1/households/sim-h000001/readings:stream", token=token)
    assert status == 403, body
    telemetry = telemetry_service_pb2_grpc.TelemetryServiceStub(stack.channel("ingest"))
    stream = telemetry.StreamReadings(
        telemetry_service_pb2.StreamReadingsRequest(household_id="sim-h000001"),
        metadata=[("authorization", f"Bearer {token}")],
        timeout=10,
    )
    try:
        next(iter(stream))
        raise AssertionError("the stream should have been refused")
    except grpc.RpcError as error:
        assert error.code() == grpc.StatusCode.PERMISSION_DENIED
