"""Roles and access rules, both from the contract's generated enums.

The role of a principal is ``energypulse.auth.v1.Role``; tokens and the account store spell it in
lower case without the prefix (``ROLE_ADMIN`` -> ``"admin"``). The rule of each RPC is its
``(energypulse.options.v1.access)`` method option.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypeAlias

from google.protobuf.descriptor import ServiceDescriptor

from energypulse.auth.v1 import user_pb2
from energypulse.options.v1 import options_pb2

__all__ = [
    "PUBLIC_SERVICES",
    "AccessLevel",
    "AccessRule",
    "Role",
    "parse_role",
    "role_name",
    "rules_from_services",
]

Role: TypeAlias = user_pb2.Role.ValueType
AccessLevel: TypeAlias = options_pb2.AccessLevel.ValueType
_PREFIX = "ROLE_"
# Reachable without a token: health checks and reflection (grpcurl list/describe).
PUBLIC_SERVICES = (
    "grpc.health.v1.Health",
    "grpc.reflection.v1alpha.ServerReflection",
    "grpc.reflection.v1.ServerReflection",
)


def role_name(role: Role) -> str:
    """The spelling in tokens and in the account store: ``ROLE_ADMIN`` -> ``"admin"``."""
    if role == user_pb2.ROLE_UNSPECIFIED:
        raise ValueError("ROLE_UNSPECIFIED has no name")
    return user_pb2.Role.Name(role).removeprefix(_PREFIX).lower()


def parse_role(name: str) -> Role:
    """The role spelled ``name`` (``"admin"``); ValueError for anything else."""
    if not name or name != name.lower() or name == "unspecified":
        raise ValueError(f"not a role: {name!r}")
    return user_pb2.Role.Value(_PREFIX + name.upper())


@dataclass(frozen=True)
class AccessRule:
    level: AccessLevel
    household_field: str = ""

    def allows(self, role: Role) -> bool:
        if self.level == options_pb2.ACCESS_LEVEL_AUTHENTICATED:
            return True
        if self.level == options_pb2.ACCESS_LEVEL_ADMIN:
            return role == user_pb2.ROLE_ADMIN
        if self.level == options_pb2.ACCESS_LEVEL_SERVICE:
            return role in (user_pb2.ROLE_ADMIN, user_pb2.ROLE_SERVICE)
        if self.level == options_pb2.ACCESS_LEVEL_SERVICE_ONLY:
            return role == user_pb2.ROLE_SERVICE
        return False


UNDECLARED = AccessRule(options_pb2.ACCESS_LEVEL_UNSPECIFIED)


def rules_from_services(services: Iterable[ServiceDescriptor]) -> dict[str, AccessRule]:
    """``/pkg.Service/Method`` -> rule, read from each method's ``access`` option.

    A client-streaming method is refused (ValueError at start-up): the interceptor has no path for
    it (see common.auth.interceptor).
    """
    rules: dict[str, AccessRule] = {}
    for service in services:
        for method in service.methods:
            if method.client_streaming:
                # common.auth.interceptor checks one request message; a stream needs every one checked.
                raise ValueError(f"{method.full_name}: client-streaming RPCs are not supported yet")
            options = method.GetOptions()
            rule = UNDECLARED
            if options.HasExtension(options_pb2.access):
                declared = options.Extensions[options_pb2.access]
                rule = AccessRule(declared.level, declared.household_field)
                if rule.household_field and rule.household_field not in method.input_type.fields_by_name:
                    raise ValueError(
                        f"{method.full_name}: household_field {rule.household_field!r} is not a "
                        f"field of {method.input_type.full_name}"
                    )
            rules[f"/{service.full_name}/{method.name}"] = rule
    return rules
