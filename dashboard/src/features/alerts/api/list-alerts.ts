import { queryOptions, useQuery } from "@tanstack/react-query";

import { routes } from "@/gen/routes";
import { callApi } from "@/lib/api-client";
import { queryKeys } from "@/lib/query-keys";

export function listAlerts(householdId: string, signal?: AbortSignal) {
  return callApi(routes.alert.listAlerts({ householdId }), { query: { pageSize: 20 }, signal });
}

export const alertsQueryOptions = (householdId: string) =>
  queryOptions({ queryKey: queryKeys.alerts(householdId), queryFn: ({ signal }) => listAlerts(householdId, signal) });

export function useAlerts(householdId: string, enabled: boolean) {
  return useQuery({ ...alertsQueryOptions(householdId), enabled });
}
