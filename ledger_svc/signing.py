"""Signed tree heads: the documented byte encoding and Ed25519 signing (spec §6).

A signed head binds (log id, tree size, root hash, timestamp). The log id is SHA-256 of the raw
32-byte Ed25519 public key, so a head cannot be replayed as if it came from another log.
"""

from __future__ import annotations

import base64
import hashlib
import struct
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from common import tlog

__all__ = [
    "TREE_HEAD_MAGIC",
    "SignedTreeHead",
    "Signer",
    "TreeHead",
    "encode_tree_head",
    "load_or_create_signer",
    "log_id_of",
    "verify_signed_head",
]

TREE_HEAD_MAGIC = b"EPTH"
_HEAD = struct.Struct(">4sB32sQ32sq")


@dataclass(frozen=True, slots=True)
class TreeHead:
    log_id: bytes
    tree_size: int
    root_hash: bytes
    timestamp_ms: int


@dataclass(frozen=True, slots=True)
class SignedTreeHead:
    head: TreeHead
    signature: bytes
    public_key: bytes  # raw 32 bytes


def encode_tree_head(head: TreeHead) -> bytes:
    """ "EPTH" || 0x01 || log_id[32] || u64 tree_size || root[32] || i64 timestamp_ms (85 bytes)."""
    return _HEAD.pack(TREE_HEAD_MAGIC, 1, head.log_id, head.tree_size, head.root_hash, head.timestamp_ms)


def log_id_of(public_key: bytes) -> bytes:
    return hashlib.sha256(public_key).digest()


def verify_signed_head(sth: SignedTreeHead, trusted_public_key: bytes) -> bool:
    """True if ``sth`` is signed by ``trusted_public_key`` and names that key's log id."""
    if sth.head.log_id != log_id_of(trusted_public_key):
        return False
    try:
        Ed25519PublicKey.from_public_bytes(trusted_public_key).verify(
            sth.signature, encode_tree_head(sth.head)
        )
    except (InvalidSignature, ValueError):
        return False
    return True


class Signer:
    """Holds the log's Ed25519 private key; every replica loads the same key."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._key = private_key
        self.public_key = private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self.log_id = log_id_of(self.public_key)

    @classmethod
    def from_seed(cls, seed: bytes) -> Signer:
        return cls(Ed25519PrivateKey.from_private_bytes(seed))

    @classmethod
    def generate(cls) -> Signer:
        return cls(Ed25519PrivateKey.generate())

    def seed(self) -> bytes:
        return self._key.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        )

    def checkpoint(self, origin: str, tree_size: int, root_hash: bytes) -> str:
        """The C2SP checkpoint of (tree_size, root_hash) as a note signed by this key (spec §16)."""
        return tlog.sign_note(
            tlog.checkpoint_text(tlog.Checkpoint(origin, tree_size, root_hash)), origin, self._key
        )

    def verifier_key(self, origin: str) -> str:
        return tlog.verifier_key(origin, tlog.ALG_ED25519, self.public_key)

    def sign(self, tree_size: int, root_hash: bytes, timestamp_ms: int) -> SignedTreeHead:
        head = TreeHead(self.log_id, tree_size, root_hash, timestamp_ms)
        return SignedTreeHead(head, self._key.sign(encode_tree_head(head)), self.public_key)


def load_or_create_signer(key_file: Path, seed_b64: str = "", create: bool = False) -> Signer:
    """The signer from a base64 seed (env), else a PEM key file; optionally create the file (dev)."""
    if seed_b64:
        seed = base64.b64decode(seed_b64)
        if len(seed) != 32:
            raise ValueError("Ed25519 seed must decode to 32 bytes")
        return Signer.from_seed(seed)
    if key_file.exists():
        key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{key_file} does not hold an Ed25519 private key")
        return Signer(key)
    if not create:
        raise FileNotFoundError(f"signing key {key_file} does not exist")
    signer = Signer.generate()
    key_file.parent.mkdir(parents=True, exist_ok=True)
    pem = signer._key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    key_file.touch(mode=0o600)
    key_file.write_bytes(pem)
    return signer
