import { keepPreviousData, queryOptions, useQuery } from "@tanstack/react-query";

import { routes } from "@/gen/routes";
import { callApi } from "@/lib/api-client";
import { queryKeys } from "@/lib/query-keys";

/** The cheapest non-overlapping windows of `durationMinutes` from now: published first, then forecast. */
export function findCheapestWindows(zone: string, durationMinutes: number, signal?: AbortSignal) {
  return callApi(routes.prediction.findCheapestWindows({ zone }), { query: { durationMinutes, windowCount: 3 }, signal });
}

export const cheapestWindowsQueryOptions = (zone: string, durationMinutes: number) =>
  queryOptions({
    queryKey: queryKeys.cheapestWindows(zone, durationMinutes),
    queryFn: ({ signal }) => findCheapestWindows(zone, durationMinutes, signal),
    refetchInterval: 5 * 60_000,
    placeholderData: keepPreviousData,
  });

export function useCheapestWindows(zone: string | undefined, durationMinutes: number) {
  return useQuery({ ...cheapestWindowsQueryOptions(zone ?? "", durationMinutes), enabled: Boolean(zone) });
}
