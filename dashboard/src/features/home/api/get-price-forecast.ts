import { queryOptions, useQuery } from "@tanstack/react-query";

import { PriceResolution } from "@/gen/energypulse/prediction/v1/forecast_pb";
import { routes } from "@/gen/routes";
import { callApi } from "@/lib/api-client";
import { queryKeys } from "@/lib/query-keys";

/** Published and forecast quarter-hour prices from the start of today over the week ahead, each
 *  also in the bill's currency (spot_micro_per_kwh, converted by the server at the day's EUR
 *  rate); with a threshold (µ of the bill's currency per kWh of spot price, ex VAT), each
 *  period's probability of exceeding it. */
export function getPriceForecast(zone: string, thresholdMicroPerKwh: bigint | undefined, signal?: AbortSignal) {
  return callApi(routes.prediction.getPriceForecast({ zone }), {
    query: {
      horizonDays: 7,
      resolution: PriceResolution.QUARTER_HOUR,
      ...(thresholdMicroPerKwh === undefined ? {} : { priceThresholdMicroPerKwh: thresholdMicroPerKwh }),
    },
    signal,
  });
}

export const priceForecastQueryOptions = (zone: string, thresholdMicroPerKwh?: bigint) =>
  queryOptions({
    queryKey: [...queryKeys.priceForecast(zone), thresholdMicroPerKwh === undefined ? null : String(thresholdMicroPerKwh)] as const,
    queryFn: ({ signal }) => getPriceForecast(zone, thresholdMicroPerKwh, signal),
    refetchInterval: 5 * 60_000,
  });

export function usePriceForecast(zone: string | undefined, thresholdMicroPerKwh?: bigint) {
  return useQuery({ ...priceForecastQueryOptions(zone ?? "", thresholdMicroPerKwh), enabled: Boolean(zone) });
}
