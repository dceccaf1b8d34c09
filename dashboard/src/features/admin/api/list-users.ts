import { queryOptions, useQuery } from "@tanstack/react-query";

import { ListUsersResponseSchema } from "@/gen/energypulse/auth/v1/auth_service_pb";
import { callApi } from "@/lib/api-client";
import { queryKeys } from "@/lib/query-keys";

export function listUsers(signal?: AbortSignal) {
  return callApi(ListUsersResponseSchema, "/api/v1/users", { query: { pageSize: 500 }, signal });
}

export const usersQueryOptions = () => queryOptions({ queryKey: queryKeys.users(), queryFn: ({ signal }) => listUsers(signal) });

export function useUsers() {
  return useQuery(usersQueryOptions());
}
