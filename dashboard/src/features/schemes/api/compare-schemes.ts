import { queryOptions, useQuery } from "@tanstack/react-query";

import { routes } from "@/gen/routes";
import { callApi } from "@/lib/api-client";
import { queryKeys } from "@/lib/query-keys";

export function compareSchemes(householdId: string, months: number, signal?: AbortSignal) {
  return callApi(routes.telemetry.compareSchemes({ householdId }), { query: { months }, signal });
}

export const compareSchemesQueryOptions = (householdId: string, months: number) =>
  queryOptions({
    queryKey: queryKeys.schemeComparison(householdId, months),
    queryFn: ({ signal }) => compareSchemes(householdId, months, signal),
    refetchInterval: 10 * 60_000,
  });

export function useCompareSchemes(householdId: string, months = 12) {
  return useQuery(compareSchemesQueryOptions(householdId, months));
}
