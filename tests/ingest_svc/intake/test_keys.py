"""MeterKeys.preload: a batch's missing keys in one query, kept in the cache, misses remembered."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import delete, insert

from contracts.mqtt.boundary import key_id
from ingest_svc.intake.keys import MeterKeys
from ingest_svc.intake.store import MeterKeyRow
from meter_sim.signing import MeterSigner
from tests.ingest_svc.billing.fakes import store


def test_preload_caches_a_batchs_keys_and_remembers_the_misses(tmp_path: Path) -> None:
    engine = store(tmp_path)
    signers = [MeterSigner.generate(f"m-{i}") for i in range(3)]
    with engine.begin() as conn:
        conn.execute(
            insert(MeterKeyRow),
            [
                {
                    "meter_id": s.meter_id,
                    "key_id": key_id(s.public_key),
                    "algorithm": "ed25519",
                    "public_key": s.public_key,
                    "registered_ms": 0,
                }
                for s in signers
            ],
        )
    keys = MeterKeys(engine, refresh_s=60.0, clock=lambda: 1000.0)
    wanted = [(s.meter_id, key_id(s.public_key)) for s in signers]
    keys.preload([*wanted, ("m-9", "ff" * 16)])
    with engine.begin() as conn:  # from here on only the cache can answer
        conn.execute(delete(MeterKeyRow))
    for (meter, kid), signer in zip(wanted, signers, strict=True):
        found = keys.key(meter, kid)
        assert found is not None and found.raw == signer.public_key
    assert keys.key("m-9", "ff" * 16) is None
