/**
 * The last signed head this browser verified, kept in localStorage (public data: a tree size,
 * a root and a public key), so the next visit can demand a consistency proof from it.
 */
import type { HeadSnapshot } from "./verify";

const KEY = "energypulse.ledger.trusted-head";

interface StoredHead {
  treeSize: string;
  rootHash: string;
  publicKey: string;
  verifiedAt: string;
}

export function loadTrustedHead(): (HeadSnapshot & { verifiedAt: string }) | null {
  try {
    const raw = localStorage.getItem(KEY);
    if (!raw) return null;
    const stored = JSON.parse(raw) as StoredHead;
    if (!/^\d+$/.test(stored.treeSize) || !/^[0-9a-f]{64}$/.test(stored.rootHash)) return null;
    return { treeSize: BigInt(stored.treeSize), rootHash: stored.rootHash, publicKey: stored.publicKey, verifiedAt: stored.verifiedAt };
  } catch {
    return null;
  }
}

export function saveTrustedHead(head: HeadSnapshot): void {
  const stored: StoredHead = {
    treeSize: head.treeSize.toString(),
    rootHash: head.rootHash.toLowerCase(),
    publicKey: head.publicKey,
    verifiedAt: new Date().toISOString(),
  };
  try {
    localStorage.setItem(KEY, JSON.stringify(stored));
  } catch {
    // Storage disabled: the check simply starts over next visit.
  }
}

export function forgetTrustedHead(): void {
  try {
    localStorage.removeItem(KEY);
  } catch {
    // ignore
  }
}
