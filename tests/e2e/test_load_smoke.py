"""Smoke version of bench/bench_load.py: 200 JSON requests/s for 5 s through Envoy over the read
route mix, with zero errors. No timing assertion (the benchmark measures; this checks correctness
under concurrent load: every request a 2xx)."""

from __future__ import annotations

import shutil
from pathlib import Path

from bench.bench_load import ROUTES, run_load
from devstack.stack import Stack
from tests.conftest import require


def test_route_mix_under_fixed_rate_has_no_errors(stack: Stack, tmp_path: Path) -> None:
    require(
        shutil.which("h2load"),
        "h2load not installed (Debian nghttp2-client; scripts/bootstrap --dev installs it)",
    )
    token = stack.login("admin", "admin-demo")
    for route in ROUTES:  # each route answers on its own first, so a failure names its route
        status, body = stack.api("GET", route, token=token)
        assert status == 200, (route, status, str(body)[:300])
    result = run_load(stack, token, rps=200, seconds=5, log=tmp_path / "h2load.log", clients=10)
    assert result.requests >= 500
    assert result.errors == 0, result.status_counts
