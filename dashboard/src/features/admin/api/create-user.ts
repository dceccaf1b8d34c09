import { useMutation, useQueryClient } from "@tanstack/react-query";

import { CreateUserResponseSchema } from "@/gen/energypulse/auth/v1/auth_service_pb";
import { Role } from "@/gen/energypulse/auth/v1/user_pb";
import { callApi } from "@/lib/api-client";
import { queryKeys } from "@/lib/query-keys";

export interface CreateUserInput {
  username: string;
  password: string;
  role: Role;
  householdIds: string[];
}

export function createUser(input: CreateUserInput) {
  return callApi(CreateUserResponseSchema, "/api/v1/users", { body: { ...input, role: `ROLE_${Role[input.role]}` } });
}

export function useCreateUser() {
  const queryClient = useQueryClient();
  return useMutation({ mutationFn: createUser, onSuccess: () => queryClient.invalidateQueries({ queryKey: queryKeys.users() }) });
}
