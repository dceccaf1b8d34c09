import { queryOptions, useQuery } from "@tanstack/react-query";

import { routes } from "@/gen/routes";
import { callApi } from "@/lib/api-client";
import { queryKeys } from "@/lib/query-keys";

/** The server's own full-chain check (blocks, hashes, roots); the browser checks heads and proofs. */
export function verifyChain(signal?: AbortSignal) {
  return callApi(routes.ledger.verifyChain(), { body: { startHeight: 0n, endHeight: 0n }, signal });
}

export const verifyChainQueryOptions = () =>
  queryOptions({ queryKey: queryKeys.ledgerChain(), queryFn: ({ signal }) => verifyChain(signal), staleTime: 60_000 });

export function useVerifyChain() {
  return useQuery(verifyChainQueryOptions());
}
