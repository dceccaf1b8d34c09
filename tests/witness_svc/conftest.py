"""The ledger's test signer (a published seed, never a real log's)."""

from __future__ import annotations

import pytest

from ledger_svc.signing import Signer


@pytest.fixture
def signer() -> Signer:
    return Signer.from_seed(bytes(range(32)))
