"""Transparency-log notes, as the C2SP specifications define them (signed-note, tlog-checkpoint,
tlog-cosignature/v1), with Ed25519 keys. The ledger signs its checkpoints with it, the witness
checks and cosigns them; docs/ledger-spec.md §16 describes the format, docs/ledger-checkpoint-vectors.json
holds worked examples.

* signed note: ``text`` (UTF-8, ends with a newline) + an empty line + one line per signature,
  ``"— <key name> " + base64(key id (4) || signature)``. An Ed25519 key id is
  ``SHA-256(name || "\\n" || 0x01 || public key)[:4]``, the signature is over ``text``.
* checkpoint: ``text`` is ``origin\\nsize\\nbase64(root)\\n`` (the log's origin, decimal tree size,
  root hash).
* cosignature/v1: key id ``SHA-256(name || "\\n" || 0x04 || public key)[:4]``, signature bytes
  ``u64 timestamp (big-endian) || Ed25519(key, "cosignature/v1\\ntime <timestamp>\\n" || text)``.
* verifier key (vkey): ``name+hex(key id)+base64(type byte || public key)``.
"""

from __future__ import annotations

import base64
import hashlib
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

__all__ = [
    "ALG_COSIGNATURE_V1",
    "ALG_ED25519",
    "Checkpoint",
    "Cosignature",
    "NoteError",
    "NoteSignature",
    "Verifier",
    "checkpoint_text",
    "cosign",
    "cosigned_message",
    "key_id",
    "parse_checkpoint",
    "parse_note",
    "sign_note",
    "verifier_key",
]

ALG_ED25519 = 0x01
ALG_COSIGNATURE_V1 = 0x04
_DASH = "\u2014 "  # "— "
_MAX_NAME = 255


class NoteError(ValueError):
    """A note, checkpoint or signature is malformed or does not verify."""


@dataclass(frozen=True)
class NoteSignature:
    name: str
    key_id: bytes  # 4 bytes
    signature: bytes  # the bytes after the key id


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()


@dataclass(frozen=True)
class Cosignature:
    name: str
    timestamp: int  # seconds since the epoch


def key_id(name: str, alg: int, public_key: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + bytes([alg]) + public_key).digest()[:4]


def _check_name(name: str) -> None:
    if not name or len(name) > _MAX_NAME or any(c.isspace() or c == "+" for c in name):
        raise NoteError(f"not a key name: {name!r}")


def verifier_key(name: str, alg: int, public_key: bytes) -> str:
    """The vkey of a key: ``name+<key id hex>+<base64(alg || key)>``."""
    _check_name(name)
    return (
        f"{name}+{key_id(name, alg, public_key).hex()}+{base64.b64encode(bytes([alg]) + public_key).decode()}"
    )


@dataclass(frozen=True)
class Verifier:
    """A trusted key parsed from its vkey."""

    name: str
    alg: int
    public_key: bytes

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.alg, self.public_key)

    @classmethod
    def parse(cls, vkey: str) -> Verifier:
        parts = vkey.strip().split("+", 2)  # the base64 part may hold "+" itself
        if len(parts) != 3:
            raise NoteError("a verifier key is name+keyid+key")
        name, kid_hex, key_b64 = parts
        _check_name(name)
        try:
            raw = base64.b64decode(key_b64, validate=True)
            kid = bytes.fromhex(kid_hex)
        except ValueError as exc:
            raise NoteError("a verifier key's id or key is not hex/base64") from exc
        if len(raw) != 33 or raw[0] not in (ALG_ED25519, ALG_COSIGNATURE_V1):
            raise NoteError("only Ed25519 note keys and cosignature/v1 keys are supported")
        verifier = cls(name, raw[0], raw[1:])
        if verifier.key_id != kid:
            raise NoteError("the verifier key's id does not match its name and key")
        return verifier

    def __str__(self) -> str:
        return verifier_key(self.name, self.alg, self.public_key)


def checkpoint_text(checkpoint: Checkpoint) -> str:
    if (
        not checkpoint.origin
        or "\n" in checkpoint.origin
        or checkpoint.size < 0
        or len(checkpoint.root) != 32
    ):
        raise NoteError("a checkpoint needs an origin line, a size >= 0 and a 32-byte root")
    lines = [
        checkpoint.origin,
        str(checkpoint.size),
        base64.b64encode(checkpoint.root).decode(),
        *checkpoint.extensions,
    ]
    return "".join(line + "\n" for line in lines)


def parse_checkpoint(text: str) -> Checkpoint:
    if not text.endswith("\n"):
        raise NoteError("a checkpoint ends with a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3 or not lines[0] or any(not line for line in lines):
        raise NoteError("a checkpoint has an origin, a size and a root line (no empty lines)")
    origin, size_s, root_b64, *ext = lines
    if not size_s.isdigit() or (size_s != "0" and size_s.startswith("0")):
        raise NoteError("the size line is a decimal without leading zeroes")
    try:
        root = base64.b64decode(root_b64, validate=True)
    except ValueError as exc:
        raise NoteError("the root line is not base64") from exc
    if len(root) != 32:
        raise NoteError("the root hash is not 32 bytes")
    return Checkpoint(origin, int(size_s), root, tuple(ext))


def _signature_line(name: str, kid: bytes, sig: bytes) -> str:
    return f"{_DASH}{name} {base64.b64encode(kid + sig).decode()}\n"


def sign_note(text: str, name: str, private_key: Ed25519PrivateKey) -> str:
    """``text`` signed by ``name`` (an Ed25519 note signature): the whole note."""
    _check_name(name)
    if not text.endswith("\n"):
        raise NoteError("note text ends with a newline")
    public = private_key.public_key().public_bytes_raw()
    sig = private_key.sign(text.encode())
    return text + "\n" + _signature_line(name, key_id(name, ALG_ED25519, public), sig)


def cosigned_message(text: str, timestamp: int) -> bytes:
    return f"cosignature/v1\ntime {timestamp}\n".encode() + text.encode()


def cosign(text: str, name: str, private_key: Ed25519PrivateKey, timestamp: int) -> str:
    """The cosignature/v1 signature line over checkpoint ``text`` at ``timestamp`` (seconds)."""
    _check_name(name)
    if not 0 <= timestamp < 1 << 63:
        raise NoteError("the cosignature timestamp is out of range")
    public = private_key.public_key().public_bytes_raw()
    sig = struct.pack(">Q", timestamp) + private_key.sign(cosigned_message(text, timestamp))
    return _signature_line(name, key_id(name, ALG_COSIGNATURE_V1, public), sig)


def parse_note(note: str) -> tuple[str, list[NoteSignature]]:
    """Split a signed note into its text and its signature lines (unverified)."""
    cut = note.rfind("\n\n")
    if cut < 0 or not note.endswith("\n"):
        raise NoteError("a signed note is text, an empty line and signature lines")
    text, block = note[: cut + 1], note[cut + 2 :]
    sigs: list[NoteSignature] = []
    for line in block[:-1].split("\n"):
        if not line.startswith(_DASH):
            raise NoteError("a signature line starts with an em dash and a space")
        name, _, b64 = line[len(_DASH) :].partition(" ")
        _check_name(name)
        try:
            raw = base64.b64decode(b64, validate=True)
        except ValueError as exc:
            raise NoteError("a signature is not base64") from exc
        if len(raw) < 5:
            raise NoteError("a signature is shorter than its key id")
        sigs.append(NoteSignature(name, raw[:4], raw[4:]))
    if not sigs:
        raise NoteError("the note carries no signature")
    return text, sigs


def verify_note(note: str, verifier: Verifier) -> str:
    """The note's text, once ``verifier``'s Ed25519 note signature on it checks out."""
    if verifier.alg != ALG_ED25519:
        raise NoteError("not a note-signing key")
    text, sigs = parse_note(note)
    for s in sigs:
        if s.name == verifier.name and s.key_id == verifier.key_id:
            try:
                Ed25519PublicKey.from_public_bytes(verifier.public_key).verify(s.signature, text.encode())
            except InvalidSignature as exc:
                raise NoteError(f"the signature of {verifier.name} does not verify") from exc
            return text
    raise NoteError(f"the note is not signed by {verifier.name}")


def verify_cosignature(note: str, verifier: Verifier) -> Cosignature:
    """The cosignature/v1 of ``verifier`` on the note, checked."""
    if verifier.alg != ALG_COSIGNATURE_V1:
        raise NoteError("not a cosignature/v1 key")
    text, sigs = parse_note(note)
    for s in sigs:
        if s.name == verifier.name and s.key_id == verifier.key_id:
            if len(s.signature) != 8 + 64:
                raise NoteError("a cosignature/v1 is a timestamp and an Ed25519 signature")
            (timestamp,) = struct.unpack(">Q", s.signature[:8])
            try:
                Ed25519PublicKey.from_public_bytes(verifier.public_key).verify(
                    s.signature[8:], cosigned_message(text, timestamp)
                )
            except InvalidSignature as exc:
                raise NoteError(f"the cosignature of {verifier.name} does not verify") from exc
            return Cosignature(verifier.name, timestamp)
    raise NoteError(f"the checkpoint is not cosigned by {verifier.name}")
