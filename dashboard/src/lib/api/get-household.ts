import { queryOptions, useQuery } from "@tanstack/react-query";

import { routes } from "@/gen/routes";
import { callApi } from "@/lib/api-client";
import { queryKeys } from "@/lib/query-keys";

export function getHousehold(householdId: string, signal?: AbortSignal) {
  return callApi(routes.telemetry.getHousehold({ householdId }), { signal });
}

export const householdQueryOptions = (householdId: string) =>
  queryOptions({
    queryKey: queryKeys.household(householdId),
    queryFn: ({ signal }) => getHousehold(householdId, signal),
    staleTime: 5 * 60_000,
  });

export function useHousehold(householdId: string) {
  return useQuery(householdQueryOptions(householdId));
}
