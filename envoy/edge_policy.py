"""The edge's hardening, as pieces of Envoy config that envoy/generate.py puts in place.

Kept apart from the routing so each concern has one place:

- a request body limit (``limits.max_request_bytes`` in envoy/routes.yaml): a larger body is 413
  ``REQUEST_TOO_LARGE`` before any filter or service sees it (the transcoder's own
  ``max_request_body_size`` only bounds what it buffers while translating, and a body it passes
  through untranslated was never checked);
- one error format: every reply Envoy makes itself (token checks, the transcoder, the body limit,
  no route, no healthy upstream) is a JSON ``google.rpc.Status`` with one ``ErrorInfo`` reason
  from the registry (protos/energypulse/errors/v1/error_reason.proto), the same shape a service's
  transcoded error has. The reason is chosen from Envoy's response code details (a CEL filter);
- tokens at the edge must carry ``exp`` (jwt_authn ``require_expiration``) and a ``kid`` (the
  token header is put in metadata and an RBAC rule refuses protected calls without it);
- the client address: Envoy takes it from ``xff_num_trusted_hops`` trusted proxies
  (EP_EDGE_TRUSTED_HOPS, default 0: Envoy faces the clients) and passes it to the services in
  ``x-energypulse-client-address``, overwriting whatever a client sent in that header;
- browser headers on the dashboard (a strict CSP without inline script, frame-ancestors,
  X-Frame-Options, X-Content-Type-Options, Referrer-Policy);
- the admin interface on a Unix socket (mode 0600), never on a TCP port.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Mapping
from typing import Any

DOMAIN = "energypulse.io"
CLIENT_ADDRESS_HEADER = "x-energypulse-client-address"
DEFAULT_MAX_REQUEST_BYTES = 1024 * 1024

# The dashboard's Content-Security-Policy: scripts and styles only from the app's own files (the
# Vite build emits no inline script); the API on the same origin; no framing, plugins or <base>.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS: dict[str, str] = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}


def max_request_bytes(table: Mapping[str, Any]) -> int:
    limits = table.get("limits") or {}
    return int(limits.get("max_request_bytes", DEFAULT_MAX_REQUEST_BYTES))


# Request headers Envoy accepts (KiB; more is 431 REQUEST_TOO_LARGE). Below what the services take
# (common/server.py: 64 KiB), so an oversized header set never reaches a service, whose own
# refusal would list the header names (internal detail) in a 429.
MAX_REQUEST_HEADERS_KB = 32


def body_limit_filter(max_bytes: int) -> dict[str, object]:
    """Envoy's buffer filter: bodies over ``max_bytes`` are 413 (also when Content-Length says so).

    Every RPC here takes one request message (unary or server streaming), so buffering the request
    body costs nothing a client could notice; response streams are not buffered.
    """
    return {
        "name": "envoy.filters.http.buffer",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.buffer.v3.Buffer",
            "max_request_bytes": max_bytes,
        },
    }


def jwt_provider_hardening() -> dict[str, object]:
    """Extra fields for the jwt_authn provider: exp required, the JOSE header in metadata."""
    return {"require_expiration": True, "header_in_metadata": "jwt_header"}


def kid_required_filter(public_paths: Iterable[str]) -> dict[str, object]:
    """RBAC: a protected call passes only with a token whose header names a ``kid``.

    jwt_authn has already refused protected calls without a valid token; tokens without ``kid``
    would still verify against every key of the set. Public routes (login, JWKS, ...) and
    everything outside /api/ and the gRPC paths need no token and are let through.
    """
    public: list[dict[str, object]] = [
        {"url_path": {"path": {"exact": path}}} for path in sorted(set(public_paths))
    ]
    protected: dict[str, object] = {
        "or_rules": {
            "rules": [
                {"url_path": {"path": {"prefix": "/api/"}}},
                {"url_path": {"path": {"prefix": "/energypulse."}}},
            ]
        }
    }
    unprotected: list[dict[str, object]] = [*public, {"not_rule": protected}]
    return {
        "name": "envoy.filters.http.rbac",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC",
            "rules": {
                "action": "ALLOW",
                "policies": {
                    "no_token_needed": {
                        "permissions": [{"or_rules": {"rules": unprotected}}],
                        "principals": [{"any": True}],
                    },
                    "token_names_a_key": {
                        "permissions": [{"any": True}],
                        "principals": [
                            {
                                "sourced_metadata": {
                                    "metadata_matcher": {
                                        "filter": "envoy.filters.http.jwt_authn",
                                        "path": [{"key": "jwt_header"}, {"key": "kid"}],
                                        "value": {"string_match": {"safe_regex": {"regex": ".+"}}},
                                    }
                                }
                            }
                        ],
                    },
                },
            },
        },
    }


# Envoy's own replies, most specific first: (CEL condition on the reply, HTTP status to send,
# gRPC code for google.rpc.Status.code, reason). The conditions read response.code_details
# (e.g. "jwt_authn_access_denied{Jwt_is_expired}", "request_payload_too_large").
_DETAILS = "response.code_details"
LOCAL_REPLIES: list[tuple[str, int, int, str]] = [
    (f"{_DETAILS}.contains('Jwt_is_missing')", 401, 16, "AUTHENTICATION_REQUIRED"),
    (f"{_DETAILS}.contains('Jwt_is_expired')", 401, 16, "TOKEN_EXPIRED"),
    (f"{_DETAILS}.contains('Jwt_not_yet_valid')", 401, 16, "TOKEN_NOT_YET_VALID"),
    (f"{_DETAILS}.contains('Audiences_in_Jwt')", 401, 16, "TOKEN_AUDIENCE_INVALID"),
    (f"{_DETAILS}.contains('Jwt_issuer')", 401, 16, "TOKEN_ISSUER_INVALID"),
    (f"{_DETAILS}.contains('kid')", 401, 16, "TOKEN_KID_UNKNOWN"),
    # A bad signature and a token without exp (require_expiration) both end here in Envoy.
    (f"{_DETAILS}.contains('Jwt_verification_fails')", 401, 16, "TOKEN_INVALID"),
    (f"{_DETAILS}.startsWith('rbac_access_denied')", 401, 16, "TOKEN_KID_MISSING"),
    (f"{_DETAILS}.startsWith('jwt_authn_access_denied')", 401, 16, "TOKEN_MALFORMED"),
    ("response.code == 413", 413, 8, "REQUEST_TOO_LARGE"),
    ("response.code == 431", 431, 8, "REQUEST_TOO_LARGE"),
    ("response.code == 404", 404, 5, "ROUTE_NOT_FOUND"),
    ("response.code == 400", 400, 3, "MALFORMED_REQUEST"),
    ("response.code >= 500", 503, 14, "UPSTREAM_UNAVAILABLE"),
    # Anything else Envoy answers by itself (405, 408, ...): malformed for this route.
    ("response.code >= 400", 0, 3, "MALFORMED_REQUEST"),
]


def _text_body(code: int, reason: str) -> str:
    """A google.rpc.Status as JSON, fixed per reason (Envoy's own text, e.g. a transcoder parse
    error naming protobuf types, goes to the access log, not to the client)."""
    status = {
        "code": code,
        "message": MESSAGES[reason],
        "details": [
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": reason, "domain": DOMAIN}
        ],
    }
    return json.dumps(status, separators=(",", ":")) + "\n"


MESSAGES: dict[str, str] = {
    "AUTHENTICATION_REQUIRED": "this call needs a bearer token",
    "TOKEN_EXPIRED": "the token has expired",
    "TOKEN_NOT_YET_VALID": "the token is not valid yet",
    "TOKEN_AUDIENCE_INVALID": "the token is not for this deployment",
    "TOKEN_ISSUER_INVALID": "the token's issuer is not auth_svc",
    "TOKEN_INVALID": "the token's signature or required claims (exp) do not verify",
    "TOKEN_KID_UNKNOWN": "the token names no known signing key",
    "TOKEN_KID_MISSING": "the token header has no kid",
    "TOKEN_MALFORMED": "the authorization header is not a valid bearer token",
    "REQUEST_TOO_LARGE": "the request is larger than this edge accepts",
    "ROUTE_NOT_FOUND": "no API route matches this method and path",
    "MALFORMED_REQUEST": "the request does not match the method's request message",
    "UPSTREAM_UNAVAILABLE": "the service is not reachable right now; retry shortly",
}


def _grpc_status_details(code: int, reason: str) -> str:
    """``grpc-status-details-bin``: the same google.rpc.Status, protobuf-encoded (written by hand
    so the generator needs no generated code: Status{1: code, 2: message, 3: Any{1: url, 2:
    ErrorInfo{1: reason, 2: domain}}})."""

    def field(number: int, payload: bytes) -> bytes:
        return _varint(number << 3 | 2) + _varint(len(payload)) + payload

    info = field(1, reason.encode()) + field(2, DOMAIN.encode())
    detail = field(1, b"type.googleapis.com/google.rpc.ErrorInfo") + field(2, info)
    status = _varint(1 << 3) + _varint(code) + field(2, MESSAGES[reason].encode()) + field(3, detail)
    return base64.b64encode(status).decode().rstrip("=")


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


# A native gRPC call: gRPC content type, and not a JSON request the transcoder has rewritten
# (it keeps the original path in x-envoy-original-path and sets the gRPC content type).
_GRPC = (
    "('content-type' in request.headers"
    " && request.headers['content-type'].startsWith('application/grpc')"
    " && !('x-envoy-original-path' in request.headers))"
)


def _cel(expression: str) -> dict[str, object]:
    return {
        "extension_filter": {
            "name": "envoy.access_loggers.extension_filters.cel",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.access_loggers.filters.cel.v3.ExpressionFilter",
                "expression": expression,
            },
        }
    }


def _header(key: str, value: str) -> dict[str, object]:
    return {"header": {"key": key, "value": value}, "append_action": "OVERWRITE_IF_EXISTS_OR_ADD"}


def local_reply_config() -> dict[str, object]:
    """HCM local_reply_config: every Envoy-made error as a google.rpc.Status with ErrorInfo.

    JSON callers get the Status as the body (HTTP status as listed); gRPC callers keep Envoy's
    grpc-status and get the Status in ``grpc-status-details-bin``, as a service sends it. The
    mappers only see replies Envoy makes itself; a service's transcoded error keeps its Status.
    """
    mappers: list[dict[str, object]] = []
    for condition, status, code, reason in LOCAL_REPLIES:
        mappers.append(
            {
                "filter": _cel(f"{_GRPC} && ({condition})"),
                # grpc-status and grpc-message must equal the Status's code and message (clients
                # check): all three from the table (the body becomes grpc-message).
                "headers_to_add": [
                    _header("grpc-status-details-bin", _grpc_status_details(code, reason)),
                    _header("grpc-status", str(code)),
                ],
                "body": {"inline_string": MESSAGES[reason]},  # Envoy sends it as grpc-message
            }
        )
        mapper: dict[str, object] = {
            "filter": _cel(f"!{_GRPC} && ({condition})"),
            "body_format_override": {
                "text_format_source": {"inline_string": _text_body(code, reason)},
                "content_type": "application/json",
            },
        }
        if status:
            mapper["status_code"] = status
        mappers.append(mapper)
    return {"mappers": mappers}


def client_address_headers() -> list[dict[str, object]]:
    """Route-level request header: the client address Envoy determined (trusted hops applied)."""
    return [_header(CLIENT_ADDRESS_HEADER, "%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%")]


def security_response_headers() -> list[dict[str, object]]:
    return [_header(key, value) for key, value in SECURITY_HEADERS.items()]


def admin_config(socket_path: str) -> dict[str, object]:
    """Admin on a Unix socket only the user running Envoy can open (config_dump, quitquitquit)."""
    return {"address": {"pipe": {"path": socket_path, "mode": 0o600}}}
