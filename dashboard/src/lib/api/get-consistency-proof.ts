import { GetConsistencyProofResponseSchema } from "@/gen/energypulse/ledger/v1/ledger_service_pb";
import { callApi } from "@/lib/api-client";

/** Used imperatively by the trusted-head check (no cache: each pair of sizes is asked once). */
export async function getConsistencyProof(firstSize: bigint, secondSize: bigint, signal?: AbortSignal): Promise<string[]> {
  const response = await callApi(GetConsistencyProofResponseSchema, "/api/v1/ledger/consistency-proof", {
    query: { firstSize: firstSize.toString(), secondSize: secondSize.toString() },
    signal,
  });
  return response.proof;
}
