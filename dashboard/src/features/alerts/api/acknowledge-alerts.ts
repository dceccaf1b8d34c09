import { useMutation, useQueryClient } from "@tanstack/react-query";

import { routes } from "@/gen/routes";
import { callApi } from "@/lib/api-client";
import { queryKeys } from "@/lib/query-keys";

/** Marks the given alerts read (none given: every alert of the household). */
export function acknowledgeAlerts(householdId: string, alertIds: string[] = []) {
  return callApi(routes.alert.acknowledgeAlerts({ householdId }), { body: { alertIds } });
}

export function useAcknowledgeAlerts(householdId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (alertIds: string[] | undefined) => acknowledgeAlerts(householdId, alertIds),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: queryKeys.alerts(householdId) }),
  });
}
