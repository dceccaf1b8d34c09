import { useMutation, useQueryClient } from "@tanstack/react-query";

import type { Role } from "@/gen/energypulse/auth/v1/user_pb";
import { routes } from "@/gen/routes";
import { callApi } from "@/lib/api-client";
import { queryKeys } from "@/lib/query-keys";

export interface CreateUserInput {
  username: string;
  password: string;
  role: Role;
  householdIds: string[];
}

export function createUser(input: CreateUserInput) {
  return callApi(routes.auth.createUser(), { body: input });
}

export function useCreateUser() {
  const queryClient = useQueryClient();
  return useMutation({ mutationFn: createUser, onSuccess: () => queryClient.invalidateQueries({ queryKey: queryKeys.users() }) });
}
