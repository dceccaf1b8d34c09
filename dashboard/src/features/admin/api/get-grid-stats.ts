import { queryOptions, useQuery } from "@tanstack/react-query";

import { GetGridStatsResponseSchema } from "@/gen/energypulse/telemetry/v1/telemetry_service_pb";
import { callApi } from "@/lib/api-client";
import { queryKeys } from "@/lib/query-keys";

export function getGridStats(signal?: AbortSignal) {
  return callApi(GetGridStatsResponseSchema, "/api/v1/grid/stats", { signal });
}

export const gridStatsQueryOptions = () =>
  queryOptions({ queryKey: queryKeys.gridStats(), queryFn: ({ signal }) => getGridStats(signal), refetchInterval: 5_000 });

export function useGridStats() {
  return useQuery(gridStatsQueryOptions());
}
