import { queryOptions, useQuery } from "@tanstack/react-query";

import { PriceResolution } from "@/gen/energypulse/prediction/v1/forecast_pb";
import { routes } from "@/gen/routes";
import { callApi } from "@/lib/api-client";
import { queryKeys } from "@/lib/query-keys";

/** Published and forecast quarter-hour prices from the start of today over the week ahead;
 *  with a threshold (EUR/MWh), each period's probability of exceeding it. */
export function getPriceForecast(zone: string, thresholdEurMwh: number | undefined, signal?: AbortSignal) {
  return callApi(routes.prediction.getPriceForecast({ zone }), {
    query: {
      horizonDays: 7,
      resolution: PriceResolution.QUARTER_HOUR,
      ...(thresholdEurMwh === undefined ? {} : { priceThresholdEurMwh: thresholdEurMwh }),
    },
    signal,
  });
}

export const priceForecastQueryOptions = (zone: string, thresholdEurMwh?: number) =>
  queryOptions({
    queryKey: [...queryKeys.priceForecast(zone), thresholdEurMwh ?? null] as const,
    queryFn: ({ signal }) => getPriceForecast(zone, thresholdEurMwh, signal),
    refetchInterval: 5 * 60_000,
  });

export function usePriceForecast(zone: string | undefined, thresholdEurMwh?: number) {
  return useQuery({ ...priceForecastQueryOptions(zone ?? "", thresholdEurMwh), enabled: Boolean(zone) });
}
