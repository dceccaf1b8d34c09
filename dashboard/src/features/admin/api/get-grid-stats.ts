import { queryOptions, useQuery } from "@tanstack/react-query";

import { routes } from "@/gen/routes";
import { callApi } from "@/lib/api-client";
import { queryKeys } from "@/lib/query-keys";

export function getGridStats(signal?: AbortSignal) {
  return callApi(routes.telemetry.getGridStats(), { signal });
}

export const gridStatsQueryOptions = () =>
  queryOptions({ queryKey: queryKeys.gridStats(), queryFn: ({ signal }) => getGridStats(signal), refetchInterval: 5_000 });

export function useGridStats() {
  return useQuery(gridStatsQueryOptions());
}
