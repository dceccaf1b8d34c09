import { routes } from "@/gen/routes";
import { callApi } from "@/lib/api-client";

/** Used imperatively by the trusted-head check (no cache: each pair of sizes is asked once). */
export async function getConsistencyProof(firstSize: bigint, secondSize: bigint, signal?: AbortSignal): Promise<string[]> {
  const response = await callApi(routes.ledger.getConsistencyProof(), {
    query: { firstSize, secondSize },
    signal,
  });
  return response.proof;
}
