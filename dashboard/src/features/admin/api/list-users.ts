import { keepPreviousData, queryOptions, useQuery } from "@tanstack/react-query";

import { routes } from "@/gen/routes";
import { callApi } from "@/lib/api-client";
import { queryKeys } from "@/lib/query-keys";

export const USERS_PAGE_SIZE = 25;

/** One page of the accounts matching `query` (username or household id, any case). */
export function listUsers(query: string, pageToken: string, signal?: AbortSignal) {
  return callApi(routes.auth.listUsers(), { query: { pageSize: USERS_PAGE_SIZE, pageToken, query }, signal });
}

export const usersQueryOptions = (query: string, pageToken: string) =>
  queryOptions({
    queryKey: queryKeys.usersPage(query, pageToken),
    queryFn: ({ signal }) => listUsers(query, pageToken, signal),
    placeholderData: keepPreviousData,
  });

export function useUsers(query: string, pageToken: string) {
  return useQuery(usersQueryOptions(query, pageToken));
}
