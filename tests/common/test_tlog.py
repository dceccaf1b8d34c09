"""common/tlog: C2SP signed notes, checkpoints and cosignatures, round trips and refusals."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from common import tlog

LOG = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
WITNESS = Ed25519PrivateKey.from_private_bytes(bytes(range(32, 64)))
ORIGIN, NAME = "example.test/log", "example.test/witness"
LOG_KEY = tlog.Verifier(ORIGIN, tlog.ALG_ED25519, LOG.public_key().public_bytes_raw())
WITNESS_KEY = tlog.Verifier(NAME, tlog.ALG_COSIGNATURE_V1, WITNESS.public_key().public_bytes_raw())
TEXT = tlog.checkpoint_text(tlog.Checkpoint(ORIGIN, 42, bytes(range(32))))


def test_round_trip() -> None:
    note = tlog.sign_note(TEXT, ORIGIN, LOG)
    assert tlog.verify_note(note, LOG_KEY) == TEXT
    assert tlog.parse_checkpoint(TEXT) == tlog.Checkpoint(ORIGIN, 42, bytes(range(32)))
    cosigned = note + tlog.cosign(TEXT, NAME, WITNESS, 1_700_000_000)
    assert tlog.verify_cosignature(cosigned, WITNESS_KEY) == tlog.Cosignature(NAME, 1_700_000_000)
    assert (
        tlog.Verifier.parse(str(LOG_KEY)) == LOG_KEY and tlog.Verifier.parse(str(WITNESS_KEY)) == WITNESS_KEY
    )


def test_refusals() -> None:
    note = tlog.sign_note(TEXT, ORIGIN, LOG)
    with pytest.raises(tlog.NoteError):  # not cosigned
        tlog.verify_cosignature(note, WITNESS_KEY)
    with pytest.raises(tlog.NoteError):  # the text changed after signing
        tlog.verify_note(note.replace("\n42\n", "\n43\n"), LOG_KEY)
    with pytest.raises(tlog.NoteError):  # another key under the same name
        tlog.verify_note(tlog.sign_note(TEXT, ORIGIN, WITNESS), LOG_KEY)
    line = tlog.cosign(TEXT, NAME, WITNESS, 5)
    prefix, b64 = line.rstrip("\n").rsplit(" ", 1)
    raw = bytearray(base64.b64decode(b64))
    raw[4:12] = (6).to_bytes(8, "big")  # claim another time than the one signed
    with pytest.raises(tlog.NoteError):
        tlog.verify_cosignature(note + f"{prefix} {base64.b64encode(bytes(raw)).decode()}\n", WITNESS_KEY)
    with pytest.raises(tlog.NoteError):
        tlog.Verifier.parse(str(LOG_KEY).replace("+", "+00", 1))  # key id does not match
    for bad in ("log\n042\n" + TEXT.split("\n")[2] + "\n", "log\n1\nAAAA\n", "log\n1\n", "log\n1\n\n" + TEXT):
        with pytest.raises(tlog.NoteError):
            tlog.parse_checkpoint(bad)
    with pytest.raises(tlog.NoteError):
        tlog.parse_note(TEXT)  # no signature block
