/**
 * RFC 9162 (Certificate Transparency v2) Merkle tree hashing and proof verification:
 * leaf = SHA-256(0x00 || data), node = SHA-256(0x01 || left || right), with the inclusion
 * (§2.1.3.2) and consistency (§2.1.4.2) verification algorithms.
 */
import { itemAt, lastItem } from "@/lib/arrays";

import { equalBytes, sha256 } from "./bytes";


export class ProofError extends Error {
  override name = "ProofError";
}

const LEAF = new Uint8Array([0]);
const NODE = new Uint8Array([1]);

export function leafHash(data: Uint8Array): Promise<Uint8Array> {
  return sha256(LEAF, data);
}

export function nodeHash(left: Uint8Array, right: Uint8Array): Promise<Uint8Array> {
  return sha256(NODE, left, right);
}

export async function emptyRoot(): Promise<Uint8Array> {
  return sha256(new Uint8Array());
}

/** MTH over already leaf-hashed entries. */
export async function rootOf(leafHashes: Uint8Array[]): Promise<Uint8Array> {
  if (leafHashes.length === 0) return emptyRoot();
  let level = leafHashes;
  while (level.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i + 1 < level.length; i += 2) next.push(await nodeHash(itemAt(level, i), itemAt(level, i + 1)));
    if (level.length % 2) next.push(lastItem(level));
    level = next;
  }
  return itemAt(level, 0);
}

function check32(hashes: Uint8Array[]): void {
  if (hashes.some((h) => h.length !== 32)) throw new ProofError("proof element must be 32 bytes");
}

/** The root implied by an inclusion proof for the leaf hash at `index` of a tree of `size`. */
export async function rootFromInclusionProof(index: bigint, size: bigint, leaf: Uint8Array, proof: Uint8Array[]): Promise<Uint8Array> {
  if (index < 0n || index >= size) throw new ProofError(`leaf index ${index} is not below tree size ${size}`);
  if (leaf.length !== 32) throw new ProofError("leaf hash must be 32 bytes");
  check32(proof);
  let fn = index;
  let sn = size - 1n;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0n) throw new ProofError("proof is too long");
    if ((fn & 1n) === 1n || fn === sn) {
      r = await nodeHash(p, r);
      while ((fn & 1n) === 0n && fn !== 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      r = await nodeHash(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n) throw new ProofError("proof is too short");
  return r;
}

export async function verifyInclusion(index: bigint, size: bigint, leaf: Uint8Array, proof: Uint8Array[], root: Uint8Array): Promise<void> {
  const computed = await rootFromInclusionProof(index, size, leaf, proof);
  if (!equalBytes(computed, root)) throw new ProofError("inclusion proof does not lead to the root");
}

/** Throws ProofError unless the tree (size1, root1) is a prefix of (size2, root2). */
export async function verifyConsistency(size1: bigint, size2: bigint, root1: Uint8Array, root2: Uint8Array, proof: Uint8Array[]): Promise<void> {
  // RFC 9162 §2.1.4.2 and the reference verifier (transparency-dev/merkle): 0 < size1 <= size2.
  // Nothing is consistent *from* the empty tree, not even (0, 0): a caller that starts from an
  // empty tree has nothing to check (checkConsistency handles it).
  if (size1 < 0n || size2 < size1) throw new ProofError(`size ${size1} cannot precede size ${size2}`);
  if (size1 === 0n) throw new ProofError("a consistency proof from the empty tree is meaningless");
  if (size1 === size2) {
    if (proof.length) throw new ProofError("proof must be empty for equal sizes");
    if (!equalBytes(root1, root2)) throw new ProofError("equal sizes but different roots");
    return;
  }
  if (proof.length === 0) throw new ProofError("empty consistency proof");
  check32(proof);
  const path = [...proof];
  if ((size1 & (size1 - 1n)) === 0n) path.unshift(root1); // size1 is a power of two
  let fn = size1 - 1n;
  let sn = size2 - 1n;
  while ((fn & 1n) === 1n) {
    fn >>= 1n;
    sn >>= 1n;
  }
  let fr = itemAt(path, 0);
  let sr = fr;
  for (const c of path.slice(1)) {
    if (sn === 0n) throw new ProofError("proof is too long");
    if ((fn & 1n) === 1n || fn === sn) {
      fr = await nodeHash(c, fr);
      sr = await nodeHash(c, sr);
      while ((fn & 1n) === 0n && fn !== 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      sr = await nodeHash(sr, c);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n) throw new ProofError("proof is too short");
  if (!equalBytes(fr, root1)) throw new ProofError("proof does not reproduce the first root");
  if (!equalBytes(sr, root2)) throw new ProofError("proof does not reproduce the second root");
}

