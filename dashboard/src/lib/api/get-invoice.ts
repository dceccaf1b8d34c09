import { queryOptions, useQuery } from "@tanstack/react-query";

import { GetInvoiceResponseSchema } from "@/gen/energypulse/ledger/v1/ledger_service_pb";
import { callApi } from "@/lib/api-client";
import { queryKeys } from "@/lib/query-keys";

export function getInvoice(householdId: string, month: string, signal?: AbortSignal) {
  return callApi(GetInvoiceResponseSchema, `/api/v1/households/${encodeURIComponent(householdId)}/invoices/${encodeURIComponent(month)}`, { signal });
}

export const invoiceQueryOptions = (householdId: string, month: string) =>
  queryOptions({ queryKey: queryKeys.invoice(householdId, month), queryFn: ({ signal }) => getInvoice(householdId, month, signal) });

export function useInvoice(householdId: string, month: string) {
  return useQuery(invoiceQueryOptions(householdId, month));
}
