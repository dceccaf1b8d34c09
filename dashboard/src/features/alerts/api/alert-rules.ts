/** A household's alert rules and delivery channels: queries and mutations. */
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import type { MessageInitShape } from "@bufbuild/protobuf";

import type { AlertRuleSchema, SubscriptionSchema } from "@/gen/energypulse/alert/v1/alert_pb";
import { routes } from "@/gen/routes";
import { callApi } from "@/lib/api-client";
import { queryKeys } from "@/lib/query-keys";

export type RuleInput = MessageInitShape<typeof AlertRuleSchema>;
export type SubscriptionInput = MessageInitShape<typeof SubscriptionSchema>;

export function useAlertRules(householdId: string) {
  return useQuery({
    queryKey: queryKeys.alertRules(householdId),
    queryFn: ({ signal }) => callApi(routes.alert.listAlertRules({ householdId }), { signal }),
  });
}

export function useSubscriptions(householdId: string) {
  return useQuery({
    queryKey: queryKeys.alertSubscriptions(householdId),
    queryFn: ({ signal }) => callApi(routes.alert.listSubscriptions({ householdId }), { signal }),
  });
}

export function useCreateRule(householdId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (rule: RuleInput) => callApi(routes.alert.createAlertRule({ householdId }), { body: { rule } }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: queryKeys.alertRules(householdId) }),
  });
}

export function useDeleteRule(householdId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (ruleId: string) => callApi(routes.alert.deleteAlertRule({ householdId, ruleId }), { body: {} }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: queryKeys.alertRules(householdId) }),
  });
}

export function useCreateSubscription(householdId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (subscription: SubscriptionInput) =>
      callApi(routes.alert.createSubscription({ householdId }), { body: { subscription } }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: queryKeys.alertSubscriptions(householdId) }),
  });
}

export function useDeleteSubscription(householdId: string) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (subscriptionId: string) =>
      callApi(routes.alert.deleteSubscription({ householdId, subscriptionId }), { body: {} }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: queryKeys.alertSubscriptions(householdId) }),
  });
}
