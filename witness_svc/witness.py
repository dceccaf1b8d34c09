"""The witness's rule (docs/ledger-spec.md §16): cosign a checkpoint only when it is signed by the
pinned ledger key, names the pinned origin, and extends the last checkpoint this witness cosigned
(same root at the same size, or a valid RFC 9162 consistency proof to a larger size). A checkpoint
that fails is never cosigned and the last cosigned one stays what the witness serves, so a forked
or rolled-back head cannot collect this witness's cosignature."""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from common import tlog
from common.merkle_proofs import ProofError, verify_consistency

__all__ = ["Refused", "Witness", "WitnessState", "load_or_create_key"]

EMPTY_ROOT = hashlib.sha256(b"").digest()


class Refused(ValueError):
    """The checkpoint was not cosigned; ``reason`` says why."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


@dataclass(frozen=True)
class WitnessState:
    size: int
    root: bytes
    note: str  # the last cosigned checkpoint: the ledger's note with this witness's cosignature


def load_or_create_key(path: Path, create: bool) -> Ed25519PrivateKey:
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{path} does not hold an Ed25519 private key")
        return key
    if not create:
        raise FileNotFoundError(f"witness key {path} does not exist (EP_WITNESS_CREATE_KEY=1 creates it)")
    key = Ed25519PrivateKey.generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    return key


class Witness:
    """Checks and cosigns checkpoints; persists the last cosigned one in ``state_path``."""

    def __init__(
        self,
        ledger_key: tlog.Verifier,
        name: str,
        key: Ed25519PrivateKey,
        state_path: Path,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if ledger_key.alg != tlog.ALG_ED25519:
            raise ValueError("the ledger key must be an Ed25519 note key (vkey type 0x01)")
        self.ledger_key = ledger_key
        self.origin = ledger_key.name  # the ledger names its note key after its origin
        self.name = name
        self._key = key
        self._state_path = state_path
        self._clock = clock
        self.state = self._load()

    @property
    def verifier(self) -> tlog.Verifier:
        return tlog.Verifier(self.name, tlog.ALG_COSIGNATURE_V1, self._key.public_key().public_bytes_raw())

    def _load(self) -> WitnessState | None:
        if not self._state_path.exists():
            return None
        doc = json.loads(self._state_path.read_text("utf-8"))
        if doc.get("origin") != self.origin:
            raise ValueError(
                f"{self._state_path} belongs to the log {doc.get('origin')!r}, not {self.origin!r}"
            )
        note = str(doc["note"])
        text = tlog.verify_note(note, self.ledger_key)
        tlog.verify_cosignature(note, self.verifier)  # our own storage, but check it was ours
        cp = tlog.parse_checkpoint(text)
        return WitnessState(cp.size, cp.root, note)

    def _save(self, state: WitnessState) -> None:
        self._state_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self._state_path.with_suffix(".tmp")
        tmp.write_text(
            json.dumps({"origin": self.origin, "size": state.size, "note": state.note}), encoding="utf-8"
        )
        with tmp.open("rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, self._state_path)  # the new state or the old one, never half of either

    def observe(self, note: str, from_size: int, proof: Sequence[bytes]) -> WitnessState:
        """Check ``note`` (the ledger's signed checkpoint) against the last cosigned one, with
        ``proof`` a consistency proof from ``from_size``; cosign and keep it, or raise Refused."""
        try:
            text = tlog.verify_note(note, self.ledger_key)
            cp = tlog.parse_checkpoint(text)
        except tlog.NoteError as exc:
            raise Refused("BAD_CHECKPOINT", str(exc)) from exc
        if cp.origin != self.origin:
            raise Refused("WRONG_ORIGIN", f"checkpoint of {cp.origin!r}, expected {self.origin!r}")
        last = self.state
        if last is not None:
            if cp.size < last.size:
                raise Refused("ROLLBACK", f"size {cp.size} is below the cosigned size {last.size}")
            if cp.size == last.size:
                if cp.root != last.root:
                    raise Refused("FORK", f"a second root at the cosigned size {cp.size}")
            elif last.size == 0:  # nothing to prove from the empty tree (spec §4), if it was empty
                if last.root != EMPTY_ROOT:
                    raise Refused("FORK", "the cosigned empty checkpoint's root is not the empty tree's")
            else:
                if from_size != last.size:
                    raise Refused("NO_PROOF", f"the proof starts at {from_size}, not at {last.size}")
                try:
                    verify_consistency(last.size, cp.size, last.root, cp.root, proof)
                except ProofError as exc:
                    raise Refused("FORK", f"not an extension of size {last.size}: {exc}") from exc
        # The first checkpoint ever seen is trusted on its signature alone (trust on first use);
        # from then on every one must extend it.
        line = tlog.cosign(text, self.name, self._key, int(self._clock()))
        state = WitnessState(cp.size, cp.root, _with_signature(note, line))
        self._save(state)
        self.state = state
        return state


def _with_signature(note: str, line: str) -> str:
    return note + line  # a note ends with its last signature line's newline
