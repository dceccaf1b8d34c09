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
import re
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
    # Only the login guard answers 429 itself (a throttled sign-in auth_svc refused before).
    ("response.code == 429", 429, 8, "LOGIN_RATE_LIMITED"),
    ("response.code == 400", 400, 3, "MALFORMED_REQUEST"),
    ("response.code >= 500", 503, 14, "UPSTREAM_UNAVAILABLE"),
    # Anything else Envoy answers by itself (405, 408, ...): malformed for this route.
    ("response.code >= 400", 0, 3, "MALFORMED_REQUEST"),
]


# JSON bodies that say more than the fixed gRPC message can: an access-log operator Envoy fills
# in (the login guard's Retry-After, as auth_svc's own "try again in N s").
JSON_MESSAGES: dict[str, str] = {
    "LOGIN_RATE_LIMITED": "too many failed sign-in attempts; try again in %RESP(RETRY-AFTER)% s",
}


def _text_body(code: int, reason: str) -> str:
    """A google.rpc.Status as JSON, fixed per reason (Envoy's own text, e.g. a transcoder parse
    error naming protobuf types, goes to the access log, not to the client)."""
    status = {
        "code": code,
        "message": JSON_MESSAGES.get(reason, MESSAGES[reason]),
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
    "LOGIN_RATE_LIMITED": "too many failed sign-in attempts; try again after Retry-After seconds",
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


# --- unknown JSON body fields ----------------------------------------------------------------
# The transcoder drops JSON fields the request message does not define (proto3 JSON parsing with
# unknown fields ignored, no option to refuse them), while the OpenAPI document says
# ``additionalProperties: false``. A Lua filter checks the body's keys against the message, at
# every nesting level, before the transcoder runs: an unknown field is 400 MALFORMED_REQUEST.
# It runs only on POST/PUT/PATCH /api/ requests (a route of its own; everything else has it off).

_OPAQUE = {
    "google.protobuf.Struct",
    "google.protobuf.Value",
    "google.protobuf.ListValue",
    "google.protobuf.Any",
    "google.protobuf.Timestamp",
    "google.protobuf.Duration",
    "google.protobuf.FieldMask",
}


def _lua_string(value: str) -> str:
    return json.dumps(value)  # a JSON string literal is a valid Lua string literal for these names


def _schemas(descriptor_path: str, bodies: Mapping[str, tuple[str, str]]) -> tuple[str, str]:
    """Lua tables: message name -> {key -> nested message name or true}, and the routes."""
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    fds = descriptor_pb2.FileDescriptorSet.FromString(open(descriptor_path, "rb").read())
    pool = descriptor_pool.DescriptorPool()
    for file in fds.file:
        pool.Add(file)
    message_factory.GetMessageClassesForFiles([f.name for f in fds.file], pool)
    messages: dict[str, dict[str, str | bool]] = {}

    def visit(name: str) -> None:
        if name in messages or name in _OPAQUE or name.startswith("google.protobuf."):
            return
        message = pool.FindMessageTypeByName(name)
        fields: dict[str, str | bool] = {}
        messages[name] = fields
        for field in message.fields:
            nested: str | bool = True
            if field.message_type is not None and not field.message_type.GetOptions().map_entry:
                nested = field.message_type.full_name
                if nested in _OPAQUE or nested.startswith("google.protobuf."):
                    nested = True
                else:
                    visit(nested)
            fields[field.json_name] = nested
            fields[field.name] = nested

    for message_name, _ in bodies.values():
        visit(message_name)
    lua_messages = ",\n".join(
        f"  [{_lua_string(name)}] = {{"
        + ", ".join(
            f"[{_lua_string(key)}] = {_lua_string(value) if isinstance(value, str) else 'true'}"
            for key, value in sorted(fields.items())
        )
        + "}"
        for name, fields in sorted(messages.items())
    )
    lua_routes = ",\n".join(
        f"  {{{_lua_string(pattern)}, {_lua_string(message)}, {_lua_string(field)}}}"
        for pattern, (message, field) in sorted(bodies.items())
    )
    return lua_messages, lua_routes


_LUA_CHECKER = r"""
-- Returns the first unknown key (a path) or nil. Skips values it does not need to look into.
local function ws(s, i) return string.find(s, "[^ \t\r\n]", i) or (#s + 1) end
local skip
local function str(s, i) -- s:sub(i, i) == '"'; returns the string's raw text and the index after it
  local j = i + 1
  while true do
    local c = string.find(s, '["\\]', j)
    if not c then error("json") end
    if s:sub(c, c) == '"' then return s:sub(i + 1, c - 1), c + 1 end
    j = c + 2
  end
end
local function check(s, i, schema, path) -- value at i (after whitespace); returns index after it
  local c = s:sub(i, i)
  if c == "{" then
    i = ws(s, i + 1)
    if s:sub(i, i) == "}" then return i + 1 end
    while true do
      if s:sub(i, i) ~= '"' then error("json") end
      local key; key, i = str(s, i)
      i = ws(s, i)
      if s:sub(i, i) ~= ":" then error("json") end
      i = ws(s, i + 1)
      local nested = true
      if schema ~= nil and schema ~= true then
        nested = schema[key]
        if nested == nil then error({unknown = path .. key}) end
        if nested ~= true then nested = MESSAGES[nested] end
      end
      i = check(s, i, nested, path .. key .. ".")
      i = ws(s, i)
      local d = s:sub(i, i)
      if d == "}" then return i + 1 end
      if d ~= "," then error("json") end
      i = ws(s, i + 1)
    end
  elseif c == "[" then
    i = ws(s, i + 1)
    if s:sub(i, i) == "]" then return i + 1 end
    while true do
      i = ws(s, check(s, i, schema, path))
      local d = s:sub(i, i)
      if d == "]" then return i + 1 end
      if d ~= "," then error("json") end
      i = ws(s, i + 1)
    end
  elseif c == '"' then
    local _, j = str(s, i)
    return j
  else
    local j = string.find(s, "[,%]} \t\r\n]", i)
    if not j or j == i then
      if j == nil and i <= #s then return #s + 1 end
      error("json")
    end
    return j
  end
end

function envoy_on_request(handle)
  local path = handle:headers():get(":path") or ""
  path = string.gsub(path, "%?.*$", "")
  local route
  for _, r in ipairs(ROUTES) do
    if string.match(path, r[1]) then route = r break end
  end
  if route == nil then return end
  local body = handle:body()
  if body == nil then return end
  local text = body:getBytes(0, body:length())
  local schema = MESSAGES[route[2]]
  if route[3] ~= "" then
    schema = schema[route[3]]
    schema = (schema ~= true) and MESSAGES[schema] or true
  end
  local ok, err = pcall(check, text, ws(text, 1), schema, "")
  if not ok and type(err) == "table" and err.unknown then
    handle:logDebug("unknown JSON field " .. err.unknown)
    handle:respond({[":status"] = "400"}, "unknown field")
  end
  -- Malformed JSON is the transcoder's to refuse (with the same reason).
end
"""


def unknown_fields_filter(descriptor_path: str, bodies: Mapping[str, tuple[str, str]]) -> dict[str, object]:
    """``bodies``: Lua path pattern -> (request message, body field or "" for ``body: "*"``)."""
    messages, routes = _schemas(descriptor_path, bodies)
    code = f"MESSAGES = {{\n{messages}\n}}\nROUTES = {{\n{routes}\n}}\n{_LUA_CHECKER}"
    return {
        "name": "envoy.filters.http.lua",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua",
            "default_source_code": {"inline_string": code},
        },
    }


def lua_path_pattern(template: str) -> str:
    """``/api/v1/users/{user_id}:setRole`` -> an anchored Lua pattern."""
    out = []
    for part in re.split(r"(\{[^}]*\})", template):
        if part.startswith("{"):
            out.append("[^/]+")
        else:
            out.append(re.sub(r"([%^$().\[\]*+\-?])", r"%\1", part))
    return "^" + "".join(out) + "$"


LUA_OFF = {
    "envoy.filters.http.lua": {
        "@type": "type.googleapis.com/envoy.config.route.v3.FilterConfig",
        "disabled": True,
    }
}


def json_bodies(descriptor_path: str) -> dict[str, tuple[str, str]]:
    """Every energypulse HTTP rule with a body: Lua path pattern -> (request message, body field)."""
    from google.api import annotations_pb2
    from google.protobuf import descriptor_pb2

    fds = descriptor_pb2.FileDescriptorSet.FromString(open(descriptor_path, "rb").read())
    bodies: dict[str, tuple[str, str]] = {}
    for file in fds.file:
        if not file.package.startswith("energypulse."):
            continue
        for service in file.service:
            for method in service.method:
                rule = method.options.Extensions[annotations_pb2.http]
                pattern = rule.WhichOneof("pattern")
                if rule.body and pattern in ("post", "put", "patch"):
                    field = "" if rule.body == "*" else rule.body
                    bodies[lua_path_pattern(getattr(rule, pattern))] = (method.input_type.lstrip("."), field)
    return bodies


def with_body_check(routes: list[dict[str, object]]) -> list[dict[str, object]]:
    """The routes with the Lua body check off everywhere except on a route of its own for
    POST/PUT/PATCH /api/ requests (the same unknown-route answer as the /api/ route after it)."""
    checked: list[dict[str, object]] = []
    for route in routes:
        per_filter = dict(route.get("typed_per_filter_config") or {})  # type: ignore[call-overload]
        per_filter.update(LUA_OFF)
        match = route.get("match")
        if match == {"prefix": "/api/"}:
            checked.append(
                {
                    "match": {
                        "prefix": "/api/",
                        "headers": [
                            {"name": ":method", "string_match": {"safe_regex": {"regex": "POST|PUT|PATCH"}}}
                        ],
                    },
                    "direct_response": route["direct_response"],
                }
            )
        checked.append({**route, "typed_per_filter_config": per_filter})
    return checked


# --- the login guard ---------------------------------------------------------------------------
# auth_svc refuses a throttled sign-in before any hashing, but each refusal is still a gRPC call
# through Envoy (~2 ms of auth_svc CPU: a 100/s flood from one address cost it ~20 % of a core).
# So the edge remembers what auth_svc told it: a throttled reply carries
# ``x-energypulse-login-throttle: client=12,pair=30`` (auth_svc/servicer.py), and until then the
# guard refuses that client address (scope ``client``) or that account from that address
# (``pair``; ``account`` is remembered as this address's pair) by itself, 429 LOGIN_RATE_LIMITED
# with Retry-After. The throttle's semantics stay auth_svc's (auth_svc/ratelimit.py): the edge only
# repeats a refusal auth_svc made, for no longer than auth_svc said, and never for another address,
# so the owner signing in from elsewhere is untouched. The header never leaves the edge.
#
# The guard runs after the transcoder on the Login gRPC route, so JSON and native calls look the
# same (a gRPC frame holding LoginRequest; username = field 1, the last occurrence wins as in
# protobuf). The account key is formed as auth_svc forms it (ratelimit.account_key: ASCII spaces
# stripped, ASCII lowered, 64 bytes). A frame it cannot read (compressed, malformed) is keyed as
# one unreadable account. Memory: per Envoy worker, at most LOGIN_GUARD_ENTRIES keys (expired ones
# are dropped when full; when still full nothing new is remembered and auth_svc refuses as before).

LOGIN_GUARD = "energypulse.login_guard"
LOGIN_THROTTLE_HEADER = "x-energypulse-login-throttle"
LOGIN_GUARD_ENTRIES = 20000

_LOGIN_GUARD_LUA = r"""
local MAX_ENTRIES = %d
local HINT = "%s"
local FILTER = "%s"
local memo, size = {}, 0

local function varint(raw, pos)
  local value, shift = 0, 1
  while pos <= #raw do
    local byte = raw:byte(pos)
    value = value + (byte %% 128) * shift
    pos = pos + 1
    if byte < 128 then return value, pos end
    shift = shift * 128
    if shift > 2 ^ 56 then return nil, pos end
  end
  return nil, pos
end

-- LoginRequest.username (field 1) of one uncompressed gRPC frame, or nil.
local function username(raw)
  if #raw < 5 or raw:byte(1) ~= 0 then return nil end
  local pos, name = 6, ""
  while pos <= #raw do
    local tag
    tag, pos = varint(raw, pos)
    if tag == nil then return nil end
    local wire = tag %% 8
    if wire == 0 then
      local v
      v, pos = varint(raw, pos)
      if v == nil then return nil end
    elseif wire == 1 then pos = pos + 8
    elseif wire == 5 then pos = pos + 4
    elseif wire == 2 then
      local length
      length, pos = varint(raw, pos)
      if length == nil or pos + length - 1 > #raw then return nil end
      if (tag - wire) / 8 == 1 then name = raw:sub(pos, pos + length - 1) end
      pos = pos + length
    else return nil end
  end
  if pos ~= #raw + 1 then return nil end
  return name
end

local function account(name)
  if name == nil then return "\0unreadable" end
  name = string.gsub(name, "^[ \t\n\r\v\f]+", "")
  name = string.gsub(name, "[ \t\n\r\v\f]+$", "")
  return string.sub(string.gsub(name, "%%u", string.lower), 1, 64)
end

local function client(handle)
  local address = handle:streamInfo():downstreamRemoteAddress() or ""
  local v6 = string.match(address, "^%%[(.*)%%]:%%d+$")
  if v6 then return v6 end
  return (string.gsub(address, ":%%d+$", ""))
end

local function remember(key, untiltime, now)
  if memo[key] == nil then
    if size >= MAX_ENTRIES then
      for k, t in pairs(memo) do
        if t <= now then memo[k] = nil; size = size - 1 end
      end
      if size >= MAX_ENTRIES then return end
    end
    size = size + 1
    memo[key] = untiltime
  elseif memo[key] < untiltime then
    memo[key] = untiltime
  end
end

function envoy_on_request(handle)
  local body = handle:body()
  local raw = ""
  if body ~= nil then raw = body:getBytes(0, body:length()) end
  local addr = client(handle)
  local pair = "p " .. addr .. " " .. account(username(raw))
  local now = handle:timestamp()  -- ms
  local untiltime = math.max(memo["c " .. addr] or 0, memo[pair] or 0)
  if untiltime > now then
    local wait = tostring(math.ceil((untiltime - now) / 1000))
    handle:respond({[":status"] = "429", ["retry-after"] = wait}, "")
    return
  end
  handle:streamInfo():dynamicMetadata():set(FILTER, "pair", pair)
  handle:streamInfo():dynamicMetadata():set(FILTER, "client", "c " .. addr)
end

function envoy_on_response(handle)
  local hint = handle:headers():get(HINT)
  if hint == nil then return end
  handle:headers():remove(HINT)
  local keys = handle:streamInfo():dynamicMetadata():get(FILTER)
  if keys == nil then return end
  local now = handle:timestamp()
  for scope, seconds in string.gmatch(hint, "(%%a+)=([%%d.]+)") do
    local wait = math.min(tonumber(seconds) or 0, 3600) * 1000
    local key = (scope == "client") and keys["client"] or keys["pair"]
    if key ~= nil and wait > 0 then remember(key, now + wait, now) end
  end
end
"""


def login_guard_filter() -> dict[str, object]:
    """The Lua login guard: off by default, on only for the Login route (login_guard_route)."""
    code = _LOGIN_GUARD_LUA % (LOGIN_GUARD_ENTRIES, LOGIN_THROTTLE_HEADER, LOGIN_GUARD)
    return {
        "name": LOGIN_GUARD,
        "disabled": True,
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua",
            "default_source_code": {"inline_string": code},
        },
    }


LOGIN_GUARD_ON = {
    LOGIN_GUARD: {"@type": "type.googleapis.com/envoy.config.route.v3.FilterConfig", "config": {}}
}


def login_guard_json_route(routes: list[dict[str, object]], login_path: str) -> list[dict[str, object]]:
    """A JSON sign-in gets its own route (the body check's POST /api/ route, login guard on too):
    a filter off on the route a request first matched stays off for it, also after the
    transcoder moved it to the gRPC Login route."""
    out: list[dict[str, object]] = []
    for route in routes:
        match = route.get("match")
        if isinstance(match, dict) and match.get("prefix") == "/api/" and "headers" in match:
            out.append(
                {
                    **route,
                    "match": {"path": login_path, "headers": match["headers"]},
                    "typed_per_filter_config": LOGIN_GUARD_ON,
                }
            )
        out.append(route)
    return out
