"""Property-based fuzzing of every route, built from the descriptor set (not from a hand list):

* JSON through Envoy: for every RPC with an HTTP rule, at least ``EXAMPLES`` requests whose path
  ids, query parameters and bodies are drawn from the request message's fields with hostile
  values (invalid UTF-8 as percent escapes, numbers past int64, negative sizes, months and dates
  out of range, forged page tokens that decode, unknown fields, non-JSON bodies, wrong types);
* native gRPC straight to each service: at least ``EXAMPLES`` malformed protobuf messages per RPC
  (random bytes, truncated and mutated valid encodings, invalid UTF-8 in string fields).

The property: never a 5xx (every service is up, so not even 503) and never INTERNAL/UNKNOWN;
every error is a google.rpc.Status with exactly one ErrorInfo reason from the registry.
One shared stack (tests/e2e/conftest.py); derandomized, so a failure reproduces.
"""

from __future__ import annotations

import base64
import json
import re
import string
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
import requests
from google.api import annotations_pb2
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from devstack.stack import Stack
from energypulse.errors.v1 import error_reason_pb2

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = 200  # per route and per native RPC
# Left out of the JSON fuzzing, and why (their native gRPC fuzzing runs: malformed bytes never
# reach the handler).
SKIP_JSON = {
    "RotateSigningKey": "rotates the edge's signing key under the other e2e tests",
    "ReloadModel": "retrains models (minutes of CPU on this machine)",
    "EvaluateAlerts": "runs an alert round over every household the fuzzer gave rules (upstream calls each)",
}
KNOWN_USERS = {"admin", "ingest", "meter_sim"}  # never guessed at: the throttle would slow them
CLUSTER = {
    "auth": "auth",
    "prediction": "predict",
    "ledger": "ledger",
    "telemetry": "ingest",
    "alert": "alert",
    "ops": "auth",  # OpsService is served by auth_svc (envoy/routes.yaml)
}
BAD_SERVER_CODES = {grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN, grpc.StatusCode.DATA_LOSS}


@dataclass(frozen=True)
class Route:
    package: str
    service: str
    method: str
    http_method: str
    template: str
    body: str
    request: Descriptor
    server_streaming: bool

    @property
    def grpc_path(self) -> str:
        return f"/{self.package}.{self.service}/{self.method}"

    @property
    def path_fields(self) -> list[str]:
        return re.findall(r"\{([^}=]+)", self.template)


def _routes() -> list[Route]:
    fds = descriptor_pb2.FileDescriptorSet.FromString((ROOT / "build" / "energypulse.pb").read_bytes())
    pool = descriptor_pool.DescriptorPool()
    for file in fds.file:
        pool.Add(file)
    message_factory.GetMessageClassesForFiles([f.name for f in fds.file], pool)
    routes = []
    for file in fds.file:
        if not file.package.startswith("energypulse.") or not file.service:
            continue
        for service in file.service:
            for method in service.method:
                rule = method.options.Extensions[annotations_pb2.http]
                pattern = rule.WhichOneof("pattern")
                assert pattern is not None
                routes.append(
                    Route(
                        file.package,
                        service.name,
                        method.name,
                        pattern.upper(),
                        getattr(rule, pattern),
                        rule.body,
                        pool.FindMessageTypeByName(method.input_type.lstrip(".")),
                        method.server_streaming,
                    )
                )
    return routes


ROUTES = _routes()


# --- hostile values --------------------------------------------------------------------------


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


forged_tokens = st.one_of(
    st.just("eyJrIjogImhvdXNlaG9sZHMiLCAibyI6ICJhYmMifQ"),  # the token: "o" is not a number
    st.builds(
        lambda k, o: _b64(json.dumps({"k": k, "o": o}).encode()),
        st.text(max_size=20),
        st.one_of(
            st.integers(min_value=-(2**80), max_value=2**80),
            st.text(max_size=10),
            st.none(),
            st.lists(st.integers(), max_size=3),
        ),
    ),
    st.builds(lambda raw: _b64(raw), st.binary(max_size=40)),
    st.text(alphabet=string.ascii_letters + string.digits + "-_=.%", max_size=60),
)
invalid_utf8 = st.sampled_from(["%FF", "%C0%AF", "%ED%A0%80", "%F8%88%80%80%80", "a%FFb", "%E2%82", "%00"])
months = st.one_of(
    st.sampled_from(["9999-12", "0000-01", "2024-13", "2024-00", "1969-12", "-001-01", "99999-01", "2024-1"]),
    st.builds(lambda y, m: f"{y:04d}-{m:02d}", st.integers(0, 99999), st.integers(0, 99)),
)
dates = st.one_of(
    st.sampled_from(
        [
            "9999-12-31T23:59:60Z",
            "0000-01-01T00:00:00Z",
            "0001-01-01T00:00:00Z",
            "2024-02-30T00:00:00Z",
            "10000-01-01T00:00:00Z",
            "1970-01-01T00:00:00+25:00",
            "yesterday",
            "",
            "2024-06-01",
        ]
    ),
    st.datetimes().map(lambda d: d.isoformat() + "Z"),
)
big_numbers = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([2**31, -(2**31) - 1, 2**63, -(2**63) - 1, 2**64, 10**30]),
)
numbers_as_text = st.one_of(
    big_numbers.map(str), st.sampled_from(["abc", "1e400", "NaN", "-", "0x10", "1.5", ""])
)
texts = st.one_of(
    st.text(max_size=80),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=60, max_size=300),
    st.sampled_from(
        ["sim-h000000", "NO1", "NO9", "household-0001", "../../etc/passwd", "*", "#", "a/b", " "]
    ),
)


def _scalar(field: FieldDescriptor) -> st.SearchStrategy[Any]:
    name = field.name
    if "page_token" in name:
        return forged_tokens
    if "month" in name:
        return months
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        if field.message_type.full_name == "google.protobuf.Timestamp":
            return st.one_of(dates, big_numbers)
        return st.one_of(
            st.dictionaries(st.text(max_size=10), st.integers() | st.text(max_size=10), max_size=3), texts
        )
    if field.type in (FieldDescriptor.TYPE_BOOL,):
        return st.one_of(st.booleans(), st.sampled_from(["maybe", 2, None]))
    if field.type == FieldDescriptor.TYPE_ENUM:
        values = [v.name for v in field.enum_type.values]
        return st.one_of(st.sampled_from(values), big_numbers, st.text(max_size=12))
    if field.type in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        return st.one_of(
            st.floats(allow_nan=False, allow_infinity=False),
            big_numbers,
            st.sampled_from(["NaN", "Infinity", "x"]),
        )
    if field.type == FieldDescriptor.TYPE_BYTES:
        return st.one_of(st.binary(max_size=40).map(lambda b: base64.b64encode(b).decode()), texts)
    if field.type == FieldDescriptor.TYPE_STRING:
        return texts
    return st.one_of(big_numbers, numbers_as_text)  # every integer type


def _path_value(field: FieldDescriptor | None) -> st.SearchStrategy[str]:
    plain = (_scalar(field) if field is not None else texts).map(
        lambda v: urllib.parse.quote(str(v), safe="")
    )
    return st.one_of(plain, invalid_utf8, st.builds(lambda a, b: a + b, invalid_utf8, plain))


@dataclass
class Request:
    method: str
    path: str
    query: list[tuple[str, str]]
    body: bytes | None


def _json_name(field: FieldDescriptor) -> str:
    return str(field.json_name)


def request_strategy(route: Route) -> st.SearchStrategy[Request]:
    fields = {f.name: f for f in route.request.fields}
    in_path = set(route.path_fields)
    rest = [f for name, f in fields.items() if name not in in_path]

    @st.composite
    def build(draw: Callable[[st.SearchStrategy[Any]], Any]) -> Request:
        path = route.template
        for name in route.path_fields:
            start = path.index("{" + name)
            end = path.index("}", start)  # the whole {name} or {name=pattern}
            path = path[:start] + draw(_path_value(fields.get(name.split(".")[0]))) + path[end + 1 :]
        query: list[tuple[str, str]] = []
        body: bytes | None = None
        if route.body:
            choice = draw(st.integers(0, 9))
            if choice == 0:
                body = draw(st.binary(max_size=200))  # not JSON at all
            elif choice == 1:
                body = json.dumps(
                    draw(st.one_of(st.lists(st.integers(), max_size=3), texts, big_numbers))
                ).encode()
            else:
                chosen = (
                    draw(st.lists(st.sampled_from(rest), unique=True, max_size=len(rest))) if rest else []
                )
                payload: dict[str, Any] = {}
                for field in chosen:
                    value = draw(_scalar(field))
                    if field.is_repeated and draw(st.booleans()):
                        value = [value]
                    payload[_json_name(field)] = value
                if draw(st.integers(0, 4)) == 0:
                    payload[draw(st.text(min_size=1, max_size=12))] = draw(texts)  # unknown field
                username = payload.get("username")
                if isinstance(username, str) and username.strip().lower() in KNOWN_USERS:
                    payload["username"] = username + "-fuzz"
                body = json.dumps(payload).encode()
        else:
            chosen = draw(st.lists(st.sampled_from(rest), unique=True, max_size=len(rest))) if rest else []
            for field in chosen:
                if (
                    field.type == FieldDescriptor.TYPE_MESSAGE
                    and field.message_type.full_name != "google.protobuf.Timestamp"
                ):
                    continue
                query.append((_json_name(field), str(draw(_scalar(field)))))
            if draw(st.integers(0, 5)) == 0:
                query.append((draw(st.text(alphabet=string.ascii_letters, min_size=1, max_size=8)), "1"))
        return Request(route.http_method, path, query, body)

    return build()


def _error_problem(status: int, payload: bytes) -> str | None:
    """None if this is an acceptable answer, else what is wrong with it."""
    if status >= 500:
        return f"{status}"
    if status < 400:
        return None
    try:
        body = json.loads(payload)
    except ValueError:
        return f"{status} with a non-JSON body"
    infos = [d for d in body.get("details", []) if str(d.get("@type", "")).endswith("google.rpc.ErrorInfo")]
    if len(infos) != 1:
        return f"{status} without exactly one ErrorInfo"
    if infos[0].get("reason") not in error_reason_pb2.ErrorReason.keys():
        return f"{status} with unregistered reason {infos[0].get('reason')!r}"
    return None


def test_every_route_answers_hostile_json_with_a_4xx_and_a_reason(stack: Stack) -> None:
    token = stack.login("admin", "admin-demo")
    session = requests.Session()
    failures: list[str] = []
    sent: dict[str, int] = {}

    def prober(route: Route) -> Callable[[], None]:
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(request=request_strategy(route), authorized=st.integers(0, 9))
        def probe(request: Request, authorized: int) -> None:
            sent[route.method] = sent.get(route.method, 0) + 1
            headers = {"content-type": "application/json"}
            if authorized:
                headers["authorization"] = f"Bearer {token}"
            url = stack.base_url + request.path
            if request.query:
                url += "?" + urllib.parse.urlencode(request.query)
            response = session.request(request.method, url, data=request.body, headers=headers, timeout=20)
            problem = _error_problem(response.status_code, response.content)
            if problem:
                failures.append(
                    f"{route.method}: {problem}: {request.method} {url[:200]} body={request.body!r:.200} -> {response.text[:200]!r}"
                )

        return probe

    for route in ROUTES:
        if route.method not in SKIP_JSON and not route.server_streaming:
            prober(route)()
    print(f"JSON fuzzing: {sum(sent.values())} requests over {len(sent)} routes")
    assert min(sent.values()) >= EXAMPLES
    assert not failures, f"{len(failures)} bad answers:\n" + "\n".join(sorted(set(failures))[:30])


# --- native gRPC with malformed protobuf bytes --------------------------------------------------


def _mutations(route: Route) -> st.SearchStrategy[bytes]:
    """Malformed or hostile encodings of the request message."""
    cls = message_factory.GetMessageClass(route.request)
    strings = [f for f in route.request.fields if f.type == FieldDescriptor.TYPE_STRING]

    def valid_with_bad_utf8(raw: bytes) -> bytes:
        if not strings:
            return raw
        field = strings[0]
        payload = b"\xff\xfe" + raw[:10]
        return bytes([field.number << 3 | 2, len(payload)]) + payload

    def truncated(message_bytes: bytes, cut: int) -> bytes:
        return message_bytes[: max(0, len(message_bytes) - 1 - cut)]

    sample = cls()
    for field in route.request.fields:
        if not field.is_repeated and field.type == FieldDescriptor.TYPE_STRING:
            setattr(sample, field.name, "x" * 20)
    encoded = sample.SerializeToString()
    return st.one_of(
        st.binary(max_size=300),
        st.binary(max_size=40).map(valid_with_bad_utf8),
        st.integers(0, 20).map(lambda cut: truncated(encoded, cut)),
        st.binary(min_size=1, max_size=8).map(lambda tail: encoded + tail),
        st.sampled_from(
            [
                b"\x08",
                b"\x0a\xff\xff\xff\xff\x0f",
                b"\x0a\x05ab",
                b"\xff" * 12,
                b"\x0f",
                b"\x12\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01",
            ]
        ),
    )


def _grpc_problem(error: grpc.RpcError) -> str | None:
    assert isinstance(error, grpc.Call)
    code = error.code()
    if code in BAD_SERVER_CODES or code == grpc.StatusCode.UNAVAILABLE:
        return f"{code.name}: {error.details()}"
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return None  # a stream that parsed and stayed open
    status = rpc_status.from_call(error)
    if status is None:
        return f"{code.name} without google.rpc.Status details"
    reasons = []
    for detail in status.details:
        info = error_details_pb2.ErrorInfo()
        if detail.Unpack(info):
            reasons.append(info.reason)
    if len(reasons) != 1 or reasons[0] not in error_reason_pb2.ErrorReason.keys():
        return f"{code.name} with reasons {reasons}"
    return None


def test_every_native_rpc_answers_malformed_protobuf_with_a_reason(stack: Stack) -> None:
    token = stack.login("admin", "admin-demo")
    metadata = (("authorization", f"Bearer {token}"),)
    channels = {name: grpc.insecure_channel(stack.target(name)) for name in set(CLUSTER.values())}
    failures: list[str] = []
    sent: dict[str, int] = {}
    try:

        def prober(route: Route, channel: grpc.Channel) -> Callable[[], None]:
            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                database=None,
                derandomize=True,
                phases=[Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(raw=_mutations(route))
            def probe(raw: bytes) -> None:
                sent[route.method] = sent.get(route.method, 0) + 1
                if route.method in SKIP_JSON:
                    raw = b"\xff" + raw  # never a valid request: these must not run
                try:
                    if route.server_streaming:
                        call = channel.unary_stream(route.grpc_path)(raw, metadata=metadata, timeout=1)
                        for _ in call:
                            break
                        call.cancel()
                    else:
                        channel.unary_unary(route.grpc_path)(raw, metadata=metadata, timeout=10)
                except grpc.RpcError as error:
                    if isinstance(error, grpc.Call) and error.code() == grpc.StatusCode.CANCELLED:
                        return
                    problem = _grpc_problem(error)
                    if problem:
                        failures.append(f"{route.grpc_path}: {problem}: {raw[:60]!r}")

            return probe

        for route in ROUTES:
            prober(route, channels[CLUSTER[route.package.split(".")[1]]])()
    finally:
        for channel in channels.values():
            channel.close()
    print(f"native gRPC fuzzing: {sum(sent.values())} calls over {len(sent)} RPCs")
    assert min(sent.values()) >= EXAMPLES
    assert not failures, f"{len(failures)} bad answers:\n" + "\n".join(sorted(set(failures))[:30])


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.method)
def test_the_route_list_comes_from_the_descriptor(route: Route) -> None:
    assert route.template.startswith("/api/v1/") and route.request.full_name.startswith("energypulse.")
