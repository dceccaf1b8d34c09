"""Failed-login limiting per account and per client address.

Failures are counted in a sliding window; once a key reaches its limit every login attempt on it
is refused (RESOURCE_EXHAUSTED) until old failures leave the window. Unknown usernames are
counted like real ones so the limiter does not reveal which accounts exist. A successful login
clears the account's failures but not the client's, so one valid account cannot be used to reset
a guessing client's budget.

State is in memory, per replica: with N auth_svc replicas an attacker gets at most N times the
budget; the window keeps that bounded. (Trade-off: an attacker can lock a known account for one
window; the client-address limit is what stops broad guessing.)
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

__all__ = ["FailureLimiter", "LoginLimiter"]


class FailureLimiter:
    def __init__(
        self,
        limit: int,
        window_s: float,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
    ) -> None:
        self._limit = limit
        self._window_s = window_s
        self._clock = clock
        self._max_keys = max_keys
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _prune(self, key: str, now: float) -> deque[float] | None:
        failures = self._failures.get(key)
        if failures is None:
            return None
        while failures and failures[0] <= now - self._window_s:
            failures.popleft()
        if not failures:
            del self._failures[key]
            return None
        return failures

    def blocked(self, key: str) -> bool:
        with self._lock:
            failures = self._prune(key, self._clock())
            return failures is not None and len(failures) >= self._limit

    def record_failure(self, key: str) -> None:
        with self._lock:
            now = self._clock()
            if len(self._failures) >= self._max_keys:
                # Bound memory under a spray of distinct keys: drop keys whose failures expired.
                for stale in [k for k, v in self._failures.items() if v[-1] <= now - self._window_s]:
                    del self._failures[stale]
            self._failures.setdefault(key, deque()).append(now)

    def clear(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)


class LoginLimiter:
    def __init__(
        self,
        account_limit: int,
        client_limit: int,
        window_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.accounts = FailureLimiter(account_limit, window_s, clock)
        self.clients = FailureLimiter(client_limit, window_s, clock)

    @staticmethod
    def _account_key(username: str) -> str:
        return username.strip().lower()

    def blocked(self, username: str, client: str) -> bool:
        return self.accounts.blocked(self._account_key(username)) or (
            bool(client) and self.clients.blocked(client)
        )

    def record_failure(self, username: str, client: str) -> None:
        self.accounts.record_failure(self._account_key(username))
        if client:
            self.clients.record_failure(client)

    def record_success(self, username: str) -> None:
        self.accounts.clear(self._account_key(username))
