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


@pytest.fixture(scope="session")
def small_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny trained NO1 price model, shared by the bridge tests (predict_svc needs one)."""
    from tests.ingest_svc.services import train_small_model

    return train_small_model(tmp_path_factory.mktemp("models"))
