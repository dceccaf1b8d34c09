"""``python -m verifier tx|invoice|chain|head|checkpoint|consistency``: check the ledger without trusting it.

Exit status: 0 everything verified, 1 something did not verify, 2 usage or transport error.
Pin the log's key with ``--public-key`` (base64) or EP_LEDGER_PUBLIC_KEY, or with its note key
``--ledger-key`` (vkey) or EP_LEDGER_VERIFIER_KEY; without either the key the server sends is used
and the result says ``"key_pinned": false``. With ``--witness-url``/``--witness-key`` (EP_WITNESS_*)
every command also checks the head against the witness's cosigned checkpoint (spec §16) and fails
on a forked head.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from verifier import metering, spec
from verifier.client import ApiError, HeadResponse, LedgerApi, Transaction, Transport

__all__ = ["main", "run"]


@dataclass(frozen=True)
class Head:
    tree_size: int
    root: bytes
    timestamp_ms: int
    signature: bytes
    key_id: bytes
    public_key: bytes
    raw: HeadResponse


def _head(response: HeadResponse, pinned: bytes | None) -> Head:
    h = response["head"]
    key = pinned or base64.b64decode(response["publicKey"])
    head = Head(
        int(h.get("treeSize", 0)),
        bytes.fromhex(h["rootHash"]),
        spec.rfc3339_to_ms(h["timestamp"]),
        base64.b64decode(h["signature"]),
        bytes.fromhex(h["keyId"]),
        key,
        response,
    )
    spec.check_head_signature(key, head.key_id, head.tree_size, head.root, head.timestamp_ms, head.signature)
    return head


class Verifier:
    def __init__(self, api: LedgerApi, pinned_key: bytes | None) -> None:
        self.api = api
        self.pinned = pinned_key

    def head(self, saved: str | None = None) -> Head:
        response: HeadResponse = json.loads(Path(saved).read_text()) if saved else self.api.head()
        return _head(response, self.pinned)

    def _line(self, tx: Transaction, head: Head) -> dict[str, object]:
        """Recompute one transaction's hash (when its content is visible) and prove it in ``head``."""
        index = int(tx.get("leafIndex", 0))
        out: dict[str, object] = {"tx_hash": tx["txHash"], "leaf_index": index}
        claimed = bytes.fromhex(tx["txHash"])
        if tx.get("record") and tx.get("salt"):
            body = spec.record_bytes_from_json(tx["record"], tx["salt"])
            recomputed = spec.tx_hash(
                body, spec.rfc3339_to_ms(tx["appendTime"]), bytes.fromhex(tx["prevTxHash"])
            )
            out["hash_valid"] = recomputed == claimed
        else:
            recomputed, out["hash_valid"] = claimed, None  # content hidden from this caller
        if index >= head.tree_size:
            out.update(inclusion_valid=False, reason="NOT_IN_SIGNED_HEAD")
            return out
        proof = self.api.inclusion_proof(tx["txHash"], head.tree_size)
        path = [bytes.fromhex(p) for p in proof.get("auditPath", [])]
        try:
            out["inclusion_valid"] = (
                spec.root_from_inclusion(index, head.tree_size, spec.leaf_hash(recomputed), path) == head.root
            )
        except spec.SpecError:
            out["inclusion_valid"] = False
        if out["hash_valid"] is False:
            out["reason"] = "HASH_MISMATCH"
        elif not out["inclusion_valid"]:
            out["reason"] = "INCLUSION_FAILED"
        return out

    def tx(self, tx_hash: str, saved_head: str | None) -> dict[str, object]:
        head = self.head(saved_head)
        line = self._line(self.api.transaction(tx_hash), head)
        ok = line["hash_valid"] is not False and line["inclusion_valid"]
        return {"ok": bool(ok), "tree_size": head.tree_size, **line}

    def invoice(self, household: str, month: str, saved_head: str | None) -> dict[str, object]:
        head = self.head(saved_head)
        invoice = self.api.invoice(household, month)
        lines = [self._line(line["transaction"], head) for line in invoice.get("lines", [])]
        # The meter-key records the signatures are checked with are proven in the head too.
        keys = [self._line(tx, head) for tx in invoice.get("meterKeys", [])]
        # Operator corrections (spec §17.6) are proven like lines and shown with why and who.
        fixes = [self._line(tx, head) for tx in invoice.get("corrections", [])]
        # The unbilled-period records that give the missing periods' reasons (spec §17.7) too.
        unbilled = [self._line(tx, head) for tx in invoice.get("unbilled", [])]
        proven = [*lines, *keys, *fixes, *unbilled]
        ok = all(line["hash_valid"] and line["inclusion_valid"] for line in proven)
        hidden = any(not line["transaction"].get("record") for line in invoice.get("lines", []))
        check = None if hidden else metering.check_invoice(invoice, head.timestamp_ms)
        shown: list[dict[str, object]] = []
        if check is not None:
            shown, problems = metering.check_corrections(invoice)
            check.problems += problems
            for line, fix in zip(fixes, shown, strict=False):
                fix.update(hash_valid=line["hash_valid"], inclusion_valid=line["inclusion_valid"])
        if check is not None and keys and not all(k["hash_valid"] and k["inclusion_valid"] for k in keys):
            check.problems.append("a meter-key record does not verify against the head")
        if check is not None and not all(u["hash_valid"] and u["inclusion_valid"] for u in unbilled):
            check.problems.append("an unbilled-period record does not verify against the head")
        return {
            # A legacy month (no meter-signed line) is shown as such, never failed for its gaps.
            "ok": ok
            and (check is None or not check.problems)
            and (check is None or check.legacy or check.complete),
            "household_id": household,
            "month": month,
            "tree_size": head.tree_size,
            "lines": lines,
            "meter_keys": keys,
            "corrections": shown or fixes,
            "unbilled": unbilled,
            "amount_due_micro_eur": int(invoice.get("amountDueMicroEur") or 0),
            # what is owed in each currency (a month can mix legacy EUR and NOK lines)
            "amount_due_by_currency": {c: v["due"] for c, v in metering.currency_sums(invoice).items()},
            "invoice": check.as_dict()
            if check is not None
            else {"status": "records hidden from this caller"},
        }

    def chain(self) -> dict[str, object]:
        head = self.head()
        heights: list[int] = []
        token = ""
        while True:
            page = self.api.blocks(200, token)
            heights += [int(b.get("height", 0)) for b in page.get("blocks", [])]
            token = page.get("nextPageToken", "")
            if not token:
                break
        prev_block, prev_tx = bytes(32), bytes(32)
        hashes: list[bytes] = []
        for height in sorted(heights):
            fault = self._block(height, prev_block, prev_tx, hashes)
            if fault:
                return {"ok": False, "first_bad_height": height, "reason": fault, "blocks_checked": height}
            prev_block, prev_tx = bytes.fromhex(self._last_block["blockHash"]), hashes[-1]
        sealed = len(hashes)
        result: dict[str, object] = {
            "ok": True,
            "blocks_checked": len(heights),
            "transactions_checked": sealed,
            "tree_size": head.tree_size,
        }
        if sealed > head.tree_size:
            return {**result, "ok": False, "reason": "BLOCKS_BEYOND_SIGNED_HEAD"}
        if sealed:  # the blocks' transactions must be exactly the first leaves of the signed log
            proof = self.api.consistency_proof(sealed, head.tree_size)
            try:
                spec.check_consistency(
                    sealed,
                    head.tree_size,
                    spec.mth(hashes),
                    head.root,
                    [bytes.fromhex(p) for p in proof.get("proof", [])],
                )
            except spec.SpecError as exc:
                return {**result, "ok": False, "reason": "BLOCKS_NOT_IN_SIGNED_LOG", "detail": str(exc)}
        return result

    def _block(self, height: int, prev_block: bytes, prev_tx: bytes, hashes: list[bytes]) -> str:
        resp = self.api.block(height)
        b, txs = resp["block"], resp.get("transactions", [])
        self._last_block = b
        first, count = int(b.get("firstLeafIndex", 0)), int(b.get("txCount", 0))
        tx_hashes = [bytes.fromhex(t["txHash"]) for t in txs]
        if int(b.get("height", 0)) != height or first != len(hashes) or count != len(txs) or count == 0:
            return "TX_RANGE_MISMATCH"
        if bytes.fromhex(b["prevBlockHash"]) != prev_block:
            return "PREV_BLOCK_MISMATCH"
        for t, h in zip(txs, tx_hashes, strict=False):
            if bytes.fromhex(t["prevTxHash"]) != prev_tx:
                return "TX_PREV_MISMATCH"
            if t.get("record") and t.get("salt"):
                body = spec.record_bytes_from_json(t["record"], t["salt"])
                if spec.tx_hash(body, spec.rfc3339_to_ms(t["appendTime"]), prev_tx) != h:
                    return "TX_HASH_MISMATCH"
            prev_tx = h
        root = spec.mth(tx_hashes)
        if root != bytes.fromhex(b["merkleRoot"]):
            return "MERKLE_ROOT_MISMATCH"
        if spec.block_hash(
            height, prev_block, root, first, count, spec.rfc3339_to_ms(b["sealTime"])
        ) != bytes.fromhex(b["blockHash"]):
            return "BLOCK_HASH_MISMATCH"
        hashes.extend(tx_hashes)
        return ""

    def consistency(self, old_file: str, new_file: str) -> dict[str, object]:
        old, new = self.head(old_file), self.head(new_file)
        if old.key_id != new.key_id:
            return {"ok": False, "reason": "DIFFERENT_KEYS"}
        if old.tree_size == 0:  # nothing to prove from the empty tree, but it must be the empty tree
            if old.root != spec.mth([]) or new.tree_size < 0:
                return {
                    "ok": False,
                    "first_size": 0,
                    "second_size": new.tree_size,
                    "reason": "not the empty tree",
                }
            return {"ok": True, "first_size": 0, "second_size": new.tree_size}
        proof = self.api.consistency_proof(old.tree_size, new.tree_size)
        try:
            spec.check_consistency(
                old.tree_size,
                new.tree_size,
                old.root,
                new.root,
                [bytes.fromhex(p) for p in proof.get("proof", [])],
            )
        except spec.SpecError as exc:
            return {
                "ok": False,
                "first_size": old.tree_size,
                "second_size": new.tree_size,
                "reason": str(exc),
            }
        return {"ok": True, "first_size": old.tree_size, "second_size": new.tree_size}

    def checkpoint(self, log_vkey: str, witness_url: str, witness_vkey: str) -> dict[str, object]:
        """The ledger's checkpoint against the witness's cosigned one (spec §16): both keys pinned
        from configuration. A head the witness cosigned, or one that provably extends it, passes
        (the latter reported as not yet witnessed); a second head at a witnessed size, or one
        that does not extend the witnessed head, is a fork."""
        if not (log_vkey and witness_url and witness_vkey):
            return {
                "ok": False,
                "reason": "KEYS_NOT_PINNED",
                "detail": "--ledger-key, --witness-url and --witness-key",
            }
        log_key, witness_key = spec.parse_vkey(log_vkey), spec.parse_vkey(witness_vkey)
        head = spec.check_checkpoint(self.api.checkpoint()["checkpoint"], log_key)
        try:
            seen = spec.check_checkpoint(self.api.witness_checkpoint(witness_url), log_key, witness_key)
        except spec.SpecError as exc:
            return {"ok": False, "reason": "NOT_WITNESSED", "tree_size": head.size, "detail": str(exc)}
        result: dict[str, object] = {
            "tree_size": head.size,
            "root_hash": head.root.hex(),
            "witnessed_size": seen.size,
            "witnessed_root_hash": seen.root.hex(),
            "cosigned_at": seen.cosigned_at,
            "head_witnessed": head.size == seen.size and head.root == seen.root,
        }
        try:
            if head.size == seen.size:
                if head.root != seen.root:
                    raise spec.SpecError(f"two roots at size {head.size}: the ledger shows a fork")
            else:
                older, newer = (seen, head) if seen.size < head.size else (head, seen)
                if older.size == 0:
                    if older.root != spec.mth([]):
                        raise spec.SpecError("an empty checkpoint whose root is not the empty tree's")
                else:
                    if older is seen:  # the ledger's public proof from the witnessed size
                        reply = self.api.checkpoint(seen.size)
                        if int(reply.get("treeSize", 0)) != head.size:
                            raise spec.SpecError("the ledger's head moved while checking; run again")
                        proof = reply.get("consistencyProof", [])
                    else:
                        proof = self.api.consistency_proof(older.size, newer.size).get("proof", [])
                    spec.check_consistency(
                        older.size, newer.size, older.root, newer.root, [bytes.fromhex(p) for p in proof]
                    )
        except spec.SpecError as exc:
            return {**result, "ok": False, "reason": "FORKED_HEAD", "detail": str(exc)}
        if not result["head_witnessed"]:
            result["reason"] = "HEAD_NOT_WITNESSED" if head.size > seen.size else "HEAD_OLDER_THAN_WITNESSED"
        return {**result, "ok": True}

    def save_head(self, path: str | None) -> dict[str, object]:
        head = self.head()
        if path:
            Path(path).write_text(json.dumps(head.raw, indent=2))
        return {
            "ok": True,
            "tree_size": head.tree_size,
            "root_hash": head.root.hex(),
            "key_id": head.key_id.hex(),
        }


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m verifier", description=__doc__.split("\n")[0])
    p.add_argument("--base-url", default=os.environ.get("EP_API_URL", "http://127.0.0.1:8080"))
    p.add_argument("--token", default=os.environ.get("EP_API_TOKEN", ""), help="bearer token")
    p.add_argument(
        "--public-key", default=os.environ.get("EP_LEDGER_PUBLIC_KEY", ""), help="pinned key, base64"
    )
    p.add_argument(
        "--ledger-key",
        default=os.environ.get("EP_LEDGER_VERIFIER_KEY", ""),
        help="pinned ledger note key (vkey name+id+key, printed by the run command)",
    )
    p.add_argument(
        "--witness-url", default=os.environ.get("EP_WITNESS_URL", ""), help="the witness's endpoint"
    )
    p.add_argument(
        "--witness-key", default=os.environ.get("EP_WITNESS_VERIFIER_KEY", ""), help="pinned witness vkey"
    )
    sub = p.add_subparsers(dest="command", required=True)
    tx = sub.add_parser("tx", help="verify one transaction")
    tx.add_argument("tx_hash")
    tx.add_argument("--head", help="saved head file to prove against (default: the current head)")
    inv = sub.add_parser("invoice", help="verify every line of a household's monthly invoice")
    inv.add_argument("household_id")
    inv.add_argument("month", help="YYYY-MM")
    inv.add_argument("--head")
    sub.add_parser("chain", help="re-verify every block and tie the blocks to the signed head")
    head = sub.add_parser("head", help="fetch and check the signed head, optionally save it")
    head.add_argument("--save", help="write the head to this JSON file")
    sub.add_parser("checkpoint", help="check the ledger's checkpoint against the witness's cosignature")
    cons = sub.add_parser("consistency", help="prove a saved older head is a prefix of a saved newer head")
    cons.add_argument("old")
    cons.add_argument("new")
    return p


def run(argv: Sequence[str], transport: Transport | None = None) -> tuple[int, dict[str, object]]:
    """Parse ``argv`` and verify; returns (exit status, result). ``transport`` is injectable."""
    args = _parser().parse_args(list(argv))
    pinned = base64.b64decode(args.public_key) if args.public_key else None
    if pinned is None and args.ledger_key:  # the note key pins the head key too (same Ed25519 key)
        pinned = spec.parse_vkey(args.ledger_key).key
    v = Verifier(LedgerApi(args.base_url, args.token, transport), pinned)
    try:
        if args.command == "tx":
            result = v.tx(args.tx_hash, args.head)
        elif args.command == "invoice":
            result = v.invoice(args.household_id, args.month, args.head)
        elif args.command == "chain":
            result = v.chain()
        elif args.command == "head":
            result = v.save_head(args.save)
        elif args.command == "checkpoint":
            result = v.checkpoint(args.ledger_key, args.witness_url, args.witness_key)
        else:
            result = v.consistency(args.old, args.new)
        if args.witness_url and args.command in ("tx", "invoice", "chain", "head"):
            # With a witness configured, every verdict also needs the head the witness saw (§16).
            witness = v.checkpoint(args.ledger_key, args.witness_url, args.witness_key)
            result["witness"] = witness
            if not witness["ok"]:
                result = {**result, "ok": False, "reason": witness["reason"]}
    except spec.SpecError as exc:
        return 1, {"ok": False, "reason": "SIGNATURE_OR_FORMAT", "detail": str(exc)}
    except (ApiError, OSError, KeyError, ValueError) as exc:
        return 2, {"ok": False, "reason": "ERROR", "detail": str(exc)}
    result["key_pinned"] = pinned is not None
    return (0 if result["ok"] else 1), result


def main(argv: Sequence[str] | None = None) -> int:
    status, result = run(sys.argv[1:] if argv is None else argv)
    print(json.dumps(result, indent=2))
    return status
