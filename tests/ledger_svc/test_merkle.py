"""RFC 9162 Merkle tree: published test vectors plus property tests over random tree sizes."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger_svc.merkle import (
    EMPTY_ROOT,
    MerkleTree,
    ProofError,
    leaf_hash,
    node_hash,
    root_of,
    verify_consistency,
    verify_inclusion,
)

# Test vectors from transparency-dev/merkle, proof/verify_test.go (Apache-2.0; originally from
# google/certificate-transparency's merkle_tree_test): eight leaves, the root of every prefix,
# and known-good inclusion (1-based leaf) and consistency proofs.
LEAVES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
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
INCLUSION = [
    (1, 1, []),
    (
        1,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (3, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        2,
        5,
        [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]
CONSISTENCY = [
    (1, 1, []),
    (
        1,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        6,
        7,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
]


@pytest.fixture(scope="module")
def tree() -> MerkleTree:
    t = MerkleTree()
    t.append_data(LEAVES)
    return t


def test_empty_tree_root_is_sha256_of_nothing() -> None:
    assert MerkleTree().root() == EMPTY_ROOT == hashlib.sha256(b"").digest()
    assert root_of([]) == EMPTY_ROOT


@pytest.mark.parametrize("size", range(1, 9))
def test_roots_match_vectors(tree: MerkleTree, size: int) -> None:
    assert tree.root(size) == ROOTS[size - 1]
    assert root_of([leaf_hash(x) for x in LEAVES[:size]]) == ROOTS[size - 1]


@pytest.mark.parametrize(("leaf", "size", "proof"), INCLUSION)
def test_inclusion_proofs_match_vectors(tree: MerkleTree, leaf: int, size: int, proof: list[str]) -> None:
    expected = [bytes.fromhex(p) for p in proof]
    assert tree.inclusion_proof(leaf - 1, size) == expected
    verify_inclusion(leaf - 1, size, leaf_hash(LEAVES[leaf - 1]), expected, ROOTS[size - 1])


@pytest.mark.parametrize(("size1", "size2", "proof"), CONSISTENCY)
def test_consistency_proofs_match_vectors(tree: MerkleTree, size1: int, size2: int, proof: list[str]) -> None:
    expected = [bytes.fromhex(p) for p in proof]
    assert tree.consistency_proof(size1, size2) == expected
    verify_consistency(size1, size2, ROOTS[size1 - 1], ROOTS[size2 - 1], expected)


@pytest.mark.parametrize(("leaf", "size", "proof"), [v for v in INCLUSION if v[2]])
def test_corrupted_inclusion_proofs_fail(leaf: int, size: int, proof: list[str]) -> None:
    # The corruptions of transparency-dev's corruptInclusionProof.
    path = [bytes.fromhex(p) for p in proof]
    good_leaf, root, i = leaf_hash(LEAVES[leaf - 1]), ROOTS[size - 1], leaf - 1
    probes = [
        (i + 1, size, good_leaf, path, root),
        (i ^ 2, size, good_leaf, path, root),
        (i, size * 2, good_leaf, path, root),
        (i, size // 2, good_leaf, path, root),
        (i, size, leaf_hash(b"WrongLeaf"), path, root),
        (i, size, good_leaf, path, EMPTY_ROOT),
        (i, size, good_leaf, [*path, b""], root),
        (i, size, good_leaf, [*path, root], root),
        (i, size, good_leaf, [root, *path], root),
        (i, size, good_leaf, path[:-1], root),
        *[
            (
                i,
                size,
                good_leaf,
                [bytes([p[0] ^ 8]) + p[1:] if j == k else p for j, p in enumerate(path)],
                root,
            )
            for k in range(len(path))
        ],
    ]
    if i > 0:
        probes.append((i - 1, size, good_leaf, path, root))
    for index, tree_size, lf, pr, rt in probes:
        with pytest.raises(ProofError):
            verify_inclusion(index, tree_size, lf, pr, rt)


@pytest.mark.parametrize(("size1", "size2", "proof"), [v for v in CONSISTENCY if v[2]])
def test_corrupted_consistency_proofs_fail(size1: int, size2: int, proof: list[str]) -> None:
    path = [bytes.fromhex(p) for p in proof]
    r1, r2 = ROOTS[size1 - 1], ROOTS[size2 - 1]
    probes = [
        (size1 - 1, size2, r1, r2, path),
        (size1 + 1, size2, r1, r2, path),
        (size1, size2 * 2, r1, r2, path),
        (size1, size2 // 2, r1, r2, path),
        (size1, size2, EMPTY_ROOT, r2, path),
        (size1, size2, r1, EMPTY_ROOT, path),
        (size1, size2, r2, r1, path),
        (size1, size2, r1, r2, []),
        (size1, size2, r1, r2, [*path, r1]),
        (size1, size2, r1, r2, [r2, *path]),
        (size1, size2, r1, r2, path[:-1]),
        *[
            (size1, size2, r1, r2, [bytes([p[0] ^ 16]) + p[1:] if j == k else p for j, p in enumerate(path)])
            for k in range(len(path))
        ],
    ]
    for s1, s2, a, b, pr in probes:
        if s1 == s2 or s1 <= 0:
            continue
        with pytest.raises(ProofError):
            verify_consistency(s1, s2, a, b, pr)


def test_proof_parameters_out_of_range(tree: MerkleTree) -> None:
    with pytest.raises(ProofError):
        tree.inclusion_proof(8, 8)
    with pytest.raises(ProofError):
        tree.inclusion_proof(0, 9)
    with pytest.raises(ProofError):
        tree.consistency_proof(5, 4)


# --- property tests against a direct transcription of the RFC's recursive definitions --------


def _mth(d: list[bytes]) -> bytes:
    if not d:
        return EMPTY_ROOT
    if len(d) == 1:
        return leaf_hash(d[0])
    k = 1 << ((len(d) - 1).bit_length() - 1)
    return node_hash(_mth(d[:k]), _mth(d[k:]))


def _path(m: int, d: list[bytes]) -> list[bytes]:
    if len(d) == 1:
        return []
    k = 1 << ((len(d) - 1).bit_length() - 1)
    return [*_path(m, d[:k]), _mth(d[k:])] if m < k else [*_path(m - k, d[k:]), _mth(d[:k])]


def _subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    if m == len(d):
        return [] if b else [_mth(d)]
    k = 1 << ((len(d) - 1).bit_length() - 1)
    return (
        [*_subproof(m, d[:k], b), _mth(d[k:])] if m <= k else [*_subproof(m - k, d[k:], False), _mth(d[:k])]
    )


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 300), data=st.data())
def test_random_sizes_inclusion(n: int, data: st.DataObject) -> None:
    entries = [i.to_bytes(4, "big") for i in range(n)]
    t = MerkleTree()
    t.append_data(entries)
    size = data.draw(st.integers(1, n))
    index = data.draw(st.integers(0, size - 1))
    proof = t.inclusion_proof(index, size)
    assert t.root(size) == _mth(entries[:size])
    assert proof == _path(index, entries[:size])
    verify_inclusion(index, size, leaf_hash(entries[index]), proof, t.root(size))
    with pytest.raises(ProofError):
        verify_inclusion(index, size, leaf_hash(b"other"), proof, t.root(size))


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 300), data=st.data())
def test_random_sizes_consistency(n: int, data: st.DataObject) -> None:
    entries = [i.to_bytes(4, "big") for i in range(n)]
    t = MerkleTree()
    t.append_data(entries)
    size2 = data.draw(st.integers(1, n))
    size1 = data.draw(st.integers(1, size2))
    proof = t.consistency_proof(size1, size2)
    if size1 < size2:
        assert proof == _subproof(size1, entries[:size2], True)
    verify_consistency(size1, size2, t.root(size1), t.root(size2), proof)
    if size1 < size2:
        with pytest.raises(ProofError):
            verify_consistency(size1, size2, _mth([b"x", *entries[1:size1]]), t.root(size2), proof)


@settings(max_examples=30, deadline=None)
@given(chunks=st.lists(st.integers(1, 300), min_size=1, max_size=8))
def test_incremental_appends_equal_one_shot(chunks: list[int]) -> None:
    entries = [i.to_bytes(4, "big") for i in range(sum(chunks))]
    grown, pos = MerkleTree(), 0
    for c in chunks:
        grown.append_data(entries[pos : pos + c])
        pos += c
        assert grown.root() == _mth(entries[:pos])
        for size in {1, pos // 2 + 1, pos - 1}:  # historical roots read the stored inner nodes
            assert grown.root(size) == _mth(entries[:size])


def test_a_bad_leaf_hash_appends_nothing_of_its_batch() -> None:
    tree = MerkleTree()
    tree.append_data([b"a", b"b", b"c"])
    root = tree.root()
    with pytest.raises(ValueError):
        tree.append_leaf_hashes([leaf_hash(b"d"), b"short", leaf_hash(b"e")])
    assert (tree.size, tree.root()) == (3, root)
    tree.append_data([b"d"])
    assert tree.root() == _mth([b"a", b"b", b"c", b"d"])
