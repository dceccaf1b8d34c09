"""Publishing into the running stack as a provisioned device (the broker has no anonymous access)."""

from __future__ import annotations

import paho.mqtt.client as mqtt

from devstack.stack import Stack
from energypulse.telemetry.v1 import telemetry_service_pb2, telemetry_service_pb2_grpc

__all__ = ["device_client"]


def device_client(stack: Stack, token: str, device_id: str, meter_ids: list[str]) -> mqtt.Client:
    """A connected paho client logged in with credentials IssueDeviceCredentials just issued."""
    telemetry = telemetry_service_pb2_grpc.TelemetryServiceStub(stack.channel("ingest"))
    issued = telemetry.IssueDeviceCredentials(
        telemetry_service_pb2.IssueDeviceCredentialsRequest(device_id=device_id, meter_ids=meter_ids),
        metadata=[("authorization", f"Bearer {token}")],
        timeout=20,
    )
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.username_pw_set(issued.username, issued.password)
    client.connect("127.0.0.1", stack.ports["mqtt"])
    client.loop_start()
    return client
