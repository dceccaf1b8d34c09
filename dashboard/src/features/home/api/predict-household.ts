import { queryOptions, useQuery } from "@tanstack/react-query";

import { routes } from "@/gen/routes";
import { callApi } from "@/lib/api-client";
import { queryKeys } from "@/lib/query-keys";

export function predictHousehold(householdId: string, signal?: AbortSignal) {
  return callApi(routes.prediction.predictHousehold({ householdId }), {
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
