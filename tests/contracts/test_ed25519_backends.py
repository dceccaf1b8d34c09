"""The two Ed25519 verifiers behind contracts.mqtt.boundary.verify_ed25519 (libsodium via PyNaCl,
OpenSSL via cryptography) agree: on RFC 8032's test vectors, on malformed and non-canonical
signatures and keys, on small-order keys and R (where the bare libraries differ), and on random
signatures with random damage."""

from __future__ import annotations

import random

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from contracts.mqtt.boundary import BACKENDS, verify_ed25519
from tests.conftest import require

L = 2**252 + 27742317777372353535851937790883648493
P = 2**255 - 19

# RFC 8032 §7.1, TEST 1-3: (secret key, public key, message, signature).
RFC8032 = [
    (
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "",
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    ),
    (
        "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "72",
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    ),
    (
        "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
        "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
        "af82",
        "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
    ),
]

# Encodings of points of small order (1, 2, 4, 8), as libsodium's blocklist lists them.
SMALL_ORDER = [
    bytes(32),
    (1).to_bytes(32, "little"),
    bytes.fromhex("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"),
    bytes.fromhex("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a"),
    (P - 1).to_bytes(32, "little"),
    P.to_bytes(32, "little"),
    (P + 1).to_bytes(32, "little"),
]


@pytest.fixture(scope="module", autouse=True)
def both() -> None:
    require("sodium" in BACKENDS, "PyNaCl (libsodium) is not installed; ./scripts/bootstrap installs it")


def verdicts(public: bytes, signature: bytes, message: bytes) -> tuple[bool, bool]:
    return (
        verify_ed25519(public, signature, message, "sodium"),
        verify_ed25519(public, signature, message, "openssl"),
    )


def flip(data: bytes, bit: int) -> bytes:
    out = bytearray(data)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


@pytest.mark.parametrize(("secret", "public", "message", "signature"), RFC8032)
def test_rfc8032_vectors(secret: str, public: str, message: str, signature: str) -> None:
    sk, pk, msg, sig = (bytes.fromhex(x) for x in (secret, public, message, signature))
    # The transcription is right: the vector's key and signature are what RFC 8032 signing makes.
    private = Ed25519PrivateKey.from_private_bytes(sk)
    assert private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw) == pk
    assert private.sign(msg) == sig
    assert verdicts(pk, sig, msg) == (True, True)
    assert verdicts(pk, sig, msg + b"\x00") == (False, False)
    for bit in (0, 255, 256, 511):  # R's and S's first and last bits
        assert verdicts(pk, flip(sig, bit), msg) == (False, False), bit
    assert verdicts(flip(pk, 0), sig, msg) == (False, False)


@pytest.mark.parametrize(("secret", "public", "message", "signature"), RFC8032)
def test_a_non_canonical_s_is_refused(secret: str, public: str, message: str, signature: str) -> None:
    """S + L verifies the same equation: a second signature for the message (malleability)."""
    pk, msg, sig = (bytes.fromhex(x) for x in (public, message, signature))
    s = int.from_bytes(sig[32:], "little")
    for bad in (s + L, L, 2**256 - 1):
        if bad < 2**256:
            assert verdicts(pk, sig[:32] + bad.to_bytes(32, "little"), msg) == (False, False), hex(bad)


@pytest.mark.parametrize("point", SMALL_ORDER, ids=[p.hex()[:8] for p in SMALL_ORDER])
def test_small_order_keys_and_r_are_refused(point: bytes) -> None:
    """With A of small order, R = A's multiple and S = 0 'verify' any message under a cofactorless
    check (bare OpenSSL accepts the identity's): refused by both, whatever the sign bit."""
    for public in (point, flip(point, 255)):
        for r in (bytes(32), (1).to_bytes(32, "little"), point):
            for message in (b"", b"any message"):
                assert verdicts(public, r + bytes(32), message) == (False, False)
    # A genuine key with a small-order R.
    genuine = Ed25519PrivateKey.generate()
    pk = genuine.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    sig = genuine.sign(b"m")
    assert verdicts(pk, point + sig[32:], b"m") == (False, False)


def test_non_canonical_keys_are_refused() -> None:
    """y >= p (19 encodings, either sign bit): not a canonical encoding of any point."""
    genuine = Ed25519PrivateKey.generate()
    sig = genuine.sign(b"m")
    for y in range(P, 2**255):
        for sign in (0, 1 << 255):
            assert verdicts((y | sign).to_bytes(32, "little"), sig, b"m") == (False, False), y - P


def test_wrong_lengths_are_false_not_errors() -> None:
    _sk, pk, msg, sig = (bytes.fromhex(x) for x in RFC8032[0])
    for public, signature in ((pk[:31], sig), (pk + b"\x00", sig), (pk, sig[:63]), (pk, sig + b"\x00")):
        assert verdicts(public, signature, msg) == (False, False)
    assert verdicts(b"", b"", b"") == (False, False)
    with pytest.raises(ValueError):
        verify_ed25519(pk, sig, msg, "nonsense")


def test_random_signatures_and_damage_agree() -> None:
    rng = random.Random(18)
    for _ in range(200):
        key = Ed25519PrivateKey.from_private_bytes(rng.randbytes(32))
        pk = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        msg = rng.randbytes(rng.randrange(0, 120))
        sig = key.sign(msg)
        assert verdicts(pk, sig, msg) == (True, True)
        damaged = flip(sig, rng.randrange(512))
        assert verdicts(pk, damaged, msg) == (False, False)
        other = rng.randbytes(32)  # mostly not a point at all
        assert len(set(verdicts(other, sig, msg))) == 1
