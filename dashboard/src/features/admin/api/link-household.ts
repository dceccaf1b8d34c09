import { useMutation, useQueryClient } from "@tanstack/react-query";

import { routes } from "@/gen/routes";
import { callApi } from "@/lib/api-client";
import { queryKeys } from "@/lib/query-keys";

export function linkHousehold({ userId, householdId, unlink }: { userId: string; householdId: string; unlink: boolean }) {
  return callApi(routes.auth.linkHousehold({ userId }), { body: { householdId, unlink } });
}

export function useLinkHousehold() {
  const queryClient = useQueryClient();
  return useMutation({ mutationFn: linkHousehold, onSuccess: () => queryClient.invalidateQueries({ queryKey: queryKeys.users() }) });
}
