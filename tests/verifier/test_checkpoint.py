"""``python -m verifier checkpoint`` with pinned keys, against a real ledger (JSON shim) and a real
witness endpoint: a witnessed head passes, a head ahead of the witness is reported as not yet
witnessed, and a forked head (a second history signed by the same ledger key, shown to this
client) that the witness never cosigned is rejected."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from common import tlog
from energypulse.ledger.v1 import ledger_service_pb2 as pb
from energypulse.ledger.v1 import record_pb2
from ledger_svc.convert import record_to_proto
from ledger_svc.signing import Signer
from tests.ledger_svc.ledger_records import settlement
from tests.verifier.verifier_stack import Deployed, deployed_ledger
from verifier.cli import run
from witness_svc.server import CheckpointServer, poll_once
from witness_svc.witness import Witness, load_or_create_key

ORIGIN = "energypulse.local/ledger"


async def _append(d: Deployed, household: str, hours: range) -> None:
    records: list[record_pb2.Record] = [record_to_proto(settlement(household, hour=h)) for h in hours]
    meta = [("authorization", f"Bearer {d.token('service', ())}")]
    await d.stub.AppendRecords(pb.AppendRecordsRequest(records=records), metadata=meta, timeout=10)


async def _check(d: Deployed, *flags: str) -> tuple[int, dict[str, Any]]:
    argv = ["--base-url", d.base_url, "--token", d.token("user"), *flags, "checkpoint"]
    return await asyncio.to_thread(run, argv)


async def test_witnessed_ahead_and_forked_heads(tmp_path: Path) -> None:
    signer = Signer.generate()
    key = load_or_create_key(tmp_path / "witness" / "key.pem", create=True)
    witness = Witness(
        tlog.Verifier.parse(signer.verifier_key(ORIGIN)),
        "witness.test/w1",
        key,
        tmp_path / "witness" / "state.json",
    )
    http = CheckpointServer(witness, "127.0.0.1", 0)
    http.start()
    pins = [
        "--ledger-key",
        signer.verifier_key(ORIGIN),
        "--witness-url",
        f"http://127.0.0.1:{http.port}",
        "--witness-key",
        str(witness.verifier),
    ]
    try:
        async with deployed_ledger(tmp_path, signer, "honest.db") as honest:
            await _append(honest, "hh-1", range(6))
            await poll_once(witness, honest.stub)  # type: ignore[arg-type]  # the aio Stub is the AsyncStub
            status, result = await _check(honest, *pins)
            assert status == 0 and result["head_witnessed"] is True and result["witnessed_size"] == 6

            await _append(honest, "hh-1", range(6, 9))  # the witness has not polled yet
            status, result = await _check(honest, *pins)
            assert status == 0 and result["head_witnessed"] is False
            assert (result["reason"], result["tree_size"], result["witnessed_size"]) == (
                "HEAD_NOT_WITNESSED",
                9,
                6,
            )

            status, result = await _check(honest)  # nothing pinned: nothing to trust
            assert status == 1 and result["reason"] == "KEYS_NOT_PINNED"

        # A split view: the same ledger key signs a second history, shown to this client only.
        async with deployed_ledger(tmp_path, signer, "fork.db") as fork:
            await _append(fork, "hh-1", range(5))
            await _append(fork, "hh-2", range(1))  # size 6, like the witnessed head, another root
            status, result = await _check(fork, *pins)
            assert status == 1 and result["reason"] == "FORKED_HEAD", result
            # Every other command fails too once a witness is configured, though the fork's own
            # proofs check out against its own (ledger-signed) head.
            argv = [
                "--base-url",
                fork.base_url,
                "--token",
                fork.token("user"),
                *pins,
                "invoice",
                "hh-1",
                "2026-01",
            ]
            status, result = await asyncio.to_thread(run, argv)
            assert status == 1 and result["reason"] == "FORKED_HEAD" and result["key_pinned"] is True, result
            assert all(line["inclusion_valid"] for line in result["lines"])  # type: ignore[union-attr]
            await _append(fork, "hh-2", range(1, 4))  # larger than the witnessed head, not its extension
            status, result = await _check(fork, *pins)
            assert status == 1 and result["reason"] == "FORKED_HEAD", result
            other = Witness(
                tlog.Verifier.parse(signer.verifier_key(ORIGIN)),
                "witness.test/w1",
                Ed25519PrivateKey.generate(),
                tmp_path / "impostor" / "state.json",
            )
            await poll_once(other, fork.stub)  # type: ignore[arg-type]
            impostor = CheckpointServer(other, "127.0.0.1", 0)
            impostor.start()
            try:  # a cosignature by any other key (here: of the forked head) does not count
                flags = [*pins[:2], "--witness-url", f"http://127.0.0.1:{impostor.port}", *pins[4:]]
                status, result = await _check(fork, *flags)
                assert status == 1 and result["reason"] == "NOT_WITNESSED", result
            finally:
                impostor.stop()
    finally:
        http.stop()
