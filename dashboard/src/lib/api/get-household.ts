import { queryOptions, useQuery } from "@tanstack/react-query";

import { GetHouseholdResponseSchema } from "@/gen/energypulse/telemetry/v1/telemetry_service_pb";
import { callApi } from "@/lib/api-client";
import { queryKeys } from "@/lib/query-keys";

export function getHousehold(householdId: string, signal?: AbortSignal) {
  return callApi(GetHouseholdResponseSchema, `/api/v1/households/${encodeURIComponent(householdId)}`, { signal });
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
