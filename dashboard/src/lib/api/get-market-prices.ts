import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { keepPreviousData, queryOptions, useQuery } from "@tanstack/react-query";

import { routes } from "@/gen/routes";
import { callApi } from "@/lib/api-client";
import { queryKeys } from "@/lib/query-keys";

export function getMarketPrices(zone: string, start: Date, end: Date, signal?: AbortSignal) {
  return callApi(routes.prediction.getMarketPrices({ zone }), {
    query: { startTime: timestampFromDate(start), endTime: timestampFromDate(end) },
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
