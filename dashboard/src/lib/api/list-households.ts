import { queryOptions, useQuery } from "@tanstack/react-query";

import { routes } from "@/gen/routes";
import { callApi } from "@/lib/api-client";
import { queryKeys } from "@/lib/query-keys";

/** Admins only: every household (first 1000), for the household switcher. */
export function listHouseholds(signal?: AbortSignal) {
  return callApi(routes.telemetry.listHouseholds(), { query: { pageSize: 1000 }, signal });
}

export const householdsQueryOptions = () =>
  queryOptions({ queryKey: queryKeys.households(), queryFn: ({ signal }) => listHouseholds(signal), staleTime: 60_000 });

export function useHouseholds(enabled: boolean) {
  return useQuery({ ...householdsQueryOptions(), enabled });
}
