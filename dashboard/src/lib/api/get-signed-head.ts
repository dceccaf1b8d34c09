import { queryOptions, useQuery } from "@tanstack/react-query";

import { GetSignedHeadResponseSchema } from "@/gen/energypulse/ledger/v1/ledger_service_pb";
import { callApi } from "@/lib/api-client";
import { queryKeys } from "@/lib/query-keys";

export function getSignedHead(signal?: AbortSignal) {
  return callApi(GetSignedHeadResponseSchema, "/api/v1/ledger/head", { signal });
}

export const signedHeadQueryOptions = () =>
  queryOptions({ queryKey: queryKeys.ledgerHead(), queryFn: ({ signal }) => getSignedHead(signal), refetchInterval: 30_000 });

export function useSignedHead() {
  return useQuery(signedHeadQueryOptions());
}
