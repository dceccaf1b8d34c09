"""common.auth.caller: the verified principal of the running RPC."""

from __future__ import annotations

import grpc
import pytest

from common.auth.caller import Caller, acting_as, caller, current_caller
from common.errors import EnergyPulseError
from energypulse.auth.v1 import user_pb2


def test_caller_household_rules() -> None:
    user = Caller("u", user_pb2.ROLE_USER, frozenset({"h1"}))
    assert user.may_access_household("h1")
    assert not user.may_access_household("h2")
    assert not user.may_access_household("")
    assert Caller("a", user_pb2.ROLE_ADMIN).may_access_household("h2")
    assert Caller("s", user_pb2.ROLE_SERVICE).may_access_household("h2")


def test_caller_outside_an_rpc_is_unauthenticated() -> None:
    with pytest.raises(EnergyPulseError) as raised:
        caller(None)
    assert raised.value.code is grpc.StatusCode.UNAUTHENTICATED


def test_acting_as_binds_the_caller_for_the_block_only() -> None:
    who = Caller("u", user_pb2.ROLE_USER)
    with acting_as(who):
        assert caller() is who and current_caller() is who
    assert current_caller() is None
