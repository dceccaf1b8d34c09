import { queryOptions, useQuery } from "@tanstack/react-query";

import { routes } from "@/gen/routes";
import { callApi } from "@/lib/api-client";
import { queryKeys } from "@/lib/query-keys";

export function getHouseholdSummary(householdId: string, signal?: AbortSignal) {
  return callApi(routes.telemetry.getHouseholdSummary({ householdId }), { signal });
}

export const householdSummaryQueryOptions = (householdId: string) =>
  queryOptions({
    queryKey: queryKeys.summary(householdId),
    queryFn: ({ signal }) => getHouseholdSummary(householdId, signal),
    refetchInterval: 30_000,
  });

export function useHouseholdSummary(householdId: string) {
  return useQuery(householdSummaryQueryOptions(householdId));
}
