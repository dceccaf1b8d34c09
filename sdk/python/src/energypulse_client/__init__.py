"""EnergyPulse client: stubs of the four services through the edge, with a signed-in session.

The messages and stubs (``energypulse.<svc>.v1``) are generated from protos/ by
scripts/gen_protos.py and ship in this package; this module adds what every integrator needs around
them (docs/CLIENTS.md): signing in, refreshing the 5-minute access token before it runs out, and
reading the ``google.rpc.ErrorInfo`` every error carries.

    client = EnergyPulse("127.0.0.1:8080")
    client.login("household-0001", password)
    me = client.auth.GetCurrentUser(auth_service_pb2.GetCurrentUserRequest())
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, cast

import grpc
from google.rpc import error_details_pb2, status_pb2

from energypulse.auth.v1 import auth_service_pb2, auth_service_pb2_grpc
from energypulse.ledger.v1 import ledger_service_pb2_grpc
from energypulse.prediction.v1 import prediction_service_pb2_grpc
from energypulse.telemetry.v1 import telemetry_service_pb2_grpc

__all__ = ["EnergyPulse", "error_info"]

# Refresh this long before the access token expires.
REFRESH_MARGIN_S = 30.0
# Methods whose access rule is PUBLIC: they carry no access token.
PUBLIC_METHODS = frozenset(
    f"/energypulse.auth.v1.AuthService/{name}"
    for name in ("Login", "RefreshToken", "Logout", "GetJwks", "GetRevocations")
)


class _Authorize(grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor):
    """Adds ``authorization: Bearer <access token>`` to every call that is not public."""

    def __init__(self, token: Callable[[], str | None]) -> None:
        self._token = token

    def _details(self, details: grpc.ClientCallDetails) -> grpc.ClientCallDetails:
        token = None if details.method in PUBLIC_METHODS else self._token()
        if token is None:
            return details
        metadata = (*(details.metadata or ()), ("authorization", f"Bearer {token}"))
        return _CallDetails(details, metadata)

    def intercept_unary_unary(self, continuation: Any, details: grpc.ClientCallDetails, request: Any) -> Any:
        return continuation(self._details(details), request)

    def intercept_unary_stream(self, continuation: Any, details: grpc.ClientCallDetails, request: Any) -> Any:
        return continuation(self._details(details), request)


class _CallDetails(grpc.ClientCallDetails):
    def __init__(self, base: grpc.ClientCallDetails, metadata: tuple[tuple[str, str | bytes], ...]) -> None:
        self.method = base.method
        self.timeout = base.timeout
        self.metadata = metadata
        self.credentials = base.credentials
        self.wait_for_ready = getattr(base, "wait_for_ready", None)
        self.compression = getattr(base, "compression", None)


class EnergyPulse:
    """Stubs of the four services sharing one channel to the edge and one signed-in session.

    ``target`` is the edge's host:port; ``credentials`` (grpc.ssl_channel_credentials()) for TLS.
    """

    def __init__(self, target: str, credentials: grpc.ChannelCredentials | None = None) -> None:
        base = grpc.secure_channel(target, credentials) if credentials else grpc.insecure_channel(target)
        self._base = base
        self.channel = grpc.intercept_channel(base, _Authorize(self.access_token))
        self.auth = auth_service_pb2_grpc.AuthServiceStub(self.channel)
        self.ledger = ledger_service_pb2_grpc.LedgerServiceStub(self.channel)
        self.prediction = prediction_service_pb2_grpc.PredictionServiceStub(self.channel)
        self.telemetry = telemetry_service_pb2_grpc.TelemetryServiceStub(self.channel)
        self._tokens: auth_service_pb2.TokenPair | None = None
        self._lock = threading.Lock()

    def login(self, username: str, password: str, timeout: float = 10.0) -> None:
        """AuthService.Login; later calls carry the access token and refresh it when due."""
        reply = self.auth.Login(
            auth_service_pb2.LoginRequest(username=username, password=password), timeout=timeout
        )
        self._tokens = reply.tokens

    def logout(self, timeout: float = 10.0) -> None:
        """Ends the session server-side (revokes the refresh token's family)."""
        tokens, self._tokens = self._tokens, None
        if tokens is not None:
            self.auth.Logout(
                auth_service_pb2.LogoutRequest(refresh_token=tokens.refresh_token), timeout=timeout
            )

    def access_token(self) -> str | None:
        """The current access token, refreshed first when it expires within 30 s; None before login."""
        with self._lock:
            tokens = self._tokens
            if tokens is None:
                return None
            if tokens.access_token_expire_time.ToSeconds() - time.time() < REFRESH_MARGIN_S:
                reply = self.auth.RefreshToken(
                    auth_service_pb2.RefreshTokenRequest(refresh_token=tokens.refresh_token), timeout=10
                )
                self._tokens = tokens = reply.tokens
            return tokens.access_token

    def close(self) -> None:
        self._base.close()

    def __enter__(self) -> EnergyPulse:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def error_info(error: grpc.RpcError) -> error_details_pb2.ErrorInfo | None:
    """The ``google.rpc.ErrorInfo`` of a failed call (its ``grpc-status-details-bin`` trailer)."""
    trailers = error.trailing_metadata() if hasattr(error, "trailing_metadata") else None
    for key, value in cast("Sequence[tuple[str, str | bytes]]", trailers or ()):
        if key == "grpc-status-details-bin" and isinstance(value, bytes):
            status = status_pb2.Status.FromString(value)
            for detail in status.details:
                info = error_details_pb2.ErrorInfo()
                if detail.Unpack(info):
                    return info
    return None
