/**
 * The current signed head, checked in the browser: Ed25519 signature, key id, and a
 * consistency proof from the head this browser verified last time (remembered in localStorage).
 * A head that fails any check is never remembered, so the warning repeats until resolved.
 */
import { queryOptions, useQuery } from "@tanstack/react-query";

import type { SignedTreeHead } from "@/gen/energypulse/ledger/v1/record_pb";
import { getConsistencyProof } from "@/lib/api/get-consistency-proof";
import { getSignedHead } from "@/lib/api/get-signed-head";
import { queryKeys } from "@/lib/query-keys";

import { loadTrustedHead, saveTrustedHead } from "./trusted-head";
import { checkConsistency, verifySignedHead, type ConsistencyVerdict, type HeadVerdict } from "./verify";

export interface VerifiedHead {
  head: SignedTreeHead;
  publicKey: string;
  signature: HeadVerdict;
  consistency: ConsistencyVerdict;
  previousVerifiedAt?: string;
  /** Signature valid (or unverifiable in this browser) and history consistent. */
  trusted: boolean;
}

export async function fetchVerifiedHead(signal?: AbortSignal): Promise<VerifiedHead> {
  const { head, publicKey } = await getSignedHead(signal);
  if (!head) throw new Error("the ledger returned no signed head");
  const signature = await verifySignedHead(head, publicKey);
  const previous = loadTrustedHead();
  const consistency = await checkConsistency(previous, { treeSize: head.treeSize, rootHash: head.rootHash, publicKey }, (a, b) =>
    getConsistencyProof(a, b, signal),
  );
  const historyOk = ["first-visit", "unchanged", "extended"].includes(consistency.status);
  const signatureOk = signature.signature !== "invalid" && signature.keyIdMatches;
  const trusted = historyOk && signatureOk;
  if (trusted && head.treeSize > 0n) saveTrustedHead({ treeSize: head.treeSize, rootHash: head.rootHash, publicKey });
  return { head, publicKey, signature, consistency, previousVerifiedAt: previous?.verifiedAt, trusted };
}

export const verifiedHeadQueryOptions = () =>
  queryOptions({
    queryKey: queryKeys.verifiedHead(),
    queryFn: ({ signal }) => fetchVerifiedHead(signal),
    staleTime: 15_000,
    refetchInterval: 60_000,
  });

export function useVerifiedHead() {
  return useQuery(verifiedHeadQueryOptions());
}
