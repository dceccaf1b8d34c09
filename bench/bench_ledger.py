"""Ledger figures: batched append rate on SQLite, inclusion-proof latency and full chain
verification time at a million transactions. ``append_rate``/``proof_latency``/``full_verify``
return plain dicts; ``run`` turns them into report figures."""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from pathlib import Path

from bench.report import Figure
from common.db import upgrade
from ledger_svc.canonical import HOUR_MS, Settlement
from ledger_svc.ledger import Ledger
from ledger_svc.server import MIGRATIONS, VERSION_TABLE
from ledger_svc.signing import Signer
from ledger_svc.store import make_ledger_engine

__all__ = ["append_rate", "full_verify", "proof_latency", "run"]

NOTES = [
    "- Ledger: one append = one SQLite transaction (BEGIN IMMEDIATE, synchronous commit). A batch is "
    "validated column-wise and encoded in one pass (ledger_svc/canonical.py encode_records; a bad batch "
    "falls back to record-by-record checks that name the culprit), tx hashes are chained in one loop "
    "and the Merkle tree grows level by level. Profile (cProfile, 100k settlements in batches of 5,000): "
    "SQLite executemany 23% and commits 18% of the time, validation + encoding 17%, the log's Merkle "
    "tree 12% and the blocks' Merkle roots 10% (SHA-256: ~5 per transaction), tx hash chain 7%, "
    "receipts 7%; the rate drops on a loaded machine.",
]

BASE_HOUR = 1_767_225_600_000


def _batch(start: int, size: int) -> list[Settlement]:
    out = []
    for i in range(start, start + size):
        wh = 300 + i % 2000
        spot, grid = wh * 85, wh * 40
        vat = (spot + grid + 15_000) // 4
        out.append(
            Settlement(
                b"",
                f"hh-{i % 5000:04d}",
                BASE_HOUR + (i // 5000) * HOUR_MS,
                wh,
                85_000,
                spot,
                grid,
                12_000,
                3_000,
                vat,
                spot + grid + 15_000 + vat,
            )
        )
    return out


def _ledger(directory: str, block_max_txs: int = 1000) -> Ledger:
    url = f"sqlite:///{directory}/ledger.db"
    upgrade(url, MIGRATIONS, version_table=VERSION_TABLE)
    ledger = Ledger(make_ledger_engine(url), Signer.generate(), block_max_txs, 10**9)
    ledger.load()
    return ledger


def _fill(ledger: Ledger, total: int, batch: int) -> float:
    """Append ``total`` settlements in batches; returns tx/s (record building excluded)."""
    spent = 0.0
    for start in range(ledger.tree_size(), total, batch):
        records = _batch(start, min(batch, total - start))
        t0 = time.perf_counter()
        ledger.append(records)
        spent += time.perf_counter() - t0
    return total / spent


def append_rate(total: int = 200_000, batch: int = 5_000) -> dict[str, float]:
    """Batched appends into a fresh SQLite ledger (validation, hashing, sealing, commit included)."""
    with tempfile.TemporaryDirectory() as d:
        ledger = _ledger(d)
        rate = _fill(ledger, total, batch)
        ledger.engine.dispose()
    return {"append_tx_per_s": rate, "transactions": total, "batch": batch}


def proof_latency(ledger: Ledger, samples: int = 2000) -> dict[str, float]:
    """Inclusion proofs for random leaves against the current and a historical tree size."""
    size = ledger.tree_size()
    rng = random.Random(7)
    timings = []
    for _ in range(samples):
        tree_size = size if rng.random() < 0.5 else rng.randint(size // 2, size)
        leaf = rng.randrange(tree_size)
        t0 = time.perf_counter()
        ledger.inclusion_proof(leaf, tree_size)
        timings.append((time.perf_counter() - t0) * 1000)
    timings.sort()
    return {
        "tree_size": size,
        "proof_ms_median": statistics.median(timings),
        "proof_ms_p99": timings[int(len(timings) * 0.99)],
        "samples": samples,
    }


def full_verify(total: int = 1_000_000, batch: int = 10_000) -> dict[str, float]:
    """Build a ``total``-transaction SQLite ledger, then time VerifyChain, a restart's tree rebuild
    and inclusion proofs on it."""
    with tempfile.TemporaryDirectory() as d:
        ledger = _ledger(d)
        rate = _fill(ledger, total, batch)
        t0 = time.perf_counter()
        report = ledger.verify_chain()
        verify_s = time.perf_counter() - t0
        assert report.ok and report.txs_checked == total, report
        restarted = Ledger(ledger.engine, ledger.signer, 1000, 10**9)
        t0 = time.perf_counter()
        restarted.load()
        load_s = time.perf_counter() - t0
        proofs = proof_latency(restarted)
        db_mb = Path(d, "ledger.db").stat().st_size / 2**20
        ledger.engine.dispose()
    return {
        "transactions": total,
        "verify_s": verify_s,
        "tree_rebuild_s": load_s,
        "append_tx_per_s": rate,
        "db_mb": db_mb,
        **proofs,
    }


def run(quick: bool = False) -> list[Figure]:
    runs = [append_rate(50_000 if quick else 200_000) for _ in range(3)]
    rates = sorted(r["append_tx_per_s"] for r in runs)
    appended = {**runs[0], "append_tx_per_s": rates[1]}
    size = 100_000 if quick else 1_000_000
    big = full_verify(size)
    scale = f"{size:,} transactions" + (" (quick: 1/10 of the target size)" if quick else "")
    return [
        Figure(
            "Ledger",
            "batched append rate, SQLite (5,000 records per append)",
            appended["append_tx_per_s"],
            "tx/s",
            ">= 20000 tx/s",
            appended["append_tx_per_s"] >= 20_000,
            f"{appended['transactions']:,} settlements; encoding, hashing, block sealing and commit included",
        ),
        Figure(
            "Ledger",
            f"inclusion proof, tree of {scale}",
            big["proof_ms_median"],
            "ms",
            "< 1 ms",
            big["proof_ms_median"] < 1,
            f"median of {big['samples']}, p99 {big['proof_ms_p99']:.3f} ms; "
            "in-memory complete-subtree levels, half against historical sizes",
        ),
        Figure(
            "Ledger",
            f"full chain verification, {scale}",
            big["verify_s"],
            "s",
            "< 30 s",
            big["verify_s"] < 30 if not quick else None,
            f"tx hashes, links, column re-derivation, block roots and hashes, tree cross-check; "
            f"SQLite file {big['db_mb']:.0f} MB",
        ),
        Figure(
            "Ledger",
            f"start-up tree rebuild, {scale}",
            big["tree_rebuild_s"],
            "s",
            detail="read every tx hash and rebuild the level arrays",
        ),
    ]
