import { useMutation, useQueryClient } from "@tanstack/react-query";

import { SetRoleResponseSchema } from "@/gen/energypulse/auth/v1/auth_service_pb";
import { Role } from "@/gen/energypulse/auth/v1/user_pb";
import { callApi } from "@/lib/api-client";
import { queryKeys } from "@/lib/query-keys";

export function setRole({ userId, role }: { userId: string; role: Role }) {
  return callApi(SetRoleResponseSchema, `/api/v1/users/${encodeURIComponent(userId)}:setRole`, { body: { role: `ROLE_${Role[role]}` } });
}

export function useSetRole() {
  const queryClient = useQueryClient();
  return useMutation({ mutationFn: setRole, onSuccess: () => queryClient.invalidateQueries({ queryKey: queryKeys.users() }) });
}
