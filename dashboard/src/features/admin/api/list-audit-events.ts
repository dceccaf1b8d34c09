import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { keepPreviousData, queryOptions, useQuery } from "@tanstack/react-query";

import { routes } from "@/gen/routes";
import { callApi } from "@/lib/api-client";
import { queryKeys } from "@/lib/query-keys";

export const AUDIT_PAGE_SIZE = 25;

export interface AuditFilter {
  actor: string;
  action: string;
  /** RFC 3339 instants, or "" for no bound. */
  startIso: string;
  endIso: string;
}

export function listAuditEvents(filter: AuditFilter, pageToken: string, signal?: AbortSignal) {
  return callApi(routes.auth.listAuditEvents(), {
    query: {
      pageSize: AUDIT_PAGE_SIZE,
      pageToken,
      actor: filter.actor,
      action: filter.action,
      ...(filter.startIso ? { startTime: timestampFromDate(new Date(filter.startIso)) } : {}),
      ...(filter.endIso ? { endTime: timestampFromDate(new Date(filter.endIso)) } : {}),
    },
    signal,
  });
}

export const auditQueryOptions = (filter: AuditFilter, pageToken: string) =>
  queryOptions({
    queryKey: queryKeys.auditPage(filter.actor, filter.action, filter.startIso, filter.endIso, pageToken),
    queryFn: ({ signal }) => listAuditEvents(filter, pageToken, signal),
    placeholderData: keepPreviousData,
  });

export function useAuditEvents(filter: AuditFilter, pageToken: string) {
  return useQuery(auditQueryOptions(filter, pageToken));
}
