import { keepPreviousData, queryOptions, useQuery } from "@tanstack/react-query";

import { GetMarketPricesResponseSchema } from "@/gen/energypulse/prediction/v1/prediction_service_pb";
import { callApi } from "@/lib/api-client";
import { queryKeys } from "@/lib/query-keys";

export function getMarketPrices(zone: string, start: Date, end: Date, signal?: AbortSignal) {
  return callApi(GetMarketPricesResponseSchema, `/api/v1/zones/${encodeURIComponent(zone)}/prices`, {
    query: { startTime: start.toISOString(), endTime: end.toISOString() },
    signal,
  });
}

export const marketPricesQueryOptions = (zone: string, start: Date, end: Date) =>
  queryOptions({
    queryKey: queryKeys.marketPrices(zone, start.toISOString(), end.toISOString()),
    queryFn: ({ signal }) => getMarketPrices(zone, start, end, signal),
    staleTime: 5 * 60_000,
    placeholderData: keepPreviousData,
  });

export function useMarketPrices(zone: string | undefined, start: Date, end: Date) {
  return useQuery({ ...marketPricesQueryOptions(zone ?? "", start, end), enabled: Boolean(zone) });
}
