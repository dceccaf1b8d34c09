"""Meter signing keys and the signed register values at settlement-period boundaries.

Each meter gets an Ed25519 key at provisioning (its first start): made from the OS's random
source, never from the fleet seed (the seed is in the repository), and kept in
``EP_METER_KEY_FILE`` (mode 0600) so a restarted meter keeps its key. The public key is
registered with ingest (``Meter.signing_key``). At every boundary ``t`` (a multiple of the
settlement period) the meter latches its import and export registers in Wh and signs them
(contracts/mqtt/boundary.py); the first reading at or after ``t`` carries them as ``boundary``.

Why Ed25519 and not ECDSA P-256 (docs/telemetry-payload.md): deterministic signatures (no
per-signature nonce for a cheap meter's RNG to get wrong), 64-byte signatures, a verification that
costs ingest roughly half of P-256's, and the same primitive the ledger's heads already use, so the
verifier and the browser (WebCrypto Ed25519) check meter values with code they already have.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from common.log import get_logger
from contracts.mqtt.boundary import b64url, boundary_message, key_id

__all__ = ["FleetSigner", "MeterSigner"]

log = get_logger(__name__)


class MeterSigner:
    """One meter's signing key."""

    def __init__(self, meter_id: str, private: Ed25519PrivateKey) -> None:
        self.meter_id = meter_id
        self._private = private
        self.public_key = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.key_id = key_id(self.public_key)

    @classmethod
    def generate(cls, meter_id: str) -> MeterSigner:
        return cls(meter_id, Ed25519PrivateKey.generate())

    def seed(self) -> bytes:
        from cryptography.hazmat.primitives.serialization import NoEncryption, PrivateFormat

        return self._private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())

    def boundary(self, boundary_ms: int, import_wh: int, export_wh: int, seq: int) -> dict[str, object]:
        """The reading's ``boundary`` object: the values and their signature."""
        signature = self._private.sign(
            boundary_message(self.meter_id, boundary_ms, import_wh, export_wh, seq)
        )
        return {
            "t_ms": boundary_ms,
            "import_wh": import_wh,
            "export_wh": export_wh,
            "key_id": self.key_id,
            "sig": b64url(signature),
        }


class FleetSigner:
    """The keys of every meter of a simulator process, in fleet order."""

    def __init__(self, signers: Sequence[MeterSigner]) -> None:
        self.signers = list(signers)

    @classmethod
    def load_or_create(cls, meter_ids: Sequence[str], path: Path | None) -> FleetSigner:
        """Keys from ``path`` where it has them; new keys for the other meters (then saved)."""
        saved: dict[str, str] = {}
        if path is not None:
            try:
                saved = dict(json.loads(path.read_text())["keys"])
            except FileNotFoundError:
                pass
            except (OSError, ValueError, KeyError, TypeError) as exc:
                raise OSError(f"meter key file {path} is unreadable: {exc}") from exc
        signers, made = [], 0
        for meter_id in meter_ids:
            seed = saved.get(meter_id)
            if seed is not None:
                signers.append(
                    MeterSigner(meter_id, Ed25519PrivateKey.from_private_bytes(bytes.fromhex(seed)))
                )
            else:
                signers.append(MeterSigner.generate(meter_id))
                made += 1
        fleet = cls(signers)
        if path is not None and made:
            fleet.save(path, saved)
            log.info("meter_keys_made", path=str(path), made=made)
        return fleet

    def save(self, path: Path, keep: dict[str, str] | None = None) -> None:
        keys = dict(keep or {})
        keys.update({s.meter_id: s.seed().hex() for s in self.signers})
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w") as out:
                json.dump({"v": 1, "algorithm": "ed25519", "keys": keys}, out)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def public_keys(self) -> dict[str, bytes]:
        return {s.meter_id: s.public_key for s in self.signers}
