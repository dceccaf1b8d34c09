"""Wiring: key handling at start-up and the background block sealer."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest

from ledger_svc.config import LedgerConfig
from ledger_svc.server import build, seal_forever
from tests.ledger_svc.ledger_records import settlement


def test_missing_signing_key_fails_fast_unless_creation_is_allowed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/ledger.db"
    with pytest.raises(FileNotFoundError):
        build(LedgerConfig(database_url=url, var_dir=str(tmp_path)))
    app = build(LedgerConfig(database_url=url, var_dir=str(tmp_path), create_signing_key=True))
    key_id = app.ledger.signer.log_id
    app.engine.dispose()
    assert (tmp_path / "ledger_signing_key.pem").stat().st_mode & 0o077 == 0
    again = build(LedgerConfig(database_url=url, var_dir=str(tmp_path)))  # same key on restart
    assert again.ledger.signer.log_id == key_id
    again.engine.dispose()


async def test_background_sealer_seals_a_partial_block(tmp_path: Path) -> None:
    config = LedgerConfig(
        database_url=f"sqlite:///{tmp_path}/l.db",
        var_dir=str(tmp_path),
        create_signing_key=True,
        block_max_txs=100,
        block_max_ms=100,
    )
    app = build(config)
    receipts = app.ledger.append([settlement(hour=h) for h in range(3)]).receipts
    assert receipts[0].block_height is None
    task = asyncio.create_task(seal_forever(app.ledger, config.block_max_ms))
    try:
        for _ in range(100):
            await asyncio.sleep(0.05)
            if app.ledger.block_count():
                break
        block, hashes = app.ledger.get_block(0)
        assert block.tx_count == 3 and hashes == [r.tx_hash for r in receipts]
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        app.engine.dispose()
