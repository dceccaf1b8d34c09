import { queryOptions, useQuery } from "@tanstack/react-query";

import { routes } from "@/gen/routes";
import { callApi } from "@/lib/api-client";
import { queryKeys } from "@/lib/query-keys";

export function getBlock(height: string, signal?: AbortSignal) {
  return callApi(routes.ledger.getBlock({ height }), { signal });
}

export const blockQueryOptions = (height: string) =>
  queryOptions({ queryKey: queryKeys.ledgerBlock(height), queryFn: ({ signal }) => getBlock(height, signal), staleTime: Infinity });

export function useBlock(height: string) {
  return useQuery(blockQueryOptions(height));
}
