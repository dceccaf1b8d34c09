"""The verifier's independent implementation reproduces the published test vectors."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from verifier import spec

VECTORS = json.loads(
    (Path(__file__).resolve().parents[2] / "docs/ledger-test-vectors.json").read_text("utf-8")
)


def _ts(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _as_api_json(r: dict[str, Any]) -> dict[str, Any]:
    """The vector's record as the JSON API renders it (lowerCamelCase, int64 as strings)."""
    if r["kind"] == "SETTLEMENT":
        return {
            "settlement": {
                "householdId": r["household_id"],
                "hourStart": _ts(r["hour_ms"]),
                "meteredWh": str(r["metered_wh"]),
                "spotPriceMicroEurPerKwh": str(r["spot_price_ueur_per_kwh"]),
                "spotCostMicroEur": str(r["spot_cost_ueur"]),
                "gridEnergyCostMicroEur": str(r["grid_energy_cost_ueur"]),
                "capacityCostMicroEur": str(r["capacity_cost_ueur"]),
                "standingChargeMicroEur": str(r["standing_charge_ueur"]),
                "vatMicroEur": str(r["vat_ueur"]),
                "totalCostMicroEur": str(r["total_cost_ueur"]),
            }
        }
    return {
        "prediction": {
            "householdId": r["household_id"],
            "zone": r["zone"],
            "targetHour": _ts(r["target_hour_ms"]),
            "priceP10MicroEurPerKwh": str(r["price_p10_ueur_per_kwh"]),
            "priceP50MicroEurPerKwh": str(r["price_p50_ueur_per_kwh"]),
            "priceP90MicroEurPerKwh": str(r["price_p90_ueur_per_kwh"]),
            "consumptionWh": str(r["consumption_wh"]),
            "costMicroEur": str(r["cost_ueur"]),
            "modelVersion": r["model_version"],
            "createTime": _ts(r["created_at_ms"]),
        }
    }


def test_transactions_reproduce() -> None:
    prev = bytes(32)
    for tx in VECTORS["transactions"]:
        body = spec.record_bytes_from_json(_as_api_json(tx["record"]), tx["record"]["salt"])
        assert body.hex() == tx["canonical_hex"]
        h = spec.tx_hash(body, tx["appended_at_ms"], prev)
        assert h.hex() == tx["tx_hash"] and tx["prev_tx_hash"] == prev.hex()
        assert spec.leaf_hash(h).hex() == tx["leaf_hash"]
        prev = h


def test_blocks_heads_and_proofs_reproduce() -> None:
    hashes = [bytes.fromhex(t["tx_hash"]) for t in VECTORS["transactions"]]
    for b in VECTORS["blocks"]:
        root = spec.mth(hashes[b["first_tx_index"] : b["first_tx_index"] + b["tx_count"]])
        assert root.hex() == b["merkle_root"]
        assert (
            spec.block_hash(
                b["height"],
                bytes.fromhex(b["prev_block_hash"]),
                root,
                b["first_tx_index"],
                b["tx_count"],
                b["sealed_at_ms"],
            ).hex()
            == b["block_hash"]
        )
    key = base64.b64decode(VECTORS["signing_key"]["public_key_b64"])
    key_id = bytes.fromhex(VECTORS["signing_key"]["key_id_hex"])
    roots = {}
    for h in VECTORS["signed_heads"]:
        root = spec.mth(hashes[: h["tree_size"]])
        assert root.hex() == h["root_hash"]
        assert (
            spec.tree_head_bytes(key_id, h["tree_size"], root, h["timestamp_ms"]).hex() == h["tree_head_hex"]
        )
        spec.check_head_signature(
            key, key_id, h["tree_size"], root, h["timestamp_ms"], base64.b64decode(h["signature_b64"])
        )
        with pytest.raises(spec.SpecError):
            spec.check_head_signature(
                key, key_id, h["tree_size"] + 1, root, h["timestamp_ms"], base64.b64decode(h["signature_b64"])
            )
        roots[h["tree_size"]] = root
    for p in VECTORS["inclusion_proofs"]:
        path = [bytes.fromhex(x) for x in p["audit_path"]]
        leaf = spec.leaf_hash(hashes[p["leaf_index"]])
        assert spec.root_from_inclusion(p["leaf_index"], p["tree_size"], leaf, path) == roots[p["tree_size"]]
    for c in VECTORS["consistency_proofs"]:
        spec.check_consistency(
            c["first_size"],
            c["second_size"],
            roots[c["first_size"]],
            roots[c["second_size"]],
            [bytes.fromhex(x) for x in c["proof"]],
        )
        with pytest.raises(spec.SpecError):
            spec.check_consistency(
                c["first_size"],
                c["second_size"],
                roots[c["second_size"]],
                roots[c["second_size"]],
                [bytes.fromhex(x) for x in c["proof"]],
            )


def test_timestamps_must_be_whole_milliseconds() -> None:
    assert spec.rfc3339_to_ms("2026-01-01T00:00:00.123Z") == 1_767_225_600_123
    assert spec.rfc3339_to_ms("2026-01-01T00:00:00Z") == 1_767_225_600_000
    with pytest.raises(spec.SpecError):
        spec.rfc3339_to_ms("2026-01-01T00:00:00.123456Z")
