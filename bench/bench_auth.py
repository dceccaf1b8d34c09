"""Auth figures: access-token verification rate (the per-RPC cost every service pays) and the
argon2id cost of one sign-in at production parameters."""

from __future__ import annotations

import asyncio
import time

from auth_svc.passwords import Argon2Hasher
from auth_svc.testing import TokenFactory
from bench.report import Figure, median_spread, repeat
from common.auth.keys import StaticKeySource
from common.auth.verifier import TokenVerifier


def _verify_rate(count: int) -> float:
    factory = TokenFactory()
    verifier = TokenVerifier(
        StaticKeySource(lambda: {factory.kid: factory.public_key}),
        issuer=factory.issuer,
        audience=factory.audience,
    )
    token = factory.token()

    async def loop() -> float:
        started = time.perf_counter()
        for _ in range(count):
            await verifier.verify(token)
        return count / (time.perf_counter() - started)

    return asyncio.run(loop())


def _argon2_ms() -> float:
    hasher = Argon2Hasher()  # production defaults: t=3, 64 MiB
    hashed = hasher.hash("correct horse battery staple")
    started = time.perf_counter()
    hasher.verify(hashed, "correct horse battery staple")
    return (time.perf_counter() - started) * 1000


def run(quick: bool) -> list[Figure]:
    runs = 3 if quick else 7
    rate, low, high = median_spread(repeat(lambda: _verify_rate(500 if quick else 3000), runs))
    ms, ms_low, ms_high = median_spread(repeat(_argon2_ms, runs))
    return [
        Figure(
            "Auth",
            "EdDSA access-token verifications per second (one core)",
            rate,
            "tokens/s",
            detail=f"median of {runs}, range {low:.0f}-{high:.0f}; PyJWT + cryptography",
        ),
        Figure(
            "Auth",
            "argon2id verify at production cost (t=3, 64 MiB)",
            ms,
            "ms",
            detail=f"median of {runs}, range {ms_low:.0f}-{ms_high:.0f} ms; bounds sign-in rate",
        ),
    ]
