import { queryOptions, useQuery } from "@tanstack/react-query";

import { PredictHouseholdResponseSchema } from "@/gen/energypulse/prediction/v1/prediction_service_pb";
import { callApi } from "@/lib/api-client";
import { queryKeys } from "@/lib/query-keys";

export function predictHousehold(householdId: string, signal?: AbortSignal) {
  return callApi(PredictHouseholdResponseSchema, `/api/v1/households/${encodeURIComponent(householdId)}/forecast`, {
    query: { horizonHours: 24, cheapestHoursCount: 4 },
    signal,
  });
}

export const householdForecastQueryOptions = (householdId: string) =>
  queryOptions({
    queryKey: queryKeys.householdForecast(householdId),
    queryFn: ({ signal }) => predictHousehold(householdId, signal),
    refetchInterval: 5 * 60_000,
  });

export function useHouseholdForecast(householdId: string) {
  return useQuery(householdForecastQueryOptions(householdId));
}
