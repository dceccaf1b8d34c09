"""The device RPCs of TelemetryService (IssueDeviceCredentials, RevokeDevice, RevokeMeter,
ListDevices): thin; the rules live in service.py. Mixed into the TelemetryService servicer
(ingest_svc/server.py), so the telemetry room stays as it is."""

from __future__ import annotations

import asyncio

import grpc

from common import timestamps
from common.paging import Pager
from energypulse.telemetry.v1 import telemetry_service_pb2 as pb
from ingest_svc.devices.service import Devices

__all__ = ["DeviceRpcs"]

_DEVICE_PAGES = Pager("energypulse.telemetry.v1.TelemetryService/ListDevices", default_size=50, max_size=1000)


class DeviceRpcs:
    devices: Devices

    async def IssueDeviceCredentials(
        self,
        request: pb.IssueDeviceCredentialsRequest,
        context: grpc.aio.ServicerContext[
            pb.IssueDeviceCredentialsRequest, pb.IssueDeviceCredentialsResponse
        ],
    ) -> pb.IssueDeviceCredentialsResponse:
        issued = await asyncio.to_thread(self.devices.issue, request.device_id, list(request.meter_ids))
        return pb.IssueDeviceCredentialsResponse(
            username=issued.username,
            password=issued.password,
            created=issued.created,
            meter_ids=issued.meter_ids,
        )

    async def RevokeDevice(
        self,
        request: pb.RevokeDeviceRequest,
        context: grpc.aio.ServicerContext[pb.RevokeDeviceRequest, pb.RevokeDeviceResponse],
    ) -> pb.RevokeDeviceResponse:
        meters = await asyncio.to_thread(self.devices.revoke_device, request.device_id)
        return pb.RevokeDeviceResponse(meter_ids=meters)

    async def RevokeMeter(
        self,
        request: pb.RevokeMeterRequest,
        context: grpc.aio.ServicerContext[pb.RevokeMeterRequest, pb.RevokeMeterResponse],
    ) -> pb.RevokeMeterResponse:
        device_id, revoked = await asyncio.to_thread(self.devices.revoke_meter, request.meter_id)
        return pb.RevokeMeterResponse(device_id=device_id, device_revoked=revoked)

    async def ListDevices(
        self,
        request: pb.ListDevicesRequest,
        context: grpc.aio.ServicerContext[pb.ListDevicesRequest, pb.ListDevicesResponse],
    ) -> pb.ListDevicesResponse:
        size = _DEVICE_PAGES.size(request.page_size)
        after = _DEVICE_PAGES.decode_key(request.page_token) if request.page_token else None
        records = await asyncio.to_thread(self.devices.page, after, size + 1)
        more = len(records) > size
        records = records[:size]
        return pb.ListDevicesResponse(
            devices=[
                pb.Device(
                    device_id=r.device_id,
                    meter_ids=r.meter_ids,
                    issue_time=timestamps.from_ms(r.issued_ms),
                )
                for r in records
            ],
            next_page_token=_DEVICE_PAGES.encode(records[-1].device_id) if more and records else "",
        )
