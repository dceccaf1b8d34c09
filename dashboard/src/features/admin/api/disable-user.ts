import { useMutation, useQueryClient } from "@tanstack/react-query";

import { routes } from "@/gen/routes";
import { callApi } from "@/lib/api-client";
import { queryKeys } from "@/lib/query-keys";

export function disableUser({ userId, disabled }: { userId: string; disabled: boolean }) {
  return callApi(routes.auth.disableUser({ userId }), { body: { disabled } });
}

export function useDisableUser() {
  const queryClient = useQueryClient();
  return useMutation({ mutationFn: disableUser, onSuccess: () => queryClient.invalidateQueries({ queryKey: queryKeys.users() }) });
}
