import { useMutation, useQueryClient } from "@tanstack/react-query";

import { routes } from "@/gen/routes";
import { callApi } from "@/lib/api-client";
import { queryKeys } from "@/lib/query-keys";

/** Sets the household's display name (its owner or an admin); the server trims and checks it. */
export function renameHousehold({ householdId, displayName }: { householdId: string; displayName: string }) {
  return callApi(routes.telemetry.renameHousehold({ householdId }), { body: { displayName } });
}

export function useRenameHousehold() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: renameHousehold,
    onSuccess: (_data, { householdId }) => queryClient.invalidateQueries({ queryKey: queryKeys.household(householdId) }),
  });
}
