"""Fixtures shared by the device tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ingest_svc.mqtt_broker import MosquittoBroker


@pytest.fixture
def shipped(tmp_path: Path) -> Iterator[MosquittoBroker]:
    """Mosquitto with the access control we ship (no test harness identities)."""
    b = MosquittoBroker(tmp_path / "broker", harness=False)
    b.start()
    yield b
    b.stop()
