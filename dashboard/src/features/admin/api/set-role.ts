import { useMutation, useQueryClient } from "@tanstack/react-query";

import type { Role } from "@/gen/energypulse/auth/v1/user_pb";
import { routes } from "@/gen/routes";
import { callApi } from "@/lib/api-client";
import { queryKeys } from "@/lib/query-keys";

export function setRole({ userId, role }: { userId: string; role: Role }) {
  return callApi(routes.auth.setRole({ userId }), { body: { role } });
}

export function useSetRole() {
  const queryClient = useQueryClient();
  return useMutation({ mutationFn: setRole, onSuccess: () => queryClient.invalidateQueries({ queryKey: queryKeys.users() }) });
}
