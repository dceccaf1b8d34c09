"""The witness against real ledgers over loopback gRPC: it cosigns each checkpoint that extends the
last one it cosigned, keeps its state across restarts, and refuses a fork signed by the ledger's
own key (a second ledger database with the same key and different history: a split view)."""

from __future__ import annotations

import urllib.request
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from common import tlog
from energypulse.ledger.v1 import ledger_service_pb2 as pb
from energypulse.ledger.v1 import ledger_service_pb2_grpc
from ledger_svc.convert import record_to_proto
from ledger_svc.signing import Signer
from tests.ledger_svc.ledger_records import settlement
from tests.ledger_svc.ledger_server import RunningLedger, running_ledger
from verifier import spec
from witness_svc.server import CheckpointServer, poll_once
from witness_svc.witness import Refused, Witness, load_or_create_key

ORIGIN = "energypulse.local/ledger"


async def _append(svc: RunningLedger, household: str, hours: range) -> None:
    records = [record_to_proto(settlement(household, hour=h)) for h in hours]
    await svc.stub.AppendRecords(
        pb.AppendRecordsRequest(records=records), metadata=svc.auth("service", ()), timeout=10
    )


def _stub(svc: RunningLedger) -> ledger_service_pb2_grpc.LedgerServiceAsyncStub:
    return svc.stub  # type: ignore[return-value]  # a Stub on an aio channel is the AsyncStub


def _witness(signer: Signer, state: Path, clock: float = 1_767_225_600.0) -> Witness:
    key = load_or_create_key(state.parent / "witness_key.pem", create=True)
    ledger_key = tlog.Verifier.parse(signer.verifier_key(ORIGIN))
    return Witness(ledger_key, "witness.test/w1", key, state, clock=lambda: clock)


async def test_cosigns_each_extension_and_survives_a_restart(tmp_path: Path, signer: Signer) -> None:
    state = tmp_path / "witness" / "state.json"
    witness = _witness(signer, state)
    async with running_ledger(f"sqlite:///{tmp_path}/a.db", signer) as svc:
        assert await poll_once(witness, _stub(svc)) == 0  # the empty log, trusted on first use
        await _append(svc, "hh-1", range(5))
        assert await poll_once(witness, _stub(svc)) == 5
        await _append(svc, "hh-1", range(5, 12))
        assert await poll_once(witness, _stub(svc)) == 12
        head = await svc.stub.GetSignedHead(pb.GetSignedHeadRequest(), metadata=svc.auth(), timeout=5)
    root = bytes.fromhex(head.head.root_hash)
    assert witness.state is not None and witness.state.root == root
    # The cosigned note verifies with the pinned keys alone, in the common code and in the verifier.
    cosig = tlog.verify_cosignature(witness.state.note, witness.verifier)
    assert cosig.timestamp == 1_767_225_600
    view = spec.check_checkpoint(
        witness.state.note,
        spec.parse_vkey(signer.verifier_key(ORIGIN)),
        spec.parse_vkey(str(witness.verifier)),
    )
    assert (view.size, view.root, view.cosigned_at) == (12, root, 1_767_225_600)
    # A restarted witness (same key, same storage) carries on from the same checkpoint.
    again = _witness(signer, state)
    assert again.state == witness.state and str(again.verifier) == str(witness.verifier)


async def test_a_fork_signed_by_the_ledger_key_is_never_cosigned(tmp_path: Path, signer: Signer) -> None:
    state = tmp_path / "witness" / "state.json"
    witness = _witness(signer, state)
    async with running_ledger(f"sqlite:///{tmp_path}/honest.db", signer) as honest:
        await _append(honest, "hh-1", range(6))
        assert await poll_once(witness, _stub(honest)) == 6
    cosigned = witness.state
    async with running_ledger(f"sqlite:///{tmp_path}/fork.db", signer) as fork:
        await _append(fork, "hh-1", range(5))
        await _append(fork, "hh-2", range(1))  # same size, another history
        with pytest.raises(Refused) as same_size:
            await poll_once(witness, _stub(fork))
        assert same_size.value.reason == "FORK"
        await _append(fork, "hh-2", range(1, 4))  # larger, and not an extension
        with pytest.raises(Refused) as larger:
            await poll_once(witness, _stub(fork))
        assert larger.value.reason == "FORK"
    assert witness.state == cosigned and _witness(signer, state).state == cosigned  # nothing stored


async def test_refuses_a_checkpoint_of_another_key_and_a_rollback(tmp_path: Path, signer: Signer) -> None:
    witness = _witness(signer, tmp_path / "w" / "state.json")
    other = Signer.from_seed(bytes([9]) * 32)
    text = tlog.checkpoint_text(tlog.Checkpoint(ORIGIN, 3, bytes(32)))
    with pytest.raises(Refused) as wrong_key:
        witness.observe(other.checkpoint(ORIGIN, 3, bytes(32)), 0, [])
    assert wrong_key.value.reason == "BAD_CHECKPOINT"
    witness.observe(signer.checkpoint(ORIGIN, 3, bytes(32)), 0, [])
    with pytest.raises(Refused) as rollback:
        witness.observe(signer.checkpoint(ORIGIN, 2, bytes(32)), 0, [])
    assert rollback.value.reason == "ROLLBACK"
    with pytest.raises(Refused) as origin:
        witness.observe(
            tlog.sign_note(text.replace(ORIGIN, "elsewhere/log"), ORIGIN, Ed25519PrivateKey.generate()), 0, []
        )
    assert origin.value.reason == "BAD_CHECKPOINT"


async def test_serves_the_last_cosigned_checkpoint(tmp_path: Path, signer: Signer) -> None:
    witness = _witness(signer, tmp_path / "w" / "state.json")
    http = CheckpointServer(witness, "127.0.0.1", 0)
    http.start()
    try:
        base = f"http://127.0.0.1:{http.port}"
        with pytest.raises(urllib.error.HTTPError) as not_yet:
            urllib.request.urlopen(base + "/healthz", timeout=5)
        assert not_yet.value.code == 503
        witness.observe(signer.checkpoint(ORIGIN, 3, bytes(32)), 0, [])
        with urllib.request.urlopen(base + "/checkpoint", timeout=5) as reply:
            body = reply.read().decode()
            assert reply.headers["access-control-allow-origin"] == "*"
        assert witness.state is not None and body == witness.state.note
        tlog.verify_cosignature(body, witness.verifier)
    finally:
        http.stop()
