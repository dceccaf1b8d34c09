import { keepPreviousData, queryOptions, useQuery } from "@tanstack/react-query";

import { routes } from "@/gen/routes";
import { callApi } from "@/lib/api-client";
import { queryKeys } from "@/lib/query-keys";

export function listBlocks(pageToken: string, signal?: AbortSignal) {
  return callApi(routes.ledger.listBlocks(), { query: { pageSize: 15, pageToken }, signal });
}

export const blocksQueryOptions = (pageToken: string) =>
  queryOptions({
    queryKey: queryKeys.ledgerBlocks(pageToken),
    queryFn: ({ signal }) => listBlocks(pageToken, signal),
    placeholderData: keepPreviousData,
    refetchInterval: pageToken ? false : 15_000,
  });

export function useBlocks(pageToken: string) {
  return useQuery(blocksQueryOptions(pageToken));
}
