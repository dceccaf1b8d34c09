from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.ingest_svc.mqtt_broker import MosquittoBroker

if TYPE_CHECKING:
    from tests.ingest_svc.services import Services


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


@pytest.fixture
async def services(tmp_path: Path, small_model_dir: Path) -> AsyncIterator[Services]:
    """The real auth_svc, predict_svc and ledger_svc on loopback (the bridge tests' peers)."""
    from tests.ingest_svc.services import Services

    running = Services(tmp_path / "svc", small_model_dir)
    running.root.mkdir()
    await running.start_all()
    yield running
    await running.stop_all()
