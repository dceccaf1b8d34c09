"""Kill the process (SIGKILL) in the middle of an append: after restart the chain verifies and
holds only whole appends."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from ledger_svc.ledger import Ledger
from ledger_svc.signing import Signer
from ledger_svc.store import make_ledger_engine
from tests.ledger_svc.ledger_records import settlement

REPO = Path(__file__).resolve().parents[2]
BATCH = 5_000

CHILD = f"""
import sys
from tests.ledger_svc.ledger_records import settlement
from ledger_svc.ledger import Ledger
from ledger_svc.signing import Signer
from ledger_svc.store import make_ledger_engine
import time
from sqlalchemy import event
engine = make_ledger_engine(sys.argv[1])
ledger = Ledger(engine, Signer.from_seed(bytes(range(32))), block_max_txs=300, block_max_ms=10**9)
ledger.load()
n = 0

@event.listens_for(engine, "after_cursor_execute")
def _pause_inside_second_append(conn, cursor, statement, *args):
    # The rows of append 1 are written but its transaction is still open: announce and wait.
    if n == 1 and statement.startswith("INSERT INTO ledger_transactions"):
        print("mid-append", flush=True)
        time.sleep(60)

while True:
    batch = [settlement(f"hh-{{i % 50}}", hour=n * {BATCH} + i) for i in range({BATCH})]
    print("appending", n, flush=True)
    ledger.append(batch)
    n += 1
"""


@pytest.mark.slow
def test_sigkill_during_append_leaves_a_valid_chain(db_url: str) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, db_url], stdout=subprocess.PIPE, text=True, cwd=REPO
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().startswith("appending 0")
        assert child.stdout.readline().startswith("appending 1")  # append 0 committed
        assert child.stdout.readline().startswith("mid-append")  # append 1's rows sent, not committed
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL

    engine = make_ledger_engine(db_url)
    try:
        ledger = Ledger(engine, Signer.from_seed(bytes(range(32))), block_max_txs=300, block_max_ms=10**9)
        ledger.load()
        size = ledger.tree_size()
        assert size == BATCH  # append 0 whole, nothing of append 1
        report = ledger.verify_chain()
        assert report.ok, report
        assert report.txs_checked == size
        ledger.append([settlement("hh-after", hour=10**6)])
        assert ledger.verify_chain().ok
    finally:
        engine.dispose()
