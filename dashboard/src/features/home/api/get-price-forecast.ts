import { queryOptions, useQuery } from "@tanstack/react-query";

import { routes } from "@/gen/routes";
import { callApi } from "@/lib/api-client";
import { queryKeys } from "@/lib/query-keys";

export function getPriceForecast(zone: string, signal?: AbortSignal) {
  return callApi(routes.prediction.getPriceForecast({ zone }), {
    query: { horizonHours: 24 },
    signal,
  });
}

export const priceForecastQueryOptions = (zone: string) =>
  queryOptions({ queryKey: queryKeys.priceForecast(zone), queryFn: ({ signal }) => getPriceForecast(zone, signal), refetchInterval: 5 * 60_000 });

export function usePriceForecast(zone: string | undefined) {
  return useQuery({ ...priceForecastQueryOptions(zone ?? ""), enabled: Boolean(zone) });
}
