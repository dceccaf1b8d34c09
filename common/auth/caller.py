"""The verified principal of the RPC being handled, for servicers.

The interceptor binds it (:func:`acting_as`) in a context variable scoped to the RPC's task;
servicers read it with :func:`caller`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from common.auth.access import Role
from common.errors import PermissionDenied, Unauthenticated
from energypulse.auth.v1 import user_pb2
from energypulse.errors.v1 import error_reason_pb2 as reasons

__all__ = ["Caller", "acting_as", "caller", "current_caller"]


@dataclass(frozen=True)
class Caller:
    """The verified principal of the current RPC."""

    subject: str
    role: Role
    households: frozenset[str] = frozenset()
    token_id: str = ""
    # When the verifier stops accepting the token (its ``exp`` plus the verifier's clock-skew
    # leeway, seconds since the epoch); a stream admitted with it ends then (common.auth.interceptor).
    # 0: no expiry known (a caller built by hand in tests or tooling).
    valid_until: float = 0.0

    @property
    def is_admin(self) -> bool:
        return self.role == user_pb2.ROLE_ADMIN

    def may_access_household(self, household_id: str) -> bool:
        """Admins and service accounts act on any household, users on their own."""
        if self.role == user_pb2.ROLE_USER:
            return bool(household_id) and household_id in self.households
        return True

    def require_household(self, household_id: str) -> None:
        if not self.may_access_household(household_id):
            raise PermissionDenied(
                reasons.HOUSEHOLD_NOT_PERMITTED, "the caller may not act on this household"
            )


_CALLER: ContextVar[Caller | None] = ContextVar("energypulse_caller", default=None)


@contextmanager
def acting_as(who: Caller) -> Iterator[Caller]:
    """``who`` is the caller inside the block (the interceptor wraps each handler in one)."""
    token = _CALLER.set(who)
    try:
        yield who
    finally:
        _CALLER.reset(token)


def current_caller() -> Caller | None:
    """The caller of the RPC being handled, or None on a public RPC."""
    return _CALLER.get()


def caller(context: object | None = None) -> Caller:
    """The verified caller of the current RPC.

    ``context`` is accepted so servicers read naturally (``caller(context)``); the value comes
    from a context variable scoped to the RPC's task.
    """
    found = _CALLER.get()
    if found is None:
        raise Unauthenticated(reasons.AUTHENTICATION_REQUIRED, "this call needs a signed-in caller")
    return found
