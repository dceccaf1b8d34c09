/**
 * Browser-side verification of ledger data against a signed tree head: nothing the server says
 * is taken on trust except the public key pinned on first use (see trusted-head.ts).
 */
import type { SignedTreeHead, Transaction } from "@/gen/energypulse/ledger/v1/record_pb";
import { tsMs } from "@/lib/proto-json";

import { base64ToBytes, bytesToHex, equalBytes, hexToBytes, sha256 } from "./bytes";
import { encodeRecord, encodeTreeHead, txHash } from "./canonical";
import { emptyRoot, leafHash, ProofError, verifyConsistency, verifyInclusion } from "./merkle";

export type SignatureVerdict = "valid" | "invalid" | "unsupported";

export interface HeadVerdict {
  signature: SignatureVerdict;
  /** The head's key id is SHA-256 of the public key it came with. */
  keyIdMatches: boolean;
  detail: string;
}

let ed25519Support: Promise<boolean> | null = null;

/** Whether this browser's WebCrypto implements Ed25519 (Chrome 137+, Firefox 129+, Safari 17+). */
export function supportsEd25519(): Promise<boolean> {
  ed25519Support ??= crypto.subtle
    .importKey("raw", new Uint8Array(32).fill(1), { name: "Ed25519" }, false, ["verify"])
    .then(() => true)
    .catch(() => false);
  return ed25519Support;
}

const FIELD_P = 2n ** 255n - 19n;
const ORDER_L = 2n ** 252n + 27742317777372353535851937790883648493n;
// The points of order 1, 2, 4 and 8 (sign bit cleared), canonical or not: libsodium's blocklist.
const SMALL_ORDER = new Set<bigint>([
  0n,
  1n,
  0x05fc536d880238b13933c6d305acdfd5f098eff289f4c345b027b2c28f95e826n,
  0x7a03ac9277fdc74ec6cc392cfa53202a0f67100d760b3cba4fd84d3d706a17c7n,
  FIELD_P - 1n,
  FIELD_P,
  FIELD_P + 1n,
]);

function littleEndian(bytes: Uint8Array): bigint {
  let value = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[i] ?? 0);
  return value;
}

/** A key (or a signature's R) of small order, or not canonically encoded. */
function weakPoint(encoded: Uint8Array): boolean {
  const y = littleEndian(encoded) & (2n ** 255n - 1n);
  return encoded.length !== 32 || y >= FIELD_P || SMALL_ORDER.has(y);
}

/** Ed25519 with the checks ingest, the ledger and verifier/ make first (contracts/mqtt/boundary.py):
 * WebCrypto's verify, like OpenSSL's, accepts a signature of any message under a small-order key. */
export async function verifyEd25519(publicKey: Uint8Array<ArrayBuffer>, signature: Uint8Array<ArrayBuffer>, message: Uint8Array<ArrayBuffer>): Promise<boolean> {
  if (signature.length !== 64 || weakPoint(publicKey) || weakPoint(signature.subarray(0, 32))) return false;
  if (littleEndian(signature.subarray(32)) >= ORDER_L) return false;
  const key = await crypto.subtle.importKey("raw", publicKey, { name: "Ed25519" }, false, ["verify"]);
  return crypto.subtle.verify({ name: "Ed25519" }, key, signature, message);
}

/** Checks the head's Ed25519 signature over its §6 encoding with the given raw public key. */
export async function verifySignedHead(head: SignedTreeHead, publicKeyB64: string): Promise<HeadVerdict> {
  const publicKey = base64ToBytes(publicKeyB64) as Uint8Array<ArrayBuffer>;
  if (publicKey.length !== 32) return { signature: "invalid", keyIdMatches: false, detail: "public key is not 32 bytes" };
  const logId = await sha256(publicKey);
  const keyIdMatches = bytesToHex(logId) === head.keyId.toLowerCase();
  if (!(await supportsEd25519())) {
    return { signature: "unsupported", keyIdMatches, detail: "this browser cannot check Ed25519 signatures (WebCrypto)" };
  }
  try {
    const message = encodeTreeHead(logId, head.treeSize, hexToBytes(head.rootHash), tsMs(head.timestamp));
    const ok = await verifyEd25519(publicKey, base64ToBytes(head.signature) as Uint8Array<ArrayBuffer>, message);
    return { signature: ok ? "valid" : "invalid", keyIdMatches, detail: ok ? "signature checks" : "signature does not match the head" };
  } catch (error) {
    return { signature: "invalid", keyIdMatches, detail: error instanceof Error ? error.message : String(error) };
  }
}

export interface InclusionProofData {
  leafIndex: bigint;
  treeSize: bigint;
  auditPath: string[];
}

export interface TxVerdict {
  txHash: string;
  /** The hash recomputed from the record, salt, append time and previous hash. */
  recomputedHash: string;
  hashValid: boolean;
  inclusionValid: boolean;
  /** Not yet covered by the signed head: inclusion cannot be proven yet. */
  pending: boolean;
  /** The first problem found, for the page to word (`reason` is its technical English detail). */
  problem?: TxProblem;
  reason: string;
}

export type TxProblem = "recompute" | "hash" | "pending" | "noProof" | "inclusion";

/** Recomputes a transaction's hash from its content (spec §2-3). */
export async function recomputeTxHash(tx: Transaction): Promise<Uint8Array> {
  if (!tx.record) throw new Error("the transaction carries no record");
  const recordBytes = encodeRecord(tx.record, tx.salt);
  return txHash(recordBytes, tsMs(tx.appendTime), hexToBytes(tx.prevTxHash));
}

/**
 * The verdict on one transaction: its recomputed hash must equal the claimed one, and the
 * recomputed hash (not the claimed one) must be a leaf of the signed tree at its leaf index.
 */
export async function verifyTransaction(tx: Transaction, proof: InclusionProofData | null, head: SignedTreeHead): Promise<TxVerdict> {
  const verdict: TxVerdict = { txHash: tx.txHash, recomputedHash: "", hashValid: false, inclusionValid: false, pending: false, reason: "" };
  let recomputed: Uint8Array;
  try {
    recomputed = await recomputeTxHash(tx);
  } catch (error) {
    verdict.reason = `cannot recompute the hash: ${error instanceof Error ? error.message : String(error)}`;
    verdict.problem = "recompute";
    return verdict;
  }
  verdict.recomputedHash = bytesToHex(recomputed);
  verdict.hashValid = verdict.recomputedHash === tx.txHash.toLowerCase();
  if (!verdict.hashValid) {
    verdict.reason = "HASH_MISMATCH: the record does not hash to its transaction hash";
    verdict.problem = "hash";
  }
  if (tx.leafIndex >= head.treeSize) {
    verdict.pending = true;
    verdict.reason ||= "not yet covered by the signed head";
    verdict.problem ??= "pending";
    return verdict;
  }
  if (!proof) {
    verdict.reason ||= "no inclusion proof";
    verdict.problem ??= "noProof";
    return verdict;
  }
  try {
    if (proof.treeSize !== head.treeSize) throw new ProofError(`proof is for size ${proof.treeSize}, head has ${head.treeSize}`);
    if (proof.leafIndex !== tx.leafIndex) throw new ProofError(`proof is for leaf ${proof.leafIndex}, transaction is leaf ${tx.leafIndex}`);
    await verifyInclusion(proof.leafIndex, proof.treeSize, await leafHash(recomputed), proof.auditPath.map(hexToBytes), hexToBytes(head.rootHash));
    verdict.inclusionValid = true;
  } catch (error) {
    verdict.reason ||= `INCLUSION_FAILED: ${error instanceof Error ? error.message : String(error)}`;
    verdict.problem ??= "inclusion";
  }
  return verdict;
}

export interface ConsistencyVerdict {
  status: "first-visit" | "unchanged" | "extended" | "rewritten" | "rolled-back" | "key-changed";
  detail: string;
}

export interface HeadSnapshot {
  treeSize: bigint;
  rootHash: string;
  publicKey: string;
}

/**
 * Compares a previously verified head with a new one: the new tree must extend the old one
 * (consistency proof), never shrink, never change key.
 */
export async function checkConsistency(
  previous: HeadSnapshot | null,
  next: HeadSnapshot,
  fetchProof: (firstSize: bigint, secondSize: bigint) => Promise<string[]>,
): Promise<ConsistencyVerdict> {
  if (!previous) return { status: "first-visit", detail: "no earlier head remembered in this browser" };
  if (previous.publicKey !== next.publicKey) {
    return { status: "key-changed", detail: "the ledger's signing key differs from the one this browser saw before" };
  }
  if (next.treeSize < previous.treeSize) {
    return { status: "rolled-back", detail: `the ledger shrank from ${previous.treeSize} to ${next.treeSize} transactions` };
  }
  if (next.treeSize === previous.treeSize) {
    return equalBytes(hexToBytes(previous.rootHash), hexToBytes(next.rootHash))
      ? { status: "unchanged", detail: "same head as last time" }
      : { status: "rewritten", detail: "same size but a different root: history was rewritten" };
  }
  if (previous.treeSize === 0n) {
    return equalBytes(hexToBytes(previous.rootHash), await emptyRoot())
      ? { status: "extended", detail: `grew from an empty ledger to ${next.treeSize} transactions` }
      : { status: "rewritten", detail: "an empty ledger with a root that is not the empty tree's" };
  }
  try {
    const proof = await fetchProof(previous.treeSize, next.treeSize);
    await verifyConsistency(previous.treeSize, next.treeSize, hexToBytes(previous.rootHash), hexToBytes(next.rootHash), proof.map(hexToBytes));
    return { status: "extended", detail: `grew from ${previous.treeSize} to ${next.treeSize} transactions, history intact` };
  } catch (error) {
    return { status: "rewritten", detail: `consistency proof failed: ${error instanceof Error ? error.message : String(error)}` };
  }
}
