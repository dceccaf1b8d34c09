/**
 * The mesh's health as auth_svc's monitor sees it (OpsService/GetServiceHealth): every replica of
 * every service probed server-side on a schedule, 24 h of history kept there, so a reload shows
 * the same history instead of starting over.
 */
import { keepPreviousData, queryOptions, useQuery } from "@tanstack/react-query";

import { routes } from "@/gen/routes";
import { callApi } from "@/lib/api-client";
import { queryKeys } from "@/lib/query-keys";

export function getServiceHealth(windowSeconds: number, signal?: AbortSignal) {
  return callApi(routes.ops.getServiceHealth(), { query: { windowSeconds }, signal });
}

export const serviceHealthQueryOptions = (windowSeconds: number) =>
  queryOptions({
    queryKey: queryKeys.opsHealth(windowSeconds),
    queryFn: ({ signal }) => getServiceHealth(windowSeconds, signal),
    refetchInterval: 10_000,
    placeholderData: keepPreviousData,
  });

export function useOpsHealth(windowSeconds: number) {
  return useQuery(serviceHealthQueryOptions(windowSeconds));
}
