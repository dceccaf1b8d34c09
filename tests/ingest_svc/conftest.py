from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ingest_svc.mqtt_broker import MosquittoBroker


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[MosquittoBroker]:
    b = MosquittoBroker(tmp_path / "broker")
    b.start()
    yield b
    b.stop()
