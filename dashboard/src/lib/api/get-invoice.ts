import { queryOptions, useQuery } from "@tanstack/react-query";

import { routes } from "@/gen/routes";
import { callApi } from "@/lib/api-client";
import { queryKeys } from "@/lib/query-keys";

export function getInvoice(householdId: string, month: string, signal?: AbortSignal) {
  return callApi(routes.ledger.getInvoice({ householdId, month }), { signal });
}

export const invoiceQueryOptions = (householdId: string, month: string) =>
  queryOptions({ queryKey: queryKeys.invoice(householdId, month), queryFn: ({ signal }) => getInvoice(householdId, month, signal) });

export function useInvoice(householdId: string, month: string) {
  return useQuery(invoiceQueryOptions(householdId, month));
}
