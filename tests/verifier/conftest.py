"""Fixtures: an in-process ledger_svc behind a local HTTP/JSON gateway."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.verifier.verifier_stack import Deployed, deployed_ledger


@pytest.fixture
async def deployed(tmp_path: Path) -> AsyncIterator[Deployed]:
    async with deployed_ledger(tmp_path) as d:
        yield d
