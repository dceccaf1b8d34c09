"""Who a running replica is: its package version, when its process started and its instance name.

The shared server bootstrap (``common.server``) attaches these as the initial metadata of every
``grpc.health.v1.Health/Check`` answer, so the operator's health monitor (``auth_svc.ops``) learns
each replica's version and uptime from the standard health probe it already sends, without another
RPC on every service. The keys are part of the OpsService contract (protos/energypulse/ops/v1).
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import metadata

__all__ = ["INSTANCE_KEY", "START_TIME_KEY", "VERSION_KEY", "Instance", "current", "from_metadata"]

VERSION_KEY = "ep-version"
START_TIME_KEY = "ep-start-time"
INSTANCE_KEY = "ep-instance"
_STARTED = time.time()


@dataclass(frozen=True)
class Instance:
    version: str
    start_time: float | None
    name: str

    def metadata(self) -> tuple[tuple[str, str], ...]:
        started = "" if self.start_time is None else f"{self.start_time:.3f}"
        return ((VERSION_KEY, self.version), (START_TIME_KEY, started), (INSTANCE_KEY, self.name))


@cache
def current() -> Instance:
    """This process: the installed ``energypulse`` version, the module's import time, host:pid."""
    try:
        version = metadata.version("energypulse")
    except metadata.PackageNotFoundError:
        version = "unknown"
    return Instance(version, _STARTED, f"{socket.gethostname()}:{os.getpid()}")


def from_metadata(items: Iterable[tuple[str, str | bytes]] | None) -> Instance:
    """Read an instance back from received metadata; missing or malformed values stay empty."""
    values = {k: (v.decode(errors="replace") if isinstance(v, bytes) else v) for k, v in items or ()}
    try:
        start: float | None = float(values.get(START_TIME_KEY, ""))
    except ValueError:
        start = None
    return Instance(values.get(VERSION_KEY, "")[:64], start, values.get(INSTANCE_KEY, "")[:128])
