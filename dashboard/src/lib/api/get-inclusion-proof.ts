import { queryOptions, useQuery } from "@tanstack/react-query";

import { routes } from "@/gen/routes";
import { callApi } from "@/lib/api-client";
import { queryKeys } from "@/lib/query-keys";

export function getInclusionProof(txHash: string, treeSize: bigint, signal?: AbortSignal) {
  return callApi(routes.ledger.getInclusionProof({ txHash }), {
    query: { treeSize },
    signal,
  });
}

export const inclusionProofQueryOptions = (txHash: string, treeSize: bigint) =>
  queryOptions({
    queryKey: queryKeys.ledgerInclusion(txHash, treeSize.toString()),
    queryFn: ({ signal }) => getInclusionProof(txHash, treeSize, signal),
    staleTime: Infinity, // a proof for a fixed size never changes
  });

export function useInclusionProof(txHash: string, treeSize: bigint | undefined) {
  return useQuery({ ...inclusionProofQueryOptions(txHash, treeSize ?? 0n), enabled: treeSize !== undefined && treeSize > 0n });
}
