import { queryOptions, useQuery } from "@tanstack/react-query";

import { routes } from "@/gen/routes";
import { callApi } from "@/lib/api-client";
import { queryKeys } from "@/lib/query-keys";

export function getTransaction(txHash: string, signal?: AbortSignal) {
  return callApi(routes.ledger.getTransaction({ txHash }), { signal });
}

export const transactionQueryOptions = (txHash: string) =>
  queryOptions({ queryKey: queryKeys.ledgerTransaction(txHash), queryFn: ({ signal }) => getTransaction(txHash, signal) });

export function useTransaction(txHash: string) {
  return useQuery(transactionQueryOptions(txHash));
}
