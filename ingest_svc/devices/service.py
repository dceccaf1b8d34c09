"""Issuing, rotating and revoking device credentials: the service's records and the broker agree.

Order of every change: the broker first, then the records. A broker that refuses leaves the records
as they were (the caller retries); a crash in between leaves the broker ahead of the records, which
the retry the caller makes anyway repairs (every broker command here is idempotent).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from common.errors import FailedPrecondition, InvalidArgument, NotFound, Unavailable
from common.mqtt_auth import ControlError, new_secret, pbkdf2_sha512
from energypulse.errors.v1 import error_reason_pb2 as reasons
from ingest_svc.devices.broker import BrokerAccess
from ingest_svc.devices.store import DeviceRecord, DeviceStore

__all__ = ["Devices", "Issued"]

_DEVICE_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")  # contracts/mqtt/topics.json id_pattern


@dataclass(frozen=True)
class Issued:
    username: str
    password: str
    created: bool
    meter_ids: tuple[str, ...]


def _hash(password: str) -> str:
    fields = pbkdf2_sha512(password)
    return f"{fields['iterations']}${fields['salt']}${fields['password']}"


class Devices:
    def __init__(
        self, store: DeviceStore, broker: BrokerAccess, clock: Callable[[], float] = time.time
    ) -> None:
        self._store = store
        self._broker = broker
        self._clock = clock

    def issue(self, device_id: str, meter_ids: Sequence[str]) -> Issued:
        if not _DEVICE_ID.match(device_id) or device_id == "ingest":
            raise InvalidArgument(reasons.INVALID_DEVICE_ID, f"bad device id {device_id!r}")
        meters = tuple(sorted(set(meter_ids)))
        if not meters:
            raise InvalidArgument(reasons.DEVICE_METERS_REQUIRED, "name at least one meter")
        missing = self._store.unregistered(meters)
        if missing:
            raise FailedPrecondition(
                reasons.METER_NOT_REGISTERED, f"not registered: {', '.join(missing[:10])}"
            )
        password = new_secret()
        # Meters moving from other devices: those devices' roles lose them first.
        losers = {d for m, d in self._store.holders(meters).items() if d != device_id}
        try:
            for other in sorted(losers):
                record = self._store.get(other)
                if record is not None:
                    self._broker.put_device(other, [m for m in record.meter_ids if m not in meters], None)
            self._broker.put_device(device_id, meters, password)
        except ControlError as exc:
            raise Unavailable(reasons.BROKER_CONTROL_UNAVAILABLE, f"broker: {exc}") from exc
        created = self._store.save(device_id, _hash(password), meters, int(self._clock() * 1000))
        return Issued(device_id, password, created, meters)

    def revoke_device(self, device_id: str) -> tuple[str, ...]:
        record = self._store.get(device_id)
        if record is None:
            raise NotFound(reasons.DEVICE_NOT_FOUND, f"no device {device_id!r}")
        try:
            self._broker.delete_device(device_id)
        except ControlError as exc:
            raise Unavailable(reasons.BROKER_CONTROL_UNAVAILABLE, f"broker: {exc}") from exc
        self._store.delete(device_id)
        return record.meter_ids

    def revoke_meter(self, meter_id: str) -> tuple[str, bool]:
        holder = self._store.holders([meter_id]).get(meter_id)
        record = self._store.get(holder) if holder else None
        if record is None:
            raise NotFound(reasons.METER_NOT_PROVISIONED, f"no device speaks for meter {meter_id!r}")
        left = [m for m in record.meter_ids if m != meter_id]
        if not left:
            self.revoke_device(record.device_id)
            return record.device_id, True
        try:
            self._broker.put_device(record.device_id, left, None)
        except ControlError as exc:
            raise Unavailable(reasons.BROKER_CONTROL_UNAVAILABLE, f"broker: {exc}") from exc
        self._store.remove_meter(meter_id)
        return record.device_id, False

    def page(self, after: str | None, size: int) -> list[DeviceRecord]:
        return self._store.page(after, size)
