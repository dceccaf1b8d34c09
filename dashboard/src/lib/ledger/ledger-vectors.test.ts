/**
 * The browser's ledger code against the ledger's own published vectors (docs/ledger-test-vectors.json):
 * canonical bytes, transaction and leaf hashes, block headers, signed heads, inclusion and
 * consistency proofs — byte for byte what the Python ledger computes.
 */
import { readFileSync } from "node:fs";

import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";

import { RecordSchema, SignedTreeHeadSchema, TransactionSchema } from "@/gen/energypulse/ledger/v1/record_pb";

import { base64ToBytes, bytesToHex, hexToBytes, sha256 } from "./bytes";
import { encodeBlockHeader, encodePrediction, encodeRecord, encodeSettlement, encodeTreeHead, txHash } from "./canonical";
import { leafHash, rootOf, verifyConsistency, verifyInclusion } from "./merkle";
import { checkConsistency, verifyEd25519, verifySignedHead, verifyTransaction } from "./verify";

interface VectorRecord {
  kind: "SETTLEMENT" | "PREDICTION";
  salt: string;
  [field: string]: string | number;
}
interface VectorTx {
  leaf_index: number;
  record: VectorRecord;
  canonical_hex: string;
  appended_at_ms: number;
  prev_tx_hash: string;
  tx_hash: string;
  leaf_hash: string;
}
interface Vectors {
  signing_key: { public_key_b64: string; key_id_hex: string };
  transactions: VectorTx[];
  blocks: { height: number; prev_block_hash: string; merkle_root: string; first_tx_index: number; tx_count: number; sealed_at_ms: number; header_hex: string; block_hash: string }[];
  signed_heads: { tree_size: number; root_hash: string; timestamp_ms: number; tree_head_hex: string; signature_b64: string }[];
  inclusion_proofs: { leaf_index: number; tree_size: number; audit_path: string[] }[];
  consistency_proofs: { first_size: number; second_size: number; proof: string[] }[];
}

const vectors = JSON.parse(
  readFileSync(new URL("../../../../docs/ledger-test-vectors.json", import.meta.url), "utf8"),
) as Vectors;

const big = (v: string | number | undefined): bigint => BigInt(v ?? 0);
const str = (v: string | number | undefined): string => String(v ?? "");

function canonicalOf(tx: VectorTx): Uint8Array {
  const r = tx.record;
  const salt = hexToBytes(r.salt);
  return r.kind === "SETTLEMENT"
    ? encodeSettlement(salt, {
        householdId: str(r.household_id),
        hourStartMs: big(r.hour_ms),
        meteredWh: big(r.metered_wh),
        spotPrice: big(r.spot_price_ueur_per_kwh),
        spotCost: big(r.spot_cost_ueur),
        gridEnergyCost: big(r.grid_energy_cost_ueur),
        capacityCost: big(r.capacity_cost_ueur),
        standingCharge: big(r.standing_charge_ueur),
        vat: big(r.vat_ueur),
        totalCost: big(r.total_cost_ueur),
      })
    : encodePrediction(salt, {
        householdId: str(r.household_id ?? r.household),
        zone: str(r.zone),
        targetHourMs: big(r.target_hour_ms),
        priceP10: big(r.price_p10_ueur_per_kwh),
        priceP50: big(r.price_p50_ueur_per_kwh),
        priceP90: big(r.price_p90_ueur_per_kwh),
        consumptionWh: big(r.consumption_wh),
        costMicroEur: big(r.cost_ueur),
        modelVersion: str(r.model_version),
        createTimeMs: big(r.created_at_ms),
      });
}

/** The same transaction as the API would return it (generated message type, as after fromJson). */
function apiTransaction(tx: VectorTx) {
  const r = tx.record;
  const ts = (ms: string | number | undefined) => timestampFromMs(Number(ms));
  const record =
    r.kind === "SETTLEMENT"
      ? create(RecordSchema, {
          content: {
            case: "settlement",
            value: {
              householdId: str(r.household_id),
              hourStart: ts(r.hour_ms),
              meteredWh: big(r.metered_wh),
              spotPriceMicroEurPerKwh: big(r.spot_price_ueur_per_kwh),
              spotCostMicroEur: big(r.spot_cost_ueur),
              gridEnergyCostMicroEur: big(r.grid_energy_cost_ueur),
              capacityCostMicroEur: big(r.capacity_cost_ueur),
              standingChargeMicroEur: big(r.standing_charge_ueur),
              vatMicroEur: big(r.vat_ueur),
              totalCostMicroEur: big(r.total_cost_ueur),
            },
          },
        })
      : create(RecordSchema, {
          content: {
            case: "prediction",
            value: {
              householdId: str(r.household_id ?? r.household),
              zone: str(r.zone),
              targetHour: ts(r.target_hour_ms),
              priceP10MicroEurPerKwh: big(r.price_p10_ueur_per_kwh),
              priceP50MicroEurPerKwh: big(r.price_p50_ueur_per_kwh),
              priceP90MicroEurPerKwh: big(r.price_p90_ueur_per_kwh),
              consumptionWh: big(r.consumption_wh),
              costMicroEur: big(r.cost_ueur),
              modelVersion: str(r.model_version),
              createTime: ts(r.created_at_ms),
            },
          },
        });
  return create(TransactionSchema, {
    txHash: tx.tx_hash,
    prevTxHash: tx.prev_tx_hash,
    leafIndex: BigInt(tx.leaf_index),
    record,
    salt: r.salt,
    appendTime: timestampFromMs(tx.appended_at_ms),
  });
}

function headOf(index: number) {
  const h = vectors.signed_heads[index]!;
  return create(SignedTreeHeadSchema, {
    treeSize: BigInt(h.tree_size),
    rootHash: h.root_hash,
    timestamp: timestampFromMs(h.timestamp_ms),
    signature: h.signature_b64,
    keyId: vectors.signing_key.key_id_hex,
  });
}

describe("canonical encoding and transaction hashes (spec §2-4)", () => {
  it.each(vectors.transactions.map((t) => [t.leaf_index, t] as const))("transaction %i", async (_i, tx) => {
    const bytes = canonicalOf(tx);
    expect(bytesToHex(bytes)).toBe(tx.canonical_hex);
    const hash = await txHash(bytes, BigInt(tx.appended_at_ms), hexToBytes(tx.prev_tx_hash));
    expect(bytesToHex(hash)).toBe(tx.tx_hash);
    expect(bytesToHex(await leafHash(hash))).toBe(tx.leaf_hash);
  });

  it("encodes records from the API's message types identically", () => {
    for (const tx of vectors.transactions) {
      const message = apiTransaction(tx);
      expect(bytesToHex(encodeRecord(message.record!, message.salt))).toBe(tx.canonical_hex);
    }
  });

  it("chains every transaction to the previous hash", () => {
    vectors.transactions.forEach((tx, i) => {
      expect(tx.prev_tx_hash).toBe(i === 0 ? "0".repeat(64) : vectors.transactions[i - 1]!.tx_hash);
    });
  });

  it("rejects a salt of the wrong length", () => {
    const tx = vectors.transactions[0]!;
    const message = apiTransaction(tx);
    expect(() => encodeRecord(message.record!, "11")).toThrow(/salt/);
  });
});

describe("blocks (spec §5)", () => {
  it.each(vectors.blocks.map((b) => [b.height, b] as const))("block %i header, root and hash", async (_h, b) => {
    const header = encodeBlockHeader({
      height: BigInt(b.height),
      prevBlockHash: hexToBytes(b.prev_block_hash),
      merkleRoot: hexToBytes(b.merkle_root),
      firstTxIndex: BigInt(b.first_tx_index),
      txCount: b.tx_count,
      sealedAtMs: BigInt(b.sealed_at_ms),
    });
    expect(bytesToHex(header)).toBe(b.header_hex);
    expect(bytesToHex(await sha256(header))).toBe(b.block_hash);
    const leaves = vectors.transactions.slice(b.first_tx_index, b.first_tx_index + b.tx_count).map((t) => hexToBytes(t.leaf_hash));
    expect(bytesToHex(await rootOf(leaves))).toBe(b.merkle_root);
  });
});

describe("signed tree heads (spec §6)", () => {
  it("key id is SHA-256 of the public key", async () => {
    expect(bytesToHex(await sha256(base64ToBytes(vectors.signing_key.public_key_b64)))).toBe(vectors.signing_key.key_id_hex);
  });

  it.each(vectors.signed_heads.map((h) => [h.tree_size, h] as const))("head at size %i", async (size, h) => {
    const encoded = encodeTreeHead(hexToBytes(vectors.signing_key.key_id_hex), BigInt(size), hexToBytes(h.root_hash), BigInt(h.timestamp_ms));
    expect(bytesToHex(encoded)).toBe(h.tree_head_hex);
    const leaves = vectors.transactions.slice(0, size).map((t) => hexToBytes(t.leaf_hash));
    expect(bytesToHex(await rootOf(leaves))).toBe(h.root_hash);
    const ok = await verifyEd25519(
      base64ToBytes(vectors.signing_key.public_key_b64) as Uint8Array<ArrayBuffer>,
      base64ToBytes(h.signature_b64) as Uint8Array<ArrayBuffer>,
      encoded,
    );
    expect(ok).toBe(true);
  });

  it("verifySignedHead accepts the vectors and rejects a changed root", async () => {
    const head = headOf(1);
    expect(await verifySignedHead(head, vectors.signing_key.public_key_b64)).toMatchObject({ signature: "valid", keyIdMatches: true });
    const forged = create(SignedTreeHeadSchema, { ...head, rootHash: vectors.signed_heads[0]!.root_hash });
    expect((await verifySignedHead(forged, vectors.signing_key.public_key_b64)).signature).toBe("invalid");
  });
});

describe("proofs (spec §4)", () => {
  it.each(vectors.inclusion_proofs.map((p) => [p.leaf_index, p] as const))("inclusion of leaf %i", async (_i, p) => {
    const root = hexToBytes(vectors.signed_heads.find((h) => h.tree_size === p.tree_size)!.root_hash);
    const leaf = hexToBytes(vectors.transactions[p.leaf_index]!.leaf_hash);
    await expect(verifyInclusion(BigInt(p.leaf_index), BigInt(p.tree_size), leaf, p.audit_path.map(hexToBytes), root)).resolves.toBeUndefined();
  });

  it.each(vectors.consistency_proofs.map((p) => [p.first_size, p.second_size, p] as const))("consistency %i -> %i", async (a, b, p) => {
    const root = (n: number) => hexToBytes(vectors.signed_heads.find((h) => h.tree_size === n)!.root_hash);
    await expect(verifyConsistency(BigInt(a), BigInt(b), root(a), root(b), p.proof.map(hexToBytes))).resolves.toBeUndefined();
    await expect(verifyConsistency(BigInt(a), BigInt(b), root(b), root(b), p.proof.map(hexToBytes))).rejects.toThrow();
  });
});

describe("verifyTransaction (what the invoice page runs per line)", () => {
  const head = headOf(1);
  const proofFor = (i: number) => {
    const p = vectors.inclusion_proofs.find((x) => x.leaf_index === i)!;
    return { leafIndex: BigInt(p.leaf_index), treeSize: BigInt(p.tree_size), auditPath: p.audit_path };
  };

  it("passes every untouched transaction", async () => {
    for (const tx of vectors.transactions) {
      const verdict = await verifyTransaction(apiTransaction(tx), proofFor(tx.leaf_index), head);
      expect(verdict).toMatchObject({ hashValid: true, inclusionValid: true, reason: "" });
      expect(verdict.problem).toBeUndefined();
    }
  });

  it("fails a line whose record was changed", async () => {
    const tx = apiTransaction(vectors.transactions[0]!);
    if (tx.record?.content.case !== "settlement") throw new Error("vector 0 is a settlement");
    tx.record.content.value.meteredWh += 1n;
    const verdict = await verifyTransaction(tx, proofFor(0), head);
    expect(verdict.hashValid).toBe(false);
    expect(verdict.inclusionValid).toBe(false);
    expect(verdict.reason).toMatch(/HASH_MISMATCH/);
    expect(verdict.problem).toBe("hash"); // what the page words in its own language
  });

  it("fails a line whose hash was rewritten to match a changed record", async () => {
    const tx = apiTransaction(vectors.transactions[2]!);
    tx.salt = "22".repeat(32);
    const recomputed = await txHash(encodeRecord(tx.record!, tx.salt), 1n, hexToBytes(tx.prevTxHash));
    tx.appendTime = timestampFromMs(1);
    tx.txHash = bytesToHex(recomputed);
    const verdict = await verifyTransaction(tx, proofFor(2), head);
    expect(verdict.hashValid).toBe(true);
    expect(verdict.inclusionValid).toBe(false);
    expect(verdict.problem).toBe("inclusion");
  });

  it("marks a transaction beyond the signed head as pending", async () => {
    const verdict = await verifyTransaction(apiTransaction(vectors.transactions[3]!), null, headOf(0));
    expect(verdict).toMatchObject({ hashValid: true, pending: true, inclusionValid: false, problem: "pending" });
  });
});

describe("checkConsistency (the explorer's remembered head)", () => {
  const snap = (i: number) => ({
    treeSize: BigInt(vectors.signed_heads[i]!.tree_size),
    rootHash: vectors.signed_heads[i]!.root_hash,
    publicKey: vectors.signing_key.public_key_b64,
  });
  const proof = () => Promise.resolve(vectors.consistency_proofs[0]!.proof);

  it("accepts an extension and an unchanged head", async () => {
    expect((await checkConsistency(snap(0), snap(1), proof)).status).toBe("extended");
    expect((await checkConsistency(snap(1), snap(1), proof)).status).toBe("unchanged");
    expect((await checkConsistency(null, snap(1), proof)).status).toBe("first-visit");
  });

  it("flags rewritten, rolled-back and re-keyed logs", async () => {
    const rewritten = { ...snap(0), rootHash: "ab".repeat(32) };
    expect((await checkConsistency(rewritten, snap(1), proof)).status).toBe("rewritten");
    expect((await checkConsistency(snap(1), snap(0), proof)).status).toBe("rolled-back");
    expect((await checkConsistency({ ...snap(1), rootHash: "cd".repeat(32) }, snap(1), proof)).status).toBe("rewritten");
    expect((await checkConsistency({ ...snap(0), publicKey: "AAAA" }, snap(1), proof)).status).toBe("key-changed");
  });

  it("an empty remembered head needs no proof, but must be the empty tree", async () => {
    const empty = { ...snap(0), treeSize: 0n, rootHash: bytesToHex(await sha256(new Uint8Array())) };
    const never = () => Promise.reject(new Error("no proof exists from the empty tree"));
    expect((await checkConsistency(empty, snap(1), never)).status).toBe("extended");
    expect((await checkConsistency({ ...empty, rootHash: "ab".repeat(32) }, snap(1), never)).status).toBe("rewritten");
  });
});
