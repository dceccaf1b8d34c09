"""Sign-in under attack, through Envoy: an attacker sends failed sign-ins at a fixed rate against
one account from one client address while the account's owner signs in from another address.

Envoy trusts one proxy hop (EP_EDGE_TRUSTED_HOPS=1); the bench plays that proxy and names each
client in ``x-forwarded-for``. auth_svc runs with production argon2id cost (t=3, 64 MiB). Figures:
the owner's refusals (target 0) and p99 sign-in latency (target < 1 s), and the attacker's cost in
auth_svc CPU (target < 10 % of a core): auth_svc's CPU during the attack minus its CPU over an
owner-only phase of the same length.
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from bench.children import start_stack
from bench.report import Figure

ATTACK_RATE = 100.0  # failed sign-ins per second
OWNER_EVERY_S = 0.5
ATTACKER = "203.0.113.9"
OWNER = "198.51.100.7"


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _login(base: str, username: str, password: str, client: str) -> tuple[int, float, bool]:
    """(HTTP status, seconds, whether auth_svc answered: Envoy's own replies, the login guard's
    included, carry no x-envoy-upstream-service-time)."""
    body = json.dumps({"username": username, "password": password}).encode()
    request = urllib.request.Request(
        base + "/api/v1/auth/login",
        data=body,
        method="POST",
        headers={"content-type": "application/json", "x-forwarded-for": client},
    )
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()
            status, headers = response.status, response.headers
    except urllib.error.HTTPError as error:
        error.read()
        status, headers = error.code, error.headers
    return status, time.perf_counter() - started, "x-envoy-upstream-service-time" in headers


def _owner(base: str, seconds: float, out: list[tuple[int, float]]) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        out.append(_login(base, "household-0001", "demo", OWNER)[:2])
        time.sleep(OWNER_EVERY_S)


def _attacker(base: str, seconds: float, out: list[tuple[int, bool]]) -> None:
    start = time.monotonic()
    sent = 0
    while (now := time.monotonic()) - start < seconds:
        due = start + sent / ATTACK_RATE
        if due > now:
            time.sleep(due - now)
        status, _, upstream = _login(base, "household-0001", f"guess-{sent}", ATTACKER)
        out.append((status, upstream))
        sent += 1


def run(quick: bool = False) -> list[Figure]:
    seconds = 10.0 if quick else 30.0
    with tempfile.TemporaryDirectory() as tmp:
        stack = start_stack(
            Path(tmp),
            ["auth_svc", "envoy"],
            meters=3,
            timeout=90,
            extra_env={
                "EP_EDGE_TRUSTED_HOPS": "1",
                "EP_AUTH_ARGON2_TIME_COST": "3",
                "EP_AUTH_ARGON2_MEMORY_KIB": "65536",
            },
        )
        try:
            base = stack.base_url
            pid = stack.processes.procs["auth_svc"].pid
            _login(base, "household-0001", "demo", OWNER)  # warm up
            quiet: list[tuple[int, float]] = []
            cpu = _cpu_seconds(pid)
            _owner(base, seconds, quiet)
            owner_only_cpu = _cpu_seconds(pid) - cpu
            owner: list[tuple[int, float]] = []
            attacks: list[tuple[int, bool]] = []
            threads = [
                threading.Thread(target=_owner, args=(base, seconds, owner)),
                threading.Thread(target=_attacker, args=(base, seconds, attacks)),
            ]
            cpu = _cpu_seconds(pid)
            started = time.monotonic()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            elapsed = time.monotonic() - started
            attack_cpu = _cpu_seconds(pid) - cpu
        finally:
            stack.close()
    refused = sum(1 for status, _ in owner if status != 200)
    latencies = sorted(latency for _, latency in owner)
    p99 = latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))] * 1000
    cost = max(0.0, attack_cpu - owner_only_cpu * elapsed / seconds) / elapsed * 100
    achieved = len(attacks) / elapsed
    statuses = [status for status, _ in attacks]
    reached_throttled = sum(1 for status, upstream in attacks if status == 429 and upstream)
    how = (
        f"{seconds:.0f} s; attacker {achieved:.0f} failed sign-ins/s from {ATTACKER} "
        f"({statuses.count(401)} checked, {statuses.count(429)} throttled before hashing, of which "
        f"{reached_throttled} by auth_svc and the rest by the edge's login guard); owner every "
        f"{OWNER_EVERY_S} s from {OWNER} ({len(owner)} sign-ins); argon2id t=3, 64 MiB"
    )
    return [
        Figure(
            "Login under attack",
            "owner sign-ins refused",
            refused,
            "",
            target="0",
            met=refused == 0,
            detail=how,
        ),
        Figure(
            "Login under attack",
            "owner sign-in p99 latency",
            p99,
            "ms",
            target="< 1000 ms",
            met=p99 < 1000,
            detail=f"median {statistics.median(latencies) * 1000:.0f} ms; owner alone p99 "
            f"{sorted(q[1] for q in quiet)[int(0.99 * (len(quiet) - 1))] * 1000:.0f} ms",
        ),
        Figure(
            "Login under attack",
            "attacker's cost in auth_svc CPU",
            cost,
            "% of a core",
            target="< 10 %",
            met=cost < 10,
            detail=f"auth_svc CPU {attack_cpu:.2f} s during the attack minus {owner_only_cpu:.2f} s owner-only",
        ),
    ]
