"""Sliding-window failure limits per account and per client."""

from __future__ import annotations

from auth_svc.ratelimit import FailureLimiter, LoginLimiter
from tests.auth_svc.conftest import Clock


def test_window_slides() -> None:
    clock = Clock(0.0)
    limiter = FailureLimiter(limit=2, window_s=10, clock=clock)
    limiter.record_failure("k")
    clock.now = 5
    limiter.record_failure("k")
    assert limiter.blocked("k")
    clock.now = 10.5  # the first failure left the window
    assert not limiter.blocked("k")
    assert not limiter.blocked("other")


def test_success_clears_account_but_not_client() -> None:
    clock = Clock(0.0)
    limiter = LoginLimiter(account_limit=2, client_limit=3, window_s=60, clock=clock)
    limiter.record_failure("Alice", "10.0.0.1")
    limiter.record_failure("alice ", "10.0.0.1")  # same account, normalised
    assert limiter.blocked("ALICE", "10.9.9.9")
    limiter.record_success("alice")
    assert not limiter.blocked("alice", "10.9.9.9")
    limiter.record_failure("bob", "10.0.0.1")
    assert limiter.blocked("carol", "10.0.0.1")  # the client spent its budget
    assert not limiter.blocked("carol", "10.0.0.2")


def test_memory_is_bounded_under_key_spray() -> None:
    clock = Clock(0.0)
    limiter = FailureLimiter(limit=5, window_s=1, clock=clock, max_keys=100)
    for index in range(100):
        limiter.record_failure(f"k{index}")
    clock.now = 2
    limiter.record_failure("fresh")
    assert len(limiter._failures) == 1
