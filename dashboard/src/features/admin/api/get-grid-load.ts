import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { keepPreviousData, queryOptions, useQuery } from "@tanstack/react-query";

import { routes } from "@/gen/routes";
import { callApi } from "@/lib/api-client";
import { queryKeys } from "@/lib/query-keys";

/** Each bidding zone's load over a past range (TelemetryService/GetGridLoad), from stored readings. */
export function getGridLoad(start: Date, end: Date, stepSeconds: number, signal?: AbortSignal) {
  return callApi(routes.telemetry.getGridLoad(), {
    query: { startTime: timestampFromDate(start), endTime: timestampFromDate(end), stepSeconds },
    signal,
  });
}

export const gridLoadQueryOptions = (start: Date, end: Date, stepSeconds: number) =>
  queryOptions({
    queryKey: queryKeys.gridLoad(start.toISOString(), end.toISOString(), stepSeconds),
    queryFn: ({ signal }) => getGridLoad(start, end, stepSeconds, signal),
    placeholderData: keepPreviousData,
    refetchInterval: 60_000,
  });

export function useGridLoad(start: Date, end: Date, stepSeconds: number, enabled = true) {
  return useQuery({ ...gridLoadQueryOptions(start, end, stepSeconds), enabled });
}
