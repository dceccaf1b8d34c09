from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from auth_svc.config import decode_key_encryption_key
from auth_svc.keys import KeyRing
from auth_svc.store import Store
from auth_svc.testing import TokenFactory
from common.db import make_engine, make_session_factory
from devstack.stack import ALL_PARTS, Stack, start_stack

HERE = Path(__file__).resolve().parent
# alert_svc refuses non-public webhook and broker targets; the tests' receivers are on loopback.
ALERT_TEST_NETWORKS = "127.0.0.0/8"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The tests here drive the whole stack: marked slow, so scripts/check's fast run leaves them out."""
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The whole system, as ./scripts/run starts it, on free ports (one per test session)."""
    var_dir: Path = tmp_path_factory.mktemp("stack")
    parts = list(ALL_PARTS)
    if not (Path(__file__).resolve().parents[2] / "dashboard" / "dist" / "index.html").exists():
        parts.remove("web")
    # Generous: predict_svc trains its three first models at start-up (~20 s each on a quiet
    # 2-core machine, much longer on a busy one); this is a cap, not a wait.
    # Every test client is 127.0.0.1 to Envoy (no trusted hops), so the per-address sign-in budget
    # would be shared by all tests (the fuzzers make thousands of failed sign-ins on made-up
    # accounts): lifted here. The per-account throttles stay (tests/e2e/test_login_limiter.py
    # tests the address budget on its own stack).
    running = start_stack(
        var_dir,
        parts,
        timeout=300,
        extra_env={
            "EP_AUTH_CLIENT_FREE_FAILURES": "1000000",
            "EP_ALERT_ALLOWED_TARGET_NETWORKS": ALERT_TEST_NETWORKS,
            "EP_ALERT_BACKOFF_SECONDS": "0.2",
        },
    )
    yield running
    running.close()


@pytest.fixture(scope="module")
def real_key_factory(stack: Stack) -> TokenFactory:
    """Tokens signed with the stack's real signing key (read from auth_svc's database), to forge
    claims the edge and the services must refuse."""
    engine = make_engine(stack.env["EP_AUTH_DATABASE_URL"])
    ring = KeyRing(
        Store(make_session_factory(engine)),
        decode_key_encryption_key(stack.env["EP_AUTH_KEY_ENCRYPTION_KEY"]),
        access_ttl_s=300,
        rotation_s=10**9,
    )
    key = ring.signing_key()
    engine.dispose()
    return TokenFactory(private_key=key.private_key, kid=key.kid)
