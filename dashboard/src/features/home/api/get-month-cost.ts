import { queryOptions, useQuery } from "@tanstack/react-query";

import { routes } from "@/gen/routes";
import { callApi } from "@/lib/api-client";
import { queryKeys } from "@/lib/query-keys";

export function getMonthCost(householdId: string, month: string, signal?: AbortSignal) {
  return callApi(routes.telemetry.getMonthCost({ householdId }), { query: month ? { month } : {}, signal });
}

export const monthCostQueryOptions = (householdId: string, month = "") =>
  queryOptions({
    queryKey: queryKeys.monthCost(householdId, month),
    queryFn: ({ signal }) => getMonthCost(householdId, month, signal),
    refetchInterval: 5 * 60_000,
  });

export function useMonthCost(householdId: string, month = "") {
  return useQuery(monthCostQueryOptions(householdId, month));
}
