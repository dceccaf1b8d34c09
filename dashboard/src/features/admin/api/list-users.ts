import { queryOptions, useQuery } from "@tanstack/react-query";

import { routes } from "@/gen/routes";
import { callApi } from "@/lib/api-client";
import { queryKeys } from "@/lib/query-keys";

export function listUsers(signal?: AbortSignal) {
  return callApi(routes.auth.listUsers(), { query: { pageSize: 500 }, signal });
}

export const usersQueryOptions = () => queryOptions({ queryKey: queryKeys.users(), queryFn: ({ signal }) => listUsers(signal) });

export function useUsers() {
  return useQuery(usersQueryOptions());
}
