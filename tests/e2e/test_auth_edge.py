"""Who may see and change what, at the edge (Envoy) and natively (each service's interceptor).

Bad tokens are forged with the stack's real signing key (read from auth_svc's database with the
published demo key-encryption key), so only the property under test is wrong in each.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import grpc
import pytest
from google.api import annotations_pb2
from google.protobuf import descriptor_pb2

from auth_svc.testing import BAD_TOKEN_KINDS, TokenFactory
from devstack.stack import Stack
from energypulse.ledger.v1 import ledger_service_pb2, ledger_service_pb2_grpc
from energypulse.options.v1 import options_pb2

ROOT = Path(__file__).resolve().parents[2]
OWN = "sim-h000000"  # household-0001's household
OTHER = "sim-h000001"  # household-0002's
CLUSTER = {
    "auth": "auth",
    "prediction": "predict",
    "ledger": "ledger",
    "telemetry": "ingest",
    "alert": "alert",
}


@pytest.fixture(scope="module")
def user_token(stack: Stack) -> str:
    return stack.login("household-0001", "demo")


def _methods() -> list[tuple[str, str, descriptor_pb2.MethodDescriptorProto]]:
    fds = descriptor_pb2.FileDescriptorSet.FromString((ROOT / "build" / "energypulse.pb").read_bytes())
    return [
        (f.package, s.name, m)
        for f in fds.file
        if f.package.startswith("energypulse.") and f.service
        for s in f.service
        for m in s.method
    ]


def _household_routes() -> list[tuple[str, str, descriptor_pb2.MethodDescriptorProto]]:
    return [
        (pkg, svc, m)
        for pkg, svc, m in _methods()
        if m.options.Extensions[options_pb2.access].household_field
    ]


def _admin_routes() -> list[tuple[str, str, descriptor_pb2.MethodDescriptorProto]]:
    return [
        (pkg, svc, m)
        for pkg, svc, m in _methods()
        if m.options.Extensions[options_pb2.access].level == options_pb2.ACCESS_LEVEL_ADMIN
    ]


def _http(method: descriptor_pb2.MethodDescriptorProto, household: str) -> tuple[str, str]:
    rule = method.options.Extensions[annotations_pb2.http]
    verb = rule.WhichOneof("pattern")
    path = getattr(rule, verb)
    path = path.replace("{household_id}", household).replace("{month}", "2026-01")
    path = re.sub(r"\{[^}]+\}", "1", path)
    return verb.upper(), path


def test_the_enumeration_covers_every_household_scoped_rpc() -> None:
    names = {m.name for _, _, m in _household_routes()}
    assert {
        "ListReadings",
        "GetHouseholdSummary",
        "StreamReadings",
        "PredictHousehold",
        "GetInvoice",
        "VerifyInvoice",
    } <= names


@pytest.mark.parametrize("kind", BAD_TOKEN_KINDS)
def test_bad_tokens_are_401_at_envoy_and_unauthenticated_natively(
    stack: Stack, real_key_factory: TokenFactory, kind: str
) -> None:
    token = real_key_factory.bad(subject="household-0001", role="user", households=[OWN])[kind]
    status, body = stack.api("GET", "/api/v1/ledger/head", token=token)
    assert status == 401, (kind, status, body)
    ledger = ledger_service_pb2_grpc.LedgerServiceStub(stack.channel("ledger"))
    with pytest.raises(grpc.RpcError) as info:
        ledger.GetSignedHead(
            ledger_service_pb2.GetSignedHeadRequest(),
            metadata=[("authorization", f"Bearer {token}")],
            timeout=10,
        )
    assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED, kind


def test_a_forged_token_with_the_real_key_is_accepted_control(
    stack: Stack, real_key_factory: TokenFactory
) -> None:
    """Control for the test above: the same factory's good token passes, so each refusal is about its flaw."""
    token = real_key_factory.token(subject="household-0001", role="user", households=[OWN])
    status, body = stack.api("GET", "/api/v1/ledger/head", token=token)
    assert status == 200, body


@pytest.mark.parametrize("rpc", _household_routes(), ids=lambda r: f"{r[1]}.{r[2].name}")
def test_a_user_cannot_touch_another_household(stack: Stack, user_token: str, rpc: tuple) -> None:
    package, service, method = rpc
    verb, path = _http(method, OTHER)
    status, body = stack.api(verb, path, body={} if verb == "POST" else None, token=user_token, timeout=10)
    assert status == 403, (path, status, body)
    # Natively, straight to the service, bypassing Envoy.
    module = importlib.import_module(f"{package}.{_file_stem(package, service)}_pb2")
    grpc_module = importlib.import_module(f"{package}.{_file_stem(package, service)}_pb2_grpc")
    request = getattr(module, method.input_type.rsplit(".", 1)[1])(household_id=OTHER)
    stub = getattr(grpc_module, f"{service}Stub")(stack.channel(CLUSTER[package.split(".")[1]]))
    call = getattr(stub, method.name)
    with pytest.raises(grpc.RpcError) as info:
        reply = call(request, metadata=[("authorization", f"Bearer {user_token}")], timeout=10)
        if method.server_streaming:
            next(iter(reply))
    assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED, method.name


@pytest.mark.parametrize("rpc", _admin_routes(), ids=lambda r: f"{r[1]}.{r[2].name}")
def test_a_user_cannot_call_admin_rpcs(stack: Stack, user_token: str, rpc: tuple) -> None:
    _, _, method = rpc
    verb, path = _http(method, OWN)
    status, body = stack.api(verb, path, body={} if verb == "POST" else None, token=user_token, timeout=10)
    assert status == 403, (path, status, body)


def _file_stem(package: str, service: str) -> str:
    # energypulse.ledger.v1 + LedgerService -> ledger_service (each service's proto file is named after it)
    return re.sub(r"(?<!^)(?=[A-Z])", "_", service).lower()


def test_brute_force_is_429(stack: Stack) -> None:
    statuses = [
        stack.api("POST", "/api/v1/auth/login", {"username": "household-0003", "password": f"guess-{i}"})[0]
        for i in range(8)
    ]
    assert statuses[0] == 401
    assert statuses[-1] == 429, statuses
