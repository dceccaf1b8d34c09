"""Sign-in throttling that slows guessing without locking the real owner out.

Three counters of failed sign-ins, each forgotten after a quiet ``window_s``:

* per (account, client address): the attacker's own lane. After ``pair_free`` failures every
  further attempt from that address on that account waits an exponentially growing delay
  (``base_delay_s * 2**(n - pair_free)``, at most ``max_delay_s``). The owner signs in from
  another address and is not slowed at all;
* per client address, across accounts (``client_free``): one address spraying many accounts;
* per account, across addresses (``account_free``, much larger): a distributed attack on one
  account. Only this one can slow the owner, and only when many addresses guess at once.

A throttled attempt is refused (RESOURCE_EXHAUSTED ``LOGIN_RATE_LIMITED``, with the seconds to
wait) before any password hashing: argon2id at 64 MiB per attempt is never the attacker's lever.
A refused attempt is not counted, so waiting out the delay is always enough. A successful sign-in
clears its pair and account counters, never the client's.

The counters live in the auth database (``auth_login_throttle``), so every auth_svc replica sees
the same ones; each replica also remembers locally until when a key is refused, so a flood of
refused attempts costs no database round trip. Unknown usernames are counted like real ones
(the limiter does not reveal which accounts exist). Service accounts never reach this limiter:
they sign in with their client secret (``Accounts.login``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

__all__ = ["LoginThrottle", "ThrottlePolicy", "ThrottleStore", "Throttled", "account_key"]


class ThrottleStore(Protocol):
    """Where the counters live (auth_svc.store.Store: one table shared by the replicas)."""

    def throttle_counts(self, keys: Sequence[str], since: float) -> Mapping[str, tuple[int, float]]:
        """key -> (failures, last failure time) for keys whose last failure is after ``since``."""
        ...

    def add_throttle_failure(self, keys: Sequence[str], now: float, stale_before: float) -> None:
        """Count one failure on each key (a key last failed before ``stale_before`` restarts at 1)."""
        ...

    def clear_throttle(self, keys: Sequence[str]) -> None: ...


@dataclass(frozen=True)
class ThrottlePolicy:
    pair_free: int = 3
    client_free: int = 20
    account_free: int = 100
    base_delay_s: float = 1.0
    max_delay_s: float = 900.0
    window_s: float = 900.0

    def delay_s(self, failures: int, free: int) -> float:
        """How long after the last failure the next attempt must wait."""
        if failures < free:
            return 0.0
        return float(min(self.base_delay_s * 2 ** min(failures - free, 30), self.max_delay_s))


@dataclass(frozen=True)
class Throttled:
    retry_after_s: float
    # What is refused and for how long, for the edge's memo (envoy/edge_policy.py login guard):
    # "client" (the address, every account), "pair" (this account from this address), "account"
    # (this account from every address: the edge remembers only this address's pair).
    scopes: tuple[tuple[str, float], ...] = ()

    def edge_hint(self) -> str:
        """``client=1.5,pair=30.25``: seconds to refuse, per scope."""
        return ",".join(f"{scope}={seconds:.3f}" for scope, seconds in self.scopes)


_SCOPES = {"a": "account", "p": "pair", "c": "client"}
_ASCII_SPACE = " \t\n\r\x0b\x0c"
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def account_key(username: str) -> str:
    """The account part of a throttle key: ASCII whitespace stripped, ASCII letters lowered, at
    most 64 bytes of UTF-8. ASCII only, so the edge (Lua, byte strings) forms the same key from
    the same name: a Unicode case or space variant is another key at both, never one that the
    edge treats as new while auth_svc treats it as known."""
    raw = username.strip(_ASCII_SPACE).translate(_ASCII_LOWER).encode("utf-8", "surrogatepass")[:64]
    return raw.decode("utf-8", "replace")


def _throttled(until: Mapping[str, float], now: float) -> Throttled | None:
    """The longest wait among the keys refused at ``now``, and each refused key's scope."""
    live = {key: t for key, t in until.items() if t > now}
    if not live:
        return None
    scopes = tuple(sorted((_SCOPES[key[0]], t - now) for key, t in live.items()))
    return Throttled(max(live.values()) - now, scopes)


class LoginThrottle:
    def __init__(
        self,
        store: ThrottleStore,
        policy: ThrottlePolicy,
        clock: Callable[[], float] = time.time,
        max_memo: int = 100_000,
    ) -> None:
        self._store = store
        self.policy = policy
        self._clock = clock
        self._max_memo = max_memo
        self._refused_until: dict[str, float] = {}
        self._lock = threading.Lock()

    def _keys(self, username: str, client: str) -> dict[str, int]:
        """Counter key -> its free failures."""
        account = account_key(username)
        keys = {f"a:{account}": self.policy.account_free}
        if client:
            keys[f"p:{account}|{client}"] = self.policy.pair_free
            keys[f"c:{client}"] = self.policy.client_free
        return keys

    def remembered(self, username: str, client: str) -> Throttled | None:
        """The local memo alone (no database): cheap enough for the event loop."""
        now = self._clock()
        with self._lock:
            until = {k: self._refused_until.get(k, 0.0) for k in self._keys(username, client)}
        return _throttled(until, now)

    def check(self, username: str, client: str) -> Throttled | None:
        """None if this attempt may go ahead, else how long to wait. Never hashes anything."""
        remembered = self.remembered(username, client)
        if remembered is not None:
            return remembered
        now = self._clock()
        keys = self._keys(username, client)
        counts = self._store.throttle_counts(list(keys), now - self.policy.window_s)
        refused: dict[str, float] = {}
        for key, (failures, last) in counts.items():
            until = last + self.policy.delay_s(failures, keys[key])
            if until > now:
                refused[key] = until
                self._remember(key, until, now)
        return _throttled(refused, now)

    def _remember(self, key: str, until: float, now: float) -> None:
        with self._lock:
            if len(self._refused_until) >= self._max_memo:
                for stale in [k for k, t in self._refused_until.items() if t <= now]:
                    del self._refused_until[stale]
            if len(self._refused_until) < self._max_memo:
                self._refused_until[key] = max(until, self._refused_until.get(key, 0.0))

    def record_failure(self, username: str, client: str) -> None:
        now = self._clock()
        self._store.add_throttle_failure(list(self._keys(username, client)), now, now - self.policy.window_s)

    def record_success(self, username: str, client: str) -> None:
        keys = [k for k in self._keys(username, client) if not k.startswith("c:")]
        self._store.clear_throttle(keys)
        with self._lock:
            for key in keys:
                self._refused_until.pop(key, None)
