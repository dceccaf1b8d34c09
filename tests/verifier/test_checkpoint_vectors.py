"""docs/ledger-checkpoint-vectors.json (scripts/gen_checkpoint_vectors.py) is current, and the
verifier, re-implementing docs/ledger-spec.md §16, verifies every checkpoint, note signature and
cosignature in it with the pinned keys alone, and rejects the forked checkpoint."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from common import tlog
from verifier import spec

ROOT = Path(__file__).resolve().parents[2]
VECTORS = json.loads((ROOT / "docs/ledger-checkpoint-vectors.json").read_text("utf-8"))
LEDGER = spec.parse_vkey(VECTORS["ledger_key"]["vkey"])
WITNESS = spec.parse_vkey(VECTORS["witness_key"]["vkey"])


def test_the_file_is_current() -> None:
    run = subprocess.run(
        [sys.executable, str(ROOT / "scripts/gen_checkpoint_vectors.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr


def test_keys_and_key_ids() -> None:
    assert LEDGER.key_id.hex() == VECTORS["ledger_key"]["key_id_hex"] and LEDGER.kind == 1
    assert WITNESS.key_id.hex() == VECTORS["witness_key"]["key_id_hex"] and WITNESS.kind == 4
    assert LEDGER.name == "energypulse.local/ledger"


@pytest.mark.parametrize("cp", VECTORS["checkpoints"], ids=lambda c: f"size-{c['tree_size']}")
def test_every_checkpoint_verifies(cp: dict[str, object]) -> None:
    view = spec.check_checkpoint(str(cp["signed_note"]), LEDGER)
    assert (view.size, view.root.hex(), view.text) == (cp["tree_size"], cp["root_hash"], cp["text"])
    cosigned = spec.check_checkpoint(str(cp["cosigned_note"]), LEDGER, WITNESS)
    assert cosigned.cosigned_at == VECTORS["cosigned_at"]
    assert str(cp["cosigned_message"]).endswith(str(cp["text"]))
    with pytest.raises(spec.SpecError):  # the ledger's signature alone is not a cosignature
        spec.check_checkpoint(str(cp["signed_note"]), LEDGER, WITNESS)
    tampered = str(cp["cosigned_note"]).replace(
        f"\n{cp['tree_size']}\n", f"\n{int(str(cp['tree_size'])) + 1}\n"
    )
    with pytest.raises(spec.SpecError):
        spec.check_checkpoint(tampered, LEDGER)


def test_the_forked_checkpoint_is_signed_but_not_witnessed() -> None:
    fork = VECTORS["forked"]
    view = spec.check_checkpoint(fork["signed_note"], LEDGER)  # the ledger key did sign it ...
    seen = spec.check_checkpoint(fork["witnessed_note"], LEDGER, WITNESS)
    assert view.size == seen.size and view.root != seen.root  # ... a second root at a witnessed size
    with pytest.raises(spec.SpecError):
        spec.check_checkpoint(fork["signed_note"], LEDGER, WITNESS)


def test_the_common_code_agrees_with_the_verifier() -> None:
    ledger = tlog.Verifier.parse(VECTORS["ledger_key"]["vkey"])
    witness = tlog.Verifier.parse(VECTORS["witness_key"]["vkey"])
    for cp in VECTORS["checkpoints"]:
        text = tlog.verify_note(cp["cosigned_note"], ledger)
        assert tlog.parse_checkpoint(text).size == cp["tree_size"]
        assert tlog.verify_cosignature(cp["cosigned_note"], witness).timestamp == VECTORS["cosigned_at"]
    with pytest.raises(tlog.NoteError):
        tlog.verify_cosignature(VECTORS["forked"]["signed_note"], witness)
