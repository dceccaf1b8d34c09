#!/usr/bin/env python3
"""Write docs/merkle-proof-vectors.json: the RFC 6962/9162 proof-verification probes of the
reference implementation, transparency-dev/merkle (Apache-2.0), with the reference's verdicts.

The data (leaves, roots, known-good proofs) and the probe recipe (each known-good proof, then
every corruption the reference tries: wrong index or size, wrong leaf or root, garbage before or
after, a flipped bit, a dropped or inserted node; plus its static edge cases around the empty
tree, consistency from size 0 and hashes of the wrong length) follow the reference's test-data
generator (`testdata/gen`) and `proof/verify_test.go`. The verdict of every probe is the
reference's ``wantErr``: it is written down here from the reference, never computed by one of our
verifiers. ``ledger_svc/merkle.py``, ``verifier/spec.py`` and the dashboard's ``merkle.ts`` must
each agree with every verdict (tests/ledger_svc/test_merkle_vectors.py,
tests/verifier/test_spec.py, dashboard/src/lib/ledger/merkle-vectors.test.ts).

Sizes and indices are decimal strings: the reference computes them in uint64 (``0 - 1`` wraps to
2^64 - 1), which JSON numbers cannot carry into JavaScript. Hashes and proof nodes are hex.

    python scripts/gen_merkle_vectors.py            # rewrite the file
    python scripts/gen_merkle_vectors.py --check    # exit 1 if the file is stale
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parents[1] / "docs" / "merkle-proof-vectors.json"
U64 = 1 << 64

SOME_HASH = bytes.fromhex("abacaba000000000000000000000000000000000000000000060061e00123456")
EMPTY_TREE_HASH = bytes.fromhex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")

# Leaf data (by 1-based leaf number) and the roots of the trees of 1..8 leaves, from the reference.
LEAVES = {1: b"", 2: bytes.fromhex("00"), 3: bytes.fromhex("10"), 6: bytes.fromhex("40414243")}
ROOTS = [
    bytes.fromhex(h)
    for h in (
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    )
]


def _hx(*hashes: str) -> list[bytes]:
    return [bytes.fromhex(h) for h in hashes]


# (1-based leaf, tree size, proof)
INCLUSION = [
    (1, 1, []),
    (
        1,
        8,
        _hx(
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ),
    ),
    (
        6,
        8,
        _hx(
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ),
    ),
    (3, 3, _hx("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125")),
    (
        2,
        5,
        _hx(
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ),
    ),
]

# (size1, size2, proof)
CONSISTENCY = [
    (1, 1, []),
    (
        1,
        8,
        _hx(
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ),
    ),
    (
        6,
        8,
        _hx(
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ),
    ),
    (
        2,
        5,
        _hx(
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ),
    ),
    (
        6,
        7,
        _hx(
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ),
    ),
]


def _u(n: int) -> int:
    return n % U64  # uint64 arithmetic, as in the reference


def _flip(proof: list[bytes], i: int, mask: int) -> list[bytes]:
    return [bytes([p[0] ^ mask, *p[1:]]) if j == i else p for j, p in enumerate(proof)]


def _inc(
    desc: str, index: int, size: int, root: bytes, leaf: bytes, proof: list[bytes], want_err: bool
) -> dict[str, Any]:
    return {
        "desc": desc,
        "leaf_index": str(_u(index)),
        "tree_size": str(_u(size)),
        "root": root.hex(),
        "leaf_hash": leaf.hex(),
        "proof": [p.hex() for p in proof],
        "want_err": want_err,
    }


def _con(
    desc: str, s1: int, s2: int, r1: bytes, r2: bytes, proof: list[bytes], want_err: bool
) -> dict[str, Any]:
    return {
        "desc": desc,
        "size1": str(_u(s1)),
        "size2": str(_u(s2)),
        "root1": r1.hex(),
        "root2": r2.hex(),
        "proof": [p.hex() for p in proof],
        "want_err": want_err,
    }


def inclusion_probes() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for n, (leaf_no, size, proof) in enumerate(INCLUSION):
        i, root = leaf_no - 1, ROOTS[size - 1]
        lh = hashlib.sha256(b"\x00" + LEAVES[leaf_no]).digest()
        tag = f"{n}: leaf {i} of {size}"
        out.append(_inc(f"{tag}: happy path", i, size, root, lh, proof, False))
        bad = [
            ("leafIdx - 1", i - 1, size, root, lh, proof),
            ("leafIdx + 1", i + 1, size, root, lh, proof),
            ("leafIdx ^ 2", i ^ 2, size, root, lh, proof),
            ("treeSize * 2", i, size * 2, root, lh, proof),
            ("treeSize / 2", i, size // 2, root, lh, proof),
            ("wrong leaf", i, size, root, b"WrongLeaf", proof),
            ("empty root", i, size, EMPTY_TREE_HASH, lh, proof),
            ("random root", i, size, SOME_HASH, lh, proof),
            ("trailing garbage", i, size, root, lh, [*proof, b""]),
            ("trailing root", i, size, root, lh, [*proof, root]),
            ("preceding garbage", i, size, root, lh, [b"", *proof]),
            ("preceding root", i, size, root, lh, [root, *proof]),
        ]
        bad += [
            (f"modified proof[{k}] bit 3", i, size, root, lh, _flip(proof, k, 8)) for k in range(len(proof))
        ]
        if proof:
            bad.append(("removed component", i, size, root, lh, proof[:-1]))
        if len(proof) > 1:
            bad.append(("inserted component", i, size, root, lh, [proof[0], SOME_HASH, *proof[1:]]))
        out += [_inc(f"{tag}: {d}", a, b, r, lf, p, True) for d, a, b, r, lf, p in bad]
    for index, size in ((0, 0), (0, 1), (1, 0), (2, 1)):
        tag = f"index {index}, size {size}"
        out.append(_inc(f"{tag}: random leaf, empty root bytes", index, size, b"", SOME_HASH, [], True))
        out.append(_inc(f"{tag}: empty leaf bytes", index, size, EMPTY_TREE_HASH, b"", [], True))
        out.append(
            _inc(f"{tag}: empty-tree root, random leaf", index, size, EMPTY_TREE_HASH, SOME_HASH, [], True)
        )
    single = hashlib.sha256(b"\x00data").digest()
    out += [
        _inc("single entry: matching root and leaf", 0, 1, single, single, [], False),
        _inc("single entry: empty leaf", 0, 1, single, b"", [], True),
        _inc("single entry: empty root", 0, 1, b"", single, [], True),
        _inc("single entry: empty root and leaf (wrong hash size)", 0, 1, b"", b"", [], True),
    ]
    return out


def consistency_probes() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for n, (s1, s2, proof) in enumerate(CONSISTENCY):
        r1, r2 = ROOTS[s1 - 1], ROOTS[s2 - 1]
        tag = f"{n}: {s1} to {s2}"
        out.append(_con(f"{tag}: happy path", s1, s2, r1, r2, proof, False))
        if not proof:
            continue
        bad = [
            ("size1 - 1", s1 - 1, s2, r1, r2, proof),
            ("size1 + 1", s1 + 1, s2, r1, r2, proof),
            ("size1 ^ 2", s1 ^ 2, s2, r1, r2, proof),
            ("size2 * 2", s1, s2 * 2, r1, r2, proof),
            ("size2 / 2", s1, s2 // 2, r1, r2, proof),
            ("wrong root1", s1, s2, b"WrongRoot", r2, proof),
            ("wrong root2", s1, s2, r1, b"WrongRoot", proof),
            ("swapped roots", s1, s2, r2, r1, proof),
            ("empty proof", s1, s2, r1, r2, []),
            ("trailing garbage", s1, s2, r1, r2, [*proof, b""]),
            ("trailing root1", s1, s2, r1, r2, [*proof, r1]),
            ("trailing root2", s1, s2, r1, r2, [*proof, r2]),
            ("preceding garbage", s1, s2, r1, r2, [b"", *proof]),
            ("preceding root1", s1, s2, r1, r2, [r1, *proof]),
            ("preceding root2", s1, s2, r1, r2, [r2, *proof]),
            ("preceding proof[0]", s1, s2, r1, r2, [proof[0], *proof]),
            ("truncated proof", s1, s2, r1, r2, proof[:-1]),
        ]
        bad += [
            (f"modified proof[{k}] bit 4", s1, s2, r1, r2, _flip(proof, k, 16)) for k in range(len(proof))
        ]
        out += [_con(f"{tag}: {d}", a, b, x, y, p, True) for d, a, b, x, y, p in bad]
    care1, care2, proof2 = b"don't care 1", b"don't care 2", [EMPTY_TREE_HASH]
    static = [
        ("sizes are equal (zero) but roots are not", 0, 0, care1, care2, [], True),
        ("sizes are equal (one) but roots are not", 1, 1, care1, care2, [], True),
        ("sizes are equal (zero) and proof is empty", 0, 0, care1, care1, [], True),
        ("size1 is zero and does not equal size2", 0, 1, care1, care2, [], True),
        ("sizes are equal (one) and proof is empty", 1, 1, care2, care2, [], False),
        ("size1 is greater than size2", 1, 0, care1, care2, [], True),
        ("size1 is greater than size2 again", 2, 1, care1, care2, [], True),
        ("sizes differ and proof is empty", 1, 2, care1, care2, [], True),
        ("roots do not match and sizes are zero", 0, 0, EMPTY_TREE_HASH, care2, [], True),
        ("roots do not match and sizes are one", 1, 1, EMPTY_TREE_HASH, care2, [], True),
        (
            "sizes match but proof is not empty and sizes are zero",
            0,
            0,
            EMPTY_TREE_HASH,
            EMPTY_TREE_HASH,
            proof2,
            True,
        ),
        (
            "sizes match but proof is not empty and sizes are one",
            1,
            1,
            EMPTY_TREE_HASH,
            EMPTY_TREE_HASH,
            proof2,
            True,
        ),
        ("size1 is zero and size2 is not zero", 0, 1, EMPTY_TREE_HASH, care2, [], True),
        (
            "consistency from the empty tree is meaningless",
            0,
            1,
            EMPTY_TREE_HASH,
            EMPTY_TREE_HASH,
            proof2,
            True,
        ),
    ]
    out += [_con(f"static: {d}", a, b, x, y, p, w) for d, a, b, x, y, p, w in static]
    return out


def build() -> str:
    doc = {
        "source": (
            "transparency-dev/merkle (Apache-2.0): testdata/gen and proof/verify_test.go; "
            "RFC 9162 sections 2.1.3.2 and 2.1.4.2"
        ),
        "hash": "SHA-256, RFC 6962 leaf prefix 0x00 and node prefix 0x01",
        "inclusion": inclusion_probes(),
        "consistency": consistency_probes(),
    }
    return json.dumps(doc, indent=1) + "\n"


def main() -> int:
    text = build()
    if "--check" in sys.argv[1:]:
        if not OUT.exists() or OUT.read_text("utf-8") != text:
            print(f"{OUT} is stale: run scripts/gen_merkle_vectors.py", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text, "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
