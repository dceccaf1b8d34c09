import { queryOptions, useQuery } from "@tanstack/react-query";

import { routes } from "@/gen/routes";
import { callApi } from "@/lib/api-client";
import { queryKeys } from "@/lib/query-keys";

export const ACCURACY_WINDOW_HOURS = 168;

export function getAccuracy(zone: string, windowHours: number, signal?: AbortSignal) {
  return callApi(routes.prediction.getAccuracy({ zone }), { query: { windowHours }, signal });
}

export const accuracyQueryOptions = (zone: string, windowHours = ACCURACY_WINDOW_HOURS) =>
  queryOptions({
    queryKey: queryKeys.accuracy(zone, windowHours),
    queryFn: ({ signal }) => getAccuracy(zone, windowHours, signal),
    refetchInterval: 10 * 60_000,
  });

export function useAccuracy(zone: string | undefined) {
  return useQuery({ ...accuracyQueryOptions(zone ?? ""), enabled: Boolean(zone) });
}
