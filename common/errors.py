"""The one exception tree services raise, and its mapping to gRPC status with ErrorInfo.

Domain code raises e.g. ``NotFound(reasons.HOUSEHOLD_NOT_FOUND, "household h-1 does not exist")``
(``reasons`` is ``energypulse.errors.v1.error_reason_pb2``, the one registry of reasons; a plain
string is accepted too, but must name a registered reason: an unregistered one fails at once,
so a typo surfaces in the first test that reaches it). The error interceptor in ``common.server`` turns it into a ``google.rpc.Status`` carrying one
``google.rpc.ErrorInfo`` (reason, domain, metadata), which Envoy's transcoder renders as the HTTP
status and JSON body.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeAlias

import grpc
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from energypulse.errors.v1 import error_reason_pb2

__all__ = [
    "DOMAIN",
    "AlreadyExists",
    "EnergyPulseError",
    "FailedPrecondition",
    "InvalidArgument",
    "NotFound",
    "PermissionDenied",
    "ResourceExhausted",
    "Unauthenticated",
    "Unavailable",
    "Unimplemented",
    "error_info",
    "reason_name",
    "to_rpc_status",
]

DOMAIN = "energypulse.io"

Reason: TypeAlias = error_reason_pb2.ErrorReason.ValueType


def reason_name(reason: Reason | str) -> str:
    """The ErrorInfo reason string of a registered reason; ValueError for anything else."""
    if isinstance(reason, str):
        error_reason_pb2.ErrorReason.Value(reason)  # ValueError if unregistered
        name = reason
    else:
        name = error_reason_pb2.ErrorReason.Name(reason)
    if name == "ERROR_REASON_UNSPECIFIED":
        raise ValueError("ERROR_REASON_UNSPECIFIED is not a reason")
    return name


class EnergyPulseError(Exception):
    """Base of every error a service reports to its callers."""

    code: grpc.StatusCode = grpc.StatusCode.INTERNAL

    def __init__(self, reason: Reason | str, message: str, metadata: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.reason = reason_name(reason)
        self.message = message
        self.metadata = dict(metadata or {})


class InvalidArgument(EnergyPulseError):
    code = grpc.StatusCode.INVALID_ARGUMENT


class NotFound(EnergyPulseError):
    code = grpc.StatusCode.NOT_FOUND


class AlreadyExists(EnergyPulseError):
    code = grpc.StatusCode.ALREADY_EXISTS


class PermissionDenied(EnergyPulseError):
    code = grpc.StatusCode.PERMISSION_DENIED


class Unauthenticated(EnergyPulseError):
    code = grpc.StatusCode.UNAUTHENTICATED


class FailedPrecondition(EnergyPulseError):
    code = grpc.StatusCode.FAILED_PRECONDITION


class ResourceExhausted(EnergyPulseError):
    code = grpc.StatusCode.RESOURCE_EXHAUSTED


class Unavailable(EnergyPulseError):
    code = grpc.StatusCode.UNAVAILABLE


class Unimplemented(EnergyPulseError):
    code = grpc.StatusCode.UNIMPLEMENTED


def to_rpc_status(error: EnergyPulseError) -> grpc.Status:
    """The rich status (with one ErrorInfo detail) for ``error``."""
    info = error_details_pb2.ErrorInfo(reason=error.reason, domain=DOMAIN, metadata=error.metadata)
    status = status_pb2.Status(code=getattr(code_pb2, error.code.name), message=error.message)
    status.details.add().Pack(info)
    return rpc_status.to_status(status)


def error_info(call_error: grpc.RpcError) -> error_details_pb2.ErrorInfo | None:
    """The ErrorInfo inside a received error, for clients and tests."""
    # from_call reads code(), details() and trailing_metadata(): both grpc's sync errors and
    # grpc.aio.AioRpcError have them, but the stubs type the argument as grpc.Call, which
    # AioRpcError does not subclass.
    status = rpc_status.from_call(call_error)  # type: ignore[arg-type]
    if status is None:
        return None
    for detail in status.details:
        info = error_details_pb2.ErrorInfo()
        if detail.Unpack(info):
            return info
    return None
