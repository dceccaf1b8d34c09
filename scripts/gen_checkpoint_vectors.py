#!/usr/bin/env python3
"""Write docs/ledger-checkpoint-vectors.json: worked C2SP checkpoints, note signatures and
cosignatures (docs/ledger-spec.md §16) over the heads of docs/ledger-test-vectors.json, with
published test keys (never a real log's or witness's). Ed25519 signatures are deterministic, so
the file is reproducible; tests check it is current and that the verifier and the dashboard
verify every entry from the document alone.

    python scripts/gen_checkpoint_vectors.py            # rewrite the file
    python scripts/gen_checkpoint_vectors.py --check    # exit 1 if the file is stale
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from common import tlog  # noqa: E402 - after the path set-up

OUT = ROOT / "docs" / "ledger-checkpoint-vectors.json"
ORIGIN = "energypulse.local/ledger"
WITNESS = "energypulse.local/witness"
LEDGER_SEED = bytes(range(32))  # the published test key of docs/ledger-test-vectors.json
WITNESS_SEED = bytes(range(32, 64))
COSIGNED_AT = 1_767_225_600  # 2026-01-01T00:00:00Z


def build() -> str:
    heads = json.loads((ROOT / "docs" / "ledger-test-vectors.json").read_text("utf-8"))["signed_heads"]
    ledger, witness = (
        Ed25519PrivateKey.from_private_bytes(LEDGER_SEED),
        Ed25519PrivateKey.from_private_bytes(WITNESS_SEED),
    )
    ledger_pub, witness_pub = ledger.public_key().public_bytes_raw(), witness.public_key().public_bytes_raw()
    checkpoints = []
    for h in heads:
        text = tlog.checkpoint_text(
            tlog.Checkpoint(ORIGIN, int(h["tree_size"]), bytes.fromhex(h["root_hash"]))
        )
        note = tlog.sign_note(text, ORIGIN, ledger)
        line = tlog.cosign(text, WITNESS, witness, COSIGNED_AT)
        checkpoints.append(
            {
                "tree_size": h["tree_size"],
                "root_hash": h["root_hash"],
                "text": text,
                "signed_note": note,
                "cosigned_message": tlog.cosigned_message(text, COSIGNED_AT).decode(),
                "cosignature_line": line,
                "cosigned_note": note + line,
            }
        )
    last = heads[-1]
    forked_root = hashlib.sha256(b"a second history").digest()
    fork_text = tlog.checkpoint_text(tlog.Checkpoint(ORIGIN, int(last["tree_size"]), forked_root))
    doc = {
        "description": "C2SP signed-note / tlog-checkpoint / tlog-cosignature v1 vectors; test keys only",
        "ledger_key": {
            "seed_hex": LEDGER_SEED.hex(),
            "name": ORIGIN,
            "key_id_hex": tlog.key_id(ORIGIN, tlog.ALG_ED25519, ledger_pub).hex(),
            "vkey": tlog.verifier_key(ORIGIN, tlog.ALG_ED25519, ledger_pub),
        },
        "witness_key": {
            "seed_hex": WITNESS_SEED.hex(),
            "name": WITNESS,
            "key_id_hex": tlog.key_id(WITNESS, tlog.ALG_COSIGNATURE_V1, witness_pub).hex(),
            "vkey": tlog.verifier_key(WITNESS, tlog.ALG_COSIGNATURE_V1, witness_pub),
        },
        "cosigned_at": COSIGNED_AT,
        "checkpoints": checkpoints,
        "forked": {
            "description": (
                "a second checkpoint at the witnessed size, signed by the ledger key, not cosigned: "
                "a verifier holding the witness's cosigned checkpoint of this size must reject it"
            ),
            "tree_size": last["tree_size"],
            "root_hash": forked_root.hex(),
            "signed_note": tlog.sign_note(fork_text, ORIGIN, ledger),
            "witnessed_note": checkpoints[-1]["cosigned_note"],
        },
        "public_key_b64": base64.b64encode(ledger_pub).decode(),
    }
    return json.dumps(doc, indent=1, ensure_ascii=False) + "\n"


def main() -> int:
    text = build()
    if "--check" in sys.argv[1:]:
        if not OUT.exists() or OUT.read_text("utf-8") != text:
            print(f"{OUT} is stale: run scripts/gen_checkpoint_vectors.py", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text, "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
