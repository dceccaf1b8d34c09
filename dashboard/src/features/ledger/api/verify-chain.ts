import { queryOptions, useQuery } from "@tanstack/react-query";

import { VerifyChainResponseSchema } from "@/gen/energypulse/ledger/v1/ledger_service_pb";
import { callApi } from "@/lib/api-client";
import { queryKeys } from "@/lib/query-keys";

/** The server's own full-chain check (blocks, hashes, roots); the browser checks heads and proofs. */
export function verifyChain(signal?: AbortSignal) {
  return callApi(VerifyChainResponseSchema, "/api/v1/ledger:verify", { body: { startHeight: "0", endHeight: "0" }, signal });
}

export const verifyChainQueryOptions = () =>
  queryOptions({ queryKey: queryKeys.ledgerChain(), queryFn: ({ signal }) => verifyChain(signal), staleTime: 60_000 });

export function useVerifyChain() {
  return useQuery(verifyChainQueryOptions());
}
