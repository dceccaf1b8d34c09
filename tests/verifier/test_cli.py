"""``python -m verifier`` end to end against a real ledger_svc through its JSON API."""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from energypulse.ledger.v1 import ledger_service_pb2 as pb
from energypulse.ledger.v1 import record_pb2
from ledger_svc.merkle import MerkleTree, leaf_hash
from ledger_svc.signing import Signer
from ledger_svc.store import TxRow
from tests.ledger_records import settlement_v1
from tests.verifier.verifier_stack import Deployed
from verifier.cli import run


async def _append(d: Deployed, records: list[record_pb2.Record]) -> list[str]:
    meta = [("authorization", f"Bearer {d.token('service', ())}")]
    resp = await d.stub.AppendRecords(pb.AppendRecordsRequest(records=records), metadata=meta, timeout=10)
    return [r.tx_hash for r in resp.receipts]


async def _verify(
    d: Deployed, *argv: str, token: str | None = None, pin: bool = True
) -> tuple[int, dict[str, Any]]:
    args = ["--base-url", d.base_url, "--token", token or d.token()]
    if pin:
        args += ["--public-key", base64.b64encode(d.signer.public_key).decode()]
    return await asyncio.to_thread(run, [*args, *argv])  # the CLI is blocking; the server needs this loop


async def test_verifies_transactions_invoices_chain_and_consistency(
    deployed: Deployed, tmp_path: Path
) -> None:
    hashes = await _append(
        deployed, [settlement_v1("hh-1", h, 1100) for h in range(6)] + [settlement_v1("hh-2", 0, 1100)]
    )
    old, new = str(tmp_path / "old.json"), str(tmp_path / "new.json")
    assert (await _verify(deployed, "head", "--save", old))[0] == 0

    status, result = await _verify(deployed, "tx", hashes[2])
    assert status == 0 and result["hash_valid"] is True and result["inclusion_valid"] is True
    status, result = await _verify(deployed, "tx", hashes[2], token=deployed.token("user", ("hh-2",)))
    assert status == 0 and result["hash_valid"] is None  # content hidden: only inclusion is provable

    status, result = await _verify(deployed, "invoice", "hh-1", "2026-01", "--head", old)
    assert status == 0 and [line["leaf_index"] for line in result["lines"]] == list(range(6))

    await _append(deployed, [settlement_v1("hh-1", h, 1100) for h in range(6, 15)])
    assert (await _verify(deployed, "head", "--save", new))[0] == 0
    status, result = await _verify(deployed, "consistency", old, new)
    assert status == 0 and (result["first_size"], result["second_size"]) == (7, 16)

    status, result = await _verify(deployed, "chain", token=deployed.token("admin", ()))
    assert status == 0 and result["blocks_checked"] == 4 and result["transactions_checked"] == 16
    assert result["key_pinned"] is True


async def test_detects_tampering_and_forged_heads(deployed: Deployed, tmp_path: Path) -> None:
    await _append(deployed, [settlement_v1("hh-1", h, 1100) for h in range(8)])
    saved = tmp_path / "head.json"
    assert (await _verify(deployed, "head", "--save", str(saved)))[0] == 0

    tx = TxRow.__table__
    with deployed.app.engine.begin() as conn:  # an insider lowers hour 3's metered energy
        rec = conn.execute(select(tx.c.record).where(tx.c.leaf_index == 3)).scalar_one()
        conn.execute(update(tx).where(tx.c.leaf_index == 3).values(record=rec[:61] + b"\x01" + rec[62:]))
    status, result = await _verify(deployed, "invoice", "hh-1", "2026-01", "--head", str(saved))
    assert status == 1
    assert [(line["leaf_index"], line.get("reason")) for line in result["lines"] if line.get("reason")] == [
        (3, "HASH_MISMATCH")
    ]
    status, result = await _verify(deployed, "chain", token=deployed.token("admin", ()))
    assert (status, result["first_bad_height"], result["reason"]) == (1, 0, "TX_HASH_MISMATCH")

    forged = json.loads(saved.read_text())
    forged["head"]["rootHash"] = "00" * 32
    (tmp_path / "forged.json").write_text(json.dumps(forged))
    status, result = await _verify(deployed, "tx", "00" * 32, "--head", str(tmp_path / "forged.json"))
    assert (status, result["reason"]) == (1, "SIGNATURE_OR_FORMAT")
    other_key = base64.b64encode(bytes(32)).decode()
    status, result = await asyncio.to_thread(
        run, ["--base-url", deployed.base_url, "--token", deployed.token(), "--public-key", other_key, "head"]
    )
    assert status == 1


async def test_rewritten_history_fails_consistency(deployed: Deployed, tmp_path: Path) -> None:
    await _append(deployed, [settlement_v1("hh-1", h, 1100) for h in range(5)])
    assert (await _verify(deployed, "head", "--save", str(tmp_path / "a.json")))[0] == 0
    await _append(deployed, [settlement_v1("hh-1", h, 1100) for h in range(5, 9)])
    assert (await _verify(deployed, "head", "--save", str(tmp_path / "b.json")))[0] == 0
    # A log that rewrote leaf 0 and re-signed with the same key cannot prove it extends head a.
    rewritten = json.loads((tmp_path / "b.json").read_text())
    head = rewritten["head"]
    tree = MerkleTree()
    tree.append_leaf_hashes([leaf_hash(b"forged")] * int(head["treeSize"]))
    sth = Signer.from_seed(deployed.signer.seed()).sign(int(head["treeSize"]), tree.root(), 1_800_000_000_000)
    head.update(
        rootHash=sth.head.root_hash.hex(),
        timestamp="2027-01-15T08:00:00Z",
        signature=base64.b64encode(sth.signature).decode(),
    )
    (tmp_path / "c.json").write_text(json.dumps(rewritten))
    assert (await _verify(deployed, "consistency", str(tmp_path / "a.json"), str(tmp_path / "b.json")))[
        0
    ] == 0
    status, result = await _verify(
        deployed, "consistency", str(tmp_path / "a.json"), str(tmp_path / "c.json")
    )
    assert status == 1 and result["reason"] == "consistency proof does not verify"  # signature was fine
