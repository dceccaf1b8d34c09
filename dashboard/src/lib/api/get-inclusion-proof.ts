import { queryOptions, useQuery } from "@tanstack/react-query";

import { GetInclusionProofResponseSchema } from "@/gen/energypulse/ledger/v1/ledger_service_pb";
import { callApi } from "@/lib/api-client";
import { queryKeys } from "@/lib/query-keys";

export function getInclusionProof(txHash: string, treeSize: bigint, signal?: AbortSignal) {
  return callApi(GetInclusionProofResponseSchema, `/api/v1/ledger/transactions/${encodeURIComponent(txHash)}/inclusion-proof`, {
    query: { treeSize: treeSize.toString() },
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
