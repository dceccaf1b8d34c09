import { keepPreviousData, queryOptions, useQuery } from "@tanstack/react-query";

import { ListDeadLettersResponseSchema } from "@/gen/energypulse/telemetry/v1/telemetry_service_pb";
import { callApi } from "@/lib/api-client";
import { queryKeys } from "@/lib/query-keys";

export function listDeadLetters(reason: string, signal?: AbortSignal) {
  return callApi(ListDeadLettersResponseSchema, "/api/v1/dead-letters", { query: { pageSize: 100, reason }, signal });
}

export const deadLettersQueryOptions = (reason: string) =>
  queryOptions({ queryKey: queryKeys.deadLetters(reason), queryFn: ({ signal }) => listDeadLetters(reason, signal), placeholderData: keepPreviousData, refetchInterval: 15_000 });

export function useDeadLetters(reason: string) {
  return useQuery(deadLettersQueryOptions(reason));
}
