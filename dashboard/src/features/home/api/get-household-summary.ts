import { queryOptions, useQuery } from "@tanstack/react-query";

import { GetHouseholdSummaryResponseSchema } from "@/gen/energypulse/telemetry/v1/telemetry_service_pb";
import { callApi } from "@/lib/api-client";
import { queryKeys } from "@/lib/query-keys";

export function getHouseholdSummary(householdId: string, signal?: AbortSignal) {
  return callApi(GetHouseholdSummaryResponseSchema, `/api/v1/households/${encodeURIComponent(householdId)}/summary`, { signal });
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
