import { useMutation, useQueryClient } from "@tanstack/react-query";

import { DisableUserResponseSchema } from "@/gen/energypulse/auth/v1/auth_service_pb";
import { callApi } from "@/lib/api-client";
import { queryKeys } from "@/lib/query-keys";

export function disableUser({ userId, disabled }: { userId: string; disabled: boolean }) {
  return callApi(DisableUserResponseSchema, `/api/v1/users/${encodeURIComponent(userId)}:disable`, { body: { disabled } });
}

export function useDisableUser() {
  const queryClient = useQueryClient();
  return useMutation({ mutationFn: disableUser, onSuccess: () => queryClient.invalidateQueries({ queryKey: queryKeys.users() }) });
}
