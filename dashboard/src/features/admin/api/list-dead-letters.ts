import { keepPreviousData, queryOptions, useQuery } from "@tanstack/react-query";

import { routes } from "@/gen/routes";
import { callApi } from "@/lib/api-client";
import { queryKeys } from "@/lib/query-keys";

export function listDeadLetters(reason: string, signal?: AbortSignal) {
  return callApi(routes.telemetry.listDeadLetters(), { query: { pageSize: 100, reason }, signal });
}

export const deadLettersQueryOptions = (reason: string) =>
  queryOptions({ queryKey: queryKeys.deadLetters(reason), queryFn: ({ signal }) => listDeadLetters(reason, signal), placeholderData: keepPreviousData, refetchInterval: 15_000 });

export function useDeadLetters(reason: string) {
  return useQuery(deadLettersQueryOptions(reason));
}
