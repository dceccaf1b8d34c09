"""common.auth.access: rules come from the contract, roles from the generated enum."""

from __future__ import annotations

import pytest
from google.protobuf import descriptor_pb2, descriptor_pool

from common.auth.access import AccessRule, parse_role, role_name, rules_from_services
from energypulse.auth.v1 import auth_service_pb2, user_pb2
from energypulse.options.v1 import options_pb2
from energypulse.telemetry.v1 import telemetry_service_pb2 as tpb


def test_rules_are_read_from_the_contract() -> None:
    telemetry = tpb.DESCRIPTOR.services_by_name["TelemetryService"]
    auth = auth_service_pb2.DESCRIPTOR.services_by_name["AuthService"]
    rules = rules_from_services([telemetry, auth])
    summary = rules["/energypulse.telemetry.v1.TelemetryService/GetHouseholdSummary"]
    assert summary.level == options_pb2.ACCESS_LEVEL_AUTHENTICATED
    assert summary.household_field == "household_id"
    assert (
        rules["/energypulse.telemetry.v1.TelemetryService/GetGridStats"].level
        == options_pb2.ACCESS_LEVEL_ADMIN
    )
    assert rules["/energypulse.auth.v1.AuthService/Login"].level == options_pb2.ACCESS_LEVEL_PUBLIC
    assert rules["/energypulse.auth.v1.AuthService/ListUsers"].level == options_pb2.ACCESS_LEVEL_ADMIN


def test_role_names_are_the_generated_enum_in_the_spelling_of_tokens() -> None:
    assert [role_name(r) for r in (user_pb2.ROLE_USER, user_pb2.ROLE_ADMIN, user_pb2.ROLE_SERVICE)] == [
        "user",
        "admin",
        "service",
    ]
    assert all(parse_role(role_name(r)) == r for r in (user_pb2.ROLE_USER, user_pb2.ROLE_ADMIN))
    for bad in ("", "unspecified", "ADMIN", "ROLE_ADMIN", "root"):
        with pytest.raises(ValueError):
            parse_role(bad)
    with pytest.raises(ValueError):
        role_name(user_pb2.ROLE_UNSPECIFIED)


def test_access_levels_allow_the_roles_they_name() -> None:
    allowed = {
        level: [role_name(r) for r in (1, 2, 3) if AccessRule(level).allows(user_pb2.Role.ValueType(r))]
        for level in options_pb2.AccessLevel.values()
    }
    assert allowed == {
        options_pb2.ACCESS_LEVEL_UNSPECIFIED: [],
        options_pb2.ACCESS_LEVEL_PUBLIC: [],  # PUBLIC RPCs are admitted before any rule check
        options_pb2.ACCESS_LEVEL_AUTHENTICATED: ["user", "admin", "service"],
        options_pb2.ACCESS_LEVEL_ADMIN: ["admin"],
        options_pb2.ACCESS_LEVEL_SERVICE: ["admin", "service"],
        options_pb2.ACCESS_LEVEL_SERVICE_ONLY: ["service"],
    }


def test_a_client_streaming_method_is_refused_at_start_up() -> None:
    file = descriptor_pb2.FileDescriptorProto(
        name="probe_streaming.proto",
        package="probe.v1",
        message_type=[descriptor_pb2.DescriptorProto(name="M")],
        service=[
            descriptor_pb2.ServiceDescriptorProto(
                name="ProbeService",
                method=[
                    descriptor_pb2.MethodDescriptorProto(
                        name="Upload",
                        input_type=".probe.v1.M",
                        output_type=".probe.v1.M",
                        client_streaming=True,
                    )
                ],
            )
        ],
    )
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    with pytest.raises(ValueError, match="client-streaming"):
        rules_from_services([pool.FindServiceByName("probe.v1.ProbeService")])
