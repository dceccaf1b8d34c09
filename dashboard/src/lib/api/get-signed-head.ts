import { queryOptions, useQuery } from "@tanstack/react-query";

import { routes } from "@/gen/routes";
import { callApi } from "@/lib/api-client";
import { queryKeys } from "@/lib/query-keys";

export function getSignedHead(signal?: AbortSignal) {
  return callApi(routes.ledger.getSignedHead(), { signal });
}

export const signedHeadQueryOptions = () =>
  queryOptions({ queryKey: queryKeys.ledgerHead(), queryFn: ({ signal }) => getSignedHead(signal), refetchInterval: 30_000 });

export function useSignedHead() {
  return useQuery(signedHeadQueryOptions());
}
