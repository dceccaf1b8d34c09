import { queryOptions, useQuery } from "@tanstack/react-query";

import { GetTransactionResponseSchema } from "@/gen/energypulse/ledger/v1/ledger_service_pb";
import { callApi } from "@/lib/api-client";
import { queryKeys } from "@/lib/query-keys";

export function getTransaction(txHash: string, signal?: AbortSignal) {
  return callApi(GetTransactionResponseSchema, `/api/v1/ledger/transactions/${encodeURIComponent(txHash)}`, { signal });
}

export const transactionQueryOptions = (txHash: string) =>
  queryOptions({ queryKey: queryKeys.ledgerTransaction(txHash), queryFn: ({ signal }) => getTransaction(txHash, signal) });

export function useTransaction(txHash: string) {
  return useQuery(transactionQueryOptions(txHash));
}
