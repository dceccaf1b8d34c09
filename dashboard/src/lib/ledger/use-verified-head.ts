/**
 * The current signed head, checked in the browser: Ed25519 signature, key id, and a
 * consistency proof from the head this browser verified last time (remembered in localStorage).
 * A head that fails any check is never remembered, so the warning repeats until resolved.
 */
import { queryOptions, useQuery } from "@tanstack/react-query";

import type { SignedTreeHead } from "@/gen/energypulse/ledger/v1/record_pb";
import { env } from "@/config/env";
import { getCheckpoint } from "@/lib/api/get-checkpoint";
import { getConsistencyProof } from "@/lib/api/get-consistency-proof";
import { getSignedHead } from "@/lib/api/get-signed-head";
import { queryKeys } from "@/lib/query-keys";

import { base64ToBytes, equalBytes, hexToBytes } from "./bytes";
import { checkCheckpoint, compareWithWitness, parseVkey, type WitnessVerdict } from "./checkpoint";
import { loadTrustedHead, saveTrustedHead } from "./trusted-head";
import { checkConsistency, verifySignedHead, type ConsistencyVerdict, type HeadVerdict } from "./verify";

export interface VerifiedHead {
  head: SignedTreeHead;
  publicKey: string;
  signature: HeadVerdict;
  consistency: ConsistencyVerdict;
  /** The head's key against the key pinned in the build, and the head against the witness (spec §16). */
  witness: WitnessVerdict;
  keyPinned: boolean;
  previousVerifiedAt?: string;
  /** Signature valid (or unverifiable in this browser), key pinned, history consistent, no fork. */
  trusted: boolean;
}

async function fetchWitnessCheckpoint(url: string, signal?: AbortSignal): Promise<string> {
  const response = await fetch(`${url}/checkpoint`, { signal, headers: { accept: "text/plain" } });
  if (!response.ok) throw new Error(`the witness answered HTTP ${response.status}`);
  return response.text();
}

/** The ledger's checkpoint, checked with the pinned ledger key, against the witness's cosigned one. */
async function checkWitness(publicKey: string, signal?: AbortSignal): Promise<{ witness: WitnessVerdict; keyPinned: boolean }> {
  const { ledgerVerifierKey, witnessVerifierKey, witnessUrl } = env();
  if (!ledgerVerifierKey) {
    return { keyPinned: false, witness: { status: "not-configured", detail: "this build pins no ledger key (VITE_EP_LEDGER_VERIFIER_KEY)" } };
  }
  const ledgerKey = await parseVkey(ledgerVerifierKey);
  if (!equalBytes(ledgerKey.key, base64ToBytes(publicKey))) {
    return { keyPinned: false, witness: { status: "forked", detail: "the ledger signs with a key other than the one pinned in this build" } };
  }
  if (!witnessVerifierKey || !witnessUrl) {
    return { keyPinned: true, witness: { status: "not-configured", detail: "this build names no witness (VITE_EP_WITNESS_URL, VITE_EP_WITNESS_VERIFIER_KEY)" } };
  }
  try {
    const ours = await getCheckpoint(0n, signal);
    const head = await checkCheckpoint(ours.checkpoint, ledgerKey);
    const seen = await checkCheckpoint(await fetchWitnessCheckpoint(witnessUrl, signal), ledgerKey, await parseVkey(witnessVerifierKey));
    const witness = await compareWithWitness(head, seen, async (fromSize) => {
      const reply = await getCheckpoint(fromSize, signal);
      return { treeSize: reply.treeSize, proof: reply.consistencyProof.map(hexToBytes) };
    });
    return { keyPinned: true, witness };
  } catch (error) {
    return { keyPinned: true, witness: { status: "not-witnessed", detail: error instanceof Error ? error.message : String(error) } };
  }
}

export async function fetchVerifiedHead(signal?: AbortSignal): Promise<VerifiedHead> {
  const { head, publicKey } = await getSignedHead(signal);
  if (!head) throw new Error("the ledger returned no signed head");
  const signature = await verifySignedHead(head, publicKey);
  const previous = loadTrustedHead();
  const consistency = await checkConsistency(previous, { treeSize: head.treeSize, rootHash: head.rootHash, publicKey }, (a, b) =>
    getConsistencyProof(a, b, signal),
  );
  const { witness, keyPinned } = await checkWitness(publicKey, signal);
  const historyOk = ["first-visit", "unchanged", "extended"].includes(consistency.status);
  const signatureOk = signature.signature !== "invalid" && signature.keyIdMatches;
  // A build that pins keys requires them: the pinned ledger key and the witness's cosignature (a
  // head not yet witnessed must provably extend the witnessed one). A build without pins (a dev
  // build) can only trust on first use, and the head card says so.
  const pinnedBuild = env().ledgerVerifierKey !== "";
  const witnessOk = ["witnessed", "not-yet-witnessed"].includes(witness.status) || (!pinnedBuild && witness.status === "not-configured");
  const trusted = historyOk && signatureOk && (keyPinned || !pinnedBuild) && witnessOk;
  if (trusted && head.treeSize > 0n) saveTrustedHead({ treeSize: head.treeSize, rootHash: head.rootHash, publicKey });
  return { head, publicKey, signature, consistency, witness, keyPinned, previousVerifiedAt: previous?.verifiedAt, trusted };
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
